"""What a message says about how the writer feels, and the kind reply to "is this the end?".

`FeelingReader`, a Rasa NLU step after FallbackClassifier, sets the message's
`feeling` (bad_news, fear, grief, exhaustion or facing_the_end, from the phrases
in feelings.yml) for the actions, which then start the reply with one short
acknowledgement. A message facing the end ("is this the end?", "how long does
she have") that is not about danger gets the `personal_advice` intent: its reply
says kindly that the care team can talk about what lies ahead, instead of "Did
you mean…?" or a topic answer that happens to mention time.
"""

import re
from functools import cache
from pathlib import Path

import yaml
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.nlp.rasa_components import SAFETY_INTENTS, IntentStep

PHRASES = Path(__file__).with_name("feelings.yml")
FACING_THE_END = "facing_the_end"
ROUTED_TO = "personal_advice"
KEEP = {*SAFETY_INTENTS, "other_language"}  # danger and other languages are answered as they are
_NEGATED = re.compile(r"(?:\bnot|n't|\bnever|\bno)\s+(?:\w+\s+)?$")


@cache
def patterns() -> dict[str, list[re.Pattern[str]]]:
    """Each kind's compiled phrases, in the file's order (the first kind that matches wins)."""
    kinds = yaml.safe_load(PHRASES.read_text(encoding="utf-8"))
    return {kind: [re.compile(rf"\b(?:{p})\b", re.IGNORECASE) for p in phrases] for kind, phrases in kinds.items()}


def feeling(text: str) -> str | None:
    """The first kind of feeling whose phrase the text says, not negated; None if none."""
    for kind, compiled in patterns().items():
        for pattern in compiled:
            for match in pattern.finditer(text):
                if not _NEGATED.search(text[: match.start()].lower()):
                    return kind
    return None


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class FeelingReader(IntentStep):
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
