"""Shared fixtures: boto3 clients for the LocalStack that `localstack/run test` started, the
custom-resource test function (`functions/cr_bootstrap.py`) with the bucket it records requests
in, and stack helpers.

The endpoint comes from ENITRUNK_LOCALSTACK_ENDPOINT (default http://127.0.0.1:4566). Tests that
need LocalStack fail with a clear message when it does not answer.
"""

import io
import json
import os
import sys
import time
import urllib.request
import uuid
import zipfile
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError

ENDPOINT = os.environ.get("ENITRUNK_LOCALSTACK_ENDPOINT", "http://127.0.0.1:4566")
REGION = "us-east-1"
FUNCTIONS = Path(__file__).parent / "functions"

# Lets `import enitrunk_localstack...` work for the pure-logic tests even without the install.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


@pytest.fixture(scope="session")
def endpoint():
    try:
        with urllib.request.urlopen(f"{ENDPOINT}/_localstack/health", timeout=5) as r:
            r.read()
    except OSError as e:
        pytest.fail(f"LocalStack does not answer at {ENDPOINT} ({e}); start it with `localstack/run start`")
    return ENDPOINT


@pytest.fixture(scope="session")
def client(endpoint):
    def make(service, credentials=None):
        creds = credentials or {"AccessKeyId": "test", "SecretAccessKey": "test"}
        return boto3.client(
            service,
            endpoint_url=endpoint,
            region_name=REGION,
            aws_access_key_id=creds["AccessKeyId"],
            aws_secret_access_key=creds["SecretAccessKey"],
            aws_session_token=creds.get("SessionToken"),
        )

    return make


def unique(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def trust_policy(*principals):
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": p, "Action": "sts:AssumeRole"} for p in principals],
        }
    )


def allow(actions, resource="*", condition=None):
    """An identity-based policy document with one Allow statement."""
    statement = {"Effect": "Allow", "Action": actions, "Resource": resource}
    if condition:
        statement["Condition"] = condition
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def refusal(call):
    """The error code, HTTP status and message of a call that must fail."""
    with pytest.raises(ClientError) as e:
        call()
    r = e.value.response
    return r["Error"]["Code"], r["ResponseMetadata"]["HTTPStatusCode"], r["Error"].get("Message")


def create_role(client, *principals, path="/", policy=None, managed=()):
    """A new role trusting `principals`, with an inline policy and managed policies: its ARN."""
    iam = client("iam")
    name = unique("role")
    arn = iam.create_role(RoleName=name, Path=path, AssumeRolePolicyDocument=trust_policy(*principals))["Role"]["Arn"]
    if policy is not None:
        iam.put_role_policy(RoleName=name, PolicyName="policy", PolicyDocument=policy)
    for managed_arn in managed:
        iam.attach_role_policy(RoleName=name, PolicyArn=managed_arn)
    return arn


@pytest.fixture(scope="session")
def account(client):
    return client("sts").get_caller_identity()["Account"]


def create_user(client, policy=None, name=None):
    """A new IAM user with an access key (and an inline policy): its credentials, with its ARN."""
    iam = client("iam")
    name = name or unique("user")
    arn = iam.create_user(UserName=name)["User"]["Arn"]
    if policy is not None:
        iam.put_user_policy(UserName=name, PolicyName="policy", PolicyDocument=policy)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return {"AccessKeyId": key["AccessKeyId"], "SecretAccessKey": key["SecretAccessKey"], "Arn": arn, "UserName": name}


@pytest.fixture(scope="session")
def operator(client):
    """An IAM user that may assume roles that trust the account (the root user may not assume roles)."""
    return create_user(client, allow("sts:AssumeRole"), unique("operator"))


@pytest.fixture
def assume(client, operator):
    """Credentials of a new session of a role, assumed by `operator`."""

    def run(role_arn, session=None):
        sts = client("sts", operator)
        return sts.assume_role(RoleArn=role_arn, RoleSessionName=session or unique("session"))["Credentials"]

    return run


@pytest.fixture
def role(client):
    """A new IAM role that Lambda and EC2 may assume."""
    iam = client("iam")
    name = unique("role")
    arn = iam.create_role(
        RoleName=name,
        AssumeRolePolicyDocument=trust_policy({"Service": "lambda.amazonaws.com"}, {"Service": "ec2.amazonaws.com"}),
    )["Role"]["Arn"]
    return arn


def bootstrap_zip(script: Path | None = None, binary: Path | None = None) -> bytes:
    """A deployment package whose `bootstrap` is a Python script (run by this venv's Python) or a binary."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        info = zipfile.ZipInfo("bootstrap")
        info.external_attr = 0o100755 << 16
        if binary is not None:
            z.writestr(info, binary.read_bytes())
        else:
            z.writestr(info, f"#!{sys.executable}\n" + script.read_text())
    return buf.getvalue()


def create_function(client, role_arn, package: bytes, timeout=10, env=None, name=None, **extra):
    lam = client("lambda")
    name = name or unique("fn")
    lam.create_function(
        FunctionName=name,
        Runtime="provided.al2023",
        Role=role_arn,
        Handler="bootstrap",
        Code={"ZipFile": package},
        Timeout=timeout,
        MemorySize=128,
        Environment={"Variables": env or {}},
        **extra,
    )
    lam.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig={"Delay": 0.2, "MaxAttempts": 300})
    return name


def lambda_trust_role(client):
    """A new IAM role that only Lambda may assume."""
    return client("iam").create_role(
        RoleName=unique("cr-fn"),
        AssumeRolePolicyDocument=trust_policy({"Service": "lambda.amazonaws.com"}),
    )["Role"]["Arn"]


@pytest.fixture(scope="session")
def records_bucket(client):
    name = unique("cr-records")
    client("s3").create_bucket(Bucket=name)
    return name


@pytest.fixture(scope="session")
def cr_function(client, records_bucket):
    """The ARN of `functions/cr_bootstrap.py` as a provided.al2023 function."""
    package = bootstrap_zip(FUNCTIONS / "cr_bootstrap.py")
    name = create_function(client, lambda_trust_role(client), package, env={"RECORD_BUCKET": records_bucket})
    return client("lambda").get_function(FunctionName=name)["Configuration"]["FunctionArn"]


def requests_for(client, bucket, stack_id, logical_id="Probe"):
    """The requests `cr_bootstrap` got for `logical_id` of stack `stack_id`, oldest first; each
    with `_put`, what S3 answered to its response (None if it did not answer)."""
    s3 = client("s3")
    out = []
    for obj in s3.list_objects_v2(Bucket=bucket, Prefix=f"{logical_id}/").get("Contents", []):
        if obj["Key"].endswith(".put"):
            continue
        rec = json.loads(s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read())
        if rec["StackId"] != stack_id:
            continue
        try:
            put = s3.get_object(Bucket=bucket, Key=obj["Key"] + ".put")["Body"].read()
            rec["_put"] = json.loads(put)
        except s3.exceptions.NoSuchKey:
            rec["_put"] = None
        out.append(rec)
    return sorted(out, key=lambda r: r["ReceivedAt"])


def wait_stack(cfn, name, timeout=60):
    """The stack once no longer IN_PROGRESS (`{"StackStatus": "DELETE_COMPLETE"}` once gone)."""
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


def events(cfn, stack):
    """The stack's events, oldest first, as (logical id, status, reason) triples."""
    found = cfn.describe_stack_events(StackName=stack)["StackEvents"][::-1]
    return [(e["LogicalResourceId"], e["ResourceStatus"], e.get("ResourceStatusReason")) for e in found]
