#!/usr/bin/env bash
# What the browser tests need beyond .venv: Debian's Chromium (no browser download)
# and axe-core from the npm registry. Installed here because CI starts clean;
# if anything is still missing, the widget tests fail rather than skip.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v chromium >/dev/null 2>&1; then
  echo "==> Installing Debian's Chromium for the widget tests (apt-get)"
  if [ "$(id -u)" -ne 0 ]; then
    echo "Chromium is missing and this user cannot apt-get install it: run 'sudo apt-get install chromium', then make test again." >&2
    exit 1
  fi
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium
fi

if ! command -v npm >/dev/null 2>&1; then
  echo "==> Installing Node.js and npm for axe-core (apt-get)"
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q nodejs npm
fi
lock_hash=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ "$(cat node_modules/.lock.sha256 2>/dev/null)" != "$lock_hash" ]; then
  echo "==> Installing axe-core from the npm registry (npm ci)"
  npm ci --no-audit --no-fund --silent
  echo "$lock_hash" > node_modules/.lock.sha256
fi
