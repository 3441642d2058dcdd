"""Find the questions inside a message: the part to classify, and whether there are two.

Real messages put the question after a story ("My uncle's colon cancer ... does
that make sense?") or ask two things at once ("what is it and how do you treat
it"). The story's words pull a classifier towards the wrong topic, so the
ranker (`bot.nlp.ranker`) reads the question clauses. A clause is a sentence,
or part of one split at "and"/"also"/"plus" when a question word follows; it is
a question when it ends with "?", starts with a question word or asks to be told.
A message with no such clause is read whole.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

QUESTION_WORDS = frozenset(
    [
        "what", "whats", "wat", "wht", "wut", "how", "hw", "howcome", "why", "y", "where", "wher", "when",
        "which", "who", "whose", "is", "isnt", "are", "arent", "am", "can", "cant", "could", "does", "doesnt",
        "do", "dont", "did", "will", "would", "should", "shud", "has", "have", "was", "were", "may", "might",
        "any", "anything",
    ]
)  # fmt: skip
WH_WORDS = frozenset(["what", "whats", "wat", "how", "hw", "why", "where", "which", "who"])
# Words that may come before the question word of a clause ("so what", "ask: how").
LEAD_INS = frozenset(
    ["and", "also", "plus", "or", "so", "but", "then", "ok", "okay", "like", "um", "well", "ask", "q", "please",
     "pls", "just", "n", "&", "and/or"]
)  # fmt: skip
REQUEST_WORDS = frozenset(["explain", "tell", "me", "please", "pls", "more", "thanks", "thank", "you"])
JOINERS = frozenset({"and", "also", "plus", "&", "+", "n", "or", "2", "2)", "second", "secondly"})
ASKING = re.compile(
    r"\b(tell me|explain|wondering|want(ed)? to know|need to know|curious|like to know|"
    r"help me understand|i'?m asking|question is|can someone|could someone)\b",
    re.IGNORECASE,
)
NUMBERING = re.compile(r"^\d+[.)]?$")  # "1)", "2." in a numbered list of questions
WORD = re.compile(r"[\w'’]+\)?|[?+&]")


@dataclass(frozen=True)
class Clause:
    start: int  # character offsets in the message
    end: int
    text: str
    is_question: bool


def _words(text: str) -> list[re.Match[str]]:
    return list(WORD.finditer(text))


def _is_question(text: str) -> bool:
    words = [w.group().lower().replace("’", "'").replace("'", "") for w in _words(text)]
    content = [w for w in words if w not in LEAD_INS and w not in JOINERS and w != "?" and not NUMBERING.match(w)]
    if len(set(content) - REQUEST_WORDS) < 2:
        return False  # "please explain please explain …", "and why?": nothing of its own to classify
    if text.rstrip().endswith("?") or ASKING.search(text):
        return True
    # "and if not, what scan finds it": a wh-word early in the clause asks too.
    return content[0] in QUESTION_WORDS or bool(WH_WORDS & set(content[:5]))


def _split(start: int, text: str) -> list[Clause]:
    """One sentence into clauses at a joiner followed by a question word."""
    words = _words(text)
    cuts = [0]
    for here, after in zip(words, words[1:], strict=False):
        if (
            here.group().lower() in JOINERS
            and after.group().lower().replace("'", "") in QUESTION_WORDS
            and here.start() - cuts[-1] > 8
        ):
            cuts.append(here.start())
    cuts.append(len(text))
    clauses = []
    for a, b in zip(cuts, cuts[1:], strict=False):
        piece = text[a:b].strip()
        if piece:
            offset = start + a + (len(text[a:b]) - len(text[a:b].lstrip()))
            clauses.append(Clause(offset, offset + len(piece), piece, _is_question(piece)))
    return clauses


def clauses(text: str, sentences: Sequence[tuple[int, int]]) -> list[Clause]:
    """Every clause of the message, given its sentences as (start, end) character offsets."""
    found: list[Clause] = []
    for start, end in sentences:
        found.extend(_split(start, text[start:end]))
    return found


def questions(text: str, sentences: Sequence[tuple[int, int]]) -> list[Clause]:
    """The question clauses, in order; the whole message when none is recognisably a question."""
    asked = [c for c in clauses(text, sentences) if c.is_question]
    return asked or [Clause(0, len(text), text.strip(), False)]
