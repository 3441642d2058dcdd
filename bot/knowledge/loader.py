"""Load the article and its answers into the database, idempotently.

Loading the same article and catalogue twice changes nothing; loading an edited
one replaces that article's sections and answers in a single transaction, so
the action server never sees half an update.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from bot.db import utcnow_naive
from bot.knowledge.article import ARTICLE_PATH, load_article
from bot.knowledge.catalogue import CATALOGUE_PATH, read_catalogue, resolve
from bot.storage.knowledge import (
    AnswerRow,
    AnswerSentenceRow,
    ArticleRow,
    SectionRow,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LoadResult:
    slug: str
    changed: bool
    sections: int
    answers: int


def load_knowledge_base(
    engine: Engine,
    article_path: Path = ARTICLE_PATH,
    catalogue_path: Path = CATALOGUE_PATH,
) -> LoadResult:
    """Put the article and its answers into the database behind `engine` (migrated first)."""
    article = load_article(article_path)
    entries, catalogue_hash = read_catalogue(catalogue_path)
    answers = resolve(article, entries)  # fails before touching the database

    with Session(engine, future=True) as session, session.begin():
        row = session.execute(select(ArticleRow).where(ArticleRow.slug == article.slug)).scalar_one_or_none()
        if row and (row.content_hash, row.catalogue_hash) == (article.content_hash, catalogue_hash):
            return LoadResult(article.slug, False, len(row.sections), len(row.answers))
        if row:
            session.delete(row)
            session.flush()
        row = ArticleRow(
            slug=article.slug,
            title=article.title,
            reviewer=article.reviewer,
            updated=article.updated,
            content_hash=article.content_hash,
            catalogue_hash=catalogue_hash,
            loaded_at=utcnow_naive(),
        )
        section_rows = {
            id(section): SectionRow(position=i, heading=section.heading, text=section.text)
            for i, section in enumerate(article.sections)
        }
        row.sections = list(section_rows.values())
        for answer in answers:
            row.answers.append(
                AnswerRow(
                    topic=answer.topic,
                    site=answer.site,
                    section=section_rows[id(answer.quotes[0].section)],
                    gap=answer.gap,
                    followups=list(answer.followups),
                    sentences=[
                        AnswerSentenceRow(
                            position=i,
                            section=section_rows[id(q.section)],
                            text=q.text,
                            is_list_item=q.is_list_item,
                        )
                        for i, q in enumerate(answer.quotes)
                    ],
                )
            )
        session.add(row)
    log.info("Loaded %s: %d sections, %d answers", article.slug, len(section_rows), len(answers))
    return LoadResult(article.slug, True, len(section_rows), len(answers))
