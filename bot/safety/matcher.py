"""Red-flag detection as a spaCy pipeline component, built from the catalogue.

One of the two independent detectors (the other is the learned `emergency`,
`urgent` and `crisis` intents); a pattern hit wins whatever NLU predicts. The
phrases of bot/nlp/safety_patterns.yml become Matcher patterns over each word's folded form
(lower case, accents and curly apostrophes removed), so "can't", "cant" and
"CAN NOT", "convulsión" and "convulsion" match alike. Every sentence is searched,
and each hit is judged in its own clause by `bot.safety.context`: only a
current, first-hand or reported danger counts.
"""

import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cached_property

from spacy.language import Language
from spacy.matcher import Matcher
from spacy.tokens import Doc, Span

from bot.safety import context
from bot.safety.catalogue import CRISIS, LEVELS, Catalogue, load_catalogue

GAP = 4  # words a "*" may skip
UNIT = re.compile(r"(\{\w+\}|<\w+>|(?<!\S)\*(?!\S)|\S+~)")

Doc.set_extension("safety", default=None, force=True)  # "crisis", "emergency", "urgent" or None
Doc.set_extension("safety_flags", default=(), force=True)  # ids of the red flags found
Doc.set_extension("safety_matches", default=(), force=True)  # the words that fired them
# Hits dropped as negated, past, hypothetical or reassured, with why ("no chest pain": negated).
# The learned intent is then not trusted either: the message says the danger is absent.
Doc.set_extension("safety_suppressed", default=(), force=True)
Doc.set_extension("safety_language", default="en", force=True)
Doc.set_extension("safety_about", default="self", force=True)  # "other": someone else is in crisis


def fold(text: str) -> str:
    """Lower case without accents or curly quotes: the form every phrase is matched on."""
    text = text.replace("\u2019", "'").replace("\u2018", "'").lower()
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


@dataclass
class PhraseCompiler:
    """Turns catalogue phrases ("{legs} * numb", "vomit~ blood") into Matcher patterns."""

    nlp: Language
    catalogue: Catalogue

    @cached_property
    def negations(self) -> set[str]:
        words = (self._words(cue) for cue in self.catalogue.cues["negation_before"])
        return {w[0] for w in words if len(w) == 1}

    def compile(self, phrase: str) -> list[list[dict]]:
        variants: list[list[dict]] = [[]]
        for unit in (u for u in UNIT.split(phrase) if u and u.strip()):
            options = self._unit(unit.strip())
            variants = [v + o for v in variants for o in options]
        return variants

    def _unit(self, unit: str) -> list[list[dict]]:
        if unit == "*":
            # A skipped word is never a negation: "leg isn't swollen" is not "leg * swollen".
            gap = {"IS_PUNCT": False, "IS_SPACE": False, "NORM": {"NOT_IN": sorted(self.negations)}, "OP": "?"}
            return [[gap] * GAP]
        if unit.startswith("{"):
            return self._group(unit[1:-1])
        if unit.startswith("<"):
            return [[{"NORM": {"REGEX": self.catalogue.patterns[unit[1:-1]]}}]]
        if unit.endswith("~"):
            words = self._words(unit[:-1])
            stem = [{"NORM": w} for w in words[:-1]] + [{"NORM": {"REGEX": "^" + re.escape(words[-1])}}]
            return [stem]
        return [[{"NORM": w} for w in self._words(unit)]]

    def _group(self, name: str) -> list[list[dict]]:
        single, longer = [], []
        for alternative in self.catalogue.groups[name]:
            compiled = self.compile(alternative)
            for tokens in compiled:
                if len(tokens) == 1 and isinstance(tokens[0].get("NORM"), str):
                    single.append(tokens[0]["NORM"])
                else:
                    longer.append(tokens)
        return ([[{"NORM": {"IN": sorted(set(single))}}]] if single else []) + longer

    def _words(self, text: str) -> list[str]:
        return [fold(t.text) for t in self.nlp.make_doc(fold(text)) if not t.is_space]


FIGURATIVE = "figurative"


@dataclass(frozen=True)
class Hit:
    kind: str  # "flag": a red flag's phrase; "group": half of a `with` pair; "unless": undoes a flag
    name: str
    span: Span
    status: str  # context.CURRENT, NEGATED, ... or FIGURATIVE


class SafetyMatcher:
    """Sets `doc._.safety` (the most urgent level found) and the details beside it."""

    def __init__(self, nlp: Language, name: str, catalogue: Catalogue | None = None) -> None:
        self.name = name
        self.catalogue = catalogue or load_catalogue()
        compiler = PhraseCompiler(nlp, self.catalogue)
        self.flags = Matcher(nlp.vocab)
        for flag in self.catalogue.red_flags:
            self.flags.add(f"flag:{flag.id}", [p for phrase in flag.phrases for p in compiler.compile(phrase)])
            if flag.unless:
                self.flags.add(f"unless:{flag.id}", [p for phrase in flag.unless for p in compiler.compile(phrase)])
        for group in self.catalogue.combination_groups():
            alternatives = self.catalogue.groups[group]
            self.flags.add(f"group:{group}", [p for phrase in alternatives for p in compiler.compile(phrase)])
        self.cues = Matcher(nlp.vocab)
        for kind, phrases in self.catalogue.cues.items():
            self.cues.add(kind, [p for phrase in phrases for p in compiler.compile(phrase)])
        self.judge = context.Judge(self.catalogue)

    def __call__(self, doc: Doc) -> Doc:
        hits, found = self.find(doc)
        current = self.decide(hits)
        levels = {self.catalogue.flag(name).level for name, _ in current}
        doc._.safety = next((level for level in LEVELS if level in levels), None)
        doc._.safety_flags = tuple(dict.fromkeys(name for name, _ in current))
        doc._.safety_matches = tuple(dict.fromkeys(span.text for _, span in current))
        doc._.safety_suppressed = tuple((h.span.text, h.status) for h in hits if h.status != context.CURRENT)
        # Spanish if the language detector (bot.nlp.language, when in the pipeline) or the
        # safety package's own function-word count says so: the reply must reach the writer.
        detected = doc._.language if Doc.has_extension("language") else None
        doc._.safety_language = "es" if "es" in (detected, context.language(doc, self.catalogue)) else "en"
        crisis = [span for name, span in current if self.catalogue.flag(name).level == CRISIS]
        doc._.safety_about = "other" if crisis and all(found.about_other(s) for s in crisis) else "self"
        return doc

    def find(self, doc: Doc) -> tuple[list[Hit], context.DocContext]:
        """Every phrase and group found, each with its status in context."""
        for token in doc:
            token.norm_ = fold(token.text)
        found = self.judge.for_doc(doc, [(doc.vocab.strings[k], s, e) for k, s, e in self.cues(doc)])
        hits = []
        for key, start, end in _longest(self.flags(doc)):
            kind, _, name = doc.vocab.strings[key].partition(":")
            span = Span(doc, start, end)
            if kind == "unless":
                hits.append(Hit(kind, name, span, context.CURRENT))
                continue
            if found.figurative(span):
                status = FIGURATIVE  # "you'll give yourself a heart attack"
            elif kind == "flag" and not self._followed_ok(name, span):
                status = FIGURATIVE  # "confused about the dose"
            else:
                status = found.status(span, self.catalogue.flag(name).level if kind == "flag" else "")
            hits.append(Hit(kind, name, span, status))
        return hits, found

    def decide(self, hits: Iterable[Hit]) -> list[tuple[str, Span]]:
        """The red flags that fire: current phrases, and pairs of current groups (`with`)."""
        current = [h for h in hits if h.status == context.CURRENT]
        fired = [(h.name, h.span) for h in current if h.kind == "flag"]
        groups: dict[str, Span] = {}
        for h in current:
            if h.kind == "group":
                groups.setdefault(h.name, h.span)
        for flag in self.catalogue.red_flags:
            for a, b in flag.together:
                if a in groups and b in groups and groups[a] != groups[b]:
                    fired.append((flag.id, groups[a]))
        # "Both legs swell in the evening" is not a clot: words that undo a flag in its sentence.
        undone = {(h.name, _sentence(h.span)) for h in current if h.kind == "unless"}
        return [(name, span) for name, span in fired if (name, _sentence(span)) not in undone]

    def _followed_ok(self, flag_id: str, span: Span) -> bool:
        """ "She's confused about the dose" is not confusion: some flags list words that undo them."""
        stop = self.catalogue.flag(flag_id).not_followed_by
        return not stop or span.end >= len(span.doc) or span.doc[span.end].norm_ not in stop

    # The patterns are rebuilt from the catalogue on load: nothing to serialise.
    def to_disk(self, path, *, exclude=()) -> None:
        pass

    def from_disk(self, path, *, exclude=()):
        return self


def _sentence(span: Span) -> int:
    return span.sent.start if span.doc.has_annotation("SENT_START") else 0


def _longest(matches: list[tuple[int, int, int]]) -> Iterator[tuple[int, int, int]]:
    """Per label, the longest match at each start (the Matcher also yields every shorter one)."""
    best: dict[tuple[int, int], int] = {}
    for key, start, end in matches:
        best[(key, start)] = max(end, best.get((key, start), end))
    for (key, start), end in best.items():
        yield key, start, end


@Language.factory("safety_matcher")
def create_safety_matcher(nlp: Language, name: str) -> SafetyMatcher:
    return SafetyMatcher(nlp, name)
