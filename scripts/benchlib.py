"""What the bench scripts share: the LocalStack they run against, the pinned awscli, and the
binaries cargo builds. Standard library only."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

AWSCLI_PIN = "awscli==1.46.3"
ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".work" / "bench" / "venv"
AWS = VENV / "bin" / "aws"
ENDPOINT = f"http://127.0.0.1:{os.environ.get('ENITRUNK_LOCALSTACK_PORT', '4566')}"
ENV = dict(
    os.environ,
    AWS_ACCESS_KEY_ID="test",
    AWS_SECRET_ACCESS_KEY="test",
    AWS_DEFAULT_REGION="us-east-1",
    AWS_ENDPOINT_URL=ENDPOINT,
    AWS_PAGER="",
)
# A user's profile or session token would be sent along with the test keys.
for _key in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
    ENV.pop(_key, None)


def log(bench: str, msg: str) -> None:
    print(f"{bench}: {msg}", file=sys.stderr, flush=True)


def healthy() -> bool:
    try:
        with urllib.request.urlopen(f"{ENDPOINT}/_localstack/health", timeout=2) as r:
            return r.status == 200
    except OSError:
        return False


@contextlib.contextmanager
def localstack():
    """LocalStack at ENDPOINT for the block: started through `localstack/run` if it is not
    running, and then stopped again."""
    run = str(ROOT / "localstack" / "run")
    started_here = False
    if not healthy():
        subprocess.run([run, "setup"], check=True)
        subprocess.run([run, "start"], check=True)
        started_here = True
    try:
        yield
    finally:
        if started_here:
            subprocess.run([run, "stop"], check=True)


def cargo_exe(package: str, binary: str) -> str:
    """Builds a binary (dev profile) and returns its path, as cargo reports it (CARGO_TARGET_DIR
    and all)."""
    out = subprocess.run(
        ["cargo", "build", "-p", package, "--bin", binary, "--message-format=json-render-diagnostics"],
        cwd=ROOT, env=ENV, capture_output=True, text=True, check=True,
    ).stdout
    for line in out.splitlines():
        msg = json.loads(line)
        if msg.get("reason") == "compiler-artifact" and msg["target"]["name"] == binary and msg.get("executable"):
            return msg["executable"]
    raise SystemExit(f"cargo did not report the {binary} executable")


def install(venv: Path, exe: Path, pin: str) -> None:
    """`pin` into its own venv, once."""
    if not exe.exists():
        print(f"installing {pin} into {venv}", file=sys.stderr, flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(venv / "bin" / "pip"), "install", "-q", pin], check=True)


def install_awscli() -> None:
    install(VENV, AWS, AWSCLI_PIN)
