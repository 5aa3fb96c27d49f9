"""`ExpectedBucketOwner` on every S3 operation, as S3 checks it.

"If the bucket is owned by a different account, the request fails with the HTTP status code 403
Forbidden (access denied)" (S3 API reference, the `x-amz-expected-bucket-owner` header of every
bucket and object operation; user guide, "Verifying bucket ownership with bucket owner
condition"). LocalStack 4's S3 provider checks it in some operations only (`HeadBucket`,
`PutObject`, `PutBucketEncryption`, `PutPublicAccessBlock`, `PutBucketLifecycleConfiguration` and
others pass whoever owns the bucket), so a deployer that trusts a bucket another account created
would pass here and not on AWS.

A request handler in LocalStack's gateway, after the request is parsed and before the provider:
for S3 requests that carry the parameter and name a bucket that exists, a different owner is
refused with `AccessDenied` "Access Denied", HTTP 403. A parameter that is not an account id and
a bucket that does not exist are left to the provider (which answers `InvalidBucketOwnerAWSAccountID`
and `NoSuchBucket` as S3 does).
"""

from __future__ import annotations

import re

from localstack.aws.api import CommonServiceException, RequestContext
from localstack.runtime import hooks

ACCOUNT_ID = re.compile(r"\d{12}")


def bucket_owner(account: str, region: str, bucket: str) -> str | None:
    """The account that owns `bucket`, or None. Names are global: every account and region
    shares LocalStack's `global_bucket_map` (a cross-account store attribute), so any store
    answers."""
    from localstack.services.s3.models import s3_stores

    return s3_stores[account][region].global_bucket_map.get(bucket)


def check_expected_owner(_chain, context: RequestContext, _response) -> None:
    service = context.service.service_name if context.service else None
    if service != "s3" or not isinstance(context.service_request, dict):
        return
    expected = context.service_request.get("ExpectedBucketOwner")
    bucket = context.service_request.get("Bucket")
    if not expected or not bucket or not ACCOUNT_ID.fullmatch(expected):
        return
    owner = bucket_owner(context.account_id, context.region, bucket)
    if owner is not None and owner != expected:
        raise CommonServiceException("AccessDenied", "Access Denied", status_code=403)


@hooks.on_infra_start()
def install_expected_owner_check():
    from localstack.aws import handlers

    handlers.serve_custom_service_request_handlers.append(check_expected_owner)
