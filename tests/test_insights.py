"""Feedback, answered topics and unanswered questions land in SQLite, without who asked."""

import asyncio

import pytest
from rasa_sdk import Tracker
from rasa_sdk.events import Restarted
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import inspect, select

from actions.actions import ActionAnswer, ActionFeedback, ActionNotUnderstood, ActionStartOver, ActionTellMeMore
from bot import messages
from bot.db import get_engine, migrate, new_session
from bot.insights.store import InsightStore
from bot.privacy import scrub
from bot.storage.insights import AnswerLogRow, FeedbackRow, UnansweredRow


@pytest.fixture
def insights(tmp_path, kb_url):
    return InsightStore(kb_url)


def tracker(intent: str, text: str = "", slots: dict | None = None) -> Tracker:
    return Tracker(
        sender_id="+15551234567",
        slots=slots or {},
        latest_message={"intent": {"name": intent, "confidence": 0.9}, "entities": [], "text": text},
        events=[{"event": "user", "text": text, "input_channel": "rest"}],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )


def run(action, tracker_):
    dispatcher = CollectingDispatcher()
    return dispatcher.messages, asyncio.run(action.run(dispatcher, tracker_, {}))


def rows(url, model):
    with new_session(url) as session:
        return session.execute(select(model).order_by(model.id)).scalars().all()


def test_feedback_is_stored_with_topic_and_time(kb, insights, kb_url):
    [reply], _ = run(ActionFeedback(kb, insights), tracker("feedback_unhelpful", slots={"last_topic": "coping"}))
    assert reply["text"] == messages.fill(messages.FEEDBACK_SORRY)
    [yes], _ = run(ActionFeedback(kb, insights), tracker("feedback_helpful", slots={"last_topic": "support"}))
    assert yes["text"] == messages.FEEDBACK_THANKS
    stored = [(r.topic, r.helpful, r.channel) for r in rows(kb_url, FeedbackRow)[-2:]]
    assert stored == [("coping", False, "rest"), ("support", True, "rest")]
    assert all(r.created_at for r in rows(kb_url, FeedbackRow))


def test_answers_are_counted_by_topic(kb, insights, kb_url):
    run(ActionAnswer(kb, insights), tracker("ask_clinical_trials"))
    assert rows(kb_url, AnswerLogRow)[-1].topic == "clinical_trials"


def test_unanswered_questions_are_stored_scrubbed(kb, insights, kb_url):
    text = "call me on (555) 123-4567 or mail jo.doe@example.org about my gizmo"
    run(ActionNotUnderstood(kb, insights), tracker("nlu_fallback", text))
    stored = rows(kb_url, UnansweredRow)[-1]
    assert stored.text == "call me on [phone] or mail [email] about my gizmo"
    assert (stored.reason, stored.channel) == ("not_understood", "rest")


def test_no_table_has_a_sender_column(kb_url):
    inspector = inspect(get_engine(kb_url))
    for table in ("insight_answers", "insight_feedback", "insight_unanswered"):
        assert not [c for c in inspector.get_columns(table) if "sender" in c["name"]]
    everything = " ".join(str(r.__dict__) for m in (FeedbackRow, UnansweredRow, AnswerLogRow) for r in rows(kb_url, m))
    assert "5551234567" not in everything


@pytest.mark.parametrize(
    "text, expected",
    [
        ("my number is 555-123-4567", "my number is [phone]"),
        ("+1 (555) 123 4567 please", "[phone] please"),
        ("write to a.b+c@mail.example.com", "write to [email]"),
        ("stage 4 since 2021", "stage 4 since 2021"),
    ],
)
def test_scrub(text, expected):
    assert scrub(text) == expected


def test_tell_me_more_continues_the_last_topic(kb, insights):
    replies, events = run(
        ActionTellMeMore(kb, insights), tracker("tell_me_more", slots={"last_topic": "what_is_metastasis"})
    )
    # The first follow-up of "what is metastasis" is "what is metastatic cancer".
    assert replies[0]["text"].startswith("A metastatic cancer, or metastatic tumor")
    assert replies[0]["custom"]["topic"] == "what_is_metastatic_cancer"


def test_tell_me_more_without_a_topic_offers_topics(kb, insights):
    [reply], events = run(ActionTellMeMore(kb, insights), tracker("tell_me_more"))
    assert reply["text"] == messages.fill(messages.MORE_WHAT) and reply["buttons"] and events == []


def test_start_over_restarts():
    [reply], events = run(ActionStartOver(), tracker("start_over"))
    assert reply["text"] == messages.fill(messages.START_OVER)
    assert events == [Restarted()]


def test_report_lists_topics_feedback_and_questions(tmp_path):
    import csv
    import io
    import os
    import subprocess
    import sys

    url = f"sqlite:///{tmp_path / 'report.db'}"
    migrate(url)
    store = InsightStore(url)
    for topic in ("coping", "coping", "coping", "support"):
        store.answered(topic, None, "rest")
    store.feedback("coping", False, "rest")
    store.feedback("support", True, "rest")
    store.unanswered("how much is parking, call 555 123 4567", "out_of_scope", "rest")

    def report(*args: str) -> subprocess.CompletedProcess:
        env = {**os.environ, "DATABASE_URL": url}
        return subprocess.run(
            [sys.executable, "-m", "bot", "report", *args], env=env, capture_output=True, text=True, check=True
        )

    text = report().stdout
    assert "     3  coping" in text and "     1  support" in text
    assert text.index("Topics marked not helpful") < text.index("     1  coping")
    assert "how much is parking, call [phone]" in text
    rows_ = list(csv.reader(io.StringIO(report("--format", "csv").stdout)))
    assert ["most_asked", "coping", "3", "", ""] in rows_
    assert ["unhelpful", "coping", "1", "", ""] in rows_
    chart = tmp_path / "chart.png"
    report("--plot", str(chart))
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
