"""What the SMS channel must remember: opt-outs and answered MessageSids.

Phone numbers are never stored: senders are keyed by an HMAC of the number.
"""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import Column, DateTime, String, Text, select
from sqlalchemy.exc import IntegrityError

from bot.db import Base, session_factory


class OptOutRow(Base):
    __tablename__ = "sms_opt_outs"

    sender_hash = Column(String(64), primary_key=True)
    created_at = Column(DateTime, nullable=False)


class ProcessedMessageRow(Base):
    """The TwiML answered for a MessageSid, so a provider retry gets the same answer."""

    __tablename__ = "sms_processed"

    message_sid = Column(String(64), primary_key=True)
    twiml = Column(Text, nullable=False)
    created_at = Column(DateTime, nullable=False, index=True)  # purged after RETENTION_DAYS


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


class SmsStore:
    def __init__(self, url: str | None = None) -> None:
        self._sessions = session_factory(url)

    def is_opted_out(self, sender_hash: str) -> bool:
        with self._sessions() as session:
            return session.get(OptOutRow, sender_hash) is not None

    def opt_out(self, sender_hash: str) -> bool:
        """Record the opt-out; False if the number had already opted out."""
        try:
            with self._sessions() as session, session.begin():
                session.add(OptOutRow(sender_hash=sender_hash, created_at=_now()))
            return True
        except IntegrityError:
            return False

    def opt_in(self, sender_hash: str) -> None:
        with self._sessions() as session, session.begin():
            row = session.get(OptOutRow, sender_hash)
            if row:
                session.delete(row)

    def answered(self, message_sid: str) -> str | None:
        with self._sessions() as session:
            return session.execute(
                select(ProcessedMessageRow.twiml).where(ProcessedMessageRow.message_sid == message_sid)
            ).scalar_one_or_none()

    def remember(self, message_sid: str, twiml: str) -> None:
        try:
            with self._sessions() as session, session.begin():
                session.add(ProcessedMessageRow(message_sid=message_sid, twiml=twiml, created_at=_now()))
        except IntegrityError:
            pass  # a concurrent retry recorded it first; both answers are the same
