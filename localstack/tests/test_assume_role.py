"""`sts:AssumeRole` as AWS decides it: the role exists, its trust policy names the caller (or the
caller's account, and then the caller's identity policies allow the call), and no Deny; never as root.

moto assumes any ARN for anyone; the extension checks before moto creates the session
(`auth.assume_role`).
"""

import json

import pytest
from botocore.exceptions import ClientError

from conftest import FUNCTIONS, allow, bootstrap_zip, create_function, create_role, create_user, refusal, unique


def assume(client, creds, role_arn):
    return client("sts", creds).assume_role(RoleArn=role_arn, RoleSessionName="session")["Credentials"]


def message(caller_arn, role_arn):
    return f"User: {caller_arn} is not authorized to perform: sts:AssumeRole on resource: {role_arn}"


def test_the_root_user_may_not_assume_roles(client, account):
    role = create_role(client, {"AWS": f"arn:aws:iam::{account}:root"})
    assert refusal(lambda: assume(client, None, role)) == ("AccessDenied", 403, "Roles may not be assumed by root accounts.")


def test_a_role_that_does_not_exist_cannot_be_assumed(client, operator, account):
    missing = f"arn:aws:iam::{account}:role/{unique('missing')}"
    assert refusal(lambda: assume(client, operator, missing)) == ("AccessDenied", 403, message(operator["Arn"], missing))


def test_a_trust_policy_naming_the_account_needs_an_identity_policy(client, account):
    role = create_role(client, {"AWS": account})
    nobody = create_user(client)
    assert refusal(lambda: assume(client, nobody, role)) == ("AccessDenied", 403, message(nobody["Arn"], role))
    # Allowed on another role only: still refused.
    other = create_user(client, allow("sts:AssumeRole", resource=role + "-other"))
    assert refusal(lambda: assume(client, other, role))[0] == "AccessDenied"
    allowed = create_user(client, allow("sts:AssumeRole", resource=role))
    assume(client, allowed, role)


def test_a_trust_policy_naming_the_caller_needs_no_identity_policy_in_the_same_account(client):
    """STS API reference, AssumeRole: "Add the user as a principal directly in the role's trust
    policy. [...] When a resource-based policy grants access to a principal in the same account, no
    additional identity-based policy is required.\""""
    user = create_user(client)
    role = create_role(client, {"AWS": user["Arn"]})
    assume(client, user, role)
    assert refusal(lambda: assume(client, create_user(client, allow("sts:AssumeRole")), role))[0] == "AccessDenied"


def test_a_session_of_a_trusted_role_counts_as_that_role(client, operator, account):
    """The function's role (trusted by the instance role) assumes the instance role, as in the templates."""
    function_role = create_role(client, {"AWS": account}, path="/enitrunk/")
    instance_role = create_role(client, {"Service": "ec2.amazonaws.com"}, {"AWS": function_role})
    session = assume(client, operator, function_role)
    assume(client, session, instance_role)
    # A session of another role is not trusted, whatever its identity policies say.
    other_role = create_role(client, {"AWS": account})
    client("iam").put_role_policy(RoleName=other_role.rsplit("/", 1)[1], PolicyName="p", PolicyDocument=allow("sts:AssumeRole"))
    other = assume(client, operator, other_role)
    other_arn = client("sts", other).get_caller_identity()["Arn"]
    assert refusal(lambda: assume(client, other, instance_role)) == ("AccessDenied", 403, message(other_arn, instance_role))


def test_a_service_principal_does_not_match_an_iam_caller(client, operator):
    role = create_role(client, {"Service": ["ec2.amazonaws.com", "lambda.amazonaws.com"]})
    assert refusal(lambda: assume(client, operator, role)) == ("AccessDenied", 403, message(operator["Arn"], role))


def test_an_explicit_deny_wins(client, account):
    user = create_user(client)
    role = create_role(client, {"AWS": user["Arn"]})
    deny = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Deny", "Action": "sts:AssumeRole", "Resource": "*"}]})
    client("iam").put_user_policy(UserName=user["UserName"], PolicyName="deny", PolicyDocument=deny)
    assert refusal(lambda: assume(client, user, role))[0] == "AccessDenied"
    # In the trust policy as well.
    trusted = create_user(client)
    document = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": trusted["Arn"]}, "Action": "sts:AssumeRole"},
        {"Effect": "Deny", "Principal": {"AWS": trusted["Arn"]}, "Action": "sts:AssumeRole",
         "Condition": {"StringEquals": {"sts:RoleSessionName": "session"}}}]})
    guarded = client("iam").create_role(RoleName=unique("role"), AssumeRolePolicyDocument=document)["Role"]["Arn"]
    assert refusal(lambda: assume(client, trusted, guarded))[0] == "AccessDenied"
    client("sts", trusted).assume_role(RoleArn=guarded, RoleSessionName="other-session")


def test_lambda_needs_a_role_that_trusts_lambda(client):
    """Lambda assumes the execution role itself; CreateFunction refuses a role it cannot assume."""
    role = create_role(client, {"Service": "ec2.amazonaws.com"})
    with pytest.raises(ClientError) as e:
        create_function(client, role, bootstrap_zip(FUNCTIONS / "echo_bootstrap.py"))
    assert e.value.response["Error"]["Code"] == "InvalidParameterValueException"
    assert "cannot be assumed by Lambda" in e.value.response["Error"]["Message"]
