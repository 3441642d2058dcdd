"""The knowledge base's tables: the article, its sections, and the answers the bot gives.

SQLAlchemy 1.4 in 2.0 style (`future=True` engines and sessions, `select()`).
Each answer keeps its sentences as rows that point at the section they were
taken from, so a reviewer can trace every word the bot says to the page.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import relationship

from bot.storage.base import Base

NO_SITE = ""  # answers that do not depend on a body site


class ArticleRow(Base):
    __tablename__ = "kb_articles"

    id = Column(Integer, primary_key=True)
    slug = Column(String(100), unique=True, nullable=False)
    title = Column(String(200), nullable=False)
    reviewer = Column(String(200), nullable=False)
    updated: date = Column(Date, nullable=False)
    content_hash = Column(String(64), nullable=False)
    catalogue_hash = Column(String(64), nullable=False)
    loaded_at: datetime = Column(DateTime, nullable=False)

    sections = relationship(
        "SectionRow",
        back_populates="article",
        cascade="all, delete-orphan",
        order_by="SectionRow.position",
    )
    answers = relationship("AnswerRow", back_populates="article", cascade="all, delete-orphan")


class SectionRow(Base):
    __tablename__ = "kb_sections"

    id = Column(Integer, primary_key=True)
    article_id = Column(ForeignKey("kb_articles.id", ondelete="CASCADE"), nullable=False)
    position = Column(Integer, nullable=False)
    heading = Column(String(200), nullable=False)
    text = Column(Text, nullable=False)

    article = relationship("ArticleRow", back_populates="sections")
    __table_args__ = (UniqueConstraint("article_id", "position"),)


class AnswerRow(Base):
    __tablename__ = "kb_answers"

    id = Column(Integer, primary_key=True)
    article_id = Column(ForeignKey("kb_articles.id", ondelete="CASCADE"), nullable=False)
    topic = Column(String(100), nullable=False)
    site = Column(String(50), nullable=False, default=NO_SITE)
    section_id = Column(ForeignKey("kb_sections.id", ondelete="CASCADE"), nullable=False)
    gap = Column(String(50), nullable=True)  # a list the article announces but lacks
    followups = Column(JSON, nullable=False, default=list)

    article = relationship("ArticleRow", back_populates="answers")
    section = relationship("SectionRow")
    sentences = relationship(
        "AnswerSentenceRow",
        cascade="all, delete-orphan",
        order_by="AnswerSentenceRow.position",
        back_populates="answer",
    )
    __table_args__ = (UniqueConstraint("article_id", "topic", "site"),)


class AnswerSentenceRow(Base):
    __tablename__ = "kb_answer_sentences"

    id = Column(Integer, primary_key=True)
    answer_id = Column(ForeignKey("kb_answers.id", ondelete="CASCADE"), nullable=False)
    position = Column(Integer, nullable=False)
    section_id = Column(ForeignKey("kb_sections.id", ondelete="CASCADE"), nullable=False)
    text = Column(Text, nullable=False)
    is_list_item = Column(Boolean, nullable=False, default=False)

    answer = relationship("AnswerRow", back_populates="sentences")
    section = relationship("SectionRow")
