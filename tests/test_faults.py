"""Faults on one machine (`python -m bot run`): a patient still gets a safe reply, and service resumes.

The same safe reply and 503 with a stand-in for Rasa that times out, fails or cannot store
the conversation: tests/test_channels.py and tests/test_channel_sms.py (in process).

Each test breaks one real part — kills the action server, takes the knowledge
base's database away, kills the Rasa server — and checks what the patient sees.
PostgreSQL restarted under load is in tests/test_cluster.py.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable

import psutil
import requests

from bot.settings import load_settings
from tests.checks import assert_answers
from tests.conftest import Servers
from tests.test_sms import texts

ARTICLE_WORDS = "A metastatic cancer, or metastatic tumor"
SAFE_REPLY_SECONDS = 5


# `bot` (tests/conftest.py): the production bot, shared with tests/test_security.py and
# tests/test_conversation.py. Each test here leaves it answering again before it ends.


def say(bot: Servers, sender: str, text: str) -> tuple[list[dict], float]:
    started = time.monotonic()
    body = {"sender": sender, "message": text}
    response = requests.post(bot.webhook, json=body, headers=bot.rest_headers, timeout=30)
    assert response.status_code == 200, response.text
    return response.json(), time.monotonic() - started


def child(bot: Servers, marker: str) -> psutil.Process:
    """The server process started by `python -m bot run` whose command line contains `marker`."""
    for process in psutil.Process(bot.process.pid).children():
        if marker in " ".join(process.cmdline()):
            return process
    raise AssertionError(f"no {marker!r} process under python -m bot run")


def assert_safe_reply(replies: list[dict]) -> None:
    text = " ".join(r.get("text") or "" for r in replies)
    settings = load_settings()
    assert settings.care_team_phone in text and f"call {settings.emergency_number}" in text, text
    assert ARTICLE_WORDS not in text


def wait_until(ready: Callable[[], bool], timeout: float, what: str) -> float:
    """Seconds until `ready()` is true, asking once a second; fails after `timeout` seconds."""
    started = time.monotonic()
    while not ready():
        if time.monotonic() - started >= timeout:
            raise AssertionError(f"{what} within {timeout} s")
        time.sleep(1)  # between every two tries, whatever the last one answered
    return time.monotonic() - started


def wait_for_answer(bot: Servers, sender: str, timeout: float = 60) -> float:
    """Seconds until a normal article answer comes back."""

    def answered() -> bool:
        replies, _ = say(bot, sender, "what is metastatic cancer?")
        return any(ARTICLE_WORDS in (r.get("text") or "") for r in replies)

    return wait_until(answered, timeout, "normal answers did not resume")


def rasa_answers_health(bot: Servers) -> bool:
    try:
        return requests.get(f"{bot.base}/webhooks/rest/", headers=bot.rest_headers, timeout=2).ok
    except requests.RequestException:  # not listening yet, or too slow to answer
        return False


def test_action_server_killed_mid_conversation(bot):
    replies, _ = say(bot, "fault-actions", "what is metastatic cancer?")
    assert ARTICLE_WORDS in replies[0]["text"]
    actions = child(bot, "bot action-server")
    actions.send_signal(signal.SIGKILL)
    actions.wait(timeout=10)
    replies, seconds = say(bot, "fault-actions", "how is it treated?")
    assert_safe_reply(replies)
    assert seconds < SAFE_REPLY_SECONDS
    # An emergency while the action server is down still names the emergency number first.
    replies, seconds = say(bot, "fault-actions", "my dad collapsed and is not breathing")
    assert replies[0]["text"].startswith(f"If this is an emergency, call {load_settings().emergency_number} now")
    assert seconds < SAFE_REPLY_SECONDS
    # `python -m bot run` starts the action server again; answers resume by themselves.
    resumed = wait_for_answer(bot, "fault-actions")
    assert resumed < 60
    assert child(bot, "bot action-server").pid != actions.pid
    print(f"\naction server killed: safe reply in {seconds:.2f} s, answers again after {resumed:.1f} s")


def test_knowledge_base_database_unavailable(bot):
    replies, _ = say(bot, "fault-kb", "what is lymph?")
    assert "Lymph is a clear fluid" in replies[0]["text"]
    kb_dir = bot.database.parent / "kb"
    away = kb_dir.with_name("kb-away")
    os.rename(kb_dir, away)  # the file, its WAL and its directory are gone, as with a lost volume
    try:
        replies, seconds = say(bot, "fault-kb", "what is metastatic cancer?")
        assert_safe_reply(replies)
        assert seconds < SAFE_REPLY_SECONDS
        # A text message too (its opt-out and message-id tables are in the same database).
        [text] = texts(bot.sms("+15554440000", "what is metastatic cancer"))
        assert text.startswith("If this is an emergency, call") and load_settings().care_team_phone in text
    finally:
        os.rename(away, kb_dir)
    resumed = wait_for_answer(bot, "fault-kb", timeout=20)
    print(f"\nknowledge base gone: safe reply in {seconds:.2f} s, answers again after {resumed:.1f} s")


def test_rasa_restarted_keeps_the_conversation(bot):
    say(bot, "fault-rasa", "hi")
    replies, _ = say(bot, "fault-rasa", "what is lymph?")
    assert "Lymph is a clear fluid" in replies[0]["text"]
    before = tracker(bot, "fault-rasa")
    rasa = child(bot, "bot rasa-server")
    rasa.send_signal(signal.SIGKILL)
    rasa.wait(timeout=10)
    back = wait_until(lambda: rasa_answers_health(bot), 180, "the Rasa server did not answer its health check")
    print(f"\nRasa killed: back after {back:.1f} s")
    after = tracker(bot, "fault-rasa")
    assert after["events"][: len(before["events"])] == before["events"]
    assert [e["text"] for e in after["events"] if e["event"] == "user"] == ["hi", "what is lymph?"]
    # The conversation goes on where it was: "tell me more" continues the last topic.
    replies, _ = say(bot, "fault-rasa", "tell me more")
    assert_answers(replies[0]["text"], "how_cancer_spreads")  # lymph's first follow-up
    assert tracker(bot, "fault-rasa")["slots"]["last_topic"] not in (None, "what_is_lymph")


def tracker(bot: Servers, sender: str) -> dict:
    # REST conversations are stored as rest:<sender> (bot/channels/conversation.py).
    url = f"{bot.base}/conversations/rest:{sender}/tracker"
    response = requests.get(url, params={"token": bot.settings["RASA_TOKEN"]}, timeout=10)
    response.raise_for_status()
    return response.json()
