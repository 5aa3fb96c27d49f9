"""The ECS container agent on emulated EC2 instances: it registers each instance with its cluster, as
the agent on an ECS-optimized AMI does, signed as the instance profile's role.

Installed at LocalStack start (`localstack.hooks.on_infra_start`), around moto's EC2:
- every instance launched (`RunInstances`, an Auto Scaling group, CloudFormation) gets its agent
  started `ENITRUNK_ECS_AGENT_DELAY_SECONDS` later (default 1), on the background clock, never on
  the launching call;
- an instance that terminates is deregistered by ECS (`ecs_container_instances.instance_terminated`);
- the scheduler's placement pass runs every `ENITRUNK_ECS_RECONCILE_SECONDS` (`ecs_scheduler`).

The agent runs only on ECS-optimized AMIs (moto's public parameters name them, with their agent
version and platform: `container_agent`). It reads its cluster from the user data (`ECS_CLUSTER`,
else `default`), gets the instance profile role's credentials the way EC2 gets them (an
`sts:AssumeRole` by `ec2.amazonaws.com`, session name the instance id, so the role's trust policy
must let EC2 assume it: "Define which accounts or AWS services can assume the role",
https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/iam-roles-for-amazon-ec2.html), and calls
`RegisterContainerInstance` through the gateway with them, so the ECS side authorizes it and reads
`awsvpcTrunking` for that role, as ECS does. Without an instance profile, a role EC2 may not
assume, a refused call or a missing cluster, the instance never appears in the cluster; the agent
tries again every `RETRY_SECONDS` while the instance runs (the real agent restarts and retries),
and says why in LocalStack's log.
"""

from __future__ import annotations

import json
import logging
import os
from functools import lru_cache

from localstack.runtime import hooks

from enitrunk_localstack.services import ec2_facts, ecs_scheduler, instance_types
from enitrunk_localstack.services.clock import CLOCK
from enitrunk_localstack.services.container_agent import (
    AgentImage,
    agent_config,
    cluster_of,
    ecs_optimized_images,
    registered_resources,
)

LOG = logging.getLogger(__name__)

DELAY_ENV = "ENITRUNK_ECS_AGENT_DELAY_SECONDS"
RETRY_SECONDS = 5.0
# Tries while the instance runs: about ten minutes, then the agent gives up.
MAX_ATTEMPTS = 120
CLUSTER_NOT_FOUND = "Cluster not found."


def agent_delay() -> float:
    return float(os.environ.get(DELAY_ENV, "1"))


@lru_cache(maxsize=None)
def region_images(region: str) -> dict[str, AgentImage]:
    from moto.utilities.utils import load_resource

    try:
        tree = load_resource("moto.ssm.models", f"resources/ecs/optimized_amis/{region}.json")
    except FileNotFoundError:
        return {}
    return ecs_optimized_images(tree)


def identity_document(instance, region: str) -> str:
    """The instance identity document the agent reads from the instance metadata service."""
    return json.dumps(
        {
            "accountId": instance.owner_id,
            "architecture": instance.architecture,
            "availabilityZone": instance.availability_zone,
            "imageId": instance.image_id,
            "instanceId": instance.id,
            "instanceType": instance.instance_type,
            "pendingTime": str(instance.launch_time),
            "privateIp": instance.private_ip,
            "region": region,
            "version": "2017-09-30",
        }
    )


def start(account: str, region: str, instance_id: str, attempt: int = 1) -> None:
    """One registration attempt by the agent on `instance_id`; schedules the next when it fails."""
    instance = ec2_facts.find_instance(account, region, instance_id)
    if not ec2_facts.is_running(instance):
        return
    image = region_images(region).get(instance.image_id)
    if image is None:
        return  # not an ECS-optimized AMI: no agent
    itype = instance_types.get(instance.instance_type)
    if itype is None:
        LOG.warning("ECS agent on %s: instance type %s is not in %s; not registering", instance_id,
                    instance.instance_type, instance_types.csv_path())
        return
    # moto keeps user data as its base64 text (`Base64EncodedString`).
    user_data = instance.user_data.as_bytes() if hasattr(instance.user_data, "as_bytes") else instance.user_data
    config = agent_config(user_data)
    cluster = cluster_of(config)
    why = register(account, region, instance, image, itype, cluster, create_default="ECS_CLUSTER" not in config)
    if why is None:
        return
    if attempt >= MAX_ATTEMPTS:
        LOG.warning("ECS agent on %s: giving up registering with %s: %s", instance_id, cluster, why)
        return
    LOG.info("ECS agent on %s: cannot register with cluster %s (%s); retrying in %.0fs", instance_id, cluster, why, RETRY_SECONDS)
    CLOCK.after(RETRY_SECONDS, start, account, region, instance_id, attempt + 1)


def register(account: str, region: str, instance, image: AgentImage, itype, cluster: str, create_default: bool) -> str | None:
    """`RegisterContainerInstance` signed as the instance profile's role: None, or why it failed.

    Without `ECS_CLUSTER`, a missing `default` cluster is created first, as the agent does ("If
    ECS_CLUSTER is undefined and registration fails, the ECS agent attempts to create the default
    cluster", aws/amazon-ecs-agent#826; `AmazonEC2ContainerServiceforEC2Role` allows `ecs:CreateCluster`).
    """
    from botocore.exceptions import ClientError
    from localstack.aws.connect import connect_to

    role_arn = ec2_facts.instance_profile_role_arn(instance)
    if role_arn is None:
        return "the instance has no instance profile with a role, so the agent has no credentials"
    try:
        sts = connect_to(region_name=region, aws_access_key_id=account).sts.request_metadata(
            service_principal="ec2", source_arn=f"arn:aws:ec2:{region}:{account}:instance/{instance.id}"
        )
        credentials = sts.assume_role(RoleArn=role_arn, RoleSessionName=instance.id)["Credentials"]
    except ClientError as e:
        return f"EC2 cannot get credentials for {role_arn}: {e.response['Error'].get('Message')}"
    ecs = connect_to(
        region_name=region, aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"], aws_session_token=credentials["SessionToken"],
    ).ecs
    request = {
        "cluster": cluster,
        "instanceIdentityDocument": identity_document(instance, region),
        "instanceIdentityDocumentSignature": "emulated",
        "totalResources": registered_resources(itype.cpu_units, itype.schedulable_memory_mib),
        "versionInfo": image.version_info(),
        "attributes": image.attributes(),
    }
    try:
        try:
            registered = ecs.register_container_instance(**request)["containerInstance"]
        except ClientError as e:
            if not (create_default and e.response["Error"].get("Message") == CLUSTER_NOT_FOUND):
                raise
            ecs.create_cluster(clusterName=cluster)
            LOG.info("ECS agent on %s: created the cluster %s", instance.id, cluster)
            registered = ecs.register_container_instance(**request)["containerInstance"]
    except ClientError as e:
        error = e.response["Error"]
        return f"{error.get('Code')}: {error.get('Message')}"
    LOG.info("ECS agent on %s: registered with %s as %s (%s)", instance.id, cluster, registered["containerInstanceArn"], registered["status"])
    return None


@hooks.on_infra_start()
def install_ecs_agent():
    from localstack.utils.patch import patch
    from moto.ec2.models.instances import Instance, InstanceBackend

    from enitrunk_localstack.services.ecs_container_instances import instance_terminated

    @patch(InstanceBackend.run_instances)
    def run_instances(fn, self, *args, **kwargs):
        reservation = fn(self, *args, **kwargs)
        for instance in reservation.instances:
            CLOCK.after(agent_delay(), start, self.account_id, self.region_name, instance.id)
        return reservation

    @patch(Instance.terminate)
    def terminate(fn, self, *args, **kwargs):
        was = self.state
        result = fn(self, *args, **kwargs)
        if was != "terminated" and self.state == "terminated":
            backend = self.ec2_backend
            instance_terminated(backend.account_id, backend.region_name, self.id)
        return result

    CLOCK.every(ecs_scheduler.reconcile_seconds(), ecs_scheduler.reconcile_all)
