"""The managed runtimes the `enitrunk-host` executor runs besides `provided.*`, and what each needs.

A function of `nodejs20.x`, `nodejs22.x`, `nodejs24.x`, `python3.12` or `python3.13` runs as a host
process of that runtime's interpreter with the runtime's handler loop: the project's own for Node.js
(`nodejs/runtime.js`), AWS's `awslambdaric` for Python. The interpreters, `awslambdaric` and the
AWS SDK that Lambda's runtimes include come from `localstack/run setup` (pinned by
`localstack/lambda/`) under `ENITRUNK_LAMBDA_RUNTIMES_DIR` (`.work/localstack/lambda`); a CPython
3.12 or 3.13 is not in any registry this project reaches, so those are looked for on the host.
Nothing here imports LocalStack: tests call it directly.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
NODE_LOOP = HERE / "nodejs" / "runtime.js"


# Lambda's reserved variables; the others a runtime sets may be overridden by the function
# (https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime).
RESERVED = frozenset({"AWS_EXECUTION_ENV", "LAMBDA_RUNTIME_DIR"})
# A function's own PYTHONPATH goes first and the runtime's stays after it: Lambda's Python runtime
# loads its loop and boto3 from its own directories whatever PYTHONPATH says. A function's own
# NODE_PATH or PATH replaces the runtime's, as Lambda's Node.js bootstrap sets NODE_PATH only when
# the function has none.
EXTENDED = frozenset({"PYTHONPATH"})


class RuntimeUnavailable(Exception):
    """This host lacks what a runtime needs; the message names it and how to get it."""


@dataclass(frozen=True)
class ManagedRuntime:
    name: str  # "nodejs22.x"
    language: str  # "nodejs" | "python"
    version: str  # "22" | "3.12"


MANAGED = {
    r.name: r
    for r in (
        ManagedRuntime("nodejs20.x", "nodejs", "20"),
        ManagedRuntime("nodejs22.x", "nodejs", "22"),
        ManagedRuntime("nodejs24.x", "nodejs", "24"),
        ManagedRuntime("python3.12", "python", "3.12"),
        ManagedRuntime("python3.13", "python", "3.13"),
    )
}


def runtimes_dir() -> Path:
    configured = os.environ.get("ENITRUNK_LAMBDA_RUNTIMES_DIR")
    if configured:
        return Path(configured)
    # The extension's own checkout (an editable install): <repo>/localstack/enitrunk_localstack/...
    return HERE.parents[2] / ".work" / "localstack" / "lambda"


def _override_var(runtime: ManagedRuntime) -> str:
    # ENITRUNK_LAMBDA_NODEJS20_X, ENITRUNK_LAMBDA_PYTHON3_12: an interpreter chosen by hand.
    return "ENITRUNK_LAMBDA_" + re.sub(r"[^A-Z0-9]", "_", runtime.name.upper())


def _version_of(binary: Path, language: str) -> str | None:
    probe = ["--version"] if language == "nodejs" else ["-c", "import sys; print('%d.%d' % sys.version_info[:2])"]
    try:
        out = subprocess.run([str(binary), *probe], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if out.returncode != 0:
        return None
    text = out.stdout.strip()
    if language == "nodejs":
        m = re.fullmatch(r"v(\d+)\.\d+\.\d+", text)
        return m.group(1) if m else None
    return text


def _candidates(runtime: ManagedRuntime) -> list[Path]:
    if runtime.language == "nodejs":
        found = [runtimes_dir() / "nodejs" / "node_modules" / f"node{runtime.version}" / "bin" / "node"]
        # The host's own `node` serves too when it is that version (before `run setup`, say).
        on_path = shutil.which("node")
        if on_path:
            found.append(Path(on_path))
        return found
    exe = f"python{runtime.version}"
    found = [Path(p) for p in (shutil.which(exe),) if p]
    found += [Path(d) / exe for d in ("/usr/local/bin", "/usr/bin")]
    # pyenv's shims refuse versions that are not selected; its builds themselves run.
    pyenv = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv") / "versions"
    found += sorted(pyenv.glob(f"{runtime.version}.*/bin/{exe}"), reverse=True)
    return found


@functools.lru_cache(maxsize=None)
def interpreter(name: str) -> Path:
    """The interpreter binary for runtime `name`, checked to be that runtime's version."""
    runtime = MANAGED[name]
    override = os.environ.get(_override_var(runtime))
    candidates = [Path(override)] if override else _candidates(runtime)
    for binary in candidates:
        if binary.is_file() and _version_of(binary, runtime.language) == runtime.version:
            return binary
    looked = ", ".join(str(c) for c in candidates) or "nothing"
    if runtime.language == "nodejs":
        what = f"Node.js {runtime.version}"
        fix = "run `localstack/run setup`"
    else:
        what = f"CPython {runtime.version}"
        fix = f"install CPython {runtime.version} (no package registry this project uses carries one)"
    raise RuntimeUnavailable(
        f"runtime {name} needs {what} on this host and none was found (looked at: {looked}); "
        f"{fix}, or name the interpreter in {_override_var(runtime)}"
    )


def _require_dir(path: Path, what: str) -> Path:
    if not path.is_dir():
        raise RuntimeUnavailable(f"{what} is not installed at {path}; run `localstack/run setup`")
    return path


def command(name: str, handler: str) -> list[str]:
    """The process that runs runtime `name`'s handler loop."""
    runtime = MANAGED[name]
    binary = interpreter(name)
    if runtime.language == "nodejs":
        return [str(binary), str(NODE_LOOP)]
    # As Lambda's Python bootstrap does: awslambdaric with the handler as its argument.
    return [str(binary), "-m", "awslambdaric", handler]


def environment(name: str, task_root: Path) -> dict[str, str]:
    """What Lambda sets for runtime `name` on top of the function's environment
    (https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime)."""
    runtime = MANAGED[name]
    binary = interpreter(name)
    root = runtimes_dir()
    env = {
        "AWS_EXECUTION_ENV": f"AWS_Lambda_{name}",
        # The interpreter first, as /var/lang/bin is on Lambda, so that `node`/`python3` started by
        # the function is its own runtime's.
        "PATH": os.pathsep.join([str(binary.parent), os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin")]),
    }
    if runtime.language == "nodejs":
        sdk = _require_dir(root / "nodejs" / "node_modules" / "@aws-sdk", "the AWS SDK for JavaScript")
        env["NODE_PATH"] = os.pathsep.join([str(sdk.parent), str(NODE_LOOP.parent), str(task_root)])
        env["LAMBDA_RUNTIME_DIR"] = str(NODE_LOOP.parent)
    else:
        ric = _require_dir(root / f"python{runtime.version}" / "runtime", f"awslambdaric for Python {runtime.version}")
        sdk = _require_dir(root / "python" / "sdk", "boto3")
        env["PYTHONPATH"] = os.pathsep.join([str(ric), str(sdk)])
        env["LAMBDA_RUNTIME_DIR"] = str(ric)
    return env
