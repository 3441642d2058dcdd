#!/usr/bin/env bash
# Everything `make test` (and CI, through .ci/run) checks, from a clean clone.
set -euo pipefail
cd "$(dirname "$0")/.."
started=$(date +%s)
# Each step's heading says how long the run has taken so far (the closing notes report them).
step() { echo "==> $1 (at $(( $(date +%s) - started )) s)"; }
./scripts/bootstrap.sh

# Lint, data validation and the browser tests' dependencies need neither the model nor each
# other: they run beside the set-up (training is minutes of CPU) and report when it is done.
# The topics' intents and rules are written first, as set-up would, for the validation.
.venv/bin/python -m bot topics
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
{
  .venv/bin/ruff check bot actions tests scripts && .venv/bin/mypy \
    && echo "==> Validate Rasa data" && .venv/bin/rasa data validate --fail-on-warnings --quiet
} >"$logs/lint" 2>&1 &
lint=$!
./scripts/test-deps.sh >"$logs/deps" 2>&1 &
deps=$!
.venv/bin/python -m bot setup

step "Lint (ruff, mypy) and Rasa data validation"
if ! wait "$lint"; then cat "$logs/lint"; echo "Lint or data validation failed (above)." >&2; exit 1; fi
cat "$logs/lint"
step "Browser test dependencies (Chromium, axe-core)"
if ! wait "$deps"; then cat "$logs/deps"; echo "Installing the browser tests' dependencies failed (above)." >&2; exit 1; fi
cat "$logs/deps"

step "pytest"
.venv/bin/python -m pytest -q --durations=15 tests

# --e2e: each user message goes through NLU too (intent and entities are checked).
step "Rasa end-to-end test conversations (tests/test_stories.yml)"
.venv/bin/rasa test core --model models/metastatic-faq.tar.gz --stories tests/test_stories.yml \
  --out results/stories --e2e --fail-on-prediction-errors --no-plot

echo "==> All checks passed in $(( $(date +%s) - started )) s"
