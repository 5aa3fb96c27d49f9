"""Work the emulated ECS does later, off the request threads: one daemon thread running due jobs in
time order (an agent registering a while after its instance launched, a trunk interface being
provisioned, the scheduler's periodic placement pass).

Jobs run one at a time, so they never race each other; a job that fails is logged and dropped.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable

LOG = logging.getLogger(__name__)


class Clock:
    def __init__(self, name: str = "enitrunk-clock"):
        self._jobs: list[tuple[float, int, Callable[[], None]]] = []
        self._seq = itertools.count()
        self._cond = threading.Condition()
        self._name = name
        self._thread: threading.Thread | None = None

    def after(self, seconds: float, job: Callable[..., None], *args) -> None:
        """Run `job(*args)` in `seconds` (never on the caller's thread)."""
        due = time.monotonic() + max(seconds, 0.0)
        with self._cond:
            heapq.heappush(self._jobs, (due, next(self._seq), lambda: job(*args)))
            self._start()
            self._cond.notify()

    def every(self, seconds: float, job: Callable[[], None]) -> None:
        """Run `job()` every `seconds`, starting in `seconds`."""

        def tick() -> None:
            try:
                job()
            finally:
                self.after(seconds, tick)

        self.after(seconds, tick)

    def _start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._jobs or self._jobs[0][0] > time.monotonic():
                    timeout = self._jobs[0][0] - time.monotonic() if self._jobs else None
                    self._cond.wait(timeout)
                _, _, job = heapq.heappop(self._jobs)
            try:
                job()
            except Exception:
                LOG.exception("background job failed")


CLOCK = Clock()
