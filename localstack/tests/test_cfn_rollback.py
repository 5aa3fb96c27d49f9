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


# ------------------------------------------------------------------------------------------------
# A failed update


def update(cfn, stack_id, body, via):
    if via == "UpdateStack":
        cfn.update_stack(StackName=stack_id, TemplateBody=body, Capabilities=CAPABILITIES)
        return
    change_set = cfn.create_change_set(
        StackName=stack_id, ChangeSetName=unique("update"), TemplateBody=body, Capabilities=CAPABILITIES)["Id"]
    wait_change_set(cfn, change_set)
    cfn.execute_change_set(ChangeSetName=change_set)


def updatable(token, probe, value, extra=None):
    """A parameter, then Probe (which needs it), and whatever else `extra` adds."""
    resources = {
        "Param": {"Type": "AWS::SSM::Parameter", "Properties": {"Type": "String", "Value": value}},
        "Probe": {"Type": "Custom::Probe", "Properties": {
            "ServiceToken": token, "Value": {"Fn::GetAtt": ["Param", "Value"]}, **probe}},
        **(extra or {}),
    }
    return yaml.safe_dump({
        "Resources": resources,
        "Outputs": {"Value": {"Value": {"Fn::GetAtt": ["Param", "Value"]}}, "Ref": {"Value": {"Ref": "Probe"}}},
    })


def since(cfn, stack_id, count):
    """The events after the first `count` ones."""
    return events(cfn, stack_id)[count:]


@pytest.mark.parametrize("via", ["UpdateStack", "CreateChangeSet"])
def test_a_failed_update_goes_back_to_the_previous_template(client, cr_function, records_bucket, via):
    cfn, ssm = client("cloudformation"), client("ssm")
    previous = updatable(cr_function, {"Id": "one", "Echo": "a"}, "v1")
    stack_id = create(cfn, unique("update-fails"), previous, "CreateStack")
    stack = wait_stack(cfn, stack_id)
    assert stack["StackStatus"] == "CREATE_COMPLETE", events(cfn, stack_id)
    before = len(events(cfn, stack_id))

    # Param changes, Added is created, then Probe's function fails its Update.
    added = {"Added": {"Type": "AWS::SSM::Parameter", "Properties": {"Type": "String", "Value": "new"}}}
    failing = yaml.safe_load(updatable(cr_function, {"Id": "one", "Echo": "b", "Fail": "no update today"}, "v2", added))
    failing["Resources"]["Probe"]["DependsOn"] = "Added"
    update(cfn, stack_id, yaml.safe_dump(failing), via)
    stack = wait_stack(cfn, stack_id)

    assert (stack["StackStatus"], stack.get("StackStatusReason")) == (
        "UPDATE_ROLLBACK_COMPLETE", "The following resource(s) failed to update: [Probe]."), since(cfn, stack_id, before)
    name = stack["StackName"]
    assert [(lid, s) for lid, s, _ in since(cfn, stack_id, before)] == [
        (name, "UPDATE_IN_PROGRESS"),
        ("Added", "CREATE_IN_PROGRESS"), ("Added", "CREATE_COMPLETE"),
        ("Param", "UPDATE_IN_PROGRESS"), ("Param", "UPDATE_COMPLETE"),
        ("Probe", "UPDATE_IN_PROGRESS"), ("Probe", "UPDATE_FAILED"),
        (name, "UPDATE_ROLLBACK_IN_PROGRESS"),
        # What was updated goes back, in the order it was updated, the failed one too.
        ("Param", "UPDATE_IN_PROGRESS"), ("Param", "UPDATE_COMPLETE"),
        ("Probe", "UPDATE_IN_PROGRESS"), ("Probe", "UPDATE_COMPLETE"),
        (name, "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS"),
        # What was created goes.
        ("Added", "DELETE_IN_PROGRESS"), ("Added", "DELETE_COMPLETE"),
        (name, "UPDATE_ROLLBACK_COMPLETE"),
    ], since(cfn, stack_id, before)

    # The function got the rollback as an Update back to the previous properties.
    rollback = requests_for(client, records_bucket, stack_id)[-1]
    assert (rollback["RequestType"], rollback["PhysicalResourceId"]) == ("Update", "one")
    assert (rollback["ResourceProperties"]["Echo"], rollback["OldResourceProperties"]["Echo"]) == ("a", "b")
    assert "Fail" not in rollback["ResourceProperties"]

    # The stack is back to what it was: resources, outputs, template; and it can be updated.
    param = {r["LogicalResourceId"]: r["PhysicalResourceId"] for r in cfn.list_stack_resources(StackName=stack_id)["StackResourceSummaries"]}
    assert sorted(param) == ["Param", "Probe"]
    assert ssm.get_parameter(Name=param["Param"])["Parameter"]["Value"] == "v1"
    assert {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]} == {"Value": "v1", "Ref": "one"}
    assert "Added" not in cfn.get_template(StackName=stack_id)["TemplateBody"]
    update(cfn, stack_id, updatable(cr_function, {"Id": "one", "Echo": "b"}, "v2"), via)
    stack = wait_stack(cfn, stack_id)
    assert stack["StackStatus"] == "UPDATE_COMPLETE", since(cfn, stack_id, before)
    assert ssm.get_parameter(Name=param["Param"])["Parameter"]["Value"] == "v2"
    cfn.delete_stack(StackName=stack_id)
    assert wait_stack(cfn, stack_id)["StackStatus"] == "DELETE_COMPLETE"


def test_a_failed_update_after_a_replacement_deletes_the_new_physical_id(client, cr_function, records_bucket):
    """The function answered Probe's Update with a new id; then another resource failed. The
    old id is kept (its Delete waits for success), the rollback's Update goes to the new id and
    the function goes back to the old one, so the new one gets the Delete."""
    cfn = client("cloudformation")
    stack_id = create(cfn, unique("replace-fails"), updatable(cr_function, {"Id": "one"}, "v1"), "CreateStack")
    assert wait_stack(cfn, stack_id)["StackStatus"] == "CREATE_COMPLETE"

    breaker = {"Breaker": {"Type": "Custom::Probe", "DependsOn": "Probe", "Properties": {
        "ServiceToken": cr_function, "Id": "breaker", "Fail": "no"}}}
    update(cfn, stack_id, updatable(cr_function, {"Id": "two"}, "v1", breaker), "CreateChangeSet")
    stack = wait_stack(cfn, stack_id)
    assert (stack["StackStatus"], stack["StackStatusReason"]) == (
        "UPDATE_ROLLBACK_COMPLETE", "The following resource(s) failed to create: [Breaker]."), events(cfn, stack_id)
    assert {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}["Ref"] == "one"

    probe = [(r["RequestType"], r.get("PhysicalResourceId"), r["ResourceProperties"]["Id"])
             for r in requests_for(client, records_bucket, stack_id)]
    assert probe == [
        ("Create", None, "one"),
        ("Update", "one", "two"),  # answered "two": a replacement
        ("Update", "two", "one"),  # the rollback; answered "one"
        ("Delete", "two", "two"),  # the cleanup
    ]
    breaker = [(r["RequestType"], r.get("PhysicalResourceId")) for r in requests_for(client, records_bucket, stack_id, "Breaker")]
    assert breaker == [("Create", None), ("Delete", "breaker")]
    assert cfn.describe_stack_resource(StackName=stack_id, LogicalResourceId="Probe")["StackResourceDetail"]["PhysicalResourceId"] == "one"
