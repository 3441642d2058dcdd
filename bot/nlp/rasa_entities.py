"""Rasa's SpacyEntityExtractor, reporting each entity's canonical value.

The stock extractor reports the matched text ("spine"); the knowledge base is
keyed by canonical site ("bones"), which the entity ruler records as `ent_id_`.
Keeping the mapping in the spaCy patterns means one vocabulary, not a second
synonym list in the training data.
"""

from __future__ import annotations

from typing import Any

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.extractors.spacy_entity_extractor import SpacyEntityExtractor
from spacy.tokens import Doc


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=False, model_from="SpacyNLP")
class CanonicalSpacyEntityExtractor(SpacyEntityExtractor):
    @staticmethod
    def _extract_entities(doc: Doc) -> list[dict[str, Any]]:
        entities = SpacyEntityExtractor._extract_entities(doc)
        for entity, span in zip(entities, doc.ents, strict=True):
            if span.ent_id_:
                entity["value"] = span.ent_id_
        return entities
