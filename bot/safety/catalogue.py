"""The safety patterns (bot/nlp/safety_patterns.yml): reviewable data, read and checked here.

Clinicians review the YAML, not this code. Loading checks what a typo would
silently break: every flag has a known level and at least one known source,
every group a phrase names exists, and every context cue list is present.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache, cached_property
from pathlib import Path
from typing import Any

import yaml

# Beside the NLP pipeline that loads it (the spaCy component in bot/safety/matcher.py).
CATALOGUE_PATH = Path(__file__).parents[1] / "nlp" / "safety_patterns.yml"
LANGUAGES = ("en", "es")  # every phrase list has these two; the replies are worded in both

EMERGENCY = "emergency"
URGENT = "urgent"
CRISIS = "crisis"
# The order in which levels win when one message has several. Crisis first: its
# reply also gives the emergency number.
LEVELS = (CRISIS, EMERGENCY, URGENT)

CONTEXT_KINDS = (
    "negation_before",
    "negation_after",
    "pseudo",
    "history",
    "hypothetical_before",
    "hypothetical_after",
    "reassured",
    "contrast",
    "current",
    "recent",
    "present",
    "past",
    "recurrence",
    "self",
    "other",
)
GROUP_REFERENCE = re.compile(r"\{(\w+)\}")
PATTERN_REFERENCE = re.compile(r"<(\w+)>")


@dataclass(frozen=True)
class RedFlag:
    id: str
    name: str
    level: str
    sources: tuple[str, ...]
    phrases: tuple[str, ...]
    together: tuple[tuple[str, str], ...] = ()  # pairs of groups that fire the flag together
    not_followed_by: frozenset[str] = frozenset()
    unless: tuple[str, ...] = ()  # phrases that undo the flag in its sentence
    note: str = ""


@dataclass(frozen=True)
class Catalogue:
    sources: dict[str, dict[str, str]]
    patterns: dict[str, str]
    groups: dict[str, tuple[str, ...]]
    red_flags: tuple[RedFlag, ...]
    cues: dict[str, tuple[str, ...]]
    clause_breaks: frozenset[str]
    window: int
    # Function words that say which of LANGUAGES a message is written in (the reply's language).
    language_words: dict[str, frozenset[str]]

    @cached_property
    def _by_id(self) -> dict[str, RedFlag]:
        return {flag.id: flag for flag in self.red_flags}

    def flag(self, flag_id: str) -> RedFlag:
        """Looked up for every hit of every message: a dict, not a scan."""
        return self._by_id[flag_id]

    def combination_groups(self) -> set[str]:
        return {group for flag in self.red_flags for pair in flag.together for group in pair}


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ValueError(f"{where}: expected a list of words or phrases")
    return tuple(value)


def _both_languages(entry: dict[str, Any], where: str) -> tuple[str, ...]:
    return tuple(p for language in LANGUAGES for p in _strings(entry.get(language) or [], f"{where}.{language}"))


def parse(raw: dict[str, Any]) -> Catalogue:
    sources = raw["sources"]
    patterns = {name: str(rx) for name, rx in raw.get("patterns", {}).items()}
    for rx in patterns.values():
        re.compile(rx)  # a broken expression fails here, not at the first message
    groups = {name: _strings(words, f"groups.{name}") for name, words in raw["groups"].items()}
    flags = []
    for entry in raw["red_flags"]:
        where = f"red flag {entry.get('id')!r}"
        if entry.get("level") not in LEVELS:
            raise ValueError(f"{where}: level must be one of {LEVELS}")
        cited = _strings(entry.get("sources"), f"{where}.sources")
        if unknown := [s for s in cited if s not in sources]:
            raise ValueError(f"{where}: unknown sources {unknown}")
        flags.append(
            RedFlag(
                id=entry["id"],
                name=entry["name"],
                level=entry["level"],
                sources=cited,
                phrases=_both_languages(entry, where),
                together=tuple(tuple(pair) for pair in entry.get("with", ())),
                not_followed_by=frozenset(entry.get("not_followed_by", ())),
                unless=_strings(entry.get("unless") or [], f"{where}.unless") if entry.get("unless") else (),
                note=entry.get("note", ""),
            )
        )
    context = raw["context"]
    cues = {kind: _both_languages(context[kind], f"context.{kind}") for kind in CONTEXT_KINDS}
    catalogue = Catalogue(
        sources=sources,
        patterns=patterns,
        groups=groups,
        red_flags=tuple(flags),
        cues=cues,
        clause_breaks=frozenset(_strings(context["clause_breaks"], "context.clause_breaks")),
        window=int(context["window"]),
        language_words={
            language: frozenset(_strings((raw.get("languages") or {}).get(language), f"languages.{language}"))
            for language in LANGUAGES
        },
    )
    _check_references(catalogue)
    return catalogue


def _check_references(catalogue: Catalogue) -> None:
    texts = [p for f in catalogue.red_flags for p in f.phrases + f.unless]
    texts += [w for words in catalogue.groups.values() for w in words]
    texts += [c for cues in catalogue.cues.values() for c in cues]
    for text in texts:
        for group in GROUP_REFERENCE.findall(text):
            if group not in catalogue.groups:
                raise ValueError(f"{text!r} names an unknown group {{{group}}}")
        for pattern in PATTERN_REFERENCE.findall(text):
            if pattern not in catalogue.patterns:
                raise ValueError(f"{text!r} names an unknown pattern <{pattern}>")
    for group in catalogue.combination_groups():
        if group not in catalogue.groups:
            raise ValueError(f"`with` names an unknown group {group!r}")


@cache
def load_catalogue(path: Path = CATALOGUE_PATH) -> Catalogue:
    return parse(yaml.safe_load(path.read_text(encoding="utf-8")))
