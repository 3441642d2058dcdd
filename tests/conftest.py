"""Shared fixtures: a real SQLite knowledge base, and the real servers for end-to-end tests."""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import yaml

from bot import local
from bot.db import get_engine, migrate
from bot.knowledge.loader import load_knowledge_base
from bot.knowledge.repository import KnowledgeBase

ROOT = Path(__file__).resolve().parent.parent
# Tests never touch the developer's database: everything not given its own URL
# (actions built without one, for instance) writes to this throwaway SQLite file.
os.environ["DATABASE_URL"] = f"sqlite:///{Path(tempfile.mkdtemp(prefix='bot-tests-')) / 'bot.db'}"


# Fixtures that start real servers, a browser or the cluster: every test that uses one,
# directly or through another fixture, is marked `system`, which `make test-fast` leaves
# out (-m "not system"). Tests that start servers without a fixture (subprocesses) carry
# `@pytest.mark.system` themselves.
SYSTEM_FIXTURES = frozenset(
    {"servers", "bot", "closed_bot", "cluster", "playwright", "browser", "site_browser", "page"}
)


@pytest.hookimpl(tryfirst=True)  # before -m deselects by marker
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if SYSTEM_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.system)


@pytest.fixture(scope="session")
def kb_url() -> str:
    url = os.environ["DATABASE_URL"]
    migrate(url)
    load_knowledge_base(get_engine(url))
    return url


@pytest.fixture(scope="session")
def kb(kb_url: str) -> KnowledgeBase:
    return KnowledgeBase(kb_url)


@pytest.fixture(scope="session")
def agent():
    """The trained Rasa model, loaded once for every test that parses messages in-process."""
    from rasa.core.agent import Agent

    from bot.cli import MODEL_PATH

    return Agent.load(str(MODEL_PATH))


@pytest.fixture(scope="session")
def domain() -> dict:
    return yaml.safe_load((ROOT / "domain.yml").read_text())


@pytest.fixture(scope="session")
def ask_intents(domain: dict) -> list[str]:
    return [i for i in domain["intents"] if i.startswith("ask_") and i not in {"ask_source", "ask_capabilities"}]


class Servers:
    def __init__(
        self, process: subprocess.Popen, port: int, actions_port: int, log: Path, database: Path, settings: dict
    ) -> None:
        self.process, self.port, self.actions_port = process, port, actions_port
        self.log, self.database, self.settings = log, database, settings

    @property
    def rest_headers(self) -> dict[str, str]:
        token = self.settings.get("REST_TOKEN")
        return {"Authorization": f"Bearer {token}"} if token else {}

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def webhook(self) -> str:
        return f"http://127.0.0.1:{self.port}/webhooks/rest/webhook"

    def say(self, sender: str, message: str) -> list[dict]:
        body = {"sender": sender, "message": message}
        response = requests.post(self.webhook, json=body, headers=self.rest_headers, timeout=30)
        response.raise_for_status()
        return response.json()


def start_bot(tmp: Path, **overrides: str) -> Servers:
    """`python -m bot run` on free ports with its own SQLite files, as a user runs it."""
    settings = {
        # make run's mode (generated secrets, REST open); tests/test_security.py runs production.
        "BOT_ENV": "development",
        "DATABASE_URL": f"sqlite:///{tmp / 'bot.db'}",
        "TRACKER_DATABASE_URL": f"sqlite:///{tmp / 'conversations.db'}",
        "REDIS_URL": "",
        "RASA_TOKEN": "",
        "WEB_SESSION_SECRET": "test-secret-not-for-production",
        "WEB_ALLOWED_ORIGINS": "https://www.example.org,http://hospital.test",
        "TWILIO_AUTH_TOKEN": "test-twilio-token",
        "SENDER_ID_SECRET": "test-sender-secret",
        "SMS_RATE_LIMIT": "8",
        # The functional tests send many messages from 127.0.0.1 and one sender at a time;
        # tests/test_limits.py starts its own servers with the limits on.
        "RATE_LIMIT_PER_SENDER": "0",
        "RATE_LIMIT_PER_ADDRESS": "0",
        "SMS_ADDRESS_RATE_LIMIT": "0",
        **overrides,
    }
    try:
        bot = local.start(tmp, settings)
    except RuntimeError as error:
        pytest.fail(str(error))
    return Servers(bot.process, bot.port, bot.actions_port, bot.log, tmp / "bot.db", settings)


def production_settings(**overrides: str) -> dict[str, str]:
    """What a deployment sets: BOT_ENV=production and a strong secret for everything."""
    return {
        "BOT_ENV": "production",
        "LOG_LEVEL": "INFO",
        **{
            name: secrets.token_hex(32)
            for name in ("WEB_SESSION_SECRET", "TWILIO_AUTH_TOKEN", "SENDER_ID_SECRET", "ACTION_SERVER_TOKEN")
        },
        "REST_TOKEN": secrets.token_hex(32),
        "RASA_TOKEN": secrets.token_hex(32),
        "SMS_PUBLIC_URL": "https://bot.test/webhooks/sms/webhook",
        **overrides,
    }


def stop_bot(servers: Servers) -> None:
    """SIGTERM (as Ctrl-C or a service manager sends it) stops both servers cleanly."""
    servers.process.send_signal(signal.SIGTERM)
    assert servers.process.wait(timeout=30) == 0, servers.log.read_text()[-3000:]
    for busy in (servers.port, servers.actions_port):
        with socket.socket() as s:
            assert s.connect_ex(("127.0.0.1", busy)) != 0, f"port {busy} still in use after SIGTERM"


@pytest.fixture(scope="session")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    servers = start_bot(tmp_path_factory.mktemp("servers"))
    yield servers
    stop_bot(servers)
