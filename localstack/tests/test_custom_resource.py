"""`Custom::*` resources through LocalStack's CloudFormation, backed by a provided.al2023 function."""

import json
import time

import pytest
import yaml

from conftest import FUNCTIONS, bootstrap_zip, create_function, unique


@pytest.fixture(scope="module")
def records_bucket(client):
    name = unique("cr-records")
    client("s3").create_bucket(Bucket=name)
    return name


@pytest.fixture(scope="module")
def cr_function(client, records_bucket):
    iam = client("iam")
    role = iam.create_role(
        RoleName=unique("cr-fn"),
        AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}),
    )["Role"]["Arn"]
    name = create_function(client, role, bootstrap_zip(FUNCTIONS / "cr_bootstrap.py"), env={"RECORD_BUCKET": records_bucket})
    return client("lambda").get_function(FunctionName=name)["Configuration"]["FunctionArn"]


def template(token, props, service_timeout=None):
    resource = {"Type": "Custom::Probe", "Properties": {"ServiceToken": token, **props}}
    if service_timeout is not None:
        resource["Properties"]["ServiceTimeout"] = service_timeout
    return yaml.safe_dump({
        "Resources": {"Probe": resource},
        "Outputs": {
            "Ref": {"Value": {"Ref": "Probe"}},
            "Echo": {"Value": {"Fn::GetAtt": ["Probe", "Echo"]}},
            "Id": {"Value": {"Fn::GetAtt": ["Probe", "Id"]}},
        },
    })


def wait_stack(cfn, name, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            stack = cfn.describe_stacks(StackName=name)["Stacks"][0]
        except cfn.exceptions.ClientError as e:
            if "does not exist" in str(e):
                return {"StackStatus": "DELETE_COMPLETE"}
            raise
        if not stack["StackStatus"].endswith("IN_PROGRESS"):
            return stack
        time.sleep(0.1)
    raise AssertionError(f"stack {name} still in progress after {timeout}s")


def outputs(stack):
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


def records(client, bucket, logical_id="Probe"):
    s3 = client("s3")
    out = []
    for obj in s3.list_objects_v2(Bucket=bucket, Prefix=f"{logical_id}/").get("Contents", []):
        rec = json.loads(s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read())
        rec["_at"] = obj["LastModified"]
        out.append(rec)
    return out


def requests_for(client, bucket, stack_id):
    return [r for r in records(client, bucket) if r["StackId"] == stack_id]


def test_create_update_replace_delete(client, cr_function, records_bucket):
    cfn = client("cloudformation")
    name = unique("cr-stack")
    started = time.monotonic()
    stack_id = cfn.create_stack(StackName=name, TemplateBody=template(cr_function, {"Id": "one", "Echo": "hello", "Number": 5}))["StackId"]
    stack = wait_stack(cfn, name)
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    assert time.monotonic() - started < 20
    assert outputs(stack) == {"Ref": "one", "Echo": "hello", "Id": "one"}
    [create] = requests_for(client, records_bucket, stack_id)
    assert create["RequestType"] == "Create"
    assert create["ResourceType"] == "Custom::Probe"
    assert create["ResponseURLHasSignature"]
    # CloudFormation passes property values as strings.
    assert create["ResourceProperties"]["Number"] == "5"
    assert "PhysicalResourceId" not in create

    # In-place update: same physical id, OldResourceProperties carry the previous values.
    cfn.update_stack(StackName=name, TemplateBody=template(cr_function, {"Id": "one", "Echo": "again", "Number": 5}))
    stack = wait_stack(cfn, name)
    assert stack["StackStatus"] == "UPDATE_COMPLETE"
    assert outputs(stack)["Echo"] == "again"
    update = [r for r in requests_for(client, records_bucket, stack_id) if r["RequestType"] == "Update"][0]
    assert update["PhysicalResourceId"] == "one"
    assert update["OldResourceProperties"]["Echo"] == "hello"
    assert update["ResourceProperties"]["Echo"] == "again"

    # Replacement: the function answers a new id; CloudFormation then deletes the old one with its old properties.
    cfn.update_stack(StackName=name, TemplateBody=template(cr_function, {"Id": "two", "Echo": "new"}))
    stack = wait_stack(cfn, name)
    assert stack["StackStatus"] == "UPDATE_COMPLETE"
    assert outputs(stack) == {"Ref": "two", "Echo": "new", "Id": "two"}
    deletes = [r for r in requests_for(client, records_bucket, stack_id) if r["RequestType"] == "Delete"]
    assert len(deletes) == 1
    assert deletes[0]["PhysicalResourceId"] == "one"
    assert deletes[0]["ResourceProperties"]["Echo"] == "again"
    assert cfn.describe_stack_resource(StackName=name, LogicalResourceId="Probe")["StackResourceDetail"]["PhysicalResourceId"] == "two"

    cfn.delete_stack(StackName=name)
    wait_stack(cfn, name)
    deletes = [r for r in requests_for(client, records_bucket, stack_id) if r["RequestType"] == "Delete"]
    assert sorted(d["PhysicalResourceId"] for d in deletes) == ["one", "two"]


def test_failed_response_fails_the_stack_with_the_reason_within_seconds(client, cr_function):
    cfn = client("cloudformation")
    name = unique("cr-fail")
    started = time.monotonic()
    cfn.create_stack(StackName=name, TemplateBody=template(cr_function, {"Fail": "setting name bogus is not valid"}))
    stack = wait_stack(cfn, name)
    elapsed = time.monotonic() - started
    assert stack["StackStatus"] in ("CREATE_FAILED", "ROLLBACK_COMPLETE", "ROLLBACK_FAILED")
    assert elapsed < 20, elapsed
    events = cfn.describe_stack_events(StackName=name)["StackEvents"]
    failed = [e for e in events if e["LogicalResourceId"] == "Probe" and e["ResourceStatus"] == "CREATE_FAILED"]
    assert failed and "setting name bogus is not valid" in failed[0]["ResourceStatusReason"]


def test_service_timeout_fails_a_silent_function(client, cr_function):
    cfn = client("cloudformation")
    name = unique("cr-silent")
    started = time.monotonic()
    cfn.create_stack(StackName=name, TemplateBody=template(cr_function, {"Silent": True}, service_timeout=2))
    stack = wait_stack(cfn, name)
    assert stack["StackStatus"] in ("CREATE_FAILED", "ROLLBACK_COMPLETE", "ROLLBACK_FAILED")
    assert 2 <= time.monotonic() - started < 20
    events = cfn.describe_stack_events(StackName=name)["StackEvents"]
    failed = [e for e in events if e["LogicalResourceId"] == "Probe" and e["ResourceStatus"] == "CREATE_FAILED"]
    assert "did not receive a response" in failed[0]["ResourceStatusReason"]


def test_a_stack_whose_create_failed_part_way_can_be_deleted(client, cr_function):
    """Regression: DeleteStack used to fail on the resources the failed create never reached."""
    cfn = client("cloudformation")
    iam = client("iam")
    name = unique("cr-fail-delete")
    role_name = unique("cr-fail-role")
    body = yaml.safe_dump({
        "Resources": {
            "Role": {"Type": "AWS::IAM::Role", "Properties": {
                "RoleName": role_name,
                "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [
                    {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]}}},
            "Probe": {"Type": "Custom::Probe", "DependsOn": "Role",
                      "Properties": {"ServiceToken": cr_function, "Fail": "no"}},
            # Never created: it waits for Probe, which fails.
            "Profile": {"Type": "AWS::IAM::InstanceProfile", "DependsOn": "Probe",
                        "Properties": {"Roles": [{"Ref": "Role"}]}},
        },
    })
    stack_id = cfn.create_stack(StackName=name, TemplateBody=body, Capabilities=["CAPABILITY_NAMED_IAM"])["StackId"]
    assert wait_stack(cfn, stack_id)["StackStatus"] in ("CREATE_FAILED", "ROLLBACK_COMPLETE")
    iam.get_role(RoleName=role_name)  # created before the failure (no rollback in LocalStack)

    cfn.delete_stack(StackName=stack_id)
    stack = wait_stack(cfn, stack_id)
    events = cfn.describe_stack_events(StackName=stack_id)["StackEvents"]
    assert stack["StackStatus"] == "DELETE_COMPLETE", [(e["LogicalResourceId"], e["ResourceStatus"], e.get("ResourceStatusReason")) for e in events]
    assert not [e for e in events if e["LogicalResourceId"] == "Profile"], "Profile was never created"
    with pytest.raises(iam.exceptions.NoSuchEntityException):
        iam.get_role(RoleName=role_name)


def test_a_resource_whose_create_failed_is_not_deleted_again(client):
    """Regression: DeleteStack ended DELETE_FAILED on an Auto Scaling group whose create had
    failed (there was no group to delete)."""
    cfn = client("cloudformation")
    name = unique("asg-fail-delete")
    body = yaml.safe_dump({
        "Resources": {
            "LaunchTemplate": {"Type": "AWS::EC2::LaunchTemplate", "Properties": {
                "LaunchTemplateData": {"ImageId": "ami-12c6146b", "InstanceType": "m5.large"}}},
            "Group": {"Type": "AWS::AutoScaling::AutoScalingGroup", "Properties": {
                "MinSize": "0", "MaxSize": "1",
                "VPCZoneIdentifier": ["subnet-0fedcba9876543210"],  # does not exist
                "LaunchTemplate": {"LaunchTemplateId": {"Ref": "LaunchTemplate"},
                                   "Version": {"Fn::GetAtt": ["LaunchTemplate", "LatestVersionNumber"]}}}},
        },
    })
    stack_id = cfn.create_stack(StackName=name, TemplateBody=body)["StackId"]
    assert wait_stack(cfn, stack_id)["StackStatus"] in ("CREATE_FAILED", "ROLLBACK_COMPLETE")
    failed = [e for e in cfn.describe_stack_events(StackName=stack_id)["StackEvents"]
              if e["LogicalResourceId"] == "Group" and e["ResourceStatus"] == "CREATE_FAILED"]
    assert failed, "the group's create was expected to fail"

    cfn.delete_stack(StackName=stack_id)
    stack = wait_stack(cfn, stack_id)
    events = cfn.describe_stack_events(StackName=stack_id)["StackEvents"]
    assert stack["StackStatus"] == "DELETE_COMPLETE", [
        (e["LogicalResourceId"], e["ResourceStatus"], e.get("ResourceStatusReason")) for e in events]
