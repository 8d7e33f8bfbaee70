#!/usr/bin/env bash
# The whole test suite, from a fresh clone on Debian as root: installs what it needs (Debian's
# mariadb-server, postgresql and chromium for the integration tests; Python packages in .venv; sekmet-fhir in
# its own venv under .tools/, done by the test harness), the harness starts the real servers
# (sekmet-fhir, a private MariaDB) itself, and pytest runs on both cores.
set -euo pipefail
cd "$(dirname "$0")/.."
missing=()
command -v mariadbd >/dev/null 2>&1 || command -v mysqld >/dev/null 2>&1 || missing+=(mariadb-server)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing ${missing[*]} (Debian) ..." >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
scripts/bootstrap.sh test
exec .venv/bin/python -m pytest -n 2 "$@"
