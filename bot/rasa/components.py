"""The project's Rasa NLU steps around the classifiers: entities, safety, language, feelings.

config.yml names them as `bot.rasa.components.<Class>`. The NLP they apply lives in
bot/nlp and bot/safety; these classes are the glue to Rasa's messages.

- `CanonicalSpacyEntityExtractor`: Rasa's SpacyEntityExtractor, reporting each
  entity's canonical value. The stock extractor reports the matched text
  ("spine"); the knowledge base is keyed by canonical site ("bones"), which the
  entity ruler records as `ent_id_`. One vocabulary, no second synonym list.
- `SafetyIntentOverride`: makes the `emergency`, `urgent` or `crisis` intent win whenever
  either detector fires: the spaCy safety matcher (deterministic patterns) or
  DIET's own top prediction at `min_confidence` or above, unless the matcher
  found the danger negated, past or asked about in general ("no chest pain"). It runs
  before FallbackClassifier, so a message about danger is never answered with
  "I'm not sure I understood".
- `LanguageRouter`: a message in another language gets the `other_language` intent.
- `FeelingReader`: after FallbackClassifier, the message's `feeling` (bot/nlp/feelings.py)
  for the actions' acknowledgement; "is this the end?" goes to `personal_advice`.

The spelling corrector and the question ranker are trainable models with their own
modules (`bot.nlp.spelling`, `bot.nlp.ranker`).
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

import bot.nlp.language  # noqa: F401  (registers the spaCy "language_detector" factory)
from bot import safety  # registers the spaCy "safety_matcher" factory before SpacyNLP loads
from bot.nlp.feelings import FACING_THE_END, feeling


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=False, model_from="SpacyNLP")
class CanonicalSpacyEntityExtractor(SpacyEntityExtractor):
    @staticmethod
    def _extract_entities(doc: Doc) -> list[dict[str, Any]]:
        entities = SpacyEntityExtractor._extract_entities(doc)
        for entity, span in zip(entities, doc.ents, strict=True):
            if span.ent_id_:
                entity["value"] = span.ent_id_
        return entities


SAFETY_INTENTS = safety.LEVELS  # crisis, emergency, urgent: the intents share the levels' names


class IntentStep(GraphComponent):
    """An intent step with nothing to train: built from its config; training data passes through."""

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> IntentStep:
        return cls(config)

    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class SafetyIntentOverride(IntentStep):
    @staticmethod
    def get_default_config() -> dict[str, Any]:
        # DIET's emergency/crisis prediction counts from this confidence up.
        return {"min_confidence": 0.0}

    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__(config)
        self.min_confidence = float(config.get("min_confidence", 0.0))

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            doc = message.get(SPACY_DOCS[TEXT])
            pattern = doc._.safety if doc is not None else None
            predicted = message.get(INTENT) or {}
            learned = predicted.get("name") if predicted.get("name") in SAFETY_INTENTS else None
            learned_confidence = predicted.get("confidence") or 0.0
            vetoed = doc is not None and bool(doc._.safety_suppressed)
            if learned and (learned_confidence < self.min_confidence or vetoed):
                learned = None
                if not pattern:
                    self._demote(message)
            label = pattern or learned
            if label:
                # Which detector fired, and how sure DIET was, for the logs and evaluation.
                message.set(
                    "safety",
                    {
                        "label": label,
                        "pattern": pattern,
                        "learned": learned,
                        "confidence": learned_confidence,
                        "flags": list(doc._.safety_flags) if doc is not None else [],
                        # For the reply: Spanish wording, and how to help when someone else is in crisis.
                        "language": doc._.safety_language if doc is not None else "en",
                        "about": doc._.safety_about if doc is not None else "self",
                    },
                    add_to_output=True,
                )
                self._promote(message, label)
        return messages

    @staticmethod
    def _demote(message: Message) -> None:
        """An untrusted emergency/crisis guess gives way to the next-best intent."""
        ranking = [r for r in message.get(INTENT_RANKING_KEY) or [] if r.get("name") not in SAFETY_INTENTS]
        if ranking:
            message.set(INTENT, ranking[0], add_to_output=True)
            message.set(INTENT_RANKING_KEY, ranking, add_to_output=True)

    @staticmethod
    def _promote(message: Message, label: str) -> None:
        # The other safety levels leave the ranking: DIET's "emergency" at 0.97 under a
        # pattern's "urgent" at 1.0 would otherwise make FallbackClassifier call the
        # message ambiguous and answer "not understood" (seen in issue 11).
        ranking = [r for r in message.get(INTENT_RANKING_KEY) or [] if r.get("name") not in SAFETY_INTENTS]
        top = {"name": label, "confidence": 1.0}
        message.set(INTENT, top, add_to_output=True)
        message.set(INTENT_RANKING_KEY, [top, *ranking], add_to_output=True)


OTHER_LANGUAGE = "other_language"


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class LanguageRouter(IntentStep):
    """A message not in English gets the `other_language` intent (confidence 1.0), and its
    language in the output: the reply is fixed wording in that language where
    `bot.messages` has it. Runs after `SafetyIntentOverride`: danger in any language
    is answered at its level first.
    """

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            doc = message.get(SPACY_DOCS[TEXT])
            language = doc._.language if doc is not None else "en"
            message.set("language", language, add_to_output=True)
            if language != "en" and not message.get("safety"):
                top = {"name": OTHER_LANGUAGE, "confidence": 1.0}
                ranking = [r for r in message.get(INTENT_RANKING_KEY) or [] if r.get("name") != OTHER_LANGUAGE]
                message.set(INTENT, top, add_to_output=True)
                message.set(INTENT_RANKING_KEY, [top, *ranking], add_to_output=True)
        return messages


ROUTED_TO = "personal_advice"
KEEP = {*SAFETY_INTENTS, "other_language"}  # danger and other languages are answered as they are


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class FeelingReader(IntentStep):
    """Sets `feeling`; a message facing the end that is not about danger gets `personal_advice`."""

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            found = feeling(message.get(TEXT) or "")
            message.set("feeling", found, add_to_output=True)
            intent = (message.get(INTENT) or {}).get("name")
            if found == FACING_THE_END and intent not in KEEP:
                top = {"name": ROUTED_TO, "confidence": 1.0}
                ranking = [r for r in message.get(INTENT_RANKING_KEY) or [] if r.get("name") != ROUTED_TO]
                message.set(INTENT, top, add_to_output=True)
                message.set(INTENT_RANKING_KEY, [top, *ranking], add_to_output=True)
        return messages
