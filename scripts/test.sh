#!/usr/bin/env bash
# Everything `make test` (and CI, through .ci/run) checks, from a clean clone.
set -euo pipefail
cd "$(dirname "$0")/.."
started=$(date +%s)
./scripts/bootstrap.sh
.venv/bin/python -m bot setup

echo "==> Lint (ruff, mypy)"
.venv/bin/ruff check bot actions tests scripts
.venv/bin/mypy

echo "==> Validate Rasa data"
.venv/bin/rasa data validate --fail-on-warnings --quiet

./scripts/test-deps.sh

echo "==> pytest"
.venv/bin/python -m pytest -q tests

# --e2e: each user message goes through NLU too (intent and entities are checked).
echo "==> Rasa end-to-end test conversations (tests/test_stories.yml)"
.venv/bin/rasa test core --model models/metastatic-faq.tar.gz --stories tests/test_stories.yml \
  --out results/stories --e2e --fail-on-prediction-errors --no-plot

echo "==> All checks passed in $(( $(date +%s) - started )) s"
