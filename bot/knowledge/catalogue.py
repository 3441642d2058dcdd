"""The topic catalogue (content/topics.yml): each topic declared once, resolved against the article.

A topic's answer names article sentences by their opening words; resolving them here,
at load time, means an edited article flows into the answers on the next load, and a
quote that no longer matches stops the load instead of serving stale text. The same
entry gives the topic's button label and, where the article leaves a list out, the
note that sends the person to their care team: the actions read those from here, and
`python -m bot setup` writes the topic's intent and rule from it (bot/rasa/topics.py).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, TypeGuard

import yaml

from bot import messages
from bot.knowledge.article import CONTENT_DIR, Article, Paragraph, Section, normalise_space
from bot.storage.knowledge import NO_SITE

CATALOGUE_PATH = CONTENT_DIR / "topics.yml"
TOPIC_FIELDS = {"topic", "label", "about", "not", "quotes", "gap", "gap_for_type", "followups", "sites"}
SITE_FIELDS = {"site", "label", "quotes", "gap", "gap_for_type", "followups"}


class CatalogueError(ValueError):
    """The catalogue is malformed or does not match the article."""


@dataclass(frozen=True)
class Topic:
    """What the catalogue says of one topic, or of one topic/site, besides its quotes."""

    key: str  # "topic" or "topic/site"
    label: str
    about: str
    not_for: str
    gap: str | None
    gap_for_type: str | None


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
    gap: str | None  # the key of the topic (or topic/site) whose gap note is said, if any
    followups: tuple[str, ...]


def _fields(entry: Any, allowed: set[str], where: str) -> dict[str, Any]:
    if not isinstance(entry, dict):
        raise CatalogueError(f"{where}: expected a mapping, got {entry!r}")
    unknown = set(entry) - allowed
    if unknown:
        raise CatalogueError(f"{where}: unknown field(s) {sorted(unknown)}; allowed: {sorted(allowed)}")
    for name in ("label", "quotes") if "sites" not in entry else ("label",):
        if not entry.get(name):
            raise CatalogueError(f"{where}: '{name}' is required")
    return entry


def _topic_entries(raw_entries: list[dict]) -> Iterator[dict[str, Any]]:
    """Each topic's entry, checked before any of its fields is read."""
    for number, entry in enumerate(raw_entries, 1):
        entry = _fields(entry, TOPIC_FIELDS, f"entry {number}")
        if not isinstance(entry.get("topic"), str) or not entry["topic"].isidentifier():
            raise CatalogueError(f"entry {number}: 'topic' must be a name like what_is_lymph")
        yield entry


def _site_entries(entry: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for site_entry in entry.get("sites", ()):
        yield str(site_entry.get("site")), _fields(site_entry, SITE_FIELDS, f"{entry['topic']}: a site")


def answer_entries(raw_entries: list[dict]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(topic, site, entry) for each answer: a topic's own, or one per site."""
    for entry in _topic_entries(raw_entries):
        if "sites" not in entry:
            yield entry["topic"], NO_SITE, entry
        for site, site_entry in _site_entries(entry):
            yield entry["topic"], site, site_entry


def _topic(key: str, entry: dict[str, Any]) -> Topic:
    about, not_for = entry.get("about", ""), entry.get("not", "")
    return Topic(key, entry["label"], about, not_for, entry.get("gap"), entry.get("gap_for_type"))


def topics_of(raw_entries: list[dict]) -> dict[str, Topic]:
    """Every topic and topic/site key with its label, description and gap notes."""
    found: dict[str, Topic] = {}
    for entry in _topic_entries(raw_entries):
        found[entry["topic"]] = _topic(entry["topic"], entry)
        for site, site_entry in _site_entries(entry):
            found[f"{entry['topic']}/{site}"] = _topic(f"{entry['topic']}/{site}", site_entry)
    return found


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
    for topic, site, entry in answer_entries(raw_entries):
        quotes: list[Quote] = []
        for opening in entry["quotes"]:
            quotes.extend(_with_list(*_find(article, opening)))
        key = topic if site == NO_SITE else f"{topic}/{site}"
        answers.append(
            ResolvedAnswer(
                topic=topic,
                site=site,
                quotes=tuple(quotes),
                gap=key if entry.get("gap") else None,
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


@cache
def topics(path: Path = CATALOGUE_PATH) -> dict[str, Topic]:
    """The catalogue's topics, read once per process (the actions' labels and gap notes)."""
    return topics_of(read_catalogue(path)[0])


def label(key: str) -> str:
    """The button label of a topic or topic/site."""
    known = topics().get(key)
    return known.label if known else key.partition("/")[0].replace("_", " ")


def is_topic(key: object, with_site: bool = True) -> TypeGuard[str]:
    """Whether `key` is a topic of the catalogue (or, `with_site`, a topic/site)."""
    return isinstance(key, str) and key in topics() and (with_site or "/" not in key)


def gap_note(key: str, person: str | None = None, cancer_type: str | None = None) -> str:
    """The note said where the article announces a list it does not give; about spread, with
    the cancer type the conversation named ("does not say where colon cancer tends to spread")."""
    topic = topics()[key]
    if topic.gap is None:
        raise KeyError(f"{key!r} has no gap note")
    if cancer_type and topic.gap_for_type:
        return messages.fill(topic.gap_for_type.replace("{cancer_type}", cancer_type), person=person)
    return messages.fill(topic.gap, person=person)
