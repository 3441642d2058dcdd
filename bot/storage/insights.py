"""Tables for usage insights. No column holds a sender id."""

from sqlalchemy import Boolean, Column, DateTime, Integer, String, Text

from bot.storage.base import Base


class AnswerLogRow(Base):
    """One medical answer given: which topic, on which channel, when."""

    __tablename__ = "insight_answers"

    id = Column(Integer, primary_key=True)
    topic = Column(String(100), nullable=False, index=True)
    site = Column(String(50), nullable=True)
    channel = Column(String(50), nullable=True)
    created_at = Column(DateTime, nullable=False, index=True)


class FeedbackRow(Base):
    """A "Was this helpful?" answer, for the topic it was about."""

    __tablename__ = "insight_feedback"

    id = Column(Integer, primary_key=True)
    topic = Column(String(100), nullable=True, index=True)
    helpful = Column(Boolean, nullable=False)
    channel = Column(String(50), nullable=True)
    created_at = Column(DateTime, nullable=False, index=True)


class UnansweredRow(Base):
    """A question the assistant could not answer (scrubbed text)."""

    __tablename__ = "insight_unanswered"

    id = Column(Integer, primary_key=True)
    text = Column(Text, nullable=False)
    reason = Column(String(30), nullable=False)  # not_understood | out_of_scope
    channel = Column(String(50), nullable=True)
    created_at = Column(DateTime, nullable=False, index=True)
