"""The ECS container agent on instances an Auto Scaling group launches: registration with the cluster
its user data names, signed as the instance profile's role; the trunk interface ECS attaches when
`awsvpcTrunking` is on for that role; deregistration."""

import json
import time

import pytest

from conftest import create_role, refusal, unique
from fleet import TRUNK, WINDOWS_AMI_PARAMETER, Fleet, attribute, eni_of, has_attribute, regional, resource


def test_an_instance_joins_the_cluster_its_user_data_names_shortly_after_it_runs(client, account):
    fleet = Fleet(client)
    started = time.monotonic()
    group = fleet.group()
    # The launch does not wait for the agent.
    assert time.monotonic() - started < 1.0 and fleet.instances() == []
    [ci] = fleet.wait_instances(1)
    [instance_id] = fleet.group_instances(group)
    [instance] = client("ec2").describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"]
    assert ci["ec2InstanceId"] == instance_id and ci["agentConnected"] is True
    assert ci["containerInstanceArn"].startswith(f"arn:aws:ecs:us-east-1:{account}:container-instance/{fleet.cluster}/")
    assert ci["registeredAt"] and ci["versionInfo"]["agentVersion"] and ci["versionInfo"]["dockerVersion"].startswith("DockerVersion: ")
    # m5.large: 2 vCPU and 8192 MiB, of which 8 % are kept for the OS and the agent (an estimate).
    assert resource(ci["registeredResources"], "CPU") == 2048 and resource(ci["registeredResources"], "MEMORY") == 7537
    assert ci["remainingResources"] == ci["registeredResources"] and ci["runningTasksCount"] == 0
    assert attribute(ci, "ecs.instance-type") == "m5.large" and attribute(ci, "ecs.ami-id") == fleet.ami
    assert attribute(ci, "ecs.availability-zone") == instance["Placement"]["AvailabilityZone"]
    assert (attribute(ci, "ecs.os-type"), attribute(ci, "ecs.cpu-architecture")) == ("linux", "x86_64")
    assert (attribute(ci, "ecs.vpc-id"), attribute(ci, "ecs.subnet-id")) == (fleet.vpc, fleet.subnets[0])
    assert has_attribute(ci, "ecs.capability.task-eni") and has_attribute(ci, "ecs.capability.task-eni-trunking")
    # awsvpcTrunking is off (AWS's default) for the role: no trunk, and ACTIVE without REGISTERING.
    assert not has_attribute(ci, TRUNK) and ci["status"] == "ACTIVE" and ci.get("attachments", []) == []


def test_without_ecs_cluster_the_instance_joins_the_default_cluster_and_the_agent_creates_it(client):
    # In a region of its own: the `default` cluster is per region.
    west = regional("us-west-1")
    # A LocalStack that ran this test before has a `default` cluster there: take it away first.
    for group in west("autoscaling").describe_auto_scaling_groups()["AutoScalingGroups"]:
        west("autoscaling").delete_auto_scaling_group(AutoScalingGroupName=group["AutoScalingGroupName"], ForceDelete=True)
    if any(c["status"] == "ACTIVE" for c in west("ecs").describe_clusters(clusters=["default"])["clusters"]):
        west("ecs").delete_cluster(cluster="default")
    fleet = Fleet(west, region="us-west-1")
    fleet.group(cluster=None)
    [ci] = fleet.wait_instances(1, cluster="default")
    assert fleet.instances() == [] and attribute(ci, "ecs.instance-type") == "m5.large"
    [default] = west("ecs").describe_clusters(clusters=["default"])["clusters"]
    assert default["status"] == "ACTIVE" and default["registeredContainerInstancesCount"] == 1


def test_register_container_instance_is_authorized_by_the_callers_policies(client, assume, account):
    fleet = Fleet(client)
    [instance_id] = fleet.group_instances(fleet.group())
    fleet.wait_instances(1)
    # A session of a role without the agent's permissions (AmazonEC2ContainerServiceforEC2Role's).
    role = create_role(client, {"AWS": account})
    ecs = client("ecs", assume(role, "agent"))
    code, status, message = refusal(lambda: ecs.register_container_instance(
        cluster=fleet.cluster, instanceIdentityDocument=json.dumps({"instanceId": instance_id})))
    assert (code, status) == ("AccessDeniedException", 400)
    assert message == (
        f"User: arn:aws:sts::{account}:assumed-role/{role.rsplit('/', 1)[1]}/agent is not authorized to perform: "
        f"ecs:RegisterContainerInstance on resource: arn:aws:ecs:us-east-1:{account}:cluster/{fleet.cluster} "
        "because no identity-based policy allows the ecs:RegisterContainerInstance action"
    )
    # A missing cluster, as ECS answers the agent (RegisterContainerInstance has no ClusterNotFoundException).
    document = json.dumps({"instanceId": instance_id})
    assert refusal(lambda: client("ecs").register_container_instance(cluster=unique("missing"), instanceIdentityDocument=document)) == (
        "ClientException", 400, "Cluster not found.")


@pytest.fixture(scope="module")
def never_registered(client):
    """Instances whose agent cannot register, launched together and watched for a while: case -> fleet."""
    cases = {}
    cases["no ECS-optimized AMI"] = fleet = Fleet(client)
    fleet.group(image="ami-12c6146b")
    cases["no instance profile"] = fleet = Fleet(client)
    fleet.group(profile=False)
    cases["a role EC2 may not assume"] = fleet = Fleet(client, trust_ec2=False)
    fleet.group()
    cases["a role without the agent's permissions"] = fleet = Fleet(client, ecs_policy=False)
    fleet.group()
    # A cluster the user data names is not created (only `default` is).
    cases["a cluster that does not exist"] = fleet = Fleet(client)
    fleet.group(cluster=unique("missing"))
    # The agent tries 0.5 s after launch (localstack/run), and again every 5 s.
    time.sleep(1.5)
    return cases


@pytest.mark.parametrize(
    "case",
    ["no ECS-optimized AMI", "no instance profile", "a role EC2 may not assume", "a role without the agent's permissions",
     "a cluster that does not exist"],
)
def test_an_instance_whose_agent_cannot_register_never_appears(never_registered, case):
    fleet = never_registered[case]
    assert fleet.instances() == [] and fleet.instances("INACTIVE") == []
    assert fleet.client("ecs").list_attributes(cluster=fleet.cluster, targetType="container-instance")["attributes"] == []


def test_a_trunk_when_awsvpc_trunking_is_on_for_the_instance_role(client):
    fleet = Fleet(client)
    fleet.trunking("enabled")
    group = fleet.group()
    seen = set()
    [ci] = fleet.wait_instances(1, seen=seen)
    assert "REGISTERING" in seen, seen
    trunk = attribute(ci, TRUNK)
    assert trunk and trunk.startswith("eni-")
    [eni] = client("ec2").describe_network_interfaces(NetworkInterfaceIds=[trunk])["NetworkInterfaces"]
    assert eni["InterfaceType"] == "trunk" and eni["Attachment"]["InstanceId"] == fleet.group_instances(group)[0]
    [attachment] = ci["attachments"]
    assert attachment["type"] == "ElasticNetworkInterface" and attachment["status"] == "ATTACHED"
    assert {"name": "networkInterfaceId", "value": trunk} in attachment["details"]
    # The developer guide's way to find trunked instances.
    listed = client("ecs").list_attributes(cluster=fleet.cluster, targetType="container-instance", attributeName=TRUNK)["attributes"]
    assert listed == [{"name": TRUNK, "value": trunk, "targetType": "container-instance", "targetId": ci["containerInstanceArn"]}]
    arns = client("ecs").list_container_instances(cluster=fleet.cluster, filter=f"attribute:{TRUNK} exists")["containerInstanceArns"]
    assert arns == [ci["containerInstanceArn"]]


def test_the_account_default_applies_to_a_role_without_its_own_setting(client):
    # In a region of its own: the account default is per region.
    east2 = regional("us-east-2")
    east2("ecs").put_account_setting_default(name="awsvpcTrunking", value="enabled")
    inherits, opted_out = Fleet(east2, region="us-east-2"), Fleet(east2, region="us-east-2", cidr="10.61.0.0/16")
    opted_out.trunking("disabled")
    inherits.group()
    opted_out.group()
    [trunked] = inherits.wait_instances(1)
    [plain] = opted_out.wait_instances(1)
    assert has_attribute(trunked, TRUNK) and not has_attribute(plain, TRUNK)


def test_types_and_platforms_without_trunking_register_without_a_trunk(client):
    fleet = Fleet(client)
    fleet.trunking("enabled")
    fleet.group(instance_type="t3.large")
    windows = client("ssm").get_parameter(Name=WINDOWS_AMI_PARAMETER)["Parameter"]["Value"]
    fleet.group(instance_type="m5.large", image=windows)
    seen = set()
    found = fleet.wait_instances(2, seen=seen)
    assert "REGISTERING" not in seen
    by_os = {attribute(ci, "ecs.os-type"): ci for ci in found}
    assert not has_attribute(by_os["linux"], TRUNK) and attribute(by_os["linux"], "ecs.instance-type") == "t3.large"
    # Windows: an agent older than 1.28.1 and no trunking capability.
    assert not has_attribute(by_os["windows"], TRUNK) and not has_attribute(by_os["windows"], "ecs.capability.task-eni-trunking")


def test_resource_name_dns_records_on_fail_the_registration_with_a_reason(client):
    fleet = Fleet(client)
    fleet.trunking("enabled")
    fleet.group(dns_a_record=True)
    seen = set()
    [ci] = fleet.wait_instances(1, status="REGISTRATION_FAILED", seen=seen)
    assert "REGISTERING" in seen
    assert "resource-based IPv4 (A record) DNS requests are turned on" in ci["statusReason"]
    assert not has_attribute(ci, TRUNK)
    arns = client("ecs").list_container_instances(cluster=fleet.cluster, status="REGISTRATION_FAILED")["containerInstanceArns"]
    assert arns == [ci["containerInstanceArn"]]


def test_an_instance_registered_before_the_setting_took_effect_keeps_no_trunk(client):
    fleet = Fleet(client)
    group = fleet.group()
    [early] = fleet.wait_instances(1)
    fleet.trunking("enabled")
    client("autoscaling").set_desired_capacity(AutoScalingGroupName=group, DesiredCapacity=2)
    found = fleet.wait_instances(2)
    by_arn = {ci["containerInstanceArn"]: ci for ci in found}
    assert not has_attribute(by_arn.pop(early["containerInstanceArn"]), TRUNK)
    [late] = by_arn.values()
    assert has_attribute(late, TRUNK)


def test_terminating_the_instance_deregisters_it_stops_its_tasks_and_deletes_its_trunk(client):
    fleet = Fleet(client)
    fleet.trunking("enabled")
    group = fleet.group()
    [ci] = fleet.wait_instances(1)
    trunk = attribute(ci, TRUNK)
    fleet.service("web", 2, fleet.task_definition())
    task_enis = [eni_of(t) for t in fleet.tasks("web")]
    [instance_id] = fleet.group_instances(group)
    client("ec2").terminate_instances(InstanceIds=[instance_id])
    [gone] = fleet.wait_instances(1, status="INACTIVE")
    assert gone["containerInstanceArn"] == ci["containerInstanceArn"] and gone["agentConnected"] is False
    assert not has_attribute(gone, TRUNK) and gone["runningTasksCount"] == 0
    stopped = [t for t in fleet.tasks(desiredStatus="STOPPED") if t["containerInstanceArn"] == ci["containerInstanceArn"]]
    assert {(t["lastStatus"], t["stoppedReason"], t["stopCode"]) for t in stopped} == {
        ("STOPPED", f"Host EC2 (instance {instance_id}) terminated.", "TerminationNotice")}
    ec2 = client("ec2")
    assert ec2.describe_network_interfaces(Filters=[{"Name": "network-interface-id", "Values": [trunk, *task_enis]}])["NetworkInterfaces"] == []
    # Listed only when asked for: the default leaves INACTIVE out.
    assert ci["containerInstanceArn"] not in [c["containerInstanceArn"] for c in fleet.instances()]
    # The group replaces the instance; the new one registers and the service's tasks return.
    fleet.wait_instances(1, status="ACTIVE")
    fleet.wait_running("web", 2)


def test_the_group_scaling_in_deregisters_its_instances(client):
    fleet = Fleet(client)
    group = fleet.group(desired=2)
    fleet.wait_instances(2)
    client("autoscaling").set_desired_capacity(AutoScalingGroupName=group, DesiredCapacity=0)
    assert len(fleet.wait_instances(2, status="INACTIVE")) == 2 and fleet.instances() == []


def test_deregister_container_instance(client):
    fleet = Fleet(client)
    fleet.trunking("enabled")
    fleet.group()
    [ci] = fleet.wait_instances(1)
    ecs = client("ecs")
    fleet.service("web", 2, fleet.task_definition())
    fleet.wait_running("web", 2)
    code, _, message = refusal(lambda: ecs.deregister_container_instance(cluster=fleet.cluster, containerInstance=ci["containerInstanceArn"]))
    assert code == "InvalidParameterException"
    out = ecs.deregister_container_instance(cluster=fleet.cluster, containerInstance=ci["containerInstanceArn"], force=True)["containerInstance"]
    assert out["status"] == "INACTIVE" and not has_attribute(out, TRUNK)
    stopped = fleet.tasks(desiredStatus="STOPPED")
    assert len(stopped) == 2 and all(t["lastStatus"] == "STOPPED" for t in stopped)
    assert fleet.describe_service("web")["runningCount"] == 0
