"""A second opinion on the intent, read from the question itself, fused with DIET's.

DIET reads the whole message, story included; patients' long messages then
leave it unsure between topics and the person gets "Did you mean…?". This
component, placed after DIET, trains a linear classifier (TF-IDF word and
character n-grams, logistic regression) on the same examples and runs it on the
question clauses (`bot.nlp.questions`) and on the whole message. Its ranking
is averaged with DIET's, with weights chosen on the development sets; the
fallback thresholds then apply to the fused confidence, and "Did you mean…?"
offers the topics the two agree on.

When two clauses ask two different topics, each confidently, the message
carries `questions: [first, second]` for the answer action (at most two).

The safety intents are not touched: they are never fused, never predicted by
this classifier, and `SafetyIntentOverride` runs after it.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.constants import SPACY_DOCS, TOKENS_NAMES
from rasa.nlu.tokenizers.tokenizer import Tokenizer
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from scipy.sparse import hstack
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from bot.nlp.questions import Clause, questions
from bot.safety import LEVELS as SAFETY_INTENTS

ASK = "ask_"
QUESTIONS_KEY = "questions"
ALSO_ASKED_KEY = "also_asked"  # topics offered for a second question that was not clear enough
VECTORIZERS = {
    "word": {"analyzer": "word", "ngram_range": (1, 2), "sublinear_tf": True, "token_pattern": r"(?u)\b\w+\b"},
    "char": {"analyzer": "char_wb", "ngram_range": (2, 5), "sublinear_tf": True, "min_df": 2},
}


def _vectorizer(name: str, vocabulary: dict[str, int] | None = None) -> TfidfVectorizer:
    return TfidfVectorizer(**VECTORIZERS[name], vocabulary=vocabulary, lowercase=True)


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class QuestionRanker(GraphComponent):
    @classmethod
    def required_components(cls) -> list[type]:
        return [Tokenizer]  # it reads DIET's ranking too: config.yml puts it after DIETClassifier

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {
            # Weights of DIET (whole message), this classifier on the whole message,
            # and this classifier on the question clauses.
            "weights": [0.4, 0.2, 0.4],
            # DIET at or above this confidence is trusted as it is.
            "trust_above": 1.0,
            # Each of two questions needs this confidence to be answered on its own.
            "second_question_min": 0.3,
            # ... and must be among this many of the fused ranking's best.
            "second_question_among": 4,
            # A second question's likeliest topics are offered from this confidence up.
            "also_min": 0.15,
            "C": 10.0,
        }

    def __init__(self, config: dict[str, Any], model_storage: ModelStorage, resource: Resource) -> None:
        self.config = {**self.get_default_config(), **config}
        self._storage, self._resource = model_storage, resource
        self.vectorizers: dict[str, TfidfVectorizer] = {}
        self.classes: list[str] = []
        self.coef = np.zeros((0, 0))
        self.intercept = np.zeros(0)

    @classmethod
    def create(cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> QuestionRanker:  # fmt: skip
        return cls(config, model_storage, resource)

    # --- training -----------------------------------------------------------------

    def train(self, training_data: TrainingData) -> Resource:
        examples = [
            (text, e.get(INTENT))
            for e in training_data.intent_examples
            if e.get(INTENT) not in SAFETY_INTENTS and (text := _tokens_text(e))
        ]
        texts, labels = zip(*examples, strict=True)
        self.vectorizers = {name: _vectorizer(name) for name in VECTORIZERS}
        features = hstack([v.fit_transform(texts) for v in self.vectorizers.values()]).tocsr()
        model = LogisticRegression(C=self.config["C"], max_iter=3000, class_weight="balanced", random_state=42)
        model.fit(features, labels)
        self.classes, self.coef, self.intercept = list(model.classes_), model.coef_, model.intercept_
        self.persist()
        return self._resource

    def persist(self) -> None:
        with self._storage.write_to(self._resource) as directory:
            (directory / "ranker.json").write_text(
                json.dumps(
                    {
                        "classes": self.classes,
                        "vocabularies": {n: {t: int(i) for t, i in v.vocabulary_.items()}
                                         for n, v in self.vectorizers.items()},
                    }
                )
            )  # fmt: skip
            np.savez(directory / "ranker.npz", coef=self.coef, intercept=self.intercept,
                     **{f"idf_{n}": v.idf_ for n, v in self.vectorizers.items()})  # fmt: skip

    @classmethod
    def load(cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
             execution_context: ExecutionContext, **kwargs: Any) -> QuestionRanker:  # fmt: skip
        ranker = cls(config, model_storage, resource)
        try:
            with model_storage.read_from(resource) as directory:
                meta = json.loads((directory / "ranker.json").read_text())
                arrays = np.load(directory / "ranker.npz")
                ranker.classes, ranker.coef, ranker.intercept = meta["classes"], arrays["coef"], arrays["intercept"]
                for name, vocabulary in meta["vocabularies"].items():
                    vectorizer = _vectorizer(name, vocabulary)
                    vectorizer.idf_ = arrays[f"idf_{name}"]
                    ranker.vectorizers[name] = vectorizer
        except ValueError:  # not trained yet
            pass
        return ranker

    # --- prediction ---------------------------------------------------------------

    def probabilities(self, texts: list[str]) -> np.ndarray:
        features = hstack([v.transform(texts) for v in self.vectorizers.values()]).tocsr()
        scores = features @ self.coef.T + self.intercept
        scores = np.exp(scores - scores.max(axis=1, keepdims=True))
        return scores / scores.sum(axis=1, keepdims=True)

    def process(self, messages: list[Message]) -> list[Message]:
        if not self.classes:
            return messages
        for message in messages:
            top = (message.get(INTENT) or {}).get("name")
            if top in SAFETY_INTENTS or not message.get(TEXT):
                continue
            self._rank(message)
        return messages

    def _rank(self, message: Message) -> None:
        text = message.get(TEXT)
        doc = message.get(SPACY_DOCS[TEXT])
        sentences = [(s.start_char, s.end_char) for s in doc.sents] if doc is not None else [(0, len(text))]
        asked = questions(text, sentences)
        tokens = message.get(TOKENS_NAMES[TEXT]) or []
        parts = [_span_text(tokens, 0, len(text)), " ".join(_span_text(tokens, c.start, c.end) for c in asked)]
        parts += [_span_text(tokens, c.start, c.end) for c in asked] if len(asked) > 1 else []
        probabilities = self.probabilities(parts)
        diet = {r["name"]: r["confidence"] for r in message.get(INTENT_RANKING_KEY) or []}
        top_confidence = max(diet.values(), default=0.0)
        fused = self._fuse(diet, probabilities[0], probabilities[1], top_confidence)
        best = sorted(fused.items(), key=lambda item: -item[1])[:10]
        ranking = [{"name": name, "confidence": confidence} for name, confidence in best]
        message.set(INTENT, ranking[0], add_to_output=True)
        message.set(INTENT_RANKING_KEY, ranking, add_to_output=True)
        if len(asked) > 1:
            self._two_questions(message, asked, probabilities[2:])

    def _fuse(self, diet: dict[str, float], whole: np.ndarray, asked: np.ndarray, top: float) -> dict[str, float]:
        if top >= self.config["trust_above"]:
            return diet
        w_diet, w_whole, w_asked = self.config["weights"]
        fused = {name: w_diet * confidence for name, confidence in diet.items()}
        for i, name in enumerate(self.classes):
            fused[name] = fused.get(name, 0.0) + w_whole * float(whole[i]) + w_asked * float(asked[i])
        total = sum(fused.values()) or 1.0
        return {name: value / total for name, value in fused.items()}

    def _two_questions(self, message: Message, asked: list[Clause], each: np.ndarray) -> None:
        """Two clauses, two different topics, each confident and among the fused top few: answer both.

        The whole message's confidence is split between its two questions, so it may
        be under the fallback threshold; each clause's own confidence is what counts.
        When only one is clear, the other clause's likeliest topics are offered
        (`also_asked`) after the answer, rather than dropped.
        """
        ranking = message.get(INTENT_RANKING_KEY)
        shortlist = {r["name"] for r in ranking[: self.config["second_question_among"]]}
        topics: list[str] = []
        for row in each:
            best = int(np.argmax(row))
            name, confidence = self.classes[best], float(row[best])
            wanted = name.startswith(ASK) and name in shortlist and confidence >= self.config["second_question_min"]
            if wanted and name not in topics:
                topics.append(name)
        if len(topics) >= 2:
            pair = topics[:2]
            message.set(QUESTIONS_KEY, pair, add_to_output=True)
            # The message is about both: their fused confidences together are what the
            # fallback thresholds weigh, against the best of the other topics.
            lead = {"name": pair[0], "confidence": sum(r["confidence"] for r in ranking if r["name"] in pair)}
            message.set(INTENT, lead, add_to_output=True)
            message.set(INTENT_RANKING_KEY, [lead, *(r for r in ranking if r["name"] not in pair)], add_to_output=True)
            return
        main = ranking[0]["name"]
        for row in each:
            order = [i for i in np.argsort(-row) if self.classes[i].startswith(ASK)]
            if order and self.classes[order[0]] != main and row[order[0]] >= self.config["also_min"]:
                offered = [self.classes[i] for i in order if self.classes[i] != main][:3]
                message.set(ALSO_ASKED_KEY, offered, add_to_output=True)
                return


def _tokens_text(message: Message) -> str:
    tokens = message.get(TOKENS_NAMES[TEXT]) or []
    return " ".join(t.text for t in tokens) if tokens else (message.get(TEXT) or "")


def _span_text(tokens: list[Any], start: int, end: int) -> str:
    """The (spelling-corrected) tokens between two character offsets."""
    return " ".join(t.text for t in tokens if start <= t.start < end)
