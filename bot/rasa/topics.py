"""Rasa's intents and rules for the catalogue's topics, written from the catalogue.

A topic is declared once, in bot/knowledge/content/topics.yml. Rasa still needs each
topic's intent in domain.yml and its `ask_<topic> -> action_answer` rule in
data/rules.yml, and docs/intents.md lists the topics: those three blocks, between
"generated" markers, are written here by `python -m bot setup` (or `python -m bot
topics`), so they can never drift from the catalogue. tests/test_topics.py fails when a
block is stale. Everything outside the markers is hand-written and kept as it is.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bot.knowledge.catalogue import Topic, read_catalogue, topics_of
from bot.settings import PROJECT_ROOT

ASK_PREFIX = "ask_"
BEGIN = "generated from bot/knowledge/content/topics.yml by `python -m bot setup`: do not edit"
END = "end of generated topics"


@dataclass(frozen=True)
class Block:
    """One generated block: a file, its comment syntax, and the lines between the markers."""

    path: str  # relative to the project root
    comment: tuple[str, str]  # how a marker line is written: (before, after)


BLOCKS = (
    Block("domain.yml", ("# ", "")),
    Block("data/rules.yml", ("# ", "")),
    Block("docs/intents.md", ("<!-- ", " -->")),
)


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _lines(block: Block, topics: list[Topic]) -> list[str]:
    if block.path == "domain.yml":
        return [f"- {ASK_PREFIX}{t.key}" for t in topics]
    if block.path == "data/rules.yml":
        rules = []
        for t in topics:
            rules += [
                f"- rule: answer {ASK_PREFIX}{t.key}",
                "  steps:",
                f"    - intent: {ASK_PREFIX}{t.key}",
                "    - action: action_answer",
            ]
        return rules
    header = ["| intent | what the person wants to know | boundaries (send elsewhere) |", "|---|---|---|"]
    return header + [f"| {ASK_PREFIX}{t.key} | {_cell(t.about)} | {_cell(t.not_for) or ' '} |" for t in topics]


def _replace(text: str, block: Block, lines: list[str]) -> str:
    """`text` with the lines between its two markers replaced (each indented like the first marker)."""
    before, after = block.comment
    rows = text.split("\n")
    starts = [i for i, row in enumerate(rows) if row.strip() == f"{before}{BEGIN}{after}".strip()]
    ends = [i for i, row in enumerate(rows) if row.strip() == f"{before}{END}{after}".strip()]
    if len(starts) != 1 or len(ends) != 1 or ends[0] < starts[0]:
        raise ValueError(f"{block.path}: expected one '{BEGIN}' marker, then one '{END}' marker")
    indent = rows[starts[0]][: len(rows[starts[0]]) - len(rows[starts[0]].lstrip())]
    return "\n".join([*rows[: starts[0] + 1], *(indent + line for line in lines), *rows[ends[0] :]])


def rendered(root: Path = PROJECT_ROOT) -> dict[Path, str]:
    """Each generated file as it should be, from the catalogue under `root`."""
    raw, _ = read_catalogue(root / "bot" / "knowledge" / "content" / "topics.yml")
    topics = [t for key, t in topics_of(raw).items() if "/" not in key]
    files: dict[Path, str] = {}
    for block in BLOCKS:
        path = root / block.path
        files[path] = _replace(path.read_text(encoding="utf-8"), block, _lines(block, topics))
    return files


def _stale(files: dict[Path, str]) -> list[Path]:
    return [path for path, text in files.items() if path.read_text(encoding="utf-8") != text]


def stale(root: Path = PROJECT_ROOT) -> list[Path]:
    """The generated files whose blocks do not match the catalogue."""
    return _stale(rendered(root))


def write(root: Path = PROJECT_ROOT) -> list[Path]:
    """Bring the generated blocks up to date; the files changed."""
    files = rendered(root)
    changed = _stale(files)
    for path in changed:
        path.write_text(files[path], encoding="utf-8")
    return changed
