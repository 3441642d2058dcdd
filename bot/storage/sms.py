"""The SMS channel's tables: opt-outs and answered MessageSids.

Phone numbers are never stored: senders are keyed by an HMAC of the number.
MessageSids are stored as SHA-256 hashes; the reply kept for each is cleared
after RETENTION_DAYS, the hash kept longer (SMS_REPLAY_DAYS) so a replayed
request is answered with nothing.
"""

from __future__ import annotations

from sqlalchemy import Column, DateTime, String, Text

from bot.storage.base import Base


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
