#!/usr/bin/env bash
# Set up what the tests need, then run the whole suite offline (lint first). Arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --dev
export HF_HUB_OFFLINE=1 GRADIO_ANALYTICS_ENABLED=False
.venv/bin/python -m ruff check .
exec .venv/bin/python -m pytest "$@"
