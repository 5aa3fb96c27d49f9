"""`Custom::*` resources through LocalStack's CloudFormation, backed by a provided.al2023 function
(`functions/cr_bootstrap.py`): the request, the response protocol as CloudFormation enforces it,
and the pre-signed ResponseURL as S3 enforces it (localstack/README.md, "CloudFormation as AWS
documents it")."""

import json
import re
import time
import urllib.error
import urllib.request

import boto3
import pytest
import yaml
from botocore.config import Config

from conftest import REGION, events, outputs, requests_for, unique, wait_stack



def made_up_id(stack_name):
    """The physical id CloudFormation gives a Create whose failure left none of its own."""
    return re.compile(rf"{re.escape(stack_name)}-Probe-[A-Z0-9]{{12}}")


def template(token, props, service_timeout=None):
    resource = {"Type": "Custom::Probe", "Properties": {"ServiceToken": token, **props}}
    if service_timeout is not None:
        resource["Properties"]["ServiceTimeout"] = service_timeout
    return yaml.safe_dump({
        "Resources": {"Probe": resource},
        "Outputs": {
            "Ref": {"Value": {"Ref": "Probe"}},
            "Echo": {"Value": {"Fn::GetAtt": ["Probe", "Echo"]}},
            "Id": {"Value": {"Fn::GetAtt": ["Probe", "Id"]}},
        },
    })


def create_failing(client, token, props, service_timeout=None):
    """Creates a one-resource stack whose Create is expected to fail; returns its id, the settled
    stack and the resource's CREATE_FAILED reason."""
    cfn = client("cloudformation")
    name = unique("cr-fail")
    stack_id = cfn.create_stack(StackName=name, TemplateBody=template(token, props, service_timeout))["StackId"]
    stack = wait_stack(cfn, stack_id)
    [reason] = [r for (lid, status, r) in events(cfn, stack_id) if lid == "Probe" and status == "CREATE_FAILED"]
    return stack_id, stack, reason


def test_create_update_replace_delete(client, cr_function, records_bucket):
    cfn = client("cloudformation")
    name = unique("cr-stack")
    started = time.monotonic()
    stack_id = cfn.create_stack(StackName=name, TemplateBody=template(cr_function, {"Id": "one", "Echo": "hello", "Number": 5}))["StackId"]
    stack = wait_stack(cfn, name)
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    assert time.monotonic() - started < 20
    assert outputs(stack) == {"Ref": "one", "Echo": "hello", "Id": "one"}
    [create] = requests_for(client, records_bucket, stack_id)
    assert create["RequestType"] == "Create"
    assert create["ResourceType"] == "Custom::Probe"
    # The ResponseURL as CloudFormation's: SigV4 query authentication of the host alone, 2 h.
    assert create["ResponseURL"] == {
        "Bucket": "cloudformation-custom-resource-response-useast1",
        "Key": f"{stack_id}|Probe|{create['RequestId']}",
        "Signed": True, "Algorithm": "AWS4-HMAC-SHA256", "SignedHeaders": "host", "Expires": "7200",
    }
    assert create["_put"] == {"Status": 200}
    # CloudFormation passes property values as strings.
    assert create["ResourceProperties"]["Number"] == "5"
    assert "PhysicalResourceId" not in create

    # In-place update: same physical id, OldResourceProperties carry the previous values.
    cfn.update_stack(StackName=name, TemplateBody=template(cr_function, {"Id": "one", "Echo": "again", "Number": 5}))
    stack = wait_stack(cfn, name)
    assert stack["StackStatus"] == "UPDATE_COMPLETE"
    assert outputs(stack)["Echo"] == "again"
    update = [r for r in requests_for(client, records_bucket, stack_id) if r["RequestType"] == "Update"][0]
    assert update["PhysicalResourceId"] == "one"
    assert update["OldResourceProperties"]["Echo"] == "hello"
    assert update["ResourceProperties"]["Echo"] == "again"

    # Replacement: the function answers a new id; CloudFormation then deletes the old one with its old properties.
    cfn.update_stack(StackName=name, TemplateBody=template(cr_function, {"Id": "two", "Echo": "new"}))
    stack = wait_stack(cfn, name)
    assert stack["StackStatus"] == "UPDATE_COMPLETE"
    assert outputs(stack) == {"Ref": "two", "Echo": "new", "Id": "two"}
    deletes = [r for r in requests_for(client, records_bucket, stack_id) if r["RequestType"] == "Delete"]
    assert len(deletes) == 1
    assert deletes[0]["PhysicalResourceId"] == "one"
    assert deletes[0]["ResourceProperties"]["Echo"] == "again"
    assert cfn.describe_stack_resource(StackName=name, LogicalResourceId="Probe")["StackResourceDetail"]["PhysicalResourceId"] == "two"

    cfn.delete_stack(StackName=name)
    wait_stack(cfn, name)
    deletes = [r for r in requests_for(client, records_bucket, stack_id) if r["RequestType"] == "Delete"]
    assert sorted(d["PhysicalResourceId"] for d in deletes) == ["one", "two"]


def test_failed_response_fails_the_stack_with_the_reason_within_seconds(client, cr_function):
    started = time.monotonic()
    _, stack, reason = create_failing(client, cr_function, {"Fail": "setting name bogus is not valid"})
    assert time.monotonic() - started < 20
    assert stack["StackStatus"] == "ROLLBACK_COMPLETE"
    assert re.fullmatch(
        r"Received response status \[FAILED\] from custom resource\. Message returned: "
        r"setting name bogus is not valid \(RequestId: [0-9a-f-]{36}\)", reason), reason


def test_service_timeout_fails_a_silent_function(client, cr_function, records_bucket):
    started = time.monotonic()
    stack_id, stack, reason = create_failing(client, cr_function, {"Silent": True}, service_timeout=2)
    assert stack["StackStatus"] == "ROLLBACK_COMPLETE"
    assert 2 <= time.monotonic() - started < 20
    create, delete = requests_for(client, records_bucket, stack_id)
    assert reason == (
        "CloudFormation did not receive a response from your Custom Resource. "
        f"Please check your logs for requestId [{create['RequestId']}]. If you are using the Python "
        "cfn-response module, you may need to update your Lambda function code so that "
        "CloudFormation can attach the updated version.")
    # Nothing named what the function did: the rollback's Delete names an id CloudFormation made up.
    assert made_up_id(stack["StackName"]).fullmatch(delete["PhysicalResourceId"]), delete


# ------------------------------------------------------------------------------------------------
# The response object (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/crpg-ref-responses.html)

INVALID_RESPONSES = {
    # "The total size of the response body can't exceed 4096 bytes."
    "too_long": ({"Response": json.dumps({"Data": {"Pad": "x" * 4096}})}, "Response object is too long.", None),
    "not_json": ({"Body": "this is not JSON"}, "Invalid Response object: the response body is not a JSON object.", None),
    # StackId, RequestId, LogicalResourceId: "This response value should be copied verbatim from the request."
    "wrong_request_id": (
        {"Response": json.dumps({"RequestId": "not-the-request"})},
        "Invalid Response object: RequestId must be copied from the request ({request_id}).", None),
    "missing_stack_id": (
        {"Response": json.dumps({"StackId": None})},
        "Invalid Response object: StackId must be copied from the request ({stack_id}).", None),
    "wrong_logical_id": (
        {"Response": json.dumps({"LogicalResourceId": "Other"})},
        "Invalid Response object: LogicalResourceId must be copied from the request (Probe).", None),
    # Status: "Must be either SUCCESS or FAILED."
    "invalid_status": (
        {"Response": json.dumps({"Status": "FAILURE"})},
        "Invalid Response object: 'FAILURE' is not a valid ResponseStatus", None),
    # PhysicalResourceId: "Required: Yes"; without it CloudFormation reports only this, not the Reason.
    "failed_without_physical_id": (
        {"Fail": "the real reason", "Response": json.dumps({"PhysicalResourceId": None})}, "Invalid PhysicalResourceId", None),
    "success_with_empty_physical_id": ({"Id": ""}, "Invalid PhysicalResourceId", None),
    # Reason: "Required if Status is FAILED."
    "failed_without_reason": (
        {"Response": json.dumps({"Status": "FAILED", "Reason": None})},
        "Invalid Response object: Reason is required when Status is FAILED.", "cr-default"),
}


@pytest.mark.parametrize("case", INVALID_RESPONSES)
def test_an_invalid_response_fails_the_resource_and_rolls_back(client, cr_function, records_bucket, case):
    props, expected, answered_id = INVALID_RESPONSES[case]
    stack_id, stack, reason = create_failing(client, cr_function, props)
    create, delete = requests_for(client, records_bucket, stack_id)
    assert reason == expected.format(request_id=create["RequestId"], stack_id=stack_id)
    assert stack["StackStatus"] == "ROLLBACK_COMPLETE"
    # The rollback's Delete names the id the function answered, or else one CloudFormation made up.
    assert delete["RequestType"] == "Delete"
    if answered_id:
        assert delete["PhysicalResourceId"] == answered_id
    else:
        assert made_up_id(stack["StackName"]).fullmatch(delete["PhysicalResourceId"]), delete


# ------------------------------------------------------------------------------------------------
# The pre-signed ResponseURL, as S3 checks it


@pytest.mark.parametrize("url, status, code, message", [
    ("tamper", 403, "SignatureDoesNotMatch", None),
    ("expired", 403, "AccessDenied", "Request has expired"),
])
def test_an_answer_s3_refuses_is_no_answer(client, cr_function, records_bucket, url, status, code, message):
    stack_id, stack, reason = create_failing(client, cr_function, {"Url": url}, service_timeout=3)
    create, _delete = requests_for(client, records_bucket, stack_id)
    assert create["_put"]["Status"] == status and create["_put"]["Code"] == code, create["_put"]
    if message:
        assert create["_put"]["Message"] == message
    assert reason.startswith("CloudFormation did not receive a response from your Custom Resource.")
    assert stack["StackStatus"] == "ROLLBACK_COMPLETE"


def test_other_buckets_keep_localstacks_lax_presigned_urls(client, endpoint):
    """Only the response buckets are strict: the rest of S3 keeps S3_SKIP_SIGNATURE_VALIDATION."""
    signer = boto3.client("s3", endpoint_url=endpoint, region_name=REGION, aws_access_key_id="test",
                          aws_secret_access_key="not-the-secret", config=Config(signature_version="s3v4"))

    def put(bucket):
        url = signer.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": "k"}, ExpiresIn=60)
        req = urllib.request.Request(url, data=b"x", method="PUT", headers={"Content-Type": ""})
        try:
            with urllib.request.urlopen(req) as r:
                return r.status
        except urllib.error.HTTPError as e:
            return e.code

    bucket = unique("lax")
    client("s3").create_bucket(Bucket=bucket)
    assert put(bucket) == 200
    assert put("cloudformation-custom-resource-response-useast1") == 403
