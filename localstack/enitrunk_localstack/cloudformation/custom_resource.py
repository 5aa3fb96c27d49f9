"""CloudFormation custom resources (`Custom::*`, `AWS::CloudFormation::CustomResource`).

LocalStack 4.13.1 community has no provider for them: its CloudFormation engine (v2, the
default) maps every `Custom::*` type to the plugin named `AWS::CloudFormation::CustomResource` in
the `localstack.cloudformation.resource_providers` namespace and finds none. This provider speaks
the protocol as CloudFormation does
(https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/crpg-ref.html):

- the request carries a pre-signed S3 `ResponseURL` (PUT, SigV4 query auth, host the only signed
  header, valid 2 h, as in the URLs CloudFormation issues) to an object in a bucket of LocalStack's
  internal account, so the function answers with a plain HTTP PUT; S3 checks its signature and
  expiry as AWS does (`response_bucket`);
- the function (the `ServiceToken` Lambda ARN) is invoked asynchronously (`Event`);
- CloudFormation then waits for the response object, up to `ServiceTimeout` seconds
  (1-3600, default 3600), polling with a short backoff rather than fixed one-second sleeps;
- `ResourceProperties` values are passed as strings, as CloudFormation does;
- `FAILED` fails the resource with the function's `Reason`; `SUCCESS` gives the physical id
  (`!Ref`) and `Data` (`Fn::GetAtt`); a response that breaks the protocol fails the resource
  (`judge`, localstack/README.md lists each rule and its source);
- a Create that failed after its request was sent keeps a physical id, the one its `FAILED`
  response carried or else one CloudFormation makes up, so the rollback sends the function a
  Delete for it (`rollback`).

The resource model kept by the engine holds the `Data` keys at top level (the engine resolves
`Fn::GetAtt X.Key` from the model), the physical id, and the properties the function last
succeeded with, which become `OldResourceProperties` on Update and the properties of a Delete.
A changed physical id on Update is a replacement: `engine_patches` sends the Delete for the old id.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from dataclasses import dataclass

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from localstack import config
from localstack.aws.connect import connect_to
from localstack.constants import INTERNAL_AWS_SECRET_ACCESS_KEY
from localstack.services.cloudformation.resource_provider import (
    OperationStatus,
    ProgressEvent,
    ResourceProvider,
    ResourceRequest,
)
from localstack.services.s3.constants import DEFAULT_PRE_SIGNED_SECRET_ACCESS_KEY

from enitrunk_localstack.cloudformation.common import generated_name, plugin, success

LOG = logging.getLogger(__name__)

# Keys of the resource model that are not `Data`; the prefix keeps them apart from Data keys.
PHYSICAL_ID = "PhysicalResourceId"
PROPERTIES = "Enitrunk::ResourceProperties"

DEFAULT_SERVICE_TIMEOUT_S = 3600
MAX_RESPONSE_BYTES = 4096
MAX_PHYSICAL_ID_BYTES = 1024
# Not documented; the URLs CloudFormation issues say `X-Amz-Expires=7200`.
PRESIGN_EXPIRY_S = 7200
RESPONSE_BUCKET_PREFIX = "cloudformation-custom-resource-response-"
# Copied verbatim from the request into the response (crpg-ref-responses.html).
ECHOED_FIELDS = ("StackId", "RequestId", "LogicalResourceId")


def stringify(value):
    """CloudFormation hands custom resources every scalar property as a string."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, dict):
        return {k: stringify(v) for k, v in value.items()}
    if isinstance(value, list):
        return [stringify(v) for v in value]
    return value


def service_timeout(properties: dict) -> int:
    raw = properties.get("ServiceTimeout")
    if raw is None or raw == "":
        return DEFAULT_SERVICE_TIMEOUT_S
    try:
        value = int(str(raw))
    except ValueError:
        raise ValueError(f"ServiceTimeout must be an integer between 1 and 3600, got {raw!r}") from None
    if not 1 <= value <= 3600:
        raise ValueError(f"ServiceTimeout must be between 1 and 3600 seconds, got {value}")
    return value


def response_bucket(region: str) -> str:
    """The bucket's name as on AWS: "AWS Region names don't contain dashes. For example, `uswest2`"
    (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cfn-vpce-bucketnames.html)."""
    return RESPONSE_BUCKET_PREFIX + region.replace("-", "")


def is_response_bucket(bucket: str | None) -> bool:
    return bool(bucket) and bucket.startswith(RESPONSE_BUCKET_PREFIX)


class ResponseChannel:
    """The S3 object a function answers into, and the pre-signed URL it PUTs to."""

    def __init__(self, region: str, stack_id: str, logical_id: str, request_id: str):
        self.region = region
        self.bucket = response_bucket(region)
        # As CloudFormation names it: the stack ARN as it is, the logical id, the request id.
        self.key = f"{stack_id}|{logical_id}|{request_id}"
        self._s3 = connect_to(
            aws_access_key_id=config.INTERNAL_RESOURCE_ACCOUNT,
            aws_secret_access_key=INTERNAL_AWS_SECRET_ACCESS_KEY,
            region_name=region,
        ).s3

    def ensure_bucket(self) -> None:
        kwargs = {"Bucket": self.bucket}
        if self.region != "us-east-1":
            kwargs["CreateBucketConfiguration"] = {"LocationConstraint": self.region}
        try:
            self._s3.create_bucket(**kwargs)
        except ClientError as e:
            if e.response["Error"]["Code"] not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                raise

    def presigned_put_url(self) -> str:
        # Signed like AWS's (SigV4 query parameters), for the address functions reach LocalStack at.
        # S3 validates a pre-signed URL whose access key IAM does not know against LocalStack's
        # default pre-signing secret (`presigned_url.get_credentials_from_parameters`).
        client = boto3.client(
            "s3",
            region_name=self.region,
            endpoint_url=config.external_service_url(),
            aws_access_key_id=config.INTERNAL_RESOURCE_ACCOUNT,
            aws_secret_access_key=DEFAULT_PRE_SIGNED_SECRET_ACCESS_KEY,
            config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
        )
        return client.generate_presigned_url(
            "put_object", Params={"Bucket": self.bucket, "Key": self.key}, ExpiresIn=PRESIGN_EXPIRY_S
        )

    def wait(self, timeout_s: float) -> bytes | None:
        """The response body, or None after `timeout_s`. Backoff 20 ms → 500 ms."""
        deadline = time.monotonic() + timeout_s
        delay = 0.02
        while True:
            try:
                obj = self._s3.get_object(Bucket=self.bucket, Key=self.key)
                body = obj["Body"].read()
                self._s3.delete_object(Bucket=self.bucket, Key=self.key)
                return body
            except ClientError as e:
                if e.response["Error"]["Code"] not in ("NoSuchKey", "404"):
                    raise
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            time.sleep(min(delay, remaining))
            delay = min(delay * 1.5, 0.5)


@dataclass(frozen=True)
class Verdict:
    """What CloudFormation makes of a response: `reason` is None for a valid `SUCCESS`."""

    reason: str | None
    physical_id: str | None = None
    data: dict | None = None


def judge(body: bytes, request: dict) -> Verdict:
    """A response body as CloudFormation reads it, for the request `request` (its echoed fields).

    Each rule and its source (the documentation, or public reports where it is silent) is in
    localstack/README.md. A `FAILED` response keeps its physical id when it has a valid one, for
    the Delete of the rollback.
    """
    if len(body) > MAX_RESPONSE_BYTES:
        return Verdict("Response object is too long.")
    try:
        response = json.loads(body)
    except ValueError:
        response = None
    if not isinstance(response, dict):
        return Verdict("Invalid Response object: the response body is not a JSON object.")
    for field in ECHOED_FIELDS:
        if response.get(field) != request[field]:
            return Verdict(f"Invalid Response object: {field} must be copied from the request ({request[field]}).")
    status = response.get("Status")
    if status not in ("SUCCESS", "FAILED"):
        return Verdict(f"Invalid Response object: '{status}' is not a valid ResponseStatus")
    physical_id = response.get("PhysicalResourceId")
    if not isinstance(physical_id, str) or not physical_id:
        # Reported: CloudFormation then says only this, even for a FAILED with a Reason.
        return Verdict("Invalid PhysicalResourceId")
    if len(physical_id.encode()) > MAX_PHYSICAL_ID_BYTES:
        return Verdict("Invalid PhysicalResourceId: longer than 1 KB.")
    if status == "FAILED":
        reason = response.get("Reason")
        if not isinstance(reason, str) or not reason:
            return Verdict("Invalid Response object: Reason is required when Status is FAILED.", physical_id)
        return Verdict(
            f"Received response status [FAILED] from custom resource. Message returned: {reason} "
            f"(RequestId: {request['RequestId']})",
            physical_id,
        )
    data = response.get("Data")
    if data is None:
        data = {}
    if not isinstance(data, dict):
        return Verdict("Invalid Response object: Data must be a JSON object.", physical_id)
    return Verdict(None, physical_id, data)


class CustomResourceProvider(ResourceProvider[dict]):
    SCHEMA = {
        "typeName": "AWS::CloudFormation::CustomResource",
        "properties": {"ServiceToken": {"type": "string"}, "ServiceTimeout": {"type": "string"}},
        "required": ["ServiceToken"],
        # Replacement is the function's decision (a new PhysicalResourceId), never the engine's.
        "createOnlyProperties": [],
        "primaryIdentifier": [f"/properties/{PHYSICAL_ID}"],
        "readOnlyProperties": [f"/properties/{PHYSICAL_ID}"],
    }

    def create(self, request: ResourceRequest[dict]) -> ProgressEvent[dict]:
        props = request.desired_state or {}
        return self._run(request, "Create", props, old_props=None, physical_id=None)

    def update(self, request: ResourceRequest[dict]) -> ProgressEvent[dict]:
        model = request.previous_state or {}
        return self._run(
            request,
            "Update",
            request.desired_state or {},
            old_props=model.get(PROPERTIES, {}),
            physical_id=model.get(PHYSICAL_ID),
        )

    def delete(self, request: ResourceRequest[dict]) -> ProgressEvent[dict]:
        model = request.desired_state or {}
        physical_id = model.get(PHYSICAL_ID)
        props = model.get(PROPERTIES)
        if physical_id is None or props is None:
            # No request was ever sent for this resource (its Create failed before that).
            return success({})
        return self._run(request, "Delete", props, old_props=None, physical_id=physical_id)

    # ----------------------------------------------------------------------------------------

    def _run(
        self,
        request: ResourceRequest[dict],
        request_type: str,
        props: dict,
        old_props: dict | None,
        physical_id: str | None,
    ) -> ProgressEvent[dict]:
        def failed(message: str, sent: bool = False, answered_id: str | None = None) -> ProgressEvent[dict]:
            if request_type != "Create":
                # A failed Update/Delete leaves the resource as it was.
                model = request.previous_state or {}
            elif sent:
                # The function may have done part of the work: the rollback's Delete names it, by
                # the id the function answered or else by one CloudFormation makes up (reported
                # in https://github.com/remind101/empire/issues/918).
                model = {PHYSICAL_ID: answered_id or generated_name(request), PROPERTIES: props}
            else:
                model = {}
            return ProgressEvent(OperationStatus.FAILED, resource_model=model, message=message)

        token = props.get("ServiceToken")
        if not token:
            return failed("Property ServiceToken cannot be empty.")
        if ":lambda:" not in str(token):
            return failed(f"ServiceToken {token} is not a Lambda function ARN; only Lambda-backed custom resources are supported.")
        try:
            timeout_s = service_timeout(props)
        except ValueError as e:
            return failed(str(e))

        request_id = str(uuid.uuid4())
        channel = ResponseChannel(request.region_name, request.stack_id, request.logical_resource_id, request_id)
        channel.ensure_bucket()
        event = {
            "RequestType": request_type,
            "ServiceToken": token,
            "ResponseURL": channel.presigned_put_url(),
            "StackId": request.stack_id,
            "RequestId": request_id,
            "LogicalResourceId": request.logical_resource_id,
            "ResourceType": request.resource_type,
            "ResourceProperties": stringify(props),
        }
        if physical_id is not None:
            event["PhysicalResourceId"] = physical_id
        if old_props is not None:
            event["OldResourceProperties"] = stringify(old_props)
        # ResponseURL is a bearer credential: log only what identifies the request.
        LOG.info(
            "custom resource %s %s (%s) request %s -> %s",
            request_type,
            request.logical_resource_id,
            request.resource_type,
            request_id,
            token,
        )
        try:
            request.aws_client_factory.lambda_.invoke(
                FunctionName=token, InvocationType="Event", Payload=json.dumps(event).encode()
            )
        except ClientError as e:
            return failed(f"Failed to invoke {token}: {e.response['Error'].get('Message', e)}")

        body = channel.wait(timeout_s)
        if body is None:
            return failed(
                "CloudFormation did not receive a response from your Custom Resource. "
                f"Please check your logs for requestId [{request_id}]. If you are using the Python "
                "cfn-response module, you may need to update your Lambda function code so that "
                "CloudFormation can attach the updated version.",
                sent=True,
            )
        verdict = judge(body, event)
        if verdict.reason is not None:
            return failed(verdict.reason, sent=True, answered_id=verdict.physical_id)
        if request_type == "Delete":
            return success({})
        return success({**verdict.data, PHYSICAL_ID: verdict.physical_id, PROPERTIES: props})


CustomResourceProviderPlugin = plugin("AWS::CloudFormation::CustomResource", CustomResourceProvider)
