"""The Node.js and Python runtimes of the host executor (`lambda_host/runtimes.py`) without
LocalStack: each runtime's process spoken to by `RuntimeApiServer`, as Lambda's Runtime API speaks
to it (https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html). The Node.js handler loop is
the project's own (`lambda_host/nodejs/runtime.js`); Python's is AWS's `awslambdaric`. Needs
`localstack/run setup` (the interpreters and SDKs under `.work/localstack/lambda`)."""

import json
import subprocess

import pytest

from enitrunk_localstack.lambda_host import runtimes
from enitrunk_localstack.lambda_host.runtime_api import Invocation, RuntimeApiServer, deadline_ms

NODE = ["nodejs20.x", "nodejs22.x", "nodejs24.x"]
PYTHON = ["python3.12", "python3.13"]
LOG_STREAM = "2026/12/02/[$LATEST]0123456789abcdef0123456789abcdef"


class Runtime:
    """One runtime process with its Runtime API server."""

    def __init__(self, name, task_root, handler="index.handler"):
        try:
            argv = runtimes.command(name, handler)
            extra = runtimes.environment(name, task_root)
        except runtimes.RuntimeUnavailable as e:
            pytest.skip(str(e))
        self.api = RuntimeApiServer()
        self.api.start()
        env = {
            "LANG": "C.UTF-8",
            "AWS_LAMBDA_RUNTIME_API": self.api.address,
            "_HANDLER": handler,
            "LAMBDA_TASK_ROOT": str(task_root),
            "AWS_LAMBDA_FUNCTION_NAME": "fn",
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
            "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/fn",
            "AWS_LAMBDA_LOG_STREAM_NAME": LOG_STREAM,
            "AWS_REGION": "us-east-1",
            **extra,
        }
        self.proc = subprocess.Popen(argv, cwd=task_root, env=env, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.n = 0

    def ready(self, timeout=15):
        return self.api.ready.wait(timeout)

    def invoke(self, event, timeout_s=3.0):
        self.n += 1
        inv = Invocation(f"req-{self.n}", json.dumps(event).encode(), "arn:aws:lambda:us-east-1:000000000000:function:fn",
                         "Root=1-00000000-000000000000000000000000", deadline_ms(timeout_s))
        return inv, self.api.submit(inv).result(timeout=15)

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
        out = self.proc.communicate(timeout=5)[0].decode(errors="replace")
        self.api.shutdown()
        return out


@pytest.fixture
def run(tmp_path):
    started = []

    def start(name, files, handler="index.handler"):
        task = tmp_path / f"task{len(started)}"
        task.mkdir()
        for rel, text in files.items():
            (task / rel).parent.mkdir(parents=True, exist_ok=True)
            (task / rel).write_text(text)
        rt = Runtime(name, task, handler)
        started.append(rt)
        return rt

    yield start
    for rt in started:
        rt.close()


NODE_CONTEXT = """
exports.handler = async (event, context) => {
  console.log("got", JSON.stringify(event));
  const { STSClient } = require("@aws-sdk/client-sts");
  return {
    event,
    requestId: context.awsRequestId,
    remaining: context.getRemainingTimeInMillis(),
    functionName: context.functionName,
    arn: context.invokedFunctionArn,
    memory: context.memoryLimitInMB,
    logGroup: context.logGroupName,
    logStream: context.logStreamName,
    executionEnv: process.env.AWS_EXECUTION_ENV,
    version: process.version,
    trace: process.env._X_AMZN_TRACE_ID,
    sdk: typeof STSClient,
    done: typeof context.done,
  };
};
"""


@pytest.mark.parametrize("name", NODE)
def test_node_answers_with_the_handlers_result_and_a_lambda_context(run, name):
    rt = run(name, {"index.js": NODE_CONTEXT})
    assert rt.ready()
    inv, res = rt.invoke({"k": "v"}, timeout_s=3)
    assert not res.is_error, res.payload
    body = json.loads(res.payload)
    assert body["event"] == {"k": "v"}
    assert body["requestId"] == inv.request_id
    assert 0 < body["remaining"] <= 3000
    assert body["functionName"] == "fn" and body["arn"] == inv.invoked_function_arn and body["memory"] == "128"
    assert body["logGroup"] == "/aws/lambda/fn" and body["logStream"] == LOG_STREAM
    assert body["executionEnv"] == f"AWS_Lambda_{name}"
    assert body["version"].startswith("v" + runtimes.MANAGED[name].version + ".")
    assert body["trace"] == inv.trace_id
    assert body["sdk"] == "function"
    # Node.js 24 dropped context.done/succeed/fail; the older runtimes keep them.
    assert body["done"] == ("undefined" if name == "nodejs24.x" else "function")
    # A warm process takes the next invocation.
    _, again = rt.invoke({"k": 2})
    assert json.loads(again.payload)["event"] == {"k": 2}
    out = rt.close()
    # Lambda's log format: time, request id, level, message.
    assert f"\treq-1\tINFO\tgot {{\"k\":\"v\"}}" in out


@pytest.mark.parametrize("name", NODE)
def test_node_reports_a_thrown_error_through_the_error_endpoint(run, name):
    rt = run(name, {"index.js": "exports.handler = async () => { throw new TypeError('boom'); };"})
    assert rt.ready()
    _, res = rt.invoke({})
    assert res.is_error and res.error_type == "TypeError"
    body = json.loads(res.payload)
    assert body["errorType"] == "TypeError" and body["errorMessage"] == "boom"
    assert any("index.js" in line for line in body["trace"])
    # The process survives and answers the next invocation.
    _, res2 = rt.invoke({})
    assert res2.is_error and json.loads(res2.payload)["errorMessage"] == "boom"
    out = rt.close()
    assert "\treq-1\tERROR\tInvoke Error \t" in out


CALLBACKS = """
exports.cb = (event, context, callback) => { setTimeout(() => callback(null, {via: "callback"}), 10); };
exports.done = (event, context) => { setTimeout(() => context.done(null, {via: "done"}), 10); };
exports.fail = (event, context, callback) => callback(new RangeError("no"));
exports.drain = (event, context) => { setTimeout(() => {}, 10); };
"""


@pytest.mark.parametrize("name", ["nodejs20.x", "nodejs22.x"])
@pytest.mark.parametrize("handler, error_type, expected", [
    ("cb", None, {"via": "callback"}),
    ("done", None, {"via": "done"}),
    # A callback handler that never calls back answers null once its event loop is empty.
    ("drain", None, None),
    ("fail", "RangeError", None),
])
def test_node_callback_handlers_and_context_done(run, name, handler, error_type, expected):
    rt = run(name, {"index.js": CALLBACKS}, handler=f"index.{handler}")
    assert rt.ready()
    _, res = rt.invoke({})
    if error_type:
        assert res.is_error and json.loads(res.payload)["errorType"] == error_type
    else:
        assert not res.is_error and json.loads(res.payload) == expected


def test_node24_takes_no_callback_handlers(run):
    """Node.js 24 dropped callback handlers: one that declares a callback fails the init."""
    rt = run("nodejs24.x", {"index.js": "exports.handler = (event, context, callback) => callback(null, 1);"})
    result = rt.api.init_error.result(timeout=15)
    assert result.error_type == "Runtime.CallbackHandlerDeprecated"
    assert "nodejs24.x" in json.loads(result.payload)["errorMessage"]
    # A plain (non-async) handler's return value is its result.
    rt = run("nodejs24.x", {"index.js": "exports.handler = (event, context) => ({ done: typeof context.done });"})
    assert rt.ready()
    _, res = rt.invoke({})
    assert json.loads(res.payload) == {"done": "undefined"}


@pytest.mark.parametrize("source, handler, error_type", [
    ("exports.handler = async () => 1;", "index.missing", "Runtime.HandlerNotFound"),
    ("exports.handler = async () => 1;", "nomodule.handler", "Runtime.ImportModuleError"),
    ("exports.handler = async () => 1;", "nodot", "Runtime.MalformedHandlerName"),
    ("exports.handler = async () => {", "index.handler", "Runtime.UserCodeSyntaxError"),
])
def test_node_init_errors_go_to_the_init_error_endpoint(run, source, handler, error_type):
    rt = run("nodejs22.x", {"index.js": source}, handler=handler)
    result = rt.api.init_error.result(timeout=15)
    assert json.loads(result.payload)["errorType"] == error_type
    assert result.error_type == error_type
    assert rt.proc.wait(timeout=5) == 1
    assert not rt.api.ready.is_set()


PY_CONTEXT = """
import os, sys
import boto3

def handler(event, context):
    print("got", event)
    return {
        "event": event,
        "requestId": context.aws_request_id,
        "remaining": context.get_remaining_time_in_millis(),
        "functionName": context.function_name,
        "arn": context.invoked_function_arn,
        "memory": context.memory_limit_in_mb,
        "logGroup": context.log_group_name,
        "logStream": context.log_stream_name,
        "executionEnv": os.environ["AWS_EXECUTION_ENV"],
        "version": "%d.%d" % sys.version_info[:2],
        "boto3": boto3.__version__,
        "boto3Path": boto3.__file__,
    }

def fail(event, context):
    raise ValueError("boom")
"""


@pytest.mark.parametrize("name", PYTHON)
def test_python_answers_with_the_handlers_result_and_a_lambda_context(run, name):
    rt = run(name, {"index.py": PY_CONTEXT})
    assert rt.ready()
    inv, res = rt.invoke({"k": "v"}, timeout_s=3)
    assert not res.is_error, res.payload
    body = json.loads(res.payload)
    assert body["event"] == {"k": "v"}
    assert body["requestId"] == inv.request_id
    assert 0 < body["remaining"] <= 3000
    assert body["functionName"] == "fn" and body["arn"] == inv.invoked_function_arn and body["memory"] == "128"
    assert body["logGroup"] == "/aws/lambda/fn" and body["logStream"] == LOG_STREAM
    assert body["executionEnv"] == f"AWS_Lambda_{name}"
    assert body["version"] == runtimes.MANAGED[name].version
    # The runtime's own boto3, not LocalStack's venv's.
    assert body["boto3"] == "1.44.8" and "/lambda/python/sdk/" in body["boto3Path"]
    assert "got {'k': 'v'}" in rt.close()


@pytest.mark.parametrize("name", PYTHON)
def test_python_reports_a_raised_error_through_the_error_endpoint(run, name):
    rt = run(name, {"index.py": PY_CONTEXT}, handler="index.fail")
    assert rt.ready()
    _, res = rt.invoke({})
    assert res.is_error
    body = json.loads(res.payload)
    assert body["errorType"] == "ValueError" and body["errorMessage"] == "boom"


def test_a_missing_interpreter_is_named(monkeypatch):
    """No faking: a runtime whose interpreter is not on the host is refused with what is missing."""
    runtimes.interpreter.cache_clear()
    monkeypatch.setenv("ENITRUNK_LAMBDA_PYTHON3_13", "/nonexistent/python3.13")
    try:
        with pytest.raises(runtimes.RuntimeUnavailable) as e:
            runtimes.command("python3.13", "index.handler")
        assert "CPython 3.13" in str(e.value) and "/nonexistent/python3.13" in str(e.value)
        assert "ENITRUNK_LAMBDA_PYTHON3_13" in str(e.value)
    finally:
        runtimes.interpreter.cache_clear()


def test_an_interpreter_of_another_version_is_not_taken(monkeypatch):
    node20 = runtimes.interpreter("nodejs20.x")
    runtimes.interpreter.cache_clear()
    monkeypatch.setenv("ENITRUNK_LAMBDA_NODEJS24_X", str(node20))
    try:
        with pytest.raises(runtimes.RuntimeUnavailable, match="Node.js 24"):
            runtimes.interpreter("nodejs24.x")
    finally:
        runtimes.interpreter.cache_clear()
