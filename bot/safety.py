"""Deterministic emergency and crisis detection, as a spaCy pipeline component.

One of the two independent detectors (the other is the learned `emergency` and
`crisis` intents): either one routes the message to the emergency or crisis
reply, whatever else NLU predicts. Rules are spaCy Matcher patterns over
lower-cased tokens, so "cant breathe", "can't breathe" and "CAN NOT BREATHE"
tokenise and match alike. A match is dropped when it is negated ("no chest
pain", "I'm not having a seizure") or asked about in general ("can lung mets
cause chest pain?"), looking only within its own clause.
"""

import itertools
import re
from collections.abc import Iterable

from spacy.language import Language
from spacy.matcher import Matcher
from spacy.tokens import Doc, Span, Token

EMERGENCY = "emergency"
CRISIS = "crisis"

# Macros usable in rules as {NAME}; each alternative may be several words.
_MACROS: dict[str, tuple[str, ...]] = {
    "CANT": (
        "can't",
        "cant",
        "cannot",
        "can not",
        "couldn't",
        "couldnt",
        "unable to",
        "not able to",
        "struggling to",
        "struggle to",
        "can barely",
        "can hardly",
        "hard to",
        "trouble",
        "having trouble",
    ),
    "BREATHE": ("breathe", "breath", "breathing", "breth", "brethe", "get air", "catch breath", "catch my breath"),
    "SEIZING": (
        "having a seizure",
        "having seizures",
        "having a fit",
        "seizing",
        "is seizing",
        "convulsing",
        "shaking uncontrollably",
        "just had a seizure",
        "in a seizure",
        "seizure right now",
        "seizure now",
        "fitting",
    ),
    "UNCONSCIOUS": (
        "passed out",
        "fainted",
        "collapsed",
        "unconscious",
        "unresponsive",
        "won't wake up",
        "wont wake up",
        "will not wake up",
        "can't wake",
        "cant wake",
        "cannot wake",
        "not waking up",
        "not responding",
        "blacked out",
        "keeled over",
        "won't respond",
        "wont respond",
        "will not respond",
        "slumped",
    ),
    "BLOOD_ACT": (
        "coughing up blood",
        "coughing blood",
        "coughed up blood",
        "cough up blood",
        "vomiting blood",
        "throwing up blood",
        "threw up blood",
        "puking blood",
        "spitting blood",
        "spitting up blood",
        "bleeding won't stop",
        "bleeding wont stop",
        "bleeding will not stop",
        "won't stop bleeding",
        "wont stop bleeding",
        "bleeding heavily",
        "bleeding a lot",
        "lot of blood",
        "blood everywhere",
        "bleeding badly",
        "severe bleeding",
        "heavy bleeding",
        "gushing blood",
    ),
    "STROKE": (
        "face is drooping",
        "face drooping",
        "face droop",
        "face droops",
        "drooping face",
        "slurred speech",
        "slurring",
        "speech is slurred",
        "can't move his arm",
        "can't move her arm",
        "can't move my arm",
        "cant move his arm",
        "cant move her arm",
        "cant move my arm",
        "one side is weak",
        "weak on one side",
        "numb on one side",
        "having a stroke",
        "think it's a stroke",
        "think its a stroke",
    ),
    "CHEST": (
        "chest pain",
        "chest pains",
        "pain in my chest",
        "pain in his chest",
        "pain in her chest",
        "chest pressure",
        "pressure in my chest",
        "chest is tight",
        "chest feels tight",
        "tight chest",
        "crushing chest",
        "chest hurts",
        "chest is hurting",
        "heart attack",
        "sitting on my chest",
        "weight on my chest",
        "crushing feeling in my chest",
    ),
    "BLEEDING": ("bleeding", "blood", "bleed", "nosebleed", "nose bleed", "clots", "blood clots"),
    "WONT_STOP": (
        "won't stop",
        "wont stop",
        "will not stop",
        "isn't stopping",
        "isnt stopping",
        "not stopping",
        "keeps pouring",
        "pouring",
        "gushing",
        "everywhere",
        "soaking",
    ),
    "BLOOD_VERB": (
        "coughing",
        "coughing up",
        "coughed",
        "coughed up",
        "spitting",
        "spitting up",
        "spat",
        "spit up",
        "vomiting",
        "vomited",
        "throwing up",
        "threw up",
        "puking",
        "puked",
    ),
    "WEAK": (
        "went weak",
        "gone weak",
        "went numb",
        "gone numb",
        "suddenly weak",
        "suddenly numb",
        "can't lift",
        "cant lift",
        "can't get the words out",
        "cant get the words out",
        "can't speak",
        "cant speak",
        "can't talk",
        "cant talk",
        "suddenly confused",
        "suddenly super confused",
        "doesn't know where he is",
        "doesnt know where he is",
        "doesn't know where she is",
        "doesnt know where she is",
        "very confused",
    ),
    "HEAD": (
        "worst headache of my life",
        "worst headache of his life",
        "worst headache of her life",
        "worst headache ever",
        "splitting headache",
        "sudden headache",
        "worst headache i've ever",
        "sudden severe headache",
        "thunderclap headache",
        "headache came on suddenly",
    ),
    "AIRWAY": (
        "not breathing",
        "stopped breathing",
        "isn't breathing",
        "isnt breathing",
        "is not breathing",
        "gasping for air",
        "gasping for breath",
        "choking",
        "turning blue",
        "lips are blue",
        "lips turning blue",
        "throat is swelling",
        "throat swelling",
        "throat is closing",
        "throat closing",
        "tongue is swelling",
        "anaphylaxis",
        "about to pass out",
        "going to pass out",
        "anaphylactic",
    ),
    "SUICIDE": (
        "kill myself",
        "killing myself",
        "end my life",
        "ending my life",
        "end it all",
        "take my own life",
        "take my life",
        "suicide",
        "suicidal",
        "commit suicide",
        "want to die",
        "wanna die",
        "wish i was dead",
        "wish i were dead",
        "better off dead",
        "better off without me",
        "no reason to live",
        "nothing to live for",
        "don't want to live",
        "dont want to live",
        "don't want to be alive",
        "dont want to be alive",
        "don't want to be here anymore",
        "dont want to be here anymore",
        "hurt myself",
        "hurting myself",
        "harm myself",
        "harming myself",
        "self harm",
        "self-harm",
        "cutting myself",
        "cut myself on purpose",
        "cut myself again",
        "overdose",
        "take all my pills",
        "take all of my pills",
        "take all his pills",
        "take all her pills",
        "swallow all my pills",
        "not worth living",
        "end his life",
        "end her life",
        "kill himself",
        "kill herself",
        "hang myself",
        "jump off",
        "can't go on",
        "cant go on",
        "give up on life",
        "ending it all",
        "end it",
        "ending it",
        "end things",
        "ending things",
        "be done with it all",
        "be done with all of it",
        "never wake up",
        "take them all",
        "saving up my pills",
        "saving my pills",
        "saving up my pain pills",
        "ready to die",
        "won't be around much longer",
        "wont be around much longer",
        "into a wall",
        "gun is loaded",
        "a burden to",
        "better off gone",
        "rather die",
        "rather just die",
        "rather be dead",
        "just want to die",
        "if i wasn't here",
        "if i wasnt here",
        "if i weren't here",
        "shoot myself",
        "shoot himself",
        "shoot herself",
        "hurt himself",
        "hurt herself",
        "goodbye letters",
        "to not wake up",
        "and not wake up",
        "tonight is the night",
    ),
}

# Each rule is a sequence of macro references and literal words; "*" skips up to
# five words ("coughed up a lot of bright red blood").
_RULES: dict[str, tuple[str, ...]] = {
    EMERGENCY: (
        "{CANT} {BREATHE}",
        "{AIRWAY}",
        "{SEIZING}",
        "{UNCONSCIOUS}",
        "{BLOOD_ACT}",
        "{BLEEDING} * {WONT_STOP}",
        "{BLOOD_VERB} * blood",
        "{WEAK}",
        "{STROKE}",
        "{CHEST}",
        "{HEAD}",
    ),
    CRISIS: ("{SUICIDE}",),
}

# Words that negate a match when they come shortly before it in the same clause.
NEGATIONS = frozenset(
    {"no", "not", "n't", "nt", "never", "without", "denies", "deny", "nor", "neither", "none", "isnt", "dont"}
)
# Words that make a match a general question rather than a report ("can X cause chest pain?").
HYPOTHETICAL = frozenset(
    {
        "cause",
        "causes",
        "causing",
        "symptom",
        "symptoms",
        "sign",
        "signs",
        "if",
        "whether",
        "about",
        "risk",
        "laughed",
        "laughing",
        "once",
    }
)
# ... or when they follow it ("is coughing up blood a symptom of ...?").
HYPOTHETICAL_AFTER = frozenset({"symptom", "symptoms", "sign", "signs", "mean", "means", "normal", "once", "back"})
SKIP = [{"OP": "?"}] * 5
CLAUSE_BREAKS = frozenset({".", ",", ";", "!", "?", "but", "and", "because", ":", "-"})
WINDOW = 5

Doc.set_extension("safety", default=None, force=True)
Doc.set_extension("safety_matches", default=(), force=True)
# Matches dropped as negated or general ("no chest pain"): the learned intent is
# then not trusted either, since the message itself says the danger is absent.
Doc.set_extension("safety_suppressed", default=(), force=True)


def _expand(rule: str) -> Iterable[str]:
    parts = re.split(r"(\{[A-Z_]+\})", rule)
    options = [_MACROS[part[1:-1]] if part.startswith("{") else (part.strip(),) for part in parts if part.strip()]
    for combination in itertools.product(*options):
        yield " ".join(combination)


def _clause(tokens: Iterable[Token]) -> list[str]:
    """The lower-cased words of `tokens` up to the first clause break."""
    return list(itertools.takewhile(lambda w: w not in CLAUSE_BREAKS, (t.lower_ for t in tokens)))


def _clause_before(span: Span) -> list[str]:
    return _clause(reversed(span.doc[max(0, span.start - WINDOW) : span.start]))


def _clause_after(span: Span) -> list[str]:
    return _clause(span.doc[span.end : span.end + WINDOW])


def is_negated(span: Span) -> bool:
    return any(word in NEGATIONS for word in _clause_before(span))


def is_general_question(span: Span) -> bool:
    """ "Can brain mets cause seizures?" asks about, rather than reports, the danger."""
    before, after = _clause_before(span), _clause_after(span)
    return bool(HYPOTHETICAL & set(before)) or bool(HYPOTHETICAL_AFTER & set(after))


class SafetyMatcher:
    """Sets `doc._.safety` to "crisis", "emergency" or None, and `doc._.safety_matches`."""

    def __init__(self, nlp: Language, name: str) -> None:
        self.name = name
        self.matcher = Matcher(nlp.vocab)
        for label, rules in _RULES.items():
            patterns = [
                [
                    skip
                    for token in nlp.make_doc(phrase)
                    for skip in (SKIP if token.text == "*" else [{"LOWER": token.lower_}])
                ]
                for rule in rules
                for phrase in _expand(rule)
            ]
            self.matcher.add(label, patterns)

    def __call__(self, doc: Doc) -> Doc:
        found, suppressed = [], []
        for match_id, start, end in self.matcher(doc):
            span = Span(doc, start, end, label=match_id)
            if is_negated(span) or (span.label_ == EMERGENCY and is_general_question(span)):
                suppressed.append(span)
            else:
                found.append(span)
        labels = {span.label_ for span in found}
        # The crisis reply also carries the emergency number, so it takes precedence.
        doc._.safety = CRISIS if CRISIS in labels else EMERGENCY if EMERGENCY in labels else None
        doc._.safety_matches = tuple(span.text for span in found)
        doc._.safety_suppressed = tuple(span.text for span in suppressed)
        return doc

    # The patterns are rebuilt from this module on load: nothing to serialise.
    def to_disk(self, path, *, exclude=()) -> None:  # type: ignore[no-untyped-def]
        pass

    def from_disk(self, path, *, exclude=()):  # type: ignore[no-untyped-def]
        return self


@Language.factory("safety_matcher")
def create_safety_matcher(nlp: Language, name: str) -> SafetyMatcher:
    return SafetyMatcher(nlp, name)


def detect(nlp: Language, text: str) -> str | None:
    """The safety label for `text` using a pipeline that contains the safety matcher."""
    return nlp(text)._.safety
