"""Parse the reviewed article into sections and sentences, without changing a word.

The article file is the page as received, with a small front matter block that
records what the page itself does not say in machine-readable form (its title,
reviewer, date, which lines are headings, which lines are page furniture).
Everything the bot quotes comes out of this parser, so it only ever splits text;
it never edits it (runs of whitespace are the one thing collapsed).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import yaml

CONTENT_DIR = Path(__file__).parent / "content"
ARTICLE_PATH = CONTENT_DIR / "metastatic-cancer.txt"

BULLET = "•"
# A sentence ends at . ? ! (optionally inside a closing quote) followed by space.
_SENTENCE_END = re.compile(r"(?<=[.?!][”\"’])\s+|(?<=[.?!])\s+(?=[A-Z“\"‘])")


class ArticleError(ValueError):
    """The article file does not have the shape the knowledge base relies on."""


@dataclass(frozen=True)
class Paragraph:
    """A paragraph of prose, or one item of a bulleted list."""

    sentences: tuple[str, ...]
    is_list_item: bool = False

    @property
    def text(self) -> str:
        return " ".join(self.sentences)


@dataclass
class Section:
    heading: str
    paragraphs: list[Paragraph] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "\n".join((f"{BULLET} " if p.is_list_item else "") + p.text for p in self.paragraphs)


@dataclass
class Article:
    slug: str
    title: str
    reviewer: str
    updated: date
    sections: list[Section]
    content_hash: str

    def sentences(self) -> list[tuple[Section, Paragraph, str]]:
        """Every sentence in reading order, with where it came from."""
        return [
            (section, paragraph, sentence)
            for section in self.sections
            for paragraph in section.paragraphs
            for sentence in paragraph.sentences
        ]


def normalise_space(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def split_sentences(text: str) -> tuple[str, ...]:
    return tuple(s for s in _SENTENCE_END.split(normalise_space(text)) if s)


def _front_matter(raw: str) -> tuple[dict, str]:
    if not raw.startswith("---\n"):
        raise ArticleError("the article file must start with a '---' front matter block")
    try:
        header, body = raw[4:].split("\n---\n", 1)
    except ValueError as exc:
        raise ArticleError("the article's front matter block is not closed by '---'") from exc
    meta = yaml.safe_load(header) or {}
    for key in ("title", "reviewer", "updated", "headings"):
        if not meta.get(key):
            raise ArticleError(f"the article's front matter has no '{key}'")
    return meta, body


def parse_article(text: str, slug: str = "metastatic-cancer") -> Article:
    """Split the article into its sections (in order) and their sentences."""
    meta, body = _front_matter(text)
    headings = [normalise_space(h) for h in meta["headings"]]
    furniture = tuple(normalise_space(p) for p in meta.get("not_content", []))
    updated = meta["updated"]
    if not isinstance(updated, date):
        updated = date.fromisoformat(str(updated))

    sections = [Section(heading=str(meta.get("intro_heading", "Introduction")))]
    seen: set[str] = set()
    for line in body.splitlines():
        line = normalise_space(line)
        if not line or line.startswith(furniture):
            continue
        if line in headings:
            seen.add(line)
            sections.append(Section(heading=line))
            continue
        is_item = line.startswith(BULLET)
        if is_item:
            line = line[len(BULLET) :].strip()
        sections[-1].paragraphs.append(Paragraph(split_sentences(line), is_item))
    missing = [h for h in headings if h not in seen]
    if missing:
        raise ArticleError(f"headings listed in the front matter are not in the text: {missing}")
    if not sections[0].paragraphs:
        sections.pop(0)
    return Article(
        slug=slug,
        title=str(meta["title"]),
        reviewer=str(meta["reviewer"]),
        updated=updated,
        sections=sections,
        content_hash=hashlib.sha256(text.encode("utf-8")).hexdigest(),
    )


def load_article(path: Path = ARTICLE_PATH) -> Article:
    return parse_article(path.read_text(encoding="utf-8"), slug=path.stem)
