"""Auto Scaling instance refreshes through the API (autoscaling:enitrunk): replacements in batches
that keep the minimum healthy percentage, launched from the launch template version the group
launches from now, ECS managed draining before termination, cancel, and the errors AWS answers.

Instances spend about a second `Pending` and a second `Terminating` here (`Timings`), and the
refreshes use an instance warmup of 0 unless a test needs one, so each runs in a few seconds.
"""

import base64
import json
import time
from itertools import groupby

import pytest

from conftest import outputs, refusal, unique, wait_stack

AMI = "ami-12c6146b"


def user_data(text):
    return base64.b64encode(text.encode()).decode()


@pytest.fixture
def make_group(client):
    """A factory: an Auto Scaling group of `count` instances launching from `$Latest` of a new
    launch template (m5.large, user data "v1"); returns (group name, launch template id)."""
    ec2, asg = client("ec2"), client("autoscaling")
    vpc = ec2.create_vpc(CidrBlock="10.47.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.47.0.0/24")["Subnet"]["SubnetId"]
    made = []

    def make(count, **extra):
        template = ec2.create_launch_template(
            LaunchTemplateName=unique("lt"),
            LaunchTemplateData={"ImageId": AMI, "InstanceType": "m5.large", "UserData": user_data("v1")},
        )["LaunchTemplate"]["LaunchTemplateId"]
        name = unique("asg")
        asg.create_auto_scaling_group(
            AutoScalingGroupName=name, MinSize=0, MaxSize=10, DesiredCapacity=count, VPCZoneIdentifier=subnet,
            LaunchTemplate={"LaunchTemplateId": template, "Version": "$Latest"}, **extra,
        )
        made.append(name)
        return name, template

    yield make
    for name in made:
        asg.delete_auto_scaling_group(AutoScalingGroupName=name, ForceDelete=True)


def instances(asg, name):
    [group] = asg.describe_auto_scaling_groups(AutoScalingGroupNames=[name])["AutoScalingGroups"]
    return {i["InstanceId"]: i for i in group["Instances"]}


def refresh(asg, name, refresh_id):
    [r] = asg.describe_instance_refreshes(AutoScalingGroupName=name, InstanceRefreshIds=[refresh_id])["InstanceRefreshes"]
    return r


def follow(asg, name, refresh_id, until=("Successful", "Failed", "Cancelled"), timeout=30):
    """Polls the refresh and the group until the refresh's status is in `until`: the last record,
    and the samples (record, {instance id: lifecycle state}) seen on the way."""
    samples = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r = refresh(asg, name, refresh_id)
        samples.append((r, {i: s["LifecycleState"] for i, s in instances(asg, name).items()}))
        if r["Status"] in until:
            return r, samples
        time.sleep(0.05)
    raise AssertionError(f"refresh {refresh_id} still {samples[-1][0]['Status']} after {timeout}s")


def ec2_state(client, instance_id):
    [reservation] = client("ec2").describe_instances(InstanceIds=[instance_id])["Reservations"]
    return reservation["Instances"][0]["State"]["Name"]


def test_a_refresh_replaces_every_instance_and_keeps_the_minimum_in_service(client, make_group):
    asg = client("autoscaling")
    name, _ = make_group(2)
    old = set(instances(asg, name))
    refresh_id = asg.start_instance_refresh(AutoScalingGroupName=name, Preferences={"MinHealthyPercentage": 50})["InstanceRefreshId"]
    r, samples = follow(asg, name, refresh_id)

    assert r["Status"] == "Successful" and r["PercentageComplete"] == 100 and r["InstancesToUpdate"] == 0
    assert r["EndTime"] >= r["StartTime"]
    assert r["ProgressDetails"]["LivePoolProgress"] == {"PercentageComplete": 100, "InstancesToUpdate": 0}
    assert r["Preferences"] == {"MinHealthyPercentage": 50, "InstanceWarmup": 0, "SkipMatching": False, "AutoRollback": False,
                                "ScaleInProtectedInstances": "Wait", "StandbyInstances": "Wait"}
    now = instances(asg, name)
    assert len(now) == 2 and not old & set(now) and {i["LifecycleState"] for i in now.values()} == {"InService"}
    assert all(ec2_state(client, i) == "terminated" for i in old)
    # Never fewer than 50 % of 2 in service; old instances went Terminating, new ones were Pending.
    assert min(sum(1 for s in states.values() if s == "InService") for _, states in samples) == 1
    seen = {(i in old, s) for _, states in samples for i, s in states.items()}
    assert (True, "Terminating") in seen and (False, "Pending") in seen
    statuses = [s for s, _ in groupby(r["Status"] for r, _ in samples)]
    assert statuses[-1] == "Successful" and set(statuses) <= {"Pending", "InProgress", "Successful"}
    # Half done after the first batch.
    assert any(r["PercentageComplete"] == 50 and r["InstancesToUpdate"] == 1 for r, _ in samples)


def test_launch_before_terminating_when_the_maximum_is_above_100(client, make_group):
    asg = client("autoscaling")
    name, _ = make_group(1)
    [old] = instances(asg, name)
    refresh_id = asg.start_instance_refresh(
        AutoScalingGroupName=name, Preferences={"MinHealthyPercentage": 100, "MaxHealthyPercentage": 200, "InstanceWarmup": 1}
    )["InstanceRefreshId"]
    r, samples = follow(asg, name, refresh_id)
    assert r["Status"] == "Successful" and r["Preferences"]["MaxHealthyPercentage"] == 200
    assert min(sum(1 for s in states.values() if s == "InService") for _, states in samples) == 1
    assert max(len(states) for _, states in samples) == 2
    # The old instance was still in service while its replacement warmed up.
    assert any(states.get(old) == "InService" and list(states.values()).count("InService") == 2 for _, states in samples)


def test_a_second_refresh_is_refused_while_one_is_active(client, make_group):
    asg = client("autoscaling")
    name, _ = make_group(1)
    first = asg.start_instance_refresh(AutoScalingGroupName=name, Preferences={"InstanceWarmup": 30})["InstanceRefreshId"]
    assert refusal(lambda: asg.start_instance_refresh(AutoScalingGroupName=name)) == (
        "InstanceRefreshInProgress", 400, "An Instance Refresh is already in progress and blocks the execution of this Instance Refresh."
    )
    asg.cancel_instance_refresh(AutoScalingGroupName=name)
    follow(asg, name, first)
    # Once it has ended, another can start.
    second = asg.start_instance_refresh(AutoScalingGroupName=name)["InstanceRefreshId"]
    listed = asg.describe_instance_refreshes(AutoScalingGroupName=name)["InstanceRefreshes"]
    assert [x["InstanceRefreshId"] for x in listed] == [second, first]  # newest first
    asg.cancel_instance_refresh(AutoScalingGroupName=name)


def test_cancel_waits_for_transitioning_instances_and_ends_cancelled(client, make_group):
    asg = client("autoscaling")
    name, _ = make_group(2)
    old = set(instances(asg, name))
    refresh_id = asg.start_instance_refresh(
        AutoScalingGroupName=name, Preferences={"MinHealthyPercentage": 50, "InstanceWarmup": 30}
    )["InstanceRefreshId"]
    # The first replacement in service, warming up.
    r, _ = follow(asg, name, refresh_id, until=("InProgress",))
    while "warm up" not in (r.get("StatusReason") or ""):
        time.sleep(0.05)
        r = refresh(asg, name, refresh_id)
    assert r["StatusReason"].startswith("Waiting for instances to warm up before continuing. For example: i-")

    assert asg.cancel_instance_refresh(AutoScalingGroupName=name)["InstanceRefreshId"] == refresh_id
    assert refresh(asg, name, refresh_id)["Status"] in ("Cancelling", "Cancelled")
    r, _ = follow(asg, name, refresh_id)
    assert r["Status"] == "Cancelled" and "EndTime" in r and r["PercentageComplete"] == 0
    # One instance was replaced; the other was left alone, and nothing more happens.
    time.sleep(1.5)
    now = instances(asg, name)
    assert len(now) == 2 and len(old & set(now)) == 1
    assert {s["LifecycleState"] for s in now.values()} == {"InService"}
    assert refusal(lambda: asg.cancel_instance_refresh(AutoScalingGroupName=name)) == (
        "ActiveInstanceRefreshNotFound", 400, f"No in progress or pending Instance Refresh found for Auto Scaling group {name}"
    )


def test_cancel_without_waiting_ends_cancelled_at_once(client, make_group):
    asg = client("autoscaling")
    name, _ = make_group(1)
    refresh_id = asg.start_instance_refresh(AutoScalingGroupName=name)["InstanceRefreshId"]
    asg.cancel_instance_refresh(AutoScalingGroupName=name, WaitForTransitioningInstances=False)
    assert refresh(asg, name, refresh_id)["Status"] == "Cancelled"
    # What was on its way still arrives: a launched replacement goes in service.
    time.sleep(2.5)
    assert {s["LifecycleState"] for s in instances(asg, name).values()} <= {"InService"}


def test_replacements_launch_from_the_launch_template_version_the_group_launches_now(client, make_group):
    asg, ec2 = client("autoscaling"), client("ec2")
    name, template = make_group(2)
    assert {i["LaunchTemplate"]["Version"] for i in instances(asg, name).values()} == {"1"}
    ec2.create_launch_template_version(
        LaunchTemplateId=template, SourceVersion="1",
        LaunchTemplateData={"ImageId": AMI, "InstanceType": "c5.large", "UserData": user_data("v2")},
    )
    refresh_id = asg.start_instance_refresh(AutoScalingGroupName=name, Preferences={"MinHealthyPercentage": 50})["InstanceRefreshId"]
    assert follow(asg, name, refresh_id)[0]["Status"] == "Successful"

    now = instances(asg, name)
    assert {i["LaunchTemplate"]["Version"] for i in now.values()} == {"2"}
    assert {i["InstanceType"] for i in now.values()} == {"c5.large"}
    for instance_id in now:
        data = ec2.describe_instance_attribute(InstanceId=instance_id, Attribute="userData")["UserData"]["Value"]
        assert base64.b64decode(data).decode() == "v2"
        tags = {t["Key"]: t["Value"] for t in ec2.describe_tags(Filters=[{"Name": "resource-id", "Values": [instance_id]}])["Tags"]}
        assert tags["aws:ec2launchtemplate:version"] == "2" and tags["aws:autoscaling:groupName"] == name
    [described] = asg.describe_auto_scaling_instances(InstanceIds=[next(iter(now))])["AutoScalingInstances"]
    assert described["LaunchTemplate"]["Version"] == "2"


def test_skip_matching_replaces_only_instances_from_another_version(client, make_group):
    asg, ec2 = client("autoscaling"), client("ec2")
    name, template = make_group(1)
    [v1] = instances(asg, name)
    ec2.create_launch_template_version(LaunchTemplateId=template, SourceVersion="1", LaunchTemplateData={"InstanceType": "c5.large"})
    asg.set_desired_capacity(AutoScalingGroupName=name, DesiredCapacity=2)
    [v2] = set(instances(asg, name)) - {v1}

    refresh_id = asg.start_instance_refresh(AutoScalingGroupName=name, Preferences={"SkipMatching": True, "MinHealthyPercentage": 50})["InstanceRefreshId"]
    assert refresh(asg, name, refresh_id)["InstancesToUpdate"] == 1
    assert follow(asg, name, refresh_id)[0]["Status"] == "Successful"
    now = instances(asg, name)
    assert v2 in now and v1 not in now and len(now) == 2

    # Everything matches now: nothing to replace, done at once.
    refresh_id = asg.start_instance_refresh(AutoScalingGroupName=name, Preferences={"SkipMatching": True})["InstanceRefreshId"]
    r, _ = follow(asg, name, refresh_id, timeout=5)
    assert (r["Status"], r["PercentageComplete"], r["InstancesToUpdate"]) == ("Successful", 100, 0)
    assert set(instances(asg, name)) == set(now)


@pytest.fixture
def ecs_cluster(client):
    """A cluster and a task definition to run on its container instances."""
    ecs = client("ecs")
    cluster = unique("cluster")
    ecs.create_cluster(clusterName=cluster)
    ecs.register_task_definition(family="drain", containerDefinitions=[{"name": "c", "image": "nginx", "memory": 64}])
    return cluster


def register(ecs, cluster, instance_id):
    document = json.dumps({"instanceId": instance_id, "region": "us-east-1"})
    return ecs.register_container_instance(cluster=cluster, instanceIdentityDocument=document)["containerInstance"]["containerInstanceArn"]


def container_instance(ecs, cluster, arn):
    return ecs.describe_container_instances(cluster=cluster, containerInstances=[arn])["containerInstances"][0]


def test_ecs_managed_draining_holds_the_termination_until_the_tasks_stop(client, make_group, ecs_cluster):
    asg, ecs = client("autoscaling"), client("ecs")
    name, _ = make_group(1)
    [old] = instances(asg, name)
    # A capacity provider for the group: managed draining is on by default.
    ecs.create_capacity_provider(name=unique("cp"), autoScalingGroupProvider={"autoScalingGroupArn": name})
    arn = register(ecs, ecs_cluster, old)
    [task] = ecs.start_task(cluster=ecs_cluster, taskDefinition="drain", containerInstances=[arn])["tasks"]

    refresh_id = asg.start_instance_refresh(AutoScalingGroupName=name, Preferences={"MinHealthyPercentage": 0})["InstanceRefreshId"]
    deadline = time.monotonic() + 10
    while instances(asg, name).get(old, {}).get("LifecycleState") != "Terminating:Wait":
        assert time.monotonic() < deadline, "the old instance never waited for draining"
        time.sleep(0.05)
    assert container_instance(ecs, ecs_cluster, arn)["status"] == "DRAINING"
    assert ec2_state(client, old) == "running"
    # The task keeps the instance from terminating.
    time.sleep(2.5)
    assert instances(asg, name)[old]["LifecycleState"] == "Terminating:Wait" and ec2_state(client, old) == "running"
    r = refresh(asg, name, refresh_id)
    assert r["Status"] == "InProgress" and f"{old} is draining" in r["StatusReason"]

    ecs.stop_task(cluster=ecs_cluster, task=task["taskArn"], reason="drained")
    r, samples = follow(asg, name, refresh_id)
    assert r["Status"] == "Successful"
    assert old not in instances(asg, name) and ec2_state(client, old) == "terminated"
    assert any(states.get(old) == "Terminating:Proceed" for _, states in samples)


@pytest.mark.parametrize("managed_draining", ["DISABLED", None])
def test_without_managed_draining_the_container_instance_is_not_drained(client, make_group, ecs_cluster, managed_draining):
    asg, ecs = client("autoscaling"), client("ecs")
    name, _ = make_group(1)
    [old] = instances(asg, name)
    if managed_draining:  # a capacity provider with draining off; else no capacity provider at all
        ecs.create_capacity_provider(name=unique("cp"), autoScalingGroupProvider={"autoScalingGroupArn": name, "managedDraining": managed_draining})
    arn = register(ecs, ecs_cluster, old)
    [task] = ecs.start_task(cluster=ecs_cluster, taskDefinition="drain", containerInstances=[arn])["tasks"]

    refresh_id = asg.start_instance_refresh(AutoScalingGroupName=name, Preferences={"MinHealthyPercentage": 0})["InstanceRefreshId"]
    r, samples = follow(asg, name, refresh_id)
    assert r["Status"] == "Successful" and ec2_state(client, old) == "terminated"
    assert not any(states.get(old) == "Terminating:Wait" for _, states in samples)
    # Not drained first: the termination itself deregistered the instance and stopped its task.
    assert container_instance(ecs, ecs_cluster, arn)["status"] == "INACTIVE"
    [stopped] = ecs.describe_tasks(cluster=ecs_cluster, tasks=[task["taskArn"]])["tasks"]
    assert stopped["stoppedReason"] == f"Host EC2 (instance {old}) terminated."


def test_protected_and_standby_instances_follow_the_preferences(client, make_group):
    asg = client("autoscaling")
    name, _ = make_group(3)
    plain, protected, standby = sorted(instances(asg, name))
    asg.set_instance_protection(AutoScalingGroupName=name, InstanceIds=[protected], ProtectedFromScaleIn=True)
    asg.enter_standby(AutoScalingGroupName=name, InstanceIds=[standby], ShouldDecrementDesiredCapacity=True)

    ignore = asg.start_instance_refresh(
        AutoScalingGroupName=name,
        Preferences={"MinHealthyPercentage": 0, "ScaleInProtectedInstances": "Ignore", "StandbyInstances": "Ignore"},
    )["InstanceRefreshId"]
    assert refresh(asg, name, ignore)["InstancesToUpdate"] == 1
    assert follow(asg, name, ignore)[0]["Status"] == "Successful"
    now = instances(asg, name)
    assert plain not in now and protected in now and standby in now

    replace = asg.start_instance_refresh(
        AutoScalingGroupName=name,
        Preferences={"MinHealthyPercentage": 0, "ScaleInProtectedInstances": "Refresh", "StandbyInstances": "Terminate"},
    )["InstanceRefreshId"]
    assert follow(asg, name, replace)[0]["Status"] == "Successful"
    after = instances(asg, name)
    # The protected instance was replaced; the one in Standby was terminated, not replaced.
    assert protected not in after and standby not in after
    assert ec2_state(client, standby) == "terminated"


def test_a_protected_instance_is_waited_for_until_its_protection_is_removed(client, make_group):
    asg = client("autoscaling")
    name, _ = make_group(1)
    [protected] = instances(asg, name)
    asg.set_instance_protection(AutoScalingGroupName=name, InstanceIds=[protected], ProtectedFromScaleIn=True)
    refresh_id = asg.start_instance_refresh(AutoScalingGroupName=name)["InstanceRefreshId"]  # ScaleInProtectedInstances: Wait
    time.sleep(1)
    r = refresh(asg, name, refresh_id)
    assert r["Status"] == "InProgress" and protected in r["StatusReason"] and r["InstancesToUpdate"] == 1
    assert instances(asg, name)[protected]["LifecycleState"] == "InService"
    asg.set_instance_protection(AutoScalingGroupName=name, InstanceIds=[protected], ProtectedFromScaleIn=False)
    assert follow(asg, name, refresh_id)[0]["Status"] == "Successful"
    assert protected not in instances(asg, name)


def test_checkpoints_pause_the_refresh_and_bake_time_ends_it(client, make_group):
    asg = client("autoscaling")
    name, _ = make_group(2)
    started = time.monotonic()
    refresh_id = asg.start_instance_refresh(
        AutoScalingGroupName=name,
        Preferences={"MinHealthyPercentage": 0, "CheckpointPercentages": [50, 100], "CheckpointDelay": 2, "BakeTime": 1},
    )["InstanceRefreshId"]
    r, samples = follow(asg, name, refresh_id)
    assert r["Status"] == "Successful" and r["Preferences"]["CheckpointPercentages"] == [50, 100]
    assert any(s["PercentageComplete"] == 50 and "checkpoint 50" in (s.get("StatusReason") or "") for s, _ in samples)
    assert any(s["Status"] == "Baking" and s["PercentageComplete"] == 100 for s, _ in samples)
    # Two batches of one (the checkpoint stops the first at 50 %), the delay, the bake time.
    assert time.monotonic() - started >= 4


def test_instance_warmup_defaults_to_the_health_check_grace_period_which_defaults_to_0(client, make_group):
    asg = client("autoscaling")
    name, _ = make_group(0)
    [group] = asg.describe_auto_scaling_groups(AutoScalingGroupNames=[name])["AutoScalingGroups"]
    assert group["HealthCheckGracePeriod"] == 0  # the API's default (patches/moto_autoscaling.py)
    refresh_id = asg.start_instance_refresh(AutoScalingGroupName=name)["InstanceRefreshId"]
    r, _ = follow(asg, name, refresh_id, timeout=5)
    assert (r["Status"], r["PercentageComplete"], r["Preferences"]["InstanceWarmup"]) == ("Successful", 100, 0)

    graced, _ = make_group(0, HealthCheckGracePeriod=45)
    refresh_id = asg.start_instance_refresh(AutoScalingGroupName=graced)["InstanceRefreshId"]
    assert follow(asg, graced, refresh_id, timeout=5)[0]["Preferences"]["InstanceWarmup"] == 45


def test_refresh_operations_on_a_group_that_does_not_exist_are_validation_errors(client):
    asg = client("autoscaling")
    message = "AutoScalingGroup name not found - AutoScalingGroup 'no-such-group' not found"
    for call in (asg.start_instance_refresh, asg.describe_instance_refreshes, asg.cancel_instance_refresh, asg.rollback_instance_refresh):
        assert refusal(lambda: call(AutoScalingGroupName="no-such-group")) == ("ValidationError", 400, message)


def test_invalid_preferences_are_refused(client, make_group):
    asg = client("autoscaling")
    name, _ = make_group(0)
    code, status, message = refusal(lambda: asg.start_instance_refresh(AutoScalingGroupName=name, Preferences={"MinHealthyPercentage": 101}))
    assert (code, status) == ("ValidationError", 400)
    assert message == ("1 validation error detected: Value '101' at 'preferences.minHealthyPercentage' failed to satisfy "
                       "constraint: Member must have value less than or equal to 100")
    code, _, message = refusal(lambda: asg.start_instance_refresh(AutoScalingGroupName=name, Preferences={"MaxHealthyPercentage": 150}))
    assert code == "ValidationError" and "MinHealthyPercentage" in message
    code, _, message = refusal(lambda: asg.start_instance_refresh(
        AutoScalingGroupName=name, Preferences={"MinHealthyPercentage": 10, "MaxHealthyPercentage": 200}))
    assert code == "ValidationError" and "cannot be greater than 100" in message
    code, _, message = refusal(lambda: asg.start_instance_refresh(AutoScalingGroupName=name, Preferences={"AutoRollback": True}))
    assert code == "ValidationError" and "DesiredConfiguration parameter is empty" in message
    # Nothing was started by the refused calls.
    assert asg.describe_instance_refreshes(AutoScalingGroupName=name)["InstanceRefreshes"] == []


def test_a_refresh_without_a_desired_configuration_cannot_be_rolled_back(client, make_group):
    asg = client("autoscaling")
    name, _ = make_group(1)
    assert refusal(lambda: asg.rollback_instance_refresh(AutoScalingGroupName=name))[:2] == ("ActiveInstanceRefreshNotFound", 400)
    asg.start_instance_refresh(AutoScalingGroupName=name, Preferences={"InstanceWarmup": 30})
    code, status, message = refusal(lambda: asg.rollback_instance_refresh(AutoScalingGroupName=name))
    assert (code, status) == ("IrreversibleInstanceRefresh", 400) and "desired configuration was not found" in message
    asg.cancel_instance_refresh(AutoScalingGroupName=name, WaitForTransitioningInstances=False)


def test_describe_instance_refreshes_pages_newest_first(client, make_group):
    asg = client("autoscaling")
    name, _ = make_group(0)
    ids = []
    for _ in range(3):
        ids.append(asg.start_instance_refresh(AutoScalingGroupName=name)["InstanceRefreshId"])
        follow(asg, name, ids[-1], timeout=5)
    first = asg.describe_instance_refreshes(AutoScalingGroupName=name, MaxRecords=2)
    assert [r["InstanceRefreshId"] for r in first["InstanceRefreshes"]] == ids[:0:-1]
    rest = asg.describe_instance_refreshes(AutoScalingGroupName=name, MaxRecords=2, NextToken=first["NextToken"])
    assert [r["InstanceRefreshId"] for r in rest["InstanceRefreshes"]] == ids[:1] and "NextToken" not in rest
    assert refusal(lambda: asg.describe_instance_refreshes(AutoScalingGroupName=name, NextToken="bogus"))[:2] == ("InvalidNextToken", 400)


def test_the_cluster_templates_group_refreshes_with_its_container_instance_drained(client):
    # `templates/ecs-cluster.yaml` as checked in: its capacity provider leaves managed draining at
    # its default (on), and its group's instance is replaced launch-before-terminate, the way
    # `enitrunk roll` asks for it; the service's tasks move to the new instance before the old
    # one terminates.
    from fleet import container_instances, tasks, wait_instances, wait_running
    from test_ecs_cluster_stack import CAPABILITIES, TEMPLATE, failures, parameters
    from test_eni_trunking_stack import upload

    cfn, asg, ecs = client("cloudformation"), client("autoscaling"), client("ecs")
    bucket, key = upload(client)
    name = unique("refresh-stack")
    cfn.create_stack(StackName=name, TemplateBody=TEMPLATE.read_text(), Parameters=parameters(bucket, key), Capabilities=CAPABILITIES)
    stack = wait_stack(cfn, name, timeout=180)
    assert stack["StackStatus"] == "CREATE_COMPLETE", failures(cfn, name)
    out = outputs(stack)
    group, cluster, service = out["AutoScalingGroupName"], out["ClusterName"], out["WebServiceName"]
    [old] = instances(asg, group)
    [registered] = wait_instances(ecs, cluster, 1)
    assert registered["ec2InstanceId"] == old
    wait_running(ecs, cluster, service, 4)
    before = {t["taskArn"] for t in tasks(ecs, cluster, service)}

    refresh_id = asg.start_instance_refresh(
        AutoScalingGroupName=group, Preferences={"MinHealthyPercentage": 100, "MaxHealthyPercentage": 200}
    )["InstanceRefreshId"]
    r, samples = follow(asg, group, refresh_id, timeout=60)
    assert r["Status"] == "Successful" and r["Preferences"]["InstanceWarmup"] == 0
    assert min(sum(1 for s in states.values() if s == "InService") for _, states in samples) == 1
    assert any(states.get(old) == "Terminating:Proceed" for _, states in samples)
    [new] = instances(asg, group)
    assert new != old and ec2_state(client, old) == "terminated"
    assert instances(asg, group)[new]["LaunchTemplate"]["LaunchTemplateId"] == out["LaunchTemplateId"]
    # Drained first: its tasks stopped as drained (not by the termination), their replacements
    # run on the new instance, and the terminated one is deregistered.
    [now] = container_instances(ecs, cluster)
    assert now["ec2InstanceId"] == new
    running = tasks(ecs, cluster, service)
    assert len(running) == 4 and {t["containerInstanceArn"] for t in running} == {now["containerInstanceArn"]}
    drained = ecs.describe_tasks(cluster=cluster, tasks=sorted(before))["tasks"]
    assert {t["stoppedReason"] for t in drained} == {"Container instance is being drained."}
    [gone] = ecs.describe_container_instances(cluster=cluster, containerInstances=[registered["containerInstanceArn"]])["containerInstances"]
    assert gone["status"] == "INACTIVE"

    cfn.delete_stack(StackName=name)
    assert wait_stack(cfn, name, timeout=180)["StackStatus"] == "DELETE_COMPLETE"
