"""A function's package from S3 (`Code.S3Bucket`/`S3Key`), taken only as Lambda takes it.

LocalStack 4.13.1's `CreateFunction` and `UpdateFunctionCode` read the object whatever the
bucket's Region and whoever owns it, so a template whose package AWS cannot read deploys here.
Lambda:
- takes a package only from its own Region: `S3Bucket` is "An Amazon S3 bucket in the same AWS
  Region as your function. The bucket can be in a different AWS account." (Lambda API reference,
  FunctionCode); otherwise `InvalidParameterValueException` (HTTP 400) "Error occurred while
  GetObject. S3 Error Code: PermanentRedirect. S3 Error Message: The bucket is in this region:
  REGION. Please use this region to retry the request", as AWS answers it (Lambda developer
  guide, "Troubleshoot deployment issues", "Amazon S3: Error Code PermanentRedirect");
- reads it with the caller's credentials ("please make sure your request credentials have
  permission to GetObject"), so S3 authorizes the read as an object operation (S3 user guide,
  "How Amazon S3 authorizes a request for an object operation"): an explicit Deny in the bucket
  policy refuses anyone; a caller of another account needs the bucket owner's Allow (bucket
  context) and, as a user or role session, its own identity-based Allow (user context). Refused:
  `AccessDeniedException` (HTTP 403) "Your access has been denied by S3, please make sure your
  request credentials have permission to GetObject for BUCKET/KEY. S3 Error Code: AccessDenied.
  S3 Error Message: Access Denied", as AWS answers it.

A request handler in LocalStack's gateway, before the Lambda provider; CloudFormation's
`AWS::Lambda::Function` provider calls the Lambda API through the gateway too, as the stack's
account, so its functions (and a stack set's, created in each member account) are judged the
same. The bucket policy is evaluated by `auth.policy`, with the caller's global condition keys
(`auth.authorize.condition_context`), `aws:PrincipalOrgID` when its account is in an
organization (moto's Organizations, `stacksets.organizations`) and `aws:SecureTransport` true
(Lambda reads over TLS). Chosen where AWS is silent: the caller is authenticated first (a
request the authentication handler refuses is left to it), then the Region is checked, then
access; a caller of the bucket's own account is refused only by a Deny (the extension does not
authorize S3 by identity-based policies); LocalStack's internal calls act as their account's root
user; a missing bucket or key is left to LocalStack ("S3 Error Code: NoSuchBucket"/"NoSuchKey").
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from localstack.aws.api import CommonServiceException, RequestContext
from localstack.runtime import hooks

from enitrunk_localstack.auth.authorize import condition_context
from enitrunk_localstack.auth.identity import SESSION, USER, Caller, Unrecognized, Unsigned, caller_of, root_caller
from enitrunk_localstack.auth.policy import Decision, Request, evaluate
from enitrunk_localstack.services.s3_expected_owner import bucket_owner

LOG = logging.getLogger(__name__)

ACTION = "s3:GetObject"
OPERATIONS = ("CreateFunction", "UpdateFunctionCode")


def region_refusal(bucket_region: str) -> CommonServiceException:
    from localstack.aws.api.lambda_ import InvalidParameterValueException

    return InvalidParameterValueException(
        "Error occurred while GetObject. S3 Error Code: PermanentRedirect. S3 Error Message: "
        f"The bucket is in this region: {bucket_region}. Please use this region to retry the request",
        Type="User",
    )


def access_refusal(bucket: str, key: str) -> CommonServiceException:
    return CommonServiceException(
        "AccessDeniedException",
        f"Your access has been denied by S3, please make sure your request credentials have permission to "
        f"GetObject for {bucket}/{key}. S3 Error Code: AccessDenied. S3 Error Message: Access Denied",
        status_code=403,
        sender_fault=True,
    )


def read_context(caller: Caller, organization: str | None) -> dict[str, str]:
    """The condition keys of Lambda's `GetObject` on behalf of `caller`, whose account is in `organization`."""
    context = {**condition_context(caller), "aws:SecureTransport": "true"}
    if organization:
        context["aws:PrincipalOrgID"] = organization
    return context


def may_read(caller: Caller, owner: str, policy: Any, bucket: str, key: str, organization: str | None,
             caller_policies: Iterable[Any] = ()) -> bool:
    """Whether S3 lets `caller` get `bucket/key` of account `owner`, whose bucket policy is `policy`.

    `caller` is a root user, an IAM user or a role session; `organization` the id of the
    organization its account is in; `caller_policies` its identity-based policies (a user's or a
    session's role's), which a caller of another account needs as well.
    """
    resource = f"arn:{caller.partition}:s3:::{bucket}/{key}"
    context = read_context(caller, organization)
    bucket_context = evaluate([policy] if policy else [], Request(ACTION, resource, context, caller.as_principal()))
    if bucket_context is Decision.DENY:
        return False
    if caller.account == owner:
        return True
    if bucket_context is Decision.IMPLICIT_DENY:
        return False
    # Another account's principal needs its own account's permission as well: its root has it.
    if caller.kind in (USER, SESSION):
        return evaluate(list(caller_policies), Request(ACTION, resource, context)) is Decision.ALLOW
    return True


def code_location(operation: str, request: dict) -> tuple[str, str] | None:
    """(bucket, key) of a CreateFunction or UpdateFunctionCode that takes its package from S3."""
    if operation not in OPERATIONS:
        return None
    code = (request.get("Code") or {}) if operation == "CreateFunction" else request
    bucket, key = code.get("S3Bucket"), code.get("S3Key")
    if not bucket or not key:
        return None
    return bucket, key


def _function_region(context: RequestContext) -> str:
    from localstack.services.lambda_.api_utils import get_account_and_region

    # A function ARN may name another Region than the endpoint's (LocalStack then refuses it).
    return get_account_and_region(context.service_request.get("FunctionName") or "", context)[1]


def _bucket(context: RequestContext, name: str):
    """(owner, LocalStack's bucket record) of an existing bucket, else None."""
    from localstack.services.s3.models import s3_stores

    owner = bucket_owner(context.account_id, context.region, name)
    if owner is None:
        return None
    # `buckets` is a cross-Region attribute of the owner's store: any Region has the record.
    record = s3_stores[owner][context.region].buckets.get(name)
    return (owner, record) if record is not None else None


def _reader(context: RequestContext) -> Caller | None:
    """Whose credentials Lambda reads the package with; None when the request is not authenticated."""
    try:
        caller = caller_of(context)
    except (Unrecognized, Unsigned):
        # The authentication handler refuses the request as AWS does.
        return None
    if caller.kind not in (USER, SESSION):
        # LocalStack's internal calls (CloudFormation's providers) act for their account.
        caller = root_caller(caller.account, caller.partition)
    return caller


def check_code_location(_chain, context: RequestContext, _response) -> None:
    service = context.service.service_name if context.service else None
    if service != "lambda" or context.operation is None or not isinstance(context.service_request, dict):
        return
    location = code_location(context.operation.name, context.service_request)
    if location is None:
        return
    bucket, key = location
    from localstack import config

    # LocalStack's hot-reload marker names a host path, not a bucket.
    if bucket == config.BUCKET_MARKER_LOCAL:
        return
    found = _bucket(context, bucket)
    if found is None:
        return
    caller = _reader(context)
    if caller is None:
        return
    owner, record = found
    region = _function_region(context)
    if record.bucket_region != region:
        LOG.info("refusing %s: package bucket %s is in %s, the function in %s",
                 context.operation.name, bucket, record.bucket_region, region)
        raise region_refusal(record.bucket_region)
    from enitrunk_localstack.auth.identity import identity_policies
    from enitrunk_localstack.stacksets.organizations import organization_id

    own = identity_policies(caller) if caller.kind in (USER, SESSION) and caller.account != owner else []
    if not may_read(caller, owner, record.policy, bucket, key, organization_id(caller.account), own):
        LOG.info("refusing %s: %s may not read s3://%s/%s of account %s",
                 context.operation.name, caller.arn, bucket, key, owner)
        raise access_refusal(bucket, key)


@hooks.on_infra_start()
def install_code_location_check():
    from localstack.aws import handlers

    handlers.serve_custom_service_request_handlers.append(check_code_location)
