"""A failed stack create rolls back as CloudFormation's does, through CreateStack and through a
CREATE change set (as `enitrunk deploy` creates stacks), and then the stack can only be deleted
(localstack/README.md, "CloudFormation as AWS documents it")."""

import json
import time

import pytest
import yaml

from conftest import events, requests_for, trust_policy, unique, wait_stack

CAPABILITIES = ["CAPABILITY_NAMED_IAM"]


def template(token, role_name, probe):
    """Role, then the custom resource Probe (which needs it), then Profile (which needs Probe)."""
    return yaml.safe_dump({
        "Resources": {
            "Role": {"Type": "AWS::IAM::Role", "Properties": {
                "RoleName": role_name,
                "AssumeRolePolicyDocument": json.loads(trust_policy({"Service": "ec2.amazonaws.com"}))}},
            "Probe": {"Type": "Custom::Probe", "Properties": {
                "ServiceToken": token, "RoleArn": {"Fn::GetAtt": ["Role", "Arn"]}, **probe}},
            "Profile": {"Type": "AWS::IAM::InstanceProfile", "DependsOn": "Probe",
                        "Properties": {"Roles": [{"Ref": "Role"}]}},
        },
    })


def wait_change_set(cfn, change_set, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = cfn.describe_change_set(ChangeSetName=change_set)["Status"]
        if status not in ("CREATE_PENDING", "CREATE_IN_PROGRESS"):
            assert status == "CREATE_COMPLETE", cfn.describe_change_set(ChangeSetName=change_set)
            return
        time.sleep(0.1)
    raise AssertionError(f"change set {change_set} still pending")


def create(cfn, name, body, via, rollback=True):
    """Creates stack `name` with CreateStack or a CREATE change set; returns its id."""
    if via == "CreateStack":
        extra = {} if rollback else {"OnFailure": "DO_NOTHING"}
        return cfn.create_stack(StackName=name, TemplateBody=body, Capabilities=CAPABILITIES, **extra)["StackId"]
    change_set = cfn.create_change_set(
        StackName=name, ChangeSetName=unique("create"), ChangeSetType="CREATE", TemplateBody=body, Capabilities=CAPABILITIES)
    wait_change_set(cfn, change_set["Id"])
    extra = {} if rollback else {"DisableRollback": True}
    cfn.execute_change_set(ChangeSetName=change_set["Id"], **extra)
    return change_set["StackId"]


VIA = ["CreateStack", "CreateChangeSet"]


@pytest.mark.parametrize("via", VIA)
def test_a_failed_create_deletes_what_it_created_and_ends_rollback_complete(client, cr_function, records_bucket, via):
    cfn, iam = client("cloudformation"), client("iam")
    role_name = unique("rb-role")
    body = template(cr_function, role_name, {"Id": "half-done", "Fail": "quota exceeded"})
    stack_id = create(cfn, unique("rollback"), body, via)
    stack = wait_stack(cfn, stack_id)

    failure = "The following resource(s) failed to create: [Probe]. Rollback requested by user."
    assert (stack["StackStatus"], stack.get("StackStatusReason")) == ("ROLLBACK_COMPLETE", failure)
    seen = events(cfn, stack_id)
    resources = [(lid, status) for lid, status, _ in seen if lid != stack["StackName"]]
    assert resources == [
        ("Role", "CREATE_IN_PROGRESS"), ("Role", "CREATE_COMPLETE"),
        ("Probe", "CREATE_IN_PROGRESS"), ("Probe", "CREATE_FAILED"),
        # Reverse dependency order: Probe needs Role. Profile was never started.
        ("Probe", "DELETE_IN_PROGRESS"), ("Probe", "DELETE_COMPLETE"),
        ("Role", "DELETE_IN_PROGRESS"), ("Role", "DELETE_COMPLETE"),
    ], seen
    statuses = [(status, reason) for lid, status, reason in seen if lid == stack["StackName"]]
    assert statuses[-2:] == [("ROLLBACK_IN_PROGRESS", failure), ("ROLLBACK_COMPLETE", None)], seen
    assert "CREATE_FAILED" not in [status for status, _ in statuses]
    with pytest.raises(iam.exceptions.NoSuchEntityException):
        iam.get_role(RoleName=role_name)

    # The function gets a Delete for the physical id its FAILED response gave, with the same
    # properties: its chance to undo what it did before it failed.
    create_request, delete_request = requests_for(client, records_bucket, stack_id)
    assert (create_request["RequestType"], delete_request["RequestType"]) == ("Create", "Delete")
    assert delete_request["PhysicalResourceId"] == "half-done"
    assert delete_request["ResourceProperties"] == create_request["ResourceProperties"]


@pytest.mark.parametrize("via", VIA)
def test_a_rolled_back_stack_can_only_be_deleted(client, cr_function, via):
    cfn = client("cloudformation")
    name = unique("rolled-back")
    body = template(cr_function, unique("rb-role"), {"Fail": "no"})
    stack_id = create(cfn, name, body, via)
    assert wait_stack(cfn, stack_id)["StackStatus"] == "ROLLBACK_COMPLETE"

    refusal = f"Stack:{stack_id} is in ROLLBACK_COMPLETE state and can not be updated."
    fixed = template(cr_function, unique("rb-role"), {})
    with pytest.raises(cfn.exceptions.ClientError) as e:
        cfn.update_stack(StackName=name, TemplateBody=fixed, Capabilities=CAPABILITIES)
    assert (e.value.response["Error"]["Code"], e.value.response["Error"]["Message"]) == ("ValidationError", refusal)
    with pytest.raises(cfn.exceptions.ClientError) as e:
        cfn.create_change_set(StackName=name, ChangeSetName=unique("fix"), TemplateBody=fixed, Capabilities=CAPABILITIES)
    assert (e.value.response["Error"]["Code"], e.value.response["Error"]["Message"]) == ("ValidationError", refusal)
    with pytest.raises(cfn.exceptions.AlreadyExistsException):
        cfn.create_stack(StackName=name, TemplateBody=fixed, Capabilities=CAPABILITIES)

    cfn.delete_stack(StackName=name)
    assert wait_stack(cfn, stack_id)["StackStatus"] == "DELETE_COMPLETE"
    assert [s for lid, s, _ in events(cfn, stack_id) if lid == name][-2:] == ["DELETE_IN_PROGRESS", "DELETE_COMPLETE"]
    # The name is free again.
    assert wait_stack(cfn, create(cfn, name, fixed, via))["StackStatus"] == "CREATE_COMPLETE"
    cfn.delete_stack(StackName=name)


@pytest.mark.parametrize("via", VIA)
def test_a_failed_create_without_rollback_keeps_what_it_created(client, cr_function, records_bucket, via):
    """OnFailure=DO_NOTHING (CreateStack), DisableRollback (ExecuteChangeSet); then DeleteStack
    (regression: it used to fail on the resources the failed create never reached)."""
    cfn, iam = client("cloudformation"), client("iam")
    role_name = unique("keep-role")
    stack_id = create(cfn, unique("no-rollback"), template(cr_function, role_name, {"Id": "kept", "Fail": "no"}), via, rollback=False)
    stack = wait_stack(cfn, stack_id)
    assert stack["StackStatus"] == "CREATE_FAILED", events(cfn, stack_id)
    assert stack["StackStatusReason"] == "The following resource(s) failed to create: [Probe]."
    iam.get_role(RoleName=role_name)
    assert [r["RequestType"] for r in requests_for(client, records_bucket, stack_id)] == ["Create"]

    # DeleteStack deletes what is there, and sends the custom resource its Delete.
    cfn.delete_stack(StackName=stack_id)
    assert wait_stack(cfn, stack_id)["StackStatus"] == "DELETE_COMPLETE", events(cfn, stack_id)
    with pytest.raises(iam.exceptions.NoSuchEntityException):
        iam.get_role(RoleName=role_name)
    assert [(r["RequestType"], r.get("PhysicalResourceId")) for r in requests_for(client, records_bucket, stack_id)] == [
        ("Create", None), ("Delete", "kept")]


def test_a_rollback_whose_delete_fails_ends_rollback_failed(client, cr_function):
    cfn = client("cloudformation")
    role_name = unique("rb-role")
    stack_id = create(cfn, unique("rollback-failed"), template(
        cr_function, role_name, {"Fail": "no", "FailDelete": "cannot undo"}), "CreateStack")
    stack = wait_stack(cfn, stack_id)
    assert (stack["StackStatus"], stack["StackStatusReason"]) == (
        "ROLLBACK_FAILED", "The following resource(s) failed to delete: [Probe]."), events(cfn, stack_id)
    [reason] = [r for lid, s, r in events(cfn, stack_id) if (lid, s) == ("Probe", "DELETE_FAILED")]
    assert "cannot undo" in reason
    # The rollback stops there: what Probe needs is kept, as Probe is.
    client("iam").get_role(RoleName=role_name)
    assert ("Role", "DELETE_IN_PROGRESS") not in [(lid, s) for lid, s, _ in events(cfn, stack_id)]


def test_a_resource_whose_create_failed_is_not_deleted_again(client):
    """Regression: DeleteStack ended DELETE_FAILED on an Auto Scaling group whose create had
    failed (there was no group to delete); the rollback must skip it the same way."""
    cfn, ec2 = client("cloudformation"), client("ec2")
    name = unique("asg-fail")
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
    assert wait_stack(cfn, stack_id)["StackStatus"] == "ROLLBACK_COMPLETE", events(cfn, stack_id)
    seen = [(lid, status) for lid, status, _ in events(cfn, stack_id)]
    assert ("Group", "CREATE_FAILED") in seen and ("Group", "DELETE_FAILED") not in seen
    [template_id] = [r["PhysicalResourceId"] for r in cfn.describe_stack_events(StackName=stack_id)["StackEvents"]
                     if (r["LogicalResourceId"], r["ResourceStatus"]) == ("LaunchTemplate", "DELETE_COMPLETE")]
    assert template_id not in [t["LaunchTemplateId"] for t in ec2.describe_launch_templates()["LaunchTemplates"]]

    cfn.delete_stack(StackName=stack_id)
    assert wait_stack(cfn, stack_id)["StackStatus"] == "DELETE_COMPLETE"
