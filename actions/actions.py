"""Custom actions: turn an understood question into a reply from the knowledge base.

Medical text only ever comes from `KnowledgeBase` (verbatim article sentences);
every other word comes from `bot.messages`. Each medical reply ends with the
care-team disclaimer, offers follow-up questions as buttons, and carries its
source in the message's custom data for the channels.
"""

from __future__ import annotations

import json
import logging
from functools import lru_cache
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot import messages
from bot.knowledge.repository import Answer, KnowledgeBase

log = logging.getLogger(__name__)

ASK_PREFIX = "ask_"
SITE_TOPIC = "symptoms_by_site"
GENERAL_SYMPTOMS = "general_symptoms"


@lru_cache(maxsize=1)
def shared_knowledge_base() -> KnowledgeBase:
    """One knowledge base (and so one engine) per action-server process."""
    return KnowledgeBase()


def button(key: str) -> dict[str, str]:
    """A follow-up button for `topic` or `topic/site`, sending that question's intent."""
    topic, _, site = key.partition("/")
    payload = f"/{ASK_PREFIX}{topic}"
    if site:
        payload += json.dumps({"body_site": site})
    return {"title": messages.TOPIC_LABELS.get(key, topic.replace("_", " ")), "payload": payload}


def with_contact(template: str) -> str:
    return template.format(contact=messages.care_team_contact())


class UsesKnowledgeBase:
    """Mixin for actions that read the knowledge base; tests inject their own.

    Not an `Action` itself: rasa_sdk registers every `Action` subclass it finds.
    """

    def __init__(self, kb: KnowledgeBase | None = None) -> None:
        self._kb = kb

    @property
    def kb(self) -> KnowledgeBase:
        return self._kb or shared_knowledge_base()


class ActionAnswer(UsesKnowledgeBase, Action):
    """Answer an `ask_<topic>` question with the article's own sentences."""

    def name(self) -> str:
        return "action_answer"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        intent = (tracker.latest_message.get("intent") or {}).get("name") or ""
        topic = intent.removeprefix(ASK_PREFIX)
        site = next(tracker.get_latest_entity_values("body_site"), None)
        answer = self._find(topic, site)
        if answer is None:
            log.warning("No knowledge-base answer for intent %r (site %r)", intent, site)
            dispatcher.utter_message(text=with_contact(messages.NO_ANSWER))
            return []
        dispatcher.utter_message(**render(answer))
        return [SlotSet("last_topic", topic), SlotSet("body_site", answer.site or site)]

    def _find(self, topic: str, site: str | None) -> Answer | None:
        if topic == SITE_TOPIC:
            # No site, or one the article says nothing specific about: the general
            # symptoms, whose follow-ups offer the sites.
            return (site and self.kb.answer(SITE_TOPIC, site)) or self.kb.answer(GENERAL_SYMPTOMS)
        return self.kb.answer(topic)


def render(answer: Answer) -> dict[str, Any]:
    """The reply for an answer: article text, gap note, disclaimer, buttons, source."""
    parts = [answer.text]
    if answer.gap:
        parts.append(messages.GAP_NOTES[answer.gap])
    parts.append(messages.disclaimer())
    return {
        "text": "\n\n".join(parts),
        "buttons": [button(key) for key in answer.followups[:4]],
        "json_message": {
            "topic": answer.topic,
            "site": answer.site or None,
            "section": answer.section,
            "source": answer.source.as_dict(),
        },
    }


class ActionRespond(UsesKnowledgeBase, Action):
    """Greetings, thanks, goodbye, "are you a bot?", capabilities and the source."""

    def name(self) -> str:
        return "action_respond"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        source = self.kb.source()
        source_text = source and messages.source_line(source.title, source.updated, source.reviewer)
        custom = {"source": source.as_dict()} if source else None
        if intent == "ask_source":
            text = "\n\n".join(filter(None, [source_text, messages.disclaimer()]))
            dispatcher.utter_message(text=text, json_message=custom)
        elif intent == "goodbye":
            text = "\n\n".join(filter(None, [with_contact(messages.GOODBYE), source_text]))
            dispatcher.utter_message(text=text, json_message=custom)
        elif intent == "ask_capabilities":
            dispatcher.utter_message(text=with_contact(messages.CAPABILITIES), buttons=starter_buttons())
        elif intent == "bot_challenge":
            dispatcher.utter_message(text=with_contact(messages.BOT_CHALLENGE))
        elif intent == "thank":
            dispatcher.utter_message(text=messages.THANK)
        else:
            dispatcher.utter_message(text=messages.GREET, buttons=starter_buttons())
        return []


def starter_buttons() -> list[dict[str, str]]:
    return [button(topic) for topic in messages.STARTER_TOPICS]


class ActionNotUnderstood(Action):
    """When NLU is unsure: say so, offer topics, and give the care-team contact."""

    def name(self) -> str:
        return "action_not_understood"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        dispatcher.utter_message(text=with_contact(messages.NOT_UNDERSTOOD), buttons=starter_buttons())
        return []
