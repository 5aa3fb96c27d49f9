"""`cloudformation/inline_code.py` and the response modules of `cloudformation/cfn_response/`
without LocalStack: the package CloudFormation makes of `Code.ZipFile`, and what `send` PUTs, to a
local HTTP server standing in for the pre-signed ResponseURL
(https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cfn-lambda-function-code-cfnresponsemodule.html)."""

import io
import json
import os
import subprocess
import sys
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from enitrunk_localstack.cloudformation.inline_code import MODULES, inline_package
from enitrunk_localstack.lambda_host import runtimes


def names(package):
    return sorted(zipfile.ZipFile(io.BytesIO(package)).namelist())


@pytest.mark.parametrize("runtime, source, expected", [
    ("nodejs22.x", "var response = require('cfn-response');", ["index.js", "node_modules/cfn-response/index.js"]),
    ("nodejs24.x", 'const r = require("cfn-response");', ["index.js", "node_modules/cfn-response/index.js"]),
    ("nodejs20.x", "exports.handler = async () => 1;", ["index.js"]),
    ("python3.12", "import json\nimport cfnresponse\n", ["cfnresponse.py", "index.py"]),
    # "Use this exact import statement. If you use other variants of the import statement,
    # CloudFormation doesn't include the response module."
    ("python3.13", "from cfnresponse import send\n", ["index.py"]),
    ("python3.13", "import cfnresponse as r\n", ["index.py"]),
    ("python3.13", "def handler(e, c): pass\n", ["index.py"]),
])
def test_inline_code_is_packed_as_index_with_the_module_it_loads(runtime, source, expected):
    package = inline_package(runtime, source)
    assert names(package) == expected
    index = "index.js" if runtime.startswith("nodejs") else "index.py"
    assert zipfile.ZipFile(io.BytesIO(package)).read(index).decode() == source


def test_only_nodejs_and_python_take_inline_code():
    with pytest.raises(ValueError, match="Code.ZipFile is for Node.js and Python"):
        inline_package("provided.al2023", "x")


class Recorder:
    """An HTTP server that records one PUT (its headers and body) and answers 200."""

    def __init__(self):
        self.requests = []
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_PUT(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                recorder.requests.append((self.path, dict(self.headers), body))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/bucket/key?X-Amz-Signature=secret"

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def recorder():
    r = Recorder()
    yield r
    r.close()


def event(url):
    return {"ResponseURL": url, "StackId": "arn:aws:cloudformation:us-east-1:000000000000:stack/s/1",
            "RequestId": "req-1", "LogicalResourceId": "Probe", "RequestType": "Create"}


def check_put(recorder, status, physical_id, no_echo, data, reason=None):
    assert len(recorder.requests) == 1
    path, headers, body = recorder.requests[0]
    assert path == "/bucket/key?X-Amz-Signature=secret"
    # The URL is signed without a content type: the module sends an empty one.
    assert headers.get("content-type", headers.get("Content-Type")) == ""
    assert json.loads(body) == {
        "Status": status,
        "Reason": reason or "See the details in CloudWatch Log Stream: 2026/12/02/[$LATEST]abc",
        "PhysicalResourceId": physical_id,
        "StackId": "arn:aws:cloudformation:us-east-1:000000000000:stack/s/1",
        "RequestId": "req-1",
        "LogicalResourceId": "Probe",
        "NoEcho": no_echo,
        "Data": data,
    }


def run_python_module(code):
    # No __pycache__ beside the module: the directory is packed into functions as it is.
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run([sys.executable, "-c", code], cwd=MODULES, env=env, capture_output=True, text=True, timeout=20)


@pytest.mark.parametrize("args, physical_id, no_echo, reason", [
    ("", "2026/12/02/[$LATEST]abc", False, None),
    (", 'my-id', True, 'it broke'", "my-id", True, "it broke"),
])
def test_cfnresponse_puts_the_documented_response_object(recorder, args, physical_id, no_echo, reason):
    status = "FAILED" if reason else "SUCCESS"
    out = run_python_module(f"""
import cfnresponse, types
ctx = types.SimpleNamespace(log_stream_name="2026/12/02/[$LATEST]abc")
cfnresponse.send({event(recorder.url)!r}, ctx, cfnresponse.{status}, {{"K": "v"}}{args})
""")
    assert out.returncode == 0, out.stderr
    check_put(recorder, status, physical_id, no_echo, {"K": "v"}, reason)
    assert "Status code: 200" in out.stdout
    assert "secret" not in out.stdout + out.stderr


@pytest.mark.parametrize("name", ["nodejs20.x", "nodejs24.x"])
@pytest.mark.parametrize("args, physical_id, no_echo", [("", "2026/12/02/[$LATEST]abc", False), (", 'my-id', true", "my-id", True)])
def test_cfn_response_puts_the_documented_response_object(recorder, name, args, physical_id, no_echo):
    try:
        node = runtimes.interpreter(name)
    except runtimes.RuntimeUnavailable as e:
        pytest.skip(str(e))
    script = f"""
const response = require({json.dumps(str(MODULES / "cfn-response.js"))});
let done = 0;
const context = {{ logStreamName: "2026/12/02/[$LATEST]abc", done: () => done++ }};
response.send({json.dumps(event(recorder.url))}, context, response.SUCCESS, {{ K: "v" }}{args})
  .then(() => console.log("settled, done called " + done));
"""
    out = subprocess.run([str(node), "-e", script], capture_output=True, text=True, timeout=20)
    assert out.returncode == 0, out.stderr
    check_put(recorder, "SUCCESS", physical_id, no_echo, {"K": "v"})
    assert "Status code: 200" in out.stdout and "settled, done called 1" in out.stdout
    assert "secret" not in out.stdout + out.stderr
