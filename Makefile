# The two commands: `make run` (talk to the bot) and `make test` (check everything).
# Both set up the machine from nothing: .venv, dependencies, spaCy pipeline,
# knowledge base and Rasa model, each step skipped when already up to date.
.PHONY: run test setup evaluate actions cluster cluster-stop purge bench soak lint clean

PY := .venv/bin/python

run:
	@./scripts/bootstrap.sh
	@$(PY) -m bot run

test:
	@./scripts/test.sh

setup:
	@./scripts/bootstrap.sh
	@$(PY) -m bot setup

# NLU quality: the safety sets (confusion tables, results/safety/confusion-model.png),
# the real-world and held-out questions' four outcomes on the running bot
# (results/understanding/<set>.png) and 5-fold cross-validation.
evaluate: setup
	@./scripts/evaluate.sh

# The action server alone, for `python -m bot shell` in another terminal.
actions: setup
	@BOT_ENV=$${BOT_ENV:-development} $(PY) -m bot action-server

# The production topology on loopback: PostgreSQL, Redis, 2 Rasa servers,
# 2 action servers and nginx in front (Debian's packages, installed if missing).
cluster:
	@./scripts/bootstrap.sh
	@./scripts/cluster.sh start

cluster-stop:
	@./scripts/cluster.sh stop

# Delete conversations and insights older than RETENTION_DAYS (default 90).
purge:
	@./scripts/bootstrap.sh
	@$(PY) -m bot purge

# Load: p50/p95/p99 latency and messages/s at 1, 8 and 32 users, peak memory and
# start to first answer, for this bot and, in the same run, `rasa init`'s starter
# bot. Targets are reported, not asserted. BENCH_DURATION=30 seconds per level.
bench: setup
	@$(PY) scripts/bench.py

# 10,000 messages: no 5xx, no lost events, memory flat within 10% (fails if not).
soak: setup
	@$(PY) scripts/soak.py

lint:
	@.venv/bin/ruff check bot actions tests scripts

clean:
	rm -rf var models results .pytest_cache
