"""Correct patients' typos against the assistant's own vocabulary, before featurising.

"metastisis", "palative", "lymf nodes": a word that is neither in the training
data nor in the article is replaced, in Rasa's tokens only, by the closest word
that is (SymSpell, edit distance 1 for words up to 6 letters, 2 above). The
message text and the spaCy doc are untouched, so the safety patterns, the
entities and the conversation log all see what the person wrote.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.constants import TOKENS_NAMES
from rasa.nlu.tokenizers.tokenizer import Tokenizer
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from symspellpy import SymSpell, Verbosity

from bot.knowledge.article import load_article
from bot.nlp.vocabulary import VOCABULARY

WORD = re.compile(r"[a-z]+")
MIN_LENGTH = 5  # "mets", "onc", "chemo" and other short forms are left alone
FILE = "words.json"


def article_words() -> Counter[str]:
    words: Counter[str] = Counter()
    for _, _, sentence in load_article().sentences():
        words.update(WORD.findall(sentence.lower()))
    return words


def vocabulary_words() -> Counter[str]:
    words: Counter[str] = Counter()
    for values in VOCABULARY.values():
        for canonical, variants in values.items():
            for phrase in (canonical, *variants):
                words.update(WORD.findall(phrase.lower()))
    return words


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER, is_trainable=True)
class SpellingCorrector(GraphComponent):
    @classmethod
    def required_components(cls) -> list[type]:
        return [Tokenizer]

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {"min_count": 1}

    def __init__(self, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
                 words: dict[str, int] | None = None) -> None:  # fmt: skip
        self.config = {**self.get_default_config(), **config}
        self._storage, self._resource = model_storage, resource
        self.words = words or {}
        self.symspell = SymSpell(max_dictionary_edit_distance=2, prefix_length=7)
        for word, count in self.words.items():
            self.symspell.create_dictionary_entry(word, count)
        self.corrections: dict[str, str | None] = {}

    @classmethod
    def create(cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> SpellingCorrector:  # fmt: skip
        return cls(config, model_storage, resource)

    def train(self, training_data: TrainingData) -> Resource:
        words = article_words() + vocabulary_words()
        for example in training_data.training_examples:
            words.update(WORD.findall((example.get(TEXT) or "").lower()))
        kept = {w: n for w, n in words.items() if n >= self.config["min_count"]}
        with self._storage.write_to(self._resource) as directory:
            (directory / FILE).write_text(json.dumps(kept, sort_keys=True))
        return self._resource

    @classmethod
    def load(cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
             execution_context: ExecutionContext, **kwargs: Any) -> SpellingCorrector:  # fmt: skip
        try:
            with model_storage.read_from(resource) as directory:
                words = json.loads((directory / FILE).read_text())
        except ValueError:  # not trained yet (Rasa builds the component before training it)
            words = {}
        return cls(config, model_storage, resource, words)

    def correct(self, word: str) -> str | None:
        """The closest known word, or None when the word is known, short or has no close match."""
        if len(word) < MIN_LENGTH or word in self.words or not word.isalpha():
            return None
        if word not in self.corrections:
            distance = 1 if len(word) <= 6 else 2
            found = self.symspell.lookup(word, Verbosity.CLOSEST, max_edit_distance=distance)
            self.corrections[word] = found[0].term if found else None
            if len(self.corrections) > 50_000:  # a hostile stream of nonsense must not grow memory
                self.corrections.clear()
        return self.corrections[word]

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            for token in message.get(TOKENS_NAMES[TEXT]) or []:
                fixed = self.correct(token.text.lower())
                if fixed:
                    token.text = token.lemma = fixed
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data  # every training word is in the dictionary
