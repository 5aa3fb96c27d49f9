"""Test Lambda runtime (a `bootstrap` for provided.* runtimes) speaking the Runtime API.

Payload {"op": "echo"} answers the event and the runtime's environment (without secrets);
{"op": "sleep", "seconds": N} sleeps; {"op": "fail"} posts an invocation error;
{"op": "exit"} exits mid-invocation; {"op": "alloc", "mb": N} holds N MiB while it answers; {"op": "aws", "service": S, "method": M, "args": {...}} calls
the AWS API with the function's own credentials (boto3, from this venv) and answers the result, or
the error code.
"""

import json
import os
import sys
import time
import urllib.request

API = f"http://{os.environ['AWS_LAMBDA_RUNTIME_API']}/2018-06-01/runtime"
ENV_KEYS = [
    "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL", "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_VERSION", "AWS_LAMBDA_LOG_GROUP_NAME",
    "AWS_LAMBDA_LOG_STREAM_NAME", "AWS_LAMBDA_RUNTIME_API", "LAMBDA_TASK_ROOT", "MY_VAR",
]


def post(path, body, headers=None):
    req = urllib.request.Request(f"{API}{path}", data=body, method="POST", headers=headers or {})
    with urllib.request.urlopen(req) as r:
        return r.status


print("init: echo runtime starting", flush=True)
while True:
    with urllib.request.urlopen(f"{API}/invocation/next") as r:
        request_id = r.headers["Lambda-Runtime-Aws-Request-Id"]
        headers = {k: r.headers[k] for k in (
            "Lambda-Runtime-Deadline-Ms", "Lambda-Runtime-Invoked-Function-Arn", "Lambda-Runtime-Trace-Id")}
        event = json.loads(r.read() or b"{}")
    print(f"handling {request_id} op={event.get('op')}", flush=True)
    print("to stderr", file=sys.stderr, flush=True)
    op = event.get("op")
    if op == "sleep":
        time.sleep(float(event["seconds"]))
    held = b"x" * (int(event["mb"]) << 20) if op == "alloc" else b""
    if op == "exit":
        sys.exit(3)
    if op == "fail":
        post(f"/invocation/{request_id}/error",
             json.dumps({"errorType": "Boom", "errorMessage": "asked to fail"}).encode(),
             {"Lambda-Runtime-Function-Error-Type": "Boom"})
        continue
    if op == "aws":
        import boto3
        from botocore.exceptions import ClientError

        try:
            answer = {"result": getattr(boto3.client(event["service"]), event["method"])(**event.get("args", {}))}
        except ClientError as e:
            answer = {"error": e.response["Error"]["Code"], "message": e.response["Error"]["Message"]}
        post(f"/invocation/{request_id}/response", json.dumps(answer, default=str).encode())
        continue
    env = {k: os.environ.get(k) for k in ENV_KEYS}
    env["has_credentials"] = all(os.environ.get(k) for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"))
    answer = {"event": event, "headers": headers, "env": env, "pid": os.getpid(), "held": len(held)}
    post(f"/invocation/{request_id}/response", json.dumps(answer).encode())
