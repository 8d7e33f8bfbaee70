#!/usr/bin/env bash
# Install emr-migrate into .venv and migrate the bundled sample practice (sample_data/synthea)
# with the Synthea pack into NDJSON files under out/ndjson (run.json and quarantine.ndjson in out/).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
chmod 600 sample_data/migration.yaml  # it holds the id namespace; git checks it out 0644
.venv/bin/emr-migrate run -c sample_data/migration.yaml "$@"
echo "Output: $(pwd)/out/ndjson (one <ResourceType>.ndjson per type), $(pwd)/out/run.json"
