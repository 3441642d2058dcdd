"""Locust users that hold realistic conversations over Rasa's REST channel.

`scripts/bench.py` and `scripts/soak.py` run this headless; by hand:

    .venv/bin/locust -f scripts/locustfile.py --headless -u 8 -r 8 -t 30s \
        --host http://127.0.0.1:5005 PatientConversation

`PatientConversation` talks to this project's bot, `StarterConversation` to the bot
`rasa init` creates (the baseline). Each simulated patient gets a new sender id and
plays one of a few conversation scripts to the end, then the next patient starts.

Users send **back to back** (`wait_time = constant(0)`): the next message goes as
soon as the previous reply arrives, so N users means N messages in flight and the
messages per second measured are what the server sustains at that concurrency,
not what a think time allows.

A reply counts as a failure when the status is not 200 or the reply list is empty.

Environment (used by the soak test):
- LOAD_LOG: append one JSON line per message (sender, message, status, number of
  replies, reply texts) so that the conversations can be compared with the
  trackers afterwards.
- LOAD_MAX_MESSAGES: stop every user after this many messages in total, then quit.
- LOAD_SENDER_PREFIX: prefix of the sender ids (default "load").
- LOAD_CLIENT_CPU: write the CPU seconds Locust itself used during the test to this
  file, because on a small machine the client competes with the server for the CPU.
"""

from __future__ import annotations

import json
import os
import random
import uuid
from typing import IO, Any

import gevent
from locust import FastHttpUser, constant, events, task
from locust.exception import StopUser

WEBHOOK = "/webhooks/rest/webhook"
# Replaced by the payload of one of the previous reply's buttons (a follow-up topic),
# as a patient tapping it would send; skipped when the previous reply had none.
FOLLOW_UP = object()
# "Was this helpful?" buttons are not follow-ups.
FEEDBACK_PAYLOADS = {"/feedback_helpful", "/feedback_unhelpful"}

PATIENT_SCRIPTS: list[list[Any]] = [
    # Just told the cancer has spread: what it means, where it goes, treatment.
    [
        "hi",
        "what is metastatic cancer?",
        "where does cancer spread?",
        FOLLOW_UP,
        "how is it treated?",
        "tell me more",
        "thanks",
        "bye",
    ],
    # A caregiver asking about symptoms at one site, then another.
    [
        "hello",
        "my mom's breast cancer spread to her bones, what symptoms should we expect?",
        "what about the liver?",
        FOLLOW_UP,
        "/feedback_helpful",
        "thank you",
        "goodbye",
    ],
    # Treatment-focused, tapping the buttons.
    [
        "hey",
        "how is metastatic cancer treated?",
        FOLLOW_UP,
        "tell me more",
        FOLLOW_UP,
        "what are clinical trials?",
        "what should i ask my doctor",
        "thanks",
        "bye",
    ],
    # A short visit, typed quickly.
    [
        "wat does stage 4 mean",
        FOLLOW_UP,
        "/feedback_helpful",
        "ok thanks",
        "bye",
    ],
    # Coping and support, then the care team.
    [
        "hi there",
        "how do people cope with this?",
        "where can I find support?",
        FOLLOW_UP,
        "can I talk to a real person?",
        "thanks, bye",
    ],
]

# The starter bot understands greetings, moods, yes/no, "are you a bot" and goodbye;
# these scripts stay inside its stories so that every message gets a reply.
STARTER_SCRIPTS: list[list[Any]] = [
    ["hi", "I am sad", "yes", "bye"],
    ["hello", "not good", "no"],
    ["hey", "I am feeling great", "are you a bot?", "bye"],
    ["good morning", "very sad", "yes", "goodbye"],
]

_budget = int(os.environ.get("LOAD_MAX_MESSAGES", "0") or 0)
_sent = 0
_active_users = 0
_log: IO[str] | None = None
_cpu_at_start = 0.0


def _cpu_seconds() -> float:
    times = os.times()
    return times.user + times.system


@events.test_start.add_listener
def _on_test_start(**_: Any) -> None:
    global _cpu_at_start
    _cpu_at_start = _cpu_seconds()


@events.test_stop.add_listener
def _on_test_stop(**_: Any) -> None:
    path = os.environ.get("LOAD_CLIENT_CPU")
    if path:
        with open(path, "w", encoding="utf-8") as handle:
            json.dump({"cpu_s": _cpu_seconds() - _cpu_at_start}, handle)


def _log_file() -> IO[str] | None:
    """Open LOAD_LOG once per process; line-buffered so a reader sees progress."""
    global _log
    path = os.environ.get("LOAD_LOG")
    if path and _log is None:
        _log = open(path, "a", buffering=1, encoding="utf-8")  # noqa: SIM115 (kept open for the run)
    return _log


class Conversation(FastHttpUser):
    """One simulated patient after another, each with its own sender id and script."""

    abstract = True
    wait_time = constant(0)  # back to back: see the module docstring
    scripts: list[list[Any]] = []
    network_timeout = 60.0
    connection_timeout = 60.0

    def on_start(self) -> None:
        global _active_users
        _active_users += 1

    def on_stop(self) -> None:
        """When the message budget is spent and the last user stops, end the run."""
        global _active_users
        _active_users -= 1
        if _budget and _sent >= _budget and _active_users == 0:
            gevent.spawn_later(0.5, self.environment.runner.quit)

    @task
    def converse(self) -> None:
        prefix = os.environ.get("LOAD_SENDER_PREFIX", "load")
        sender = f"{prefix}-{uuid.uuid4().hex[:16]}"
        buttons: list[str] = []
        for step in random.choice(self.scripts):
            if step is FOLLOW_UP:
                if not buttons:
                    continue
                message = random.choice(buttons)
            else:
                message = step
            buttons = self.send(sender, message)

    def send(self, sender: str, message: str) -> list[str]:
        """Send one message; return the follow-up payloads offered in the reply."""
        global _sent
        if _budget and _sent >= _budget:
            raise StopUser()
        _sent += 1
        replies: list[dict[str, Any]] = []
        with self.client.post(
            WEBHOOK, json={"sender": sender, "message": message}, name=WEBHOOK, catch_response=True
        ) as response:
            if response.status_code != 200:
                response.failure(f"HTTP {response.status_code}")
            else:
                try:
                    body = response.json()
                    replies = body if isinstance(body, list) else []
                except (ValueError, TypeError):
                    replies = []
                if replies:
                    response.success()
                else:
                    response.failure("empty reply")
        log = _log_file()
        if log is not None:
            entry = {
                "sender": sender,
                "message": message,
                "status": response.status_code,
                "replies": len(replies),
                "texts": [reply["text"] for reply in replies if reply.get("text")],
            }
            log.write(json.dumps(entry) + "\n")
        return [
            button["payload"]
            for reply in replies
            for button in reply.get("buttons") or []
            if button.get("payload") and button["payload"] not in FEEDBACK_PAYLOADS
        ]


class PatientConversation(Conversation):
    """This project's bot: questions, follow-up buttons, feedback, thanks, goodbye."""

    scripts = PATIENT_SCRIPTS


class StarterConversation(Conversation):
    """The `rasa init` starter bot (moodbot): greeting, mood, yes/no, goodbye."""

    scripts = STARTER_SCRIPTS
