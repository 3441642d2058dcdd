"""The project's Rasa NLU components, both reading the spaCy pipeline's output.

- `CanonicalSpacyEntityExtractor`: Rasa's SpacyEntityExtractor, reporting each
  entity's canonical value. The stock extractor reports the matched text
  ("spine"); the knowledge base is keyed by canonical site ("bones"), which the
  entity ruler records as `ent_id_`. One vocabulary, no second synonym list.
- `SafetyIntentOverride`: makes the `emergency` or `crisis` intent win whenever
  either detector fires: the spaCy safety matcher (deterministic patterns) or
  DIET's own top prediction. It runs before FallbackClassifier, so a message
  about danger is never answered with "I'm not sure I understood".
"""

from __future__ import annotations

from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.constants import SPACY_DOCS
from rasa.nlu.extractors.spacy_entity_extractor import SpacyEntityExtractor
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from spacy.tokens import Doc

from bot import safety  # registers the spaCy "safety_matcher" factory before SpacyNLP loads


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=False, model_from="SpacyNLP")
class CanonicalSpacyEntityExtractor(SpacyEntityExtractor):
    @staticmethod
    def _extract_entities(doc: Doc) -> list[dict[str, Any]]:
        entities = SpacyEntityExtractor._extract_entities(doc)
        for entity, span in zip(entities, doc.ents, strict=True):
            if span.ent_id_:
                entity["value"] = span.ent_id_
        return entities


SAFETY_INTENTS = (safety.CRISIS, safety.EMERGENCY)


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class SafetyIntentOverride(GraphComponent):
    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> SafetyIntentOverride:
        return cls()

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            label = self.safety_label(message)
            if label:
                self._promote(message, label)
        return messages

    @staticmethod
    def safety_label(message: Message) -> str | None:
        doc = message.get(SPACY_DOCS[TEXT])
        if doc is not None and doc._.safety:
            return doc._.safety
        predicted = (message.get(INTENT) or {}).get("name")
        return predicted if predicted in SAFETY_INTENTS else None

    @staticmethod
    def _promote(message: Message, label: str) -> None:
        ranking = [r for r in message.get(INTENT_RANKING_KEY) or [] if r.get("name") != label]
        top = {"name": label, "confidence": 1.0}
        message.set(INTENT, top, add_to_output=True)
        message.set(INTENT_RANKING_KEY, [top, *ranking], add_to_output=True)
