# The two commands: `make run` (talk to the bot) and `make test` (check everything).
# Both set up the machine from nothing: .venv, dependencies, spaCy pipeline,
# knowledge base and Rasa model, each step skipped when already up to date.
# `make test-fast` is the quick check while editing; `make help` lists every target.
.PHONY: run test test-fast help setup evaluate actions cluster cluster-stop purge bench soak lint clean

PY := .venv/bin/python
RUFF := .venv/bin/ruff check bot actions tests scripts
# Types on bot/ and actions/ ([tool.mypy] in pyproject.toml).
MYPY := .venv/bin/mypy

run: ## Set up everything, start the bot (action + Rasa server) and print where to talk to it (default)
	@./scripts/bootstrap.sh
	@$(PY) -m bot run

test: ## Set up everything and run every check: lint, data, all tests, story tests (as CI does)
	@./scripts/test.sh

# The tests marked `system` (real servers, Chromium, the cluster: pyproject.toml,
# tests/conftest.py) are left out. The model tests (tests/test_nlu_quality.py,
# tests/test_safety_eval.py, ...) load the trained model in-process, so setup runs
# first as for `make test`: a few seconds when up to date, a retrain (minutes) after
# a change to the training data (config.yml, domain.yml, data/, bot/nlp/).
test-fast: setup ## Lint and the tests that need no server, browser or cluster (pytest -m "not system")
	@echo "==> Lint (ruff, mypy)"
	@$(RUFF)
	@$(MYPY)
	@echo "==> pytest -m 'not system' (the system tests run in make test)"
	@$(PY) -m pytest -q -m "not system" tests

help: ## List the targets with what each does
	@echo "Usage: make [target]   (no target: make run)"
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %-13s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

setup: ## Create .venv, install dependencies, build the spaCy pipeline, load the knowledge base, train if needed
	@./scripts/bootstrap.sh
	@$(PY) -m bot setup

# NLU quality: the safety sets (confusion tables, results/safety/confusion-model.png),
# the real-world and held-out questions' four outcomes on the running bot
# (results/understanding/<set>.png) and 5-fold cross-validation.
evaluate: setup ## NLU quality: safety sets, real-world and held-out questions, cross-validation (results/)
	@./scripts/evaluate.sh

# The action server alone, for `python -m bot shell` in another terminal.
actions: setup ## Start the action server alone (for `python -m bot shell` in another terminal)
	@BOT_ENV=$${BOT_ENV:-development} $(PY) -m bot action-server

# The production topology on loopback: PostgreSQL, Redis, 2 Rasa servers,
# 2 action servers and nginx in front (Debian's packages, installed if missing).
cluster: ## Start the production topology on loopback: PostgreSQL, Redis, 2+2 servers, nginx
	@./scripts/bootstrap.sh
	@./scripts/cluster.sh start

cluster-stop: ## Stop what `make cluster` started
	@./scripts/cluster.sh stop

# Delete conversations and insights older than RETENTION_DAYS (default 90).
purge: ## Delete conversations and insights older than RETENTION_DAYS (default 90)
	@./scripts/bootstrap.sh
	@$(PY) -m bot purge

# Load: p50/p95/p99 latency and messages/s at 1, 8 and 32 users, peak memory and
# start to first answer, for this bot and, in the same run, `rasa init`'s starter
# bot. Targets are reported, not asserted. BENCH_DURATION=30 seconds per level.
bench: setup ## Load test: latency, messages/s, memory and start-up, against `rasa init`'s bot
	@$(PY) scripts/bench.py

# 10,000 messages: no 5xx, no lost events, memory flat within 10% (fails if not).
soak: setup ## 10,000 messages: no 5xx, no lost events, memory flat within 10%
	@$(PY) scripts/soak.py

lint: ## Ruff on bot, actions, tests and scripts; mypy on bot and actions
	@$(RUFF)
	@$(MYPY)

clean: ## Delete var/, models/, results/ and .pytest_cache
	rm -rf var models results .pytest_cache
