"""The SMS channel in process (tests/stub_rasa.py): Twilio's webhook on a bare Sanic app, no model.

Signatures, carrier keywords (STOP, START, HELP), MORE, SUMMARY and numbered choices,
one answer per MessageSid, the per-number and per-address limits, the phone number
kept from Rasa, and what a patient gets when a store fails. Texts through Rasa's NLU
(answers, safety replies, what is stored and logged) are in tests/test_sms.py.
"""

from __future__ import annotations

import pytest

from actions.actions import render
from bot import messages
from bot.channels.sms import SmsInput
from bot.channels.sms.channel import sms_reply
from bot.channels.sms.store import SmsStore
from bot.channels.sms.text import MORE_HINT, is_gsm7, segments, to_gsm7
from bot.settings import load_settings
from tests.checks import CLINICAL_TRIALS_REST, assert_says
from tests.stub_rasa import LYMPH, new_phone, new_sid, sms, twiml_texts

PHONE = load_settings().care_team_phone
STOP_WORDS = ["stop", "STOP ", "Unsubscribe", "c a n c e l", "end", "quit", "stopall"]


@pytest.fixture
def sms_app(open_channel):
    return open_channel(SmsInput())


def test_a_text_reaches_rasa_under_a_hash_of_the_number_and_gets_twiml(sms_app, rasa):
    phone = new_phone()
    [reply] = twiml_texts(sms(sms_app, phone, "what is lymph"))
    assert reply.startswith(LYMPH) and is_gsm7(reply) and segments(reply) <= 3
    [conversation] = rasa.conversations
    assert conversation == f"sms:{sms_app.channel.sender_id(phone)}" and rasa.received[0].input_channel == "sms"
    digits = phone.lstrip("+")
    assert digits not in conversation and digits[1:] not in conversation  # Rasa never sees the number


def test_bad_and_missing_signatures_are_refused(sms_app, rasa):
    phone = new_phone()
    assert sms(sms_app, phone, "hi", signature=None).status_code == 403
    assert sms(sms_app, phone, "hi", signature="bm90IGEgc2lnbmF0dXJl").status_code == 403
    assert rasa.received == []


def test_stop_help_start(sms_app, rasa):
    number = new_phone()
    [stopped] = twiml_texts(sms(sms_app, number, " stop "))
    assert stopped == messages.fill(messages.SMS_STOPPED) and "unsubscribed" in stopped and "START" in stopped
    assert twiml_texts(sms(sms_app, number, "what is lymph")) == []  # opted out: not a word, not even to Rasa
    assert twiml_texts(sms(sms_app, number, "STOP")) == []  # confirmed once
    assert rasa.received == []
    [help_] = twiml_texts(sms(sms_app, number, "Help"))
    for part in (messages.SMS_PROGRAM, PHONE, "Msg & data rates may apply", "Reply STOP to opt out"):
        assert part in help_
    [started] = twiml_texts(sms(sms_app, number, "START"))
    assert "subscribed" in started
    assert twiml_texts(sms(sms_app, number, "what is lymph"))[0].startswith(LYMPH)
    assert rasa.texts == ["what is lymph"]


@pytest.mark.parametrize("word", STOP_WORDS)
def test_every_stop_word_opts_out(sms_app, rasa, word):
    assert "unsubscribed" in twiml_texts(sms(sms_app, new_phone(), word))[0]
    assert rasa.received == []


def test_numbered_choices_map_back_to_their_button(sms_app, rasa):
    buttons = [
        {"title": "What is lymph?", "payload": "/ask_what_is_lymph"},
        {"title": "How do cells break off?", "payload": "/ask_cells_break_off"},
        {"title": "What are the steps of metastasis?", "payload": "/ask_metastasis_steps"},
        {"title": "A fourth one", "payload": "/ask_stage_4"},
    ]
    rasa.answer({"text": "Cancer spreads when cancer cells travel through blood or lymph.", "buttons": buttons})
    number = new_phone()
    [reply] = twiml_texts(sms(sms_app, number, "how does cancer spread"))
    assert "\n1. What is lymph?\n2. How do cells break off?\n3. What are the steps of metastasis?" in reply
    assert "Reply 1, 2 or 3." in reply and "A fourth one" not in reply  # at most three choices
    sms(sms_app, number, "2")
    assert rasa.texts[-1] == "/ask_cells_break_off"  # the offered payload, as the button would send it
    rasa.answer({"text": LYMPH})  # no choices now: a number is the patient's text
    sms(sms_app, number, "1")
    sms(sms_app, number, "1")
    assert rasa.texts[-2:] == ["/ask_what_is_lymph", "1"]


def test_a_retried_message_sid_is_answered_once(sms_app, rasa):
    message_sid, number = new_sid(), new_phone()
    first = sms(sms_app, number, "what is palliative care", message_sid)
    again = sms(sms_app, number, "what is palliative care", message_sid)
    assert first.text == again.text and LYMPH in first.text
    assert len(rasa.received) == 1


def test_a_text_whose_conversation_was_not_stored_is_answered_afresh_on_retry(sms_app, rasa, tmp_path):
    message_sid, number = new_sid(), new_phone()
    rasa.lose_the_store(tmp_path)
    [trouble] = twiml_texts(sms(sms_app, number, "what is lymph", message_sid))
    assert trouble == to_gsm7(messages.fill(messages.SERVICE_TROUBLE)) and PHONE in trouble
    rasa.find_the_store()
    [answer] = twiml_texts(sms(sms_app, number, "what is lymph", message_sid))  # the provider's retry
    assert answer.startswith(LYMPH) and len(rasa.received) == 2


def test_when_the_sms_tables_are_gone_the_patient_still_gets_a_safe_text(sms_app, rasa, tmp_path):
    sms_app.channel.store = SmsStore(f"sqlite:///{tmp_path / 'gone' / 'bot.db'}")
    [text] = twiml_texts(sms(sms_app, new_phone(), "what is lymph"))
    assert text == messages.fill(messages.SMS_TROUBLE)
    assert f"call {load_settings().emergency_number}" in text and PHONE in text


def test_rate_limit_replies_once(sms_app, rasa):
    limit = load_settings().sms_rate_limit
    number = new_phone()
    replies = [twiml_texts(sms(sms_app, number, "hi")) for _ in range(limit + 2)]
    assert all(r and r[0].startswith(LYMPH) for r in replies[:limit])
    assert replies[limit] == [messages.fill(messages.SMS_RATE_LIMITED)]
    assert replies[limit + 1] == []  # said once, then quiet: every text costs the patient
    assert len(rasa.received) == limit
    assert twiml_texts(sms(sms_app, new_phone(), "hi"))[0].startswith(LYMPH)  # another number is not affected


def test_a_forged_flood_does_not_silence_real_texts_from_the_same_address(monkeypatch, open_channel, rasa):
    flood_limit = 5
    monkeypatch.setenv("SMS_ADDRESS_RATE_LIMIT", str(flood_limit))
    app = open_channel(SmsInput())
    statuses = [sms(app, new_phone(), "hi", signature=None).status_code for _ in range(12)]
    assert statuses[:flood_limit] == [403] * flood_limit and set(statuses[flood_limit:]) == {429}
    # The provider's real, signed texts from that address still get through to Rasa.
    [real] = twiml_texts(sms(app, new_phone(), "my husband collapsed and is not breathing"))
    assert real.startswith(LYMPH) and rasa.texts == ["my husband collapsed and is not breathing"]


def test_long_answers_continue_with_more(sms_app, rasa, kb):
    reply = render(kb.answer("clinical_trials"))
    rasa.answer({"text": reply["text"], "buttons": reply["buttons"], "custom": reply["json_message"]})
    number = new_phone()
    [first] = twiml_texts(sms(sms_app, number, "tell me about clinical trials"))
    assert first.endswith(MORE_HINT) and segments(first) <= 3
    [rest] = twiml_texts(sms(sms_app, number, "MORE"))
    assert_says(rest, CLINICAL_TRIALS_REST)
    assert PHONE in rest and is_gsm7(rest)
    assert rasa.texts == ["tell me about clinical trials"]  # MORE is answered from the channel's memory


def test_more_without_anything_left_goes_to_rasa(sms_app, rasa):
    number = new_phone()
    sms(sms_app, number, "what is lymph")
    sms(sms_app, number, "more")
    assert rasa.texts == ["what is lymph", "more"]


def test_summary_asks_rasa_for_the_summary_intent(sms_app, rasa):
    sms(sms_app, new_phone(), " Summary ")
    assert rasa.texts == ["/summary"]


def test_emergency_reply_is_sent_first_and_alone(sms_app, rasa):
    emergency = "What you describe needs a doctor now. Call 911 now, or go to the nearest emergency room."
    rasa.answer(
        {"text": emergency},
        {"custom": {"safety": "emergency", "calls": [{"title": "Call 911", "number": "911"}]}},
        {"text": LYMPH, "buttons": [{"title": "What is lymph?", "payload": "/ask_what_is_lymph"}]},
    )
    assert twiml_texts(sms(sms_app, new_phone(), "my husband collapsed and what is lymph")) == [emergency]


def test_an_empty_text_gets_a_prompt_without_reaching_rasa(sms_app, rasa):
    for body in ("", "   ", "\n\n"):
        assert twiml_texts(sms(sms_app, new_phone(), body)) == [messages.fill(messages.SMS_EMPTY)]
    assert rasa.received == []


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


def test_channel_refuses_to_start_without_its_secrets(monkeypatch):
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
