#!/bin/sh
# Boot hook of the official image: install the enitrunk extension (no dependencies of its own)
# into LocalStack's venv, so its entry points are discovered when the runtime starts.
set -e
# A copy: the build writes its metadata next to pyproject.toml, and the mounts are read-only.
cp -r /opt/enitrunk-localstack /tmp/enitrunk-localstack
/opt/code/localstack/.venv/bin/python -m pip install --no-deps --quiet /tmp/enitrunk-localstack
