#!/usr/bin/env bash
# Run emotag's tests. Makes (first time) or updates a development environment in .venv: emotag editable, with
# what training and the tests need beside it (TensorFlow, Dask, pytest, ruff, build), and ExifTool when missing;
# then runs pytest there. Arguments go to pytest: ./test.sh -q -m "not slow" runs the fast, in-process tests only.
set -euo pipefail
cd "$(dirname "$0")"
./install.sh --dev
exec .venv/bin/python -m pytest "$@"
