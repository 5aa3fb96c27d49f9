"""StackSets as the CloudFormation API reference describes them, end to end: operations that run
in the background, per-Region concurrency and failure tolerance, each instance deployed in its
own account and Region through the administration and execution roles (self-managed
permissions). Every test uses fresh account ids, so nothing is shared between tests.
"""

import json
import random
import time

import boto3
import pytest
from botocore.exceptions import ClientError
from conftest import FUNCTIONS, bootstrap_zip, create_function, requests_for, trust_policy

ADMIN_ROLE = "AWSCloudFormationStackSetAdministrationRole"
EXECUTION_ROLE = "AWSCloudFormationStackSetExecutionRole"
REGIONS = ["us-east-1", "eu-west-1"]
# The stack's parameter holds the account it was created in: it proves where the stack ran.
TEMPLATE = """
Parameters:
  Value:
    Type: String
    Default: first
Resources:
  Probe:
    Type: AWS::SSM::Parameter
    Properties:
      Name: !Sub /stackset-probe/${AWS::StackName}
      Type: String
      Value: !Sub "${AWS::AccountId}/${AWS::Region}/${Value}"
Outputs:
  Name:
    Value: !Ref Probe
"""
TRUST_MISSING = "Account {} should have 'AWSCloudFormationStackSetExecutionRole' role with trust relationship to Role 'AWSCloudFormationStackSetAdministrationRole'."


def new_account():
    return str(random.randint(10**11, 10**12 - 1))


@pytest.fixture
def aws(endpoint):
    """A client in `account` (as its root user) and `region`."""

    def make(service, account, region="us-east-1"):
        return boto3.client(service, endpoint_url=endpoint, region_name=region,
                            aws_access_key_id=account, aws_secret_access_key="test")

    return make


def policy(statement):
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


@pytest.fixture
def org(aws):
    """An administrator account with the administration role, and a factory of target accounts
    with (or without) the execution role, as the user guide's self-managed templates make them."""
    admin = new_account()
    iam = aws("iam", admin)
    iam.create_role(RoleName=ADMIN_ROLE, AssumeRolePolicyDocument=policy(
        {"Effect": "Allow", "Principal": {"Service": "cloudformation.amazonaws.com"}, "Action": "sts:AssumeRole"}))
    iam.put_role_policy(RoleName=ADMIN_ROLE, PolicyName="AssumeRole-AWSCloudFormationStackSetExecutionRole",
                        PolicyDocument=policy({"Effect": "Allow", "Action": "sts:AssumeRole",
                                               "Resource": f"arn:aws:iam::*:role/{EXECUTION_ROLE}"}))

    def target(with_role=True):
        account = new_account()
        if with_role:
            aws("iam", account).create_role(RoleName=EXECUTION_ROLE, AssumeRolePolicyDocument=policy(
                {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{admin}:root"}, "Action": "sts:AssumeRole"}))
        return account

    class Org:
        pass

    o = Org()
    o.admin, o.target, o.cfn = admin, target, aws("cloudformation", admin)
    return o


def stack_set(cfn, template=TEMPLATE, **extra):
    name = f"ss-{random.randint(0, 10**8)}"
    cfn.create_stack_set(StackSetName=name, TemplateBody=template, **extra)
    return name


def wait_operation(cfn, name, operation_id, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        op = cfn.describe_stack_set_operation(StackSetName=name, OperationId=operation_id)["StackSetOperation"]
        if op["Status"] not in ("RUNNING", "STOPPING", "QUEUED"):
            return op
        time.sleep(0.1)
    raise AssertionError(f"operation {operation_id} still running after {timeout}s")


def instances(cfn, name):
    return {(i["Account"], i["Region"]): i for i in cfn.list_stack_instances(StackSetName=name)["Summaries"]}


def results(cfn, name, operation_id):
    found = cfn.list_stack_set_operation_results(StackSetName=name, OperationId=operation_id)["Summaries"]
    return {(r["Account"], r["Region"]): r for r in found}


def stack_status(aws, account, region, stack_id):
    try:
        return aws("cloudformation", account, region).describe_stacks(StackName=stack_id)["Stacks"][0]["StackStatus"]
    except ClientError as e:
        assert "does not exist" in str(e)
        return "DELETE_COMPLETE"


def test_instances_are_deployed_in_each_account_and_region_while_the_operation_runs(org, aws):
    a, b = org.target(), org.target()
    name = stack_set(org.cfn)
    preferences = {"RegionConcurrencyType": "PARALLEL", "MaxConcurrentCount": 2, "FailureToleranceCount": 1}
    started = time.monotonic()
    op_id = org.cfn.create_stack_instances(StackSetName=name, Accounts=[a, b], Regions=REGIONS,
                                           OperationPreferences=preferences)["OperationId"]
    answered = time.monotonic() - started
    op = org.cfn.describe_stack_set_operation(StackSetName=name, OperationId=op_id)["StackSetOperation"]
    assert op["Status"] == "RUNNING" and "EndTimestamp" not in op
    assert answered < 1.0, f"CreateStackInstances took {answered:.1f}s: it must answer before deploying"

    op = wait_operation(org.cfn, name, op_id)
    assert op["Status"] == "SUCCEEDED"
    assert op["Action"] == "CREATE"
    assert op["OperationPreferences"] == preferences
    assert op["EndTimestamp"] >= op["CreationTimestamp"]
    assert op["AdministrationRoleARN"] == f"arn:aws:iam::{org.admin}:role/{ADMIN_ROLE}"
    assert op["ExecutionRoleName"] == EXECUTION_ROLE
    assert {k: r["Status"] for k, r in results(org.cfn, name, op_id).items()} == {
        (acct, region): "SUCCEEDED" for acct in (a, b) for region in REGIONS}

    found = instances(org.cfn, name)
    assert set(found) == {(acct, region) for acct in (a, b) for region in REGIONS}
    for (account, region), instance in found.items():
        assert instance["Status"] == "CURRENT"
        assert instance["StackInstanceStatus"]["DetailedStatus"] == "SUCCEEDED"
        assert instance["LastOperationId"] == op_id
        assert f":{region}:{account}:stack/StackSet-{name}-" in instance["StackId"]
        # Read as the target account, in its Region: the stack is there, and it ran as that account.
        stack = aws("cloudformation", account, region).describe_stacks(StackName=instance["StackId"])["Stacks"][0]
        assert stack["StackStatus"] == "CREATE_COMPLETE"
        parameter = aws("ssm", account, region).get_parameter(Name=stack["Outputs"][0]["OutputValue"])["Parameter"]
        assert parameter["Value"] == f"{account}/{region}/first"
    described = org.cfn.describe_stack_instance(StackSetName=name, StackInstanceAccount=a,
                                                StackInstanceRegion="eu-west-1")["StackInstance"]
    assert described["StackId"] == found[(a, "eu-west-1")]["StackId"]
    assert org.cfn.describe_stack_set(StackSetName=name)["StackSet"]["Regions"] == sorted(REGIONS)


def test_a_custom_resource_runs_in_the_target_account(org, aws):
    target = org.target()
    in_target = lambda service, credentials=None: aws(service, target)  # noqa: E731
    bucket = f"stackset-records-{target}"
    aws("s3", target).create_bucket(Bucket=bucket)
    role = aws("iam", target).create_role(RoleName=f"cr-fn-{random.randint(0, 10**8)}",
                                          AssumeRolePolicyDocument=trust_policy({"Service": "lambda.amazonaws.com"}))
    function = create_function(in_target, role["Role"]["Arn"], bootstrap_zip(FUNCTIONS / "cr_bootstrap.py"),
                               env={"RECORD_BUCKET": bucket})
    arn = aws("lambda", target).get_function(FunctionName=function)["Configuration"]["FunctionArn"]
    template = """
Parameters:
  Token:
    Type: String
Resources:
  Probe:
    Type: Custom::Probe
    Properties:
      ServiceToken: !Ref Token
      Id: probe
"""
    name = stack_set(org.cfn, template=template, Parameters=[{"ParameterKey": "Token", "ParameterValue": arn}])
    op_id = org.cfn.create_stack_instances(StackSetName=name, Accounts=[target], Regions=["us-east-1"])["OperationId"]
    assert wait_operation(org.cfn, name, op_id)["Status"] == "SUCCEEDED"
    stack_id = instances(org.cfn, name)[(target, "us-east-1")]["StackId"]
    # The target account's function got the Create of the target account's stack, and recorded
    # it in the target account's bucket with its own role's credentials.
    [create] = requests_for(in_target, bucket, stack_id)
    assert create["RequestType"] == "Create" and create["_put"]["Status"] == 200
    assert stack_id.split(":")[4] == target


def test_an_account_without_the_execution_role_fails_within_the_tolerance(org, aws):
    good, bad, other = org.target(), org.target(with_role=False), org.target()
    name = stack_set(org.cfn)
    op_id = org.cfn.create_stack_instances(StackSetName=name, Accounts=[good, bad, other], Regions=["us-east-1"],
                                           OperationPreferences={"FailureToleranceCount": 1,
                                                                 "MaxConcurrentCount": 2})["OperationId"]
    op = wait_operation(org.cfn, name, op_id)
    assert op["Status"] == "SUCCEEDED"
    assert op["StatusDetails"]["FailedStackInstancesCount"] == 1
    found = results(org.cfn, name, op_id)
    assert found[(bad, "us-east-1")] == {"Account": bad, "Region": "us-east-1", "Status": "FAILED",
                                         "StatusReason": TRUST_MISSING.format(bad)}
    assert found[(good, "us-east-1")]["Status"] == found[(other, "us-east-1")]["Status"] == "SUCCEEDED"
    failed = instances(org.cfn, name)[(bad, "us-east-1")]
    assert failed["Status"] == "OUTDATED"
    assert failed["StackInstanceStatus"]["DetailedStatus"] == "FAILED"
    assert failed["StatusReason"] == TRUST_MISSING.format(bad)
    assert "StackId" not in failed


def test_exceeding_the_failure_tolerance_cancels_the_rest_and_fails_the_operation(org, aws):
    bad, later = org.target(with_role=False), org.target()
    name = stack_set(org.cfn)
    # Sequential Regions, one account at a time (the defaults), no failure tolerated: the first
    # failure stops us-east-1, and eu-west-1 is never attempted.
    op_id = org.cfn.create_stack_instances(StackSetName=name, Accounts=[bad, later], Regions=REGIONS)["OperationId"]
    op = wait_operation(org.cfn, name, op_id)
    assert op["Status"] == "FAILED"
    assert "us-east-1" in op["StatusReason"]
    found = results(org.cfn, name, op_id)
    assert found[(bad, "us-east-1")]["Status"] == "FAILED"
    cancelled = [(later, "us-east-1"), (bad, "eu-west-1"), (later, "eu-west-1")]
    for key in cancelled:
        assert found[key]["Status"] == "CANCELLED"
        assert found[key]["StatusReason"] == "Cancelled since failure tolerance has exceeded"
        instance = instances(org.cfn, name)[key]
        assert instance["StackInstanceStatus"]["DetailedStatus"] == "CANCELLED"
        assert instance["Status"] == "OUTDATED" and "StackId" not in instance
    assert aws("cloudformation", later).describe_stacks()["Stacks"] == []


def test_soft_failure_tolerance_keeps_the_concurrency_after_a_failure(org):
    bad = org.target(with_role=False)
    goods = [org.target() for _ in range(3)]
    name = stack_set(org.cfn)
    op_id = org.cfn.create_stack_instances(
        StackSetName=name, Accounts=[bad, *goods], Regions=["us-east-1"],
        OperationPreferences={"MaxConcurrentCount": 2, "FailureToleranceCount": 0,
                              "ConcurrencyMode": "SOFT_FAILURE_TOLERANCE"})["OperationId"]
    op = wait_operation(org.cfn, name, op_id)
    # Two started together (the failing one and the first good one); the failure then stops the
    # Region: what had not started is cancelled.
    statuses = {k[0]: r["Status"] for k, r in results(org.cfn, name, op_id).items()}
    assert op["Status"] == "FAILED"
    assert statuses == {bad: "FAILED", goods[0]: "SUCCEEDED", goods[1]: "CANCELLED", goods[2]: "CANCELLED"}


def stack_intervals(aws, found):
    """(start, end) of each instance's stack, from the stack's own events in its account."""
    out = []
    for (account, region), instance in found.items():
        events = aws("cloudformation", account, region).describe_stack_events(StackName=instance["StackId"])["StackEvents"]
        own = [e for e in events if e["LogicalResourceId"] == e["StackName"]]
        start = min(e["Timestamp"] for e in own)
        end = max(e["Timestamp"] for e in own if e["ResourceStatus"] == "CREATE_COMPLETE")
        out.append((start, end))
    return out


def most_at_once(intervals):
    points = sorted([(s, 1) for s, _ in intervals] + [(e, -1) for _, e in intervals], key=lambda p: (p[0], p[1]))
    level = peak = 0
    for _, step in points:
        level += step
        peak = max(peak, level)
    return peak


@pytest.mark.parametrize(
    "preferences,limit",
    [
        ({"MaxConcurrentCount": 2, "FailureToleranceCount": 3}, 2),
        # STRICT_FAILURE_TOLERANCE (the default): "the lower of either the value of the
        # MaxConcurrentCount, or the value of FailureToleranceCount +1".
        ({"MaxConcurrentCount": 4}, 1),
        ({"MaxConcurrentPercentage": 50, "ConcurrencyMode": "SOFT_FAILURE_TOLERANCE"}, 2),
    ],
    ids=["count", "strict-tolerance-caps-it", "percentage"],
)
def test_max_concurrent_accounts_bound_the_stacks_in_progress(org, aws, preferences, limit):
    accounts = [org.target() for _ in range(4)]
    name = stack_set(org.cfn)
    op_id = org.cfn.create_stack_instances(StackSetName=name, Accounts=accounts, Regions=["us-east-1"],
                                           OperationPreferences=preferences)["OperationId"]
    peak_running = 0
    while True:
        listed = org.cfn.list_stack_instances(StackSetName=name)["Summaries"]
        peak_running = max(peak_running, sum(i["StackInstanceStatus"]["DetailedStatus"] == "RUNNING" for i in listed))
        op = org.cfn.describe_stack_set_operation(StackSetName=name, OperationId=op_id)["StackSetOperation"]
        if op["Status"] != "RUNNING":
            break
        time.sleep(0.05)
    assert op["Status"] == "SUCCEEDED"
    assert peak_running == limit
    assert most_at_once(stack_intervals(aws, instances(org.cfn, name))) <= limit


def test_delete_stack_instances_then_the_stack_set_leave_no_stacks(org, aws):
    a, b = org.target(), org.target()
    name = stack_set(org.cfn)
    op_id = org.cfn.create_stack_instances(StackSetName=name, Accounts=[a, b], Regions=REGIONS,
                                           OperationPreferences={"RegionConcurrencyType": "PARALLEL"})["OperationId"]
    assert wait_operation(org.cfn, name, op_id)["Status"] == "SUCCEEDED"
    stacks = {k: i["StackId"] for k, i in instances(org.cfn, name).items()}

    with pytest.raises(ClientError) as e:
        org.cfn.delete_stack_set(StackSetName=name)
    assert e.value.response["Error"]["Code"] == "StackSetNotEmptyException"

    op_id = org.cfn.delete_stack_instances(StackSetName=name, Accounts=[a, b], Regions=REGIONS, RetainStacks=False,
                                           OperationPreferences={"RegionConcurrencyType": "PARALLEL",
                                                                 "MaxConcurrentCount": 2})["OperationId"]
    op = wait_operation(org.cfn, name, op_id)
    assert op["Status"] == "SUCCEEDED" and op["Action"] == "DELETE" and op["RetainStacks"] is False
    assert instances(org.cfn, name) == {}
    for (account, region), stack_id in stacks.items():
        assert stack_status(aws, account, region, stack_id) == "DELETE_COMPLETE"

    org.cfn.delete_stack_set(StackSetName=name)
    with pytest.raises(ClientError) as e:
        org.cfn.describe_stack_set(StackSetName=name)
    assert e.value.response["Error"]["Code"] == "StackSetNotFoundException"


def test_retain_stacks_removes_the_instance_and_keeps_its_stack(org, aws):
    a = org.target()
    name = stack_set(org.cfn)
    assert wait_operation(org.cfn, name, org.cfn.create_stack_instances(
        StackSetName=name, Accounts=[a], Regions=["us-east-1"])["OperationId"])["Status"] == "SUCCEEDED"
    stack_id = instances(org.cfn, name)[(a, "us-east-1")]["StackId"]
    op_id = org.cfn.delete_stack_instances(StackSetName=name, Accounts=[a], Regions=["us-east-1"],
                                           RetainStacks=True)["OperationId"]
    assert wait_operation(org.cfn, name, op_id)["Status"] == "SUCCEEDED"
    assert instances(org.cfn, name) == {}
    assert stack_status(aws, a, "us-east-1", stack_id) == "CREATE_COMPLETE"


def test_another_operation_while_one_runs_is_refused(org):
    a, b = org.target(), org.target()
    name = stack_set(org.cfn)
    op_id = org.cfn.create_stack_instances(StackSetName=name, Accounts=[a, b], Regions=["us-east-1"])["OperationId"]
    arn = org.cfn.describe_stack_set(StackSetName=name)["StackSet"]["StackSetARN"]
    for call in (
        lambda: org.cfn.update_stack_set(StackSetName=name, UsePreviousTemplate=True),
        lambda: org.cfn.create_stack_instances(StackSetName=name, Accounts=[a], Regions=["eu-west-1"]),
        lambda: org.cfn.delete_stack_set(StackSetName=name),
    ):
        with pytest.raises(ClientError) as e:
            call()
        assert e.value.response["Error"]["Code"] == "OperationInProgressException"
        assert e.value.response["Error"]["Message"] == f"Another Operation on StackSet {arn} is in progress: {op_id}"
    assert wait_operation(org.cfn, name, op_id)["Status"] == "SUCCEEDED"
    # Nothing of the refused calls happened.
    assert set(instances(org.cfn, name)) == {(a, "us-east-1"), (b, "us-east-1")}
    summaries = org.cfn.list_stack_set_operations(StackSetName=name)["Summaries"]
    assert [s["OperationId"] for s in summaries] == [op_id]


def test_managed_execution_queues_operations_in_request_order(org, aws):
    a = org.target()
    name = stack_set(org.cfn, ManagedExecution={"Active": True})
    first = org.cfn.create_stack_instances(StackSetName=name, Accounts=[a], Regions=["us-east-1"])["OperationId"]
    second = org.cfn.update_stack_set(StackSetName=name, UsePreviousTemplate=True,
                                      Parameters=[{"ParameterKey": "Value", "ParameterValue": "second"}])["OperationId"]
    assert org.cfn.describe_stack_set_operation(StackSetName=name, OperationId=second)["StackSetOperation"]["Status"] == "QUEUED"
    assert wait_operation(org.cfn, name, second)["Status"] == "SUCCEEDED"
    ops = {o["OperationId"]: o for o in org.cfn.list_stack_set_operations(StackSetName=name)["Summaries"]}
    assert ops[first]["Status"] == "SUCCEEDED"
    assert ops[first]["EndTimestamp"] <= ops[second]["EndTimestamp"]
    instance = instances(org.cfn, name)[(a, "us-east-1")]
    assert instance["LastOperationId"] == second and instance["Status"] == "CURRENT"
    stack = aws("cloudformation", a).describe_stacks(StackName=instance["StackId"])["Stacks"][0]
    assert aws("ssm", a).get_parameter(Name=stack["Outputs"][0]["OutputValue"])["Parameter"]["Value"] == f"{a}/us-east-1/second"


def test_update_stack_set_and_instance_overrides_reach_the_stacks(org, aws):
    a, b = org.target(), org.target()
    name = stack_set(org.cfn)
    assert wait_operation(org.cfn, name, org.cfn.create_stack_instances(
        StackSetName=name, Accounts=[a, b], Regions=["us-east-1"],
        OperationPreferences={"MaxConcurrentCount": 2, "FailureToleranceCount": 1})["OperationId"])["Status"] == "SUCCEEDED"

    def value(account):
        stack_id = instances(org.cfn, name)[(account, "us-east-1")]["StackId"]
        stack = aws("cloudformation", account).describe_stacks(StackName=stack_id)["Stacks"][0]
        return aws("ssm", account).get_parameter(Name=stack["Outputs"][0]["OutputValue"])["Parameter"]["Value"]

    op_id = org.cfn.update_stack_set(StackSetName=name, UsePreviousTemplate=True,
                                     Parameters=[{"ParameterKey": "Value", "ParameterValue": "updated"}])["OperationId"]
    op = wait_operation(org.cfn, name, op_id)
    assert op["Status"] == "SUCCEEDED" and op["Action"] == "UPDATE"
    assert value(a) == f"{a}/us-east-1/updated" and value(b) == f"{b}/us-east-1/updated"

    op_id = org.cfn.update_stack_instances(StackSetName=name, Accounts=[b], Regions=["us-east-1"],
                                           ParameterOverrides=[{"ParameterKey": "Value", "ParameterValue": "own"}])["OperationId"]
    assert wait_operation(org.cfn, name, op_id)["Status"] == "SUCCEEDED"
    assert value(a) == f"{a}/us-east-1/updated" and value(b) == f"{b}/us-east-1/own"
    described = org.cfn.describe_stack_instance(StackSetName=name, StackInstanceAccount=b,
                                                StackInstanceRegion="us-east-1")["StackInstance"]
    assert described["ParameterOverrides"] == [{"ParameterKey": "Value", "ParameterValue": "own"}]
    with pytest.raises(ClientError) as e:
        org.cfn.update_stack_instances(StackSetName=name, Accounts=[a], Regions=["eu-west-1"],
                                       ParameterOverrides=[])
    assert e.value.response["Error"]["Code"] == "StackInstanceNotFoundException"


def test_a_stack_that_fails_in_its_account_fails_the_instance_with_the_stacks_reason(org, aws):
    clean, taken = org.target(), org.target()
    template = TEMPLATE.replace("!Sub /stackset-probe/${AWS::StackName}", "/stackset-probe/fixed")
    aws("ssm", taken).put_parameter(Name="/stackset-probe/fixed", Value="already here", Type="String")
    name = stack_set(org.cfn, template=template)
    op_id = org.cfn.create_stack_instances(StackSetName=name, Accounts=[clean, taken], Regions=["us-east-1"],
                                           OperationPreferences={"FailureToleranceCount": 1})["OperationId"]
    assert wait_operation(org.cfn, name, op_id)["Status"] == "SUCCEEDED"
    failed = instances(org.cfn, name)[(taken, "us-east-1")]
    assert failed["Status"] == "OUTDATED" and failed["StackInstanceStatus"]["DetailedStatus"] == "FAILED"
    assert failed["StatusReason"].startswith("ResourceLogicalId:Probe, ResourceType:AWS::SSM::Parameter, ResourceStatusReason:")
    assert "already exists" in failed["StatusReason"]
    # The failed stack was rolled back and deleted; the account's own parameter is untouched.
    assert stack_status(aws, taken, "us-east-1", failed["StackId"]) == "DELETE_COMPLETE"
    assert aws("ssm", taken).get_parameter(Name="/stackset-probe/fixed")["Parameter"]["Value"] == "already here"
    assert instances(org.cfn, name)[(clean, "us-east-1")]["Status"] == "CURRENT"


def test_without_an_assumable_administration_role_every_instance_fails(aws):
    admin, target = new_account(), new_account()
    # The role exists but trusts the account rather than CloudFormation.
    aws("iam", admin).create_role(RoleName="not-for-cloudformation", AssumeRolePolicyDocument=policy(
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{admin}:root"}, "Action": "sts:AssumeRole"}))
    cfn = aws("cloudformation", admin)
    for role_arn in (f"arn:aws:iam::{admin}:role/not-for-cloudformation", None):
        extra = {"AdministrationRoleARN": role_arn} if role_arn else {}
        name = stack_set(cfn, **extra)
        op_id = cfn.create_stack_instances(StackSetName=name, Accounts=[target], Regions=["us-east-1"])["OperationId"]
        assert wait_operation(cfn, name, op_id)["Status"] == "FAILED"
        reason = results(cfn, name, op_id)[(target, "us-east-1")]["StatusReason"]
        expected_arn = role_arn or f"arn:aws:iam::{admin}:role/{ADMIN_ROLE}"
        assert reason.startswith(f"CloudFormation could not assume the administration role {expected_arn}")


def test_stop_cancels_what_has_not_started_and_lets_the_running_finish(org, aws):
    accounts = [org.target() for _ in range(3)]
    name = stack_set(org.cfn)
    op_id = org.cfn.create_stack_instances(StackSetName=name, Accounts=accounts, Regions=["us-east-1"])["OperationId"]
    deadline = time.monotonic() + 10
    while not any(i["StackInstanceStatus"]["DetailedStatus"] == "RUNNING" for i in instances(org.cfn, name).values()):
        assert time.monotonic() < deadline, "the first instance never started"
        time.sleep(0.02)
    org.cfn.stop_stack_set_operation(StackSetName=name, OperationId=op_id)
    assert org.cfn.describe_stack_set_operation(StackSetName=name, OperationId=op_id)["StackSetOperation"]["Status"] == "STOPPING"
    op = wait_operation(org.cfn, name, op_id)
    assert op["Status"] == "STOPPED"
    statuses = [results(org.cfn, name, op_id)[(a, "us-east-1")]["Status"] for a in accounts]
    assert statuses == ["SUCCEEDED", "CANCELLED", "CANCELLED"]
    with pytest.raises(ClientError) as e:
        org.cfn.stop_stack_set_operation(StackSetName=name, OperationId=op_id)
    assert e.value.response["Error"]["Code"] == "InvalidOperationException"
    with pytest.raises(ClientError) as e:
        org.cfn.describe_stack_set_operation(StackSetName=name, OperationId="no-such-operation")
    assert e.value.response["Error"]["Code"] == "OperationNotFoundException"


def test_preferences_the_api_refuses(org):
    name = stack_set(org.cfn)
    with pytest.raises(ClientError) as e:
        org.cfn.create_stack_instances(StackSetName=name, Accounts=[org.target()], Regions=["us-east-1"],
                                       OperationPreferences={"MaxConcurrentCount": 1, "MaxConcurrentPercentage": 50})
    assert e.value.response["Error"]["Code"] == "ValidationError"
    assert org.cfn.list_stack_set_operations(StackSetName=name)["Summaries"] == []


STACKSETS_PRINCIPAL = "member.org.stacksets.cloudformation.amazonaws.com"


@pytest.fixture
def organization(aws):
    """An organization (moto's) with an OU `apps` and its child OU `team`, and two member accounts at the root."""
    management = new_account()
    orgs = aws("organizations", management)
    orgs.create_organization(FeatureSet="ALL")
    root = orgs.list_roots()["Roots"][0]["Id"]
    apps = orgs.create_organizational_unit(ParentId=root, Name="apps")["OrganizationalUnit"]["Id"]
    team = orgs.create_organizational_unit(ParentId=apps, Name="team")["OrganizationalUnit"]["Id"]
    members = [orgs.create_account(Email=f"m{i}@example.com", AccountName=f"m{i}")["CreateAccountStatus"]["AccountId"]
               for i in range(2)]

    class Org:
        pass

    o = Org()
    o.management, o.orgs, o.root, o.apps, o.team, o.members = management, orgs, root, apps, team, members
    o.cfn = aws("cloudformation", management)
    o.move = lambda account, source, destination: orgs.move_account(
        AccountId=account, SourceParentId=source, DestinationParentId=destination)
    return o


def wait_idle(cfn, name, timeout=60):
    """Once no operation of the stack set is running or queued."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ops = cfn.list_stack_set_operations(StackSetName=name)["Summaries"]
        if all(o["Status"] not in ("RUNNING", "STOPPING", "QUEUED") for o in ops):
            return ops
        time.sleep(0.1)
    raise AssertionError(f"stack set {name} still busy after {timeout}s")


@pytest.mark.parametrize("retain", [False, True], ids=["delete-on-removal", "retain-on-removal"])
def test_service_managed_instances_follow_accounts_moved_between_ous(organization, aws, retain):
    o = organization
    a, b = o.members
    service_managed = {"PermissionModel": "SERVICE_MANAGED",
                       "AutoDeployment": {"Enabled": True, "RetainStacksOnAccountRemoval": retain}}
    with pytest.raises(ClientError) as e:
        stack_set(o.cfn, **service_managed)
    assert e.value.response["Error"]["Message"] == "You must enable organizations access to operate a service managed stack set"
    o.cfn.activate_organizations_access()
    assert o.cfn.describe_organizations_access()["Status"] == "ENABLED"

    o.move(a, o.root, o.team)
    name = stack_set(o.cfn, **service_managed)
    op_id = o.cfn.create_stack_instances(StackSetName=name, DeploymentTargets={"OrganizationalUnitIds": [o.apps]},
                                         Regions=["us-east-1"])["OperationId"]
    assert wait_operation(o.cfn, name, op_id)["Status"] == "SUCCEEDED"
    # Only the account under the OU (through its child OU); not the one at the root, nor the
    # management account.
    found = instances(o.cfn, name)
    assert set(found) == {(a, "us-east-1")}
    assert found[(a, "us-east-1")]["OrganizationalUnitId"] == o.apps
    assert stack_status(aws, a, "us-east-1", found[(a, "us-east-1")]["StackId"]) == "CREATE_COMPLETE"

    o.move(b, o.root, o.apps)
    wait_idle(o.cfn, name)
    found = instances(o.cfn, name)
    assert set(found) == {(a, "us-east-1"), (b, "us-east-1")}
    moved_in = found[(b, "us-east-1")]
    assert moved_in["Status"] == "CURRENT"
    assert stack_status(aws, b, "us-east-1", moved_in["StackId"]) == "CREATE_COMPLETE"

    stack_of_a = found[(a, "us-east-1")]["StackId"]
    o.move(a, o.team, o.root)
    wait_idle(o.cfn, name)
    assert set(instances(o.cfn, name)) == {(b, "us-east-1")}
    assert stack_status(aws, a, "us-east-1", stack_of_a) == ("CREATE_COMPLETE" if retain else "DELETE_COMPLETE")


def test_delegated_admin_needs_its_registration(organization, aws):
    o = organization
    o.cfn.activate_organizations_access()
    delegate = o.members[0]
    cfn = aws("cloudformation", delegate)
    attempt = dict(PermissionModel="SERVICE_MANAGED", CallAs="DELEGATED_ADMIN")
    with pytest.raises(ClientError) as e:
        stack_set(cfn, **attempt)
    assert e.value.response["Error"]["Code"] == "ValidationError"
    assert "delegated administrator" in e.value.response["Error"]["Message"]

    o.orgs.register_delegated_administrator(AccountId=delegate, ServicePrincipal=STACKSETS_PRINCIPAL)
    name = stack_set(cfn, **attempt)
    assert cfn.describe_stack_set(StackSetName=name, CallAs="DELEGATED_ADMIN")["StackSet"]["PermissionModel"] == "SERVICE_MANAGED"
    # Without CallAs, a member account acts for itself, and is no management account.
    with pytest.raises(ClientError) as e:
        stack_set(cfn, PermissionModel="SERVICE_MANAGED")
    assert e.value.response["Error"]["Message"] == "You must enable organizations access to operate a service managed stack set"


def test_a_delegated_administrator_reads_the_organization_and_other_members_may_not(organization, aws):
    o = organization
    delegate, other = o.members
    o.move(other, o.root, o.apps)
    # Any service's delegated administrator may read (Organizations' action reference).
    o.orgs.register_delegated_administrator(AccountId=delegate, ServicePrincipal="guardduty.amazonaws.com")
    orgs = aws("organizations", delegate)
    assert [a["Id"] for a in orgs.list_accounts_for_parent(ParentId=o.apps)["Accounts"]] == [other]
    assert [u["Id"] for u in orgs.list_organizational_units_for_parent(ParentId=o.apps)["OrganizationalUnits"]] == [o.team]
    assert orgs.list_roots()["Roots"][0]["Id"] == o.root

    member = aws("organizations", other)
    for call in (lambda: member.list_accounts_for_parent(ParentId=o.apps), member.list_roots):
        with pytest.raises(ClientError) as e:
            call()
        assert e.value.response["Error"]["Code"] == "AccessDeniedException"
        assert e.value.response["Error"]["Message"] == "You don't have permissions to access this resource."
    # Any member reads the organization itself.
    assert member.describe_organization()["Organization"]["MasterAccountId"] == o.management


def test_only_the_management_account_changes_the_organization(organization, aws):
    o = organization
    delegate, other = o.members
    o.orgs.register_delegated_administrator(
        AccountId=delegate, ServicePrincipal="member.org.stacksets.cloudformation.amazonaws.com")
    before = o.orgs.list_organizational_units_for_parent(ParentId=o.root)["OrganizationalUnits"]
    for account in (delegate, other):
        member = aws("organizations", account)
        for call in (
            lambda: member.create_organizational_unit(ParentId=o.root, Name="mine"),
            lambda: member.move_account(AccountId=other, SourceParentId=o.root, DestinationParentId=o.apps),
            lambda: member.register_delegated_administrator(AccountId=other, ServicePrincipal="guardduty.amazonaws.com"),
            lambda: member.enable_aws_service_access(ServicePrincipal="guardduty.amazonaws.com"),
        ):
            with pytest.raises(ClientError) as e:
                call()
            assert e.value.response["Error"]["Code"] == "AccessDeniedException", (account, e.value.response)
            assert e.value.response["Error"]["Message"] == "You don't have permissions to access this resource."
    assert o.orgs.list_organizational_units_for_parent(ParentId=o.root)["OrganizationalUnits"] == before
    assert [a["Id"] for a in o.orgs.list_accounts_for_parent(ParentId=o.root)["Accounts"] if a["Id"] == other] == [other]
    admins = o.orgs.list_delegated_administrators()["DelegatedAdministrators"]
    assert [a["Id"] for a in admins] == [delegate]


def test_organizations_errors_are_json_with_their_code(organization):
    # moto raises ParentNotFoundException as XML; a JSON client read no code from it.
    with pytest.raises(ClientError) as e:
        organization.orgs.list_accounts_for_parent(ParentId="ou-none-12345678")
    assert e.value.response["Error"]["Code"] == "ParentNotFoundException"
    assert e.value.response["Error"]["Message"] == "You specified parent that doesn't exist."
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_a_suspended_account_is_skipped(organization, aws):
    o = organization
    o.cfn.activate_organizations_access()
    active, closed = o.members
    o.orgs.close_account(AccountId=closed)
    name = stack_set(o.cfn, PermissionModel="SERVICE_MANAGED")
    op_id = o.cfn.create_stack_instances(StackSetName=name, DeploymentTargets={"OrganizationalUnitIds": [o.root]},
                                         Regions=["us-east-1"])["OperationId"]
    # Not a failure: the default tolerance (0) is not exceeded.
    assert wait_operation(o.cfn, name, op_id)["Status"] == "SUCCEEDED"
    found = instances(o.cfn, name)
    assert set(found) == {(active, "us-east-1"), (closed, "us-east-1")}
    skipped = found[(closed, "us-east-1")]
    assert skipped["StackInstanceStatus"]["DetailedStatus"] == "SKIPPED_SUSPENDED_ACCOUNT"
    assert skipped["Status"] == "OUTDATED" and "StackId" not in skipped
    assert aws("cloudformation", closed).describe_stacks()["Stacks"] == []
    assert found[(active, "us-east-1")]["Status"] == "CURRENT"
