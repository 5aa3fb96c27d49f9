"""A venv under `.work/` holding pinned PyPI packages, created on first use: the shared part of
`scripts/cfn-lint` and `scripts/cargo-lambda`. Standard library only."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def ensure_venv_module(probe: Path, log) -> None:
    """`python3 -m venv` needs ensurepip, which Debian ships separately in python3-venv."""
    shutil.rmtree(probe, ignore_errors=True)
    ok = subprocess.run([sys.executable, "-m", "venv", str(probe)], capture_output=True).returncode == 0
    shutil.rmtree(probe, ignore_errors=True)
    if ok:
        return
    if shutil.which("apt-get") is None:
        log("python3 -m venv fails and apt-get is missing: install the venv module for your Python")
        sys.exit(1)
    log("python3 -m venv does not work here; installing python3-venv with apt")
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    subprocess.run(sudo + ["apt-get", "update", "-q"], check=True)
    subprocess.run(sudo + ["apt-get", "install", "-y", "-q", "python3-venv"], check=True)


def ensure(name: str, pins: list[str], log) -> Path:
    """The venv `.work/<name>/venv` with exactly `pins` installed (reinstalled when they change)."""
    venv = ROOT / ".work" / name / "venv"
    stamp = venv / ".enitrunk-pin"
    wanted = " ".join(pins)
    if stamp.exists() and stamp.read_text().strip() == wanted:
        return venv
    venv.parent.mkdir(parents=True, exist_ok=True)
    if not (venv / "bin" / "python").exists():
        ensure_venv_module(venv.parent / "venv-probe", log)
        log(f"creating venv {venv}")
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    log(f"installing {wanted}")
    pip = [str(venv / "bin" / "python"), "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run(pip + ["install", *pins], check=True)
    stamp.write_text(wanted + "\n")
    return venv
