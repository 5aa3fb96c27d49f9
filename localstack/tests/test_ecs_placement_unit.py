"""ecs_placement on its own: which instance a task fits, the closest match, ECS's words for why not."""

from enitrunk_localstack.services.ecs_placement import (
    CPU,
    ENI,
    MEMORY,
    Candidate,
    Need,
    choose,
    closest,
    started,
    steady,
    unable_to_place,
)

TASK = Need(cpu=256, memory=512, eni=True, zones=frozenset({"us-east-1a", "us-east-1b"}))
ENI_CAPABLE = frozenset({"ecs.capability.task-eni"})


def m5_large(order=0, zone="us-east-1a", enis_used=0, limit=2, cpu=2048, memory=7537):
    return Candidate(arn=f"arn:ci/{order}", id=f"ci-{order}", zone=zone, cpu=cpu, memory=memory, enis_used=enis_used,
                     eni_limit=limit, attributes=ENI_CAPABLE, order=order)


def place_all(pool, need, count):
    placed = 0
    for _ in range(count):
        chosen = choose(pool, need)
        if chosen is None:
            break
        chosen.take(need)
        placed += 1
    return placed


def test_without_a_trunk_an_m5_large_holds_two_awsvpc_tasks():
    pool = [m5_large(limit=2)]
    assert place_all(pool, TASK, 8) == 2
    assert closest(pool, TASK)[1] == ENI


def test_with_a_trunk_cpu_is_the_limit():
    pool = [m5_large(limit=10)]
    assert place_all(pool, TASK, 10) == 8
    assert closest(pool, TASK)[1] == CPU


def test_memory_short():
    pool = [m5_large(limit=10, memory=1000)]
    assert place_all(pool, TASK, 3) == 1
    assert closest(pool, TASK)[1] == MEMORY


def test_tasks_without_an_interface_ignore_the_interface_limit():
    pool = [m5_large(limit=0)]
    assert place_all(pool, Need(cpu=256, memory=512, eni=False), 3) == 3


def test_instances_outside_the_tasks_zones_or_without_task_eni_do_not_fit():
    assert choose([m5_large(zone="us-east-1c")], TASK) is None
    bare = m5_large()
    bare.attributes = frozenset()
    assert choose([bare], TASK) is None


def test_spread_across_zones_then_instances():
    a, b, c = m5_large(0, "us-east-1a", limit=10), m5_large(1, "us-east-1a", limit=10), m5_large(2, "us-east-1b", limit=10)
    pool = [a, b, c]
    order = []
    for _ in range(4):
        chosen = choose(pool, TASK)
        chosen.take(TASK)
        order.append(chosen.id)
    assert order == ["ci-0", "ci-2", "ci-1", "ci-2"]


def test_the_closest_match_lacks_the_fewest_things():
    full = m5_large(0, enis_used=2, limit=2, cpu=0)  # CPU and ENI short
    eni_only = m5_large(1, enis_used=2, limit=2)  # ENI short
    assert closest([full, eni_only], TASK) == (eni_only, ENI)
    assert closest([], TASK) is None


def test_ecs_words():
    pool = [m5_large(enis_used=2, limit=2)]
    assert unable_to_place("web", closest(pool, TASK)) == (
        "(service web) was unable to place a task because no container instance met all of its requirements. "
        'The closest matching (container-instance ci-0) encountered error "RESOURCE:ENI". '
        "For more information, see the Troubleshooting section of the Amazon ECS Developer Guide."
    )
    cpu_short = [m5_large(cpu=0)]
    assert "The closest matching (container-instance ci-0) has insufficient CPU units available." in unable_to_place("web", closest(cpu_short, TASK))
    memory_short = [m5_large(memory=0)]
    assert "has insufficient memory available." in unable_to_place("web", closest(memory_short, TASK))
    assert "Reason: No Container Instances were found in your cluster." in unable_to_place("web", None)
    assert "Reason: No Container Instances were found in your capacity provider." in unable_to_place("web", None, "capacity provider")
    assert started("web", ["a", "b"]) == "(service web) has started 2 tasks: (task a) (task b)."
    assert steady("web") == "(service web) has reached a steady state."
