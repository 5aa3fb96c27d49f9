"""Capacity providers through the ECS API (ecs:enitrunk): the group's ARN from its name, and
services that run on a capacity provider strategy instead of a launch type."""

import pytest
from botocore.exceptions import ClientError

from conftest import unique


@pytest.fixture
def group(client):
    """An Auto Scaling group with no instances, in a new subnet: (name, ARN)."""
    ec2, asg = client("ec2"), client("autoscaling")
    vpc = ec2.create_vpc(CidrBlock="10.44.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.44.0.0/24")["Subnet"]["SubnetId"]
    template = ec2.create_launch_template(
        LaunchTemplateName=unique("lt"), LaunchTemplateData={"ImageId": "ami-12c6146b", "InstanceType": "m5.large"}
    )["LaunchTemplate"]["LaunchTemplateId"]
    name = unique("asg")
    asg.create_auto_scaling_group(
        AutoScalingGroupName=name, MinSize=0, MaxSize=1, DesiredCapacity=0, VPCZoneIdentifier=subnet,
        LaunchTemplate={"LaunchTemplateId": template, "Version": "1"},
    )
    [g] = asg.describe_auto_scaling_groups(AutoScalingGroupNames=[name])["AutoScalingGroups"]
    return name, g["AutoScalingGroupARN"], subnet


@pytest.fixture
def cluster(client, group):
    """A cluster with a capacity provider (made from the group's name) as its default strategy."""
    ecs = client("ecs")
    name, _, _ = group
    provider = unique("cp")
    ecs.create_capacity_provider(name=provider, autoScalingGroupProvider={"autoScalingGroupArn": name})
    cluster = unique("cluster")
    ecs.create_cluster(clusterName=cluster)
    ecs.put_cluster_capacity_providers(
        cluster=cluster, capacityProviders=[provider], defaultCapacityProviderStrategy=[{"capacityProvider": provider, "weight": 1}]
    )
    ecs.register_task_definition(
        family="cap", networkMode="awsvpc", requiresCompatibilities=["EC2"], cpu="256", memory="512",
        containerDefinitions=[{"name": "web", "image": "nginx"}],
    )
    return cluster, provider


def network(client, subnet):
    vpc = client("ec2").describe_subnets(SubnetIds=[subnet])["Subnets"][0]["VpcId"]
    sg = client("ec2").create_security_group(GroupName=unique("sg"), Description="tasks", VpcId=vpc)["GroupId"]
    return {"awsvpcConfiguration": {"subnets": [subnet], "securityGroups": [sg]}}


def test_capacity_provider_from_group_name_keeps_the_group_arn(client, group):
    ecs = client("ecs")
    name, arn, _ = group
    provider = unique("cp")
    created = ecs.create_capacity_provider(name=provider, autoScalingGroupProvider={"autoScalingGroupArn": name})
    assert created["capacityProvider"]["autoScalingGroupProvider"]["autoScalingGroupArn"] == arn
    [described] = ecs.describe_capacity_providers(capacityProviders=[provider])["capacityProviders"]
    assert described["autoScalingGroupProvider"]["autoScalingGroupArn"] == arn
    # An ARN is kept as given.
    by_arn = ecs.create_capacity_provider(name=unique("cp"), autoScalingGroupProvider={"autoScalingGroupArn": arn})
    assert by_arn["capacityProvider"]["autoScalingGroupProvider"]["autoScalingGroupArn"] == arn


def test_capacity_provider_for_a_missing_group_is_rejected(client):
    with pytest.raises(ClientError) as e:
        client("ecs").create_capacity_provider(name=unique("cp"), autoScalingGroupProvider={"autoScalingGroupArn": "no-such-group"})
    assert e.value.response["Error"]["Code"] == "ClientException"
    assert "no-such-group" in e.value.response["Error"]["Message"]


def test_service_with_a_strategy_has_no_launch_type(client, group, cluster):
    ecs = client("ecs")
    name, provider = cluster
    strategy = [{"capacityProvider": provider, "weight": 2, "base": 1}]
    svc = ecs.create_service(
        cluster=name, serviceName="s", taskDefinition="cap", desiredCount=1,
        capacityProviderStrategy=strategy, networkConfiguration=network(client, group[2]),
    )["service"]
    assert svc["capacityProviderStrategy"] == strategy and "launchType" not in svc
    [described] = ecs.describe_services(cluster=name, services=["s"])["services"]
    assert described["capacityProviderStrategy"] == strategy and "launchType" not in described
    assert described["deployments"][0]["capacityProviderStrategy"] == strategy

    # UpdateService keeps it, and can change it.
    ecs.update_service(cluster=name, service="s", desiredCount=2)
    [described] = ecs.describe_services(cluster=name, services=["s"])["services"]
    assert described["capacityProviderStrategy"] == strategy and described["desiredCount"] == 2
    updated = ecs.update_service(cluster=name, service="s", capacityProviderStrategy=[{"capacityProvider": provider, "weight": 1}])
    assert updated["service"]["capacityProviderStrategy"] == [{"capacityProvider": provider, "weight": 1, "base": 0}]


def test_service_without_strategy_or_launch_type_uses_the_cluster_default(client, group, cluster):
    ecs = client("ecs")
    name, provider = cluster
    svc = ecs.create_service(
        cluster=name, serviceName="d", taskDefinition="cap", desiredCount=1, networkConfiguration=network(client, group[2])
    )["service"]
    assert svc["capacityProviderStrategy"] == [{"capacityProvider": provider, "weight": 1, "base": 0}]
    assert "launchType" not in svc
    # A launch type given explicitly still wins over the cluster default.
    svc = ecs.create_service(
        cluster=name, serviceName="e", taskDefinition="cap", desiredCount=1, launchType="EC2",
        networkConfiguration=network(client, group[2]),
    )["service"]
    assert svc["launchType"] == "EC2" and not svc.get("capacityProviderStrategy")


def test_service_strategy_errors(client, group, cluster):
    ecs = client("ecs")
    name, provider = cluster
    with pytest.raises(ClientError) as e:
        ecs.create_service(
            cluster=name, serviceName="both", taskDefinition="cap", desiredCount=1, launchType="EC2",
            capacityProviderStrategy=[{"capacityProvider": provider, "weight": 1}], networkConfiguration=network(client, group[2]),
        )
    assert e.value.response["Error"]["Code"] == "InvalidParameterException"
    with pytest.raises(ClientError) as e:
        ecs.create_service(
            cluster=name, serviceName="other", taskDefinition="cap", desiredCount=1,
            capacityProviderStrategy=[{"capacityProvider": "not-associated", "weight": 1}],
            networkConfiguration=network(client, group[2]),
        )
    assert e.value.response["Error"]["Code"] == "InvalidParameterException"
    assert "not associated with the cluster" in e.value.response["Error"]["Message"]
