"""What every channel does around a message, in process (tests/stub_rasa.py): no server, no model.

The REST and website channels' blueprints on a bare Sanic app, wired to a stand-in for
Rasa as `rasa run` wires them: what reaches Rasa (the namespaced conversation, only
offered buttons as intents, cleaned and cut text), what the patient gets when Rasa
times out, fails or cannot store the conversation (the safe reply; 503 to retry),
the REST token, web sessions, limits and headers. The SMS channel is in
tests/test_channel_sms.py, bad input on every channel in tests/test_fuzz.py, and the
same channels with Rasa's NLU in the end-to-end files (tests/test_rest.py,
tests/test_sms.py, tests/test_widget.py).
"""

from __future__ import annotations

import time

import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer

from bot import messages
from bot.channels.rest import RestInput
from bot.channels.sms import SmsInput
from bot.channels.web import SESSION_SALT, WebInput, verify
from bot.settings import load_settings
from tests.checks import assert_says
from tests.stub_rasa import LYMPH, REST, WEB_SESSION, joined, new_phone, rest, sms, web, web_session

CANARY = "zebra-canary-5be1"


@pytest.fixture
def rest_app(open_channel):
    return open_channel(RestInput())


@pytest.fixture
def web_app(open_channel):
    return open_channel(WebInput())


def session_id(token: str) -> str:
    settings = load_settings()
    found = verify(token, settings.web_session_secret, settings.web_session_max_age)
    assert found, "a session the channel issued does not verify"
    return found


def assert_safe_reply(text: str) -> None:
    """The reply a patient gets when the bot cannot answer: the care team and the emergency number."""
    settings = load_settings()
    assert text == messages.fill(messages.SERVICE_TROUBLE), text
    assert settings.care_team_phone in text and f"call {settings.emergency_number}" in text


# What reaches Rasa ---------------------------------------------------------------------------


def test_a_rest_message_reaches_rasa_in_the_rest_namespace_and_its_reply_comes_back(rest_app, rasa):
    response = rest(rest_app, "alice", "what is lymph")
    assert response.status_code == 200
    assert_says(joined(response.json), LYMPH)
    assert {r["recipient_id"] for r in response.json} == {"alice"}  # the client's own id, not rest:alice
    assert rasa.conversations == ["rest:alice"] and rasa.received[0].input_channel == "rest"
    assert rest_app.run(rasa.user_texts("rest:alice")) == ["what is lymph"]


def test_a_widget_message_reaches_rasa_in_the_web_namespace(web_app, rasa):
    token = web_session(web_app)
    response = web(web_app, token, "what is lymph")
    assert response.status_code == 200 and LYMPH in joined(response.json)
    assert rasa.conversations == [f"web:{session_id(token)}"]


def test_rest_cannot_continue_a_widget_conversation(open_channel, rasa):
    web_app, rest_app = open_channel(WebInput()), open_channel(RestInput())
    token = web_session(web_app)
    assert web(web_app, token, "what symptoms when cancer spreads to the brain").status_code == 200
    sid = session_id(token)
    for sender in (sid, f"web:{sid}", token.split(".")[0]):
        assert rest(rest_app, sender, "tell me more").status_code == 200
    # The widget's conversation holds the widget's message only; REST wrote to rest:<sender>.
    assert rest_app.run(rasa.user_texts(f"web:{sid}")) == ["what symptoms when cancer spreads to the brain"]
    assert rest_app.run(rasa.user_texts(f"rest:web:{sid}")) == ["tell me more"]
    assert all(c.startswith("rest:") for c in rasa.conversations[1:]), rasa.conversations


def test_only_offered_buttons_reach_rasa_as_intents(rest_app, rasa):
    # Not offered yet: "/feedback_helpful" reaches NLU as the text "feedback_helpful".
    rest(rest_app, "buttons", "/feedback_helpful")
    assert rasa.texts[-1] == "feedback_helpful"
    answer = rest(rest_app, "buttons", "what is lymph").json
    thumbs_up = '/feedback_helpful{"topic": "what_is_lymph"}'
    assert thumbs_up in [c["payload"] for m in answer for c in (m.get("custom") or {}).get("feedback", [])]
    # Offered now: pressing 👍, or a follow-up button, is the intent itself.
    follow_up = answer[0]["buttons"][0]["payload"]
    for pressed in (thumbs_up, follow_up):
        rest(rest_app, "buttons", pressed)
        assert rasa.texts[-1] == pressed
    # An offered intent with an entity value the bot never offered is text again.
    tampered = '/ask_symptoms_by_site{"body_site": "' + CANARY + '"}'
    rest(rest_app, "buttons", tampered)
    assert rasa.texts[-1] == tampered.lstrip("/")
    # Buttons offered to one conversation are text in another.
    rest(rest_app, "someone-else", thumbs_up)
    assert rasa.texts[-1] == thumbs_up.lstrip("/")


@pytest.mark.parametrize(
    "injected",
    [
        '/greet{"symptom": "my husband collapsed and is not breathing"}',
        '/ask_what_is_lymph{"symptom": "I have crushing chest pain and cannot breathe"}',
        "/ask_what_is_lymph I have crushing chest pain and I can't breathe",
        '/greet{"body_site": "liver"} my chest hurts so bad and I cannot breathe',
        '/ask_symptoms_by_site{"body_site":{"a":1}}',
        "//restart",
    ],
)
def test_injected_intents_reach_rasa_as_text_for_nlu_and_safety_detection(rest_app, rasa, injected):
    response = rest(rest_app, f"inject-{len(rasa.received)}", injected)
    assert response.status_code == 200 and LYMPH in joined(response.json)
    [text] = rasa.texts
    assert not text.startswith("/") and text == injected.lstrip("/").strip()


def test_the_widget_opening_greet_is_the_one_unoffered_intent(web_app, rasa):
    web(web_app, web_session(web_app), "/greet")
    assert rasa.texts == ["/greet"]


def test_a_long_message_is_cut_with_a_note_and_the_rest_is_still_answered(rest_app, rasa):
    limit = load_settings().max_message_chars
    question = "what is metastatic cancer? " + "please explain " * 1000
    replies = rest(rest_app, "long", question).json
    assert replies[0]["text"] == messages.MESSAGE_CUT.format(limit=limit)
    assert_says(joined(replies[1:]), LYMPH)
    assert rasa.texts == [question[:limit]]


def test_control_characters_never_reach_rasa(rest_app, rasa):
    rest(rest_app, "control", "what\x00 is\x1b[31m lymph\x7f\u0085 \ud800?")
    [text] = rasa.texts
    assert text == "what  is [31m lymph   ??"
    assert text.isprintable()


# When Rasa cannot answer ---------------------------------------------------------------------


def test_a_reply_that_never_comes_gets_the_safe_reply_at_the_deadline(rest_app, rasa):
    rasa.time_out()
    started = time.monotonic()
    response = rest(rest_app, "slow", "how is it treated")
    seconds = time.monotonic() - started
    assert response.status_code == 200
    assert_safe_reply(joined(response.json))
    deadline = load_settings().reply_timeout_seconds
    assert deadline <= seconds < deadline + 2, seconds


def test_a_failing_action_gets_the_safe_reply(open_channel, rasa):
    rasa.fail()
    rest_app, web_app = open_channel(RestInput()), open_channel(WebInput())
    assert_safe_reply(joined(rest(rest_app, "fails", "how is it treated").json))
    assert_safe_reply(joined(web(web_app, web_session(web_app), "how is it treated").json))


def test_a_turn_without_a_word_gets_the_safe_reply(rest_app, rasa):
    rasa.say_nothing()
    response = rest(rest_app, "silent", "hello?")
    assert response.status_code == 200
    assert_safe_reply(joined(response.json))


def test_an_unstored_conversation_gets_503_so_the_client_retries(open_channel, rasa, tmp_path):
    rest_app, web_app = open_channel(RestInput()), open_channel(WebInput())
    token = web_session(web_app)
    rasa.lose_the_store(tmp_path)
    for response in (rest(rest_app, "retry", "what is lymph"), web(web_app, token, "what is lymph")):
        assert response.status_code == 503
        assert_safe_reply(joined(response.json))
    rasa.find_the_store()  # the retry is answered and stored
    assert rest(rest_app, "retry", "what is lymph").status_code == 200
    assert rest_app.run(rasa.user_texts("rest:retry")) == ["what is lymph"]


# The REST channel ----------------------------------------------------------------------------


def test_rest_health_and_empty_messages(rest_app, rasa):
    assert rest_app.get("/webhooks/rest/").json == {"status": "ok"}
    for blank in ("", "   \n "):
        response = rest(rest_app, "blank", blank)
        assert response.status_code == 200 and joined(response.json) == messages.fill(messages.EMPTY_MESSAGE)
    assert rasa.received == []


def test_rest_needs_its_token_in_production(monkeypatch, open_channel, rasa):
    token = "4f1c" * 16
    monkeypatch.setenv("BOT_ENV", "production")
    monkeypatch.setenv("REST_TOKEN", token)
    app = open_channel(RestInput())
    for headers in ({}, {"Authorization": "Bearer " + "0" * 64}, {"Authorization": b"Bearer \xe9\xff"}, {"x": "y"}):
        response = rest(app, "no-token", "what is lymph", headers)
        assert response.status_code == 401 and response.headers["WWW-Authenticate"] == "Bearer"
        assert "REST_TOKEN" in response.json["error"]
    assert rasa.received == []
    answered = rest(app, "with-token", "what is lymph", {"Authorization": f"Bearer {token}"})
    assert answered.status_code == 200 and LYMPH in joined(answered.json)


def test_rest_is_off_in_production_without_a_token(monkeypatch, open_channel, rasa):
    monkeypatch.setenv("BOT_ENV", "production")
    app = open_channel(RestInput())
    for response in (rest(app, "off", "what is lymph"), app.get("/webhooks/rest/")):
        assert response.status_code == 404 and "REST_TOKEN" in response.json["error"]
    assert rasa.received == []


def test_rest_per_sender_limit_is_a_polite_429(monkeypatch, open_channel, rasa):
    monkeypatch.setenv("RATE_LIMIT_PER_SENDER", "3")
    app = open_channel(RestInput())
    assert [rest(app, "chatty", "hi").status_code for _ in range(3)] == [200] * 3
    refused = rest(app, "chatty", "hi")
    assert refused.status_code == 429 and 1 <= int(refused.headers["Retry-After"]) <= 60
    assert refused.json["error"] == messages.fill(messages.RATE_LIMITED)
    assert load_settings().care_team_phone in refused.json["error"]
    assert rest(app, "someone-else", "hi").status_code == 200  # another sender is not affected
    assert len(rasa.received) == 4  # the refused message never reached Rasa


def test_rest_per_address_limit(monkeypatch, open_channel, rasa):
    monkeypatch.setenv("RATE_LIMIT_PER_ADDRESS", "3")
    app = open_channel(RestInput())
    assert [rest(app, f"sender-{i}", "hi").status_code for i in range(3)] == [200] * 3
    assert rest(app, "sender-new", "hi").status_code == 429


# Web sessions --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "token",
    ["é.x", "\udc80.x", "x" * 5000, "", None, 12, ["a"], {"a": 1}, "a.b.c", "IlZr.awwW.Raj"],
    ids=["non-ascii", "lone-surrogate", "huge", "empty", "null", "number", "list", "object", "dots", "forged"],
)
def test_bad_session_tokens_get_403_with_a_fresh_session_hint(web_app, rasa, token):
    response = web(web_app, token, "hi")
    assert response.status_code == 403
    assert response.json["new_session"] is True and "/webhooks/web/session" in response.json["error"]
    assert rasa.received == []


def test_a_session_signed_with_another_secret_is_refused(web_app, rasa):
    forged = URLSafeTimedSerializer("not-the-servers-secret", salt=SESSION_SALT).dumps("someone-elses-session")
    assert web(web_app, forged, "what did they ask?").status_code == 403
    assert rasa.received == []


def test_expired_session_gets_403_and_a_new_one_works(web_app, rasa):
    class IssuedYesterday(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) - 25 * 3600

    secret = load_settings().web_session_secret
    old = URLSafeTimedSerializer(secret, salt=SESSION_SALT, signer=IssuedYesterday).dumps("yesterdays-session")
    response = web(web_app, old, "what is lymph")
    assert response.status_code == 403 and response.json["new_session"] is True
    fresh = web(web_app, web_session(web_app), "what is lymph")
    assert fresh.status_code == 200 and LYMPH in joined(fresh.json)
    assert len(rasa.received) == 1 and "yesterdays-session" not in rasa.conversations[0]


def test_each_session_is_its_own_conversation(web_app, rasa):
    first, second = web_session(web_app), web_session(web_app)
    assert first != second
    web(web_app, first, "what is lymph")
    web(web_app, second, "what is lymph")
    assert rasa.conversations == [f"web:{session_id(first)}", f"web:{session_id(second)}"]


def test_only_configured_origins_get_cors_headers(web_app):
    allowed = web_app.post(WEB_SESSION, headers={"Origin": "http://hospital.test"})
    assert allowed.headers["Access-Control-Allow-Origin"] == "http://hospital.test"
    other = web_app.post(WEB_SESSION, headers={"Origin": "https://evil.example"})
    assert other.status_code == 201 and "Access-Control-Allow-Origin" not in other.headers


def test_new_sessions_count_against_the_address_limit(monkeypatch, open_channel):
    monkeypatch.setenv("RATE_LIMIT_PER_ADDRESS", "3")
    app = open_channel(WebInput())
    assert [app.post(WEB_SESSION).status_code for _ in range(3)] == [201] * 3
    refused = app.post(WEB_SESSION)
    assert refused.status_code == 429 and refused.json["error"] == messages.fill(messages.RATE_LIMITED)


def test_web_per_sender_limit(monkeypatch, open_channel):
    monkeypatch.setenv("RATE_LIMIT_PER_SENDER", "3")
    app = open_channel(WebInput())
    token = web_session(app)
    assert [web(app, token, "hi").status_code for _ in range(3)] == [200] * 3
    assert web(app, token, "hi").status_code == 429


# Headers -------------------------------------------------------------------------------------


def test_webhook_responses_carry_security_headers(open_channel):
    rest_app, web_app, sms_app = open_channel(RestInput()), open_channel(WebInput()), open_channel(SmsInput())
    for response in (
        rest(rest_app, "headers", "hi"),
        rest_app.post_json(REST, b"{"),
        web(web_app, web_session(web_app), "hi"),
        web(web_app, "bad", "hi"),
        sms(sms_app, new_phone(), "hi"),
        sms(sms_app, new_phone(), "hi", signature=None),
    ):
        assert response.headers["X-Content-Type-Options"] == "nosniff", response.url
        assert response.headers["Referrer-Policy"] == "no-referrer", response.url
        assert response.headers["Cache-Control"] == "no-store", response.url
