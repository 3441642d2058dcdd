"""Which language a message is written in, as a spaCy component (`language_detector`).

The assistant answers only in English, from an English article that is never
machine-translated; a message in another language gets fixed wording in that
language where `bot.messages` has it (Spanish), telling the person how to reach
the care team with an interpreter. Lingua, restricted to the languages patients
of a US cancer center most often write in, sets `doc._.language` (ISO 639-1).

Short, unsure or meaningless texts stay English: "hiya" is not Tagalog, "qwzx
plmkj vvvv" is not Spanish. On the 2,620 English and Spanish messages of the
project's sets (real-world, held-out and safety), the rules below call no English
message another language and miss no Spanish one.

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
MIN_CONFIDENCE = 0.6  # for another language to win over English ...
MIN_MARGIN = 0.5  # ... clearly ahead of the next ("wibble frotz quux": German 0.61, English 0.12)
MIN_CONFIDENCE_SPANISH = 0.4  # Spanish is the one we have wording for: "metastasico es lo mismo q etapa 4??"
# Spanish also needs one of its own words or letters: gibberish ("qwzx plmkj vvvv") scores Spanish 0.53.
SPANISH_WORDS = frozenset(
    ["el", "la", "los", "las", "que", "q", "de", "del", "y", "o", "en", "al", "mi", "mis", "su", "sus", "es",
     "son", "esta", "está", "estoy", "por", "para", "con", "como", "cómo", "qué", "un", "una", "lo", "le", "se",
     "no", "sí", "si", "más", "mas", "pero", "cuando", "donde", "dónde", "porque", "tiene", "tengo", "hay",
     "ya", "muy", "yo", "tu", "usted", "ella", "puede"]
)  # fmt: skip
SPANISH_LETTERS = frozenset("ñáéíóú¿¡")


@lru_cache(maxsize=1)
def _detector():  # noqa: ANN202 (lingua's type, imported lazily)
    from lingua import Language as Lingua
    from lingua import LanguageDetectorBuilder

    languages = [getattr(Lingua, name) for name in LANGUAGES]
    return LanguageDetectorBuilder.from_languages(*languages).with_preloaded_language_models().build()


def detect(text: str) -> str:
    """The message's language as an ISO 639-1 code, English unless clearly another."""
    words = text.lower().split()
    if len(words) < MIN_WORDS:
        return ENGLISH
    values = _detector().compute_language_confidence_values(text)
    if len(values) < 2:
        return ENGLISH
    top, runner_up = values[0], values[1]
    code = top.language.iso_code_639_1.name.lower()
    if code == "es":
        spanish = SPANISH_WORDS.intersection(w.strip("¿?¡!.,;:") for w in words) or SPANISH_LETTERS & set(text.lower())
        return code if top.value >= MIN_CONFIDENCE_SPANISH and spanish else ENGLISH
    if code != ENGLISH and top.value >= MIN_CONFIDENCE and top.value - runner_up.value >= MIN_MARGIN:
        return code
    return ENGLISH


class LanguageDetector:
    def __init__(self) -> None:
        _detector()  # load the models now, not on the first patient's message

    def __call__(self, doc: Doc) -> Doc:
        doc._.language = detect(doc.text)
        return doc


@Language.factory("language_detector")
def make_language_detector(nlp: Language, name: str) -> LanguageDetector:
    return LanguageDetector()
