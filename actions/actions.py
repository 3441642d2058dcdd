"""Custom actions: turn an understood question into a reply from the knowledge base.

Medical text only ever comes from `KnowledgeBase` (verbatim article sentences);
every other word comes from `bot.messages`. Each medical reply ends with the
care-team disclaimer, offers follow-up questions as buttons, and carries its
source in the message's custom data for the channels.

Every action is `Guarded`: values read from the tracker (entities, slots, NLU
extras) are checked before use, and an action that fails anyway sends the safe
reply (care team and emergency number) instead of failing the turn.
"""

from __future__ import annotations

import functools
import json
import logging
import re
from collections.abc import Awaitable, Callable
from datetime import datetime, timezone
from functools import lru_cache
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, Restarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot import messages
from bot.insights.store import InsightStore
from bot.knowledge import catalogue
from bot.knowledge.repository import Answer, KnowledgeBase
from bot.logs import describe
from bot.nlp.vocabulary import VOCABULARY

log = logging.getLogger(__name__)

ASK_PREFIX = "ask_"
SITE_TOPIC = "symptoms_by_site"
GENERAL_SYMPTOMS = "general_symptoms"
SYMPTOM_TOPICS = (GENERAL_SYMPTOMS, "symptoms_by_site")
MAX_ANSWERS = 2  # a message asking more gets the first two; the buttons offer the rest
_NAME = re.compile(r"[a-z][a-z0-9_]{0,63}")
Run = Callable[..., Awaitable[list[EventType]]]


def known(value: Any, entity: str) -> str | None:
    """`value` if it is a word the vocabulary knows for `entity`: slots and entities can hold anything."""
    return value if isinstance(value, str) and value in VOCABULARY.get(entity, {}) else None


def name_or_none(value: Any) -> str | None:
    """An intent or topic name, or None for anything else (a dict, a long string...)."""
    return value if isinstance(value, str) and _NAME.fullmatch(value) else None


def names(values: Any) -> list[str]:
    return [v for v in values if name_or_none(v)] if isinstance(values, list) else []


def latest_known(tracker: Tracker, entity: str) -> str | None:
    """The first value of `entity` in this message that the vocabulary knows."""
    return next((v for v in tracker.get_latest_entity_values(entity) if known(v, entity)), None)


def in_context(tracker: Tracker, entity: str) -> str | None:
    """`entity` named in this message, else the one named earlier in the conversation (its slot)."""
    return latest_known(tracker, entity) or known(tracker.get_slot(entity), entity)


def known_cancer_type(tracker: Tracker) -> str | None:
    return in_context(tracker, "cancer_type")


def latest_site(tracker: Tracker) -> str | None:
    return latest_known(tracker, "body_site")


def person_of(tracker: Tracker) -> str | None:
    """Whom the conversation is about, if the patient named someone else ("my mom")."""
    return known(tracker.get_slot("person"), "person")


def context_site(tracker: Tracker) -> str | None:
    return in_context(tracker, "body_site")


ACKNOWLEDGE_EVERY = 3  # user turns: an acknowledgement is said at most once in this many


def acknowledge(dispatcher: CollectingDispatcher, tracker: Tracker) -> None:
    """One short sentence naming the feeling, before the reply (never a safety reply's)."""
    feeling = name_or_none(tracker.latest_message.get("feeling"))
    if feeling in messages.ACKNOWLEDGEMENTS and not acknowledged_recently(tracker):
        dispatcher.utter_message(text=messages.ACKNOWLEDGEMENTS[feeling], json_message={"kind": "acknowledgement"})


def acknowledged_recently(tracker: Tracker) -> bool:
    """Whether one of the last ACKNOWLEDGE_EVERY - 1 replies already began with an acknowledgement."""
    users = 0
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            users += 1
            if users >= ACKNOWLEDGE_EVERY:
                return False
        elif event.get("event") == "bot" and ((event.get("data") or {}).get("custom") or {}).get("kind") == (
            "acknowledgement"
        ):
            return True
    return False


def intent_of(tracker: Tracker) -> str:
    return name_or_none((tracker.latest_message.get("intent") or {}).get("name")) or ""


def _guard(run: Run) -> Run:
    @functools.wraps(run)
    async def guarded(self: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Any) -> list[EventType]:
        try:
            return await run(self, dispatcher, tracker, domain)
        except Exception as error:  # noqa: BLE001 - the patient gets the safe reply whatever failed
            log.error("Action %s failed: %s; sent the safe reply", self.name(), describe(error))
            dispatcher.messages.clear()  # nothing half-said
            dispatcher.utter_message(text=messages.fill(messages.SERVICE_TROUBLE), json_message={"kind": "error"})
            return []

    guarded.guarded = True  # type: ignore[attr-defined]
    return guarded


class Guarded:
    """Wraps the `run` of every subclass: a failing action answers with the safe reply."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        run = cls.__dict__.get("run")
        if run is not None and not getattr(run, "guarded", False):
            cls.run = _guard(run)  # type: ignore[attr-defined]


@lru_cache(maxsize=1)
def shared_knowledge_base() -> KnowledgeBase:
    """One knowledge base (and so one engine) per action-server process."""
    return KnowledgeBase()


@lru_cache(maxsize=1)
def shared_insights() -> InsightStore:
    return InsightStore()


def button(key: str) -> dict[str, str]:
    """A follow-up button for `topic` or `topic/site`, sending that question's intent."""
    topic, _, site = key.partition("/")
    payload = f"/{ASK_PREFIX}{topic}"
    if site:
        payload += json.dumps({"body_site": site})
    return {"title": catalogue.label(key), "payload": payload}


class UsesStores(Guarded):
    """Mixin for actions that read the knowledge base or record insights; tests inject their own.

    Not an `Action` itself: rasa_sdk registers every `Action` subclass it finds.
    """

    def __init__(self, kb: KnowledgeBase | None = None, insights: InsightStore | None = None) -> None:
        self._kb = kb
        self._insights = insights

    @property
    def kb(self) -> KnowledgeBase:
        return self._kb or shared_knowledge_base()

    @property
    def insights(self) -> InsightStore:
        return self._insights or shared_insights()

    def record_unanswered(self, tracker: Tracker, reason: str) -> None:
        self.insights.unanswered(tracker.latest_message.get("text") or "", reason, tracker.get_latest_input_channel())


class ActionAnswer(UsesStores, Action):
    """Answer an `ask_<topic>` question with the article's own sentences.

    A message that asks two questions (the NLU's `questions`, in the order asked)
    gets both answers, at most two, each once and each with the care-team disclaimer.
    """

    def name(self) -> str:
        return "action_answer"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        intent = intent_of(tracker)
        asked = [q for q in names(tracker.latest_message.get("questions")) if q.startswith(ASK_PREFIX)]
        site = latest_site(tracker)
        answers: list[Answer] = []
        for name in asked[:MAX_ANSWERS] if intent in asked else [intent]:
            for answer in self._find_in_context(name.removeprefix(ASK_PREFIX), site, tracker):
                if answer not in answers:
                    answers.append(answer)
        answers = answers[:MAX_ANSWERS]
        if not answers:
            log.warning("No knowledge-base answer for intent %r (site %r)", intent, site)
            dispatcher.utter_message(text=messages.fill(messages.NO_ANSWER))
            return []
        return self.send(dispatcher, tracker, answers, site)

    def send(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, answers: list[Answer], site: str | None = None
    ) -> list[EventType]:
        acknowledge(dispatcher, tracker)
        for answer in answers:
            dispatcher.utter_message(**render(answer, person_of(tracker), known_cancer_type(tracker)))
            self.insights.answered(answer.topic, answer.site, tracker.get_latest_input_channel())
        offered = also_asked(tracker.latest_message, answers)
        if offered:
            dispatcher.utter_message(
                text=messages.ALSO_ASKED,
                buttons=[button(t) for t in offered],
                json_message={"kind": "clarify", "topics": offered},
            )
        last = answers[-1]
        return [SlotSet("last_topic", last.topic), SlotSet("body_site", last.site or site or context_site(tracker))]

    def _find_in_context(self, topic: str, site: str | None, tracker: Tracker) -> list[Answer]:
        """The answers for `topic`. A general symptoms question with a site, named now or earlier
        ("spread to his liver", then "what symptoms will he have"), gets that site's sentence
        first, then the general symptoms; so does a site question whose site was named earlier."""
        if topic in SYMPTOM_TOPICS and (topic == GENERAL_SYMPTOMS or site is None):
            remembered = site or context_site(tracker)
            by_site = remembered and self.kb.answer(SITE_TOPIC, remembered)
            if by_site:
                return [a for a in (by_site, self.kb.answer(GENERAL_SYMPTOMS)) if a is not None]
        answer = self._find(topic, site)
        return [answer] if answer is not None else []

    def _find(self, topic: str, site: str | None) -> Answer | None:
        if topic == SITE_TOPIC:
            # No site, or one the article says nothing specific about: the general
            # symptoms, whose follow-ups offer the sites.
            return (site and self.kb.answer(SITE_TOPIC, site)) or self.kb.answer(GENERAL_SYMPTOMS)
        return self.kb.answer(topic)


def feedback_controls(topic: str) -> list[dict[str, str]]:
    """👍 / 👎 for one answer, carried in its custom data: the widget shows them on the bubble."""
    return [
        {"title": title, "label": label, "payload": f"/{intent}" + json.dumps({"topic": topic})}
        for (title, label), intent in (
            (messages.FEEDBACK_HELPFUL, "feedback_helpful"),
            (messages.FEEDBACK_UNHELPFUL, "feedback_unhelpful"),
        )
    ]


class ActionTellMeMore(ActionAnswer):
    """ "Tell me more", "why?", "how?": continue the last topic with its first follow-up.
    "Which ones?" after a topic whose list the article leaves out: that topic's gap note."""

    def name(self) -> str:
        return "action_tell_me_more"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        last = name_or_none(tracker.get_slot("last_topic"))
        current = last and self._find(last, known(tracker.get_slot("body_site"), "body_site"))
        if current and current.gap and intent_of(tracker) == "which_ones":
            person = person_of(tracker)
            text = "\n\n".join([catalogue.gap_note(current.gap, person), messages.disclaimer(person=person)])
            dispatcher.utter_message(
                text=text,
                buttons=[button(key) for key in current.followups[:4]],
                json_message={"kind": "gap", "topic": current.topic, "source": current.source.as_dict()},
            )
            return []
        if not current or not current.followups:
            dispatcher.utter_message(text=messages.fill(messages.MORE_WHAT), buttons=starter_buttons())
            return []
        topic, _, site = current.followups[0].partition("/")
        answer = self._find(topic, site or None)
        if answer is None:
            dispatcher.utter_message(text=messages.fill(messages.NO_ANSWER))
            return []
        return self.send(dispatcher, tracker, [answer], site or None)


class ActionFeedback(UsesStores, Action):
    """Store 👍 / 👎 for the answer it was given on (else the last topic); never who said it."""

    def name(self) -> str:
        return "action_feedback"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        helpful = intent_of(tracker) == "feedback_helpful"
        given = next(tracker.get_latest_entity_values("topic"), None)
        topic = given if catalogue.is_topic(given) else name_or_none(tracker.get_slot("last_topic"))
        self.insights.feedback(topic, helpful, tracker.get_latest_input_channel())
        sorry = messages.fill(messages.FEEDBACK_SORRY, person=person_of(tracker))
        dispatcher.utter_message(text=messages.FEEDBACK_THANKS if helpful else sorry, json_message={"kind": "feedback"})
        return []


class ActionSummary(Guarded, Action):
    """The topics answered in this conversation, one line each (SMS: the SUMMARY keyword)."""

    def name(self) -> str:
        return "action_summary"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        topics = answered_topics(tracker)[-messages.SUMMARY_MOST :]
        if not topics:
            dispatcher.utter_message(text=messages.fill(messages.SUMMARY_EMPTY), json_message={"kind": "summary"})
            return []
        lines = [messages.SUMMARY_INTRO, *(f"- {catalogue.label(t)}" for t in topics)]
        text = "\n".join(lines) + "\n" + messages.fill(messages.SUMMARY_END)
        dispatcher.utter_message(text=text, json_message={"kind": "summary", "topics": topics})
        return []


def answered_topics(tracker: Tracker) -> list[str]:
    """Each topic (or topic/site) answered in this conversation, once, in the order first answered."""
    found: list[str] = []
    for event in tracker.events:
        custom = ((event.get("data") or {}).get("custom") or {}) if event.get("event") == "bot" else {}
        topic, site = name_or_none(custom.get("topic")), custom.get("site")
        with_site = f"{topic}/{site}" if topic and isinstance(site, str) else None
        key = with_site if catalogue.is_topic(with_site) else topic
        if catalogue.is_topic(key) and key not in found and custom.get("kind") is None:
            found.append(key)
    return found


class ActionStartOver(Guarded, Action):
    """ "Start over": forget the conversation and offer the starting topics."""

    def name(self) -> str:
        return "action_start_over"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        dispatcher.utter_message(text=messages.fill(messages.START_OVER), buttons=starter_buttons())
        return [Restarted()]


def render(answer: Answer, person: str | None = None, cancer_type: str | None = None) -> dict[str, Any]:
    """The reply for an answer: article text, gap note, disclaimer, buttons, source.

    The article's sentences never change; the fixed wording around them speaks of
    `person`'s care team, and the gap note about spread names their `cancer_type`."""
    parts = [answer.text]
    if answer.gap:
        parts.append(catalogue.gap_note(answer.gap, person, cancer_type))
    parts.append(messages.disclaimer(person=person))
    return {
        "text": "\n\n".join(parts),
        "buttons": [button(key) for key in answer.followups[:4]],
        "json_message": {
            "topic": answer.topic,
            "site": answer.site or None,
            "section": answer.section,
            "source": answer.source.as_dict(),
            "feedback": feedback_controls(answer.topic),
        },
    }


class ActionRespond(UsesStores, Action):
    """Greetings, thanks, goodbye, "are you a bot?", capabilities and the source."""

    def name(self) -> str:
        return "action_respond"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        intent = intent_of(tracker)
        source = self.kb.source()
        source_text = messages.source_line(source.title, source.updated, source.reviewer) if source else None
        kind = {"kind": intent or "greet"}
        custom = {**kind, "source": source.as_dict()} if source else kind
        if intent == "ask_source":
            text = "\n\n".join(filter(None, [source_text, messages.disclaimer()]))
            dispatcher.utter_message(text=text, json_message=custom)
        elif intent == "goodbye":
            text = "\n\n".join(filter(None, [messages.fill(messages.GOODBYE), source_text]))
            dispatcher.utter_message(text=text, json_message=custom)
        elif intent == "ask_capabilities":
            dispatcher.utter_message(
                text=messages.fill(messages.CAPABILITIES), buttons=starter_buttons(), json_message=kind
            )
        elif intent == "bot_challenge":
            dispatcher.utter_message(text=messages.fill(messages.BOT_CHALLENGE), json_message=kind)
        elif intent == "thank":
            dispatcher.utter_message(text=messages.THANK, json_message=kind)
        else:
            takeaway = {"source": source.as_dict() if source else None, "questions": self.questions_to_ask()}
            dispatcher.utter_message(
                text=messages.GREET, buttons=starter_buttons(), json_message={**kind, "takeaway": takeaway}
            )
        return []

    def questions_to_ask(self) -> list[str]:
        """The article's own "questions to ask" list, verbatim, for the widget's printable page."""
        answer = self.kb.answer("questions_for_care_team")
        lines = answer.text.splitlines() if answer else []
        return [line.removeprefix("•").strip() for line in lines if line.startswith("•")]


def starter_buttons() -> list[dict[str, str]]:
    return [button(topic) for topic in messages.STARTER_TOPICS]


class FixedReply(UsesStores):
    """A reply of fixed wording from `bot.messages` (never medical text), with topic buttons.

    A mixin, not an `Action`, so rasa_sdk registers only the concrete actions below.
    """

    action_name: str
    template: str
    topics: tuple[str, ...] = ()
    unanswered_reason: str | None = None  # store the question for content editors

    def name(self) -> str:
        return self.action_name

    def wording(self, tracker: Tracker) -> tuple[str, tuple[str, ...]]:
        """The template and topic buttons for this message."""
        return self.template, self.topics

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        template, topics = self.wording(tracker)
        acknowledge(dispatcher, tracker)
        dispatcher.utter_message(
            text=messages.fill(template, person=person_of(tracker)),
            buttons=[button(topic) for topic in topics],
            # What kind of reply this is, for the channels and `python -m bot.evaluation`.
            json_message={"kind": self.action_name.removeprefix("action_")},
        )
        if self.unanswered_reason:
            self.record_unanswered(tracker, self.unanswered_reason)
        return []


class SafetyReply(Guarded):
    """The emergency, urgent or crisis reply: fixed wording, in Spanish for a Spanish message,
    and for a crisis about someone else, how to help them. The NLU's safety details
    (language, who it is about) come with the message; a button press has none: English.

    A mixin, not an `Action`, so rasa_sdk registers only the concrete actions below.
    """

    level: str

    def name(self) -> str:
        return f"action_{self.level}"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        found = tracker.latest_message.get("safety")
        found = found if isinstance(found, dict) else {}
        language = name_or_none(found.get("language")) or "en"
        dispatcher.utter_message(
            text=messages.safety_reply(self.level, name_or_none(found.get("about")) or "self", language),
            json_message={"safety": self.level, "calls": messages.safety_calls(self.level, language)},
        )
        return []


class ActionOtherLanguage(Guarded, Action):
    """A message in another language: fixed wording in that language (Spanish), else English."""

    def name(self) -> str:
        return "action_other_language"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        language = name_or_none(tracker.latest_message.get("language")) or "en"
        dispatcher.utter_message(
            text=messages.other_language_reply(language), json_message={"kind": "language", "language": language}
        )
        return []


class ActionEmergency(SafetyReply, Action):
    level = "emergency"


class ActionUrgent(SafetyReply, Action):
    level = "urgent"


class ActionCrisis(SafetyReply, Action):
    level = "crisis"


class ActionPersonalAdvice(FixedReply, Action):
    action_name, template = "action_personal_advice", messages.PERSONAL_ADVICE
    topics = messages.PERSONAL_ADVICE_TOPICS

    def wording(self, tracker: Tracker) -> tuple[str, tuple[str, ...]]:
        # "Is this the end?", "how long does she have": the kind reply about what lies ahead.
        if tracker.latest_message.get("feeling") == "facing_the_end":
            return messages.FACING_THE_END, messages.FACING_THE_END_TOPICS
        return self.template, self.topics


class ActionHandoff(FixedReply, Action):
    """A person on the care team: "call now" in their hours; else when, and who to call meanwhile."""

    action_name, template = "action_handoff", messages.HANDOFF

    def __init__(self, *args: Any, clock: Callable[[], datetime] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.clock = clock or (lambda: datetime.now(timezone.utc))

    def wording(self, tracker: Tracker) -> tuple[str, tuple[str, ...]]:
        return messages.handoff(self.clock()), self.topics


class ActionOutOfScope(FixedReply, Action):
    action_name, template, topics = "action_out_of_scope", messages.OUT_OF_SCOPE, messages.STARTER_TOPICS
    unanswered_reason = "out_of_scope"


class ActionNotUnderstood(UsesStores, Action):
    """When NLU is unsure: offer the closest topics ("Did you mean…?"), or the care team.

    A second miss in a row gets the care-team contact instead of another guess.
    """

    def name(self) -> str:
        return "action_not_understood"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        self.record_unanswered(tracker, "not_understood")
        person = person_of(tracker)
        acknowledge(dispatcher, tracker)
        if previous_action(tracker) == self.name():
            text = messages.fill(messages.SECOND_MISS, person=person)
            dispatcher.utter_message(text=text, json_message={"kind": "not_understood"})
            return []
        topics = closest_topics(tracker.latest_message)
        if topics:
            buttons = [button(t) for t in topics]
            buttons.append({"title": messages.SOMETHING_ELSE, "payload": "/handoff"})
            dispatcher.utter_message(
                text=messages.fill(messages.CLARIFY, person=person),
                buttons=buttons,
                json_message={"kind": "clarify", "topics": topics},
            )
        else:
            dispatcher.utter_message(
                text=messages.fill(messages.NOT_UNDERSTOOD, person=person),
                buttons=starter_buttons(),
                json_message={"kind": "not_understood"},
            )
        return []


def closest_topics(latest_message: dict[str, Any], most: int = 3, floor: float = 0.05) -> list[str]:
    """The best-ranked answerable topics of an unsure prediction, best first."""
    ranking = latest_message.get("intent_ranking")
    ranking = [r for r in ranking if isinstance(r, dict)] if isinstance(ranking, list) else []
    topics = [
        r["name"].removeprefix(ASK_PREFIX)
        for r in ranking
        if (name_or_none(r.get("name")) or "").startswith(ASK_PREFIX)
        and isinstance(r.get("confidence"), (int, float))
        and r["confidence"] >= floor
    ]
    return [t for t in topics if catalogue.is_topic(t)][:most]


def also_asked(latest_message: dict[str, Any], answers: list[Answer]) -> list[str]:
    """Topics for a second question the NLU was not sure of, when only one was answered."""
    if len(answers) != 1:
        return []
    offered = [t.removeprefix(ASK_PREFIX) for t in names(latest_message.get("also_asked"))]
    return [t for t in offered if catalogue.is_topic(t) and t != answers[0].topic][:3]


def previous_action(tracker: Tracker) -> str | None:
    """The bot's last action before the user's latest message."""
    seen_user = False
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            if seen_user:
                return None
            seen_user = True
        elif seen_user and event.get("event") == "action" and event.get("name") != "action_listen":
            return event.get("name")
    return None
