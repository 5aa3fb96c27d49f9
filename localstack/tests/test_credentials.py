"""Only known credentials act: LocalStack's documented root keys, IAM users' keys, STS sessions' keys.

Anything else is refused as AWS refuses it ("The security token included in the request is
invalid."), on every service the extension covers (`auth.gateway.COVERED`).
"""

import json
import urllib.error
import urllib.request

import boto3
import pytest

from conftest import ENDPOINT, FUNCTIONS, REGION, bootstrap_zip, create_function, create_role, create_user, refusal

UNKNOWN = {"AccessKeyId": "LKIAQAAAAAAAMADEUPXX", "SecretAccessKey": "x"}
INVALID = "The security token included in the request is invalid."


@pytest.mark.parametrize("key", ["AKIAIOSFODNN7EXAMPLE", "LKIAQAAAAAAAMADEUPXX", "LSIAQAAAAAAAMADEUPXX", "foobar123", "00000000000"])
def test_unknown_access_keys_are_refusal(client, key):
    creds = {"AccessKeyId": key, "SecretAccessKey": "x"}
    assert refusal(lambda: client("sts", creds).get_caller_identity()) == ("InvalidClientTokenId", 403, INVALID)
    assert refusal(lambda: client("iam", creds).list_roles()) == ("InvalidClientTokenId", 403, INVALID)
    assert refusal(lambda: client("ecs", creds).list_account_settings()) == ("UnrecognizedClientException", 400, INVALID)


def test_unknown_keys_are_refused_by_lambda_invoke_and_the_other_covered_services(client, role):
    name = create_function(client, role, bootstrap_zip(FUNCTIONS / "echo_bootstrap.py"))
    lam = client("lambda", UNKNOWN)
    assert refusal(lambda: lam.invoke(FunctionName=name, Payload=b"{}")) == ("UnrecognizedClientException", 403, INVALID)
    assert refusal(lambda: client("cloudformation", UNKNOWN).list_stacks())[:2] == ("InvalidClientTokenId", 403)
    assert refusal(lambda: client("autoscaling", UNKNOWN).describe_auto_scaling_groups())[:2] == ("InvalidClientTokenId", 403)
    assert refusal(lambda: client("ssm", UNKNOWN).describe_parameters())[:2] == ("UnrecognizedClientException", 400)
    assert refusal(lambda: client("logs", UNKNOWN).describe_log_groups())[:2] == ("UnrecognizedClientException", 400)
    assert refusal(lambda: client("ec2", UNKNOWN).describe_vpcs())[:2] == ("AuthFailure", 401)
    # S3 is not covered (anonymous and pre-signed access).
    client("s3", UNKNOWN).list_buckets()


@pytest.mark.parametrize("key, account", [("test", "000000000000"), ("123456789012", "123456789012")])
def test_documented_root_keys_act_as_the_accounts_root(client, key, account):
    identity = client("sts", {"AccessKeyId": key, "SecretAccessKey": "test"}).get_caller_identity()
    assert (identity["Account"], identity["Arn"]) == (account, f"arn:aws:iam::{account}:root")


def test_an_iam_users_key_acts_as_that_user_while_active(client):
    user = create_user(client)
    assert client("sts", user).get_caller_identity()["Arn"] == user["Arn"]
    client("iam").update_access_key(UserName=user["UserName"], AccessKeyId=user["AccessKeyId"], Status="Inactive")
    assert refusal(lambda: client("sts", user).get_caller_identity()) == ("InvalidClientTokenId", 403, INVALID)
    client("iam").update_access_key(UserName=user["UserName"], AccessKeyId=user["AccessKeyId"], Status="Active")
    client("iam").delete_access_key(UserName=user["UserName"], AccessKeyId=user["AccessKeyId"])
    assert refusal(lambda: client("sts", user).get_caller_identity())[0] == "InvalidClientTokenId"


def test_a_session_key_acts_as_the_session_only_with_its_token(client, assume, account):
    arn = create_role(client, {"AWS": account})
    role = client("iam").get_role(RoleName=arn.rsplit("/", 1)[1])["Role"]
    creds = assume(arn, session="alice")
    identity = client("sts", creds).get_caller_identity()
    assert identity["Arn"] == f"arn:aws:sts::{account}:assumed-role/{role['RoleName']}/alice"
    assert identity["UserId"] == f"{role['RoleId']}:alice"
    without_token = {k: v for k, v in creds.items() if k != "SessionToken"}
    assert refusal(lambda: client("sts", without_token).get_caller_identity()) == ("InvalidClientTokenId", 403, INVALID)
    wrong_token = {**creds, "SessionToken": creds["SessionToken"][:-4] + "AAAA"}
    assert refusal(lambda: client("ecs", wrong_token).list_account_settings()) == ("UnrecognizedClientException", 400, INVALID)


def test_a_presigned_request_is_authenticated_by_its_query_credentials(client):
    """(LocalStack then serves it as the account: moto reads the caller from the header only.)"""
    def presigned(creds):
        sts = boto3.client("sts", endpoint_url=ENDPOINT, region_name=REGION, aws_access_key_id=creds["AccessKeyId"],
                           aws_secret_access_key=creds["SecretAccessKey"])
        return sts.generate_presigned_url("get_caller_identity")

    user = create_user(client)
    with urllib.request.urlopen(presigned(user)) as r:
        assert b"<GetCallerIdentityResult>" in r.read()
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(presigned(UNKNOWN))
    assert e.value.code == 403 and b"InvalidClientTokenId" in e.value.read()


def test_an_unsigned_request_is_refusal():
    body = "Action=GetCallerIdentity&Version=2011-06-15".encode()
    request = urllib.request.Request(ENDPOINT, data=body, headers={"Content-Type": "application/x-www-form-urlencoded"})
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(request)
    assert e.value.code == 403 and b"MissingAuthenticationToken" in e.value.read()
    ecs = urllib.request.Request(ENDPOINT, data=json.dumps({}).encode(), headers={
        "Content-Type": "application/x-amz-json-1.1",
        "X-Amz-Target": "AmazonEC2ContainerServiceV20141113.ListAccountSettings"})
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(ecs)
    assert e.value.code == 403 and b"MissingAuthenticationTokenException" in e.value.read()
