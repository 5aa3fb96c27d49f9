"""Task placement as ECS places: each `awsvpc` task takes an interface slot on its container instance
(the task limit without trunking, or with it when the instance has a trunk) and its CPU and
memory; what does not fit waits, the service says why, and is placed when capacity appears."""

import time

import pytest

from fleet import TRUNK, Fleet, attribute, eni_of, resource

ENI_REASON = 'encountered error "RESOURCE:ENI".'
UNABLE = "was unable to place a task because no container instance met all of its requirements."


def latest_event(svc):
    return svc["events"][0]["message"]


def test_without_a_trunk_an_m5_large_runs_two_awsvpc_tasks_and_the_rest_wait_on_enis(client):
    fleet = Fleet(client)
    fleet.group()
    [ci] = fleet.wait_instances(1)
    fleet.service("web", 8, fleet.task_definition())
    svc = fleet.wait_running("web", 2)
    # A task that cannot be placed has no record: it is in neither count (pendingCount counts
    # tasks in PENDING), and the newest event says why.
    assert (svc["desiredCount"], svc["runningCount"], svc["pendingCount"]) == (8, 2, 0)
    ci_id = ci["containerInstanceArn"].rsplit("/", 1)[1]
    assert latest_event(svc) == (
        f"(service web) {UNABLE} The closest matching (container-instance {ci_id}) {ENI_REASON} "
        "For more information, see the Troubleshooting section of the Amazon ECS Developer Guide."
    )
    assert svc["events"][1]["message"].startswith("(service web) has started 2 tasks: (task ")
    tasks = fleet.tasks("web")
    assert len(tasks) == 2 and {t["lastStatus"] for t in tasks} == {"RUNNING"}
    assert {t["containerInstanceArn"] for t in tasks} == {ci["containerInstanceArn"]}
    assert all(t["launchType"] == "EC2" and t["group"] == "service:web" and (t["cpu"], t["memory"]) == ("256", "512") for t in tasks)
    # Each task's interface is attached to the instance.
    enis = client("ec2").describe_network_interfaces(NetworkInterfaceIds=[eni_of(t) for t in tasks])["NetworkInterfaces"]
    assert {(e["InterfaceType"], e["Attachment"]["InstanceId"], e["SubnetId"]) for e in enis} == {("interface", ci["ec2InstanceId"], fleet.subnets[0])}
    [ci] = fleet.instances()
    assert ci["runningTasksCount"] == 2
    assert (resource(ci["remainingResources"], "CPU"), resource(ci["remainingResources"], "MEMORY")) == (2048 - 512, 7537 - 1024)


def test_with_a_trunk_the_same_instance_runs_eight_and_cpu_is_the_limit(client):
    fleet = Fleet(client)
    fleet.trunking("enabled")
    fleet.group()
    [ci] = fleet.wait_instances(1)
    fleet.service("web", 9, fleet.task_definition())
    svc = fleet.wait_running("web", 8)
    assert "has insufficient CPU units available." in latest_event(svc)
    tasks = fleet.tasks("web")
    enis = client("ec2").describe_network_interfaces(NetworkInterfaceIds=[eni_of(t) for t in tasks])["NetworkInterfaces"]
    # Branch interfaces ride on the trunk; they are not attached to the instance.
    assert {e["InterfaceType"] for e in enis} == {"branch"} and all("Attachment" not in e for e in enis)
    assert attribute(ci, TRUNK) not in {e["NetworkInterfaceId"] for e in enis}


def test_memory_is_a_limit_too(client):
    fleet = Fleet(client)
    fleet.trunking("enabled")
    fleet.group()
    fleet.wait_instances(1)
    fleet.service("big", 3, fleet.task_definition(cpu="256", memory="4096"))
    svc = fleet.wait_running("big", 1)
    assert "has insufficient memory available." in latest_event(svc)


def test_tasks_wait_for_capacity_and_are_placed_when_it_appears(client):
    fleet = Fleet(client)
    ecs = client("ecs")
    fleet.service("web", 3, fleet.task_definition())
    svc = fleet.describe_service("web")
    assert svc["runningCount"] == 0 and latest_event(svc) == (
        f"(service web) {UNABLE} Reason: No Container Instances were found in your cluster. "
        "For more information, see the Troubleshooting section of the Amazon ECS Developer Guide."
    )
    # An instance registers: two tasks fit.
    group = fleet.group()
    fleet.wait_running("web", 2)
    # Another one: the third.
    client("autoscaling").set_desired_capacity(AutoScalingGroupName=group, DesiredCapacity=2)
    svc = fleet.wait_running("web", 3)
    assert latest_event(svc) == "(service web) has reached a steady state."
    # A stopped task is replaced.
    stopped = fleet.tasks("web")[0]["taskArn"]
    out = ecs.stop_task(cluster=fleet.cluster, task=stopped, reason="testing")["task"]
    assert (out["lastStatus"], out["stopCode"], out["stoppedReason"]) == ("STOPPED", "UserInitiated", "testing")
    fleet.wait_running("web", 3)
    assert stopped not in [t["taskArn"] for t in fleet.tasks("web")]
    # Desired count down, then up beyond the capacity.
    ecs.update_service(cluster=fleet.cluster, service="web", desiredCount=1)
    svc = fleet.wait_running("web", 1)
    assert any(e["message"].startswith("(service web) has stopped 2 running tasks: (task ") for e in svc["events"])
    ecs.update_service(cluster=fleet.cluster, service="web", desiredCount=6)
    svc = fleet.wait_running("web", 4)
    assert ENI_REASON in latest_event(svc)


def test_the_unable_to_place_event_is_not_repeated_until_resolved(client):
    fleet = Fleet(client)
    fleet.group()
    fleet.wait_instances(1)
    fleet.service("web", 3, fleet.task_definition())
    fleet.wait_running("web", 2)
    time.sleep(1.5)  # at least one periodic placement pass (every second: localstack/run)
    svc = fleet.describe_service("web")
    assert sum(UNABLE in e["message"] for e in svc["events"]) == 1


def test_a_capacity_provider_strategy_places_on_its_groups_instances(client):
    fleet = Fleet(client)
    fleet.trunking("enabled")
    ecs = client("ecs")
    group = fleet.group(desired=0)
    provider = f"cp-{fleet.cluster}"
    ecs.create_capacity_provider(name=provider, autoScalingGroupProvider={"autoScalingGroupArn": group})
    ecs.put_cluster_capacity_providers(cluster=fleet.cluster, capacityProviders=[provider], defaultCapacityProviderStrategy=[])
    # An instance of another group is not the capacity provider's.
    fleet.group()
    fleet.wait_instances(1)
    fleet.service("web", 2, fleet.task_definition(), launchType=None, capacityProviderStrategy=[{"capacityProvider": provider, "weight": 1}])
    svc = fleet.describe_service("web")
    assert svc["runningCount"] == 0 and "Reason: No Container Instances were found in your capacity provider." in latest_event(svc)
    client("autoscaling").set_desired_capacity(AutoScalingGroupName=group, DesiredCapacity=1)
    fleet.wait_running("web", 2)
    [instance_id] = fleet.group_instances(group)
    tasks = fleet.tasks("web")
    assert {t["capacityProviderName"] for t in tasks} == {provider}
    on = {ci["containerInstanceArn"]: ci for ci in fleet.instances()}
    assert {on[t["containerInstanceArn"]]["ec2InstanceId"] for t in tasks} == {instance_id}
    assert on[tasks[0]["containerInstanceArn"]]["capacityProviderName"] == provider


def test_run_task_places_what_fits_and_names_the_rest(client):
    fleet = Fleet(client)
    fleet.group()
    [ci] = fleet.wait_instances(1)
    ecs = client("ecs")
    out = ecs.run_task(cluster=fleet.cluster, taskDefinition=fleet.task_definition(), count=3, launchType="EC2",
                       networkConfiguration=fleet.network())
    assert len(out["tasks"]) == 2 and out["failures"] == [{"arn": ci["containerInstanceArn"], "reason": "RESOURCE:ENI"}]
    assert {t["lastStatus"] for t in out["tasks"]} == {"RUNNING"}
    assert len(fleet.tasks()) == 2 and fleet.tasks(desiredStatus="STOPPED") == []


def test_run_task_without_container_instances_is_refused(client):
    fleet = Fleet(client)
    with pytest.raises(client("ecs").exceptions.InvalidParameterException, match="No Container Instances were found in your cluster"):
        client("ecs").run_task(cluster=fleet.cluster, taskDefinition=fleet.task_definition(), launchType="EC2",
                               networkConfiguration=fleet.network())


def test_deleting_the_service_stops_its_tasks(client):
    fleet = Fleet(client)
    fleet.group()
    fleet.wait_instances(1)
    fleet.service("web", 2, fleet.task_definition())
    enis = [eni_of(t) for t in fleet.tasks()] if fleet.wait_running("web", 2) else []
    client("ecs").delete_service(cluster=fleet.cluster, service="web", force=True)
    assert fleet.tasks() == [] and len(fleet.tasks(desiredStatus="STOPPED")) == 2
    # Their interfaces are deleted with them.
    assert client("ec2").describe_network_interfaces(Filters=[{"Name": "network-interface-id", "Values": enis}])["NetworkInterfaces"] == []


@pytest.mark.parametrize(
    "config, order",
    [
        # The defaults (100/200): both replacements start before the drained tasks stop.
        (None, ["has started 2 tasks", "has stopped 2 running tasks"]),
        # 50/100: one may stop before its replacement starts, then the other.
        (
            {"minimumHealthyPercent": 50, "maximumPercent": 100},
            ["has stopped 1 running tasks", "has started 1 tasks", "has stopped 1 running tasks", "has started 1 tasks"],
        ),
    ],
    ids=["defaults", "half may stop first"],
)
def test_a_draining_instances_service_tasks_are_replaced_within_the_deployment_configuration(client, config, order):
    fleet = Fleet(client)
    ecs = client("ecs")
    group = fleet.group()
    [old] = fleet.wait_instances(1)
    fleet.service("web", 2, fleet.task_definition(), deploymentConfiguration=config)
    fleet.wait_running("web", 2)
    client("autoscaling").set_desired_capacity(AutoScalingGroupName=group, DesiredCapacity=2)
    [new] = [ci for ci in fleet.wait_instances(2) if ci["containerInstanceArn"] != old["containerInstanceArn"]]
    before = len(fleet.describe_service("web")["events"])
    ecs.update_container_instances_state(cluster=fleet.cluster, containerInstances=[old["containerInstanceArn"]], status="DRAINING")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        tasks = fleet.tasks("web")
        if len(tasks) == 2 and {t["containerInstanceArn"] for t in tasks} == {new["containerInstanceArn"]}:
            break
        time.sleep(0.2)
    else:
        raise AssertionError(f"the drained tasks were not replaced: {tasks}")
    stopped = fleet.tasks("web", desiredStatus="STOPPED")
    assert len(stopped) == 2 and {t["containerInstanceArn"] for t in stopped} == {old["containerInstanceArn"]}
    assert {(t["stopCode"], t["stoppedReason"]) for t in stopped} == {("ServiceSchedulerInitiated", "Container instance is being drained.")}
    [drained] = [ci for ci in fleet.instances() if ci["containerInstanceArn"] == old["containerInstanceArn"]]
    assert (drained["status"], drained["runningTasksCount"]) == ("DRAINING", 0)
    svc = fleet.describe_service("web")
    assert svc["runningCount"] == 2
    # What the scheduler did since the drain, oldest first, in the service's words.
    done = [e["message"] for e in reversed(svc["events"][: len(svc["events"]) - before])]
    assert [m.split(": (task")[0].removeprefix("(service web) ") for m in done if "steady state" not in m] == order
