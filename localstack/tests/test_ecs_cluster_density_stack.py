"""The proof of effect on `templates/ecs-cluster.yaml` as checked in (its service at 8 tasks of
256 CPU / 512 MiB): with `awsvpcTrunking` on for the instance role before the group launches, its
one m5.large registers with a trunk and runs all 8; an instance that registered before the setting
took effect has no trunk and runs 2, the service saying why the other 6 wait, and keeps no trunk
when the setting comes on; an instance launched after it does.

The template is read from the repository; the function is the real `bootstrap` when
ENITRUNK_BOOTSTRAP names it, else the Python stand-in (`test_eni_trunking_stack.package`).
"""

import time

from conftest import outputs, unique, wait_stack

from fleet import TRUNK, attribute, has_attribute, tasks, wait_instances, wait_running
from test_ecs_cluster_stack import CAPABILITIES, TEMPLATE, failures, parameters, wait_change_set
from test_eni_trunking_stack import upload

SERVICE_TASKS = 8
ENI_REASON = 'encountered error "RESOURCE:ENI".'


def template(setting="enabled"):
    """The checked-in template with its service at 8 tasks, and the function setting `setting`."""
    body = TEMPLATE.read_text()
    for literal, wanted in (("DesiredCount: 4", f"DesiredCount: {SERVICE_TASKS}"), ("SettingValue: enabled", f"SettingValue: {setting}")):
        assert body.count(literal) == 1, literal
        body = body.replace(literal, wanted)
    return body


def deploy(client, name, body):
    cfn = client("cloudformation")
    bucket, key = upload(client)
    cfn.create_stack(StackName=name, TemplateBody=body, Parameters=parameters(bucket, key), Capabilities=CAPABILITIES)
    stack = wait_stack(cfn, name, timeout=180)
    assert stack["StackStatus"] == "CREATE_COMPLETE", failures(cfn, name)
    return outputs(stack), (bucket, key)


def delete(client, name):
    cfn = client("cloudformation")
    cfn.delete_stack(StackName=name)
    assert wait_stack(cfn, name, timeout=180)["StackStatus"] == "DELETE_COMPLETE", failures(cfn, name)


def test_trunking_on_before_the_group_launches_runs_eight_tasks_on_one_m5_large(client):
    ecs = client("ecs")
    name = unique("density")
    out, _ = deploy(client, name, template())
    cluster = out["ClusterName"]
    [ci] = wait_instances(ecs, cluster, 1)
    assert attribute(ci, "ecs.instance-type") == "m5.large" and attribute(ci, TRUNK).startswith("eni-")
    svc = wait_running(ecs, cluster, out["WebServiceName"], SERVICE_TASKS)
    assert (svc["desiredCount"], svc["runningCount"], svc["pendingCount"]) == (SERVICE_TASKS, SERVICE_TASKS, 0)
    assert svc["events"][0]["message"] == f"(service {out['WebServiceName']}) has reached a steady state."
    running = tasks(ecs, cluster, out["WebServiceName"])
    assert len(running) == SERVICE_TASKS and {t["lastStatus"] for t in running} == {"RUNNING"}
    assert {t["containerInstanceArn"] for t in running} == {ci["containerInstanceArn"]}
    assert {t["capacityProviderName"] for t in running} == {out["CapacityProviderName"]}
    [ci] = wait_instances(ecs, cluster, 1)
    assert ci["runningTasksCount"] == SERVICE_TASKS
    delete(client, name)


def test_an_instance_registered_before_the_setting_took_effect_runs_two_until_replaced(client):
    ecs, cfn = client("ecs"), client("cloudformation")
    name = unique("contrast")
    out, (bucket, key) = deploy(client, name, template("disabled"))
    assert out["TrunkingSetting"] == "disabled"
    cluster, service = out["ClusterName"], out["WebServiceName"]
    [early] = wait_instances(ecs, cluster, 1)
    assert not has_attribute(early, TRUNK)
    svc = wait_running(ecs, cluster, service, 2)
    # Two tasks fit (the m5.large's limit without trunking); the other six have no record.
    assert (svc["desiredCount"], svc["runningCount"], svc["pendingCount"]) == (SERVICE_TASKS, 2, 0)
    early_id = early["containerInstanceArn"].rsplit("/", 1)[1]
    assert svc["events"][0]["message"] == (
        f"(service {service}) was unable to place a task because no container instance met all of its requirements. "
        f"The closest matching (container-instance {early_id}) {ENI_REASON} "
        "For more information, see the Troubleshooting section of the Amazon ECS Developer Guide."
    )

    # The setting comes on for the role (the stack updated back to `enabled`): the instance that
    # registered before keeps no trunk, "regardless of the actions taken".
    change_set = cfn.create_change_set(
        StackName=name, ChangeSetName=unique("enable"), TemplateBody=template(), Parameters=parameters(bucket, key),
        Capabilities=CAPABILITIES,
    )["Id"]
    wait_change_set(cfn, change_set)
    cfn.execute_change_set(ChangeSetName=change_set)
    stack = wait_stack(cfn, name, timeout=180)
    assert stack["StackStatus"] == "UPDATE_COMPLETE", failures(cfn, name)
    assert outputs(stack)["TrunkingSetting"] == "enabled"
    time.sleep(1.5)  # a periodic placement pass (every second: localstack/run)
    [same] = wait_instances(ecs, cluster, 1)
    assert same["containerInstanceArn"] == early["containerInstanceArn"] and not has_attribute(same, TRUNK)
    assert wait_running(ecs, cluster, service, 2)["runningCount"] == 2

    # Its replacement, launched after the setting took effect, registers with a trunk and takes all 8.
    client("ec2").terminate_instances(InstanceIds=[early["ec2InstanceId"]])
    wait_instances(ecs, cluster, 1, status="INACTIVE")
    [late] = wait_instances(ecs, cluster, 1)
    assert late["ec2InstanceId"] != early["ec2InstanceId"] and has_attribute(late, TRUNK)
    svc = wait_running(ecs, cluster, service, SERVICE_TASKS)
    assert {t["containerInstanceArn"] for t in tasks(ecs, cluster, service)} == {late["containerInstanceArn"]}
    delete(client, name)
