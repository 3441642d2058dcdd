"""Retention: delete what is older than the retention period (RETENTION_DAYS, default 90).

`python -m bot purge --older-than 90d` removes
- conversations (Rasa's `events` rows on TRACKER_DATABASE_URL) whose latest
  event is older than the cut-off, all of their events at once, so no
  conversation is left half-deleted;
- feedback, stored unanswered questions, answer counts and remembered SMS
  MessageSids (DATABASE_URL) created before the cut-off.
SMS opt-outs are kept: a STOP must be honoured for as long as the number texts us.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from sqlalchemy import column, delete, func, inspect, select, table

from bot.channels.sms_store import ProcessedMessageRow
from bot.db import get_engine, new_session
from bot.insights.models import AnswerLogRow, FeedbackRow, UnansweredRow
from bot.settings import load_settings

EVENTS = table("events", column("sender_id"), column("timestamp"))
_AGE = re.compile(r"^\s*(\d+)\s*([dh])\s*$")


def parse_age(text: str) -> timedelta:
    """'90d' or '12h' -> a timedelta; anything else is refused with an example."""
    match = _AGE.match(text or "")
    if not match or int(match.group(1)) == 0:
        raise ValueError(f"{text!r} is not an age like 90d (days) or 12h (hours).")
    amount, unit = int(match.group(1)), match.group(2)
    return timedelta(days=amount) if unit == "d" else timedelta(hours=amount)


def purge(older_than: timedelta, database_url: str | None = None, tracker_url: str | None = None) -> dict[str, int]:
    """Delete everything older than `older_than`; returns how many rows of each kind went."""
    settings = load_settings()
    cutoff = datetime.now(timezone.utc) - older_than
    naive_cutoff = cutoff.replace(tzinfo=None)  # the project's tables store UTC without a zone
    counts: dict[str, int] = {}
    with new_session(database_url or settings.database_url) as session, session.begin():
        for name, model in (
            ("feedback", FeedbackRow),
            ("unanswered questions", UnansweredRow),
            ("answer counts", AnswerLogRow),
            ("SMS message ids", ProcessedMessageRow),
        ):
            counts[name] = session.execute(delete(model).where(model.created_at < naive_cutoff)).rowcount
    engine = get_engine(tracker_url or settings.tracker_database_url)
    counts["conversations"] = counts["conversation events"] = 0
    if inspect(engine).has_table("events"):
        stale = (
            select(EVENTS.c.sender_id)
            .group_by(EVENTS.c.sender_id)
            .having(func.max(EVENTS.c.timestamp) < cutoff.timestamp())
        )
        with engine.begin() as connection:
            senders = list(connection.execute(stale).scalars())
            for start in range(0, len(senders), 500):
                batch = senders[start : start + 500]
                deleted = connection.execute(delete(EVENTS).where(EVENTS.c.sender_id.in_(batch))).rowcount
                counts["conversation events"] += deleted
            counts["conversations"] = len(senders)
    return counts
