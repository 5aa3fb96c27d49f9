"""The `enitrunk-host` Lambda runtime executor: Lambda functions as host processes.

LocalStack picks one executor class for all functions by plugin name in the
`localstack.lambda.runtime_executor` namespace (`LAMBDA_RUNTIME_EXECUTOR=enitrunk-host`). Its own
`docker` executor runs LocalStack's init (a Runtime API emulator) in a container; this one serves
the Runtime API itself (`runtime_api`) and runs, from the unpacked code on the host, a
`provided.*` function's real `bootstrap`, or the handler loop of a Node.js or Python runtime on
that runtime's interpreter (`runtimes`), with the environment LocalStack computes for the function
(role credentials, `AWS_ENDPOINT_URL`, `AWS_LAMBDA_*`, `_HANDLER`). It enforces the function
timeout by killing the process (the next invocation starts a fresh one, as Lambda resets a
timed-out sandbox) and returns each invocation's stdout/stderr as its logs, which LocalStack
writes to CloudWatch Logs, between START and END lines and a REPORT line with Lambda's fields,
the peak memory and, once per process, the init duration among them (`report`).
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import signal
import struct
import subprocess
import termios
import threading
import time
from concurrent.futures import TimeoutError as FutureTimeout
from datetime import UTC, datetime
from pathlib import Path

from localstack.services.lambda_.invocation.lambda_models import FunctionVersion, InvocationResult
from localstack.services.lambda_.invocation.plugins import RuntimeExecutorPlugin
from localstack.services.lambda_.invocation.runtime_executor import LambdaRuntimeException, RuntimeExecutor

from enitrunk_localstack.lambda_host import report, runtimes
from enitrunk_localstack.lambda_host.runtime_api import Invocation, Result, RuntimeApiServer, deadline_ms

LOG = logging.getLogger(__name__)

# Lambda gives a runtime 10 s to initialise (reach its first /next) before it fails the init.
INIT_TIMEOUT_S = 10.0
# Internal variables of LocalStack's container init; meaningless to a host process.
INTERNAL_ENV = ("LOCALSTACK_RUNTIME_ID", "LOCALSTACK_RUNTIME_ENDPOINT", "LOCALSTACK_USER", "LAMBDA_RUNTIME_DIR")


def supports(function_version: FunctionVersion) -> bool:
    runtime = function_version.config.runtime or ""
    return runtime.startswith("provided") or runtime in runtimes.MANAGED


class HostProcess:
    """One running runtime process (an execution environment) plus its Runtime API server,
    captured output, init clock and peak memory."""

    def __init__(self, argv: list[str], code_dir: Path, env: dict[str, str]):
        self.api = RuntimeApiServer()
        self.api.start()
        env = dict(env)
        env["AWS_LAMBDA_RUNTIME_API"] = self.api.address
        self.lines: list[str] = []
        self._lines_lock = threading.Lock()
        self.init = report.InitClock()
        self.proc = subprocess.Popen(
            argv,
            cwd=str(code_dir),
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so a kill takes its children too
        )
        self.memory = report.PeakMemory(self.proc.pid)
        self._reader = threading.Thread(target=self._read, name="lambda-output", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for raw in iter(self.proc.stdout.readline, b""):
            with self._lines_lock:
                self.lines.append(raw.decode("utf-8", errors="replace").rstrip("\n"))

    def mark(self) -> int:
        with self._lines_lock:
            return len(self.lines)

    def output_since(self, mark: int) -> list[str]:
        self._drain()
        with self._lines_lock:
            return list(self.lines[mark:])

    def _drain(self, max_wait_s: float = 0.25) -> None:
        """Wait until the reader has taken what the process wrote before it answered.

        The runtime writes its log lines and then POSTs its response, so those bytes are already
        in the pipe when the result arrives; FIONREAD tells how many are still unread.
        """
        if self.proc.stdout is None:
            return
        fd = self.proc.stdout.fileno()
        deadline = time.monotonic() + max_wait_s
        while time.monotonic() < deadline:
            try:
                pending = struct.unpack("i", fcntl.ioctl(fd, termios.FIONREAD, b"\0\0\0\0"))[0]
            except OSError:
                return
            if pending == 0:
                # Give the reader a moment to append the line it may be holding.
                time.sleep(0.002)
                return
            time.sleep(0.002)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def wait_ready(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            ready = self.api.ready.wait(timeout=0.02)
            self.memory.sample()
            if ready:
                return
            if self.api.init_error.done():
                res: Result = self.api.init_error.result()
                raise LambdaRuntimeException(f"Runtime.InitError: {res.payload.decode(errors='replace')}")
            if not self.alive():
                tail = "\n".join(self.output_since(max(0, self.mark() - 20)))
                raise LambdaRuntimeException(
                    f"Runtime.ExitError: the runtime exited with code {self.proc.returncode} during init\n{tail}"
                )
        raise LambdaRuntimeException(f"Runtime.InitTimeout: the runtime did not ask for work within {timeout_s:.0f}s")

    def kill(self, grace_s: float = 2.0) -> None:
        if self.alive():
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=grace_s)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.proc.wait()
        self.api.shutdown()
        self._reader.join(timeout=1)


class HostRuntimeExecutor(RuntimeExecutor):
    def __init__(self, id: str, function_version: FunctionVersion) -> None:
        super().__init__(id=id, function_version=function_version)
        self._env: dict[str, str] = {}
        self._argv: list[str] = []
        self._process: HostProcess | None = None
        self._lock = threading.Lock()
        self._all_logs: list[str] = []

    # ------------------------------------------------------------------------------ lifecycle

    @classmethod
    def prepare_version(cls, function_version: FunctionVersion) -> None:
        if not supports(function_version):
            raise LambdaRuntimeException(
                f"runtime {function_version.config.runtime!r} is not supported by the enitrunk-host executor "
                f"(it runs provided.* and {', '.join(runtimes.MANAGED)}; use the Docker executor for others)"
            )
        if function_version.config.code is None:
            raise LambdaRuntimeException("container-image functions need the Docker executor")
        name = function_version.config.runtime
        if name in runtimes.MANAGED:
            # Refused here, so the function ends `Failed` with the reason rather than being faked.
            try:
                runtimes.command(name, function_version.config.handler or "")
                runtimes.environment(name, Path("."))
            except runtimes.RuntimeUnavailable as e:
                raise LambdaRuntimeException(str(e)) from None
        function_version.config.code.prepare_for_execution()

    @classmethod
    def cleanup_version(cls, function_version: FunctionVersion) -> None:
        pass

    @classmethod
    def validate_environment(cls) -> bool:
        return True

    def code_dir(self) -> Path:
        return Path(self.function_version.config.code.get_unzipped_code_location())

    def start(self, env_vars: dict[str, str]) -> None:
        runtime = self.function_version.config.runtime
        if runtime in runtimes.MANAGED:
            self._argv = runtimes.command(runtime, env_vars.get("_HANDLER") or "")
        else:
            self._argv = self._bootstrap()
        env = {
            "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
            "LANG": "C.UTF-8",
        }
        env.update({k: str(v) for k, v in env_vars.items() if k not in INTERNAL_ENV})
        # /var/task does not exist on the host: the unpacked code is the task root.
        env["LAMBDA_TASK_ROOT"] = str(self.code_dir())
        if runtime in runtimes.MANAGED:
            # The runtime's reserved variables win over LocalStack's placeholders (its
            # AWS_EXECUTION_ENV is `AWS_Lambda_rapid`); PATH, NODE_PATH and PYTHONPATH are
            # unreserved: the function's own Environment may set them.
            own = self.function_version.config.environment or {}
            for key, value in runtimes.environment(runtime, self.code_dir()).items():
                if key in runtimes.RESERVED or key not in own:
                    env[key] = value
                elif key in runtimes.EXTENDED:
                    env[key] = os.pathsep.join([str(own[key]), value])
        self._env = env
        with self._lock:
            self._spawn()

    def _bootstrap(self) -> list[str]:
        bootstrap = self.code_dir() / "bootstrap"
        if not bootstrap.is_file():
            raise LambdaRuntimeException(
                f"Runtime.InvalidEntrypoint: no bootstrap file at the root of the deployment package ({bootstrap})"
            )
        if not os.access(bootstrap, os.X_OK):
            # Zips built without unix modes lose the executable bit; Lambda reports
            # Runtime.InvalidEntrypoint then. Say so rather than silently fixing it.
            raise LambdaRuntimeException("Runtime.InvalidEntrypoint: bootstrap is not executable (mode 0755)")
        return [str(bootstrap)]

    def _spawn(self) -> None:
        LOG.debug("starting %s for %s", self._argv[0], self.function_version.qualified_arn)
        proc = HostProcess(self._argv, self.code_dir(), self._env)
        try:
            proc.wait_ready(INIT_TIMEOUT_S)
        except Exception:
            self._all_logs.extend(proc.output_since(0))
            proc.kill()
            raise
        self._process = proc

    def stop(self) -> None:
        with self._lock:
            if self._process is not None:
                self._all_logs.extend(self._process.output_since(0))
                self._process.kill()
                self._process = None

    # ------------------------------------------------------------------------------ addresses

    def get_address(self) -> str:
        return "127.0.0.1"

    def get_endpoint_from_executor(self) -> str:
        # The function runs on the same host as LocalStack's gateway.
        return "127.0.0.1"

    def get_runtime_endpoint(self) -> str:
        with self._lock:
            if self._process is not None:
                return f"http://{self._process.api.address}"
        return "http://127.0.0.1"

    def get_logs(self) -> str:
        with self._lock:
            current = self._process.output_since(0) if self._process else []
        return "\n".join(self._all_logs + current)

    # ------------------------------------------------------------------------------- invoke

    def invoke(self, payload: dict[str, str]) -> InvocationResult:
        request_id = payload["invoke-id"]
        timeout_s = float(self.function_version.config.timeout)
        with self._lock:
            if self._process is None or not self._process.alive():
                # The previous process timed out or exited: start a fresh one (a new sandbox).
                if self._process is not None:
                    self._process.kill()
                self._spawn()
            proc = self._process
        mark = proc.mark()
        started = time.monotonic()
        inv = Invocation(
            request_id=request_id,
            payload=(payload.get("payload") or "").encode("utf-8"),
            invoked_function_arn=payload["invoked-function-arn"],
            trace_id=payload.get("trace-id") or "",
            deadline_ms=deadline_ms(timeout_s),
        )
        future = proc.api.submit(inv)
        version = self.function_version.id.qualifier
        result: Result | None = None
        failure: str | None = None
        # Poll so that a process that dies mid-invocation is noticed without waiting out the timeout.
        while True:
            remaining = timeout_s - (time.monotonic() - started)
            if remaining <= 0:
                failure = "timeout"
                break
            try:
                result = future.result(timeout=min(0.05, remaining))
                break
            except FutureTimeout:
                proc.memory.sample()
                if not proc.alive():
                    failure = "exit"
                    break
        duration_ms = (time.monotonic() - started) * 1000
        # A process that exited is reaped by now: its pid may be another's, so keep what was seen.
        max_memory_kb = proc.memory.sample() if proc.alive() else proc.memory.kb
        init_ms = proc.init.take(proc.api.ready_at)
        lines = proc.output_since(mark)
        if failure is not None:
            proc.api.forget(request_id)
            with self._lock:
                self._all_logs.extend(proc.output_since(0))
                proc.kill()
                self._process = None
            if failure == "timeout":
                ts = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
                msg = f"{ts} {request_id} Task timed out after {timeout_s:.2f} seconds"
                lines.append(msg)
                result = Result(json.dumps({"errorType": "Sandbox.Timedout", "errorMessage": msg}).encode(), True)
            else:
                msg = f"RequestId: {request_id} Error: Runtime exited with error: exit status {proc.proc.returncode}"
                lines.append(msg)
                result = Result(json.dumps({"errorType": "Runtime.ExitError", "errorMessage": msg}).encode(), True)
        assert result is not None
        logs = (
            [f"START RequestId: {request_id} Version: {version}"]
            + lines
            + [
                f"END RequestId: {request_id}",
                report.line(request_id, duration_ms, self.function_version.config.memory_size, max_memory_kb, init_ms),
            ]
        )
        return InvocationResult(request_id=request_id, payload=result.payload, is_error=result.is_error, logs="\n".join(logs) + "\n")


class HostRuntimeExecutorPlugin(RuntimeExecutorPlugin):
    name = "enitrunk-host"

    def load(self, *args, **kwargs):
        return HostRuntimeExecutor

