"""Is a red-flag hit a danger now? Negation, history, hypotheticals and reassurance.

After ConText (Harkema et al., J Biomed Inform 2009), the algorithm behind
medspaCy's ConText component: cue phrases from the catalogue ("no", "two weeks
ago", "what should I do if", "they said that's expected") modify the hits in
their own clause, on the side the cue kind names and within `window` words.
Clauses end at punctuation and at words such as "but", "and", "now", so "he
passed out last year, now he can't breathe" still reports the current danger.
A cue of the `current` kind ("now", "again", "still") in the hit's clause
overrides history and reassurance, one of the `recent` kind ("this morning")
history only; neither overrides negation. A time in the past reaches to the end
of its sentence, and on through a story told in the past tense.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from spacy.tokens import Doc, Span, Token

from bot.safety.catalogue import CRISIS, Catalogue

CURRENT = "current"
NEGATED = "negated"
HYPOTHETICAL = "hypothetical"
HISTORICAL = "historical"
REASSURED = "reassured"

CRISIS_NEGATION_WINDOW = 3  # words between a negation and a crisis hit ("don't really want to die")
Cue = tuple[str, int, int]  # (kind, start, end) as the cue Matcher found it

def language(doc: Doc, catalogue: Catalogue) -> str:
    """Spanish when more of the message's words are Spanish function words than English ones."""
    words = [t.norm_ for t in doc]
    spanish = sum(w in catalogue.language_words["es"] for w in words)
    return "es" if spanish > sum(w in catalogue.language_words["en"] for w in words) else "en"


@dataclass
class Clauses:
    """Clause and sentence numbers of each token; a break word opens the clause after it."""

    clause: list[int] = field(default_factory=list)
    sentence: list[int] = field(default_factory=list)

    @classmethod
    def of(cls, doc: Doc, breaks: frozenset[str], unbroken: set[int]) -> Clauses:
        found = cls()
        clause = sentence = 0
        sentences = doc.has_annotation("SENT_START")
        for token in doc:
            if token.i and sentences and token.is_sent_start:
                sentence += 1
                clause += 1
            elif token.i not in unbroken and _breaks(token, breaks):
                clause += 1
            found.clause.append(clause)
            found.sentence.append(sentence)
        return found


def _breaks(token: Token, breaks: frozenset[str]) -> bool:
    """A clause break; a hyphen only when spaced ("after-hours" is one word)."""
    if token.is_space:
        return "\n" in token.text
    if token.norm_ == "-" and token.i and not token.doc[token.i - 1].whitespace_:
        return False
    return token.norm_ in breaks


class Judge:
    def __init__(self, catalogue: Catalogue) -> None:
        self.window = catalogue.window
        self.breaks = catalogue.clause_breaks

    def for_doc(self, doc: Doc, cues: list[Cue]) -> DocContext:
        pseudo = [(s, e) for kind, s, e in cues if kind == "pseudo"]
        # A cue inside a pseudo-cue ("not" in "not sure") is no cue.
        kept = [(k, s, e) for k, s, e in cues if k != "pseudo" and not any(ps <= s and e <= pe for ps, pe in pseudo)]
        # Nor is a break word inside one ("so" in "laughed so hard").
        unbroken = {i for ps, pe in pseudo for i in range(ps, pe)}
        return DocContext(Clauses.of(doc, self.breaks, unbroken), kept, self.window, pseudo)


@dataclass
class DocContext:
    clauses: Clauses
    cues: list[Cue]
    window: int
    pseudo: list[tuple[int, int]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.by_kind: dict[str, list[tuple[int, int]]] = {}
        for kind, cs, ce in self.cues:
            self.by_kind.setdefault(kind, []).append((cs, ce))

    def _starts(self, *kinds: str) -> list[int]:
        return [cs for kind in kinds for cs, _ in self.by_kind.get(kind, ())]

    def figurative(self, span: Span) -> bool:
        """A hit inside a pseudo-cue ("nearly fainted when I saw the bill") is no hit."""
        return any(ps <= span.start and span.end <= pe and pe - ps > len(span) for ps, pe in self.pseudo)

    def status(self, span: Span, level: str = "") -> str:
        """How the hit stands: current, negated, hypothetical, historical or reassured.

        A crisis hit is only ever negated, and only by a word right before it ("I don't
        want to die", not "no point fighting, I just want it all to be over").
        """
        start, end = span.start, span.end
        left, right = self.clauses.clause[start], self.clauses.clause[end - 1]
        sentence = self.clauses.sentence[start]
        window = CRISIS_NEGATION_WINDOW if level == CRISIS else self.window
        kinds: set[str] = set()
        for kind, cs, ce in self.cues:
            if cs < end and ce > start:
                continue  # part of the hit itself ("can't breathe")
            before = ce <= start and self.clauses.clause[ce - 1] == left and start - ce <= window
            after = cs >= end and self.clauses.clause[cs] == right and cs - end <= window
            if kind in ("negation_before", "hypothetical_before"):
                applies = before
            elif kind in ("negation_after", "hypothetical_after"):
                applies = after and not (kind == "negation_after" and level == CRISIS)  # "ya no sufro"
            elif kind == "history":
                applies = after or self._history_reaches(ce, start, sentence)
            elif kind == "reassured":
                applies = self.clauses.sentence[cs] == sentence and not self._contrast(ce, start)
            elif kind in ("current", "recent", "present", "past"):  # anywhere in the hit's clause
                applies = self.clauses.clause[cs] in (left, right)
            else:
                continue  # contrast, recurrence, self, other: read by the methods below
            if applies:
                kinds.add(kind)
        if kinds & {"negation_before", "negation_after"}:
            return NEGATED
        if level == CRISIS:
            # "What if I took all my pills", "I tried it years ago": warning signs all the same.
            return CURRENT
        if kinds & {"hypothetical_before", "hypothetical_after"}:
            return HYPOTHETICAL
        if kinds & {"current", "recent"}:
            # "This morning" outdates "two weeks ago", but not "it stopped by itself".
            return CURRENT if "current" in kinds or "reassured" not in kinds else REASSURED
        if "history" in kinds or ("past" in kinds and "present" not in kinds and self._story_in_the_past(start)):
            return HISTORICAL if not self.recurs else CURRENT
        if "reassured" in kinds:
            return REASSURED
        return CURRENT

    def _contrast(self, cue_end: int, start: int) -> bool:
        """ "It stopped after 10 min, but she also had blood in her stool": a "but" after the
        reassurance and before the hit ("a fever, but it resolved" is still reassured)."""
        return any(cue_end <= cs < start for cs in self._starts("contrast"))

    def _story_in_the_past(self, start: int) -> bool:
        """ "Back in March she had a clot. She was gasping in the car": a story that began in
        the past stays there, sentence after sentence, while it is told in the past tense and
        until a word of the present moment ("now", "today")."""
        told = [ce for _, ce in self.by_kind.get("history", ()) if ce <= start]
        return bool(told) and not any(max(told) <= cs < start for cs in self._starts("current", "recent"))

    def _history_reaches(self, cue_end: int, start: int, sentence: int) -> bool:
        """ "Back in March he had a seizure, his whole body was shaking": a time in the past
        covers the rest of its sentence, until a word of the present ("now", "today"), or a
        later clause in the present tense ("she had surgery six weeks ago, has a swollen leg")."""
        if cue_end > start or self.clauses.sentence[cue_end - 1] != sentence:
            return False
        cue_clause = self.clauses.clause[cue_end - 1]
        if any(cue_end <= cs < start for cs in self._starts("current", "recent")):
            return False
        later = (cs for cs in self._starts("present") if cue_end <= cs < start)
        return not any(self.clauses.clause[cs] != cue_clause for cs in later)

    @cached_property
    def recurs(self) -> bool:
        """ "He had a seizure in May. He's having another one now": the past is happening again
        (not "he hasn't had another one", nor "how do we prevent another one")."""
        return any(not self._qualified(cs) for cs in self._starts("recurrence"))

    def _qualified(self, index: int) -> bool:
        """Whether a cue is negated just before it, or sits in a hypothetical clause."""
        clause = self.clauses.clause[index]
        for kind, cs, ce in self.cues:
            if kind.startswith("hypothetical") and self.clauses.clause[cs] == clause:
                return True
            if kind == "negation_before" and ce <= index and index - ce <= 3 and self.clauses.clause[cs] == clause:
                return True
        return False

    def about_other(self, span: Span) -> bool:
        """Whether the nearest person word, in the hit or before it in its clause, is someone else."""
        clause = self.clauses.clause[span.start]
        people = [
            (s, kind)
            for kind, s, e in self.cues
            if kind in ("self", "other") and s < span.end and self.clauses.clause[s] == clause
        ]
        return bool(people) and max(people)[1] == "other"
