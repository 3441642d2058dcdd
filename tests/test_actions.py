"""Each custom action with a real Tracker and CollectingDispatcher, on a real SQLite database."""

import asyncio

import pytest
from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.actions import ActionAnswer, ActionNotUnderstood, ActionRespond
from bot import messages
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
        [message], events = run(answer, intent)
        assert message["text"].endswith(messages.disclaimer()), intent
        assert PHONE in message["text"]
        assert 2 <= len(message["buttons"]) <= 4, intent
        assert all(b["payload"].startswith("/ask_") for b in message["buttons"])
        assert message["custom"]["source"] == {
            "title": "Metastatic cancer",
            "reviewer": "Maurie Markman, MD, President, Medicine & Science",
            "updated": "June 14, 2022",
        }
        assert SlotSet("last_topic", intent.removeprefix("ask_")) in events


def test_follow_up_buttons_lead_to_answers(answer, kb, ask_intents):
    for intent in ask_intents:
        [message], _ = run(answer, intent)
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
    assert messages.GAP_NOTES["lymph_node_symptoms"] in message["text"]
    assert "• Fatigue" in message["text"]


def test_tumor_markers_name_no_marker(answer):
    [message], _ = run(answer, "ask_tumor_markers")
    assert "These substances are called tumor markers." in message["text"]
    assert messages.GAP_NOTES["tumor_markers"] in message["text"]


def test_unknown_topic_routes_to_the_care_team(answer):
    [message], events = run(answer, "ask_something_not_in_the_article")
    assert PHONE in message["text"] and events == []


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
