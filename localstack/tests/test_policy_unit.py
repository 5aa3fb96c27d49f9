"""auth.policy on its own, against the IAM User Guide's evaluation rules and examples.

Each example names the page it comes from (https://docs.aws.amazon.com/IAM/latest/UserGuide/...).
"""

import pytest

from enitrunk_localstack.auth.policy import Decision, Principal, Request, evaluate

ACCOUNT = "111122223333"
ALLOW, DENY, IMPLICIT, ACCOUNT_ONLY = Decision.ALLOW, Decision.DENY, Decision.IMPLICIT_DENY, Decision.ALLOW_ACCOUNT


def policy(*statements):
    return {"Version": "2012-10-17", "Statement": list(statements)}


# reference_policies_evaluation-logic_policy-eval-basics.html: Carlos's identity-based policy.
CARLOS = policy(
    {"Sid": "AllowS3ListRead", "Effect": "Allow",
     "Action": ["s3:GetBucketLocation", "s3:GetAccountPublicAccessBlock", "s3:ListAccessPoints", "s3:ListAllMyBuckets"],
     "Resource": "arn:aws:s3:::*"},
    {"Sid": "AllowS3Self", "Effect": "Allow", "Action": "s3:*",
     "Resource": ["arn:aws:s3:::amzn-s3-demo-bucket-carlossalazar/*", "arn:aws:s3:::amzn-s3-demo-bucket-carlossalazar"]},
    {"Sid": "DenyS3Logs", "Effect": "Deny", "Action": "s3:*", "Resource": "arn:aws:s3:::*log*"},
)


@pytest.mark.parametrize("action, resource, decision", [
    # "The AllowS3ListRead statement in this policy allows Carlos to view a list of all of the buckets"
    ("s3:ListAllMyBuckets", "arn:aws:s3:::any-bucket", ALLOW),
    # "The AllowS3Self statement allows Carlos full access to the bucket with the same name as his user name"
    ("s3:PutObject", "arn:aws:s3:::amzn-s3-demo-bucket-carlossalazar/notes.txt", ALLOW),
    # "The DenyS3Logs statement denies Carlos access to any S3 bucket with log in its name"
    ("s3:PutObject", "arn:aws:s3:::amzn-s3-demo-bucket-carlossalazar-logs/file", DENY),
    ("s3:ListAllMyBuckets", "arn:aws:s3:::server-logs", DENY),
    # Nothing allows writing to someone else's bucket: implicitly denied.
    ("s3:PutObject", "arn:aws:s3:::amzn-s3-demo-bucket-other/file", IMPLICIT),
])
def test_carlos_example(action, resource, decision):
    assert evaluate([CARLOS], Request(action, resource)) is decision


def test_explicit_deny_in_one_policy_overrides_an_allow_in_another():
    # reference_policies_evaluation-logic.html: "An explicit deny in any of the policies overrides the allow."
    allow = policy({"Effect": "Allow", "Action": "ecs:*", "Resource": "*"})
    deny = policy({"Effect": "Deny", "Action": "ecs:PutAccountSetting", "Resource": "*"})
    assert evaluate([allow, deny], Request("ecs:PutAccountSetting")) is DENY
    assert evaluate([deny, allow], Request("ecs:PutAccountSetting")) is DENY
    assert evaluate([allow, deny], Request("ecs:ListAccountSettings")) is ALLOW
    assert evaluate([], Request("ecs:ListAccountSettings")) is IMPLICIT


def test_action_wildcards_and_case():
    # reference_policies_elements_action.html: "iam:*AccessKey*" covers the access-key actions;
    # "The prefix and the action name are case insensitive."
    p = policy({"Effect": "Allow", "Action": "iam:*AccessKey*", "Resource": "*"})
    for action in ("iam:CreateAccessKey", "iam:DeleteAccessKey", "iam:ListAccessKeys", "IAM:updateaccesskey"):
        assert evaluate([p], Request(action)) is ALLOW, action
    assert evaluate([p], Request("iam:CreateUser")) is IMPLICIT
    q = policy({"Effect": "Allow", "Action": "ecs:List?ccountSettings", "Resource": "*"})
    assert evaluate([q], Request("ecs:ListAccountSettings")) is ALLOW


def test_not_action_allows_everything_else():
    # reference_policies_elements_notaction.html: Allow with NotAction "iam:*" allows all
    # actions in all services except IAM.
    p = policy({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"})
    assert evaluate([p], Request("ecs:PutAccountSetting")) is ALLOW
    assert evaluate([p], Request("iam:CreateUser")) is IMPLICIT


def test_resource_wildcards_and_not_resource():
    role = "arn:aws:iam::111122223333:role/enitrunk/instance"
    assert evaluate([policy({"Effect": "Allow", "Action": "sts:AssumeRole",
                             "Resource": "arn:aws:iam::*:role/enitrunk/*"})], Request("sts:AssumeRole", role)) is ALLOW
    # Resource matching is case-sensitive.
    assert evaluate([policy({"Effect": "Allow", "Action": "sts:AssumeRole",
                             "Resource": role.upper()})], Request("sts:AssumeRole", role)) is IMPLICIT
    p = policy({"Effect": "Allow", "Action": "sts:AssumeRole", "NotResource": role})
    assert evaluate([p], Request("sts:AssumeRole", role)) is IMPLICIT
    assert evaluate([p], Request("sts:AssumeRole", role + "-other")) is ALLOW


def test_multiple_keys_are_anded_and_multiple_values_ored():
    # reference_policies_condition-logic-multiple-context-keys-or-values.html
    p = policy({"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {
        "StringEquals": {"aws:PrincipalTag/department": ["finance", "hr", "legal"],
                         "aws:PrincipalTag/role": ["audit", "security"]}}})
    ok = {"aws:PrincipalTag/department": "hr", "aws:PrincipalTag/role": "audit"}
    assert evaluate([p], Request("s3:GetObject", context=ok)) is ALLOW
    assert evaluate([p], Request("s3:GetObject", context={**ok, "aws:PrincipalTag/role": "admin"})) is IMPLICIT
    assert evaluate([p], Request("s3:GetObject", context={"aws:PrincipalTag/department": "hr"})) is IMPLICIT


def test_missing_keys_negated_operators_and_if_exists():
    # reference_policies_elements_condition_operators.html: a key missing from the request context
    # makes the condition false, except for negated operators (StringNotEquals, ...) and ...IfExists.
    def allows(condition, context):
        p = policy({"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": condition})
        return evaluate([p], Request("ecs:PutAccountSetting", context=context)) is ALLOW

    assert not allows({"StringEquals": {"ecs:account-setting": "awsvpcTrunking"}}, {})
    assert allows({"StringNotEquals": {"ecs:account-setting": "awsvpcTrunking"}}, {})
    assert allows({"StringEqualsIfExists": {"ecs:account-setting": "awsvpcTrunking"}}, {})
    assert not allows({"StringEqualsIfExists": {"ecs:account-setting": "awsvpcTrunking"}}, {"ecs:account-setting": "x"})
    assert not allows({"StringNotEquals": {"ecs:account-setting": "awsvpcTrunking"}}, {"ecs:account-setting": "awsvpcTrunking"})
    # Keys are case-insensitive, StringEquals values are not; StringEqualsIgnoreCase ignores case.
    assert allows({"StringEquals": {"ECS:Account-Setting": "awsvpcTrunking"}}, {"ecs:account-setting": "awsvpcTrunking"})
    assert not allows({"StringEquals": {"ecs:account-setting": "awsvpctrunking"}}, {"ecs:account-setting": "awsvpcTrunking"})
    assert allows({"StringEqualsIgnoreCase": {"ecs:account-setting": "awsvpctrunking"}}, {"ecs:account-setting": "awsvpcTrunking"})


def test_string_like_and_arn_like_take_wildcards():
    def allows(condition, context):
        p = policy({"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": condition})
        return evaluate([p], Request("sts:AssumeRole", context=context)) is ALLOW

    arn = {"aws:PrincipalArn": "arn:aws:iam::111122223333:role/fn-role"}
    assert allows({"StringLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/fn-*"}}, arn)
    assert allows({"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::111122223333:role/fn-rol?"}}, arn)
    assert not allows({"StringLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/other-*"}}, arn)
    assert allows({"StringNotLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/other-*"}}, arn)
    # StringEquals takes no wildcards.
    assert not allows({"StringEquals": {"aws:PrincipalArn": "arn:aws:iam::*:role/fn-role"}}, arn)


def test_bool_compares_true_and_false_in_any_case():
    # reference_policies_elements_condition_operators.html#Conditions_Boolean: the S3 bucket
    # policy that denies requests without TLS, `"Bool": {"aws:SecureTransport": "false"}`.
    tls_only = policy({"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "*",
                       "Condition": {"Bool": {"aws:SecureTransport": "false"}}})
    everyone = policy({"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "*"})
    anyone = Principal(arns=frozenset({"arn:aws:iam::111122223333:root"}), account=ACCOUNT)

    def decision(context):
        return evaluate([everyone, tls_only], Request("s3:GetObject", "arn:aws:s3:::b/k", context, anyone))

    assert decision({"aws:SecureTransport": "false"}) is DENY
    assert decision({"aws:SecureTransport": "False"}) is DENY
    assert decision({"aws:SecureTransport": "true"}) is ALLOW
    # A key missing from the request: Bool is false, the Deny does not apply.
    assert decision({}) is ALLOW

    def allows(condition, context):
        p = policy({"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": condition})
        return evaluate([p], Request("s3:GetObject", context=context)) is ALLOW

    # JSON booleans in the policy or the request read as `true`/`false`.
    assert allows({"Bool": {"aws:MultiFactorAuthPresent": True}}, {"aws:MultiFactorAuthPresent": "true"})
    assert allows({"Bool": {"aws:MultiFactorAuthPresent": "TRUE"}}, {"aws:MultiFactorAuthPresent": True})
    assert not allows({"Bool": {"aws:MultiFactorAuthPresent": False}}, {"aws:MultiFactorAuthPresent": True})
    assert not allows({"Bool": {"aws:MultiFactorAuthPresent": "true"}}, {})
    assert allows({"BoolIfExists": {"aws:MultiFactorAuthPresent": "true"}}, {})
    assert not allows({"BoolIfExists": {"aws:MultiFactorAuthPresent": "true"}}, {"aws:MultiFactorAuthPresent": "false"})
    # There is no negated Bool operator: it fails closed like any unknown one.
    assert not allows({"BoolNot": {"aws:MultiFactorAuthPresent": "false"}}, {"aws:MultiFactorAuthPresent": "true"})
    assert not allows({"BoolEquals": {"aws:MultiFactorAuthPresent": "true"}}, {"aws:MultiFactorAuthPresent": "true"})


def test_unknown_condition_operators_fail_closed():
    unknown = {"DateGreaterThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}}
    allow = policy({"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": unknown})
    assert evaluate([allow], Request("ecs:ListAccountSettings")) is IMPLICIT
    deny = policy({"Effect": "Deny", "Action": "*", "Resource": "*", "Condition": unknown})
    everything = policy({"Effect": "Allow", "Action": "*", "Resource": "*"})
    assert evaluate([everything, deny], Request("ecs:ListAccountSettings")) is DENY
    set_operator = {"ForAnyValue:StringEquals": {"aws:TagKeys": "x"}}
    assert evaluate([policy({"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": set_operator})],
                    Request("ecs:ListAccountSettings", context={"aws:TagKeys": "x"})) is IMPLICIT


# The instance role's policy in templates/eni-trunking.yaml.
INSTANCE_ROLE_POLICY = policy(
    {"Sid": "ChangeAwsvpcTrunkingOnly", "Effect": "Allow",
     "Action": ["ecs:PutAccountSetting", "ecs:DeleteAccountSetting"], "Resource": "*",
     "Condition": {"StringEquals": {"ecs:account-setting": "awsvpcTrunking"}}},
    {"Sid": "ReadAccountSettings", "Effect": "Allow", "Action": ["ecs:ListAccountSettings"], "Resource": "*"},
)


@pytest.mark.parametrize("action, setting, decision", [
    ("ecs:PutAccountSetting", "awsvpcTrunking", ALLOW),
    ("ecs:DeleteAccountSetting", "awsvpcTrunking", ALLOW),
    ("ecs:PutAccountSetting", "containerInsights", IMPLICIT),
    ("ecs:PutAccountSettingDefault", "awsvpcTrunking", IMPLICIT),
    ("ecs:ListAccountSettings", None, ALLOW),
])
def test_the_instance_role_policy(action, setting, decision):
    context = {"ecs:account-setting": setting} if setting else {}
    assert evaluate([INSTANCE_ROLE_POLICY], Request(action, context=context)) is decision


FN_ROLE = "arn:aws:iam::111122223333:role/fn-role"
SESSION = Principal(arns=frozenset({FN_ROLE, "arn:aws:sts::111122223333:assumed-role/fn-role/fn"}), account=ACCOUNT)
LAMBDA = Principal(service="lambda.amazonaws.com")


def trust(*principals):
    return policy(*({"Effect": "Allow", "Principal": p, "Action": "sts:AssumeRole"} for p in principals))


def assume(document, principal):
    return evaluate([document], Request("sts:AssumeRole", "arn:aws:iam::111122223333:role/instance", principal=principal))


def test_trust_policy_principals():
    # reference_policies_elements_principal.html
    assert assume(trust({"AWS": FN_ROLE}), SESSION) is ALLOW  # a role covers its sessions
    assert assume(trust({"AWS": [FN_ROLE + "-other"]}), SESSION) is IMPLICIT
    assert assume(trust({"AWS": "arn:aws:iam::111122223333:root"}), SESSION) is ACCOUNT_ONLY
    assert assume(trust({"AWS": ACCOUNT}), SESSION) is ACCOUNT_ONLY
    assert assume(trust({"AWS": "arn:aws:iam::444455556666:root"}), SESSION) is IMPLICIT
    # A Service principal never matches an IAM caller, and only names that service.
    assert assume(trust({"Service": ["ec2.amazonaws.com", "lambda.amazonaws.com"]}), SESSION) is IMPLICIT
    assert assume(trust({"Service": "lambda.amazonaws.com"}), LAMBDA) is ALLOW
    assert assume(trust({"Service": "ec2.amazonaws.com"}), LAMBDA) is IMPLICIT
    assert assume(trust({"AWS": FN_ROLE, "Service": "ec2.amazonaws.com"}), SESSION) is ALLOW
    assert assume(trust("*"), SESSION) is ALLOW
    # A direct Allow wins over one for the account; an explicit Deny over both.
    assert assume(trust({"AWS": ACCOUNT}, {"AWS": FN_ROLE}), SESSION) is ALLOW
    denied = policy({"Effect": "Deny", "Principal": {"AWS": FN_ROLE}, "Action": "sts:AssumeRole"},
                    {"Effect": "Allow", "Principal": {"AWS": FN_ROLE}, "Action": "sts:AssumeRole"})
    assert assume(denied, SESSION) is DENY
    # NotPrincipal is not supported: fails closed.
    assert assume(policy({"Effect": "Allow", "NotPrincipal": {"AWS": "x"}, "Action": "sts:AssumeRole"}), SESSION) is IMPLICIT


def test_policy_text_and_single_statement_documents():
    text = '{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "ecs:*", "Resource": "*"}}'
    assert evaluate([text], Request("ecs:ListAccountSettings")) is ALLOW
    assert evaluate(["%7B%22Statement%22%3A%5B%5D%7D"], Request("ecs:ListAccountSettings")) is IMPLICIT
    assert evaluate(["not json"], Request("ecs:ListAccountSettings")) is DENY
