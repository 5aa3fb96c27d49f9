"""The full cluster template `templates/ecs-cluster.yaml`, as rendered by the deployer, end to end:
create, a parameter update, delete.

The template is read from the repository (never copied), so a change to the rendered template is
tested here as is. The function is the real `bootstrap` when ENITRUNK_BOOTSTRAP names it, else the
Python stand-in (see `test_eni_trunking_stack.package`).
"""

import base64
import time
from pathlib import Path

import yaml

from conftest import outputs, unique, wait_stack

from test_eni_trunking_stack import effective, upload

TEMPLATE = Path(__file__).resolve().parents[2] / "templates" / "ecs-cluster.yaml"
CAPABILITIES = ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"]
# What LocalStack's engine reports as the physical id of a type it has no provider for (it then
# "deploys" it as a no-op): every resource of the template must have a real provider.
MOCKED_REFERENCE = "unknown"


class _Loader(yaml.SafeLoader):
    """Reads the short-form intrinsics (`!Ref X`) as plain values: only literal properties are used."""


_Loader.add_multi_constructor("!", lambda loader, suffix, node: None)


def parameters(bucket, key, on_delete="Retain"):
    return [
        {"ParameterKey": "CodeBucket", "ParameterValue": bucket},
        {"ParameterKey": "CodeKey", "ParameterValue": key},
        {"ParameterKey": "OnDelete", "ParameterValue": on_delete},
    ]


def strategy(items):
    return [(i["capacityProvider"], i.get("weight", 0), i.get("base", 0)) for i in items]


def wait_change_set(cfn, change_set, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        described = cfn.describe_change_set(ChangeSetName=change_set)
        if described["Status"] not in ("CREATE_PENDING", "CREATE_IN_PROGRESS"):
            assert described["Status"] == "CREATE_COMPLETE", described.get("StatusReason")
            return described
        time.sleep(0.1)
    raise AssertionError(f"change set {change_set} still pending after {timeout}s")


def failures(cfn, name):
    events = cfn.describe_stack_events(StackName=name)["StackEvents"]
    return [(e["LogicalResourceId"], e["ResourceStatus"], e.get("ResourceStatusReason")) for e in events if "FAILED" in e["ResourceStatus"]]


def test_ecs_cluster_template_create_update_delete(client):
    cfn, ecs, asg, ec2, ssm = (client(s) for s in ("cloudformation", "ecs", "autoscaling", "ec2", "ssm"))
    body = TEMPLATE.read_text()
    literal = yaml.load(body, _Loader)["Resources"]
    bucket, key = upload(client)
    name = unique("ecs-cluster")

    started = time.monotonic()
    cfn.create_stack(StackName=name, TemplateBody=body, Parameters=parameters(bucket, key), Capabilities=CAPABILITIES)
    stack = wait_stack(cfn, name, timeout=180)
    assert stack["StackStatus"] == "CREATE_COMPLETE", failures(cfn, name)
    print(f"ecs-cluster stack created in {time.monotonic() - started:.1f}s")
    out = outputs(stack)

    resources = cfn.list_stack_resources(StackName=name)["StackResourceSummaries"]
    assert {r["LogicalResourceId"] for r in resources} == set(literal)
    unsupported = [r["LogicalResourceId"] for r in resources if r.get("PhysicalResourceId") in (None, "", MOCKED_REFERENCE)]
    assert unsupported == [], "resources deployed without a provider"

    # The trunking setting is on for the instance role before the group exists (DependsOn).
    assert out["TrunkingSetting"] == "enabled" and out["TrunkingPrincipalArn"] == out["InstanceRoleArn"]
    assert effective(client, out["InstanceRoleArn"]) == "enabled"
    events = cfn.describe_stack_events(StackName=name)["StackEvents"][::-1]  # oldest first
    order = [(e["LogicalResourceId"], e["ResourceStatus"]) for e in events]
    assert order.index(("EniTrunking", "CREATE_COMPLETE")) < order.index(("AutoScalingGroup", "CREATE_IN_PROGRESS"))

    [cluster] = ecs.describe_clusters(clusters=[out["ClusterName"]], include=["SETTINGS"])["clusters"]
    assert cluster["clusterName"] == name and cluster["clusterArn"] == out["ClusterArn"] and cluster["status"] == "ACTIVE"
    assert cluster["settings"] == [{"name": "containerInsights", "value": "disabled"}]
    # ClusterCapacityProviderAssociations.
    assert cluster["capacityProviders"] == [out["CapacityProviderName"]]
    assert strategy(cluster["defaultCapacityProviderStrategy"]) == [(out["CapacityProviderName"], 1, 0)]

    # The launch template: the AMI from the public SSM parameter, IMDSv2, the instance profile,
    # no resource-name DNS A record, and user data that joins the cluster.
    ami = ssm.get_parameter(Name="/aws/service/ecs/optimized-ami/amazon-linux-2023/recommended/image_id")["Parameter"]["Value"]
    assert ec2.describe_images(ImageIds=[ami])["Images"][0]["Architecture"] == "x86_64"
    [version] = ec2.describe_launch_template_versions(LaunchTemplateId=out["LaunchTemplateId"])["LaunchTemplateVersions"]
    data = version["LaunchTemplateData"]
    assert data["ImageId"] == ami
    assert data["InstanceType"] == literal["LaunchTemplate"]["Properties"]["LaunchTemplateData"]["InstanceType"]
    assert data["MetadataOptions"]["HttpTokens"] == "required"
    # Tasks are a hop away from the instance: they cannot reach its credentials.
    assert data["MetadataOptions"]["HttpPutResponseHopLimit"] == 1
    assert data["IamInstanceProfile"]["Arn"] == out["InstanceProfileArn"]
    assert data["PrivateDnsNameOptions"]["EnableResourceNameDnsARecord"] is False
    user_data = base64.b64decode(data["UserData"]).decode()
    assert f"ECS_CLUSTER={out['ClusterName']}" in user_data and "ECS_AWSVPC_BLOCK_IMDS=true" in user_data

    # The Auto Scaling group: sizes from the template (no DesiredCapacity: managed scaling owns
    # it, and the group starts at its minimum), the launch template's latest version, the
    # private subnets.
    spec = literal["AutoScalingGroup"]["Properties"]
    assert "DesiredCapacity" not in spec
    [group] = asg.describe_auto_scaling_groups(AutoScalingGroupNames=[out["AutoScalingGroupName"]])["AutoScalingGroups"]
    assert (group["MinSize"], group["MaxSize"], group["DesiredCapacity"]) == (
        int(spec["MinSize"]), int(spec["MaxSize"]), int(spec["MinSize"]))
    assert group["LaunchTemplate"]["LaunchTemplateId"] == out["LaunchTemplateId"]
    assert group["LaunchTemplate"]["Version"] == str(version["VersionNumber"])
    assert sorted(group["VPCZoneIdentifier"].split(",")) == sorted(out["PrivateSubnetIds"].split(","))

    # The capacity provider names the group (given by name, kept as its ARN, as ECS does).
    [cp] = ecs.describe_capacity_providers(capacityProviders=[out["CapacityProviderName"]])["capacityProviders"]
    assert cp["autoScalingGroupProvider"]["autoScalingGroupArn"] == group["AutoScalingGroupARN"]
    assert cp["autoScalingGroupProvider"]["managedScaling"]["status"] == "ENABLED"

    td = ecs.describe_task_definition(taskDefinition=out["WebTaskDefinition"])["taskDefinition"]
    assert (td["networkMode"], td["requiresCompatibilities"], td["cpu"], td["memory"]) == ("awsvpc", ["EC2"], "256", "512")

    [svc] = ecs.describe_services(cluster=out["ClusterName"], services=[out["WebServiceName"]])["services"]
    assert svc["serviceName"] == out["WebServiceName"] and svc["desiredCount"] == 4
    assert strategy(svc["capacityProviderStrategy"]) == [(out["CapacityProviderName"], 1, 0)]
    assert "launchType" not in svc
    awsvpc = svc["networkConfiguration"]["awsvpcConfiguration"]
    assert sorted(awsvpc["subnets"]) == sorted(out["PrivateSubnetIds"].split(","))
    [task_sg] = [r["PhysicalResourceId"] for r in resources if r["LogicalResourceId"] == "TaskSecurityGroup"]
    assert awsvpc["securityGroups"] == [task_sg] and awsvpc["assignPublicIp"] == "DISABLED"

    # An update with a changed parameter, through a change set as `enitrunk deploy` does it: only
    # the custom resource changes. (LocalStack's UpdateStack reports UPDATE_COMPLETE even when a
    # resource failed; change sets report the failure, and no resource event may say FAILED.)
    started = time.monotonic()
    change_set = cfn.create_change_set(
        StackName=name, ChangeSetName=unique("reset"), TemplateBody=body,
        Parameters=parameters(bucket, key, "Reset"), Capabilities=CAPABILITIES,
    )["Id"]
    changes = wait_change_set(cfn, change_set)["Changes"]
    assert [c["ResourceChange"]["LogicalResourceId"] for c in changes] == ["EniTrunking"]
    cfn.execute_change_set(ChangeSetName=change_set)
    stack = wait_stack(cfn, name, timeout=180)
    assert stack["StackStatus"] == "UPDATE_COMPLETE" and failures(cfn, name) == [], failures(cfn, name)
    print(f"ecs-cluster stack updated in {time.monotonic() - started:.1f}s")
    assert outputs(stack) == out

    started = time.monotonic()
    cfn.delete_stack(StackName=name)
    assert wait_stack(cfn, name, timeout=180)["StackStatus"] == "DELETE_COMPLETE", failures(cfn, stack["StackId"])
    print(f"ecs-cluster stack deleted in {time.monotonic() - started:.1f}s")
    [cluster] = ecs.describe_clusters(clusters=[out["ClusterName"]])["clusters"]
    assert cluster["status"] == "INACTIVE"
    assert asg.describe_auto_scaling_groups(AutoScalingGroupNames=[out["AutoScalingGroupName"]])["AutoScalingGroups"] == []
    assert out["LaunchTemplateId"] not in [t["LaunchTemplateId"] for t in ec2.describe_launch_templates()["LaunchTemplates"]]
    assert ec2.describe_vpcs(Filters=[{"Name": "vpc-id", "Values": [out["VpcId"]]}])["Vpcs"] == []
    # OnDelete=Reset (from the update) took the role's own setting away.
    assert ecs.list_account_settings(name="awsvpcTrunking", principalArn=out["InstanceRoleArn"])["settings"] == []
