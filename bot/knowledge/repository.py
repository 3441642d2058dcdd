"""Read answers out of the knowledge base: the only way actions reach medical text."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from bot.db import session_factory
from bot.knowledge.article import BULLET
from bot.storage.knowledge import NO_SITE, AnswerRow, ArticleRow


@dataclass(frozen=True)
class Source:
    title: str
    reviewer: str
    updated: str  # as the page says it, e.g. "June 14, 2022"

    def as_dict(self) -> dict[str, str]:
        return {"title": self.title, "reviewer": self.reviewer, "updated": self.updated}


@dataclass(frozen=True)
class Answer:
    topic: str
    site: str
    sentences: tuple[tuple[str, bool], ...]  # (verbatim sentence, is a list item)
    section: str
    gap: str | None
    followups: tuple[str, ...]
    source: Source

    @property
    def text(self) -> str:
        """The article's sentences; prose runs on, list items go on their own lines."""
        lines: list[str] = []
        for sentence, is_item in self.sentences:
            if is_item:
                lines.append(f"{BULLET} {sentence}")
            elif lines and not lines[-1].startswith(BULLET):
                lines[-1] += f" {sentence}"
            else:
                lines.append(sentence)
        return "\n".join(lines)


def _source(article: ArticleRow) -> Source:
    updated = f"{article.updated:%B} {article.updated.day}, {article.updated.year}"
    return Source(article.title, article.reviewer, updated)


class KnowledgeBase:
    """Answers by topic and site, from the database at `url` (default DATABASE_URL).

    Answers are kept in memory once read (four queries each), for as long as the
    article in the database is the same: every lookup checks the loaded article's
    hashes with one small query, so a `load-kb` of a new version is served at once,
    and a database that cannot be reached is noticed on the next question.
    """

    def __init__(self, url: str | None = None) -> None:
        self._sessions = session_factory(url)
        self._version: tuple[str, str] | None = None
        self._answers: dict[tuple[str, str], Answer] = {}

    def _current(self) -> None:
        with self._sessions() as session:
            row = session.execute(select(ArticleRow.content_hash, ArticleRow.catalogue_hash).limit(1)).first()
        version = tuple(row) if row else None
        if version != self._version:
            self._answers.clear()
            self._version = version

    def answer(self, topic: str, site: str | None = None) -> Answer | None:
        self._current()
        key = (topic, site or NO_SITE)
        if key not in self._answers:
            found = self._read_answer(*key)
            if found is None:
                return None  # not remembered: sites in typed payloads are arbitrary text
            self._answers[key] = found
        return self._answers[key]

    def _read_answer(self, topic: str, site: str) -> Answer | None:
        query = (
            select(AnswerRow)
            .where(AnswerRow.topic == topic, AnswerRow.site == site)
            .options(
                selectinload(AnswerRow.sentences),
                selectinload(AnswerRow.section),
                selectinload(AnswerRow.article),
            )
        )
        with self._sessions() as session:
            row = session.execute(query).scalar_one_or_none()
            if row is None:
                return None
            return Answer(
                topic=row.topic,
                site=row.site,
                sentences=tuple((s.text, s.is_list_item) for s in row.sentences),
                section=row.section.heading,
                gap=row.gap,
                followups=tuple(row.followups),
                source=_source(row.article),
            )

    def sites(self, topic: str) -> list[str]:
        """The body sites `topic` has answers for, in catalogue order."""
        query = select(AnswerRow.site).where(AnswerRow.topic == topic, AnswerRow.site != NO_SITE).order_by(AnswerRow.id)
        with self._sessions() as session:
            return list(session.execute(query).scalars())

    def source(self) -> Source | None:
        with self._sessions() as session:
            article = session.execute(select(ArticleRow).limit(1)).scalar_one_or_none()
            return _source(article) if article else None
