"""How a stack set operation walks its accounts and Regions: pure logic, no LocalStack imports.

The rules are the CloudFormation API reference's `StackSetOperationPreferences`
(https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_StackSetOperationPreferences.html)
and the user guide's "StackSet operation options"
(https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/stacksets-concepts.html#stackset-ops-options):
- Regions one at a time (`SEQUENTIAL`, the default) or all at once (`PARALLEL`), `RegionOrder`
  first, then the request's order.
- Per Region: at most `MaxConcurrentCount` accounts at a time (default 1), or
  `MaxConcurrentPercentage` of the Region's accounts rounded down, at least one.
- Per Region: `FailureToleranceCount` failures (default 0), or `FailureTolerancePercentage`
  rounded down. One more stops the Region: nothing new starts, and what has not started is
  cancelled; the operation fails and the remaining Regions are cancelled.
- `STRICT_FAILURE_TOLERANCE` (the default): "The initial actual concurrency is set to the lower of
  either the value of the MaxConcurrentCount, or the value of FailureToleranceCount +1. The actual
  concurrency is then reduced proportionally by the number of failures." `SOFT_FAILURE_TOLERANCE`
  keeps `MaxConcurrentCount` whatever fails.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

SEQUENTIAL, PARALLEL = "SEQUENTIAL", "PARALLEL"
STRICT, SOFT = "STRICT_FAILURE_TOLERANCE", "SOFT_FAILURE_TOLERANCE"


class InvalidPreferences(ValueError):
    """Preferences the API refuses (a `ValidationError`)."""


def _int(value, name: str, low: int, high: int | None = None) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < low or (high is not None and value > high):
        bound = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise InvalidPreferences(f"{name} must be an integer {bound}")
    return value


@dataclass(frozen=True)
class Preferences:
    region_concurrency: str = SEQUENTIAL
    region_order: tuple[str, ...] = ()
    max_count: int | None = None
    max_percentage: int | None = None
    tolerance_count: int | None = None
    tolerance_percentage: int | None = None
    mode: str = STRICT

    @classmethod
    def parse(cls, raw: dict | None) -> Preferences:
        raw = raw or {}
        # "Conditional: You must specify either ... but not both." (API_StackSetOperationPreferences)
        if raw.get("MaxConcurrentCount") is not None and raw.get("MaxConcurrentPercentage") is not None:
            raise InvalidPreferences("You can specify either MaxConcurrentCount or MaxConcurrentPercentage, but not both.")
        if raw.get("FailureToleranceCount") is not None and raw.get("FailureTolerancePercentage") is not None:
            raise InvalidPreferences("You can specify either FailureToleranceCount or FailureTolerancePercentage, but not both.")
        concurrency = raw.get("RegionConcurrencyType") or SEQUENTIAL
        if concurrency not in (SEQUENTIAL, PARALLEL):
            raise InvalidPreferences(f"RegionConcurrencyType must be {SEQUENTIAL} or {PARALLEL}")
        mode = raw.get("ConcurrencyMode") or STRICT
        if mode not in (STRICT, SOFT):
            raise InvalidPreferences(f"ConcurrencyMode must be {STRICT} or {SOFT}")
        return cls(
            region_concurrency=concurrency,
            region_order=tuple(raw.get("RegionOrder") or ()),
            max_count=_int(raw.get("MaxConcurrentCount"), "MaxConcurrentCount", 1),
            max_percentage=_int(raw.get("MaxConcurrentPercentage"), "MaxConcurrentPercentage", 1, 100),
            tolerance_count=_int(raw.get("FailureToleranceCount"), "FailureToleranceCount", 0),
            tolerance_percentage=_int(raw.get("FailureTolerancePercentage"), "FailureTolerancePercentage", 0, 100),
            mode=mode,
        )

    def tolerance(self, accounts: int) -> int:
        if self.tolerance_count is not None:
            return self.tolerance_count
        if self.tolerance_percentage is not None:
            return accounts * self.tolerance_percentage // 100
        return 0

    def max_concurrent(self, accounts: int) -> int:
        if self.max_count is not None:
            return self.max_count
        if self.max_percentage is not None:
            return max(1, accounts * self.max_percentage // 100)
        return 1

    def region_groups(self, regions: list[str]) -> list[list[str]]:
        """The Regions in the order they run: one group per Region, or one group of all."""
        first = [r for r in self.region_order if r in regions]
        ordered = first + [r for r in regions if r not in first]
        return [ordered] if self.region_concurrency == PARALLEL else [[r] for r in ordered]


class RegionRun:
    """The accounts of one Region: which may start now, and whether the tolerance is exceeded."""

    def __init__(self, region: str, accounts: list[str], preferences: Preferences):
        self.region = region
        self.pending = deque(accounts)
        self.running: set[str] = set()
        self.failed = 0
        self.tolerance = preferences.tolerance(len(accounts))
        self.max_concurrent = preferences.max_concurrent(len(accounts))
        self.strict = preferences.mode == STRICT
        self.halted = False

    @property
    def exceeded(self) -> bool:
        return self.failed > self.tolerance

    @property
    def done(self) -> bool:
        return not self.pending and not self.running

    def limit(self) -> int:
        if self.strict:
            return min(self.max_concurrent, self.tolerance + 1) - self.failed
        return self.max_concurrent

    def start(self) -> list[str]:
        """The accounts to start now (they count as running until `finished`)."""
        started = []
        while self.pending and not self.halted and not self.exceeded and len(self.running) < self.limit():
            account = self.pending.popleft()
            self.running.add(account)
            started.append(account)
        return started

    def finished(self, account: str, succeeded: bool) -> None:
        self.running.discard(account)
        if not succeeded:
            self.failed += 1

    def cancel(self) -> list[str]:
        """Stop starting accounts: those not started yet, which are now cancelled."""
        self.halted = True
        cancelled = list(self.pending)
        self.pending.clear()
        return cancelled
