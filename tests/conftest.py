"""Shared fixtures: a real SQLite knowledge base, the in-process channel tier (tests/stub_rasa.py),
and the real servers for the end-to-end tests (bot/local.py starts them)."""

from __future__ import annotations

import os
import secrets
import socket
import tempfile
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import requests
import yaml
from requests_toolbelt.adapters.source import SourceAddressAdapter
from twilio.request_validator import RequestValidator

from bot import local
from bot.db import get_engine, migrate
from bot.knowledge.loader import load_knowledge_base
from bot.knowledge.repository import KnowledgeBase
from bot.state import shared_state

if TYPE_CHECKING:  # imported by the fixtures that use them: sanic-testing and Rasa's stores load only then
    from rasa.core.channels.channel import InputChannel

    from tests.stub_rasa import ChannelApp, StubRasa

ROOT = Path(__file__).resolve().parent.parent
TWILIO_TOKEN = "test-twilio-token"  # the SMS channel's signing secret in the development bots and in-process
# Tests never touch the developer's database: everything not given its own URL
# (actions built without one, for instance) writes to this throwaway SQLite file.
os.environ["DATABASE_URL"] = f"sqlite:///{Path(tempfile.mkdtemp(prefix='bot-tests-')) / 'bot.db'}"


# Fixtures that start real servers, a browser or the cluster: every test that uses one,
# directly or through another fixture, is marked `system`, which `make test-fast` leaves
# out (-m "not system"). Tests that start servers without a fixture (subprocesses) carry
# `@pytest.mark.system` themselves.
SYSTEM_FIXTURES = frozenset(
    {"servers", "bot", "cluster", "playwright", "browser", "site_browser", "page"}
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
    """A bot started by `start_bot` (bot/local.py), and how a client talks to it on each channel."""

    def __init__(self, bot: local.LocalBot, database: Path, settings: dict[str, str]) -> None:
        # `database`: where the bot's SQLite files are (tmp/bot.db; a DATABASE_URL override may move the KB).
        self.local = bot
        self.process, self.port, self.actions_port, self.log = bot.process, bot.port, bot.actions_port, bot.log
        self.database, self.settings = database, settings

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

    def web_session(self) -> str:
        response = requests.post(f"{self.base}/webhooks/web/session", timeout=10)
        assert response.status_code == 201, response.text
        return response.json()["session"]

    def web(self, session: object, message: str) -> requests.Response:
        body = {"session": session, "message": message}
        return requests.post(f"{self.base}/webhooks/web/webhook", json=body, timeout=60)

    def sms(
        self, phone: str, body: str, message_sid: str | None = None, sign: bool = True, source: str = "127.0.0.1"
    ) -> requests.Response:
        """A text as the provider posts it, signed with TWILIO_AUTH_TOKEN for the URL the bot checks."""
        url = f"{self.base}/webhooks/sms/webhook"
        params = {"From": phone, "To": "+15550000000", "Body": body, "MessageSid": message_sid or new_sid()}
        headers = {}
        if sign:  # production checks against SMS_PUBLIC_URL, the URL the provider calls
            signed_url = self.settings.get("SMS_PUBLIC_URL") or url
            validator = RequestValidator(self.settings["TWILIO_AUTH_TOKEN"])
            headers["X-Twilio-Signature"] = validator.compute_signature(signed_url, params)
        client = requests.Session()
        client.mount("http://", SourceAddressAdapter(source))
        return client.post(url, data=params, headers=headers, timeout=60)


def new_sid() -> str:
    return f"SM{uuid.uuid4().hex}"


def bot_settings(tmp: Path, **overrides: str) -> dict[str, str]:
    """`python -m bot run`'s settings for a test bot: its own SQLite files in `tmp`, as a user runs it."""
    return {
        # make run's mode (generated secrets, REST open); the `bot` fixture runs production.
        "BOT_ENV": "development",
        "DATABASE_URL": f"sqlite:///{tmp / 'bot.db'}",
        "TRACKER_DATABASE_URL": f"sqlite:///{tmp / 'conversations.db'}",
        "REDIS_URL": "",
        "RASA_TOKEN": "",
        "WEB_SESSION_SECRET": "test-secret-not-for-production",
        "WEB_ALLOWED_ORIGINS": "https://www.example.org,http://hospital.test",
        "TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
        "SENDER_ID_SECRET": "test-sender-secret",
        "SMS_RATE_LIMIT": "8",
        # The functional tests send many messages from 127.0.0.1 and one sender at a time;
        # tests/test_limits.py starts its own servers with the limits on.
        "RATE_LIMIT_PER_SENDER": "0",
        "RATE_LIMIT_PER_ADDRESS": "0",
        "SMS_ADDRESS_RATE_LIMIT": "0",
        **overrides,
    }


Launched = tuple[local.LocalBot, Path, dict[str, str]]  # the bot, its folder, its settings


def launched(tmp: Path, settings: dict[str, str]) -> Launched:
    """`python -m bot run` started with these settings, its log in `tmp`; not yet ready."""
    return local.launch(settings, tmp / "servers.log"), tmp, settings


def ready(bot: local.LocalBot, tmp: Path, settings: dict[str, str]) -> Servers:
    """The launched bot once it answers; the test fails with the log's end if it does not."""
    try:
        local.wait_until_ready(bot)
    except RuntimeError as error:
        pytest.fail(str(error))
    return Servers(bot, tmp / "bot.db", settings)


def start_bot(tmp: Path, **overrides: str) -> Servers:
    """`python -m bot run` on free ports with its own SQLite files, as a user runs it."""
    return ready(*launched(tmp, bot_settings(tmp, **overrides)))


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
    assert servers.local.stop(timeout=30) == 0, servers.log.read_text()[-3000:]
    for busy in (servers.port, servers.actions_port):
        with socket.socket() as s:
            assert s.connect_ex(("127.0.0.1", busy)) != 0, f"port {busy} still in use after SIGTERM"


def production_bot_settings(tmp: Path) -> dict[str, str]:
    """The `bot` fixture's settings: production, its care team's line open only on a day that is
    not today, and the knowledge base's database in its own folder (kb/)."""
    (tmp / "kb").mkdir(exist_ok=True)
    today = datetime.now(timezone.utc).weekday()
    other = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")[(today + 3) % 7]
    production = production_settings(
        DATABASE_URL=f"sqlite:///{tmp / 'kb' / 'bot.db'}",
        CARE_TEAM_HOURS=f"{other} 10:00-11:00",
        CARE_TEAM_TIMEZONE="UTC",
        CARE_TEAM_URGENT_PHONE="555-010-2424",
    )
    return bot_settings(tmp, **production)


# The session's two shared bots, by fixture name. Each takes ~20 s to load the model: they are
# launched as soon as the tests are collected, and load while the tests before them run.
SHARED_BOTS: dict[str, Callable[[Path], dict[str, str]]] = {"servers": bot_settings, "bot": production_bot_settings}
_launched: dict[str, Launched] = {}


def pytest_collection_finish(session: pytest.Session) -> None:
    if session.config.option.collectonly:
        return
    used = {name for item in session.items for name in getattr(item, "fixturenames", ())}
    factory: pytest.TempPathFactory = session.config._tmp_path_factory  # set by pytest's tmp_path plugin
    for name, settings_for in SHARED_BOTS.items():
        if name in used:
            tmp = factory.mktemp(name)
            _launched[name] = launched(tmp, settings_for(tmp))


def pytest_sessionfinish(session: pytest.Session) -> None:
    """A launched bot that no test took (an interrupted run) is stopped too."""
    for bot, _, _ in _launched.values():
        bot.stop(timeout=10)
    _launched.clear()


def shared_bot(name: str, tmp_path_factory: pytest.TempPathFactory) -> Servers:
    """The bot launched at collection, or (a run that did not collect it) one launched now."""
    if name not in _launched:
        tmp = tmp_path_factory.mktemp(name)
        _launched[name] = launched(tmp, SHARED_BOTS[name](tmp))
    return ready(*_launched.pop(name))


@pytest.fixture(scope="session")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    """The bot as `make run` runs it (development), for the end-to-end tests of each channel."""
    servers = shared_bot("servers", tmp_path_factory)
    yield servers
    stop_bot(servers)


@pytest.fixture(scope="session")
def bot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    """The bot as a deployment runs it (BOT_ENV=production, strong secrets, REST behind a token,
    the HTTP API on with RASA_TOKEN), shared by tests/test_security.py, tests/test_faults.py and
    tests/test_conversation.py: one model load instead of three (production_bot_settings).

    The fault tests kill and restart its servers: `python -m bot run` starts them again, and
    each test waits until answers resume; they also take its knowledge base (kb/) away and back.
    """
    servers = shared_bot("bot", tmp_path_factory)
    yield servers
    stop_bot(servers)


# The in-process tier (tests/stub_rasa.py): settings every channel test starts from.
CHANNEL_SETTINGS = {
    "BOT_ENV": "development",
    "REDIS_URL": "",
    "WEB_SESSION_SECRET": "in-process-web-secret-0123456789abcdef",
    "WEB_ALLOWED_ORIGINS": "https://www.example.org,http://hospital.test",
    "TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
    "SENDER_ID_SECRET": "in-process-sender-secret-0123456789abcdef",
    "SMS_RATE_LIMIT": "8",
    "RATE_LIMIT_PER_SENDER": "0",
    "RATE_LIMIT_PER_ADDRESS": "0",
    "SMS_ADDRESS_RATE_LIMIT": "0",
    "REPLY_TIMEOUT_SECONDS": "1",
}
CHANNEL_UNSET = ("REST_TOKEN", "SMS_PUBLIC_URL", "MAX_MESSAGE_CHARS", "WEB_SESSION_MAX_AGE", "CARE_TEAM_HOURS")


@pytest.fixture
def rasa(monkeypatch: pytest.MonkeyPatch, kb_url: str, tmp_path: Path) -> Iterator[StubRasa]:
    """Rasa's stand-in behind the channels, with the in-process settings and fresh shared state
    (rate-limit counters, offered buttons, SMS memory). Override settings with monkeypatch.setenv
    before opening a channel."""
    from tests.stub_rasa import StubRasa, conversation_store

    for name, value in CHANNEL_SETTINGS.items():
        monkeypatch.setenv(name, value)
    for name in CHANNEL_UNSET:
        monkeypatch.delenv(name, raising=False)
    shared_state.cache_clear()
    yield StubRasa(conversation_store(tmp_path))
    shared_state.cache_clear()


@pytest.fixture
def open_channel(rasa: StubRasa) -> Iterator[Callable[[InputChannel], ChannelApp]]:
    """open_channel(SmsInput()) -> that channel's blueprint on a bare Sanic app, talking to `rasa`."""
    from tests.stub_rasa import ChannelApp

    opened: list[ChannelApp] = []

    def open_(channel: InputChannel) -> ChannelApp:
        opened.append(ChannelApp(channel, rasa))
        return opened[-1]

    yield open_
    for app in opened:
        app.close()
