#!/usr/bin/env bash
# Makes out/ort-venv: a Python virtual environment with onnxruntime and numpy from PyPI, which
# the tests use to check the ONNX files Mote writes (crates/mote-cli/tests/onnxruntime.rs).
# Idempotent: an existing working environment is kept. Prints the interpreter's path on success.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=out/ort-venv
py="$venv/bin/python"
if ! "$py" -c "import onnxruntime, numpy" >/dev/null 2>&1; then
  rm -rf "$venv"
  python3 -m venv "$venv" >&2
  "$py" -m pip install --quiet --disable-pip-version-check "onnxruntime==1.32.0" "numpy>=2,<3" >&2
  "$py" -c "import onnxruntime, numpy" >&2
fi
echo "$PWD/$py"
