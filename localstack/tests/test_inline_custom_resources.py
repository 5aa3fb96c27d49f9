"""Inline (`Code.ZipFile`) Node.js and Python custom-resource functions through CloudFormation, on
the host executor's managed runtimes: packed as CloudFormation packs them (`index.js`/`index.py`
with the `cfn-response`/`cfnresponse` module), calling STS through the runtime's bundled AWS SDK,
answering Create, Update and Delete; and a function that throws, which never answers, so the
stack waits out `ServiceTimeout` (localstack/README.md, "Node.js and Python functions on the host
executor")."""

import io
import re
import time
import urllib.request
import zipfile

import pytest
import yaml

from conftest import outputs, unique, wait_stack

NODE_SOURCE = """\
const response = require('cfn-response');
const { STSClient, GetCallerIdentityCommand } = require('@aws-sdk/client-sts');

exports.handler = async (event, context) => {
  console.log('request', event.RequestType, event.LogicalResourceId);
  const props = event.ResourceProperties;
  if (props.Throw === 'true' && event.RequestType !== 'Delete') {
    throw new Error('thrown by the function');
  }
  const identity = await new STSClient({}).send(new GetCallerIdentityCommand({}));
  await response.send(event, context, response.SUCCESS,
    { Arn: identity.Arn, Value: props.Value, RequestType: event.RequestType }, event.PhysicalResourceId);
};
"""

# The style of the public examples (a plain handler; cfn-response ends the invocation with
# context.done), which Node.js 20 and 22 still run.
NODE_CLASSIC_SOURCE = """\
var response = require('cfn-response');
var sts = require('@aws-sdk/client-sts');

exports.handler = function (event, context) {
  console.log('request', event.RequestType, event.LogicalResourceId);
  var props = event.ResourceProperties;
  new sts.STSClient({}).send(new sts.GetCallerIdentityCommand({})).then(function (identity) {
    response.send(event, context, response.SUCCESS,
      { Arn: identity.Arn, Value: props.Value, RequestType: event.RequestType }, event.PhysicalResourceId);
  });
};
"""

PYTHON_SOURCE = """\
import boto3
import cfnresponse


def handler(event, context):
    print("request", event["RequestType"], event["LogicalResourceId"])
    props = event["ResourceProperties"]
    if props.get("Throw") == "true" and event["RequestType"] != "Delete":
        raise RuntimeError("thrown by the function")
    arn = boto3.client("sts").get_caller_identity()["Arn"]
    cfnresponse.send(event, context, cfnresponse.SUCCESS,
                     {"Arn": arn, "Value": props["Value"], "RequestType": event["RequestType"]},
                     event.get("PhysicalResourceId"))
"""

RUNTIMES = [
    pytest.param("nodejs20.x", None, id="nodejs20.x"),
    pytest.param("nodejs22.x", None, id="nodejs22.x"),
    pytest.param("nodejs24.x", None, id="nodejs24.x"),
    pytest.param("nodejs20.x", NODE_CLASSIC_SOURCE, id="nodejs20.x-context.done"),
    pytest.param("nodejs22.x", NODE_CLASSIC_SOURCE, id="nodejs22.x-context.done"),
    pytest.param("python3.12", None, id="python3.12"),
    pytest.param("python3.13", None, id="python3.13"),
]
PACKAGES = {
    "nodejs": {"index.js", "node_modules/cfn-response/index.js"},
    "python": {"index.py", "cfnresponse.py"},
}
# The log stream's name as Lambda makes it: the module's default physical id.
LOG_STREAM = re.compile(r"\d{4}/\d{2}/\d{2}/\[\$LATEST\][0-9a-f]{32}")


def template(runtime, value, function_name, throw=False, service_timeout=60, source=None):
    source = source or (NODE_SOURCE if runtime.startswith("nodejs") else PYTHON_SOURCE)
    return yaml.safe_dump({
        "Resources": {
            "Role": {
                "Type": "AWS::IAM::Role",
                "Properties": {"AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [
                    {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}},
            },
            "Function": {
                "Type": "AWS::Lambda::Function",
                "Properties": {
                    "FunctionName": function_name,
                    "Runtime": runtime, "Handler": "index.handler", "Timeout": 30, "MemorySize": 128,
                    "Role": {"Fn::GetAtt": ["Role", "Arn"]},
                    "Code": {"ZipFile": source},
                },
            },
            "Probe": {
                "Type": "Custom::Probe",
                "Properties": {
                    "ServiceToken": {"Fn::GetAtt": ["Function", "Arn"]},
                    "ServiceTimeout": service_timeout,
                    "Value": value,
                    "Throw": throw,
                },
            },
        },
        "Outputs": {
            "Ref": {"Value": {"Ref": "Probe"}},
            "Arn": {"Value": {"Fn::GetAtt": ["Probe", "Arn"]}},
            "Value": {"Value": {"Fn::GetAtt": ["Probe", "Value"]}},
            "RequestType": {"Value": {"Fn::GetAtt": ["Probe", "RequestType"]}},
            "Role": {"Value": {"Ref": "Role"}},
            "Function": {"Value": {"Ref": "Function"}},
        },
    })


def log_messages(client, function_name, until, timeout=15):
    """The function's CloudWatch log messages, once one contains `until`."""
    logs = client("logs")
    group = f"/aws/lambda/{function_name}"
    deadline = time.monotonic() + timeout
    messages = []
    while time.monotonic() < deadline:
        if logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"]:
            messages = [e["message"] for e in logs.filter_log_events(logGroupName=group).get("events", [])]
            if any(until in m for m in messages):
                return messages
        time.sleep(0.2)
    raise AssertionError(f"no log line with {until!r} in {group}: {messages}")


@pytest.mark.parametrize("runtime, source", RUNTIMES)
def test_an_inline_function_answers_create_update_and_delete(client, account, runtime, source):
    cfn = client("cloudformation")
    name = unique("inline")
    cfn.create_stack(StackName=name, TemplateBody=template(runtime, "one", f"{name}-fn", source=source),
                     Capabilities=["CAPABILITY_IAM"])
    stack = wait_stack(cfn, name)
    assert stack["StackStatus"] == "CREATE_COMPLETE", stack.get("StackStatusReason")
    out = outputs(stack)
    # The bundled SDK called STS with the function's credentials: a session of its role.
    assert out["Arn"] == f"arn:aws:sts::{account}:assumed-role/{out['Role']}/{out['Function']}"
    assert out["Value"] == "one" and out["RequestType"] == "Create"
    # No physical id given: the module answers with the log stream's name.
    assert LOG_STREAM.fullmatch(out["Ref"]), out["Ref"]

    # Packed as CloudFormation packs inline code.
    lam = client("lambda")
    config = lam.get_function(FunctionName=out["Function"])
    with urllib.request.urlopen(config["Code"]["Location"]) as r:
        names = set(zipfile.ZipFile(io.BytesIO(r.read())).namelist())
    assert names == PACKAGES["nodejs" if runtime.startswith("nodejs") else "python"], names
    assert config["Configuration"]["Runtime"] == runtime

    cfn.update_stack(StackName=name, TemplateBody=template(runtime, "two", f"{name}-fn", source=source),
                     Capabilities=["CAPABILITY_IAM"])
    stack = wait_stack(cfn, name)
    assert stack["StackStatus"] == "UPDATE_COMPLETE", stack.get("StackStatusReason")
    updated = outputs(stack)
    assert updated["Value"] == "two" and updated["RequestType"] == "Update"
    assert updated["Ref"] == out["Ref"]

    cfn.delete_stack(StackName=name)
    assert wait_stack(cfn, name)["StackStatus"] == "DELETE_COMPLETE"
    messages = log_messages(client, out["Function"], "request Delete Probe")
    text = "\n".join(messages)
    assert "request Create Probe" in text and "request Update Probe" in text
    assert text.count("Status code: 200") == 3, text
    # The module logs the response body, never the ResponseURL (a bearer credential).
    assert "Response body:" in text and "X-Amz-Signature" not in text and "X-Amz-Credential" not in text


@pytest.mark.parametrize("runtime, logged", [
    ("nodejs24.x", "Invoke Error"),
    ("python3.13", "[ERROR] RuntimeError: thrown by the function"),
])
def test_an_inline_function_that_throws_never_answers_and_the_stack_waits_for_service_timeout(client, runtime, logged):
    cfn = client("cloudformation")
    name = unique("inline-throws")
    started = time.monotonic()
    cfn.create_stack(StackName=name, TemplateBody=template(runtime, "one", f"{name}-fn", throw=True, service_timeout=5),
                     Capabilities=["CAPABILITY_IAM"])
    stack = wait_stack(cfn, name, timeout=90)
    elapsed = time.monotonic() - started
    assert stack["StackStatus"] == "ROLLBACK_COMPLETE", stack.get("StackStatusReason")
    assert 5 <= elapsed < 60, elapsed
    failed = [e for e in cfn.describe_stack_events(StackName=name)["StackEvents"]
              if e["LogicalResourceId"] == "Probe" and e["ResourceStatus"] == "CREATE_FAILED"]
    assert len(failed) == 1
    assert failed[0]["ResourceStatusReason"].startswith(
        "CloudFormation did not receive a response from your Custom Resource. Please check your logs for requestId [")
    # The error went to the Runtime API's error endpoint and into the function's log; the
    # rollback's Delete was answered.
    messages = log_messages(client, f"{name}-fn", "request Delete Probe")
    text = "\n".join(messages)
    assert logged in text and "thrown by the function" in text
    assert text.count("Status code: 200") == 1, text
