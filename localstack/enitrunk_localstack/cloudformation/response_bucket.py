"""The custom-resource response bucket's pre-signed URLs, validated as S3 validates them.

LocalStack's S3 checks a pre-signed URL's signature and expiry (`localstack.services.s3.
presigned_url`), but with `S3_SKIP_SIGNATURE_VALIDATION` on, its default, a mismatch or an expired
URL is only logged and the request goes through. CloudFormation's `ResponseURL` is a pre-signed
S3 URL, so on AWS a tampered URL fails with 403 `SignatureDoesNotMatch` and a late answer with
403 `AccessDenied` "Request has expired", and the function's answer never counts. This hook
(`localstack.hooks.on_infra_start`) turns the skip off for requests to the response buckets
(`custom_resource.is_response_bucket`) only; the rest of S3 keeps LocalStack's default.

The validator reads the setting from the `config` module it imported; it is handed a view of
that module whose `S3_SKIP_SIGNATURE_VALIDATION` is false while a response-bucket request is
validated (a context variable, so concurrent requests do not see each other's).
"""

from __future__ import annotations

import contextvars

from localstack import config
from localstack.runtime import hooks

from enitrunk_localstack.cloudformation.custom_resource import is_response_bucket

# True while the request being validated goes to a response bucket.
_STRICT = contextvars.ContextVar("enitrunk_strict_presigned_url", default=False)


class _ConfigView:
    """`localstack.config`, except that signature validation is never skipped while `_STRICT`."""

    def __getattr__(self, name: str):
        if name == "S3_SKIP_SIGNATURE_VALIDATION" and _STRICT.get():
            return False
        return getattr(config, name)


@hooks.on_infra_start()
def validate_response_urls():
    from localstack.http.request import get_raw_path
    from localstack.services.s3 import presigned_url
    from localstack.services.s3.utils import extract_bucket_name_and_key_from_headers_and_path
    from localstack.utils.patch import patch

    presigned_url.config = _ConfigView()

    def strict_for_response_buckets(fn, context):
        bucket, _ = extract_bucket_name_and_key_from_headers_and_path(
            context.request.headers, get_raw_path(context.request)
        )
        token = _STRICT.set(is_response_bucket(bucket))
        try:
            return fn(context)
        finally:
            _STRICT.reset(token)

    # SigV2 and SigV4 query authentication; the handler looks both up by name at each request.
    patch(presigned_url.validate_presigned_url_s3)(strict_for_response_buckets)
    patch(presigned_url.validate_presigned_url_s3v4)(strict_for_response_buckets)
