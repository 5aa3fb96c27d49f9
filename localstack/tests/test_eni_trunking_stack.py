"""The enitrunk trunking stack shape end to end: IAM roles, a provided.al2023 function from S3,
and `Custom::EniTrunking`, whose function assumes the EC2 role and turns the setting on for it.

The function is the real `bootstrap` when ENITRUNK_BOOTSTRAP names the built binary
(`cargo build -p custom-resource-lambda --bin bootstrap`), else the Python stand-in
`functions/trunking_bootstrap.py` that follows the same contract.
"""

import json
import os
import time
from pathlib import Path

import yaml

from conftest import FUNCTIONS, bootstrap_zip, outputs, unique, wait_stack


def package() -> bytes:
    binary = os.environ.get("ENITRUNK_BOOTSTRAP")
    if binary:
        return bootstrap_zip(binary=Path(binary))
    return bootstrap_zip(FUNCTIONS / "trunking_bootstrap.py")


def template(bucket, key, setting_name="awsvpcTrunking", on_delete="Retain", role_suffix="a", allowed_setting=None):
    """The trunking part of `templates/eni-trunking.yaml`, with its IAM policies: the instance role
    may change only `allowed_setting` (default: the one the custom resource sets)."""
    lambda_role = {
        "Type": "AWS::IAM::Role",
        "Properties": {
            "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]},
        },
    }
    ec2_role = {
        "Type": "AWS::IAM::Role",
        "Properties": {
            "RoleName": {"Fn::Sub": "${AWS::StackName}-ec2-" + role_suffix},
            "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"},
                {"Effect": "Allow", "Principal": {"AWS": {"Fn::GetAtt": ["LambdaRole", "Arn"]}}, "Action": "sts:AssumeRole"}]},
            "Policies": [{"PolicyName": "account-setting", "PolicyDocument": {"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": ["ecs:PutAccountSetting", "ecs:DeleteAccountSetting"], "Resource": "*",
                 "Condition": {"StringEquals": {"ecs:account-setting": allowed_setting or setting_name}}},
                {"Effect": "Allow", "Action": ["ecs:ListAccountSettings"], "Resource": "*"}]}}],
        },
    }
    assume_policy = {
        "Type": "AWS::IAM::Policy",
        "Properties": {
            "PolicyName": "assume-instance-role",
            "PolicyDocument": {"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": {"Fn::GetAtt": ["InstanceRole", "Arn"]}}]},
            "Roles": [{"Ref": "LambdaRole"}],
        },
    }
    return yaml.safe_dump({
        "Resources": {
            "LambdaRole": lambda_role,
            "InstanceRole": ec2_role,
            "AssumeInstanceRole": assume_policy,
            "Function": {
                "Type": "AWS::Lambda::Function",
                "Properties": {
                    "Runtime": "provided.al2023", "Handler": "bootstrap", "Timeout": 60, "MemorySize": 128,
                    "Role": {"Fn::GetAtt": ["LambdaRole", "Arn"]},
                    "Code": {"S3Bucket": bucket, "S3Key": key},
                },
            },
            "InvokeConfig": {
                "Type": "AWS::Lambda::EventInvokeConfig",
                "Properties": {"FunctionName": {"Ref": "Function"}, "Qualifier": "$LATEST", "MaximumRetryAttempts": 0},
            },
            "Trunking": {
                "Type": "Custom::EniTrunking",
                "DependsOn": ["AssumeInstanceRole", "InvokeConfig"],
                "Properties": {
                    "ServiceToken": {"Fn::GetAtt": ["Function", "Arn"]},
                    "ServiceTimeout": 120,
                    "RoleArn": {"Fn::GetAtt": ["InstanceRole", "Arn"]},
                    "SettingName": setting_name,
                    "OnDelete": on_delete,
                },
            },
        },
        "Outputs": {
            "RoleArn": {"Value": {"Fn::GetAtt": ["InstanceRole", "Arn"]}},
            "Value": {"Value": {"Fn::GetAtt": ["Trunking", "Value"]}},
            "PrincipalArn": {"Value": {"Fn::GetAtt": ["Trunking", "PrincipalArn"]}},
            "PhysicalId": {"Value": {"Ref": "Trunking"}},
        },
    })


def upload(client):
    bucket = unique("artifacts")
    client("s3").create_bucket(Bucket=bucket)
    client("s3").put_object(Bucket=bucket, Key="bootstrap.zip", Body=package())
    return bucket, "bootstrap.zip"


def effective(client, principal):
    [s] = client("ecs").list_account_settings(name="awsvpcTrunking", principalArn=principal, effectiveSettings=True)["settings"]
    return s["value"]


def test_trunking_on_for_the_instance_role_then_reset_on_delete(client):
    cfn = client("cloudformation")
    bucket, key = upload(client)
    name = unique("trunk")
    started = time.monotonic()
    cfn.create_stack(StackName=name, TemplateBody=template(bucket, key, on_delete="Reset"), Capabilities=["CAPABILITY_NAMED_IAM"])
    stack = wait_stack(cfn, name, timeout=120)
    events = cfn.describe_stack_events(StackName=name)["StackEvents"]
    assert stack["StackStatus"] == "CREATE_COMPLETE", [e.get("ResourceStatusReason") for e in events]
    print(f"trunking stack created in {time.monotonic() - started:.1f}s")
    out = outputs(stack)
    role = out["RoleArn"]
    assert out["Value"] == "enabled" and out["PrincipalArn"] == role
    assert effective(client, role) == "enabled"
    other = client("iam").create_role(RoleName=unique("other"), AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    assert effective(client, other) == "disabled"

    cfn.delete_stack(StackName=name)
    assert wait_stack(cfn, name, timeout=120)["StackStatus"] == "DELETE_COMPLETE"
    assert client("ecs").list_account_settings(name="awsvpcTrunking", principalArn=role)["settings"] == []


def test_invalid_setting_name_fails_fast_with_the_functions_reason(client):
    cfn = client("cloudformation")
    bucket, key = upload(client)
    name = unique("trunk-bad")
    started = time.monotonic()
    cfn.create_stack(StackName=name, TemplateBody=template(bucket, key, setting_name="bogusSetting"), Capabilities=["CAPABILITY_NAMED_IAM"])
    stack = wait_stack(cfn, name, timeout=120)
    events = cfn.describe_stack_events(StackName=name)["StackEvents"]
    # The rollback sends the function the Delete of its failed Create; it answers it.
    assert stack["StackStatus"] == "ROLLBACK_COMPLETE", [(e["LogicalResourceId"], e["ResourceStatus"]) for e in events]
    assert time.monotonic() - started < 60
    [failed] = [e for e in events if e["LogicalResourceId"] == "Trunking" and e["ResourceStatus"] == "CREATE_FAILED"]
    assert "bogusSetting" in failed["ResourceStatusReason"]
    assert [e["LogicalResourceId"] for e in events if e["ResourceStatus"] == "DELETE_COMPLETE"][-1] == "Trunking"
    assert "X-Amz-Signature" not in json.dumps(events, default=str)


def test_an_instance_role_policy_for_another_setting_fails_the_stack(client):
    """The emulator refuses what AWS refuses: the instance role may not change awsvpcTrunking."""
    cfn = client("cloudformation")
    bucket, key = upload(client)
    name = unique("trunk-policy")
    body = template(bucket, key, allowed_setting="containerInsights")
    cfn.create_stack(StackName=name, TemplateBody=body, Capabilities=["CAPABILITY_NAMED_IAM"])
    stack = wait_stack(cfn, name, timeout=120)
    assert stack["StackStatus"] in ("CREATE_FAILED", "ROLLBACK_COMPLETE", "ROLLBACK_FAILED")
    events = cfn.describe_stack_events(StackName=name)["StackEvents"]
    [failed] = [e for e in events if e["LogicalResourceId"] == "Trunking" and e["ResourceStatus"] == "CREATE_FAILED"]
    assert "AccessDeniedException" in failed["ResourceStatusReason"]
    assert "ecs:PutAccountSetting" in failed["ResourceStatusReason"]
