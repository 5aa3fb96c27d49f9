"""`StartInstanceRefresh`, `DescribeInstanceRefreshes`, `CancelInstanceRefresh` and
`RollbackInstanceRefresh` on moto's Auto Scaling groups (moto has none of them), for the
`autoscaling:enitrunk` provider (`services.autoscaling`).

The refresh itself is `instance_refresh` (pure logic); here it meets moto:
- `MotoFleet`: the group's instances. Launches go through moto's scale-out
  (`FakeAutoScalingGroup.replace_autoscaling_group_instances`, so from the launch template version
  the group launches from now) and terminations through what moto's scale-in does (EC2
  `terminate_instances`, the instance leaves the group, load balancers updated), so whatever is
  hooked on instance launch or termination sees a refresh's too.
- ECS managed draining: when an ACTIVE ECS capacity provider of the same account and region names
  the group and its `managedDraining` is not DISABLED (on by default), an instance about to be
  terminated that is registered as a container instance (moto's ECS backend, by
  `ec2InstanceId`) is set to DRAINING first, and its termination waits (`Terminating:Wait`) until
  none of its tasks is left unstopped, or `ENITRUNK_ECS_DRAIN_TIMEOUT_SECONDS` passes
  (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/managed-instance-draining.html).
- The records of a group's refreshes live on moto's group object: they go with the group.
"""

from __future__ import annotations

import os
import threading

from enitrunk_localstack.patches.moto_autoscaling import group_launch_template, launched_from
from enitrunk_localstack.services.instance_refresh import (
    Clock,
    InstanceRefresh,
    InvalidNextToken,
    InvalidRequest,
    Irreversible,
    Member,
    NoActiveRefresh,
    RefreshInProgress,
    Runner,
    Timings,
    constraint_violations,
    preferences,
    select,
)

TIMINGS = Timings.from_env(os.environ)
# Guards every refresh record (the API handlers and the runners' threads).
LOCK = threading.Lock()
RECORDS = "enitrunk_instance_refreshes"


def _template_key(spec: dict | None) -> tuple[str, int] | None:
    return (spec["LaunchTemplateId"], int(spec["Version"])) if spec else None


class MotoFleet:
    """One moto Auto Scaling group, as `instance_refresh.Runner` drives it."""

    def __init__(self, account_id: str, region: str, group):
        from moto.autoscaling.models import autoscaling_backends
        from moto.ecs.models import ecs_backends

        self.backend = autoscaling_backends[account_id][region]
        self.ecs = ecs_backends[account_id][region]
        self.group = group
        self.draining: dict[str, list] = {}  # instance id -> its (cluster, container instance ARN)s

    def _state(self, instance_id: str):
        return next((s for s in self.group.instance_states if s.instance.id == instance_id), None)

    def exists(self) -> bool:
        # Deleted, or deleted and created again: the refresh has nothing left to do.
        return self.backend.autoscaling_groups.get(self.group.name) is self.group

    def desired_capacity(self) -> int:
        return self.group.desired_capacity or 0

    def members(self) -> list[Member]:
        return [
            Member(s.instance.id, s.lifecycle_state, bool(s.protected_from_scale_in), _template_key(launched_from(s)))
            for s in list(self.group.instance_states)
        ]

    def launch_template(self) -> tuple[str, int] | None:
        return _template_key(group_launch_template(self.group))

    def launch(self, count: int) -> list[str]:
        group = self.group
        before = {s.instance.id for s in group.instance_states}
        group.replace_autoscaling_group_instances(count, group.get_propagated_tags())
        new = [s for s in group.instance_states if s.instance.id not in before]
        for state in new:
            state.lifecycle_state = "Pending"
        self.backend.update_attached_elbs(group.name)
        self.backend.update_attached_target_groups(group.name)
        return [s.instance.id for s in new]

    def set_lifecycle(self, instance_id: str, state: str) -> None:
        if (s := self._state(instance_id)) is not None:
            s.lifecycle_state = state

    def terminate(self, instance_id: str) -> None:
        # What moto's scale-in does (FakeAutoScalingGroup.set_desired_capacity).
        self.backend.ec2_backend.terminate_instances([instance_id])
        self.group.instance_states = [s for s in self.group.instance_states if s.instance.id != instance_id]
        self.backend.update_attached_elbs(self.group.name)
        self.backend.update_attached_target_groups(self.group.name)
        self.draining.pop(instance_id, None)

    def _managed_draining(self) -> bool:
        for provider in list(self.ecs.capacity_providers.values()):
            asg = provider.auto_scaling_group_provider or {}
            if (
                provider.status == "ACTIVE"
                and asg.get("autoScalingGroupArn") in (self.group.arn, self.group.name)
                # "Managed instance draining is on by default when you create a capacity provider."
                and asg.get("managedDraining", "ENABLED") != "DISABLED"
            ):
                return True
        return False

    def drain(self, instance_id: str) -> bool:
        if not self._managed_draining():
            return False
        found = [
            (cluster, ci.container_instance_arn)
            for cluster, instances in list(self.ecs.container_instances.items())
            if cluster in self.ecs.clusters
            for ci in list(instances.values())
            if ci.ec2_instance_id == instance_id
        ]
        if not found:
            return False
        for cluster, arn in found:
            self.ecs.update_container_instances_state(cluster, [arn], "DRAINING")
        self.draining[instance_id] = found
        return True

    def tasks_left(self, instance_id: str) -> int:
        return sum(
            1
            for cluster, arn in self.draining.get(instance_id, [])
            for task in list(self.ecs.tasks.get(cluster, {}).values())
            if task.container_instance_arn == arn and task.last_status != "STOPPED"
        )


# ----------------------------------------------------------------------------- the operations


def _group(account_id: str, region: str, name: str):
    from moto.autoscaling.models import autoscaling_backends

    group = autoscaling_backends[account_id][region].autoscaling_groups.get(name)
    if group is None:
        # Auto Scaling's answer for a group that does not exist (as moto gives it for the others).
        raise InvalidRequest(f"AutoScalingGroup name not found - AutoScalingGroup '{name}' not found")
    return group


def _records(group) -> list[InstanceRefresh]:
    """The group's refreshes, newest first. Call with LOCK held."""
    if not hasattr(group, RECORDS):
        setattr(group, RECORDS, [])
    return getattr(group, RECORDS)


def _active(group) -> InstanceRefresh | None:
    return next((r for r in _records(group) if r.active), None)


def start(account_id: str, region: str, request: dict) -> dict:
    violations = constraint_violations(request)
    if violations:
        raise InvalidRequest(violations)
    group = _group(account_id, region, request["AutoScalingGroupName"])
    prefs = preferences(request, group.health_check_grace_period or 0, group.ec2_launch_template is not None)
    fleet = MotoFleet(account_id, region, group)
    clock = Clock()
    with LOCK:
        if _active(group) is not None:
            raise RefreshInProgress()
        targets = select(fleet.members(), prefs, fleet.launch_template())
        record = InstanceRefresh(group=group.name, preferences=prefs, start_time=clock.now(), total=len(targets))
        _records(group).insert(0, record)
    runner = Runner(record, fleet, targets, TIMINGS, clock=clock, lock=LOCK)
    threading.Thread(target=runner.run, name=f"instance-refresh-{record.id}", daemon=True).start()
    return {"InstanceRefreshId": record.id}


def describe(account_id: str, region: str, request: dict) -> dict:
    group = _group(account_id, region, request["AutoScalingGroupName"])
    ids = request.get("InstanceRefreshIds") or []
    max_records = request.get("MaxRecords", 50)
    if max_records > 100:
        # "The default value is 50 and the maximum value is 100." (API_DescribeInstanceRefreshes.html)
        raise InvalidRequest(f"1 validation error detected: Value '{max_records}' at 'maxRecords' failed to satisfy "
                             "constraint: Member must have value less than or equal to 100")
    with LOCK:
        found = [r.wire() for r in _records(group) if not ids or r.id in ids]
    try:
        offset = int(request.get("NextToken") or 0)
    except ValueError:
        raise InvalidNextToken() from None
    if not 0 <= offset <= len(found):
        raise InvalidNextToken()
    out = {"InstanceRefreshes": found[offset : offset + max_records]}
    if offset + max_records < len(found):
        out["NextToken"] = str(offset + max_records)
    return out


def cancel(account_id: str, region: str, request: dict) -> dict:
    group = _group(account_id, region, request["AutoScalingGroupName"])
    wait = request.get("WaitForTransitioningInstances", True)
    with LOCK:
        record = _active(group)
        if record is None:
            raise NoActiveRefresh(group.name)
        if wait and record.status != "Pending":
            record.cancel, record.status, record.reason = "wait", "Cancelling", None
        else:
            record.cancel, record.status, record.reason = "now", "Cancelled", None
            record.end_time = Clock().now()
    return {"InstanceRefreshId": record.id}


def rollback(account_id: str, region: str, request: dict) -> dict:
    group = _group(account_id, region, request["AutoScalingGroupName"])
    with LOCK:
        if _active(group) is None:
            raise NoActiveRefresh(group.name)
    # Every refresh here is without a desired configuration (`preferences` refuses one), and
    # "A rollback is not supported [when] there is no desired configuration specified for the
    # instance refresh." (API_RollbackInstanceRefresh.html); the message is the fault's description.
    raise Irreversible(
        "The request failed because a desired configuration was not found or an incompatible launch template "
        "(uses a Systems Manager parameter instead of an AMI ID) or launch template version ($Latest or $Default) "
        "is present on the Auto Scaling group."
    )
