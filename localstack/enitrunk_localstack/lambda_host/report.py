r"""The `REPORT` line that ends each invocation's log, with the fields Lambda writes, and the
figures behind them as measured on the host.

Lambda's line (https://docs.aws.amazon.com/lambda/latest/dg/nodejs-logging.html, "REPORT line
data fields"; https://docs.aws.amazon.com/lambda/latest/operatorguide/log-structure.html):

    REPORT RequestId: <id>\tDuration: 2.41 ms\tBilled Duration: 3 ms\tMemory Size: 128 MB\tMax Memory Used: 18 MB\tInit Duration: 130.52 ms\t

`Init Duration` only on the first invocation an execution environment serves. `Max Memory Used`
is the environment's peak so far: when invocations share an environment, Lambda reports the
maximum across all of them.

Here an execution environment is one host process (and whatever it starts). Its peak memory is
the kernel's own high-water mark of resident memory, `VmHWM` in `/proc/<pid>/status`, of the
process plus that of each of its descendants, read whenever the executor looks at the process
(during init and every 50 ms of an invocation): the runtime process's peak is exact, a descendant
that lives shorter than that is missed, and shared pages count once per process. Linux only;
elsewhere the field is left out.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

PROC = Path("/proc")


def _status_kb(pid: int, field: str) -> int | None:
    try:
        text = (PROC / str(pid) / "status").read_text()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])  # "VmHWM:\t   18236 kB"
    return None  # a zombie has no memory fields


def _children(pid: int) -> list[int]:
    """The process's children, from each of its threads' `children` file."""
    found: list[int] = []
    try:
        tasks = list((PROC / str(pid) / "task").iterdir())
    except OSError:
        return found
    for task in tasks:
        try:
            found.extend(int(c) for c in (task / "children").read_text().split())
        except (OSError, ValueError):
            continue
    return found


def tree_peak_kb(pid: int) -> int | None:
    """The sum of `VmHWM` over `pid` and its descendants, or None when `pid` has none to read."""
    own = _status_kb(pid, "VmHWM")
    if own is None:
        return None
    total, todo, seen = own, _children(pid), {pid}
    while todo:
        child = todo.pop()
        if child in seen:
            continue
        seen.add(child)
        total += _status_kb(child, "VmHWM") or 0
        todo.extend(_children(child))
    return total


class PeakMemory:
    """The highest `tree_peak_kb` seen for one process: kept after the process has exited."""

    def __init__(self, pid: int):
        self.pid = pid
        self.kb = 0

    def sample(self) -> int:
        now = tree_peak_kb(self.pid)
        if now is not None and now > self.kb:
            self.kb = now
        return self.kb


class InitClock:
    """Process start to the runtime's first `GET /runtime/invocation/next`: Lambda's Init Duration."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.reported = False

    def take(self, ready_at: float | None) -> float | None:
        """The init duration in ms, once per environment (its first invocation); then None."""
        if self.reported or ready_at is None:
            return None
        self.reported = True
        return (ready_at - self.started) * 1000


def line(request_id: str, duration_ms: float, memory_size_mb: int, max_memory_kb: int | None,
         init_duration_ms: float | None = None) -> str:
    """The REPORT line as Lambda writes it: tab-separated fields, each followed by a tab."""
    fields = [
        f"REPORT RequestId: {request_id}",
        f"Duration: {duration_ms:.2f} ms",
        # Billed per millisecond, rounded up (https://aws.amazon.com/lambda/pricing/).
        f"Billed Duration: {max(1, math.ceil(duration_ms))} ms",
        f"Memory Size: {memory_size_mb} MB",
    ]
    if max_memory_kb:
        fields.append(f"Max Memory Used: {math.ceil(max_memory_kb / 1024)} MB")  # MB of 1024 kB, rounded up
    if init_duration_ms is not None:
        fields.append(f"Init Duration: {init_duration_ms:.2f} ms")
    return "\t".join(fields) + "\t"
