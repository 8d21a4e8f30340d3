#!/usr/bin/env bash
# Quick start: set everything up, then start the app on the bundled default checkpoint.
# Extra arguments go to app.py (e.g. --host 0.0.0.0 --port 7860).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python app.py "$@"
