"""Node.js and Python functions through LocalStack's Lambda API on the enitrunk-host executor: the
environment Lambda gives them, errors as `FunctionError`, the timeout (localstack/README.md,
"Node.js and Python functions on the host executor")."""

import io
import json
import time
import zipfile

import pytest

from conftest import ENDPOINT, unique

NODE_ENV = """
exports.handler = async (event) => {
  if (event.op === "fail") throw new RangeError("bad input");
  if (event.op === "sleep") await new Promise((r) => setTimeout(r, 30000));
  const { STSClient, GetCallerIdentityCommand } = require("@aws-sdk/client-sts");
  const identity = await new STSClient({}).send(new GetCallerIdentityCommand({}));
  return { env: process.env, arn: identity.Arn, cwd: process.cwd() };
};
"""

PYTHON_ENV = """
import os, time
import boto3

def handler(event, context):
    if event.get("op") == "fail":
        raise KeyError("bad input")
    if event.get("op") == "sleep":
        time.sleep(30)
    arn = boto3.client("sts").get_caller_identity()["Arn"]
    return {"env": dict(os.environ), "arn": arn, "cwd": os.getcwd()}
"""

RUNTIMES = ["nodejs20.x", "nodejs22.x", "nodejs24.x", "python3.12", "python3.13"]


def package(runtime):
    name, source = ("index.js", NODE_ENV) if runtime.startswith("nodejs") else ("index.py", PYTHON_ENV)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr(name, source)
    return buf.getvalue()


def create(client, role, runtime, timeout=10, env=None):
    lam = client("lambda")
    name = unique("fn")
    lam.create_function(FunctionName=name, Runtime=runtime, Role=role, Handler="index.handler",
                        Code={"ZipFile": package(runtime)}, Timeout=timeout, MemorySize=128,
                        Environment={"Variables": env or {}})
    lam.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig={"Delay": 0.2, "MaxAttempts": 300})
    return name


def invoke(client, name, event):
    r = client("lambda").invoke(FunctionName=name, Payload=json.dumps(event).encode())
    return r, json.loads(r["Payload"].read() or b"null")


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_a_function_gets_its_runtimes_environment_and_sdk(client, role, runtime):
    name = create(client, role, runtime, env={"MY_VAR": "x"})
    r, body = invoke(client, name, {})
    assert "FunctionError" not in r, body
    env = body["env"]
    assert env["AWS_EXECUTION_ENV"] == f"AWS_Lambda_{runtime}"
    assert env["_HANDLER"] == "index.handler"
    assert env["LAMBDA_TASK_ROOT"] == body["cwd"]
    assert env["AWS_ENDPOINT_URL"] == ENDPOINT and env["AWS_REGION"] == "us-east-1"
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == name and env["MY_VAR"] == "x"
    assert env["AWS_ACCESS_KEY_ID"] and env["AWS_SECRET_ACCESS_KEY"] and env["AWS_SESSION_TOKEN"]
    search_path = env["NODE_PATH"] if runtime.startswith("nodejs") else env["PYTHONPATH"]
    assert ".work/localstack/lambda/" in search_path
    # The bundled SDK signs as the function's session of its role.
    assert body["arn"].endswith(f":assumed-role/{role.rsplit('/', 1)[1]}/{name}")


def test_a_functions_own_node_path_replaces_the_runtimes(client, role):
    """As Lambda's Node.js bootstrap: NODE_PATH is the runtime's only when the function sets none,
    so with its own the bundled SDK is not found."""
    name = create(client, role, "nodejs22.x", env={"NODE_PATH": "/custom"})
    r, body = invoke(client, name, {})
    assert r["FunctionError"] == "Unhandled"
    assert body["errorType"] == "Error" and "Cannot find module '@aws-sdk/client-sts'" in body["errorMessage"], body


def test_a_functions_own_pythonpath_comes_first_and_the_runtime_keeps_its_own(client, role):
    name = create(client, role, "python3.12", env={"PYTHONPATH": "/custom"})
    r, body = invoke(client, name, {})
    assert "FunctionError" not in r, body
    path = body["env"]["PYTHONPATH"].split(":")
    assert path[0] == "/custom" and any(p.endswith("/lambda/python/sdk") for p in path[1:])


@pytest.mark.parametrize("runtime, error_type, message", [
    ("nodejs24.x", "RangeError", "bad input"),
    ("python3.13", "KeyError", "'bad input'"),
])
def test_a_thrown_error_is_an_unhandled_function_error(client, role, runtime, error_type, message):
    name = create(client, role, runtime)
    r, body = invoke(client, name, {"op": "fail"})
    assert r["FunctionError"] == "Unhandled"
    assert body["errorType"] == error_type and body["errorMessage"] == message
    # The environment stays warm and answers the next invocation.
    r, body = invoke(client, name, {})
    assert "FunctionError" not in r and body["env"]["AWS_EXECUTION_ENV"] == f"AWS_Lambda_{runtime}"


@pytest.mark.parametrize("runtime", ["nodejs22.x", "python3.12"])
def test_the_timeout_kills_the_runtime(client, role, runtime):
    name = create(client, role, runtime, timeout=1)
    started = time.monotonic()
    r, body = invoke(client, name, {"op": "sleep"})
    assert time.monotonic() - started < 10
    assert r["FunctionError"] == "Unhandled"
    assert "Task timed out after 1.00 seconds" in body["errorMessage"]
