"""`ExpectedBucketOwner` refuses a bucket another account owns, on every operation the deployer
makes, as S3 does (403 AccessDenied); the owner itself passes, and so do requests without it."""

import json

import pytest
from botocore.exceptions import ClientError

from conftest import refusal, unique

OTHER = {"AccessKeyId": "111111111111", "SecretAccessKey": "test"}

# Every call the deployer makes on its artifact bucket (deployer/src/package.rs).
CALLS = {
    "HeadBucket": lambda s3, b, **kw: s3.head_bucket(Bucket=b, **kw),
    "HeadObject": lambda s3, b, **kw: s3.head_object(Bucket=b, Key="enitrunk/x.zip", **kw),
    "PutObject": lambda s3, b, **kw: s3.put_object(Bucket=b, Key="enitrunk/x.zip", Body=b"zip", **kw),
    "PutPublicAccessBlock": lambda s3, b, **kw: s3.put_public_access_block(
        Bucket=b, PublicAccessBlockConfiguration={"BlockPublicAcls": True, "IgnorePublicAcls": True,
                                                  "BlockPublicPolicy": True, "RestrictPublicBuckets": True}, **kw),
    "PutBucketEncryption": lambda s3, b, **kw: s3.put_bucket_encryption(
        Bucket=b, ServerSideEncryptionConfiguration={"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]}, **kw),
    "PutBucketPolicy": lambda s3, b, **kw: s3.put_bucket_policy(Bucket=b, Policy=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Principal": "*", "Action": "s3:*",
                                                "Resource": [f"arn:aws:s3:::{b}/*"],
                                                "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]}), **kw),
    "PutBucketLifecycleConfiguration": lambda s3, b, **kw: s3.put_bucket_lifecycle_configuration(
        Bucket=b, LifecycleConfiguration={"Rules": [{"ID": "expire", "Status": "Enabled", "Filter": {"Prefix": "enitrunk/"},
                                                     "Expiration": {"Days": 90}}]}, **kw),
}


@pytest.fixture
def others_bucket(client):
    bucket = unique("owned-elsewhere")
    client("s3", OTHER).create_bucket(Bucket=bucket)
    return bucket


@pytest.mark.parametrize("operation", list(CALLS))
def test_a_bucket_of_another_account_is_refused(client, account, others_bucket, operation):
    s3 = client("s3")
    # A HEAD answer has no body: botocore reports its status as the code.
    code = "403" if operation.startswith("Head") else "AccessDenied"
    assert refusal(lambda: CALLS[operation](s3, others_bucket, ExpectedBucketOwner=account))[:2] == (code, 403)
    # Nothing was written.
    assert client("s3", OTHER).list_objects_v2(Bucket=others_bucket).get("KeyCount", 0) == 0


@pytest.mark.parametrize("operation", list(CALLS))
def test_the_owner_passes(client, account, operation):
    s3 = client("s3")
    bucket = unique("owned-here")
    s3.create_bucket(Bucket=bucket)
    if operation == "HeadObject":
        s3.put_object(Bucket=bucket, Key="enitrunk/x.zip", Body=b"zip")
    CALLS[operation](s3, bucket, ExpectedBucketOwner=account)


def test_without_the_parameter_and_for_a_missing_bucket_s3_answers_as_before(client, account, others_bucket):
    s3 = client("s3")
    # LocalStack serves other accounts' buckets (it has no bucket policies to refuse with).
    s3.head_bucket(Bucket=others_bucket)
    with pytest.raises(ClientError) as missing:
        s3.head_bucket(Bucket=unique("nowhere"), ExpectedBucketOwner=account)
    assert missing.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
