"""Where ECS can place a task, and how it says why it cannot: pure logic for `ecs_scheduler` (no
LocalStack imports; unit tested in `tests/test_ecs_placement_unit.py`).

A container instance fits a task when it is `ACTIVE`, reports the attributes the task needs (for
`awsvpc`, `ecs.capability.task-eni`, in an Availability Zone of one of the task's subnets), and has
the task's CPU units and memory left and, for `awsvpc`, a free interface slot: each such task
takes one, up to the instance's task limit (without a trunk: the limit without trunking; with one:
the limit with trunking, `instance_types`). Among the instances that fit, the service scheduler's
default placement spreads tasks across Availability Zones, then across instances
(https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-placement-strategies.html).

When none fits, ECS names the closest match and what it lacks, in the service event messages of
the troubleshooting guide (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/service-event-messages.html)
and, for `RunTask`, in `failures` reasons (`RESOURCE:CPU`, `RESOURCE:MEMORY`, `RESOURCE:ENI`,
`ATTRIBUTE`: https://docs.aws.amazon.com/AmazonECS/latest/developerguide/api_failures_messages.html).
The closest match is the instance lacking the fewest things (the first registered among equals),
and its first shortfall in the order CPU, memory, interface, attribute: both chosen, as ECS does
not document them.
"""

from __future__ import annotations

from dataclasses import dataclass

CPU, MEMORY, ENI, ATTRIBUTE = "CPU", "MEMORY", "ENI", "ATTRIBUTE"
SHORTFALL_ORDER = (CPU, MEMORY, ENI, ATTRIBUTE)

FAILURE_REASONS = {CPU: "RESOURCE:CPU", MEMORY: "RESOURCE:MEMORY", ENI: "RESOURCE:ENI", ATTRIBUTE: "ATTRIBUTE"}

UNABLE = "(service {service}) was unable to place a task because no container instance met all of its requirements."
MORE = "For more information, see the Troubleshooting section of the Amazon ECS Developer Guide."
# What the closest matching container instance lacks, in the troubleshooting guide's words.
CLOSEST = {
    CPU: "has insufficient CPU units available.",
    MEMORY: "has insufficient memory available.",
    ENI: 'encountered error "RESOURCE:ENI".',
    ATTRIBUTE: "is missing an attribute required by your task.",
}
NO_INSTANCES = {
    "cluster": "Reason: No Container Instances were found in your cluster.",
    "capacity provider": "Reason: No Container Instances were found in your capacity provider.",
}


@dataclass(frozen=True)
class Need:
    """What one task takes: task-level CPU units and memory (MiB), an interface for `awsvpc`, and
    the Availability Zones of its subnets (None: any)."""

    cpu: int
    memory: int
    eni: bool
    zones: frozenset[str] | None = None


@dataclass
class Candidate:
    """A container instance as placement sees it."""

    arn: str
    id: str
    zone: str
    cpu: int
    memory: int
    enis_used: int
    eni_limit: int
    attributes: frozenset[str]
    order: int  # registration order
    service_tasks: int = 0  # tasks of the service being placed, on this instance

    def shortfalls(self, need: Need) -> list[str]:
        lacking = []
        if need.cpu > self.cpu:
            lacking.append(CPU)
        if need.memory > self.memory:
            lacking.append(MEMORY)
        if need.eni and self.enis_used >= self.eni_limit:
            lacking.append(ENI)
        if need.eni and ("ecs.capability.task-eni" not in self.attributes or (need.zones is not None and self.zone not in need.zones)):
            lacking.append(ATTRIBUTE)
        return lacking

    def take(self, need: Need) -> None:
        self.cpu -= need.cpu
        self.memory -= need.memory
        if need.eni:
            self.enis_used += 1
        self.service_tasks += 1


def choose(candidates: list[Candidate], need: Need) -> Candidate | None:
    """The instance the service scheduler places the next task on: spread across zones, then instances."""
    fitting = [c for c in candidates if not c.shortfalls(need)]
    if not fitting:
        return None
    per_zone: dict[str, int] = {}
    for c in candidates:
        per_zone[c.zone] = per_zone.get(c.zone, 0) + c.service_tasks
    return min(fitting, key=lambda c: (per_zone[c.zone], c.service_tasks, c.order))


def closest(candidates: list[Candidate], need: Need) -> tuple[Candidate, str] | None:
    """The closest matching instance and what it lacks first, or None when there is no instance."""
    if not candidates:
        return None
    ranked = [(len(c.shortfalls(need)), c.order, c) for c in candidates]
    _, _, best = min(ranked, key=lambda r: (r[0], r[1]))
    lacking = best.shortfalls(need)
    return best, next(s for s in SHORTFALL_ORDER if s in lacking)


def unable_to_place(service: str, closest_match: tuple[Candidate, str] | None, scope: str = "cluster") -> str:
    """The service event ECS writes when a task of `service` cannot be placed."""
    head = UNABLE.format(service=service)
    if closest_match is None:
        return f"{head} {NO_INSTANCES[scope]} {MORE}"
    instance, shortfall = closest_match
    return f"{head} The closest matching (container-instance {instance.id}) {CLOSEST[shortfall]} {MORE}"


def started(service: str, task_ids: list[str]) -> str:
    tasks = " ".join(f"(task {t})" for t in task_ids)
    return f"(service {service}) has started {len(task_ids)} tasks: {tasks}."


def stopped(service: str, task_ids: list[str]) -> str:
    tasks = " ".join(f"(task {t})" for t in task_ids)
    return f"(service {service}) has stopped {len(task_ids)} running tasks: {tasks}."


def steady(service: str) -> str:
    return f"(service {service}) has reached a steady state."
