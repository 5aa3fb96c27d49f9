"""The request handler that authenticates callers and checks `sts:AssumeRole`, in LocalStack's gateway.

Installed at LocalStack start (`localstack.hooks.on_infra_start`) among LocalStack's custom
service request handlers, which run after a request is parsed and before it reaches its
service. For the services in `COVERED`, a request whose access key belongs to no caller
(`identity.caller_of`) is refused as AWS refuses it; `sts:AssumeRole` is then checked
(`assume_role`) before moto creates the session.

`COVERED` is every service enitrunk's deployer, its function and its tests call, except S3:
S3 serves anonymous and pre-signed requests whose rules (bucket policies, ACLs, public access)
LocalStack does not model; what enitrunk's S3 calls depend on is checked elsewhere (the bucket
owner, `services/s3_expected_owner.py`; the function's pre-signed response PUT,
`cloudformation/response_bucket.py`).

Errors, by protocol (each as AWS answers it): Query APIs (STS, IAM, CloudFormation, Auto Scaling)
`InvalidClientTokenId`, HTTP 403; JSON APIs (ECS, SSM, CloudWatch Logs)
`UnrecognizedClientException`, HTTP 400; Lambda (REST-JSON) `UnrecognizedClientException`, HTTP
403; EC2 `AuthFailure`, HTTP 401. A request with no credentials at all gets
`MissingAuthenticationToken` (Query, EC2) or `MissingAuthenticationTokenException` (JSON), HTTP 403,
except the STS operations AWS serves unsigned.
"""

from __future__ import annotations

import logging

from localstack.aws.api import CommonServiceException, RequestContext
from localstack.runtime import hooks

from enitrunk_localstack.auth.assume_role import check_assume_role
from enitrunk_localstack.auth.identity import Unrecognized, Unsigned, caller_of

LOG = logging.getLogger(__name__)

COVERED = frozenset({"sts", "iam", "ecs", "lambda", "cloudformation", "autoscaling", "ec2", "ssm", "logs"})
# https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRoleWithWebIdentity.html: "Calling
# AssumeRoleWithWebIdentity does not require the use of Amazon Web Services security credentials."
UNSIGNED_OPERATIONS = frozenset({("sts", "AssumeRoleWithWebIdentity"), ("sts", "AssumeRoleWithSAML")})

INVALID_TOKEN = "The security token included in the request is invalid."
# protocol -> (code, message, HTTP status) for an unknown key.
UNRECOGNIZED = {
    "query": ("InvalidClientTokenId", INVALID_TOKEN, 403),
    "json": ("UnrecognizedClientException", INVALID_TOKEN, 400),
    "rest-json": ("UnrecognizedClientException", INVALID_TOKEN, 403),
    "ec2": ("AuthFailure", "AWS was not able to validate the provided access credentials", 401),
}
MISSING = {
    "query": ("MissingAuthenticationToken", "Request is missing Authentication Token", 403),
    "ec2": ("MissingAuthenticationToken", "Request is missing Authentication Token", 403),
    "json": ("MissingAuthenticationTokenException", "Missing Authentication Token", 403),
    "rest-json": ("MissingAuthenticationTokenException", "Missing Authentication Token", 403),
}


def authenticate(_chain, context: RequestContext, _response) -> None:
    service = context.service.service_name if context.service else None
    if service not in COVERED or context.operation is None:
        return
    try:
        caller = caller_of(context)
    except Unsigned:
        if (service, context.operation.name) in UNSIGNED_OPERATIONS:
            return
        raise _error(MISSING, context) from None
    except Unrecognized:
        raise _error(UNRECOGNIZED, context) from None
    if (service, context.operation.name) == ("sts", "AssumeRole"):
        request = context.service_request or {}
        check_assume_role(caller, request.get("RoleArn", ""), request.get("ExternalId"), request.get("RoleSessionName"))


def _error(table: dict, context: RequestContext) -> CommonServiceException:
    code, message, status = table.get(context.service.protocol, table["json"])
    LOG.info("refusing %s.%s: %s", context.service.service_name, context.operation.name, code)
    return CommonServiceException(code, message, status_code=status, sender_fault=True)


@hooks.on_infra_start()
def install_authentication():
    from localstack.aws import handlers

    handlers.serve_custom_service_request_handlers.append(authenticate)
