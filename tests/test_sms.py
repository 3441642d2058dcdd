"""The SMS channel with real signed requests (signatures made by the twilio library)."""

import itertools
import xml.etree.ElementTree as ET

import pytest
import requests
from twilio.request_validator import RequestValidator

from actions.actions import render
from bot import messages
from bot.channels.sms.channel import sms_reply
from bot.channels.sms.text import MORE_HINT, is_gsm7, segments
from bot.settings import load_settings
from tests.checks import CLINICAL_TRIALS_REST, assert_answers, assert_says

TOKEN = "test-twilio-token"  # as the servers fixture configures
PHONE = load_settings().care_team_phone
_sids = itertools.count()


def sid() -> str:
    return f"SM{next(_sids):032d}"


def sms(servers, sender: str, body: str, message_sid: str | None = None, signature: str | None = "sign"):
    url = f"http://127.0.0.1:{servers.port}/webhooks/sms/webhook"
    params = {"From": sender, "To": "+15550000000", "Body": body, "MessageSid": message_sid or sid()}
    headers = {}
    if signature == "sign":
        headers["X-Twilio-Signature"] = RequestValidator(TOKEN).compute_signature(url, params)
    elif signature:
        headers["X-Twilio-Signature"] = signature
    return requests.post(url, data=params, headers=headers, timeout=30)


def texts(response) -> list[str]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/xml")
    return [m.text or "" for m in ET.fromstring(response.text).iter("Message")]


def test_question_gets_twiml_with_the_answer_and_care_team(servers):
    [reply] = texts(sms(servers, "+15551110001", "what is lymph"))
    assert reply.startswith("Lymph is a clear fluid")
    assert PHONE in reply and is_gsm7(reply) and segments(reply) <= 3


def test_bad_and_missing_signatures_are_refused(servers):
    assert sms(servers, "+15551110002", "hi", signature=None).status_code == 403
    assert sms(servers, "+15551110002", "hi", signature="bm90IGEgc2lnbmF0dXJl").status_code == 403


def test_stop_help_start(servers):
    number = "+15551110003"
    [stopped] = texts(sms(servers, number, " stop "))
    assert "unsubscribed" in stopped and "START" in stopped
    assert texts(sms(servers, number, "what is lymph")) == []
    assert texts(sms(servers, number, "STOP")) == []
    [help_] = texts(sms(servers, number, "Help"))
    for part in (messages.SMS_PROGRAM, PHONE, "Msg & data rates may apply", "Reply STOP to opt out"):
        assert part in help_
    [started] = texts(sms(servers, number, "START"))
    assert "subscribed" in started
    assert texts(sms(servers, number, "what is lymph"))[0].startswith("Lymph is a clear fluid")


def test_numbered_choices_map_back_to_their_question(servers):
    number = "+15551110004"
    [reply] = texts(sms(servers, number, "how does cancer spread"))
    assert "\n1. What is lymph?\n2. How do cells break off?\n3. What are the steps of metastasis?" in reply
    assert "Reply 1, 2 or 3." in reply
    [first] = texts(sms(servers, number, "1"))
    assert first.startswith("Lymph is a clear fluid")


def test_a_retried_message_sid_is_answered_once(servers):
    import sqlite3

    def answers() -> int:
        with sqlite3.connect(servers.database) as db:
            return db.execute("select count(*) from insight_answers").fetchone()[0]

    message_sid = sid()
    before = answers()
    first = sms(servers, "+15551110005", "what is palliative care", message_sid)
    again = sms(servers, "+15551110005", "what is palliative care", message_sid)
    assert first.text == again.text and "Palliative treatments" in first.text
    assert answers() == before + 1


def test_emoji_and_unicode_in_a_question(servers):
    [reply] = texts(sms(servers, "+15551110006", "what is lymph 🙏 ¿qué?"))
    assert_answers(reply, "what_is_lymph")


@pytest.mark.xfail(
    strict=False,  # the model is retrained on every clean machine: a fix there must not fail the run
    raises=AssertionError,
    reason="the NLU takes a question followed by many 'please' as a hand-off request "
    "(ask_what_is_metastatic_cancer with 5 'please' is nlu_fallback, with 20 or more handoff)",
)
def test_a_long_question_is_answered(servers):
    [long_reply] = texts(sms(servers, "+15551110016", "what is metastatic cancer " + "please " * 225))
    assert_answers(long_reply, "what_is_metastatic_cancer")


def test_long_answers_continue_with_more(servers):
    number = "+15551110007"
    [first] = texts(sms(servers, number, "tell me about clinical trials"))
    assert first.endswith(MORE_HINT) and segments(first) <= 3
    [rest] = texts(sms(servers, number, "MORE"))
    assert_says(rest, CLINICAL_TRIALS_REST)
    assert PHONE in rest


def test_emergency_reply_comes_first_and_alone(servers):
    [reply] = texts(sms(servers, "+15551110008", "my husband collapsed and isnt breathing"))
    assert reply.startswith("What you describe needs a doctor now. Call 911 now")


@pytest.mark.parametrize(
    "body, start",
    [
        ("temp 101.5 and had chemo tuesday", "What you describe needs a doctor now. Call your care team's 24-hour"),
        ("mi mama no puede respirar", "Lo que describe necesita un médico ahora. Llame al 911"),
        ("quiero quitarme la vida", "Siento mucho que esté pasando por esto"),
    ],
)
def test_urgent_and_spanish_safety_texts(servers, body, start):
    [reply] = texts(sms(servers, "+15551110018", body))
    assert reply.startswith(start)
    assert PHONE in reply


def test_rate_limit_replies_once(servers):
    number = "+15551110009"
    replies = [texts(sms(servers, number, "hi")) for _ in range(10)]
    assert replies[8] == [messages.fill(messages.SMS_RATE_LIMITED)]
    assert replies[9] == []


def test_phone_numbers_never_stored_or_logged(servers):
    sms(servers, "+15551119999", "what is metastasis")
    raw = servers.database.read_bytes() + b"".join(p.read_bytes() for p in servers.database.parent.glob("*.db*"))
    logged = servers.log.read_bytes()
    for form in (b"15551119999", b"5551119999", b"555-111-9999", b"15551110001"):
        assert form not in raw and form not in logged


def test_every_answer_fits_three_segments(kb, ask_intents):
    for intent in ask_intents:
        topic = intent.removeprefix("ask_")
        for site in kb.sites(topic) or [None]:
            answer = kb.answer(topic, site)
            reply = render(answer)
            bot = [{"text": reply["text"], "buttons": reply["buttons"], "custom": reply["json_message"]}]
            text, choices, rest = sms_reply(bot)
            assert is_gsm7(text), (topic, site)
            assert segments(text) <= 3, (topic, site, segments(text))
            assert PHONE in text + rest
            assert len(choices) <= 3


STOP_WORDS = ["stop", "STOP ", "Unsubscribe", "c a n c e l", "end", "quit", "stopall"]


@pytest.mark.parametrize("index, word", enumerate(STOP_WORDS), ids=STOP_WORDS)
def test_every_stop_word_opts_out(servers, index, word):
    number = f"+1555222{index:04d}"  # one number per word, the same in every run
    assert "unsubscribed" in texts(sms(servers, number, word))[0]


def test_channel_refuses_to_start_without_its_secrets(monkeypatch):
    from bot.channels.sms import SmsInput

    for name in ("TWILIO_AUTH_TOKEN", "SENDER_ID_SECRET", "BOT_ENV"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(SystemExit, match="TWILIO_AUTH_TOKEN is not set.\n  SENDER_ID_SECRET is not set."):
        SmsInput()
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "t" * 40)
    monkeypatch.setenv("SENDER_ID_SECRET", "s" * 40)
    with pytest.raises(SystemExit, match="SMS_PUBLIC_URL"):
        SmsInput()
    monkeypatch.setenv("SMS_PUBLIC_URL", "https://bot.example.org/webhooks/sms/webhook")
    assert SmsInput().sender_id("+15551234567") != "+15551234567"
