"""What the SMS channel must remember: opt-outs and answered MessageSids.

The tables are `bot.storage.sms`: phone numbers are never stored (senders are
keyed by an HMAC of the number), MessageSids only as SHA-256 hashes.
"""

from __future__ import annotations

import hashlib

from sqlalchemy.exc import IntegrityError

from bot.db import session_factory, utcnow_naive
from bot.storage.sms import OptOutRow, ProcessedMessageRow


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
