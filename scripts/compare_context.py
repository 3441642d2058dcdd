"""Which context rules keep the safety net quiet on harmless messages without missing danger?

Runs the red-flag phrases of bot/nlp/safety_patterns.yml over the outside authors' sets
and decides each hit four ways:
- none: every hit counts (no context at all);
- negex: negspacy's NegEx (Chapman et al. 2001, clinical termset) drops negated hits;
- context: the project's rules (bot/safety/context.py: negation, history,
  hypotheticals, reassurance, after ConText), the ones the bot uses;
- both: a hit counts only when neither drops it.
Prints recall per level and false alarms for each, per set. Patterns only (no DIET).

    .venv/bin/python scripts/compare_context.py [dev final]
"""

from __future__ import annotations

import sys

from negspacy.negation import Negex
from negspacy.termsets import termset
from spacy.tokens import Span

from bot.nlp.pipeline import build_pipeline
from bot.safety.catalogue import LEVELS
from bot.safety.context import CURRENT
from bot.safety.evaluation import NONE, Outcome, load_cases, summary
from bot.safety.matcher import FIGURATIVE, Hit

WAYS = ("none", "negex", "context", "both")


def main(sets: list[str]) -> int:
    nlp = build_pipeline()
    matcher = nlp.get_pipe("safety_matcher")
    negex = Negex(nlp, "negex", termset("en_clinical").get_patterns(), [], "negex", [])
    cases = load_cases(sets)
    predicted: dict[str, list[str]] = {way: [] for way in WAYS}
    for doc in nlp.pipe(c.text for c in cases):
        hits, _ = matcher.find(doc)
        hits = [h for h in hits if h.status != FIGURATIVE]  # not a mention at all, in every way
        negated = set()
        for hit in hits:
            doc.ents = [Span(doc, hit.span.start, hit.span.end, "HIT")]
            negex(doc)
            if doc.ents[0]._.negex:
                negated.add(id(hit))
        kept = {
            "none": hits,
            "negex": [h for h in hits if id(h) not in negated],
            "context": [h for h in hits if h.status == CURRENT],
            "both": [h for h in hits if h.status == CURRENT and id(h) not in negated],
        }
        for way, chosen in kept.items():
            predicted[way].append(level(matcher, chosen))
    for name in sets:
        print(f"\n== {name} set (patterns only)")
        for way in WAYS:
            outcomes = [Outcome(c, p) for c, p in zip(cases, predicted[way], strict=True) if c.set == name]
            print(f"   {way:<8} " + ", ".join(f"{k} {v}" for k, v in summary(outcomes).items()))
    return 0


def level(matcher, hits: list[Hit]) -> str:
    """The level the bot would answer with, had these hits been the current ones."""
    current = [Hit(h.kind, h.name, h.span, CURRENT) for h in hits]
    levels = {matcher.catalogue.flag(name).level for name, _ in matcher.decide(current)}
    return next((lvl for lvl in LEVELS if lvl in levels), NONE)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:] or ["dev"]))
