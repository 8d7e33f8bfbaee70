#!/usr/bin/env bash
# The whole test suite, from a fresh clone on Debian as root: installs what it needs (Python
# packages in .venv; sekmet-fhir in its own venv under .tools/, done by the test harness),
# starts the real servers the integration tests use, and runs pytest on both cores.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh test
exec .venv/bin/python -m pytest -n 2 "$@"
