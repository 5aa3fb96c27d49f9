"""`AWS::CloudFormation::StackSet` deployed with plain CloudFormation, end to end: the stack set and
its instances in each member account and Region of an OU, an update that changes the template's
parameters and Regions, a create whose instances fail (rolled back: no stack set, no member
stacks), the delete, and the real `templates/org-stackset.yaml`. Each test has its own
organization (fresh account ids).
"""

import json
import random
from pathlib import Path

import pytest
from botocore.exceptions import ClientError
from conftest import events, outputs, unique, wait_stack
from test_eni_trunking_stack import package
from test_stacksets import TEMPLATE, aws, instances, organization, stack_status, wait_idle  # noqa: F401

REGIONS = ["us-east-1", "eu-west-1"]
ORG_STACKSET = Path(__file__).resolve().parents[2] / "templates" / "org-stackset.yaml"


def outer_template(inner=TEMPLATE, preferences=None):
    """A stack holding one service-managed stack set of `inner`, for one OU in some Regions."""
    return json.dumps({
        "Parameters": {
            "Value": {"Type": "String", "Default": "first"},
            "Ou": {"Type": "String"},
            "Regions": {"Type": "CommaDelimitedList"},
        },
        "Resources": {
            "Probes": {
                "Type": "AWS::CloudFormation::StackSet",
                "Properties": {
                    "StackSetName": {"Fn::Sub": "${AWS::StackName}-probes"},
                    "Description": "probes",
                    "PermissionModel": "SERVICE_MANAGED",
                    # As a template gives them: strings from parameters, numbers, booleans.
                    "AutoDeployment": {"Enabled": True, "RetainStacksOnAccountRemoval": "false"},
                    "ManagedExecution": {"Active": "true"},
                    "OperationPreferences": preferences or {
                        "MaxConcurrentPercentage": "50", "FailureTolerancePercentage": 0,
                        "RegionConcurrencyType": "PARALLEL"},
                    "CallAs": "SELF",
                    "Parameters": [{"ParameterKey": "Value", "ParameterValue": {"Ref": "Value"}}],
                    "StackInstancesGroup": [{"DeploymentTargets": {"OrganizationalUnitIds": [{"Ref": "Ou"}]},
                                             "Regions": {"Ref": "Regions"}}],
                    "TemplateBody": inner,
                },
            },
        },
        "Outputs": {
            "Ref": {"Value": {"Ref": "Probes"}},
            "GetAtt": {"Value": {"Fn::GetAtt": ["Probes", "StackSetId"]}},
        },
    })


def parameters(**values):
    return [{"ParameterKey": k, "ParameterValue": v} for k, v in values.items()]


@pytest.fixture
def org(organization):
    """The organization with StackSets' trusted access on and both members in the OU `apps`."""
    organization.cfn.activate_organizations_access()
    for member in organization.members:
        organization.move(member, organization.root, organization.apps)
    return organization


def probe(aws, account, region, stack_id):
    """The value of the SSM parameter that the instance's stack made, as its account sees it."""
    stack = aws("cloudformation", account, region).describe_stacks(StackName=stack_id)["Stacks"][0]
    name = outputs(stack)["Name"]
    try:
        return aws("ssm", account, region).get_parameter(Name=name)["Parameter"]["Value"]
    except ClientError as e:
        assert e.response["Error"]["Code"] == "ParameterNotFound"
        return None


def live_stacks(aws, account, region):
    stacks = aws("cloudformation", account, region).list_stacks()["StackSummaries"]
    return [s["StackName"] for s in stacks if s["StackStatus"] != "DELETE_COMPLETE"]


def test_a_stack_set_resource_deploys_updates_and_deletes_its_instances(org, aws):
    name = unique("ssr")
    cfn = org.cfn
    cfn.create_stack(StackName=name, TemplateBody=outer_template(),
                     Parameters=parameters(Ou=org.apps, Regions=",".join(REGIONS)))
    stack = wait_stack(cfn, name, timeout=120)
    assert stack["StackStatus"] == "CREATE_COMPLETE", events(cfn, name)
    stack_set_id = outputs(stack)["Ref"]
    assert outputs(stack)["GetAtt"] == stack_set_id
    assert stack_set_id.startswith(f"{name}-probes:")
    resource = cfn.describe_stack_resource(StackName=name, LogicalResourceId="Probes")["StackResourceDetail"]
    assert resource["PhysicalResourceId"] == stack_set_id

    described = cfn.describe_stack_set(StackSetName=stack_set_id)["StackSet"]
    assert described["StackSetName"] == f"{name}-probes" and described["Description"] == "probes"
    assert described["PermissionModel"] == "SERVICE_MANAGED"
    assert described["AutoDeployment"] == {"Enabled": True, "RetainStacksOnAccountRemoval": False}
    assert described["ManagedExecution"] == {"Active": True}
    assert described["OrganizationalUnitIds"] == [org.apps]
    [op] = cfn.list_stack_set_operations(StackSetName=stack_set_id)["Summaries"]
    assert op["Action"] == "CREATE" and op["Status"] == "SUCCEEDED"
    assert op["OperationPreferences"] == {"MaxConcurrentPercentage": 50, "FailureTolerancePercentage": 0,
                                          "RegionConcurrencyType": "PARALLEL"}

    found = instances(cfn, stack_set_id)
    assert set(found) == {(m, r) for m in org.members for r in REGIONS}
    first = {}
    for (account, region), instance in found.items():
        assert instance["Status"] == "CURRENT" and instance["OrganizationalUnitId"] == org.apps
        assert f":{region}:{account}:stack/StackSet-{name}-probes-" in instance["StackId"]
        assert stack_status(aws, account, region, instance["StackId"]) == "CREATE_COMPLETE"
        assert probe(aws, account, region, instance["StackId"]) == f"{account}/{region}/first"
        first[(account, region)] = instance["StackId"]

    # A new parameter value, one Region less and one more.
    regions = ["us-east-1", "us-west-2"]
    cfn.update_stack(StackName=name, TemplateBody=outer_template(),
                     Parameters=parameters(Value="second", Ou=org.apps, Regions=",".join(regions)))
    stack = wait_stack(cfn, name, timeout=120)
    assert stack["StackStatus"] == "UPDATE_COMPLETE", events(cfn, name)
    assert outputs(stack)["Ref"] == stack_set_id
    found = instances(cfn, stack_set_id)
    assert set(found) == {(m, r) for m in org.members for r in regions}
    for (account, region), instance in found.items():
        assert instance["Status"] == "CURRENT"
        assert probe(aws, account, region, instance["StackId"]) == f"{account}/{region}/second"
    for member in org.members:
        assert found[(member, "us-east-1")]["StackId"] == first[(member, "us-east-1")]
        assert stack_status(aws, member, "eu-west-1", first[(member, "eu-west-1")]) == "DELETE_COMPLETE"
    assert cfn.describe_stack_set(StackSetName=stack_set_id)["StackSet"]["Parameters"] == parameters(Value="second")

    # Auto-deployment now targets the Regions the update left.
    joiner = org.orgs.create_account(Email="joiner@example.com", AccountName="joiner")["CreateAccountStatus"]["AccountId"]
    org.move(joiner, org.root, org.apps)
    wait_idle(cfn, stack_set_id)
    found = instances(cfn, stack_set_id)
    assert {k for k in found if k[0] == joiner} == {(joiner, r) for r in regions}
    assert all(i["Status"] == "CURRENT" for i in found.values())

    cfn.delete_stack(StackName=name)
    assert wait_stack(cfn, name, timeout=120)["StackStatus"] == "DELETE_COMPLETE"
    with pytest.raises(ClientError) as e:
        cfn.describe_stack_set(StackSetName=stack_set_id)
    assert e.value.response["Error"]["Code"] == "StackSetNotFoundException"
    for (account, region), instance in found.items():
        assert stack_status(aws, account, region, instance["StackId"]) == "DELETE_COMPLETE"
    for account in [*org.members, joiner]:
        for region in {*REGIONS, *regions}:
            assert live_stacks(aws, account, region) == []


def test_a_stack_set_whose_instances_fail_rolls_the_stack_back_and_leaves_nothing(org, aws):
    clean, taken = org.members
    inner = TEMPLATE.replace("!Sub /stackset-probe/${AWS::StackName}", "/stackset-probe/fixed")
    aws("ssm", taken).put_parameter(Name="/stackset-probe/fixed", Value="already here", Type="String")
    name = unique("ssr-fail")
    # Both accounts at once, so the clean account's stack is created before the operation fails.
    preferences = {"MaxConcurrentCount": 2, "FailureToleranceCount": 0, "ConcurrencyMode": "SOFT_FAILURE_TOLERANCE"}
    org.cfn.create_stack(StackName=name, TemplateBody=outer_template(inner, preferences),
                         Parameters=parameters(Ou=org.apps, Regions="us-east-1"))
    stack = wait_stack(org.cfn, name, timeout=120)
    happened = events(org.cfn, name)
    assert stack["StackStatus"] == "ROLLBACK_COMPLETE", happened
    assert stack["StackStatusReason"] == "The following resource(s) failed to create: [Probes]. Rollback requested by user."
    [reason] = [r for logical, status, r in happened if logical == "Probes" and status == "CREATE_FAILED"]
    assert reason.startswith("Stack set operation [")
    assert "was unexpectedly stopped or failed: CreateStackInstances ended FAILED" in reason
    assert f"Failed stack instances: {taken}/us-east-1: ResourceLogicalId:Probe, ResourceType:AWS::SSM::Parameter" in reason
    assert clean not in reason
    # The rollback deleted the stack set (after its instances): its delete is the last event of Probes.
    assert [s for logical, s, _ in happened if logical == "Probes"][-2:] == ["DELETE_IN_PROGRESS", "DELETE_COMPLETE"]

    with pytest.raises(ClientError) as e:
        org.cfn.describe_stack_set(StackSetName=f"{name}-probes")
    assert e.value.response["Error"]["Code"] == "StackSetNotFoundException"
    assert org.cfn.list_stack_sets(Status="ACTIVE")["Summaries"] == []
    made = [s for s in aws("cloudformation", clean).list_stacks()["StackSummaries"]
            if s["StackName"].startswith(f"StackSet-{name}-probes-")]
    assert made and all(s["StackStatus"] == "DELETE_COMPLETE" for s in made)
    for account in org.members:
        assert live_stacks(aws, account, "us-east-1") == []
    assert aws("ssm", taken).get_parameter(Name="/stackset-probe/fixed")["Parameter"]["Value"] == "already here"


def test_org_stackset_template_turns_trunking_on_in_each_member_account_and_region(org, aws):
    """`templates/org-stackset.yaml` as checked in, with the function's package in a bucket per
    Region of the management account that the organization may read (`aws:PrincipalOrgID`)."""
    org_id = org.orgs.describe_organization()["Organization"]["Id"]
    prefix = f"enitrunk-code-{random.randint(0, 10**8)}"
    code = package()
    for region in REGIONS:
        s3 = aws("s3", org.management, region)
        bucket = f"{prefix}-{region}"
        extra = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
        s3.create_bucket(Bucket=bucket, **extra)
        s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
            "Resource": f"arn:aws:s3:::{bucket}/enitrunk/*",
            "Condition": {"StringEquals": {"aws:PrincipalOrgID": org_id}}}]}))
        s3.put_object(Bucket=bucket, Key="enitrunk/bootstrap.zip", Body=code)

    name = unique("enitrunk-org")
    org.cfn.create_stack(StackName=name, TemplateBody=ORG_STACKSET.read_text(), Parameters=parameters(
        CodeBucketPrefix=prefix, CodeKey="enitrunk/bootstrap.zip", OrganizationalUnitIds=org.apps,
        Regions=",".join(REGIONS)))
    stack = wait_stack(org.cfn, name, timeout=300)
    assert stack["StackStatus"] == "CREATE_COMPLETE", events(org.cfn, name)
    stack_set_id = outputs(stack)["StackSetId"]
    found = instances(org.cfn, stack_set_id)
    assert set(found) == {(m, r) for m in org.members for r in REGIONS}
    for (account, region), instance in found.items():
        assert instance["Status"] == "CURRENT", instance
        member_stack = aws("cloudformation", account, region).describe_stacks(StackName=instance["StackId"])["Stacks"][0]
        out = outputs(member_stack)
        role = out["InstanceRoleArn"]
        assert role.startswith(f"arn:aws:iam::{account}:role/")
        assert out["TrunkingSetting"] == "enabled" and out["TrunkingPrincipalArn"] == role
        [setting] = aws("ecs", account, region).list_account_settings(
            name="awsvpcTrunking", principalArn=role, effectiveSettings=True)["settings"]
        assert setting["value"] == "enabled", (account, region, setting)

    org.cfn.delete_stack(StackName=name)
    assert wait_stack(org.cfn, name, timeout=300)["StackStatus"] == "DELETE_COMPLETE"
    for (account, region), instance in found.items():
        assert stack_status(aws, account, region, instance["StackId"]) == "DELETE_COMPLETE"
