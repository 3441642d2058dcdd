"""What the SMS channel must remember: opt-outs and answered MessageSids.

Phone numbers are never stored: senders are keyed by an HMAC of the number.
MessageSids are stored as SHA-256 hashes; the reply kept for each is cleared
after RETENTION_DAYS, the hash kept longer (SMS_REPLAY_DAYS) so a replayed
request is answered with nothing.
"""

from __future__ import annotations

import hashlib

from sqlalchemy import Column, DateTime, String, Text
from sqlalchemy.exc import IntegrityError

from bot.db import Base, session_factory, utcnow_naive


class OptOutRow(Base):
    __tablename__ = "sms_opt_outs"

    sender_hash = Column(String(64), primary_key=True)
    created_at = Column(DateTime, nullable=False)


class ProcessedMessageRow(Base):
    """The TwiML answered for a MessageSid, so a provider retry gets the same answer."""

    __tablename__ = "sms_processed"

    message_sid = Column(String(64), primary_key=True)  # SHA-256 of the MessageSid, hex
    twiml = Column(Text, nullable=True)  # None once purged: the MessageSid is still known
    created_at = Column(DateTime, nullable=False, index=True)  # purged after RETENTION_DAYS


def sid_hash(message_sid: str) -> str:
    return hashlib.sha256(message_sid.encode("utf-8", "replace")).hexdigest()


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
                session.add(OptOutRow(sender_hash=sender_hash, created_at=utcnow_naive()))
            return True
        except IntegrityError:
            return False

    def opt_in(self, sender_hash: str) -> None:
        with self._sessions() as session, session.begin():
            row = session.get(OptOutRow, sender_hash)
            if row:
                session.delete(row)

    def answered(self, message_sid: str) -> str | None:
        """The TwiML answered for this MessageSid; "" if its reply was purged; None if never seen."""
        with self._sessions() as session:
            row = session.get(ProcessedMessageRow, sid_hash(message_sid))
            return None if row is None else row.twiml or ""

    def remember(self, message_sid: str, twiml: str) -> None:
        try:
            with self._sessions() as session, session.begin():
                row = ProcessedMessageRow(message_sid=sid_hash(message_sid), twiml=twiml, created_at=utcnow_naive())
                session.add(row)
        except IntegrityError:
            pass  # a concurrent retry recorded it first; both answers are the same
