# One image for every process of the deployment (see docs/deploy.md):
#
#   python -m bot rasa-server                        the Rasa server (default command), port BOT_PORT (5005)
#   python -m bot action-server                      the action server, port ACTIONS_PORT (5055)
#   sh -c "python -m bot migrate && python -m bot load-kb"
#                                                    once per release: database schema + the article
#
# The image carries the spaCy pipeline (var/nlp/) and the trained Rasa model
# (models/metastatic-faq.tar.gz), both built here from the sources, so every
# replica serves exactly the same model. It holds no secrets and no database:
# DATABASE_URL, TRACKER_DATABASE_URL, REDIS_URL, WEB_SESSION_SECRET, ... come from
# the environment at run time (deploy/compose.yaml, deploy/k8s/).
#
#   docker build -t metastatic-faq .          (about 10 minutes: dependencies, then training)

# Debian 12, like the machines `make cluster` is tested on. Rasa 3.6 needs Python 3.10.
FROM python:3.10-slim-bookworm

# RASA_TELEMETRY_ENABLED: Rasa would otherwise ask to send usage data (and try the
# network) on first use. RASA_CACHE_DIRECTORY: `rasa train` keeps its cache there
# instead of /app/.rasa (deleted after training). PYTHONPATH: Rasa imports the
# project's components (bot.nlp.*), channels (bot.channels.*) and actions from /app.
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    RASA_TELEMETRY_ENABLED=false \
    RASA_CACHE_DIRECTORY=/tmp/rasa-cache \
    PYTHONPATH=/app \
    BOT_ENV=production \
    BOT_HOST=0.0.0.0 \
    ACTIONS_HOST=0.0.0.0
# BOT_ENV=production: the servers refuse to start without real secrets (docs/security.md).
# 0.0.0.0: a container is reached on its own interface; the network policies decide who may.

# tini is PID 1: it forwards SIGTERM to the whole process group (`-g`), so the
# Rasa or action server started by `python -m bot` stops cleanly on `docker stop`
# or a Kubernetes rollout, and it reaps zombie processes.
RUN apt-get update \
    && apt-get install -y --no-install-recommends tini \
    && rm -rf /var/lib/apt/lists/*

# The same pinned dependency tree as scripts/bootstrap.sh installs into .venv.
# Copied alone first so that a code change does not reinstall the dependencies.
COPY requirements.lock /tmp/requirements.lock
RUN python -m pip install --upgrade "pip==24.0" \
    && python -m pip install --no-input -r /tmp/requirements.lock \
    && rm /tmp/requirements.lock

# A fixed, unprivileged user (the Kubernetes manifests run as this UID too).
RUN groupadd --system --gid 10001 bot \
    && useradd --system --uid 10001 --gid bot --home-dir /home/bot --create-home --shell /usr/sbin/nologin bot

WORKDIR /app
# The code stays owned by root (read-only for the servers); .dockerignore keeps
# out .venv, var/, models/, results/, tests and any local secrets.
COPY . /app
# Only what the processes write is the bot user's: var/ (spaCy pipeline, and the
# endpoints.yml that `rasa-server` writes from the environment at start) and models/.
RUN mkdir -p /app/var /app/models && chown bot:bot /app/var /app/models

USER bot

# Build the spaCy pipeline and train the Rasa model into the image. With
# BOT_ENV=production nothing writes development secrets; the step still deletes
# var/secrets/ and generated files (so they are in no layer) and the build fails
# if anything secret-looking or any database file remains.
RUN python -m bot build-nlp \
    && python -m bot train \
    && rm -rf /tmp/rasa-cache /app/.rasa /app/var/secrets /app/var/*.db /app/var/endpoints*.yml \
    && test -f /app/models/metastatic-faq.tar.gz \
    && test -d /app/var/nlp \
    && test -z "$(find /app/var /app/models -name 'secrets' -o -name '*.db' -o -name '*.env')"

EXPOSE 5005 5055

ENTRYPOINT ["/usr/bin/tini", "-g", "--"]
CMD ["python", "-m", "bot", "rasa-server"]
