"""runtime_api.RuntimeApiServer on its own, spoken to over HTTP as a runtime client would."""

import json
import threading
import urllib.error
import urllib.request

from enitrunk_localstack.lambda_host.runtime_api import PREFIX, Invocation, RuntimeApiServer, deadline_ms


def http(method, url, body=None, headers=None):
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def test_next_response_error_and_init_error():
    api = RuntimeApiServer()
    api.start()
    base = f"http://{api.address}{PREFIX}"
    try:
        got = {}

        def runtime():
            got["next"] = http("GET", f"{base}/invocation/next")

        t = threading.Thread(target=runtime)
        t.start()
        assert api.ready.wait(5)
        inv = Invocation("req-1", b'{"a":1}', "arn:aws:lambda:us-east-1:1:function:f", "Root=1-2-3", deadline_ms(3))
        fut = api.submit(inv)
        t.join(5)
        status, headers, body = got["next"]
        assert status == 200 and json.loads(body) == {"a": 1}
        assert headers["Lambda-Runtime-Aws-Request-Id"] == "req-1"
        assert headers["Lambda-Runtime-Invoked-Function-Arn"].endswith(":function:f")
        assert headers["Lambda-Runtime-Trace-Id"] == "Root=1-2-3"
        assert int(headers["Lambda-Runtime-Deadline-Ms"]) == inv.deadline_ms
        assert http("POST", f"{base}/invocation/req-1/response", b'"ok"')[0] == 202
        assert fut.result(1).payload == b'"ok"' and not fut.result(1).is_error
        # A second answer for the same id, or an unknown id, is rejected.
        assert http("POST", f"{base}/invocation/req-1/response", b"x")[0] == 400

        inv2 = Invocation("req-2", b"{}", "arn", "", deadline_ms(3))
        fut2 = api.submit(inv2)
        api._pending.get()  # taken by a runtime
        status, _, _ = http("POST", f"{base}/invocation/req-2/error", b'{"errorType":"X"}', {"Lambda-Runtime-Function-Error-Type": "X"})
        assert status == 202
        assert fut2.result(1).is_error and fut2.result(1).error_type == "X"

        assert http("POST", f"{base}/init/error", b'{"errorType":"Init"}')[0] == 202
        assert api.init_error.result(1).payload == b'{"errorType":"Init"}'
    finally:
        api.shutdown()
