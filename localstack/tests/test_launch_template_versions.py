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


def test_group_scales_out_from_a_new_version_with_user_data(client, template_and_subnet):
    # Regression: moto 5.1.54 kept this version's UserData unparsed, and the scale-out failed
    # with InternalError.
    ec2, asg = client("ec2"), client("autoscaling")
    template, subnet = template_and_subnet
    name = unique("asg")
    asg.create_auto_scaling_group(
        AutoScalingGroupName=name, MinSize=0, MaxSize=3, DesiredCapacity=1, VPCZoneIdentifier=subnet,
        LaunchTemplate={"LaunchTemplateId": template, "Version": "1"},
    )
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
