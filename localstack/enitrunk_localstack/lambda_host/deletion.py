"""A deleted function's running invocations finish, and their logs reach CloudWatch Logs.

LocalStack 4.13.1 stops a version as soon as `DeleteFunction` is called
(`LambdaVersionManager.stop`, run on a worker thread): it stops the log subscriber, dropping the
log items still queued, and then the execution environments, killing one that is still invoking.
A custom resource's function answers CloudFormation *during* its invocation, so CloudFormation
deletes the function while that invocation is finishing: its logs were lost, and LocalStack's
assignment failed with `InvalidStatusException` on the stopped environment.

On Lambda, `DeleteFunction` deletes the function, its versions and aliases
(https://docs.aws.amazon.com/lambda/latest/api/API_DeleteFunction.html); the log group is
CloudWatch Logs', and what the invocations wrote stays in it. The documentation does not say
what happens to an invocation running when its function is deleted; we let it run to its end,
bounded by the function's timeout, then stop the environments and deliver every queued log item.
New invocations are refused from the moment of deletion, as LocalStack already does. When
LocalStack itself stops, nothing waits: it stops every environment anyway.
"""

from __future__ import annotations

import logging
import threading
import time

from localstack.runtime import hooks

LOG = logging.getLogger(__name__)

# Beyond the function's timeout, for the executor to kill a timed-out process and return.
STOP_MARGIN_S = 5.0
# How long stopping waits for the log subscriber to write what is queued.
LOG_DRAIN_S = 10.0


class InFlight:
    """Counts a version's running invocations; `wait_idle` returns once none is left."""

    def __init__(self) -> None:
        self._count = 0
        self._idle = threading.Condition()

    def __enter__(self) -> InFlight:
        with self._idle:
            self._count += 1
        return self

    def __exit__(self, *exc) -> None:
        with self._idle:
            self._count -= 1
            if self._count == 0:
                self._idle.notify_all()

    def wait_idle(self, timeout_s: float, give_up: threading.Event | None = None) -> bool:
        deadline = time.monotonic() + timeout_s
        with self._idle:
            while self._count > 0:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or (give_up is not None and give_up.is_set()):
                    return False
                self._idle.wait(min(remaining, 0.1))
        return True


@hooks.on_infra_start()
def patch_function_deletion():
    from localstack.runtime import events
    from localstack.services.lambda_.invocation.logs import QUEUE_SHUTDOWN, LogHandler
    from localstack.services.lambda_.invocation.version_manager import LambdaVersionManager
    from localstack.utils.patch import patch

    @patch(LambdaVersionManager.__init__)
    def init(fn, self, *args, **kwargs):
        fn(self, *args, **kwargs)
        self._enitrunk_in_flight = InFlight()

    @patch(LambdaVersionManager.invoke)
    def invoke(fn, self, *args, **kwargs):
        with self._enitrunk_in_flight:
            return fn(self, *args, **kwargs)

    @patch(LambdaVersionManager.stop)
    def stop(fn, self):
        # Refuse new invocations now; LocalStack's own stop sets it again.
        self.shutdown_event.set()
        timeout_s = float(self.function_version.config.timeout or 3) + STOP_MARGIN_S
        # LocalStack stopping waits for this stop before it stops the environments: no waiting then.
        finished = self._enitrunk_in_flight.wait_idle(timeout_s, give_up=events.infra_stopping)
        if not finished and not events.infra_stopping.is_set():
            LOG.warning("stopping %s with an invocation still running after %.0fs", self.function_arn, timeout_s)
        fn(self)

    @patch(LogHandler.stop)
    def stop_logs(fn, self):
        if events.infra_stopping.is_set():
            return fn(self)  # CloudWatch Logs is stopping too: nothing would take the logs
        # The shutdown pill goes behind what is queued, so the subscriber writes it all first;
        # LocalStack sets the shutdown event first, and the loop then leaves the rest unwritten.
        if self._thread:
            self.log_queue.put(QUEUE_SHUTDOWN)
            self._thread.join(timeout=LOG_DRAIN_S)
            if self._thread.is_alive():
                LOG.error("the log subscriber did not write its queue within %.0fs", LOG_DRAIN_S)
        self._shutdown_event.set()
        self._thread = None
