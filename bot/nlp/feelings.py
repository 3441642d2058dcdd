"""What a message says about how the writer feels (bad_news, fear, grief, exhaustion or
facing_the_end, from the phrases in feelings.yml).

`FeelingReader` (bot/rasa/components.py), a Rasa NLU step after FallbackClassifier,
sets it on each message for the actions, which then start the reply with one short
acknowledgement, and routes a message facing the end ("is this the end?", "how long
does she have") that is not about danger to `personal_advice`: its reply says kindly
that the care team can talk about what lies ahead, instead of "Did you mean…?" or a
topic answer that happens to mention time.
"""

import re
from functools import cache
from pathlib import Path

import yaml

PHRASES = Path(__file__).with_name("feelings.yml")
FACING_THE_END = "facing_the_end"
_NEGATED = re.compile(r"(?:\bnot|n't|\bnever|\bno)\s+(?:\w+\s+)?$")


@cache
def patterns() -> dict[str, list[re.Pattern[str]]]:
    """Each kind's compiled phrases, in the file's order (the first kind that matches wins)."""
    kinds = yaml.safe_load(PHRASES.read_text(encoding="utf-8"))
    return {kind: [re.compile(rf"\b(?:{p})\b", re.IGNORECASE) for p in phrases] for kind, phrases in kinds.items()}


def feeling(text: str) -> str | None:
    """The first kind of feeling whose phrase the text says, not negated; None if none."""
    for kind, compiled in patterns().items():
        for pattern in compiled:
            for match in pattern.finditer(text):
                if not _NEGATED.search(text[: match.start()].lower()):
                    return kind
    return None
