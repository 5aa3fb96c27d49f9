#!/bin/sh
# Boot hook of the official image: install the enitrunk extension (no dependencies of its own)
# into LocalStack's venv, so its entry points are discovered when the runtime starts.
set -e
cp -r /opt/enitrunk_localstack /tmp/enitrunk_localstack
/opt/code/localstack/.venv/bin/python -m pip install --no-deps --quiet /tmp/enitrunk_localstack
