"""Test custom-resource function (a `bootstrap` for provided.* runtimes).

Answers CloudFormation like a real custom resource: PUTs the response to the pre-signed
ResponseURL with an empty Content-Type. Properties drive how it answers Create and Update:
- `Id` is the physical id, `Fail` makes it answer FAILED with that text as Reason, `Silent`
  makes it not answer;
- `Response` (a JSON object) is merged into the response, a `null` value removing the field;
  `Body` is sent instead of any JSON;
- `Url: tamper` answers to the URL with a longer `X-Amz-Expires` than was signed; `Url: expired`
  answers as if two hours had gone by: to the URL CloudFormation would have issued then.
Delete is answered SUCCESS with the request's physical id (FAILED with `FailDelete` as Reason).

Every request it gets is recorded (the ResponseURL as its parts, without the signature) in the S3
bucket named by the environment variable RECORD_BUCKET, at `<LogicalResourceId>/<RequestId>`, so
tests can see what CloudFormation sent; what S3 answered to the PUT goes to
`<LogicalResourceId>/<RequestId>.put`.
"""

import contextlib
import datetime
import importlib
import json
import os
import re
import time
import urllib.error
import urllib.parse
import urllib.request

import boto3
import botocore.auth
from botocore.config import Config

API = f"http://{os.environ['AWS_LAMBDA_RUNTIME_API']}/2018-06-01/runtime"
s3 = boto3.client("s3", endpoint_url=os.environ.get("AWS_ENDPOINT_URL"))
BUCKET = os.environ["RECORD_BUCKET"]
# LocalStack validates pre-signed URLs of access keys IAM does not know against this secret.
PRESIGNING_SECRET = "test"


def put_response(url, body):
    """PUTs `body` to `url`; returns S3's answer: HTTP status and, for an error, its code."""
    # An empty Content-Type, as the URL is signed without one.
    req = urllib.request.Request(url, data=body, method="PUT", headers={"Content-Type": ""})
    try:
        with urllib.request.urlopen(req) as r:
            r.read()
            return {"Status": r.status}
    except urllib.error.HTTPError as e:
        error = e.read().decode(errors="replace")
        code = re.search(r"<Code>(.*?)</Code>", error)
        message = re.search(r"<Message>(.*?)</Message>", error)
        return {"Status": e.code, "Code": code and code.group(1), "Message": message and message.group(1)}


def tampered(url):
    return re.sub(r"X-Amz-Expires=(\d+)", lambda m: f"X-Amz-Expires={int(m.group(1)) + 3600}", url)


@contextlib.contextmanager
def clock_set_back(seconds):
    """botocore signs as if it were `seconds` ago (its SigV4 signer, or the CRT one when awscrt
    is installed: each reads the time through its module's `get_current_datetime`)."""
    signers = [botocore.auth]
    try:
        signers.append(importlib.import_module("botocore.crt.auth"))
    except ImportError:
        pass
    originals = [m.get_current_datetime for m in signers]
    for module, now in zip(signers, originals):
        module.get_current_datetime = lambda *a, now=now, **k: now(*a, **k) - datetime.timedelta(seconds=seconds)
    try:
        yield
    finally:
        for module, now in zip(signers, originals):
            module.get_current_datetime = now


def expired(url):
    """The same URL, signed the same way, but as CloudFormation would have issued it just over
    its lifetime ago."""
    parts = urllib.parse.urlsplit(url)
    query = dict(urllib.parse.parse_qsl(parts.query))
    access_key, _, region, _, _ = query["X-Amz-Credential"].split("/")
    lifetime = int(query["X-Amz-Expires"])
    bucket, key = parts.path.lstrip("/").split("/", 1)
    signer = boto3.client(
        "s3", endpoint_url=f"{parts.scheme}://{parts.netloc}", region_name=region,
        aws_access_key_id=access_key, aws_secret_access_key=PRESIGNING_SECRET,
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
    )
    with clock_set_back(lifetime + 60):
        return signer.generate_presigned_url(
            "put_object", Params={"Bucket": bucket, "Key": urllib.parse.unquote(key)}, ExpiresIn=lifetime)


def answer(event):
    """The URL to PUT the response to and the response body, or None to stay silent."""
    props = event["ResourceProperties"]
    response = {
        "Status": "SUCCESS",
        "Reason": "",
        "PhysicalResourceId": event.get("PhysicalResourceId"),
        "StackId": event["StackId"],
        "RequestId": event["RequestId"],
        "LogicalResourceId": event["LogicalResourceId"],
        "NoEcho": False,
        "Data": {},
    }
    if event["RequestType"] == "Delete":
        if props.get("FailDelete"):
            response.update(Status="FAILED", Reason=props["FailDelete"])
        return event["ResponseURL"], json.dumps(response).encode()
    if props.get("Silent") == "true":
        return None
    response.update(
        Status="FAILED" if props.get("Fail") else "SUCCESS",
        Reason=props.get("Fail") or "",
        PhysicalResourceId=props.get("Id", "cr-default"),
        Data={"Echo": props.get("Echo", ""), "Id": props.get("Id", "cr-default"), "Number": props.get("Number", "")},
    )
    for field, value in json.loads(props.get("Response", "{}")).items():
        if value is None:
            response.pop(field, None)
        else:
            response[field] = value
    body = props["Body"].encode() if "Body" in props else json.dumps(response).encode()
    url = {"tamper": tampered, "expired": expired}.get(props.get("Url"), lambda u: u)(event["ResponseURL"])
    return url, body


while True:
    with urllib.request.urlopen(f"{API}/invocation/next") as r:
        request_id = r.headers["Lambda-Runtime-Aws-Request-Id"]
        event = json.loads(r.read())
    record = {k: v for k, v in event.items() if k != "ResponseURL"}
    url = urllib.parse.urlsplit(event["ResponseURL"])
    query = dict(urllib.parse.parse_qsl(url.query))
    bucket, key = url.path.lstrip("/").split("/", 1)
    # What the URL is, not the URL itself (a bearer credential).
    record["ResponseURL"] = {
        "Bucket": bucket, "Key": urllib.parse.unquote(key), "Signed": "X-Amz-Signature" in query,
        **{k: query.get(f"X-Amz-{k}") for k in ("Algorithm", "SignedHeaders", "Expires")},
    }
    record["ReceivedAt"] = time.time()
    key = f"{event['LogicalResourceId']}/{event['RequestId']}"
    s3.put_object(Bucket=BUCKET, Key=key, Body=json.dumps(record).encode())
    print(f"{event['RequestType']} {event['LogicalResourceId']} {event.get('PhysicalResourceId')}", flush=True)
    reply = answer(event)
    if reply is not None:
        s3.put_object(Bucket=BUCKET, Key=f"{key}.put", Body=json.dumps(put_response(*reply)).encode())
    req = urllib.request.Request(f"{API}/invocation/{request_id}/response", data=b"{}", method="POST")
    urllib.request.urlopen(req).read()
