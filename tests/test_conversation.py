"""A conversation that remembers, acknowledges and hands off (issue 13).

The actions with real Trackers and CollectingDispatchers (a fixed clock for the
care team's hours), the fixed wording's reading level with textstat, and the
same behaviours through the running bot on REST, the widget's webhook and SMS.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from datetime import datetime, timezone

import pytest
import textstat
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.actions import (
    ActionAnswer,
    ActionCrisis,
    ActionHandoff,
    ActionPersonalAdvice,
    ActionSummary,
    ActionTellMeMore,
)
from bot import messages
from bot.channels.sms.channel import sms_reply
from bot.channels.sms.text import is_gsm7, segments
from bot.knowledge import catalogue
from bot.nlp.feelings import feeling
from bot.settings import load_settings
from tests.conftest import Servers

PHONE = load_settings().care_team_phone
LIVER = "Liver metastasis"
GENERAL = "In general, however, there are certain symptoms"


def tracker(
    intent: str,
    text: str = "",
    slots: dict | None = None,
    entities: list[dict] | None = None,
    events: list[dict] | None = None,
    **extra: object,
) -> Tracker:
    return Tracker(
        sender_id="web:test",
        slots={"body_site": None, "last_topic": None, "cancer_type": None, "person": None, **(slots or {})},
        latest_message={"intent": {"name": intent}, "entities": entities or [], "text": text, **extra},
        events=events or [],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )


def run(action, state: Tracker) -> list[dict]:
    dispatcher = CollectingDispatcher()
    asyncio.run(action.run(dispatcher, state, {}))
    return dispatcher.messages


def texts(replies: list[dict]) -> list[str]:
    return [r["text"] for r in replies if r.get("text")]


def kinds(replies: list[dict]) -> list[str | None]:
    """The `custom.kind` of each reply that has custom data (Rasa's REST sends it as its own message)."""
    return [r["custom"].get("kind") for r in replies if "custom" in r]


# Context that carries ----------------------------------------------------------------------


def test_a_site_named_earlier_comes_first_in_a_symptoms_answer(kb):
    state = tracker("ask_general_symptoms", "what symptoms will he have", {"body_site": "liver"})
    first, second = texts(run(ActionAnswer(kb), state))
    assert LIVER in first and second.startswith(GENERAL)
    # Naming another site in the message wins over the remembered one.
    bones = tracker("ask_symptoms_by_site", "and the bones?", {"body_site": "liver"}, site_entity("bones"))
    [answer] = texts(run(ActionAnswer(kb), bones))
    assert "Bone metastasis" in answer and LIVER not in answer


def test_without_context_symptoms_are_the_general_ones(kb):
    [answer] = texts(run(ActionAnswer(kb), tracker("ask_general_symptoms", "what are the symptoms")))
    assert answer.startswith(GENERAL)


def test_the_cancer_type_named_earlier_is_in_the_spread_gap_note(kb):
    state = tracker("ask_spread_by_cancer_type", "where will it spread", {"cancer_type": "colon cancer"})
    [answer] = texts(run(ActionAnswer(kb), state))
    assert "does not say where colon cancer tends to spread" in answer


def site_entity(site: str) -> list[dict]:
    return [{"entity": "body_site", "value": site}]


# Referring back -----------------------------------------------------------------------------


@pytest.mark.parametrize("topic", ["tumor_markers", "imaging_tests", "spread_by_cancer_type"])
def test_which_ones_after_a_gap_topic_gets_its_gap_note(kb, topic):
    [reply] = run(ActionTellMeMore(kb), tracker("which_ones", "which ones?", {"last_topic": topic}))
    assert reply["text"].startswith(catalogue.gap_note(topic)) and PHONE in reply["text"]
    assert reply["custom"]["kind"] == "gap"


def test_why_after_an_answer_continues_with_its_follow_up(kb):
    [reply] = run(ActionTellMeMore(kb), tracker("tell_me_more", "why?", {"last_topic": "what_is_lymph"}))
    follow_up = kb.answer("what_is_lymph").followups[0]
    assert reply["custom"]["topic"] == follow_up.partition("/")[0]


def test_which_ones_without_a_gap_topic_continues_the_topic(kb):
    [reply] = run(ActionTellMeMore(kb), tracker("which_ones", "like what?", {"last_topic": "common_sites"}))
    assert reply["custom"].get("topic") and reply["custom"].get("kind") is None


# Whose care team ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("person", "their"), [("mother", "Her"), ("father", "His"), ("partner", "Their"), (None, "Your")]
)
def test_the_disclaimer_and_refusals_speak_of_the_person(kb, person, their):
    [answer] = texts(run(ActionAnswer(kb), tracker("ask_what_is_lymph", slots={"person": person})))
    assert answer.endswith(messages.disclaimer(person=person))
    assert f"{their} care team can tell you what it means for" in answer
    [advice] = texts(run(ActionPersonalAdvice(kb), tracker("personal_advice", slots={"person": person})))
    assert f"{their.lower()} care team" in advice
    if person:
        assert "your care team" not in answer + advice


def test_every_person_the_vocabulary_knows_has_fixed_wording():
    from bot.nlp.vocabulary import PERSON

    assert set(PERSON) == set(messages.PEOPLE)


# Acknowledgement ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("we just found out it spread, what does metastatic mean", "bad_news"),
        ("I'm so scared, what happens now", "fear"),
        ("is this the end?", "facing_the_end"),
        ("I'm exhausted caring for her, where can I get support", "exhaustion"),
        ("I'm heartbroken, how do people cope", "grief"),
        ("how long does my mom have", "facing_the_end"),
    ],
)
def test_feelings_are_read(text, kind):
    assert feeling(text) == kind


@pytest.mark.parametrize(
    "text",
    [
        "what symptoms happen when cancer spreads to the brain",
        "how long does chemotherapy take",
        "I'm not scared, just curious what lymph is",
        "what is the end goal of treatment",
        "how is it diagnosed",
    ],
)
def test_ordinary_questions_carry_no_feeling(text):
    assert feeling(text) is None


def test_acknowledgement_comes_first_then_the_answer(kb):
    state = tracker("ask_what_is_metastatic_cancer", "I'm so scared", feeling="fear")
    ack, answer = run(ActionAnswer(kb), state)
    assert ack["text"] == messages.ACKNOWLEDGEMENTS["fear"] and ack["custom"] == {"kind": "acknowledgement"}
    assert answer["custom"]["topic"] == "what_is_metastatic_cancer"


def test_acknowledgement_at_most_once_every_few_turns(kb):
    said = {"event": "bot", "text": messages.ACKNOWLEDGEMENTS["fear"], "data": {"custom": {"kind": "acknowledgement"}}}
    user = {"event": "user", "text": "..."}
    recent = tracker("ask_coping", "still scared", feeling="fear", events=[user, said, user])
    assert len(run(ActionAnswer(kb), recent)) == 1  # the answer only
    later = tracker("ask_coping", "still scared", feeling="fear", events=[user, said, user, user, user])
    assert len(run(ActionAnswer(kb), later)) == 2


def test_never_on_a_safety_reply():
    [reply] = run(ActionCrisis(), tracker("crisis", "I'm so scared I want to die", feeling="fear"))
    assert reply["custom"]["safety"] == "crisis"


def test_facing_the_end_gets_the_kind_reply(kb):
    state = tracker("personal_advice", "is this the end?", {"person": "mother"}, feeling="facing_the_end")
    ack, reply = run(ActionPersonalAdvice(kb), state)
    assert ack["custom"]["kind"] == "acknowledgement"
    assert reply["text"] == messages.fill(messages.FACING_THE_END, person="mother")
    assert "palliative care team" in reply["text"] and "Her care team" in reply["text"] and PHONE in reply["text"]
    assert [b["payload"] for b in reply["buttons"]] == [
        "/ask_living_long",
        "/ask_palliative_care",
        "/ask_coping",
    ]


def fixed_messages() -> Iterator[tuple[str, str]]:
    """Every English sentence of fixed wording a patient can be shown (labels aside)."""
    skip_es = ("_ES", "INTERPRETER")
    for name in dir(messages):
        value = getattr(messages, name)
        if name.isupper() and isinstance(value, str) and len(value.split()) >= 6 and not name.endswith(skip_es):
            yield name, value
        if name == "ACKNOWLEDGEMENTS":
            yield from ((f"{name}[{k}]", v) for k, v in value.items())
    for key, topic in catalogue.topics().items():  # the topics' gap notes (topics.yml)
        notes = (("gap", topic.gap), ("gap_for_type", topic.gap_for_type))
        yield from ((f"{field}[{key}]", text) for field, text in notes if text)
    yield "OTHER_LANGUAGE[en]", messages.OTHER_LANGUAGE["en"]
    yield "DISCLAIMER", messages.DISCLAIMER


@pytest.mark.parametrize(("name", "template"), list(fixed_messages()), ids=lambda v: v if len(v) < 40 else "")
def test_fixed_wording_reads_at_grade_6_or_below(name, template):
    examples = {"{hours}": "Monday to Friday", "{opens}": "tomorrow at 8 AM", "{limit}": "2000"}
    for placeholder, example in {**examples, "{cancer_type}": "colon cancer"}.items():
        template = template.replace(placeholder, example)
    text = messages.fill(template)
    grade = textstat.flesch_kincaid_grade(text)
    assert grade <= 6.0, f"{name}: grade {grade}: {text}"


# Care-team hours (a fixed clock) ------------------------------------------------------------

MONDAY_10AM_NEW_YORK = datetime(2026, 11, 30, 15, 0, tzinfo=timezone.utc)
MONDAY_9PM_NEW_YORK = datetime(2026, 12, 1, 2, 0, tzinfo=timezone.utc)
SATURDAY_3PM_NEW_YORK = datetime(2026, 11, 28, 20, 0, tzinfo=timezone.utc)


@pytest.fixture
def hours(monkeypatch):
    monkeypatch.setenv("CARE_TEAM_HOURS", "Mon-Fri 08:00-17:00; Sat 09:00-12:00")
    monkeypatch.setenv("CARE_TEAM_TIMEZONE", "America/New_York")
    monkeypatch.setenv("CARE_TEAM_URGENT_PHONE", "555-010-2424")
    monkeypatch.setenv("CARE_TEAM_AFTER_HOURS", "A nurse answers the main line at night.")


def handoff_at(moment: datetime) -> str:
    [reply] = run(ActionHandoff(clock=lambda: moment), tracker("handoff", "can I talk to someone"))
    return reply["text"]


def test_inside_hours_the_handoff_says_call_now(hours):
    text = handoff_at(MONDAY_10AM_NEW_YORK)
    assert "care team now. Call" in text and "Monday to Friday, 8 AM to 5 PM" in text
    assert "closed" not in text


@pytest.mark.parametrize(
    ("moment", "opens"), [(MONDAY_9PM_NEW_YORK, "tomorrow at 8 AM"), (SATURDAY_3PM_NEW_YORK, "Monday at 8 AM")]
)
def test_outside_hours_the_handoff_says_when_and_who_to_call_meanwhile(hours, moment, opens):
    text = handoff_at(moment)
    assert f"It opens {opens}" in text and "555-010-2424" in text and "call 911" in text
    assert text.endswith("A nurse answers the main line at night.")


def test_without_hours_the_handoff_gives_the_number():
    assert handoff_at(MONDAY_10AM_NEW_YORK) == messages.fill(messages.HANDOFF)


def test_bad_hours_are_refused_at_start(monkeypatch):
    from bot import care_team

    for bad in ("weekdays 9-5", "Mon-Fri 17:00-08:00", "Funday 08:00-17:00"):
        with pytest.raises(ValueError, match="CARE_TEAM_HOURS|day like"):
            care_team.parse(bad, "America/New_York")


# SUMMARY ------------------------------------------------------------------------------------


def answered(topic: str, site: str | None = None) -> dict:
    return {"event": "bot", "text": "...", "data": {"custom": {"topic": topic, "site": site}}}


def test_summary_lists_each_topic_once_in_gsm7_within_three_segments(kb):
    events = [answered("what_is_lymph"), answered("symptoms_by_site", "liver"), answered("what_is_lymph")]
    events += [answered(t) for t in ("diagnosis", "tumor_markers", "coping", "support", "clinical_trials", "stage_4")]
    [reply] = run(ActionSummary(), tracker("summary", "SUMMARY", events=events))
    lines = reply["text"].splitlines()
    assert lines[0] == messages.SUMMARY_INTRO and lines.count("- What is lymph?") <= 1
    assert "- Symptoms in the liver" in lines and len(lines) - 2 == messages.SUMMARY_MOST
    text, _, rest = sms_reply([reply])
    assert is_gsm7(text) and segments(text) <= 3 and not rest and PHONE in text


def test_summary_before_any_topic():
    [reply] = run(ActionSummary(), tracker("summary", "SUMMARY"))
    assert reply["text"] == messages.fill(messages.SUMMARY_EMPTY)


# Through the running bot, on every channel --------------------------------------------------


# `bot` (tests/conftest.py): the production bot, whose care team is open only on a day
# that is not today, so the line is closed now.


def web_say(bot: Servers, session: str, text: str) -> list[dict]:
    response = bot.web(session, text)
    assert response.status_code == 200, response.text
    return response.json()


def sms_say(bot: Servers, phone: str, text: str) -> str:
    import xml.etree.ElementTree as ET

    response = bot.sms(phone, text)
    assert response.status_code == 200, response.text
    return "\n".join(m.text or "" for m in ET.fromstring(response.text).iter("Message"))


def test_daughter_conversation_on_rest(bot):
    sender = f"daughter-{uuid.uuid4().hex}"
    first = bot.say(sender, "my dad was just told his colon cancer spread to his liver. what does that mean")
    assert texts(first)[0] == messages.ACKNOWLEDGEMENTS["bad_news"] and kinds(first)[0] == "acknowledgement"
    assert "His care team can tell you what it means for him" in texts(first)[-1]
    second = texts(bot.say(sender, "what symptoms will he have"))
    assert LIVER in second[0] and second[1].startswith(GENERAL)
    assert "your care team" not in " ".join(second)
    markers = bot.say(sender, "do they use tumor markers")
    assert markers[-1]["custom"]["topic"] == "tumor_markers"
    gap = bot.say(sender, "which ones?")
    assert texts(gap)[0].startswith(catalogue.gap_note("tumor_markers", "father")) and kinds(gap) == ["gap"]
    [handoff] = texts(bot.say(sender, "can I talk to a real person"))
    assert "line is closed now" in handoff and "555-010-2424" in handoff and "call 911" in handoff


def test_the_end_and_the_closed_line_on_the_widget(bot):
    session = bot.web_session()
    reply = web_say(bot, session, "is this the end?")
    assert texts(reply)[-1].startswith("That is one of the hardest things to ask")
    [handoff] = texts(web_say(bot, session, "can I talk to a real person"))
    assert "line is closed now" in handoff and "555-010-2424" in handoff


def test_summary_and_the_closed_line_by_sms(bot):
    phone = f"+1555{uuid.uuid4().int % 10**7:07d}"
    sms_say(bot, phone, "what is lymph")
    sms_say(bot, phone, "what symptoms happen if it spreads to the bones")
    summary = sms_say(bot, phone, "summary")
    assert summary.startswith(messages.SUMMARY_INTRO)
    assert "- What is lymph?" in summary and "- Symptoms in the bones" in summary
    assert is_gsm7(summary) and segments(summary) <= 3
    assert "line is closed now" in sms_say(bot, phone, "can I talk to a real person")
