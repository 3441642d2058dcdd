"""Build the spaCy pipeline Rasa's SpacyNLP loads, from spaCy alone (no downloads).

Blank English tokenisation, an entity ruler whose patterns come from
`vocabulary` (each carries its canonical value as the span's `ent_id_`, so
"lymph glands" and "nodes" both arrive in Rasa as `lymph nodes`), a sentencizer,
the language detector (`bot.nlp.language`), and the safety matcher from
`bot.safety`, which rebuilds its patterns from the red-flag catalogue on load.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from bot.nlp.vocabulary import VOCABULARY
from bot.settings import VAR_DIR

if TYPE_CHECKING:
    from spacy.language import Language

PIPELINE_NAME = "en_metastatic"
PIPELINE_DIR = VAR_DIR / "nlp" / PIPELINE_NAME
# The safety matcher saves nothing: it rebuilds its patterns from bot/nlp/safety_patterns.yml on load.
PIPES = ["entity_ruler", "sentencizer", "language_detector", "safety_matcher"]


def entity_patterns() -> list[dict[str, Any]]:
    return [
        {"label": label, "pattern": variant, "id": canonical}
        for label, values in VOCABULARY.items()
        for canonical, variants in values.items()
        for variant in variants
    ]


def vocabulary_fingerprint() -> str:
    """Changes when the saved pipeline would: its patterns, its components or the safety patterns."""
    from bot.safety.catalogue import CATALOGUE_PATH

    safety = hashlib.sha256(CATALOGUE_PATH.read_bytes()).hexdigest()
    content = {"patterns": entity_patterns(), "pipes": PIPES, "safety_patterns": safety}
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()


def build_pipeline() -> Language:
    # Imported here: spaCy pulls in TensorFlow (through thinc), seconds that the
    # up-to-date check in `write_pipeline` does not need.
    import spacy
    from spacy.pipeline import EntityRuler

    import bot.nlp.language  # noqa: F401  (registers the language_detector factory)
    import bot.safety  # noqa: F401  (registers the safety_matcher factory)

    nlp = spacy.blank("en")
    nlp.meta["name"] = PIPELINE_NAME.removeprefix("en_")
    nlp.meta["version"] = "1.0.0"
    nlp.meta["description"] = "Blank English with the metastatic-cancer assistant's entity patterns."
    ruler = cast(EntityRuler, nlp.add_pipe("entity_ruler", config={"phrase_matcher_attr": "LOWER"}))
    ruler.add_patterns(entity_patterns())
    # Red flags are looked for sentence by sentence ("Back in March ... Now he can't breathe").
    nlp.add_pipe("sentencizer")
    # The message's language: the safety replies and the not-English reply are worded in it.
    nlp.add_pipe("language_detector")
    nlp.add_pipe("safety_matcher")
    return nlp


def write_pipeline(path: Path = PIPELINE_DIR) -> Path:
    """Save the pipeline where config.yml's SpacyNLP expects it; skip if up to date."""
    stamp = path / "vocabulary.sha256"
    fingerprint = vocabulary_fingerprint()
    if stamp.exists() and stamp.read_text() == fingerprint:
        return path
    path.mkdir(parents=True, exist_ok=True)
    build_pipeline().to_disk(path)
    stamp.write_text(fingerprint)
    return path
