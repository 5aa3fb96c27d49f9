"""ECS container instances made the way an Auto Scaling group makes them, for the agent and placement
tests: a VPC, an instance role and profile, a cluster, a launch template on the ECS-optimized AMI
whose user data names the cluster, and a group; and waits on what ECS reports.
"""

import base64
import time

import boto3

from conftest import ENDPOINT, REGION, create_role, unique

ECS_AMI_PARAMETER = "/aws/service/ecs/optimized-ami/amazon-linux-2023/recommended/image_id"
WINDOWS_AMI_PARAMETER = "/aws/service/ecs/optimized-ami/windows_server/2019/english/full/recommended/image_id"
EC2_ROLE_POLICY = "arn:aws:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role"
TRUNK = "ecs.awsvpc-trunk-id"
# The agent registers 0.5 s after launch and a trunk takes 0.5 s (localstack/run); waits allow more.
REGISTERED_WITHIN = 15


def regional(region):
    """A client factory like the `client` fixture's, for another region (account settings and
    the `default` cluster are regional)."""

    def make(service, credentials=None):
        creds = credentials or {"AccessKeyId": "test", "SecretAccessKey": "test"}
        return boto3.client(
            service, endpoint_url=ENDPOINT, region_name=region, aws_access_key_id=creds["AccessKeyId"],
            aws_secret_access_key=creds["SecretAccessKey"], aws_session_token=creds.get("SessionToken"),
        )

    return make


def user_data(cluster):
    script = "#!/bin/bash\n" + (f"echo ECS_CLUSTER={cluster} >> /etc/ecs/ecs.config\n" if cluster else "")
    return base64.b64encode(script.encode()).decode()


class Fleet:
    """One VPC (subnets in two zones), a container-instance role and profile, a cluster."""

    def __init__(self, client, region=REGION, trust_ec2=True, ecs_policy=True, cidr="10.60.0.0/16"):
        self.client, self.region = client, region
        ec2, iam = client("ec2"), client("iam")
        self.vpc = ec2.create_vpc(CidrBlock=cidr)["Vpc"]["VpcId"]
        base = cidr.split(".")
        self.subnets = [
            ec2.create_subnet(VpcId=self.vpc, CidrBlock=f"{base[0]}.{base[1]}.{i}.0/24", AvailabilityZone=f"{region}{zone}")["Subnet"]["SubnetId"]
            for i, zone in enumerate("ab")
        ]
        self.sg = ec2.create_security_group(GroupName=unique("sg"), Description="instances and tasks", VpcId=self.vpc)["GroupId"]
        principal = {"Service": "ec2.amazonaws.com"} if trust_ec2 else {"Service": "lambda.amazonaws.com"}
        self.role_arn = create_role(client, principal, managed=[EC2_ROLE_POLICY] if ecs_policy else ())
        self.role_name = self.role_arn.rsplit("/", 1)[1]
        profile = unique("profile")
        self.profile_arn = iam.create_instance_profile(InstanceProfileName=profile)["InstanceProfile"]["Arn"]
        iam.add_role_to_instance_profile(InstanceProfileName=profile, RoleName=self.role_name)
        self.cluster = unique("cluster")
        client("ecs").create_cluster(clusterName=self.cluster)
        self.ami = client("ssm").get_parameter(Name=ECS_AMI_PARAMETER)["Parameter"]["Value"]

    def trunking(self, value="enabled"):
        """`awsvpcTrunking` for the instance role (set by the account root, naming the role)."""
        self.client("ecs").put_account_setting(name="awsvpcTrunking", value=value, principalArn=self.role_arn)

    def launch_template(self, instance_type="m5.large", cluster=True, dns_a_record=False, image=None, profile=True):
        data = {
            "ImageId": image or self.ami,
            "InstanceType": instance_type,
            "SecurityGroupIds": [self.sg],
            "UserData": user_data(self.cluster if cluster is True else cluster),
            "PrivateDnsNameOptions": {"EnableResourceNameDnsARecord": dns_a_record},
        }
        if profile:
            data["IamInstanceProfile"] = {"Arn": self.profile_arn}
        return self.client("ec2").create_launch_template(LaunchTemplateName=unique("lt"), LaunchTemplateData=data)["LaunchTemplate"]["LaunchTemplateId"]

    def group(self, desired=1, maximum=3, **template):
        """An Auto Scaling group of `desired` instances from a new launch template: its name."""
        name = unique("asg")
        self.client("autoscaling").create_auto_scaling_group(
            AutoScalingGroupName=name, MinSize=0, MaxSize=maximum, DesiredCapacity=desired,
            VPCZoneIdentifier=self.subnets[0], LaunchTemplate={"LaunchTemplateId": self.launch_template(**template), "Version": "$Latest"},
        )
        return name

    def group_instances(self, group):
        [g] = self.client("autoscaling").describe_auto_scaling_groups(AutoScalingGroupNames=[group])["AutoScalingGroups"]
        return [i["InstanceId"] for i in g["Instances"]]

    def network(self):
        return {"awsvpcConfiguration": {"subnets": self.subnets, "securityGroups": [self.sg]}}

    def task_definition(self, cpu="256", memory="512", network_mode="awsvpc"):
        family = unique("web")
        self.client("ecs").register_task_definition(
            family=family, networkMode=network_mode, requiresCompatibilities=["EC2"], cpu=cpu, memory=memory,
            containerDefinitions=[{"name": "web", "image": "public.ecr.aws/nginx/nginx:stable", "essential": True}],
        )
        return family

    # ------------------------------------------------------------------------------- what ECS says

    def instances(self, status=None, cluster=None):
        return container_instances(self.client("ecs"), cluster or self.cluster, status)

    def wait_instances(self, count, status="ACTIVE", cluster=None, timeout=REGISTERED_WITHIN, seen=None):
        return wait_instances(self.client("ecs"), cluster or self.cluster, count, status, timeout, seen)

    def service(self, name, desired, family, **kwargs):
        kwargs.setdefault("launchType", "EC2")
        kwargs = {k: v for k, v in kwargs.items() if v is not None}
        return self.client("ecs").create_service(
            cluster=self.cluster, serviceName=name, taskDefinition=family, desiredCount=desired,
            networkConfiguration=self.network(), **kwargs,
        )["service"]

    def describe_service(self, name):
        return describe_service(self.client("ecs"), self.cluster, name)

    def tasks(self, service=None, **filters):
        return tasks(self.client("ecs"), self.cluster, service, **filters)

    def wait_running(self, service, count, timeout=REGISTERED_WITHIN):
        return wait_running(self.client("ecs"), self.cluster, service, count, timeout)


def container_instances(ecs, cluster, status=None):
    """The cluster's container instances ([] while the cluster does not exist)."""
    try:
        arns = ecs.list_container_instances(cluster=cluster, **({"status": status} if status else {}))["containerInstanceArns"]
    except ecs.exceptions.ClusterNotFoundException:
        return []
    if not arns:
        return []
    return ecs.describe_container_instances(cluster=cluster, containerInstances=arns)["containerInstances"]


def wait_instances(ecs, cluster, count, status="ACTIVE", timeout=REGISTERED_WITHIN, seen=None):
    """The cluster's container instances in `status`, once there are `count` (every status observed
    on the way is added to `seen`)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = container_instances(ecs, cluster) + container_instances(ecs, cluster, "INACTIVE")
        if seen is not None:
            seen.update(ci["status"] for ci in found)
        ready = [ci for ci in found if ci["status"] == status]
        if len(ready) >= count:
            return ready
        time.sleep(0.05)
    raise AssertionError(f"{count} container instance(s) not {status} after {timeout}s: {[ci['status'] for ci in found]}")


def describe_service(ecs, cluster, name):
    [svc] = ecs.describe_services(cluster=cluster, services=[name])["services"]
    return svc


def tasks(ecs, cluster, service=None, **filters):
    arns = ecs.list_tasks(cluster=cluster, **({"serviceName": service} if service else {}), **filters)["taskArns"]
    return ecs.describe_tasks(cluster=cluster, tasks=arns)["tasks"] if arns else []


def wait_running(ecs, cluster, service, count, timeout=REGISTERED_WITHIN):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        svc = describe_service(ecs, cluster, service)
        if svc["runningCount"] == count:
            return svc
        time.sleep(0.1)
    raise AssertionError(f"service {service} runs {svc['runningCount']} tasks, not {count}, after {timeout}s")


def attribute(ci, name):
    return next((a.get("value") for a in ci["attributes"] if a["name"] == name), None)


def has_attribute(ci, name):
    return any(a["name"] == name for a in ci["attributes"])


def resource(resources, name):
    return next(r["integerValue"] for r in resources if r["name"] == name)


def eni_of(task):
    [attachment] = task["attachments"]
    assert attachment["type"] == "ElasticNetworkInterface"
    return next(d["value"] for d in attachment["details"] if d["name"] == "networkInterfaceId")
