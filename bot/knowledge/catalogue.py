"""Resolve the answer catalogue (answers.yml) against the article, sentence by sentence.

The catalogue names sentences by their opening words; resolving them here, at
load time, means an edited article flows into the answers on the next load, and
a quote that no longer matches stops the load instead of serving stale text.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import yaml

from bot.knowledge.article import CONTENT_DIR, Article, Paragraph, Section, normalise_space
from bot.storage.knowledge import NO_SITE

CATALOGUE_PATH = CONTENT_DIR / "answers.yml"


class CatalogueError(ValueError):
    """The catalogue does not match the article."""


@dataclass(frozen=True)
class Quote:
    section: Section
    text: str
    is_list_item: bool


@dataclass(frozen=True)
class ResolvedAnswer:
    topic: str
    site: str
    quotes: tuple[Quote, ...]
    gap: str | None
    followups: tuple[str, ...]


def _find(article: Article, opening: str) -> tuple[Section, Paragraph, str]:
    opening = normalise_space(opening)
    hits = [hit for hit in article.sentences() if hit[2].startswith(opening)]
    if len(hits) != 1:
        what = "no sentence" if not hits else f"{len(hits)} sentences"
        raise CatalogueError(f"{opening!r} matches {what} of the article")
    return hits[0]


def _with_list(section: Section, paragraph: Paragraph, sentence: str) -> list[Quote]:
    """The sentence, and the bulleted list it introduces when it ends with ':'."""
    quotes = [Quote(section, sentence, paragraph.is_list_item)]
    if not sentence.endswith(":") or sentence != paragraph.sentences[-1]:
        return quotes
    following = section.paragraphs[section.paragraphs.index(paragraph) + 1 :]
    for item in following:
        if not item.is_list_item:
            break
        quotes.extend(Quote(section, s, True) for s in item.sentences)
    return quotes


def resolve(article: Article, raw_entries: list[dict]) -> list[ResolvedAnswer]:
    answers: list[ResolvedAnswer] = []
    for entry in raw_entries:
        quotes: list[Quote] = []
        for opening in entry["quotes"]:
            quotes.extend(_with_list(*_find(article, opening)))
        answers.append(
            ResolvedAnswer(
                topic=entry["topic"],
                site=entry.get("site") or NO_SITE,
                quotes=tuple(quotes),
                gap=entry.get("gap"),
                followups=tuple(entry.get("followups", ())),
            )
        )
    _check(answers)
    return answers


def _check(answers: list[ResolvedAnswer]) -> None:
    keys = [(a.topic, a.site) for a in answers]
    duplicates = {k for k in keys if keys.count(k) > 1}
    if duplicates:
        raise CatalogueError(f"answers defined twice: {sorted(duplicates)}")
    topics = {a.topic for a in answers}
    for answer in answers:
        for followup in answer.followups:
            topic, _, site = followup.partition("/")
            if (topic, site) not in keys and not (not site and topic in topics):
                raise CatalogueError(f"{answer.topic}: follow-up {followup!r} has no answer")


def read_catalogue(path: Path = CATALOGUE_PATH) -> tuple[list[dict], str]:
    raw = path.read_text(encoding="utf-8")
    return yaml.safe_load(raw) or [], hashlib.sha256(raw.encode("utf-8")).hexdigest()
