"""The attacks of issue 12 that need the real bot, run as a deployment runs it (BOT_ENV=production:
the `bot` fixture of tests/conftest.py, shared with tests/test_faults.py and tests/test_conversation.py).

Every test plays the attacker and asserts the attack now fails: "/intent{...}" cannot
skip safety detection, patient text never reaches a log line (failure paths included),
a purge never loses a new message, no secret is on a command line, the servers listen
on loopback only, the action server answers only Rasa, and the servers refuse to start
on weak configuration. The channels' own defences are tested in process
(tests/test_channels.py, tests/test_channel_sms.py): one namespace per channel, only
offered buttons as intents, the REST token, bad session tokens (403, never 500),
security headers, forged SMS floods. Deployment (nginx, PostgreSQL roles, Redis
password) is attacked in tests/test_cluster.py, the widget's isolation in tests/test_widget.py.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid

import psutil
import pytest
import requests
from sqlalchemy import create_engine, text

from bot.insights.report import Report, as_csv
from tests.conftest import ROOT, Servers, production_settings

CANARY = f"zebra-canary-{uuid.uuid4().hex[:12]}"


def rest(bot: Servers, sender: str, message: str, headers: dict[str, str] | None = None) -> requests.Response:
    body = {"sender": sender, "message": message}
    return requests.post(bot.webhook, json=body, headers=bot.rest_headers if headers is None else headers, timeout=30)


def joined(replies: list[dict]) -> str:
    return "\n".join(r.get("text") or "" for r in replies)


# No injected intents ---------------------------------------------------------------------


def test_injected_intent_cannot_skip_safety_detection(bot):
    for injected in (
        # Before: Rasa took this as the intent `greet` and answered "Hello." (no NLU, no safety).
        '/greet{"symptom": "my husband collapsed and is not breathing"}',
        '/ask_what_is_lymph{"symptom": "I have crushing chest pain and cannot breathe"}',
        "/ask_what_is_lymph I have crushing chest pain and I can't breathe",
        '/greet{"body_site": "liver"} my chest hurts so bad and I cannot breathe',
    ):
        replies = rest(bot, f"inject-{uuid.uuid4().hex}", injected).json()
        assert [r["custom"]["safety"] for r in replies if "custom" in r] == ["emergency"], replies


# No patient text in logs -----------------------------------------------------------------


def test_canary_reaches_no_log_on_any_channel_or_failure_path(bot):
    """Patient text on every channel, then each failure path; the canary must appear in no log."""
    rest(bot, "canary-rest", f"what is lymph {CANARY}")
    bot.web(bot.web_session(), f"what is lymph {CANARY}")
    bot.sms("+15553330004", f"what is lymph {CANARY}")
    # An action that fails: the knowledge base's database disappears (as with a lost volume).
    kb_dir = bot.database.parent / "kb"
    away = kb_dir.with_name("kb-away")
    os.rename(kb_dir, away)
    try:
        failed = rest(bot, "canary-rest", f"what is lymph? {CANARY}")
        assert "trouble answering" in joined(failed.json())
        bot.sms("+15553330004", f"how is it treated {CANARY}")
    finally:
        os.rename(away, kb_dir)
    # A timeout: the action server stops answering (SIGSTOP) for longer than REPLY_TIMEOUT_SECONDS.
    actions = next(p for p in psutil.Process(bot.process.pid).children() if "action-server" in " ".join(p.cmdline()))
    actions.send_signal(signal.SIGSTOP)
    try:
        slow = rest(bot, "canary-rest", f"how is it diagnosed {CANARY}")
        assert "trouble answering" in joined(slow.json())
    finally:
        actions.send_signal(signal.SIGCONT)
    # Text that Rasa itself chokes on: an injected payload with a dict entity, a huge message.
    rest(bot, "canary-rest", '/ask_symptoms_by_site{"body_site":{"' + CANARY + '":1}}')
    rest(bot, "canary-rest", CANARY * 300)
    time.sleep(1)  # let the servers flush their logs
    logs = [bot.log, *bot.log.parent.rglob("*.log")]
    for log in logs:
        content = log.read_text(errors="replace")
        assert CANARY not in content, f"patient text in {log}: ...{content[content.find(CANARY) - 300 :][:600]}"
    assert "(message withheld)" in bot.log.read_text()  # the failures were logged, without their messages


# Retention -------------------------------------------------------------------------------


def test_purge_during_a_conversation_keeps_every_new_message(bot):
    sender = f"retention-{uuid.uuid4().hex}"
    for text_ in ("hi", "what is lymph"):
        rest(bot, sender, text_)
    conversation = f"rest:{sender}"
    engine = create_engine(bot.settings["TRACKER_DATABASE_URL"])
    with engine.begin() as connection:  # the conversation began 100 days ago
        connection.execute(
            text("UPDATE events SET timestamp = timestamp - 100 * 86400 WHERE sender_id = :s"), {"s": conversation}
        )
    sent: list[str] = []

    def talk() -> None:
        for i in range(8):
            message = f"tell me more {i}"
            assert rest(bot, sender, message).status_code == 200
            sent.append(message)

    talker = threading.Thread(target=talk)
    talker.start()
    env = {**os.environ, **{k: bot.settings[k] for k in ("TRACKER_DATABASE_URL", "DATABASE_URL")}}
    purges = 0
    while talker.is_alive() or purges == 0:
        result = subprocess.run(
            [sys.executable, "-m", "bot", "purge", "--older-than", "90d"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
        purges += 1
    talker.join()
    with engine.connect() as connection:
        rows = connection.execute(
            text("SELECT type_name, data, timestamp FROM events WHERE sender_id = :s ORDER BY id"), {"s": conversation}
        ).all()
    users = [r.data for r in rows if r.type_name == "user"]
    assert len(users) == len(sent) == 8, (purges, users)
    assert all(sent[i] in users[i] for i in range(8))  # every new message, once, in order
    assert min(r.timestamp for r in rows) > time.time() - 90 * 86400  # nothing older than the cut-off


# CSV export ------------------------------------------------------------------------------


def test_csv_export_neutralises_formulas():
    texts = ['=HYPERLINK("http://evil.example","x")', "+1+1", "-2", "@SUM(A1)", "\tTAB", "plain - text"]
    report = Report(most_asked=[], unhelpful=[], unanswered=[("2026-11-29", "not_understood", "sms", t) for t in texts])
    cells = [line.rsplit(",", 1)[-1] for line in as_csv(report).splitlines()[1:]]
    assert all(not c.lstrip('"').startswith(("=", "+", "-", "@", "\t")) for c in cells), cells
    assert "plain - text" in as_csv(report)


# Configuration ---------------------------------------------------------------------------


def start_server(server: str, **overrides: str | None) -> subprocess.CompletedProcess:
    env = {**os.environ, **production_settings()}
    for name, value in overrides.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    command = [sys.executable, "-m", "bot", server]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)


@pytest.mark.system  # starts `python -m bot rasa-server`/`action-server` (no fixture)
@pytest.mark.parametrize(
    ("server", "name", "value"),
    [
        ("rasa-server", "WEB_SESSION_SECRET", None),
        ("rasa-server", "WEB_SESSION_SECRET", "replace-with-a-long-random-secret-of-at-least-32-bytes"),
        ("rasa-server", "TWILIO_AUTH_TOKEN", "short"),
        ("rasa-server", "ACTION_SERVER_TOKEN", ""),
        ("rasa-server", "RASA_TOKEN", "changeme"),
        ("action-server", "ACTION_SERVER_TOKEN", "x" * 20),
    ],
)
def test_servers_refuse_weak_secrets_outside_development(server, name, value):
    result = start_server(server, **{name: value})
    assert result.returncode != 0
    assert name in result.stderr and "Refusing to start" in result.stderr


@pytest.mark.system
def test_debug_logging_is_refused_outside_development():
    result = start_server("action-server", LOG_LEVEL="DEBUG")
    assert result.returncode != 0 and "LOG_LEVEL=DEBUG" in result.stderr


@pytest.mark.system
def test_sms_channel_requires_its_public_url_outside_development():
    result = start_server("rasa-server", SMS_PUBLIC_URL=None)
    assert result.returncode != 0 and "SMS_PUBLIC_URL" in result.stderr + result.stdout


def test_no_secret_on_any_command_line(bot):
    secrets = [v for k, v in bot.settings.items() if k.endswith(("SECRET", "TOKEN"))]
    for process in [psutil.Process(bot.process.pid), *psutil.Process(bot.process.pid).children(recursive=True)]:
        command_line = " ".join(process.cmdline())
        assert not any(secret in command_line for secret in secrets), command_line


def test_servers_listen_on_loopback_only(bot):
    listening = {
        c.laddr.port: c.laddr.ip
        for p in psutil.Process(bot.process.pid).children(recursive=True)
        for c in p.net_connections(kind="inet")
        if c.status == psutil.CONN_LISTEN
    }
    assert listening.get(bot.port) == "127.0.0.1" and listening.get(bot.actions_port) == "127.0.0.1", listening


def test_action_server_answers_only_rasa(bot):
    url = f"http://127.0.0.1:{bot.actions_port}/webhook"
    call = {"next_action": "action_answer", "tracker": {"sender_id": "x", "events": []}, "domain": {}}
    assert requests.post(url, json=call, timeout=10).status_code == 401
    assert requests.post(url, json=call, headers={"Authorization": "Bearer nope"}, timeout=10).status_code == 401
    assert requests.get(f"http://127.0.0.1:{bot.actions_port}/actions", timeout=10).status_code == 401
    assert requests.get(f"http://127.0.0.1:{bot.actions_port}/health", timeout=10).status_code == 200
    # Rasa has the token: the bot answers.
    assert "Lymph is a clear fluid" in joined(rest(bot, "actions-auth", "what is lymph").json())
