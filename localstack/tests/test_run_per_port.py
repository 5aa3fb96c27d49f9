"""`localstack/run` keeps its state per port: a LocalStack on another port leaves the first alone.

Regression: with one PID file for all ports, `ENITRUNK_LOCALSTACK_PORT=<other> localstack/run
start` found the first LocalStack's PID, saw the other port unhealthy and "restarted" it, stopping
the first.
"""

import os
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from conftest import ENDPOINT

RUN = Path(__file__).resolve().parents[1] / "run"
WORK = Path(__file__).resolve().parents[2] / ".work" / "localstack"


def run(port, *args, timeout=240):
    env = {**os.environ, "ENITRUNK_LOCALSTACK_PORT": str(port)}
    return subprocess.run([sys.executable, str(RUN), *args], env=env, capture_output=True, text=True, timeout=timeout)


def healthy(port):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/_localstack/health", timeout=2) as r:
            return r.status == 200
    except OSError:
        return False


def pid_of(port):
    return int((WORK / str(port) / "localstack.pid").read_text())


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split(") ", 1)[1][0] != "Z"


def free_port_above(port):
    """The first port above `port` that is free: the second LocalStack sits next to the first."""
    for candidate in range(port + 1, port + 50):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", candidate))
            except OSError:
                continue
            return candidate
    pytest.fail(f"no free port in {port + 1}-{port + 49}")


@pytest.fixture
def first(endpoint):
    port = urllib.parse.urlsplit(ENDPOINT).port
    if not (WORK / str(port) / "localstack.pid").exists():
        pytest.skip(f"the LocalStack at {ENDPOINT} was not started by localstack/run")
    return port, pid_of(port)


def test_second_port_start_status_stop_leave_the_first_running(first):
    port, pid = first
    other = free_port_above(port)
    assert run(other, "status").returncode == 3
    owner = subprocess.Popen(["sleep", "600"])
    try:
        started = run(other, "start", "--owner-pid", str(owner.pid))
        assert started.returncode == 0, started.stdout + started.stderr
        assert healthy(other)
        other_pid = pid_of(other)
        assert other_pid != pid and alive(other_pid)
        for name in ("localstack.log", "filesystem", "tmp", "cache", "config"):
            assert (WORK / str(other) / name).exists(), name

        assert healthy(port) and pid_of(port) == pid and alive(pid)
        assert run(port, "status").returncode == 0
        assert run(other, "status").returncode == 0
        # `start` on the first port finds its own LocalStack running: no restart.
        again = run(port, "start")
        assert again.returncode == 0 and "already running" in again.stdout, again.stdout
        assert pid_of(port) == pid

        stopped = run(other, "stop")
        assert stopped.returncode == 0, stopped.stdout + stopped.stderr
        assert not alive(other_pid) and not healthy(other)
        assert not (WORK / str(other) / "localstack.pid").exists()
        assert healthy(port) and pid_of(port) == pid and alive(pid)
    finally:
        run(other, "stop")
        owner.kill()
        owner.wait()
    # The watcher left for the second LocalStack finds it gone and touches nothing else.
    time.sleep(1.5)
    assert healthy(port) and pid_of(port) == pid and alive(pid)
