"""Test custom-resource function (a `bootstrap` for provided.* runtimes).

Answers CloudFormation like a real custom resource: PUTs the response to the pre-signed
ResponseURL with an empty Content-Type. Properties drive it: `Id` is the physical id,
`Fail` makes it answer FAILED with that text as Reason, `Silent` makes it not answer.
Every request it gets is recorded (without the ResponseURL) in the S3 bucket named by the
environment variable RECORD_BUCKET, so tests can see what CloudFormation sent.
"""

import json
import os
import urllib.request

import boto3

API = f"http://{os.environ['AWS_LAMBDA_RUNTIME_API']}/2018-06-01/runtime"
s3 = boto3.client("s3", endpoint_url=os.environ.get("AWS_ENDPOINT_URL"))


def put_response(url, body):
    # An empty Content-Type, as the URL is signed without one.
    req = urllib.request.Request(url, data=body, method="PUT", headers={"Content-Type": ""})
    with urllib.request.urlopen(req) as r:
        r.read()


while True:
    with urllib.request.urlopen(f"{API}/invocation/next") as r:
        request_id = r.headers["Lambda-Runtime-Aws-Request-Id"]
        event = json.loads(r.read())
    record = {k: v for k, v in event.items() if k != "ResponseURL"}
    record["ResponseURLHasSignature"] = "X-Amz-Signature=" in event["ResponseURL"]
    s3.put_object(Bucket=os.environ["RECORD_BUCKET"], Key=f"{event['LogicalResourceId']}/{event['RequestId']}",
                  Body=json.dumps(record).encode())
    print(f"{event['RequestType']} {event['LogicalResourceId']} {event.get('PhysicalResourceId')}", flush=True)
    props = event["ResourceProperties"]
    if props.get("Silent") != "true":
        response = {
            "Status": "FAILED" if props.get("Fail") else "SUCCESS",
            "Reason": props.get("Fail") or "",
            "PhysicalResourceId": event.get("PhysicalResourceId") if event["RequestType"] == "Delete" else props.get("Id", "cr-default"),
            "StackId": event["StackId"],
            "RequestId": event["RequestId"],
            "LogicalResourceId": event["LogicalResourceId"],
            "NoEcho": False,
            "Data": {"Echo": props.get("Echo", ""), "Id": props.get("Id", "cr-default"), "Number": props.get("Number", "")},
        }
        put_response(event["ResponseURL"], json.dumps(response).encode())
    req = urllib.request.Request(f"{API}/invocation/{request_id}/response", data=b"{}", method="POST")
    urllib.request.urlopen(req).read()
