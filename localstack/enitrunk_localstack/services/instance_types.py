"""EC2 instance-type facts the emulated ECS needs: size, ENI task limits, trunking support.

Read from the product's own table, `deployer/data/ec2-eni-trunking-limits.csv` (its provenance:
`deployer/data/README.md`), never a copy: the repository's file (`../deployer/data/` from
`localstack/`), or the file `ENITRUNK_INSTANCE_TYPES_CSV` names (the Docker setup mounts it).
The rules are the deployer's (`deployer/src/instance_types.rs`), so the emulator places tasks by
the same limits that `enitrunk plan` promises:
- task limit without trunking: `ecs_tasks_without_trunking`;
- with trunking: the ECS developer guide's figure when it equals `branch_enis + max_enis - 2`
  (both the primary and the trunk interface count against the limit), else that formula, an
  estimate, never above the 120 tasks ECS documents at most; unsupported for
  `trunking_compatible=false`, macOS types, the sizes and families the guide names as unsupported
  (`ecs-trunking-unsupported.csv` beside the table: c5n, g4dn, m5n, c5.metal, r5.8xlarge, ...),
  a documented figure no higher than the limit without trunking, and sizes of a documented family
  that the ECS table leaves out;
- schedulable memory: `memory_mib - memory_mib * 8 / 100` (an estimate: the OS and the agent keep
  some; an m5.large with 8192 MiB registers about 7,500).
Pure logic (no LocalStack imports), unit tested in `tests/test_instance_types_unit.py`.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

CSV_ENV = "ENITRUNK_INSTANCE_TYPES_CSV"
REPOSITORY_CSV = Path(__file__).resolve().parents[3] / "deployer" / "data" / "ec2-eni-trunking-limits.csv"

UNSUPPORTED_CSV = "ecs-trunking-unsupported.csv"
# The most `awsvpc` tasks ECS documents for any type with trunking (120 branch interfaces).
MAX_TASKS_WITH_TRUNKING = 120


@dataclass(frozen=True)
class InstanceType:
    name: str
    max_enis: int
    trunking_compatible: bool
    branch_enis: int
    tasks_without_trunking: int
    # The ECS documentation's figure, verbatim (it has anomalies, see `tasks_with_trunking`).
    documented_tasks_with_trunking: int | None
    vcpu: int
    memory_mib: int

    @property
    def family(self) -> str:
        return self.name.split(".", 1)[0]

    @property
    def cpu_units(self) -> int:
        """CPU ECS registers: 1,024 units per vCPU."""
        return self.vcpu * 1024

    @property
    def schedulable_memory_mib(self) -> int:
        return self.memory_mib - self.memory_mib * 8 // 100

    def _formula(self) -> int:
        return max(self.branch_enis + self.max_enis - 2, 0)

    def unsupported_reason(self) -> str | None:
        """Why ECS does not trunk this type, or None when it does."""
        if not self.trunking_compatible:
            return f"the {self.family} family does not support it"
        if self.family.startswith("mac"):
            return "it runs macOS, and trunking is for Linux container instances"
        named = unsupported()
        if ("type", self.name) in named:
            return "the ECS developer guide names this size as not supported"
        if ("family", self.family) in named:
            return f"the ECS developer guide names the {self.family} family as not supported"
        documented = self.documented_tasks_with_trunking
        if documented is not None:
            if 0 <= documented <= self.tasks_without_trunking and documented != self._formula():
                return (
                    f"the ECS documentation gives it {documented} tasks with trunking and "
                    f"{self.tasks_without_trunking} without: no gain"
                )
            return None
        if any(t.family == self.family and t.documented_tasks_with_trunking is not None for t in table().values()):
            return f"ECS documents it for other {self.family} sizes, not this one"
        return None

    def supports_trunking(self) -> bool:
        return self.unsupported_reason() is None

    @property
    def tasks_with_trunking(self) -> int | None:
        """The task limit with a trunk interface: documented, else estimated; None when unsupported."""
        if not self.supports_trunking():
            return None
        documented = self.documented_tasks_with_trunking
        if documented is not None and documented == self._formula() and documented <= MAX_TASKS_WITH_TRUNKING:
            return documented
        return min(self._formula(), MAX_TASKS_WITH_TRUNKING)

    def task_limit(self, trunked: bool) -> int:
        """How many `awsvpc` tasks the instance can hold (each needs one interface slot)."""
        if trunked and self.tasks_with_trunking is not None:
            return self.tasks_with_trunking
        return self.tasks_without_trunking


def csv_path() -> Path:
    configured = os.environ.get(CSV_ENV)
    return Path(configured) if configured else REPOSITORY_CSV


@lru_cache(maxsize=1)
def table() -> dict[str, InstanceType]:
    path = csv_path()
    if not path.is_file():
        raise FileNotFoundError(
            f"instance-type table {path} not found: run from the enitrunk repository, or set {CSV_ENV} to "
            "deployer/data/ec2-eni-trunking-limits.csv"
        )
    return parse(path.read_text())


@lru_cache(maxsize=1)
def unsupported() -> frozenset[tuple[str, str]]:
    """(scope, name) pairs, scope `type` or `family`, of what the ECS developer guide names as not
    supporting trunking; the file beside the table."""
    path = csv_path().parent / UNSUPPORTED_CSV
    return frozenset((row["scope"], row["name"]) for row in csv.DictReader(path.read_text().splitlines()))


def parse(text: str) -> dict[str, InstanceType]:
    def number(value: str) -> int:
        return int(value) if value else 0

    types = {}
    for row in csv.DictReader(text.splitlines()):
        documented = row["ecs_tasks_with_trunking"]
        types[row["instance_type"]] = InstanceType(
            name=row["instance_type"],
            max_enis=number(row["max_enis"]),
            trunking_compatible=row["trunking_compatible"] == "true",
            branch_enis=number(row["branch_enis"]),
            tasks_without_trunking=number(row["ecs_tasks_without_trunking"]),
            documented_tasks_with_trunking=int(documented) if documented.lstrip("-").isdigit() else None,
            vcpu=number(row["vcpu"]),
            memory_mib=number(row["memory_mib"]),
        )
    return types


def get(name: str) -> InstanceType | None:
    return table().get(name)
