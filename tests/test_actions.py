"""Each custom action with a real Tracker and CollectingDispatcher, on a real SQLite database."""

import asyncio

import pytest
from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.actions import (
    ActionAnswer,
    ActionCrisis,
    ActionEmergency,
    ActionHandoff,
    ActionNotUnderstood,
    ActionOtherLanguage,
    ActionOutOfScope,
    ActionPersonalAdvice,
    ActionRespond,
    ActionTellMeMore,
    ActionUrgent,
)
from bot import messages
from bot.knowledge import catalogue
from bot.settings import load_settings

PHONE = load_settings().care_team_phone


def tracker(intent: str, entities: list[dict] | None = None, text: str = "") -> Tracker:
    return Tracker(
        sender_id="test-user",
        slots={"body_site": None, "last_topic": None},
        latest_message={"intent": {"name": intent, "confidence": 0.95}, "entities": entities or [], "text": text},
        events=[],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )


def site(value: str) -> list[dict]:
    return [{"entity": "body_site", "value": value, "start": 0, "end": len(value)}]


def run(action, intent: str, entities: list[dict] | None = None):
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, tracker(intent, entities), {}))
    return dispatcher.messages, events


@pytest.fixture
def answer(kb):
    return ActionAnswer(kb)


def test_every_topic_is_answered_with_disclaimer_buttons_and_source(answer, ask_intents):
    for intent in ask_intents:
        [message], events = run(answer, intent)  # no separate "Was this helpful?" message
        topic = message["custom"]["topic"]
        assert [(c["title"], c["payload"]) for c in message["custom"]["feedback"]] == [
            ("👍", f'/feedback_helpful{{"topic": "{topic}"}}'),
            ("👎", f'/feedback_unhelpful{{"topic": "{topic}"}}'),
        ]
        assert message["text"].endswith(messages.disclaimer()), intent
        assert PHONE in message["text"]
        assert 2 <= len(message["buttons"]) <= 4, intent
        assert all(b["payload"].startswith("/ask_") for b in message["buttons"])
        assert message["custom"]["source"] == {
            "title": "Metastatic cancer",
            "reviewer": "Maurie Markman, MD, President, Medicine & Science",
            "updated": "June 14, 2022",
        }
        shown = message["custom"]["topic"]
        assert shown == intent.removeprefix("ask_") or (intent, shown) == ("ask_symptoms_by_site", "general_symptoms")
        assert SlotSet("last_topic", shown) in events


def test_follow_up_buttons_lead_to_answers(answer, kb, ask_intents):
    for intent in ask_intents:
        [message] = run(answer, intent)[0]
        for b in message["buttons"]:
            topic = b["payload"].removeprefix("/ask_").split("{")[0]
            assert kb.answer(topic) or kb.sites(topic), b


def test_what_is_metastatic_cancer(answer):
    [message], _ = run(answer, "ask_what_is_metastatic_cancer")
    assert message["text"].startswith(
        "A metastatic cancer, or metastatic tumor, is one that has spread from the primary site of origin"
    )


@pytest.mark.parametrize(
    "value, says, not_says",
    [
        ("brain", "Brain metastasis may cause headaches, seizures or dizziness.", "Bone metastasis"),
        ("bones", "Bone metastasis may cause pain and an increased risk of fractures.", "Brain metastasis"),
        ("lungs", "Lung metastasis may cause difficulty breathing or shortness of breath.", "Liver metastasis"),
        ("liver", "Liver metastasis may cause jaundice", "Lung metastasis"),
    ],
)
def test_symptoms_for_a_site_answer_for_that_site(answer, value, says, not_says):
    [message], events = run(answer, "ask_symptoms_by_site", site(value))
    assert says in message["text"] and not_says not in message["text"]
    assert SlotSet("body_site", value) in events


def test_symptoms_without_a_site_give_general_symptoms_and_offer_the_sites(answer):
    [message], _ = run(answer, "ask_symptoms_by_site")
    assert "• Fatigue" in message["text"] and "• Difficulty breathing" in message["text"]
    payloads = [b["payload"] for b in message["buttons"]]
    assert '/ask_symptoms_by_site{"body_site": "brain"}' in payloads
    assert len(payloads) == 4


def test_lymph_node_symptoms_say_the_article_is_silent(answer):
    [message], _ = run(answer, "ask_symptoms_by_site", site("lymph nodes"))
    assert catalogue.gap_note("symptoms_by_site/lymph nodes") in message["text"]
    assert "• Fatigue" in message["text"]


def test_tumor_markers_name_no_marker(answer):
    [message], _ = run(answer, "ask_tumor_markers")
    assert "These substances are called tumor markers." in message["text"]
    assert catalogue.gap_note("tumor_markers") in message["text"]


def test_unknown_topic_routes_to_the_care_team(answer):
    [message], events = run(answer, "ask_something_not_in_the_article")
    assert message["text"] == messages.fill(messages.NO_ANSWER) and events == []
    assert PHONE in message["text"]


def test_goodbye_and_source_show_the_source(kb):
    for intent in ("goodbye", "ask_source"):
        [message], _ = run(ActionRespond(kb), intent)
        assert "Metastatic cancer, updated June 14, 2022" in message["text"]
        assert "Maurie Markman, MD" in message["text"]
        assert PHONE in message["text"]


def test_small_talk(kb):
    [greet], _ = run(ActionRespond(kb), "greet")
    assert greet["text"] == messages.GREET and greet["buttons"]
    [bot], _ = run(ActionRespond(kb), "bot_challenge")
    assert "not a person" in bot["text"] and PHONE in bot["text"]
    [capabilities], _ = run(ActionRespond(kb), "ask_capabilities")
    assert len(capabilities["buttons"]) == len(messages.STARTER_TOPICS)
    [thanks], _ = run(ActionRespond(kb), "thank")
    assert thanks["text"] == messages.THANK


def test_not_understood_offers_topics_and_the_care_team():
    [message], _ = run(ActionNotUnderstood(), "nlu_fallback")
    assert PHONE in message["text"] and message["buttons"]


@pytest.mark.parametrize(
    "action, expected",
    [
        (ActionEmergency(), "Call 911 now, or go to the nearest emergency room."),
        (ActionUrgent(), "If you can't reach them, go to the nearest emergency room."),
        (ActionCrisis(), "call or text 988"),
        (ActionPersonalAdvice(), "I can't give advice about one person's case"),
        (ActionHandoff(), "talk to a person"),
        (ActionOutOfScope(), "can't help with that"),
    ],
)
def test_routing_replies_name_the_care_team(action, expected):
    [message], events = run(action, "any")
    assert expected in message["text"]
    assert PHONE in message["text"]
    assert events == []


def test_safety_replies_are_marked_for_channels_with_one_tap_calls():
    expected = {
        ActionEmergency(): ["tel:911"],
        ActionUrgent(): ["tel:" + PHONE.replace("-", ""), "tel:911"],
        ActionCrisis(): ["tel:988", "sms:988", "tel:911"],
    }
    for action, hrefs in expected.items():
        [message], _ = run(action, action.level)
        assert message["custom"]["safety"] == action.level
        assert [call["href"] for call in message["custom"]["calls"]] == hrefs
        assert message["buttons"] == []


def safety_tracker(level: str, language: str, about: str) -> Tracker:
    found = tracker(level)
    found.latest_message["safety"] = {"label": level, "language": language, "about": about}
    return found


@pytest.mark.parametrize(
    "action, language, about, words",
    [
        (ActionEmergency(), "es", "self", ["Llame al 911", "intérprete"]),
        (ActionUrgent(), "es", "self", ["línea de 24 horas", "sala de emergencias", "intérprete"]),
        (ActionCrisis(), "es", "self", ["oprima 2 para español", "AYUDA"]),
        (ActionCrisis(), "en", "other", ["988 is for them too", "Stay with them"]),
        (ActionCrisis(), "es", "other", ["también es para esa persona", "oprima 2"]),
    ],
)
def test_safety_replies_follow_the_language_and_whom_it_is_about(action, language, about, words):
    dispatcher = CollectingDispatcher()
    asyncio.run(action.run(dispatcher, safety_tracker(action.level, language, about), {}))
    [message] = dispatcher.messages
    for word in words:
        assert word in message["text"]
    assert PHONE in message["text"]
    if language == "es":
        assert message["custom"]["calls"][0]["label"].startswith("Llamar")


def test_personal_advice_offers_what_the_article_says():
    [message], _ = run(ActionPersonalAdvice(), "personal_advice")
    assert [b["payload"] for b in message["buttons"]] == [f"/ask_{topic}" for topic in messages.PERSONAL_ADVICE_TOPICS]


def unsure_tracker(events: list[dict]) -> Tracker:
    ranking = [
        {"name": "nlu_fallback", "confidence": 0.4},
        {"name": "ask_common_sites", "confidence": 0.32},
        {"name": "ask_how_cancer_spreads", "confidence": 0.30},
        {"name": "greet", "confidence": 0.2},
        {"name": "ask_naming", "confidence": 0.1},
        {"name": "ask_coping", "confidence": 0.01},
    ]
    return Tracker(
        sender_id="test-user",
        slots={},
        latest_message={"intent": ranking[0], "intent_ranking": ranking, "entities": [], "text": "usual spots?"},
        events=events,
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )


def test_unsure_prediction_asks_did_you_mean_with_the_closest_topics():
    dispatcher = CollectingDispatcher()
    events = [{"event": "action", "name": "action_listen"}, {"event": "user", "text": "usual spots?"}]
    asyncio.run(ActionNotUnderstood().run(dispatcher, unsure_tracker(events), {}))
    [message] = dispatcher.messages
    assert message["text"] == messages.fill(messages.CLARIFY) and PHONE in message["text"]
    assert [b["payload"] for b in message["buttons"]] == [
        "/ask_common_sites",
        "/ask_how_cancer_spreads",
        "/ask_naming",
        "/handoff",
    ]
    assert message["buttons"][-1]["title"] == messages.SOMETHING_ELSE


def test_second_miss_in_a_row_gives_the_care_team():
    dispatcher = CollectingDispatcher()
    events = [
        {"event": "user", "text": "usual spots?"},
        {"event": "action", "name": "action_not_understood"},
        {"event": "bot", "text": messages.fill(messages.CLARIFY)},
        {"event": "action", "name": "action_listen"},
        {"event": "user", "text": "no, the other thing"},
    ]
    asyncio.run(ActionNotUnderstood().run(dispatcher, unsure_tracker(events), {}))
    [message] = dispatcher.messages
    assert message["text"] == messages.fill(messages.SECOND_MISS) and PHONE in message["text"]


def run_parsed(action, latest_message: dict):
    """An action on a message as the NLU parsed it (with the project's own output keys)."""
    dispatcher = CollectingDispatcher()
    state = tracker(latest_message["intent"]["name"])
    state.latest_message.update(latest_message)
    return dispatcher.messages, asyncio.run(action.run(dispatcher, state, {}))


def test_two_questions_get_two_answers_in_order_each_naming_the_care_team(answer):
    parsed = {"intent": {"name": "ask_what_is_lymph"}, "questions": ["ask_what_is_lymph", "ask_how_cancer_spreads"]}
    (first, second), events = run_parsed(answer, parsed)
    assert [first["custom"]["topic"], second["custom"]["topic"]] == ["what_is_lymph", "how_cancer_spreads"]
    assert first["text"].startswith("Lymph is a clear fluid")
    assert first["text"].endswith(messages.disclaimer())  # each medical answer names the care team
    assert second["text"].endswith(messages.disclaimer())
    assert [len(m["custom"]["feedback"]) for m in (first, second)] == [2, 2]  # 👍 / 👎 on each answer
    assert SlotSet("last_topic", "how_cancer_spreads") in events


def test_questions_that_do_not_include_the_intent_are_ignored(answer):
    # A stale or hostile `questions` list never replaces what the NLU decided.
    parsed = {"intent": {"name": "ask_stage_4"}, "questions": ["ask_naming", "ask_coping", "ask_support"]}
    (only,), _ = run_parsed(answer, parsed)
    assert only["custom"]["topic"] == "stage_4"


def test_never_more_than_two_answers(answer):
    asked = ["ask_stage_4", "ask_naming", "ask_coping"]
    replies, _ = run_parsed(answer, {"intent": {"name": "ask_stage_4"}, "questions": asked})
    assert [m["custom"]["topic"] for m in replies if m.get("custom")] == ["stage_4", "naming"]


@pytest.mark.parametrize(
    "language, says",
    [
        ("es", ["solo puedo responder en inglés", "pida un intérprete", "llame al 911", PHONE]),
        ("fr", ["I can only answer in English", "interpreter", "call 911", PHONE]),
    ],
)
def test_another_language_gets_fixed_wording_with_the_care_team_and_911(language, says):
    [reply], _ = run_parsed(ActionOtherLanguage(), {"intent": {"name": "other_language"}, "language": language})
    for words in says:
        assert words.lower() in reply["text"].lower()
    assert reply["custom"] == {"kind": "language", "language": language}


# Values from anywhere a message can reach (issue 12): never a crash, always an answer.

BAD_VALUES = [{"a": 1}, ["liver"], 12, "x" * 5000, "liver'; DROP TABLE kb_answers;--", None]


@pytest.mark.parametrize("value", BAD_VALUES, ids=lambda v: type(v).__name__ + repr(v)[:10])
def test_bad_entity_and_slot_values_get_the_general_answer(answer, value):
    dispatcher = CollectingDispatcher()
    bad = tracker("ask_symptoms_by_site", [{"entity": "body_site", "value": value}])
    bad.slots.update(body_site=value, last_topic=value)
    bad.latest_message.update(questions=value, also_asked=value, safety=value, language=value)
    events = asyncio.run(answer.run(dispatcher, bad, {}))
    general = asyncio.run(ActionAnswer(answer.kb).run(CollectingDispatcher(), tracker("ask_general_symptoms"), {}))
    assert dispatcher.messages[0]["text"].startswith(answer.kb.answer("general_symptoms").text)
    assert [e for e in events if e["name"] == "last_topic"] == [e for e in general if e["name"] == "last_topic"]
    for action, expected in (
        (ActionEmergency(), messages.safety_reply("emergency")),
        (ActionOtherLanguage(), messages.other_language_reply("en")),
        (ActionTellMeMore(answer.kb), messages.fill(messages.MORE_WHAT)),
    ):
        dispatcher = CollectingDispatcher()
        asyncio.run(action.run(dispatcher, bad, {}))
        assert dispatcher.messages[0]["text"] == expected  # not the safe failure reply


def test_a_failing_action_sends_the_safe_reply(kb):
    class BrokenKnowledgeBase:
        def answer(self, *args: object) -> None:
            raise RuntimeError("patient text that must not be logged")

    dispatcher = CollectingDispatcher()
    events = asyncio.run(ActionAnswer(BrokenKnowledgeBase()).run(dispatcher, tracker("ask_what_is_lymph"), {}))
    assert events == []
    [reply] = dispatcher.messages
    assert reply["text"] == messages.fill(messages.SERVICE_TROUBLE) and reply["custom"] == {"kind": "error"}


def test_every_action_is_guarded():
    from rasa_sdk import Action

    from actions import actions as module

    found = [c for c in vars(module).values() if isinstance(c, type) and issubclass(c, Action) and c is not Action]
    assert len(found) >= 12
    assert all(getattr(c.run, "guarded", False) for c in found), [c.__name__ for c in found]
