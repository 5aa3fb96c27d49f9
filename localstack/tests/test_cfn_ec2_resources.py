"""`AWS::EC2::EIP` through CloudFormation (moto-backed), and the NAT gateway that needs its allocation id."""

import yaml

from conftest import outputs, unique, wait_stack


def template(tag="a"):
    return yaml.safe_dump({
        "Resources": {
            "Vpc": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.43.0.0/16"}},
            "Gateway": {"Type": "AWS::EC2::InternetGateway", "Properties": {}},
            "Attachment": {"Type": "AWS::EC2::VPCGatewayAttachment", "Properties": {
                "VpcId": {"Ref": "Vpc"}, "InternetGatewayId": {"Ref": "Gateway"}}},
            "Subnet": {"Type": "AWS::EC2::Subnet", "Properties": {"VpcId": {"Ref": "Vpc"}, "CidrBlock": "10.43.0.0/24"}},
            "Eip": {"Type": "AWS::EC2::EIP", "DependsOn": "Attachment", "Properties": {
                "Domain": "vpc", "Tags": [{"Key": "Name", "Value": tag}]}},
            "Nat": {"Type": "AWS::EC2::NatGateway", "Properties": {
                "AllocationId": {"Fn::GetAtt": ["Eip", "AllocationId"]}, "SubnetId": {"Ref": "Subnet"}}},
        },
        "Outputs": {
            "Ref": {"Value": {"Ref": "Eip"}},
            "AllocationId": {"Value": {"Fn::GetAtt": ["Eip", "AllocationId"]}},
            "PublicIp": {"Value": {"Fn::GetAtt": ["Eip", "PublicIp"]}},
            "Nat": {"Value": {"Ref": "Nat"}},
        },
    })


def test_eip_ref_getatt_tags_update_and_release(client):
    cfn, ec2 = client("cloudformation"), client("ec2")
    name = unique("eip")
    cfn.create_stack(StackName=name, TemplateBody=template())
    stack = wait_stack(cfn, name)
    events = cfn.describe_stack_events(StackName=name)["StackEvents"]
    assert stack["StackStatus"] == "CREATE_COMPLETE", [(e["LogicalResourceId"], e.get("ResourceStatusReason")) for e in events]
    out = outputs(stack)

    # Ref is the public IP (also the physical id); GetAtt gives the allocation id.
    [address] = ec2.describe_addresses(AllocationIds=[out["AllocationId"]])["Addresses"]
    assert out["Ref"] == out["PublicIp"] == address["PublicIp"]
    assert address["Domain"] == "vpc"
    assert {"Key": "Name", "Value": "a"} in address["Tags"]
    [resource] = cfn.describe_stack_resources(StackName=name, LogicalResourceId="Eip")["StackResources"]
    assert resource["PhysicalResourceId"] == address["PublicIp"]
    [nat] = ec2.describe_nat_gateways(NatGatewayIds=[out["Nat"]])["NatGateways"]
    assert nat["NatGatewayAddresses"][0]["AllocationId"] == out["AllocationId"]

    # Tags update in place: same address.
    cfn.update_stack(StackName=name, TemplateBody=template(tag="b"))
    stack = wait_stack(cfn, name)
    assert stack["StackStatus"] == "UPDATE_COMPLETE"
    assert outputs(stack)["AllocationId"] == out["AllocationId"]
    [address] = ec2.describe_addresses(AllocationIds=[out["AllocationId"]])["Addresses"]
    assert {"Key": "Name", "Value": "b"} in address["Tags"]

    cfn.delete_stack(StackName=name)
    assert wait_stack(cfn, name)["StackStatus"] == "DELETE_COMPLETE"
    remaining = [a["AllocationId"] for a in ec2.describe_addresses()["Addresses"]]
    assert out["AllocationId"] not in remaining
