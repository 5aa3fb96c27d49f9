"""lambda_code.may_read and code_location on their own: whose S3 package Lambda may take.

The bucket policies are the deployer's (`deployer/src/package.rs`, `bucket_policy`): the TLS-only
Deny and an Allow of `s3:GetObject` on `enitrunk/*` for an organization or for accounts. S3's
rules are the user guide's "How Amazon S3 authorizes a request for an object operation"
(https://docs.aws.amazon.com/AmazonS3/latest/userguide/access-control-auth-workflow-object-operation.html).
"""

import pytest

from enitrunk_localstack.auth.identity import SESSION, USER, Caller, root_caller
from enitrunk_localstack.auth.policy import Decision, Request, evaluate
from enitrunk_localstack.services.lambda_code import code_location, may_read, read_context

OWNER, OTHER = "111111111111", "222222222222"
ORG, OTHER_ORG = "o-aaaaaaaaaa", "o-bbbbbbbbbb"
BUCKET, KEY = "artifacts", "enitrunk/bootstrap.zip"


def policy(*statements):
    return {"Version": "2012-10-17", "Statement": list(statements)}


TLS_ONLY = {"Effect": "Deny", "Principal": "*", "Action": "s3:*",
            "Resource": [f"arn:aws:s3:::{BUCKET}", f"arn:aws:s3:::{BUCKET}/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}}}
ORG_READS = {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
             "Resource": f"arn:aws:s3:::{BUCKET}/enitrunk/*", "Condition": {"StringEquals": {"aws:PrincipalOrgID": ORG}}}


def accounts_read(*accounts):
    return {"Effect": "Allow", "Principal": {"AWS": [f"arn:aws:iam::{a}:root" for a in accounts]},
            "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{BUCKET}/enitrunk/*"}


def root(account):
    return root_caller(account, "aws")


def session(account, role="deployer"):
    return Caller(kind=SESSION, account=account, arn=f"arn:aws:sts::{account}:assumed-role/{role}/deploy",
                  principal_arn=f"arn:aws:iam::{account}:role/{role}", name=role, userid="AROAEXAMPLE:deploy")


def user(account, name="operator"):
    arn = f"arn:aws:iam::{account}:user/{name}"
    return Caller(kind=USER, account=account, arn=arn, principal_arn=arn, name=name, userid="AIDAEXAMPLE")


def reads(caller, bucket_policy, key=KEY, organization=None, caller_policies=()):
    return may_read(caller, OWNER, bucket_policy, BUCKET, key, organization, caller_policies)


@pytest.mark.parametrize("caller", [root(OWNER), session(OWNER), user(OWNER)], ids=["root", "session", "user"])
def test_the_owners_account_reads_unless_a_deny_applies(caller):
    assert reads(caller, None)
    assert reads(caller, policy(TLS_ONLY))
    deny = {"Effect": "Deny", "Principal": "*", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{BUCKET}/*"}
    assert not reads(caller, policy(accounts_read(OWNER), deny))


def test_the_tls_only_deny_applies_to_a_request_without_tls_only():
    # Lambda reads over TLS, so the Deny's condition is false for its read; the same Deny refuses a
    # plain-HTTP read, so the condition is evaluated, not ignored.
    assert read_context(root(OTHER), None)["aws:SecureTransport"] == "true"
    plain = Request("s3:GetObject", f"arn:aws:s3:::{BUCKET}/{KEY}",
                    {**read_context(root(OWNER), None), "aws:SecureTransport": "false"}, root(OWNER).as_principal())
    assert evaluate([policy(TLS_ONLY)], plain) is Decision.DENY
    assert reads(root(OWNER), policy(TLS_ONLY))


@pytest.mark.parametrize("bucket_policy", [None, policy(TLS_ONLY), policy(TLS_ONLY, accounts_read("333333333333"))],
                         ids=["no-policy", "tls-only", "another-account-named"])
def test_another_account_needs_the_bucket_owners_allow(bucket_policy):
    assert not reads(root(OTHER), bucket_policy)


def test_an_account_the_policy_names_reads_only_what_the_allow_covers():
    named = policy(TLS_ONLY, accounts_read(OTHER))
    assert reads(root(OTHER), named)
    assert not reads(root(OTHER), named, key="elsewhere/bootstrap.zip")


def test_principal_org_id_lets_members_read_and_nobody_else():
    org = policy(TLS_ONLY, ORG_READS)
    assert reads(root(OTHER), org, organization=ORG)
    assert not reads(root(OTHER), org, organization=None)
    assert not reads(root(OTHER), org, organization=OTHER_ORG)
    assert "aws:PrincipalOrgID" not in read_context(root(OTHER), None)
    assert read_context(root(OTHER), ORG)["aws:PrincipalOrgID"] == ORG


@pytest.mark.parametrize("caller", [session(OTHER), user(OTHER)], ids=["session", "user"])
def test_a_user_or_session_of_another_account_also_needs_its_own_allow(caller):
    bucket_policy = policy(TLS_ONLY, accounts_read(OTHER))
    reading = policy({"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{BUCKET}/enitrunk/*"})
    elsewhere = policy({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::other-bucket/*"})
    lambda_only = policy({"Effect": "Allow", "Action": "lambda:*", "Resource": "*"})
    assert not reads(caller, bucket_policy)
    assert not reads(caller, bucket_policy, caller_policies=[lambda_only])
    assert not reads(caller, bucket_policy, caller_policies=[elsewhere])
    assert reads(caller, bucket_policy, caller_policies=[lambda_only, reading])
    # Its own Allow is not enough without the owner's.
    assert not reads(caller, policy(TLS_ONLY), caller_policies=[reading])
    # An explicit Deny in its own policies wins.
    deny = policy({"Effect": "Deny", "Action": "s3:*", "Resource": "*"})
    assert not reads(caller, bucket_policy, caller_policies=[reading, deny])
    # The organization's Allow (`Principal: *`) counts for its members' sessions the same way.
    assert not reads(caller, policy(ORG_READS), organization=ORG)
    assert reads(caller, policy(ORG_READS), organization=ORG, caller_policies=[reading])


def test_a_session_the_bucket_policy_names_by_role_arn():
    by_role = policy({"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{OTHER}:role/deployer"},
                      "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{BUCKET}/*"})
    reading = policy({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"})
    assert reads(session(OTHER), by_role, caller_policies=[reading])
    assert not reads(session(OTHER, role="other"), by_role, caller_policies=[reading])


def test_bucket_policy_conditions_see_the_callers_global_keys():
    by_arn = policy({"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{BUCKET}/*",
                     "Condition": {"ArnLike": {"aws:PrincipalArn": f"arn:aws:iam::{OTHER}:role/deploy*"}}})
    reading = policy({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"})
    assert reads(session(OTHER), by_arn, caller_policies=[reading])
    assert not reads(session(OTHER, role="builder"), by_arn, caller_policies=[reading])


def test_code_location_of_the_two_operations():
    assert code_location("CreateFunction", {"Code": {"S3Bucket": "b", "S3Key": "k"}}) == ("b", "k")
    assert code_location("UpdateFunctionCode", {"FunctionName": "f", "S3Bucket": "b", "S3Key": "k"}) == ("b", "k")
    assert code_location("CreateFunction", {"Code": {"ZipFile": b"PK"}}) is None
    assert code_location("CreateFunction", {}) is None
    assert code_location("UpdateFunctionCode", {"FunctionName": "f", "ZipFile": b"PK"}) is None
    assert code_location("UpdateFunctionCode", {"FunctionName": "f", "S3Bucket": "b"}) is None
    assert code_location("PublishLayerVersion", {"Content": {"S3Bucket": "b", "S3Key": "k"}}) is None
