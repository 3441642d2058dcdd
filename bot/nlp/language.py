"""Which language a message is written in, as a spaCy component (`language_detector`).

The assistant answers only in English, from an English article that is never
machine-translated; a message in another language gets fixed wording in that
language where `bot.messages` has it (Spanish), telling the person how to reach
the care team with an interpreter. Lingua, restricted to the languages patients
of a US cancer center most often write in, sets `doc._.language` (ISO 639-1).

Short or unsure texts stay English: "hiya" is not Tagalog. Measured on 2,181
English and Spanish messages of the project's sets: 1 English message called
another language and 1 Spanish one missed before the rules below.

No `from __future__ import annotations` here: spaCy reads the factory's annotations.
"""

from functools import lru_cache

from spacy.language import Language
from spacy.tokens import Doc

Doc.set_extension("language", default="en", force=True)

ENGLISH = "en"
LANGUAGES = (
    "ENGLISH", "SPANISH", "FRENCH", "PORTUGUESE", "GERMAN", "ITALIAN",
    "VIETNAMESE", "TAGALOG", "CHINESE", "KOREAN", "ARABIC", "RUSSIAN",
)  # fmt: skip
MIN_WORDS = 2  # one word ("hiya", "mets") is too little to go on
MIN_CONFIDENCE = 0.6  # for another language to win over English
MIN_CONFIDENCE_SPANISH = 0.4  # Spanish is the one we have wording for: "metastasico es lo mismo q etapa 4??"


@lru_cache(maxsize=1)
def _detector():  # noqa: ANN202 (lingua's type, imported lazily)
    from lingua import Language as Lingua
    from lingua import LanguageDetectorBuilder

    languages = [getattr(Lingua, name) for name in LANGUAGES]
    return LanguageDetectorBuilder.from_languages(*languages).with_preloaded_language_models().build()


def detect(text: str) -> str:
    """The message's language as an ISO 639-1 code, English unless clearly another."""
    if len(text.split()) < MIN_WORDS:
        return ENGLISH
    values = _detector().compute_language_confidence_values(text)
    if not values:
        return ENGLISH
    top = values[0]
    code = top.language.iso_code_639_1.name.lower()
    needed = MIN_CONFIDENCE_SPANISH if code == "es" else MIN_CONFIDENCE
    return code if code != ENGLISH and top.value >= needed else ENGLISH


class LanguageDetector:
    def __init__(self) -> None:
        _detector()  # load the models now, not on the first patient's message

    def __call__(self, doc: Doc) -> Doc:
        doc._.language = detect(doc.text)
        return doc


@Language.factory("language_detector")
def make_language_detector(nlp: Language, name: str) -> LanguageDetector:
    return LanguageDetector()
