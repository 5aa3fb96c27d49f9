"""A function's package from S3 is taken only as Lambda takes it: from a bucket in the function's
Region, that the caller may read (`services/lambda_code.py`). The buckets carry the policies the
deployer writes (`deployer/src/package.rs`, `bucket_policy`): the TLS-only Deny, and an Allow of
`s3:GetObject` on `enitrunk/*` for an organization (`aws:PrincipalOrgID`) or for accounts (their
root ARNs). Every test uses fresh account ids, so nothing is shared between tests.
"""

import base64
import hashlib
import json
import random

import boto3
import pytest
from botocore.exceptions import ClientError
from conftest import FUNCTIONS, allow, bootstrap_zip, events, refusal, trust_policy, unique, wait_stack

KEY = "enitrunk/echo.zip"
PACKAGE = bootstrap_zip(FUNCTIONS / "echo_bootstrap.py")
# CodeSha256 as Lambda reports it: base64 of the package's SHA-256.
PACKAGE_SHA = base64.b64encode(hashlib.sha256(PACKAGE).digest()).decode()


def new_account():
    return str(random.randint(10**11, 10**12 - 1))


def redirect(region):
    return ("Error occurred while GetObject. S3 Error Code: PermanentRedirect. S3 Error Message: "
            f"The bucket is in this region: {region}. Please use this region to retry the request")


def denied(bucket, key=KEY):
    return (f"Your access has been denied by S3, please make sure your request credentials have permission to "
            f"GetObject for {bucket}/{key}. S3 Error Code: AccessDenied. S3 Error Message: Access Denied")


@pytest.fixture
def aws(endpoint):
    """A client as `account`'s root user (or with `credentials`) in `region`."""

    def make(service, account, region="us-east-1", credentials=None):
        creds = credentials or {"AccessKeyId": account, "SecretAccessKey": "test"}
        return boto3.client(service, endpoint_url=endpoint, region_name=region,
                            aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
                            aws_session_token=creds.get("SessionToken"))

    return make


def tls_only(bucket):
    return {"Sid": "TlsOnly", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
            "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}}}


def organization_reads(bucket, org_id):
    return {"Sid": "OrganizationReadsPackages", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
            "Resource": f"arn:aws:s3:::{bucket}/enitrunk/*", "Condition": {"StringEquals": {"aws:PrincipalOrgID": org_id}}}


def accounts_read(bucket, *accounts):
    return {"Sid": "AccountsReadPackages", "Effect": "Allow",
            "Principal": {"AWS": [f"arn:aws:iam::{a}:root" for a in accounts]}, "Action": "s3:GetObject",
            "Resource": f"arn:aws:s3:::{bucket}/enitrunk/*"}


@pytest.fixture
def package_bucket(aws):
    """A bucket of `owner` in `region` holding the package at KEY, set up as the deployer sets up
    its artifact buckets, with a policy of the statements `policy(bucket)` gives (none if None)."""

    def make(owner, region="us-east-1", policy=None):
        s3 = aws("s3", owner, region)
        bucket = unique(f"pkg-{owner}")
        extra = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
        s3.create_bucket(Bucket=bucket, **extra)
        s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration={
            "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True})
        if policy is not None:
            s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(
                {"Version": "2012-10-17", "Statement": policy(bucket)}))
        s3.put_object(Bucket=bucket, Key=KEY, Body=PACKAGE, ExpectedBucketOwner=owner)
        return bucket

    return make


def role_in(aws, account):
    return aws("iam", account).create_role(
        RoleName=unique("fn"), AssumeRolePolicyDocument=trust_policy({"Service": "lambda.amazonaws.com"}))["Role"]["Arn"]


def create_from(lam, role, bucket, key=KEY, name=None):
    """CreateFunction from `bucket/key`: its answer."""
    return lam.create_function(FunctionName=name or unique("fn"), Runtime="provided.al2023", Role=role,
                               Handler="bootstrap", Code={"S3Bucket": bucket, "S3Key": key}, MemorySize=128)


def assert_not_created(lam, name):
    with pytest.raises(ClientError) as e:
        lam.get_function(FunctionName=name)
    assert e.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_a_package_in_the_functions_account_and_region_is_taken(aws, package_bucket):
    account = new_account()
    lam = aws("lambda", account)
    bucket = package_bucket(account, policy=lambda b: [tls_only(b)])
    name = unique("fn")
    created = create_from(lam, role_in(aws, account), bucket, name=name)
    assert created["CodeSha256"] == PACKAGE_SHA
    lam.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig={"Delay": 0.2, "MaxAttempts": 300})
    updated = lam.update_function_code(FunctionName=name, S3Bucket=bucket, S3Key=KEY)
    assert updated["CodeSha256"] == PACKAGE_SHA


def test_a_package_in_another_region_is_refused_with_s3s_redirect(aws, package_bucket):
    account = new_account()
    lam = aws("lambda", account)
    role = role_in(aws, account)
    abroad = package_bucket(account, region="eu-west-1")
    name = unique("fn")
    assert refusal(lambda: create_from(lam, role, abroad, name=name)) == (
        "InvalidParameterValueException", 400, redirect("eu-west-1"))
    assert_not_created(lam, name)
    # UpdateFunctionCode too: the function keeps its package from its own Region.
    home = package_bucket(account)
    create_from(lam, role, home, name=name)
    lam.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig={"Delay": 0.2, "MaxAttempts": 300})
    assert refusal(lambda: lam.update_function_code(FunctionName=name, S3Bucket=abroad, S3Key=KEY)) == (
        "InvalidParameterValueException", 400, redirect("eu-west-1"))
    # ...and the other way round: a function in eu-west-1 from a us-east-1 bucket.
    assert refusal(lambda: create_from(aws("lambda", account, "eu-west-1"), role, home)) == (
        "InvalidParameterValueException", 400, redirect("us-east-1"))


@pytest.mark.parametrize("policy", [None, lambda b: [tls_only(b)]], ids=["no-policy", "tls-only"])
def test_another_accounts_package_without_its_allow_is_refused(aws, package_bucket, policy):
    owner, caller = new_account(), new_account()
    bucket = package_bucket(owner, policy=policy)
    lam = aws("lambda", caller)
    name = unique("fn")
    assert refusal(lambda: create_from(lam, role_in(aws, caller), bucket, name=name)) == (
        "AccessDeniedException", 403, denied(bucket))
    assert_not_created(lam, name)
    # The owner itself reads it.
    assert create_from(aws("lambda", owner), role_in(aws, owner), bucket)["CodeSha256"] == PACKAGE_SHA


def test_accounts_the_bucket_policy_names_may_read(aws, package_bucket):
    owner, named, also_named, other = new_account(), new_account(), new_account(), new_account()
    bucket = package_bucket(owner, policy=lambda b: [tls_only(b), accounts_read(b, named, also_named)])
    for account in (named, also_named):
        assert create_from(aws("lambda", account), role_in(aws, account), bucket)["CodeSha256"] == PACKAGE_SHA
    assert refusal(lambda: create_from(aws("lambda", other), role_in(aws, other), bucket)) == (
        "AccessDeniedException", 403, denied(bucket))
    # The Allow covers `enitrunk/*` only.
    aws("s3", owner).put_object(Bucket=bucket, Key="elsewhere/echo.zip", Body=PACKAGE)
    assert refusal(lambda: create_from(aws("lambda", named), role_in(aws, named), bucket, key="elsewhere/echo.zip")) == (
        "AccessDeniedException", 403, denied(bucket, "elsewhere/echo.zip"))


def test_a_role_session_of_a_named_account_also_needs_its_own_allow(aws, package_bucket):
    owner, caller = new_account(), new_account()
    bucket = package_bucket(owner, policy=lambda b: [tls_only(b), accounts_read(b, caller)])
    iam = aws("iam", caller)
    operator = iam.create_user(UserName=unique("operator"))["User"]["UserName"]
    iam.put_user_policy(UserName=operator, PolicyName="assume", PolicyDocument=allow("sts:AssumeRole"))
    key = iam.create_access_key(UserName=operator)["AccessKey"]
    trust = trust_policy({"AWS": f"arn:aws:iam::{caller}:root"})
    without, with_read = unique("deployer"), unique("deployer")
    iam.create_role(RoleName=without, AssumeRolePolicyDocument=trust)
    iam.put_role_policy(RoleName=without, PolicyName="lambda", PolicyDocument=allow("lambda:*"))
    iam.create_role(RoleName=with_read, AssumeRolePolicyDocument=trust)
    iam.put_role_policy(RoleName=with_read, PolicyName="read", PolicyDocument=allow(
        ["lambda:*", "s3:GetObject"], f"arn:aws:s3:::{bucket}/enitrunk/*"))
    sts = aws("sts", caller, credentials=key)
    role = role_in(aws, caller)

    def session(name):
        creds = sts.assume_role(RoleArn=f"arn:aws:iam::{caller}:role/{name}", RoleSessionName="deploy")["Credentials"]
        return aws("lambda", caller, credentials=creds)

    # The bucket owner allows the account; the account's role policy must allow the read too.
    assert refusal(lambda: create_from(session(without), role, bucket)) == ("AccessDeniedException", 403, denied(bucket))
    assert create_from(session(with_read), role, bucket)["CodeSha256"] == PACKAGE_SHA


@pytest.fixture
def organization(aws):
    """An organization (moto's) with two member accounts: (management, its id, members)."""
    management = new_account()
    orgs = aws("organizations", management)
    org_id = orgs.create_organization(FeatureSet="ALL")["Organization"]["Id"]
    members = [orgs.create_account(Email=f"m{i}@example.com", AccountName=f"m{i}")["CreateAccountStatus"]["AccountId"]
               for i in range(2)]
    return management, org_id, members


def test_organization_members_may_read_by_principal_org_id(aws, package_bucket, organization):
    management, org_id, members = organization
    bucket = package_bucket(management, policy=lambda b: [tls_only(b), organization_reads(b, org_id)])
    for member in members:
        assert create_from(aws("lambda", member), role_in(aws, member), bucket)["CodeSha256"] == PACKAGE_SHA
    # Outside the organization: refused; in another organization: refused.
    outsider = new_account()
    assert refusal(lambda: create_from(aws("lambda", outsider), role_in(aws, outsider), bucket)) == (
        "AccessDeniedException", 403, denied(bucket))
    elsewhere = new_account()
    aws("organizations", elsewhere).create_organization(FeatureSet="ALL")
    assert refusal(lambda: create_from(aws("lambda", elsewhere), role_in(aws, elsewhere), bucket)) == (
        "AccessDeniedException", 403, denied(bucket))


def test_the_tls_only_deny_does_not_block_and_an_explicit_deny_does(aws, package_bucket):
    owner, reader = new_account(), new_account()
    tls = package_bucket(owner, policy=lambda b: [tls_only(b), accounts_read(b, reader)])
    assert create_from(aws("lambda", owner), role_in(aws, owner), tls)["CodeSha256"] == PACKAGE_SHA
    assert create_from(aws("lambda", reader), role_in(aws, reader), tls)["CodeSha256"] == PACKAGE_SHA
    # A Deny that applies refuses everyone, the owner included, whatever allows it.
    deny = {"Effect": "Deny", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::*/enitrunk/*"}
    denying = package_bucket(owner, policy=lambda b: [accounts_read(b, reader), deny])
    for account in (owner, reader):
        assert refusal(lambda: create_from(aws("lambda", account), role_in(aws, account), denying)) == (
            "AccessDeniedException", 403, denied(denying))


FUNCTION_TEMPLATE = """
Parameters:
  Bucket:
    Type: String
  Role:
    Type: String
Resources:
  Fn:
    Type: AWS::Lambda::Function
    Properties:
      Runtime: provided.al2023
      Handler: bootstrap
      Role: !Ref Role
      Code:
        S3Bucket: !Ref Bucket
        S3Key: enitrunk/echo.zip
Outputs:
  Arn:
    Value: !GetAtt Fn.Arn
"""


def create_stack(aws, account, bucket):
    cfn = aws("cloudformation", account)
    name = unique("pkg-stack")
    cfn.create_stack(StackName=name, TemplateBody=FUNCTION_TEMPLATE, Parameters=[
        {"ParameterKey": "Bucket", "ParameterValue": bucket},
        {"ParameterKey": "Role", "ParameterValue": role_in(aws, account)}])
    return cfn, name, wait_stack(cfn, name, timeout=120)


def test_a_stack_in_a_member_account_takes_the_package_only_if_allowed(aws, package_bucket, organization):
    management, org_id, (member, _) = organization
    shared = package_bucket(management, policy=lambda b: [tls_only(b), organization_reads(b, org_id)])
    cfn, name, stack = create_stack(aws, member, shared)
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    arn = stack["Outputs"][0]["OutputValue"]
    assert arn.split(":")[4] == member
    assert aws("lambda", member).get_function(FunctionName=arn)["Configuration"]["CodeSha256"] == PACKAGE_SHA

    # The owner's bucket without an Allow for the organization: the resource fails with Lambda's reason.
    private = package_bucket(management, policy=lambda b: [tls_only(b)])
    cfn, name, stack = create_stack(aws, member, private)
    assert stack["StackStatus"] == "ROLLBACK_COMPLETE"
    [reason] = [r for logical, status, r in events(cfn, name) if logical == "Fn" and status == "CREATE_FAILED"]
    assert denied(private) in reason
    # Only the first stack's function is there.
    assert [f["FunctionArn"] for f in aws("lambda", member).list_functions()["Functions"]] == [arn]


def test_a_stack_in_another_region_than_its_package_fails(aws, package_bucket):
    account = new_account()
    abroad = package_bucket(account, region="eu-west-1")
    cfn, name, stack = create_stack(aws, account, abroad)
    assert stack["StackStatus"] == "ROLLBACK_COMPLETE"
    [reason] = [r for logical, status, r in events(cfn, name) if logical == "Fn" and status == "CREATE_FAILED"]
    assert redirect("eu-west-1") in reason
