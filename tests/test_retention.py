"""`python -m bot purge --older-than 90d` and the database migrations, on real SQLite files."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import func, inspect, select

from bot.channels.sms.store import sid_hash
from bot.db import get_engine, migrate, new_session, utcnow_naive
from bot.rasa.stores import ConversationStore
from bot.storage import Base, schema
from bot.storage.insights import AnswerLogRow, FeedbackRow, UnansweredRow
from bot.storage.sms import OptOutRow, ProcessedMessageRow
from tests.conftest import ROOT

DAY = timedelta(days=1)


@pytest.fixture
def databases(tmp_path) -> tuple[str, str]:
    bot_url, tracker_url = f"sqlite:///{tmp_path / 'bot.db'}", f"sqlite:///{tmp_path / 'conversations.db'}"
    migrate(bot_url)
    ConversationStore(host=tracker_url)  # Rasa creates its events table
    return bot_url, tracker_url


def add_events(tracker_url: str, sender: str, *ages: timedelta) -> None:
    with new_session(tracker_url) as session, session.begin():
        for age in ages:
            stamp = (datetime.now(timezone.utc) - age).timestamp()
            session.add(ConversationStore.SQLEvent(sender_id=sender, type_name="user", timestamp=stamp, data="{}"))


def purge(bot_url: str, tracker_url: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": bot_url, "TRACKER_DATABASE_URL": tracker_url}
    command = [sys.executable, "-m", "bot", "purge", *args]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def test_purge_deletes_every_old_event_and_old_insights_only(databases):
    bot_url, tracker_url = databases
    add_events(tracker_url, "sms:old", 200 * DAY, 100 * DAY)
    # Still active (an SMS sender who writes every 89 days): its old events go, its recent one stays.
    add_events(tracker_url, "sms:spans-the-cutoff", 120 * DAY, 91 * DAY, 2 * DAY)
    add_events(tracker_url, "web:recent", 1 * DAY)
    now = utcnow_naive()
    with new_session(bot_url) as session, session.begin():
        for age in (100 * DAY, 1 * DAY):
            session.add(FeedbackRow(topic="coping", helpful=True, channel="rest", created_at=now - age))
            session.add(UnansweredRow(text="parking?", reason="out_of_scope", channel="rest", created_at=now - age))
            session.add(AnswerLogRow(topic="coping", site=None, channel="rest", created_at=now - age))
        for age in (500 * DAY, 100 * DAY, 1 * DAY):
            sid = sid_hash(f"SM{age.days}")
            session.add(ProcessedMessageRow(message_sid=sid, twiml="<Response/>", created_at=now - age))
        session.add(OptOutRow(sender_hash="a" * 64, created_at=now - 400 * DAY))

    result = purge(bot_url, tracker_url, "--older-than", "90d")
    assert result.returncode == 0, result.stderr
    assert "whole conversations: 1 deleted" in result.stdout and "conversation events: 4 deleted" in result.stdout
    with new_session(tracker_url) as session:
        rows = session.execute(select(ConversationStore.SQLEvent.sender_id, ConversationStore.SQLEvent.timestamp))
        left = sorted((sender, round((time.time() - stamp) / 86400)) for sender, stamp in rows)
        assert left == [("sms:spans-the-cutoff", 2), ("web:recent", 1)]
    with new_session(bot_url) as session:
        for model in (FeedbackRow, UnansweredRow, AnswerLogRow):
            assert session.execute(select(func.count()).select_from(model)).scalar_one() == 1, model
        # SMS: the reply older than the cut-off is gone, its MessageSid hash stays to refuse a replay;
        # hashes older than SMS_REPLAY_DAYS (400) go.
        replies = dict(session.execute(select(ProcessedMessageRow.message_sid, ProcessedMessageRow.twiml)).all())
        assert replies == {sid_hash("SM100"): None, sid_hash("SM1"): "<Response/>"}
        # A STOP is honoured for good: opt-outs are not purged.
        assert session.execute(select(func.count()).select_from(OptOutRow)).scalar_one() == 1


def test_purge_refuses_a_bad_age(databases):
    for bad in ("0d", "90", "ninety days", "-5d"):
        result = purge(*databases, f"--older-than={bad}")
        assert result.returncode != 0 and "is not an age like 90d" in result.stderr


def test_purge_default_is_the_retention_setting(databases):
    result = purge(*databases)
    assert result.returncode == 0 and "older than 90d" in result.stdout


def test_migrations_build_exactly_the_models(tmp_path):
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    assert migrate(url) == "0003"
    with get_engine(url).connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), schema()) == []


def test_database_from_before_migrations_is_stamped_not_recreated(tmp_path):
    url = f"sqlite:///{tmp_path / 'legacy.db'}"
    engine = get_engine(url)
    Base.metadata.create_all(engine)  # as `create_all` left databases before migrations...
    with engine.begin() as connection:  # ...which had no index on sms_processed.created_at
        connection.exec_driver_sql("DROP INDEX ix_sms_processed_created_at")
    with new_session(url) as session, session.begin():
        session.add(FeedbackRow(topic="coping", helpful=True, channel="rest", created_at=utcnow_naive()))
    assert migrate(url) == "0003"
    assert "ix_sms_processed_created_at" in {i["name"] for i in inspect(engine).get_indexes("sms_processed")}
    with new_session(url) as session:
        assert session.execute(select(func.count()).select_from(FeedbackRow)).scalar_one() == 1


def test_migration_hashes_stored_message_sids(tmp_path):
    """A database from before 0003 keeps refusing retries of the MessageSids it answered."""
    from alembic import command
    from alembic.config import Config

    from bot.channels.sms.store import SmsStore
    from bot.db import MIGRATIONS

    url = f"sqlite:///{tmp_path / 'before.db'}"
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url)
    command.upgrade(config, "0002")
    with get_engine(url).begin() as connection:
        connection.exec_driver_sql(
            "INSERT INTO sms_processed (message_sid, twiml, created_at) "
            "VALUES ('SMabc', '<Response>x</Response>', '2026-11-01 00:00:00.000000')"
        )
    assert migrate(url) == "0003"
    store = SmsStore(url)
    assert store.answered("SMabc") == "<Response>x</Response>"
    assert store.answered("SMother") is None
