"""Lambda logs go to the function's `LoggingConfig.LogGroup` (the `lambda_logging` hook)."""

import json
import time

from conftest import FUNCTIONS, bootstrap_zip, create_function, unique
from enitrunk_localstack.lambda_host.log_group import log_group_name


def test_log_group_name_defaults_to_aws_lambda_name():
    assert log_group_name("fn", None) == "/aws/lambda/fn"
    assert log_group_name("fn", {"LogFormat": "Text"}) == "/aws/lambda/fn"
    assert log_group_name("fn", {"LogGroup": "/custom/group"}) == "/custom/group"


def messages(logs, group):
    try:
        return [e["message"] for e in logs.filter_log_events(logGroupName=group)["events"]]
    except logs.exceptions.ResourceNotFoundException:
        return []


def test_logs_go_to_the_configured_log_group(client, role):
    group = f"/enitrunk/test/{unique('group')}"
    client("logs").create_log_group(logGroupName=group)
    name = create_function(
        client,
        role,
        bootstrap_zip(FUNCTIONS / "echo_bootstrap.py"),
        LoggingConfig={"LogFormat": "JSON", "LogGroup": group},
    )
    r = client("lambda").invoke(FunctionName=name, Payload=json.dumps({"op": "echo"}).encode())
    body = json.loads(r["Payload"].read())
    assert body["env"]["AWS_LAMBDA_LOG_GROUP_NAME"] == group

    logs = client("logs")
    deadline = time.monotonic() + 20
    while not (got := messages(logs, group)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert any(m.startswith("START RequestId:") for m in got), got
    assert messages(logs, f"/aws/lambda/{name}") == []
