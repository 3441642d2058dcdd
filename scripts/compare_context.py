"""Which context rules keep the safety net quiet on harmless messages without missing danger?

Runs the red-flag phrases of bot/nlp/safety_patterns.yml over the outside authors' sets
and decides each hit in several ways:
- none: every hit counts (no context at all);
- negex: negspacy's NegEx (Chapman et al. 2001, clinical termset) drops negated hits;
- context: the project's rules (bot/safety/context.py: negation, history,
  hypotheticals, reassurance, after ConText), the ones the bot uses;
- both: a hit counts only when neither drops it;
- medspacy: medspaCy's ConText (Harkema et al. 2009) with its own default English rules
  drops hits it marks negated, historical, hypothetical or about family;
- medspacy-negated: the same, dropping negated hits only;
- medspacy-nofamily: the same without FAMILY (a caregiver's "mom just had a seizure" is a current danger);
- medspacy+context: a hit counts only when neither medspacy nor context drops it.
Prints recall per level and false alarms for each, per set, for all voices and for the
English voices alone (medspaCy's rules are English). Patterns only (no DIET).

medspaCy is not a project dependency; the medspacy ways are skipped unless it imports.
It was measured installed outside the lock, beside the venv's spaCy:

    .venv/bin/pip install --target /tmp/medspacy-lib --no-deps medspacy==1.3.1 pysbd==0.3.4 \\
        PyRuSH==1.0.13 PyFastNER==1.0.10 quicksectx==0.4.1 loguru==0.7.3 medspacy_quickumls==3.2 nltk==3.10.4 \\
        unidecode==1.4.0 pysimstring==1.3.0
    PYTHONPATH=.:/tmp/medspacy-lib .venv/bin/python scripts/compare_context.py dev final

    PYTHONPATH=. .venv/bin/python scripts/compare_context.py [dev final]  # as scripts/evaluate.sh does
"""

from __future__ import annotations

import sys
from typing import Any

from negspacy.negation import Negex
from negspacy.termsets import termset
from spacy.language import Language
from spacy.tokens import Doc, Span

from bot.nlp.pipeline import build_pipeline
from bot.safety.catalogue import LEVELS
from bot.safety.context import CURRENT
from bot.safety.evaluation import NONE, Outcome, load_cases, summary
from bot.safety.matcher import FIGURATIVE, Hit

WAYS = ("none", "negex", "context", "both")
MEDSPACY_WAYS = ("medspacy", "medspacy-negated", "medspacy-nofamily", "medspacy+context")
# medspaCy's ConText sets these Span attributes (its DEFAULT_ATTRIBUTES); which ones drop a hit, per way.
MEDSPACY_DROPS = {
    "medspacy": ("is_negated", "is_historical", "is_hypothetical", "is_family"),
    "medspacy-negated": ("is_negated",),
    "medspacy-nofamily": ("is_negated", "is_historical", "is_hypothetical"),
}
HITS_GROUP = "safety_hits"  # the span group medspaCy's ConText reads the hits from
ENGLISH_VOICES = "English voices (no spanish file)"
INSTALL = (
    "medspaCy not importable: medspacy ways skipped (measure with `.venv/bin/pip install --target /tmp/medspacy-lib "
    "--no-deps medspacy==1.3.1 pysbd==0.3.4 PyRuSH PyFastNER quicksectx loguru medspacy_quickumls==3.2 nltk "
    "unidecode pysimstring`, then PYTHONPATH=.:/tmp/medspacy-lib)"
)


def medspacy_context(nlp: Language) -> Any:
    """medspaCy's ConText with its default English rules, reading the span group HITS_GROUP; None if not installed."""
    try:
        from medspacy.context import ConText
    except ImportError:
        print(INSTALL)
        return None
    return ConText(nlp, rules="default", input_span_type="group", span_group_name=HITS_GROUP)


def medspacy_drops(doc: Doc, medspacy_ctx: Any, hits: list[Hit]) -> dict[str, set[int]]:
    """For each medspacy way, the ids of the hits it drops. The sentence is ConText's scope."""
    doc.spans[HITS_GROUP] = [Span(doc, h.span.start, h.span.end, "HIT") for h in hits]
    medspacy_ctx(doc)
    marked = list(zip(hits, doc.spans[HITS_GROUP], strict=True))
    return {
        way: {id(hit) for hit, span in marked if any(getattr(span._, a) for a in attrs)}
        for way, attrs in MEDSPACY_DROPS.items()
    }


def main(sets: list[str]) -> int:
    nlp = build_pipeline()
    matcher = nlp.get_pipe("safety_matcher")
    negex = Negex(nlp, "negex", termset("en_clinical").get_patterns(), [], "negex", [])
    medspacy_ctx = medspacy_context(nlp)
    ways = WAYS + (MEDSPACY_WAYS if medspacy_ctx is not None else ())
    cases = load_cases(sets)
    predicted: dict[str, list[str]] = {way: [] for way in ways}
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
        if medspacy_ctx is not None:
            dropped = medspacy_drops(doc, medspacy_ctx, hits)
            kept.update({way: [h for h in hits if id(h) not in dropped[way]] for way in MEDSPACY_DROPS})
            kept["medspacy+context"] = [h for h in hits if h.status == CURRENT and id(h) not in dropped["medspacy"]]
        for way, chosen in kept.items():
            predicted[way].append(level(matcher, chosen))
    for name in sets:
        for voices, english in (("all voices", False), (ENGLISH_VOICES, True)):
            print(f"\n== {name} set, {voices} (patterns only)")
            for way in ways:
                outcomes = [
                    Outcome(c, p)
                    for c, p in zip(cases, predicted[way], strict=True)
                    if c.set == name and not (english and c.voice == "spanish")
                ]
                print(f"   {way:<18} " + ", ".join(f"{k} {v}" for k, v in summary(outcomes).items()))
    return 0


def level(matcher, hits: list[Hit]) -> str:
    """The level the bot would answer with, had these hits been the current ones."""
    current = [Hit(h.kind, h.name, h.span, CURRENT) for h in hits]
    levels = {matcher.catalogue.flag(name).level for name, _ in matcher.decide(current)}
    return next((lvl for lvl in LEVELS if lvl in levels), NONE)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:] or ["dev"]))
