"""The enitrunk-host executor through LocalStack's Lambda API: a real `bootstrap` process."""

import json
import re
import threading
import time

from conftest import ENDPOINT, FUNCTIONS, allow, bootstrap_zip, create_function


def invoke(lam, name, payload):
    r = lam.invoke(FunctionName=name, Payload=json.dumps(payload).encode())
    return r, json.loads(r["Payload"].read() or b"null")


def test_runs_bootstrap_with_lambda_environment(client, role):
    name = create_function(client, role, bootstrap_zip(FUNCTIONS / "echo_bootstrap.py"), env={"MY_VAR": "x"})
    r, body = invoke(client("lambda"), name, {"op": "echo", "n": 1})
    assert "FunctionError" not in r
    assert body["event"] == {"op": "echo", "n": 1}
    env = body["env"]
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == name
    assert env["AWS_ENDPOINT_URL"] == ENDPOINT
    assert env["AWS_REGION"] == "us-east-1"
    assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "128"
    assert env["AWS_LAMBDA_FUNCTION_VERSION"] == "$LATEST"
    assert env["AWS_LAMBDA_LOG_GROUP_NAME"] == f"/aws/lambda/{name}"
    assert env["AWS_LAMBDA_LOG_STREAM_NAME"]
    assert env["AWS_LAMBDA_RUNTIME_API"].startswith("127.0.0.1:")
    assert env["MY_VAR"] == "x"
    assert env["has_credentials"] is True
    assert body["headers"]["Lambda-Runtime-Invoked-Function-Arn"].endswith(f":function:{name}")
    assert int(body["headers"]["Lambda-Runtime-Deadline-Ms"]) > time.time() * 1000
    assert body["headers"]["Lambda-Runtime-Trace-Id"].startswith("Root=")
    # The environment is kept warm: a second invocation reaches the same process.
    _, again = invoke(client("lambda"), name, {"op": "echo"})
    assert again["pid"] == body["pid"]


def test_the_function_runs_as_a_session_of_its_execution_role(client, role):
    """As on Lambda: the function's credentials are those of `assumed-role/<role>/<function>`, and
    what it may do is what its role's policies allow."""
    name = create_function(client, role, bootstrap_zip(FUNCTIONS / "echo_bootstrap.py"))
    lam = client("lambda")
    r, answer = invoke(lam, name, {"op": "aws", "service": "sts", "method": "get_caller_identity"})
    assert "FunctionError" not in r, answer
    identity = answer["result"]
    role_name = role.rsplit("/", 1)[1]
    session = f"arn:aws:sts::{identity['Account']}:assumed-role/{role_name}/{name}"
    assert identity["Arn"] == session
    role_id = client("iam").get_role(RoleName=role_name)["Role"]["RoleId"]
    assert identity["UserId"] == f"{role_id}:{name}"
    # The role has no ECS permissions: the function is refused, as itself.
    put = {"op": "aws", "service": "ecs", "method": "put_account_setting", "args": {"name": "awsvpcTrunking", "value": "enabled"}}
    _, answer = invoke(lam, name, put)
    assert answer["error"] == "AccessDeniedException" and answer["message"].startswith(f"User: {session} is not authorized")
    client("iam").put_role_policy(RoleName=role_name, PolicyName="ecs", PolicyDocument=allow("ecs:PutAccountSetting"))
    _, answer = invoke(lam, name, put)
    assert answer["result"]["setting"]["principalArn"] == role


def test_function_error_is_reported(client, role):
    name = create_function(client, role, bootstrap_zip(FUNCTIONS / "echo_bootstrap.py"))
    r, body = invoke(client("lambda"), name, {"op": "fail"})
    assert r["FunctionError"] == "Unhandled"
    assert body["errorType"] == "Boom"


def test_timeout_kills_the_process_and_the_next_invoke_starts_a_new_one(client, role):
    name = create_function(client, role, bootstrap_zip(FUNCTIONS / "echo_bootstrap.py"), timeout=1)
    lam = client("lambda")
    _, first = invoke(lam, name, {"op": "echo"})
    started = time.monotonic()
    r, body = invoke(lam, name, {"op": "sleep", "seconds": 30})
    assert time.monotonic() - started < 10
    assert r["FunctionError"] == "Unhandled"
    assert "Task timed out after 1.00 seconds" in body["errorMessage"]
    _, after = invoke(lam, name, {"op": "echo"})
    assert after["pid"] != first["pid"]


def test_process_exit_mid_invocation_is_an_error(client, role):
    name = create_function(client, role, bootstrap_zip(FUNCTIONS / "echo_bootstrap.py"))
    r, body = invoke(client("lambda"), name, {"op": "exit"})
    assert r["FunctionError"] == "Unhandled"
    assert body["errorType"] == "Runtime.ExitError"


def test_output_goes_to_cloudwatch_logs(client, role):
    name = create_function(client, role, bootstrap_zip(FUNCTIONS / "echo_bootstrap.py"))
    invoke(client("lambda"), name, {"op": "echo"})
    logs = client("logs")
    deadline = time.monotonic() + 10
    messages = []
    while time.monotonic() < deadline:
        events = logs.filter_log_events(logGroupName=f"/aws/lambda/{name}").get("events", []) if logs.describe_log_groups(
            logGroupNamePrefix=f"/aws/lambda/{name}")["logGroups"] else []
        messages = [e["message"] for e in events]
        if any("REPORT RequestId" in m for m in messages):
            break
        time.sleep(0.1)
    text = "".join(messages)
    assert "handling" in text and "op=echo" in text
    assert "to stderr" in text
    assert "START RequestId" in text and "REPORT RequestId" in text


def report_lines(client, name, count, timeout=10):
    """The function's REPORT log lines, once there are `count` of them."""
    logs = client("logs")
    group = f"/aws/lambda/{name}"
    deadline = time.monotonic() + timeout
    found = []
    while time.monotonic() < deadline:
        if logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"]:
            found = [e["message"] for e in logs.filter_log_events(logGroupName=group).get("events", [])
                     if e["message"].startswith("REPORT RequestId:")]
            if len(found) >= count:
                return found
        time.sleep(0.1)
    raise AssertionError(f"{len(found)} REPORT lines in {group}, expected {count}: {found}")


REPORT = re.compile(
    r"REPORT RequestId: (?P<id>\S+)\tDuration: (?P<duration>\d+\.\d\d) ms\tBilled Duration: (?P<billed>\d+) ms\t"
    r"Memory Size: 128 MB\tMax Memory Used: (?P<max_memory>\d+) MB\t(?:Init Duration: (?P<init>\d+\.\d\d) ms\t)?\n?"
)


def test_the_report_line_has_the_peak_memory_and_the_init_duration_of_a_fresh_environment(client, role):
    """As Lambda's REPORT line (localstack/README.md, "The REPORT line"): `Max Memory Used` is the
    environment's peak so far, `Init Duration` is on its first invocation only; a timed-out
    environment is replaced by a fresh one, whose first invocation has it again."""
    name = create_function(client, role, bootstrap_zip(FUNCTIONS / "echo_bootstrap.py"), timeout=2)
    lam = client("lambda")
    invoke(lam, name, {"op": "echo"})
    _, held = invoke(lam, name, {"op": "alloc", "mb": 96})
    assert held["held"] == 96 << 20
    invoke(lam, name, {"op": "echo"})
    invoke(lam, name, {"op": "sleep", "seconds": 30})  # timed out: the process is killed
    invoke(lam, name, {"op": "echo"})
    reports = [REPORT.fullmatch(line) for line in report_lines(client, name, 5)]
    assert all(reports), report_lines(client, name, 5)
    first, alloc, after, timed_out, fresh = reports
    assert first["init"] is not None and 0 < float(first["init"]) < 10_000
    assert alloc["init"] is None and after["init"] is None and timed_out["init"] is None
    assert fresh["init"] is not None
    assert 0 < int(first["max_memory"]) < 96
    assert int(alloc["max_memory"]) >= 96 + int(first["max_memory"]) - 2
    assert int(after["max_memory"]) >= int(alloc["max_memory"])  # the peak across the environment's invocations
    assert int(fresh["max_memory"]) < 96  # a new environment, a new peak
    assert int(timed_out["billed"]) >= 2000 and float(timed_out["duration"]) >= 2000


def test_an_invocation_running_when_its_function_is_deleted_finishes_and_keeps_its_logs(client, role):
    """As a custom resource's function is deleted by CloudFormation once it has answered, while its
    invocation ends (localstack/README.md, `lambda_host/deletion.py`): the invocation runs to its
    end and its log lines, to the REPORT, stay in the log group."""
    name = create_function(client, role, bootstrap_zip(FUNCTIONS / "echo_bootstrap.py"), timeout=10)
    lam = client("lambda")
    outcome = {}

    def run():
        outcome["response"], outcome["body"] = invoke(lam, name, {"op": "sleep", "seconds": 3})

    invocation = threading.Thread(target=run)
    invocation.start()
    time.sleep(1.5)
    lam.delete_function(FunctionName=name)
    invocation.join(timeout=20)
    assert not invocation.is_alive()
    assert "FunctionError" not in outcome["response"], outcome["body"]
    assert outcome["body"]["event"] == {"op": "sleep", "seconds": 3}
    (report,) = report_lines(client, name, 1)
    fields = REPORT.fullmatch(report)
    assert fields, report
    assert float(fields["duration"]) >= 3000
