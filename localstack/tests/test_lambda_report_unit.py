"""The REPORT line of the host executor (`lambda_host/report.py`) without LocalStack: Lambda's
fields and format, the peak memory of a process tree from `/proc`, and the init duration from
process start to the runtime's first `/next` (`RuntimeApiServer.ready_at`)."""

import subprocess
import sys
import time
import urllib.request

import pytest

from enitrunk_localstack.lambda_host import report
from enitrunk_localstack.lambda_host.runtime_api import PREFIX, Invocation, RuntimeApiServer, deadline_ms

linux = pytest.mark.skipif(not report.PROC.joinpath("self", "status").exists(), reason="needs Linux /proc")


def fields(line):
    head, *rest = line.rstrip("\t").split("\t")
    return head, dict(f.split(": ", 1) for f in rest)


def test_the_line_has_lambdas_fields_in_lambdas_order():
    line = report.line("req-1", 2.4112, 128, 18 * 1024 + 1, 130.519)
    assert line == ("REPORT RequestId: req-1\tDuration: 2.41 ms\tBilled Duration: 3 ms\tMemory Size: 128 MB\t"
                    "Max Memory Used: 19 MB\tInit Duration: 130.52 ms\t")


def test_init_duration_only_when_given_and_billed_duration_rounds_up():
    head, f = fields(report.line("req-2", 7.0, 256, 40 * 1024))
    assert head == "REPORT RequestId: req-2"
    assert f == {"Duration": "7.00 ms", "Billed Duration": "7 ms", "Memory Size": "256 MB", "Max Memory Used": "40 MB"}
    assert fields(report.line("req-3", 0.2, 128, None))[1]["Billed Duration"] == "1 ms"
    assert "Max Memory Used" not in fields(report.line("req-3", 0.2, 128, None))[1]


def test_the_init_clock_reports_once_per_environment():
    clock = report.InitClock()
    assert clock.take(None) is None  # not ready yet: nothing to report, and nothing used up
    first = clock.take(clock.started + 0.25)
    assert first == pytest.approx(250)
    assert clock.take(clock.started + 0.5) is None


@linux
def test_peak_memory_is_the_high_water_mark_of_the_process_and_its_children():
    # A parent that starts a child holding 64 MiB, lets it exit, and waits: the parent's own VmHWM
    # stays small, the tree's peak (sampled while the child lives) includes the child's.
    script = (
        "import subprocess, sys, time\n"
        "child = subprocess.Popen([sys.executable, '-c', "
        "\"import sys, time; b = b'x' * (64 << 20); print('held', flush=True); time.sleep(1.5)\"], stdout=sys.stdout)\n"
        "child.wait(); print('done', flush=True); time.sleep(30)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        peak = report.PeakMemory(proc.pid)
        assert proc.stdout.readline().strip() == "held"
        during = peak.sample()
        assert during >= 64 * 1024
        assert proc.stdout.readline().strip() == "done"
        own = report.tree_peak_kb(proc.pid)
        assert own is not None and own < 64 * 1024  # the child is gone: only the parent is left
        assert peak.sample() == during  # the peak is kept
    finally:
        proc.kill()
        proc.wait()
    assert report.tree_peak_kb(proc.pid) is None  # reaped: nothing to read


@linux
def test_a_process_that_is_not_there_has_no_peak():
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    assert report.tree_peak_kb(proc.pid) is None
    assert report.PeakMemory(proc.pid).sample() == 0


def test_ready_at_is_the_time_of_the_first_next():
    api = RuntimeApiServer()
    api.start()
    try:
        assert api.ready_at is None
        api.submit(Invocation("req-1", b"{}", "arn:aws:lambda:us-east-1:000000000000:function:fn", "", deadline_ms(3)))
        before = time.monotonic()
        with urllib.request.urlopen(f"http://{api.address}{PREFIX}/invocation/next", timeout=5) as r:
            assert r.headers["Lambda-Runtime-Aws-Request-Id"] == "req-1"
        first = api.ready_at
        assert first is not None and before <= first <= time.monotonic()
        api.submit(Invocation("req-2", b"{}", "arn:aws:lambda:us-east-1:000000000000:function:fn", "", deadline_ms(3)))
        with urllib.request.urlopen(f"http://{api.address}{PREFIX}/invocation/next", timeout=5):
            pass
        assert api.ready_at == first  # a later /next does not move it
    finally:
        api.shutdown()
