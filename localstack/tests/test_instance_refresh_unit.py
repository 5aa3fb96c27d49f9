"""Instance refresh logic without LocalStack (`services/instance_refresh.py`): batch sizes, the
request's validation and defaults, the instances chosen, and a refresh run on a fake group with a
fake clock (drain timeouts and hour-long waits in microseconds)."""

from datetime import datetime, timezone

import pytest

from enitrunk_localstack.services.instance_refresh import (
    InstanceRefresh,
    InvalidRequest,
    Member,
    Runner,
    Timings,
    constraint_violations,
    plan_batch,
    preferences,
    select,
)


@pytest.mark.parametrize(
    "desired, in_service, remaining, min_pct, max_pct, expected",
    [
        (2, 2, 2, 50, 100, (1, 1)),  # one at a time, terminated before its replacement launches
        (10, 10, 10, 90, 100, (1, 1)),
        (10, 10, 10, 80, 100, (2, 2)),
        (4, 4, 4, 0, 100, (4, 4)),  # "0 percent causes all instances to be replaced at the same time"
        (3, 3, 3, 50, 100, (1, 1)),  # 50 % of 3 rounds up to 2 that stay in service
        (1, 1, 1, 90, 100, (1, 1)),  # below the minimum, but one instance is always replaced
        (2, 2, 2, 100, 100, (1, 1)),  # "100 percent limits the rate of replacement to one instance at a time"
        (1, 1, 1, 100, 110, (1, 0)),  # launch before terminating: one above desired, rounding aside
        (10, 10, 10, 100, 110, (1, 0)),
        (10, 10, 10, 90, 120, (3, 1)),  # one below the minimum and two above desired at once
        (2, 2, 2, 100, 200, (2, 0)),
        (2, 2, 1, 0, 100, (1, 1)),  # never more than remain
    ],
)
def test_batches_keep_between_the_minimum_and_maximum_healthy_percentage(desired, in_service, remaining, min_pct, max_pct, expected):
    assert plan_batch(desired, in_service, remaining, min_pct, max_pct) == expected


def test_preferences_default_as_the_api_documents():
    assert preferences({}, warmup_default=30, uses_launch_template=True) == {
        "MinHealthyPercentage": 90,
        "InstanceWarmup": 30,
        "SkipMatching": False,
        "AutoRollback": False,
        "ScaleInProtectedInstances": "Wait",
        "StandbyInstances": "Wait",
    }
    prefs = preferences({"Preferences": {"MinHealthyPercentage": 100, "MaxHealthyPercentage": 110, "InstanceWarmup": 0,
                                         "CheckpointPercentages": [50, 100], "BakeTime": 5}}, 30, True)
    assert prefs["MaxHealthyPercentage"] == 110 and prefs["InstanceWarmup"] == 0
    assert prefs["CheckpointPercentages"] == [50, 100] and prefs["CheckpointDelay"] == 3600 and prefs["BakeTime"] == 5


def test_field_constraints_are_reported_in_aws_words():
    assert constraint_violations({"Preferences": {"MinHealthyPercentage": 50}}) is None
    assert constraint_violations({"Preferences": {"MinHealthyPercentage": 101}}) == (
        "1 validation error detected: Value '101' at 'preferences.minHealthyPercentage' failed to satisfy "
        "constraint: Member must have value less than or equal to 100"
    )
    assert constraint_violations({"Preferences": {"ScaleInProtectedInstances": "", "StandbyInstances": ""}}) == (
        "2 validation errors detected: Value '' at 'preferences.scaleInProtectedInstances' failed to satisfy "
        "constraint: Member must satisfy enum value set: [Ignore, Wait, Refresh]; Value '' at "
        "'preferences.standbyInstances' failed to satisfy constraint: Member must satisfy enum value set: "
        "[Terminate, Ignore, Wait]"
    )
    assert "at 'preferences.maxHealthyPercentage'" in constraint_violations({"Preferences": {"MaxHealthyPercentage": 99}})
    assert "at 'preferences.instanceWarmup'" in constraint_violations({"Preferences": {"InstanceWarmup": -1}})
    assert "at 'strategy'" in constraint_violations({"Strategy": "Surge"})
    assert "at 'preferences.checkpointPercentages'" in constraint_violations({"Preferences": {"CheckpointPercentages": [0, 100]}})


@pytest.mark.parametrize(
    "request_, needle",
    [
        ({"Preferences": {"MaxHealthyPercentage": 150}}, "You must specify MinHealthyPercentage"),
        ({"Preferences": {"MinHealthyPercentage": 50, "MaxHealthyPercentage": 160}}, "cannot be greater than 100"),
        ({"Preferences": {"CheckpointDelay": 60}}, "You must specify CheckpointPercentages"),
        ({"Preferences": {"CheckpointPercentages": [50, 20]}}, "ascending"),
        ({"Preferences": {"CheckpointPercentages": [50, 50]}}, "unique"),
        ({"Preferences": {"AutoRollback": True}}, "The AutoRollback parameter cannot be set to true when the DesiredConfiguration parameter is empty"),
        ({"DesiredConfiguration": {"LaunchTemplate": {"LaunchTemplateId": "lt-1"}}}, "not modelled"),
        ({"Strategy": "ReplaceRootVolume"}, "not modelled"),
        ({"Preferences": {"AlarmSpecification": {"Alarms": ["a"]}}}, "not modelled"),
    ],
)
def test_requests_aws_refuses_or_the_emulator_does_not_model_are_refused(request_, needle):
    with pytest.raises(InvalidRequest) as e:
        preferences(request_, 0, True)
    assert needle in e.value.message


def test_skip_matching_needs_a_launch_template():
    with pytest.raises(InvalidRequest, match="launch configuration"):
        preferences({"Preferences": {"SkipMatching": True}}, 0, uses_launch_template=False)


def test_the_instances_replaced_follow_the_preferences():
    members = [
        Member("plain", "InService", template=("lt", 1)),
        Member("current", "InService", template=("lt", 2)),
        Member("protected", "InService", protected=True, template=("lt", 1)),
        Member("standby", "Standby", template=("lt", 1)),
        Member("pending", "Pending", template=("lt", 2)),
    ]

    def chosen(**prefs):
        return select(members, preferences({"Preferences": prefs}, 0, True), current=("lt", 2))

    assert chosen() == ["plain", "current", "protected", "standby"]
    assert chosen(SkipMatching=True) == ["plain", "protected", "standby"]
    assert chosen(ScaleInProtectedInstances="Ignore", StandbyInstances="Ignore") == ["plain", "current"]


# -------------------------------------------------------------------------- a refresh run


class FakeClock:
    def __init__(self):
        self.t = 0.0

    def now(self):
        return datetime.fromtimestamp(self.t, timezone.utc)

    def monotonic(self):
        return self.t

    def sleep(self, seconds):
        self.t += seconds


class FakeFleet:
    """A group whose every state change is recorded: (time, instance, state)."""

    def __init__(self, clock, count, desired=None, drains=(), tasks=None):
        self.clock = clock
        self.states = {f"old-{n}": "InService" for n in range(count)}
        self.protected = set()
        self.desired = count if desired is None else desired
        self.drains = set(drains)
        self.tasks = tasks or (lambda instance_id: 0)
        self.log = []
        self.launched = 0

    def exists(self):
        return True

    def desired_capacity(self):
        return self.desired

    def members(self):
        return [Member(i, s, i in self.protected, ("lt", 2 if i.startswith("new") else 1)) for i, s in self.states.items()]

    def launch_template(self):
        return ("lt", 2)

    def launch(self, count):
        ids = []
        for _ in range(count):
            self.launched += 1
            ids.append(f"new-{self.launched}")
            self.set_lifecycle(ids[-1], "Pending")
        return ids

    def set_lifecycle(self, instance_id, state):
        self.states[instance_id] = state
        self.log.append((self.clock.t, instance_id, state))

    def terminate(self, instance_id):
        del self.states[instance_id]
        self.log.append((self.clock.t, instance_id, "gone"))

    def drain(self, instance_id):
        return instance_id in self.drains

    def tasks_left(self, instance_id):
        return self.tasks(instance_id)

    def in_service(self):
        return sum(1 for s in self.states.values() if s == "InService")


def run(fleet, clock, timings=Timings(launch=1, termination=1), **prefs):
    record = InstanceRefresh(group="g", preferences=preferences({"Preferences": prefs}, 0, True), start_time=clock.now())
    targets = select(fleet.members(), record.preferences, fleet.launch_template())
    record.total = len(targets)
    counts = []
    original = fleet.set_lifecycle

    def observed(instance_id, state):
        original(instance_id, state)
        counts.append((fleet.in_service(), len(fleet.states)))

    fleet.set_lifecycle = observed
    Runner(record, fleet, targets, timings, clock=clock).run()
    return record, counts


def test_a_refresh_never_goes_below_the_minimum_healthy_percentage():
    clock = FakeClock()
    fleet = FakeFleet(clock, 4)
    record, counts = run(fleet, clock, MinHealthyPercentage=50, InstanceWarmup=5)
    assert record.status == "Successful" and record.percentage() == 100 and record.updated == 4
    assert sorted(fleet.states) == ["new-1", "new-2", "new-3", "new-4"]
    assert min(i for i, _ in counts) == 2
    # Two batches of two, each: launch 1 s, warmup 5 s.
    assert 12 <= clock.t < 13


def test_launch_before_terminating_stays_within_the_maximum():
    clock = FakeClock()
    fleet = FakeFleet(clock, 2)
    record, counts = run(fleet, clock, MinHealthyPercentage=100, MaxHealthyPercentage=150)
    assert record.status == "Successful"
    assert min(i for i, _ in counts) == 2 and max(n for _, n in counts) == 3


def test_draining_holds_the_termination_until_no_task_is_left():
    clock = FakeClock()
    fleet = FakeFleet(clock, 1, drains={"old-0"}, tasks=lambda i: 1 if clock.t < 30 else 0)
    record, _ = run(fleet, clock, MinHealthyPercentage=0)
    assert record.status == "Successful"
    waited = [t for t, i, s in fleet.log if i == "old-0" and s == "Terminating:Wait"]
    proceeded = [t for t, i, s in fleet.log if i == "old-0" and s == "Terminating:Proceed"]
    assert waited == [0] and 30 <= proceeded[0] < 30.1


def test_draining_ends_after_the_drain_timeout():
    clock = FakeClock()
    fleet = FakeFleet(clock, 1, drains={"old-0"}, tasks=lambda i: 1)
    record, _ = run(fleet, clock, Timings(launch=1, termination=1, drain_timeout=120), MinHealthyPercentage=0)
    assert record.status == "Successful"
    [gone] = [t for t, i, s in fleet.log if i == "old-0" and s == "gone"]
    assert 121 <= gone < 121.1


def test_a_protected_instance_waited_for_an_hour_fails_the_refresh():
    clock = FakeClock()
    fleet = FakeFleet(clock, 2)
    fleet.protected.add("old-1")
    record, _ = run(fleet, clock, MinHealthyPercentage=50)
    assert record.status == "Failed" and "protected from scale in" in record.reason
    assert "old-1" in fleet.states and 3600 < clock.t < 3610


def test_a_last_checkpoint_below_100_ends_a_partial_refresh():
    clock = FakeClock()
    fleet = FakeFleet(clock, 4)
    record, _ = run(fleet, clock, MinHealthyPercentage=0, CheckpointPercentages=[25, 50], CheckpointDelay=60)
    assert record.status == "Successful" and record.percentage() == 50
    assert sum(1 for i in fleet.states if i.startswith("new")) == 2
    # One instance up to 25 %, the 60 s delay, one more up to 50 %.
    assert 60 < clock.t < 70
