"""bot/rasa/patches.py changes how Rasa works inside, never what it answers.

Each patch is compared with Rasa's own code on the same input: the same result,
the same exception and message. The DIET patches load the trained model twice in
fresh processes, once as Rasa loads it and once with the patches, and both parse
the same patient messages: the intents, their confidences and the entities must
be the same. The guards (versions, BOT_RASA_PATCHES=off) and where the patches
are applied (`python -m bot rasa-server` only) are checked too.

Every test starts and ends with Rasa as it ships (`rasa_as_shipped`): no patch
leaks into other tests.
"""

from __future__ import annotations

import asyncio
import copy
import importlib
import json
import logging
import os
import random
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction
from rasa.shared.core.events import Event, deserialise_events
from rasa.shared.utils.common import all_subclasses
from rasa.utils.endpoints import ClientResponseError, EndpointConfig
from rasa.utils.tensorflow.models import RasaModel
from rasa_sdk import events as sdk

from bot.cli import MODEL_PATH
from bot.rasa import patches as rasa_patches
from tests.conftest import ROOT

ALL = [patch.name for patch in rasa_patches.PATCHES]


def attributes() -> dict[tuple[type, str], Any]:
    return {(p.owner, p.attribute): p.owner.__dict__[p.attribute] for p in rasa_patches.PATCHES}


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != rasa_patches.SWITCH}


@pytest.fixture(autouse=True)
def rasa_as_shipped(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[tuple[type, str], Any]]:
    """Rasa's own attributes before the test, put back after it, whatever the test applied."""
    monkeypatch.delenv(rasa_patches.SWITCH, raising=False)
    saved = attributes()
    assert not any(rasa_patches.is_applied(p) for p in rasa_patches.PATCHES), "a patch leaked from elsewhere"
    rasa_patches._event_classes.clear()
    yield saved
    for (owner, attribute), value in saved.items():
        setattr(owner, attribute, value)
    rasa_patches._event_classes.clear()


def apply(*expected: str) -> None:
    applied = rasa_patches.apply()
    for name in expected or ALL:
        assert name in applied, f"{name} was not applied: the comparison would be Rasa with Rasa"


# --- where the patches are applied ---------------------------------------------

CHECK_APPLIED = """
import json, sys
from bot.rasa import patches as rasa_patches
def applied():
    return [p.name for p in rasa_patches.PATCHES if rasa_patches.is_applied(p)]
if sys.argv[1] == "imports":
    import bot.channels.conversation, bot.channels.rest, bot.channels.sms, bot.channels.web, bot.servers
    print("APPLIED" + json.dumps(applied()))
else:
    import rasa.__main__
    rasa.__main__.main = lambda: print("APPLIED" + json.dumps(applied()))  # instead of `rasa run`
    from bot import servers
    servers.rasa_server()
"""


def applied_in_subprocess(mode: str, tmp_path: Path, **env: str) -> list[str]:
    environment = {**clean_env(), "BOT_ENV": "development", "BOT_VAR_DIR": str(tmp_path), **env}
    result = subprocess.run(
        [sys.executable, "-c", CHECK_APPLIED, mode],
        cwd=ROOT, env=environment, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.split("APPLIED", 1)[1])


def test_importing_the_channels_and_servers_patches_nothing(tmp_path: Path):
    assert applied_in_subprocess("imports", tmp_path) == []


@pytest.mark.system  # `python -m bot rasa-server`'s start-up, twice, in fresh processes
def test_the_rasa_server_command_applies_them_unless_switched_off(tmp_path: Path):
    assert applied_in_subprocess("rasa-server", tmp_path) == ALL
    assert applied_in_subprocess("rasa-server", tmp_path, BOT_RASA_PATCHES="off") == []


# --- the guards -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("distribution", "version", "skipped"),
    [
        ("rasa", "3.7.0", ALL),
        ("rasa", "3.5.15", ALL),
        ("jsonschema", "4.18.0", ["action-response-validator"]),
        ("jsonschema", None, ["action-response-validator"]),
        ("aiohttp", "3.10.1", ["kept-action-session"]),
        ("tensorflow", "2.13.0", ["diet-eager-load", "diet-predict-without-autograph"]),
    ],
)
def test_a_version_mismatch_skips_the_patch_with_a_warning(
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    rasa_as_shipped: dict[tuple[type, str], Any],
    distribution: str,
    version: str | None,
    skipped: list[str],
):
    real = rasa_patches.installed_version
    monkeypatch.setattr(rasa_patches, "installed_version", lambda d: version if d == distribution else real(d))
    with caplog.at_level(logging.WARNING, logger=rasa_patches.__name__):
        applied = rasa_patches.apply()

    assert applied == [name for name in ALL if name not in skipped]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == len(skipped)
    for name, warning in zip(skipped, warnings, strict=True):
        assert name in warning and f"{distribution} {version or 'is not installed'}" in warning
    for patch in rasa_patches.PATCHES:
        if patch.name in skipped:  # Rasa's own code stays
            assert patch.owner.__dict__[patch.attribute] is rasa_as_shipped[patch.owner, patch.attribute]
        else:
            assert rasa_patches.is_applied(patch)


def test_the_installed_versions_are_those_the_patches_were_written_for(caplog: pytest.LogCaptureFixture):
    with caplog.at_level(logging.WARNING, logger=rasa_patches.__name__):
        assert rasa_patches.apply() == ALL
    assert not caplog.records


@pytest.mark.parametrize("value", ["off", "OFF", " Off "])
def test_switched_off_applies_none_and_says_so_once(
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    rasa_as_shipped: dict[tuple[type, str], Any],
    value: str,
):
    monkeypatch.setenv(rasa_patches.SWITCH, value)
    with caplog.at_level(logging.INFO, logger=rasa_patches.__name__):
        assert rasa_patches.apply() == []
    assert attributes() == rasa_as_shipped
    assert [r.levelno for r in caplog.records] == [logging.WARNING]
    assert "BOT_RASA_PATCHES=off" in caplog.records[0].getMessage()


def test_apply_is_idempotent(rasa_as_shipped: dict[tuple[type, str], Any]):
    assert rasa_patches.apply() == ALL
    patched = attributes()
    assert rasa_patches.apply() == ALL
    assert attributes() == patched  # the same objects: nothing wrapped twice
    for patch in rasa_patches.PATCHES:
        assert rasa_patches._function(patched[patch.owner, patch.attribute]).rasa_original is (
            rasa_as_shipped[patch.owner, patch.attribute]
        )
    # The patched functions call Rasa's own, not a patched one.
    assert rasa_patches._resolve_by_type is rasa_as_shipped[Event, "resolve_by_type"].__func__
    assert rasa_patches._load_model is rasa_as_shipped[RasaModel, "load"].__func__
    assert rasa_patches._rasa_predict is rasa_as_shipped[RasaModel, "_rasa_predict"]


def test_importing_the_module_again_after_apply_wraps_nothing_twice(rasa_as_shipped: dict[tuple[type, str], Any]):
    rasa_patches.apply()
    patched = attributes()
    reloaded = importlib.reload(rasa_patches)
    try:
        assert reloaded._resolve_by_type is rasa_as_shipped[Event, "resolve_by_type"].__func__
        assert reloaded._rasa_predict is rasa_as_shipped[RasaModel, "_rasa_predict"]
        assert reloaded._load_model is rasa_as_shipped[RasaModel, "load"].__func__
        assert reloaded.apply() == ALL
        assert attributes() == patched
    finally:
        rasa_patches._event_classes.clear()


# --- action-response-validator ---------------------------------------------------

VALID_RESPONSES: list[Any] = [
    {},
    {"events": [], "responses": []},
    {"responses": [{"text": "Metastatic cancer is cancer that has spread.", "buttons": [{"title": "More"}]}]},
    {"events": [
        sdk.SlotSet("topic", "symptoms"),
        sdk.SlotSet("count", 3, timestamp=1700000000.5),
        sdk.AllSlotsReset(),
        sdk.FollowupAction("action_listen"),
        sdk.ActionExecuted("utter_greet"),
        sdk.UserUttered("hello", {"intent": {"name": "greet", "confidence": 0.9}, "entities": []}),
        sdk.BotUttered("hi", {"buttons": []}),
        sdk.Restarted(),
        sdk.SessionStarted(),
        sdk.UserUtteranceReverted(),
        sdk.ActionReverted(),
        sdk.ConversationPaused(),
        sdk.ConversationResumed(),
        sdk.ActiveLoop("a_form"),
        sdk.ActiveLoop(None),
        sdk.LoopInterrupted(True),
        sdk.ActionExecutionRejected("action_x"),
        sdk.ReminderScheduled("remind", datetime(2030, 1, 1), name="r"),
        sdk.ReminderCancelled(name="r"),
        sdk.AgentUttered("text"),
        sdk.StoryExported(),
    ]},
]
INVALID_RESPONSES: list[Any] = [
    None,
    [],
    "x",
    5,
    {"events": "x"},
    {"events": [1], "responses": 5},  # two errors: jsonschema.validate reports the best match
    {"events": [{"event": "slot"}]},
    {"events": [{"event": "nope"}]},
    {"events": [{"name": "topic", "value": 1}]},
    {"events": [{"event": "slot", "name": "a", "value": 1, "timestamp": "now"}]},
    {"events": [{"event": "user", "parse_data": {"entities": [{"entity": 1}]}}]},
    {"events": [{"event": "entities"}]},
    {"responses": [1, "a"]},
    {"responses": {"text": "hi"}},
]
EVENT_NAMES = sorted({cls.type_name for cls in all_subclasses(Event)})
KEYS = ["name", "value", "timestamp", "metadata", "text", "parse_data", "entities", "entity", "intent",
        "confidence", "policy", "hide_rule_turn", "date_time", "kill_on_user_message", "is_interrupted"]
SCALARS: list[Any] = [None, True, False, 0, 1, -2, 1.5, "", "x", "slot", "user", "greet", [], {}]


def random_value(rng: random.Random, depth: int = 0) -> Any:
    kind = rng.random()
    if depth > 2 or kind < 0.6:
        return rng.choice(SCALARS)
    if kind < 0.8:
        return [random_value(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    return {rng.choice(KEYS): random_value(rng, depth + 1) for _ in range(rng.randint(0, 3))}


def random_response(rng: random.Random) -> Any:
    if rng.random() < 0.05:
        return random_value(rng)
    events = []
    for _ in range(rng.randint(0, 3)):
        event: dict[str, Any] = {}
        if rng.random() < 0.9:
            event["event"] = rng.choice([*EVENT_NAMES, "nope", 1, None])
        for _ in range(rng.randint(0, 3)):
            event[rng.choice(KEYS)] = random_value(rng, 1)
        events.append(event)
    response: dict[str, Any] = {}
    if rng.random() < 0.9:
        response["events"] = events if rng.random() < 0.95 else random_value(rng)
    if rng.random() < 0.6:
        response["responses"] = [rng.choice([{"text": "hi"}, {}, "hi", 1]) for _ in range(rng.randint(0, 2))]
    return response


def outcome(validate: Callable[[RemoteAction, Any], bool], response: Any) -> tuple[Any, ...]:
    action = RemoteAction("action_answer", EndpointConfig("http://localhost:5055/webhook"))
    try:
        return ("valid", validate(action, copy.deepcopy(response)))
    except ValidationError as error:
        return ("ValidationError", error.message, list(error.path), list(error.schema_path), error.validator,
                repr(error.instance), str(error))
    except Exception as error:  # noqa: BLE001 - compared, whatever it is
        return (type(error).__name__, str(error))


def test_the_validator_accepts_and_rejects_exactly_as_rasa_with_the_same_error():
    rng = random.Random(14)
    responses = VALID_RESPONSES + INVALID_RESPONSES + [random_response(rng) for _ in range(150)]  # Rasa's: ~60 ms each
    rasa_validate = RemoteAction._validate_action_result
    expected = [outcome(rasa_validate, r) for r in responses]
    apply("action-response-validator")
    patched_validate = RemoteAction._validate_action_result
    assert patched_validate is not rasa_validate

    for response, rasa in zip(responses, expected, strict=True):
        assert outcome(patched_validate, response) == rasa, response
    assert [e[0] for e in expected[: len(VALID_RESPONSES)]] == ["valid"] * len(VALID_RESPONSES)
    assert {e[0] for e in expected[len(VALID_RESPONSES): len(VALID_RESPONSES) + len(INVALID_RESPONSES)]} == {
        "ValidationError"
    }
    kinds = [e[0] for e in expected]
    assert kinds.count("valid") > 50 and kinds.count("ValidationError") > 50  # the random ones cover both
    assert expected[len(VALID_RESPONSES)][1].endswith("/custom-actions")  # Rasa's suffix, docs link included


# --- event-class-cache -------------------------------------------------------------

STORED_EVENTS = [
    {"event": "session_started", "timestamp": 1.0},
    {"event": "action", "name": "action_listen", "policy": None, "confidence": None, "timestamp": 2.0},
    {"event": "user", "text": "what is metastatic cancer?", "timestamp": 3.0,
     "parse_data": {"intent": {"name": "ask_what_is", "confidence": 0.98}, "entities": []}},
    {"event": "slot", "name": "topic", "value": "metastasis", "timestamp": 4.0},
    {"event": "bot", "text": "It is cancer that has spread.", "data": {}, "timestamp": 5.0},
    {"event": "active_loop", "name": None, "timestamp": 6.0},
    {"event": "followup", "name": "action_listen", "timestamp": 7.0},
    {"event": "restart", "timestamp": 8.0},
]


def resolve(type_name: str, default: type[Event] | None = None) -> Any:
    try:
        return Event.resolve_by_type(type_name, default)
    except Exception as error:  # noqa: BLE001 - compared, whatever it is
        return (type(error).__name__, str(error))


def test_the_event_class_cache_resolves_every_type_name_as_rasa():
    from rasa.shared.core.events import SlotSet

    names = [*EVENT_NAMES, "topic", "nope", ""]
    queries = [(n, None) for n in names] + [(n, SlotSet) for n in names] + [("nope", None)]
    expected = [resolve(*q) for q in queries]
    expected_events = [e.as_dict() for e in deserialise_events(STORED_EVENTS)]
    apply("event-class-cache")

    for _ in range(2):  # filling the cache, then from it
        assert [resolve(*q) for q in queries] == expected
        assert [e.as_dict() for e in deserialise_events(STORED_EVENTS)] == expected_events
    assert expected[names.index("nope")] == ("ValueError", "Unknown event name 'nope'.")
    assert expected[names.index("topic")] is None
    assert set(rasa_patches._event_classes) == set(EVENT_NAMES)  # defaults, "topic" and errors are not cached


# --- kept-action-session ------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ActionServer:
    """A local aiohttp server that answers like an action server and records what it saw."""

    def __init__(self, port: int, keepalive_timeout: float = 75.0) -> None:
        self.port = port
        self.keepalive_timeout = keepalive_timeout
        self.connections: list[int] = []  # one per request: the client's port
        self.runner: web.AppRunner | None = None

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.connections.append(request.transport.get_extra_info("peername")[1])  # type: ignore[union-attr]
        seen = {
            "method": request.method,
            "path": request.path,
            "query": sorted(request.query.items()),
            "headers": sorted((k, v) for k, v in request.headers.items() if k != "Content-Length"),
            "body": (await request.read()).decode(),
        }
        if request.path == "/fail":
            return web.Response(status=400, text='{"action_name": "action_answer", "error": "no"}')
        if request.path == "/text":
            return web.Response(text="not json")
        response = web.json_response(seen)
        response.set_cookie("visit", "1")  # a fresh session per call never sends it back
        return response

    async def __aenter__(self) -> ActionServer:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self.handle)
        self.runner = web.AppRunner(app, keepalive_timeout=self.keepalive_timeout)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", self.port).start()
        return self

    async def __aexit__(self, *_: object) -> None:
        assert self.runner is not None
        await self.runner.cleanup()  # closes the connections it has open


async def close(endpoint: EndpointConfig) -> None:
    session = getattr(endpoint, "_kept_session", None)
    if session is not None:
        await session.close()


async def call(endpoint: EndpointConfig, **kwargs: Any) -> Any:
    try:
        return await endpoint.request(**kwargs)
    except ClientResponseError as error:
        return ("ClientResponseError", error.status, error.message, error.text, str(error))
    except aiohttp.ClientError as error:
        return (type(error).__name__,)


async def conversation(port: int) -> tuple[list[Any], int]:
    # "localhost", not an address: aiohttp's cookie jar keeps cookies only for host names.
    endpoint = EndpointConfig(
        f"http://localhost:{port}", params={"p": "1"}, headers={"Authorization": "Bearer secret"}, token="t"
    )
    try:
        async with ActionServer(port) as server:
            answers = [
                await call(endpoint, subpath="webhook", json={"next_action": "action_answer"}),
                await call(endpoint, method="get", subpath="health", params={"q": "2"}),
                await call(endpoint, subpath="text", json={}),
                await call(endpoint, subpath="fail", json={}),
                await call(endpoint, subpath="webhook", json={"again": True}, headers={"X-Extra": "1"}),
                await call(endpoint, subpath="webhook", compress=True, json={"zipped": True}),
            ]
        return answers, len(set(server.connections))
    finally:
        await close(endpoint)


def test_the_kept_session_answers_every_request_as_rasa():
    port = free_port()
    rasa_answers, rasa_connections = asyncio.run(conversation(port))
    apply("kept-action-session")
    answers, connections = asyncio.run(conversation(port))

    assert answers == rasa_answers
    echoed = [answer for answer in answers if isinstance(answer, dict)]
    assert len(echoed) == 4 and not any(name == "Cookie" for answer in echoed for name, _ in answer["headers"])
    assert rasa_connections == len(rasa_answers)  # Rasa: a connection per call
    assert connections == 1  # patched: one kept connection


async def server_restarts(port: int) -> tuple[dict[str, Any], str]:
    endpoint = EndpointConfig(f"http://127.0.0.1:{port}")
    try:
        async with ActionServer(port, keepalive_timeout=0.2) as server:
            first = await call(endpoint, subpath="webhook", json={})
            await asyncio.sleep(2.5)  # Sanic closes it (0.2 s, checked about once a second)
            after_idle = await call(endpoint, subpath="webhook", json={})
            idle_connections = len(set(server.connections))
        await asyncio.sleep(0.1)
        while_down = await call(endpoint, subpath="webhook", json={})  # killed
        async with ActionServer(port):  # restarted
            after_restart = await call(endpoint, subpath="webhook", json={})
        racing = await call(endpoint, subpath="webhook", json={})  # at the moment it closes its connections
        await asyncio.sleep(0.1)
        async with ActionServer(port):
            after_second_restart = await call(endpoint, subpath="webhook", json={})
        results = {
            "first": first,
            "after_idle": after_idle,
            "idle_connections": idle_connections,
            "while_down": while_down,
            "after_restart": after_restart,
            "after_second_restart": after_second_restart,
        }
        return results, racing[0]
    finally:
        await close(endpoint)


def test_the_kept_session_reconnects_after_the_action_server_closes_connections():
    port = free_port()
    rasa_results, rasa_racing = asyncio.run(server_restarts(port))
    apply("kept-action-session")
    results, racing = asyncio.run(server_restarts(port))

    assert results == rasa_results
    assert isinstance(results["first"], dict)
    assert results["first"] == results["after_idle"] == results["after_restart"] == results["after_second_restart"]
    assert results["idle_connections"] == 2
    assert results["while_down"] == ("ClientConnectorError",)
    # A call at the very moment the server closes the kept connection fails (ClientOSError) where
    # Rasa's fresh connection is refused (ClientConnectorError): both are the ClientConnectionError
    # that RemoteAction.run reports as "Couldn't connect to the server".
    for error in (racing, rasa_racing):
        assert issubclass(getattr(aiohttp, error), aiohttp.ClientConnectionError)


def test_the_kept_session_is_configured_as_rasas_and_closes_idle_connections_first():
    from sanic.config import DEFAULT_CONFIG

    endpoint = EndpointConfig(
        "http://localhost:5055", headers={"Authorization": "Bearer t"}, basic_auth={"username": "u", "password": "p"}
    )

    async def configuration() -> tuple[Any, ...]:
        async with endpoint.session() as session:
            found = (dict(session.headers), session.auth, session.timeout, type(session))
        await close(endpoint)
        return found

    rasa = asyncio.run(configuration())
    apply("kept-action-session")
    assert asyncio.run(configuration()) == rasa
    assert DEFAULT_CONFIG["KEEP_ALIVE_TIMEOUT"] > rasa_patches.IDLE_CONNECTION_SECONDS


def test_the_kept_session_is_not_shared_across_event_loops():
    apply("kept-action-session")
    endpoint = EndpointConfig("http://localhost:5055")

    async def session() -> aiohttp.ClientSession:
        async with endpoint.session() as kept:
            async with endpoint.session() as again:
                assert again is kept
            return kept

    first = asyncio.run(session())
    second = asyncio.run(session())
    assert second is not first
    asyncio.run(close(endpoint))


# --- diet-eager-load and diet-predict-without-autograph -------------------------------

MESSAGES = [
    "what is metastatic cancer?",
    "my mom was told her cancer spread to her spine, what symptoms?",
    "how is it treated",
    "i have crushing chest pain",
    "i don't want to live anymore",
    "how much morphine can i take",
    "qwzx plmkj vvvv",
    "thanks, bye",
]

PARSE = """
import asyncio, json, sys
from bot.rasa import patches as rasa_patches
applied = rasa_patches.apply() if sys.argv[1] == "patched" else []
from rasa.core.agent import Agent
agent = Agent.load(sys.argv[2])
out = []
for text in json.loads(sys.argv[3]):
    parsed = asyncio.run(agent.parse_message(text))
    out.append({
        "ranking": [(r["name"], round(r["confidence"], 5)) for r in parsed["intent_ranking"]],
        "entities": [(e["entity"], e["value"]) for e in parsed["entities"]],
    })
print("RESULT" + json.dumps({"applied": applied, "parsed": out}))
"""


def parse(*modes: str) -> list[dict[str, Any]]:
    """Each mode's parses, from fresh processes run side by side (each loads the model)."""
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", PARSE, mode, str(MODEL_PATH), json.dumps(MESSAGES)],
            cwd=ROOT, env=clean_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        for mode in modes
    ]
    results = []
    for process in processes:
        out, err = process.communicate(timeout=600)
        assert process.returncode == 0, err[-3000:]
        results.append(json.loads(out.split("RESULT", 1)[1]))
    return results


@pytest.mark.system  # loads the Rasa model in two fresh processes at once (about half a minute)
def test_patched_model_load_predicts_exactly_as_rasa():
    patched, rasa = parse("patched", "rasa")
    assert {"diet-eager-load", "diet-predict-without-autograph"} <= set(patched["applied"])
    assert rasa["applied"] == []
    assert patched["parsed"] == rasa["parsed"]
