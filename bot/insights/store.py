"""Record insights from the action server; a failure to record never costs a reply."""

from __future__ import annotations

import logging

from sqlalchemy.exc import SQLAlchemyError

from bot.db import session_factory, utcnow_naive
from bot.privacy import scrub
from bot.storage import Base
from bot.storage.insights import AnswerLogRow, FeedbackRow, UnansweredRow

log = logging.getLogger(__name__)
MAX_STORED_TEXT = 2000


class InsightStore:
    """Writes to the database at `url` (default DATABASE_URL)."""

    def __init__(self, url: str | None = None) -> None:
        self._sessions = session_factory(url)

    def _add(self, row: Base) -> None:
        try:
            with self._sessions() as session, session.begin():
                session.add(row)
        except SQLAlchemyError:
            log.exception("Could not record %s", type(row).__name__)

    def answered(self, topic: str, site: str | None, channel: str | None) -> None:
        self._add(AnswerLogRow(topic=topic, site=site or None, channel=channel, created_at=utcnow_naive()))

    def feedback(self, topic: str | None, helpful: bool, channel: str | None) -> None:
        self._add(FeedbackRow(topic=topic, helpful=helpful, channel=channel, created_at=utcnow_naive()))

    def unanswered(self, text: str, reason: str, channel: str | None) -> None:
        text = scrub(text or "")[:MAX_STORED_TEXT].strip()
        if text:
            self._add(UnansweredRow(text=text, reason=reason, channel=channel, created_at=utcnow_naive()))
