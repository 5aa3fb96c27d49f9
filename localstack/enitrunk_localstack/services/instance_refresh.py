"""Auto Scaling instance refreshes as the API reference and the user guide describe them: the
request validated, preferences defaulted, the instances to replace chosen, replaced in batches that
keep the minimum healthy percentage, and the record `DescribeInstanceRefreshes` reports.

Pure logic (no LocalStack or moto imports): the group a refresh works on is a `Fleet`
(`refresh_fleet.MotoFleet` in LocalStack, a fake in `tests/test_instance_refresh_unit.py`), and
time comes from a `Clock`. References, all in the Amazon EC2 Auto Scaling API reference
(https://docs.aws.amazon.com/autoscaling/ec2/APIReference/) and user guide
(https://docs.aws.amazon.com/autoscaling/ec2/userguide/):
- `API_RefreshPreferences.html`: ranges, defaults, the Min/Max pairing;
- `understand-instance-refresh-default-values.html`: the defaults of the API (not the console's);
- `instance-refresh-overview.html`: batches between the minimum and maximum healthy percentage,
  launch before terminating only when the maximum is above 100;
- `asg-adding-checkpoints-instance-refresh.html`: checkpoints and partial refreshes;
- `check-status-instance-refresh.html`: statuses, and instances `Pending` then `InService`.
"""

from __future__ import annotations

import logging
import math
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Callable, Protocol

LOG = logging.getLogger(__name__)

# Statuses of a refresh that still holds the group (`InstanceRefreshInProgress`, and what
# `CancelInstanceRefresh` can cancel).
ACTIVE = ("Pending", "InProgress", "Cancelling", "Baking", "RollbackInProgress")

# Enum values in the order AWS lists them in its ValidationError (hashicorp/terraform-provider-aws#33377).
SCALE_IN_PROTECTED = ("Ignore", "Wait", "Refresh")
STANDBY = ("Terminate", "Ignore", "Wait")
STRATEGIES = ("Rolling", "ReplaceRootVolume")

# The API's defaults (understand-instance-refresh-default-values.html; the console's differ).
DEFAULT_MIN_HEALTHY = 90
DEFAULT_MAX_HEALTHY = 100
DEFAULT_CHECKPOINT_DELAY = 3600

WARMING_UP = "Waiting for instances to warm up before continuing. For example: {} is warming up."


class RefreshError(Exception):
    """An Auto Scaling API error: `code` as the API reference names it, HTTP 400."""

    code = "ValidationError"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class InvalidRequest(RefreshError):
    code = "ValidationError"


class RefreshInProgress(RefreshError):
    code = "InstanceRefreshInProgress"

    def __init__(self):
        # AWS's message, as reported by its callers (e.g. capistrano-asg-rolling's specs).
        super().__init__("An Instance Refresh is already in progress and blocks the execution of this Instance Refresh.")


class NoActiveRefresh(RefreshError):
    code = "ActiveInstanceRefreshNotFound"

    def __init__(self, group: str):
        super().__init__(f"No in progress or pending Instance Refresh found for Auto Scaling group {group}")


class Irreversible(RefreshError):
    code = "IrreversibleInstanceRefresh"


class InvalidNextToken(RefreshError):
    code = "InvalidNextToken"

    def __init__(self):
        super().__init__("The token provided is not valid.")


# ------------------------------------------------------------------------------- the request


def _constraint(value, at: str, rule: str) -> str:
    shown = "[" + ", ".join(str(v) for v in value) + "]" if isinstance(value, list) else value
    return f"Value '{shown}' at '{at}' failed to satisfy constraint: Member must {rule}"


def _range(prefs: dict, key: str, low: int | None, high: int | None) -> list[str]:
    if key not in prefs:
        return []
    value, at = prefs[key], "preferences." + key[0].lower() + key[1:]
    if low is not None and value < low:
        return [_constraint(value, at, f"have value greater than or equal to {low}")]
    if high is not None and value > high:
        return [_constraint(value, at, f"have value less than or equal to {high}")]
    return []


def _enum(value, at: str, allowed: tuple[str, ...]) -> list[str]:
    if value is None or value in allowed:
        return []
    return [_constraint(value, at, "satisfy enum value set: [" + ", ".join(allowed) + "]")]


def constraint_violations(request: dict) -> str | None:
    """The API's field constraints (the service model's ranges and enums), in AWS's wording:
    "2 validation errors detected: Value '' at 'preferences.scaleInProtectedInstances' failed to
    satisfy constraint: Member must satisfy enum value set: [Ignore, Wait, Refresh]; ..."."""
    prefs = request.get("Preferences") or {}
    errors = _enum(request.get("Strategy"), "strategy", STRATEGIES)
    errors += _range(prefs, "MinHealthyPercentage", 0, 100)
    errors += _range(prefs, "MaxHealthyPercentage", 100, 200)
    errors += _range(prefs, "InstanceWarmup", 0, None)
    errors += _range(prefs, "CheckpointDelay", 0, 172800)
    errors += _range(prefs, "BakeTime", 0, 172800)
    bad = [p for p in prefs.get("CheckpointPercentages") or [] if not 1 <= p <= 100]
    if bad:
        errors.append(_constraint(prefs["CheckpointPercentages"], "preferences.checkpointPercentages",
                                  "satisfy constraint: [Member must have value between 1 and 100]"))
    errors += _enum(prefs.get("ScaleInProtectedInstances"), "preferences.scaleInProtectedInstances", SCALE_IN_PROTECTED)
    errors += _enum(prefs.get("StandbyInstances"), "preferences.standbyInstances", STANDBY)
    if not errors:
        return None
    return f"{len(errors)} validation error{'s' if len(errors) > 1 else ''} detected: " + "; ".join(errors)


def preferences(request: dict, warmup_default: int, uses_launch_template: bool) -> dict:
    """The preferences a refresh runs with, as `DescribeInstanceRefreshes` echoes them: the
    request's, with the API's defaults. Raises `InvalidRequest` for what AWS refuses and for what
    this emulator does not model (said so in the message)."""
    prefs = dict(request.get("Preferences") or {})
    if request.get("Strategy", "Rolling") != "Rolling":
        raise InvalidRequest("The ReplaceRootVolume strategy is not modelled by enitrunk's emulator; use Rolling.")
    if request.get("DesiredConfiguration"):
        raise InvalidRequest(
            "A DesiredConfiguration is not modelled by enitrunk's emulator: update the group's launch "
            "template (or its version) first, then start the instance refresh without one."
        )
    if prefs.get("AutoRollback"):
        # AWS's answer (hashicorp/terraform-provider-aws#29830); a rollback needs a desired
        # configuration (API_RefreshPreferences.html), which is refused above.
        raise InvalidRequest(
            "The request isn't valid. The AutoRollback parameter cannot be set to true when the "
            "DesiredConfiguration parameter is empty. Set AutoRollback to false or specify a desired "
            "configuration and try again."
        )
    if prefs.get("AlarmSpecification"):
        raise InvalidRequest("CloudWatch alarms (AlarmSpecification) are not modelled by enitrunk's emulator.")
    if "MaxHealthyPercentage" in prefs:
        # "If you specify MaxHealthyPercentage, you must also specify MinHealthyPercentage, and the
        # difference between them cannot be greater than 100." (API_RefreshPreferences.html)
        if "MinHealthyPercentage" not in prefs:
            raise InvalidRequest("You must specify MinHealthyPercentage when you specify MaxHealthyPercentage.")
        if prefs["MaxHealthyPercentage"] - prefs["MinHealthyPercentage"] > 100:
            raise InvalidRequest("The difference between MaxHealthyPercentage and MinHealthyPercentage cannot be greater than 100.")
    checkpoints = prefs.get("CheckpointPercentages")
    if "CheckpointDelay" in prefs and not checkpoints:
        # "if you specify a value for it, you must also specify a value for CheckpointPercentages"
        raise InvalidRequest("You must specify CheckpointPercentages when you specify CheckpointDelay.")
    if checkpoints and any(b <= a for a, b in zip(checkpoints, checkpoints[1:])):
        # "Threshold values for each checkpoint in ascending order. Each number must be unique."
        raise InvalidRequest("CheckpointPercentages must be unique and in ascending order.")
    if prefs.get("SkipMatching") and not uses_launch_template:
        # "The skip matching feature cannot be used to update an Auto Scaling group that uses a
        # launch configuration unless a launch template is specified for the desired configuration."
        raise InvalidRequest("SkipMatching cannot be used with an Auto Scaling group that uses a launch configuration.")

    out = {
        "MinHealthyPercentage": prefs.get("MinHealthyPercentage", DEFAULT_MIN_HEALTHY),
        "InstanceWarmup": prefs.get("InstanceWarmup", warmup_default),
        "SkipMatching": bool(prefs.get("SkipMatching", False)),
        "AutoRollback": False,
        "ScaleInProtectedInstances": prefs.get("ScaleInProtectedInstances", "Wait"),
        "StandbyInstances": prefs.get("StandbyInstances", "Wait"),
    }
    if "MaxHealthyPercentage" in prefs:
        out["MaxHealthyPercentage"] = prefs["MaxHealthyPercentage"]
    if checkpoints:
        out["CheckpointPercentages"] = list(checkpoints)
        out["CheckpointDelay"] = prefs.get("CheckpointDelay", DEFAULT_CHECKPOINT_DELAY)
    if "BakeTime" in prefs:
        out["BakeTime"] = prefs["BakeTime"]
    return out


# ----------------------------------------------------------------------------- the group


@dataclass(frozen=True)
class Member:
    """An instance of the group as a refresh sees it."""

    id: str
    lifecycle: str  # its LifecycleState, as DescribeAutoScalingGroups reports it
    protected: bool = False
    template: tuple[str, int] | None = None  # the launch template id and version it was launched from


class Fleet(Protocol):
    """The Auto Scaling group a refresh replaces instances of."""

    def exists(self) -> bool: ...
    def desired_capacity(self) -> int: ...
    def members(self) -> list[Member]: ...
    def launch_template(self) -> tuple[str, int] | None:
        """The launch template id and version the group launches from now."""
    def launch(self, count: int) -> list[str]:
        """Launches `count` instances the way a scale-out does; they are `Pending`."""
    def set_lifecycle(self, instance_id: str, state: str) -> None: ...
    def terminate(self, instance_id: str) -> None:
        """Terminates the instance and removes it from the group, the way a scale-in does."""
    def drain(self, instance_id: str) -> bool:
        """Starts ECS managed draining of the instance (its container instances go `DRAINING`):
        True when it applies, False when the instance can terminate right away."""
    def tasks_left(self, instance_id: str) -> int:
        """The tasks not yet stopped on the instance's draining container instances."""


class Clock:
    """Wall time for the record, monotonic time and sleeping for the waits."""

    def now(self) -> datetime:
        return datetime.now(timezone.utc)

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


@dataclass(frozen=True)
class Timings:
    """How long the emulated world takes. AWS's own durations are minutes; tests want seconds."""

    launch: float = 1.0  # an instance's Pending, before InService
    termination: float = 1.0  # Terminating (or Terminating:Proceed) before it is gone
    drain_timeout: float = 3600.0  # the longest a draining instance holds its termination
    wait_timeout: float = 3600.0  # the Wait preferences: "waits one hour" (API_RefreshPreferences.html)
    poll: float = 0.05

    @classmethod
    def from_env(cls, env: dict) -> Timings:
        def get(name: str, default: float) -> float:
            return float(env.get(name, default))

        return cls(
            launch=get("ENITRUNK_AUTOSCALING_LAUNCH_SECONDS", cls.launch),
            termination=get("ENITRUNK_AUTOSCALING_TERMINATION_SECONDS", cls.termination),
            drain_timeout=get("ENITRUNK_ECS_DRAIN_TIMEOUT_SECONDS", cls.drain_timeout),
            wait_timeout=get("ENITRUNK_AUTOSCALING_REFRESH_WAIT_SECONDS", cls.wait_timeout),
        )


def select(members: list[Member], prefs: dict, current: tuple[str, int] | None) -> list[str]:
    """The instances a refresh replaces, chosen when it starts: those in service or in standby,
    less protected or standby ones the preferences ignore, less (with SkipMatching) those launched
    from the launch template version the group launches from now ("If there are any instances
    that are already using the latest version of the specified launch template, they are not
    replaced", asg-instance-refresh-skip-matching.html)."""
    chosen = []
    for m in members:
        if m.lifecycle not in ("InService", "Standby"):
            continue
        if m.lifecycle == "InService" and m.protected and prefs["ScaleInProtectedInstances"] == "Ignore":
            continue
        if m.lifecycle == "Standby" and prefs["StandbyInstances"] == "Ignore":
            continue
        if prefs["SkipMatching"] and current is not None and m.template == current:
            continue
        chosen.append(m.id)
    return chosen


def plan_batch(desired: int, in_service: int, remaining: int, min_pct: int, max_pct: int) -> tuple[int, int]:
    """How many instances to replace now, and how many of them to terminate before their
    replacements are in service (the rest are terminated after).

    At least `min_pct` of the desired capacity, rounded up, stays in service ("rounded up to the
    nearest integer"); at most `max_pct` of it, rounded down, is in service or pending. One
    instance is always replaced even when that goes below the minimum ("Setting the minimum
    healthy percentage to 100 percent limits the rate of replacement to one instance at a time").
    A maximum above 100 always leaves room for one more instance than desired (chosen: the
    rounding of the maximum is not documented, and 110 % of a small group would otherwise never
    launch first).
    """
    min_healthy = math.ceil(desired * min_pct / 100)
    max_total = desired * max_pct // 100
    if max_pct > 100:
        max_total = max(max_total, desired + 1)
    slack = max(0, in_service - min_healthy)
    headroom = max(0, max_total - in_service)
    size = min(remaining, max(1, slack + headroom))
    return size, max(0, size - headroom)


# ---------------------------------------------------------------------------- the record


@dataclass
class InstanceRefresh:
    """One refresh, as `DescribeInstanceRefreshes` reports it."""

    group: str
    preferences: dict
    start_time: datetime
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    status: str = "Pending"
    reason: str | None = None
    end_time: datetime | None = None
    total: int = 0  # instances to update when it started
    updated: int = 0
    cancel: str | None = None  # "wait" or "now", once CancelInstanceRefresh asked

    @property
    def active(self) -> bool:
        return self.status in ACTIVE

    def percentage(self) -> int:
        return 100 if self.total == 0 else min(100, self.updated * 100 // self.total)

    def wire(self) -> dict:
        progress = {"PercentageComplete": self.percentage(), "InstancesToUpdate": max(0, self.total - self.updated)}
        out = {
            "InstanceRefreshId": self.id,
            "AutoScalingGroupName": self.group,
            "Status": self.status,
            "StartTime": self.start_time,
            **progress,
            "Preferences": self.preferences,
            "ProgressDetails": {"LivePoolProgress": dict(progress)},
            "Strategy": "Rolling",
        }
        if self.reason:
            out["StatusReason"] = self.reason
        if self.end_time is not None:
            out["EndTime"] = self.end_time
        return out


# ---------------------------------------------------------------------------- the runner


class Runner:
    """Runs one refresh to its end, on its own thread: batches of replacements, each launched
    (`Pending`, then `InService` after `Timings.launch`, then counted once warmed up) and each old
    instance terminated (`Terminating`, held in `Terminating:Wait` while ECS drains it, then
    `Terminating:Proceed`, then gone after `Timings.termination`)."""

    def __init__(self, record: InstanceRefresh, fleet: Fleet, targets: list[str], timings: Timings,
                 clock: Clock | None = None, lock: threading.Lock | None = None):
        self.record = record
        self.fleet = fleet
        self.targets = list(targets)
        self.timings = timings
        self.clock = clock or Clock()
        self.lock = lock or threading.Lock()
        # Instances changing state: id -> [state, monotonic time it moves on (or gives up waiting)].
        self.moving: dict[str, list] = {}
        # New instances in service: id -> the monotonic time their warmup ends; and those counted.
        self.warm_until: dict[str, float] = {}
        self.updated: set[str] = set()

    # ----- the record, shared with the API handlers (under `lock`)

    def _set(self, status: str | None = None, reason: str | None = None, final: bool = False) -> None:
        with self.lock:
            r = self.record
            if r.status in ("Successful", "Failed", "Cancelled"):
                return
            if status:
                r.status = status
            r.reason = reason
            if final:
                r.end_time = self.clock.now()

    def _counted(self, n: int = 1) -> None:
        with self.lock:
            if self.record.status not in ("Cancelled",):
                self.record.updated += n

    def _cancel(self) -> str | None:
        with self.lock:
            return self.record.cancel

    # ----- the run

    def run(self) -> None:
        try:
            self._run()
        except Exception as e:  # an emulator bug or a failed launch: the refresh fails, as AWS's would
            LOG.exception("instance refresh %s of %s failed", self.record.id, self.record.group)
            self._set("Failed", f"The instance refresh failed: {e}", final=True)
        finally:
            self._settle()

    def _run(self) -> None:
        prefs = self.record.preferences
        if self._cancel():
            self._set("Cancelled", final=True)
            return
        self._set("InProgress")
        pending = list(self.targets)
        checkpoints = list(prefs.get("CheckpointPercentages") or [])
        waiting_since = None
        while pending:
            if not self.fleet.exists():
                return
            if self._cancel():
                break
            members = {m.id: m for m in self.fleet.members()}
            for gone in [p for p in pending if p not in members]:  # terminated by someone else
                pending.remove(gone)
                self._counted()
            standby = [p for p in pending if members[p].lifecycle == "Standby" and prefs["StandbyInstances"] == "Terminate"]
            ready = [p for p in pending if p not in standby and self._replaceable(members[p])]
            if standby:
                self._replace(standby, launches=0)
                pending = [p for p in pending if p not in standby]
                continue
            if not pending:
                break
            if not ready:
                waiting_since = waiting_since if waiting_since is not None else self.clock.monotonic()
                if self.clock.monotonic() - waiting_since > self.timings.wait_timeout:
                    self._set("Failed", "The instance refresh failed: instances in Standby or protected from scale in "
                                        f"did not become replaceable within an hour (for example {pending[0]}).", final=True)
                    return
                self._set(reason=f"Waiting for instances in Standby or protected from scale in. For example: {pending[0]}.")
                self.clock.sleep(self.timings.poll)
                continue
            waiting_since = None
            in_service = sum(1 for m in members.values() if m.lifecycle == "InService")
            limit = len(ready)
            if checkpoints:
                # Replacements stop at the checkpoint (asg-adding-checkpoints-instance-refresh.html).
                to_checkpoint = math.ceil(checkpoints[0] * self.record.total / 100) - (self.record.total - len(pending))
                limit = min(limit, max(1, to_checkpoint))
            size, first = plan_batch(self.fleet.desired_capacity(), in_service, limit,
                                     prefs["MinHealthyPercentage"], prefs.get("MaxHealthyPercentage", DEFAULT_MAX_HEALTHY))
            batch = ready[:size]
            if not self._replace(batch, launches=len(batch), terminate_first=first):
                break
            pending = [p for p in pending if p not in batch]
            done = (self.record.total - len(pending)) * 100 / max(1, self.record.total)
            reached = None
            while checkpoints and done >= checkpoints[0]:
                reached = checkpoints.pop(0)
            if reached is not None and not checkpoints:
                break  # the last checkpoint: a partial refresh ends here, Successful
            if reached is not None and pending:
                self._set(reason=f"Waiting for the checkpoint delay after reaching checkpoint {reached} percent.")
                if not self._pause(prefs["CheckpointDelay"]):
                    break
                self._set(reason=None)
        if not self.fleet.exists():
            return  # the group was deleted: its refreshes went with it
        if self._cancel():
            self._settle()
            self._set("Cancelled", final=True)
            return
        if prefs.get("BakeTime"):
            self._set("Baking")
            if not self._pause(prefs["BakeTime"]):
                self._set("Cancelled", final=True)
                return
        self._set("Successful", final=True)

    def _replaceable(self, m: Member) -> bool:
        if m.lifecycle == "InService":
            return not m.protected or self.record.preferences["ScaleInProtectedInstances"] == "Refresh"
        return False  # Standby (Wait), or on its way in or out

    def _pause(self, seconds: float) -> bool:
        """Waits `seconds` unless the refresh is cancelled first."""
        until = self.clock.monotonic() + seconds
        while self.clock.monotonic() < until:
            if self._cancel():
                return False
            self.clock.sleep(self.timings.poll)
        return True

    def _replace(self, olds: list[str], launches: int, terminate_first: int | None = None) -> bool:
        """Replaces `olds` with `launches` new instances; `terminate_first` of the olds go before
        the new ones are in service (all of them by default), the rest after. False if cancelled."""
        first = olds if terminate_first is None else olds[:terminate_first]
        later = [] if terminate_first is None else olds[terminate_first:]
        new = self.fleet.launch(launches) if launches else []
        now = self.clock.monotonic()
        for i in new:
            self.moving[i] = ["Pending", now + self.timings.launch]
        for o in first:
            self._terminating(o)
        if not launches:  # Standby instances terminated without replacement count once gone
            ok = self._wait(lambda: not any(o in self.moving for o in first))
            self._counted(len(first))
            return ok
        if not self._wait(lambda: all(i in self.updated for i in new) and not any(o in self.moving for o in first)):
            return False
        for o in later:
            self._terminating(o)
        return self._wait(lambda: not any(o in self.moving for o in later))

    def _terminating(self, instance_id: str) -> None:
        self.fleet.set_lifecycle(instance_id, "Terminating")
        if self.fleet.drain(instance_id):
            self.fleet.set_lifecycle(instance_id, "Terminating:Wait")
            self.moving[instance_id] = ["Terminating:Wait", self.clock.monotonic() + self.timings.drain_timeout]
        else:
            self.moving[instance_id] = ["Terminating", self.clock.monotonic() + self.timings.termination]

    def _tick(self) -> None:
        """Moves every changing instance on whose time has come; counts warmed-up replacements."""
        now = self.clock.monotonic()
        for i, (state, until) in list(self.moving.items()):
            if state == "Pending" and now >= until:
                self.fleet.set_lifecycle(i, "InService")
                del self.moving[i]
                self.warm_until[i] = now + self.record.preferences["InstanceWarmup"]
            elif state == "Terminating:Wait" and (now >= until or self.fleet.tasks_left(i) == 0):
                self.fleet.set_lifecycle(i, "Terminating:Proceed")
                self.moving[i] = ["Terminating:Proceed", now + self.timings.termination]
            elif state in ("Terminating", "Terminating:Proceed") and now >= until:
                self.fleet.terminate(i)
                del self.moving[i]
        for i, until in self.warm_until.items():
            if i not in self.updated and until <= now:
                self.updated.add(i)
                self._counted()

    def _wait(self, done: Callable[[], bool]) -> bool:
        """Moves instances on until `done`. On a cancel: at once, or (WaitForTransitioningInstances)
        once launches are in service and terminations complete. False if cancelled."""
        while True:
            if not self.fleet.exists():
                return False
            self._tick()
            if done():
                return True
            cancel = self._cancel()
            if cancel == "now" or (cancel == "wait" and not self.moving):
                return False
            self._set(reason=self._reason())
            self.clock.sleep(self.timings.poll)

    def _reason(self) -> str | None:
        warming = [i for i in self.warm_until if i not in self.updated]
        if warming:
            return WARMING_UP.format(warming[0])
        draining = [i for i, (state, _) in self.moving.items() if state == "Terminating:Wait"]
        if draining:
            return f"Waiting for Amazon ECS to drain instances before terminating them. For example: {draining[0]} is draining."
        return None

    def _settle(self) -> None:
        """Lets instances on their way in or out arrive: launches go in service, terminations end."""
        while self.moving and self.fleet.exists():
            self._tick()
            if self.moving:
                self.clock.sleep(self.timings.poll)
