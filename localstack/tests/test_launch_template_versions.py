"""Launch template versions with user data, and Auto Scaling groups that launch from them (moto fixes)."""

import base64

import pytest
from botocore.exceptions import ClientError

from conftest import unique


def user_data(text):
    return base64.b64encode(text.encode()).decode()


@pytest.fixture
def template_and_subnet(client):
    ec2 = client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.46.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.46.0.0/24")["Subnet"]["SubnetId"]
    template = ec2.create_launch_template(
        LaunchTemplateName=unique("lt"),
        LaunchTemplateData={"ImageId": "ami-12c6146b", "InstanceType": "m5.large", "UserData": user_data("#!/bin/bash\necho 1")},
    )["LaunchTemplate"]["LaunchTemplateId"]
    return template, subnet


def create_group(asg, template_and_subnet, version, desired=1, **extra):
    """A new group of `desired` instances launching from `version` of the template: its name."""
    template, subnet = template_and_subnet
    name = unique("asg")
    asg.create_auto_scaling_group(
        AutoScalingGroupName=name, MinSize=0, MaxSize=3, DesiredCapacity=desired, VPCZoneIdentifier=subnet,
        LaunchTemplate={"LaunchTemplateId": template, "Version": version}, **extra,
    )
    return name


def test_group_scales_out_from_a_new_version_with_user_data(client, template_and_subnet):
    # Regression: moto 5.1.54 kept this version's UserData unparsed, and the scale-out failed
    # with InternalError.
    ec2, asg = client("ec2"), client("autoscaling")
    template, _ = template_and_subnet
    name = create_group(asg, template_and_subnet, "1")
    version = ec2.create_launch_template_version(
        LaunchTemplateId=template,
        LaunchTemplateData={"ImageId": "ami-12c6146b", "InstanceType": "m5.large", "UserData": user_data("#!/bin/bash\necho 2")},
    )["LaunchTemplateVersion"]["VersionNumber"]
    asg.update_auto_scaling_group(
        AutoScalingGroupName=name, DesiredCapacity=2, LaunchTemplate={"LaunchTemplateId": template, "Version": str(version)}
    )
    [group] = asg.describe_auto_scaling_groups(AutoScalingGroupNames=[name])["AutoScalingGroups"]
    assert group["DesiredCapacity"] == 2 and len(group["Instances"]) == 2
    [data] = ec2.describe_launch_template_versions(LaunchTemplateId=template, Versions=[str(version)])["LaunchTemplateVersions"]
    assert base64.b64decode(data["LaunchTemplateData"]["UserData"]).decode() == "#!/bin/bash\necho 2"
    asg.delete_auto_scaling_group(AutoScalingGroupName=name, ForceDelete=True)


def test_new_version_with_user_data_that_is_not_base64_is_rejected(client, template_and_subnet):
    template, _ = template_and_subnet
    with pytest.raises(ClientError) as e:
        client("ec2").create_launch_template_version(
            LaunchTemplateId=template, LaunchTemplateData={"ImageId": "ami-12c6146b", "UserData": "#!/bin/bash not base64"}
        )
    assert "base64" in e.value.response["Error"]["Message"].lower()


def test_each_instance_reports_the_version_it_was_launched_from(client, template_and_subnet):
    # moto reported the template's default version for every instance, and tagged each EC2
    # instance with it, whatever version the group launched from.
    ec2, asg = client("ec2"), client("autoscaling")
    template, _ = template_and_subnet
    name = create_group(asg, template_and_subnet, "$Latest")
    [first] = asg.describe_auto_scaling_groups(AutoScalingGroupNames=[name])["AutoScalingGroups"][0]["Instances"]
    ec2.create_launch_template_version(LaunchTemplateId=template, SourceVersion="1", LaunchTemplateData={"InstanceType": "c5.large"})
    asg.set_desired_capacity(AutoScalingGroupName=name, DesiredCapacity=2)

    [group] = asg.describe_auto_scaling_groups(AutoScalingGroupNames=[name])["AutoScalingGroups"]
    versions = {i["InstanceId"]: i["LaunchTemplate"]["Version"] for i in group["Instances"]}
    [second] = set(versions) - {first["InstanceId"]}
    assert versions == {first["InstanceId"]: "1", second: "2"}
    assert group["LaunchTemplate"]["Version"] == "$Latest"
    [described] = asg.describe_auto_scaling_instances(InstanceIds=[second])["AutoScalingInstances"]
    assert described["LaunchTemplate"] == {"LaunchTemplateId": template, "LaunchTemplateName": described["LaunchTemplate"]["LaunchTemplateName"], "Version": "2"}
    tags = {t["Key"]: t["Value"] for t in ec2.describe_tags(Filters=[{"Name": "resource-id", "Values": [second]}])["Tags"]}
    assert tags["aws:ec2launchtemplate:version"] == "2"
    asg.delete_auto_scaling_group(AutoScalingGroupName=name, ForceDelete=True)


@pytest.mark.parametrize("given, expected", [(None, 0), (0, 0), (45, 45)])
def test_health_check_grace_period_defaults_to_0(client, template_and_subnet, given, expected):
    # "Default: 0 seconds" (API_CreateAutoScalingGroup); moto made it 300, and an explicit 0 too.
    asg = client("autoscaling")
    extra = {} if given is None else {"HealthCheckGracePeriod": given}
    name = create_group(asg, template_and_subnet, "1", desired=0, **extra)
    [group] = asg.describe_auto_scaling_groups(AutoScalingGroupNames=[name])["AutoScalingGroups"]
    assert group["HealthCheckGracePeriod"] == expected
    asg.delete_auto_scaling_group(AutoScalingGroupName=name)
