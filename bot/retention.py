"""Retention: delete what is older than the retention period (RETENTION_DAYS, default 90).

`python -m bot purge --older-than 90d` removes
- every conversation event (Rasa's `events` rows on TRACKER_DATABASE_URL) older
  than the cut-off, in conversations that are still going on too: a tracker
  never holds more than RETENTION_DAYS of history. A message arriving during
  the purge is newer than the cut-off, so it is never touched (and the tracker
  store appends after what it read, so nothing is written twice);
- feedback, stored unanswered questions and answer counts (DATABASE_URL)
  created before the cut-off;
- the reply stored for each SMS MessageSid; the MessageSid's hash itself is
  kept for SMS_REPLAY_DAYS (default 400) so a replayed provider request is
  still answered with nothing new.
SMS opt-outs are kept: a STOP must be honoured for as long as the number texts us.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from sqlalchemy import column, delete, func, inspect, select, table, update

from bot.db import get_engine, new_session
from bot.settings import load_settings
from bot.storage.insights import AnswerLogRow, FeedbackRow, UnansweredRow
from bot.storage.sms import ProcessedMessageRow

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
    replay_cutoff = (datetime.now(timezone.utc) - timedelta(days=settings.sms_replay_days)).replace(tzinfo=None)
    with new_session(database_url or settings.database_url) as session, session.begin():
        for name, model in (
            ("feedback", FeedbackRow),
            ("unanswered questions", UnansweredRow),
            ("answer counts", AnswerLogRow),
        ):
            counts[name] = session.execute(delete(model).where(model.created_at < naive_cutoff)).rowcount
        sms = ProcessedMessageRow
        counts["SMS replies"] = session.execute(
            update(sms).where(sms.created_at < naive_cutoff, sms.twiml.is_not(None)).values(twiml=None)
        ).rowcount
        counts["SMS message id hashes"] = session.execute(delete(sms).where(sms.created_at < replay_cutoff)).rowcount
    engine = get_engine(tracker_url or settings.tracker_database_url)
    counts["whole conversations"] = counts["conversation events"] = 0
    if inspect(engine).has_table("events"):
        old = EVENTS.c.timestamp < cutoff.timestamp()
        gone = (
            select(EVENTS.c.sender_id)
            .group_by(EVENTS.c.sender_id)
            .having(func.max(EVENTS.c.timestamp) < cutoff.timestamp())
        )
        with engine.begin() as connection:
            counts["whole conversations"] = len(list(connection.execute(gone).scalars()))
            counts["conversation events"] = connection.execute(delete(EVENTS).where(old)).rowcount
    return counts
