"""Stand-in for custom-resource-lambda's `bootstrap` (DESIGN §2.1, Role scope), for the suite.

Assumes `RoleArn` with the function's session name (`enitrunk-custom-resource`: the templates
let only that session of the instance role change the setting), turns the setting on as that role
(no principalArn), reads its own effective
setting back with ListAccountSettings(effectiveSettings), again naming no principal (only the root
user or the principal itself may name one), and PUTs the response to ResponseURL with an empty
Content-Type. Delete with OnDelete=Reset removes the role's own setting. The real binary
replaces it when ENITRUNK_BOOTSTRAP points at it.
"""

import hashlib
import json
import os
import urllib.request

import boto3

API = f"http://{os.environ['AWS_LAMBDA_RUNTIME_API']}/2018-06-01/runtime"


def handle(event):
    props = event["ResourceProperties"]
    role = props.get("RoleArn") or props.get("EC2Role")
    name = props.get("SettingName", "awsvpcTrunking")
    value = props.get("SettingValue", "enabled")
    region = props.get("Region") or os.environ["AWS_REGION"]
    physical_id = "enitrunk-" + hashlib.sha256(f"Role|{role}|{region}|{name}".encode()).hexdigest()[:16]
    creds = boto3.client("sts").assume_role(RoleArn=role, RoleSessionName="enitrunk-custom-resource")["Credentials"]
    ecs = boto3.client("ecs", region_name=region, aws_access_key_id=creds["AccessKeyId"],
                       aws_secret_access_key=creds["SecretAccessKey"], aws_session_token=creds["SessionToken"])
    if event["RequestType"] == "Delete":
        if props.get("OnDelete") == "Reset":
            ecs.delete_account_setting(name=name)
        return physical_id, {}
    ecs.put_account_setting(name=name, value=value)
    [s] = ecs.list_account_settings(name=name, effectiveSettings=True)["settings"]
    return physical_id, {"SettingName": s["name"], "Value": s["value"], "PrincipalArn": s["principalArn"]}


while True:
    with urllib.request.urlopen(f"{API}/invocation/next") as r:
        request_id = r.headers["Lambda-Runtime-Aws-Request-Id"]
        event = json.loads(r.read())
    response = {k: event[k] for k in ("StackId", "RequestId", "LogicalResourceId")}
    try:
        physical_id, data = handle(event)
        response.update(Status="SUCCESS", PhysicalResourceId=physical_id, Data=data, NoEcho=False)
    except Exception as e:  # always answer CloudFormation
        response.update(Status="FAILED", Reason=str(e)[:1000],
                        PhysicalResourceId=event.get("PhysicalResourceId", "enitrunk-failed"))
    req = urllib.request.Request(event["ResponseURL"], data=json.dumps(response).encode(), method="PUT",
                                 headers={"Content-Type": ""})
    urllib.request.urlopen(req).read()
    print(json.dumps({"RequestType": event["RequestType"], "Status": response["Status"]}), flush=True)
    urllib.request.urlopen(urllib.request.Request(f"{API}/invocation/{request_id}/response", data=b"{}", method="POST")).read()
