"""The order, concurrency and failure tolerance of a stack set operation (`stacksets/plan.py`),
as `StackSetOperationPreferences` documents them, without LocalStack."""

import pytest

from enitrunk_localstack.stacksets.plan import InvalidPreferences, Preferences, RegionRun


def test_defaults_are_sequential_one_at_a_time_with_no_failure_tolerated():
    p = Preferences.parse(None)
    assert p.region_groups(["a", "b"]) == [["a"], ["b"]]
    assert (p.max_concurrent(10), p.tolerance(10)) == (1, 0)


def test_region_order_comes_first_then_the_requests_order():
    p = Preferences.parse({"RegionOrder": ["c", "x", "b"]})
    assert p.region_groups(["a", "b", "c"]) == [["c"], ["b"], ["a"]]
    assert Preferences.parse({"RegionConcurrencyType": "PARALLEL", "RegionOrder": ["b"]}).region_groups(["a", "b"]) == [["b", "a"]]


def test_percentages_round_down_and_concurrency_is_at_least_one():
    p = Preferences.parse({"MaxConcurrentPercentage": 30, "FailureTolerancePercentage": 30})
    assert (p.max_concurrent(10), p.tolerance(10)) == (3, 3)
    assert (p.max_concurrent(2), p.tolerance(2)) == (1, 0)


@pytest.mark.parametrize("raw", [
    {"MaxConcurrentCount": 2, "MaxConcurrentPercentage": 10},
    {"FailureToleranceCount": 1, "FailureTolerancePercentage": 10},
    {"MaxConcurrentCount": 0},
    {"MaxConcurrentPercentage": 101},
    {"RegionConcurrencyType": "ALL"},
    {"ConcurrencyMode": "LOOSE"},
])
def test_invalid_preferences_are_refused(raw):
    with pytest.raises(InvalidPreferences):
        Preferences.parse(raw)


def test_strict_mode_starts_at_most_tolerance_plus_one_and_lowers_it_with_each_failure():
    run = RegionRun("r", ["a", "b", "c", "d", "e"], Preferences.parse({"MaxConcurrentCount": 4, "FailureToleranceCount": 2}))
    assert run.start() == ["a", "b", "c"]
    run.finished("a", succeeded=False)
    assert run.start() == []  # 2 running + 1 failed = tolerance + 1
    run.finished("b", succeeded=True)
    assert run.start() == ["d"]
    run.finished("c", succeeded=False)
    run.finished("d", succeeded=False)
    assert run.exceeded and run.start() == []
    assert run.cancel() == ["e"] and run.done


def test_soft_mode_keeps_its_concurrency_after_failures():
    p = Preferences.parse({"MaxConcurrentCount": 2, "FailureToleranceCount": 1, "ConcurrencyMode": "SOFT_FAILURE_TOLERANCE"})
    run = RegionRun("r", ["a", "b", "c", "d"], p)
    assert run.start() == ["a", "b"]
    run.finished("a", succeeded=False)
    assert run.start() == ["c"]
    run.finished("b", succeeded=False)
    assert run.exceeded and run.start() == []
