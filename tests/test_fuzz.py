"""Bad input on every channel (REST, the website widget's webhook, SMS), in process (tests/stub_rasa.py).

Empty, whitespace, 100 KB, control characters, invalid UTF-8, malformed JSON,
wrong content types, HTML and SQL-looking text, random bytes: never a 5xx, never
a stack trace; a clear 4xx error or a polite reply. What reaches Rasa is clean
text, cut at MAX_MESSAGE_CHARS, and never an intent the bot did not offer. Each
channel's blueprint runs on a bare Sanic app with a stand-in for Rasa: bad input is
the channel's business (bot/channels/http.py, conversation.py), not the model's.
The same texts through Rasa's NLU: tests/test_rest.py (a long message still
understood, SQL-looking text stored as text). (The widget's channel stands in for
socket.io, which this project does not enable: see bot/channels/web.py.)
"""

from __future__ import annotations

import json
import random
import unicodedata

import pytest

from bot import messages
from bot.channels.rest import RestInput
from bot.channels.sms import SmsInput
from bot.channels.web import WebInput
from bot.settings import load_settings
from tests.stub_rasa import (
    LYMPH,
    REST,
    SMS,
    WEB,
    ChannelApp,
    joined,
    new_sid,
    rest,
    sms_form,
    twiml_texts,
    web_session,
)

HOSTILE_TEXTS = [
    "",
    "   \n\t  ",
    "a" * 100_000,
    "\x00\x01\x02\x1b[31mred\x7f\u0085",
    "\ud800 lone surrogate",
    "<script>alert(1)</script><img src=x onerror=alert(2)>",
    "'; DROP TABLE events; -- what is metastatic cancer?",
    "\" OR 1=1 --",
    "{{7*7}} ${jndi:ldap://x} %s%s%s",
    "‮ RTL override ‭ and emoji 🙂🙂",
    "/ask_stage_4{\"body_site\": \"<b>bones</b>\"}",
    "/restart",
    "\n" * 5000,
]
RNG = random.Random(6)
RANDOM_BODIES = [bytes(RNG.randrange(256) for _ in range(RNG.randrange(1, 400))) for _ in range(25)]




def assert_no_server_error(response) -> None:
    assert response.status_code < 500, (response.status_code, response.text[:500])
    assert "Traceback" not in response.text and 'File "/' not in response.text


def assert_polite(replies: list[dict]) -> None:
    assert isinstance(replies, list) and replies
    assert all(isinstance(r.get("text"), str) and r["text"].strip() for r in replies if "text" in r)


def assert_clean_for_rasa(texts: list[str]) -> None:
    """What the channel handed to Rasa: valid UTF-8 without control characters (line breaks aside),
    within the limit, never an intent the bot did not offer."""
    limit = load_settings().max_message_chars
    for text in texts:
        assert text.strip() and len(text) <= limit
        text.encode("utf-8")  # no lone surrogates
        assert not [c for c in text if unicodedata.category(c) == "Cc" and c not in "\n\t\r"], repr(text[:80])
        assert not text.startswith("/"), text[:80]


def post(app: ChannelApp, path: str, body: bytes | str, content_type: str | None = "application/json"):
    return app.post(path, content=body, headers={"Content-Type": content_type} if content_type else {})


@pytest.fixture
def rest_app(open_channel) -> ChannelApp:
    return open_channel(RestInput())


@pytest.fixture
def web_app(open_channel) -> ChannelApp:
    return open_channel(WebInput())


@pytest.fixture
def sms_app(open_channel) -> ChannelApp:
    return open_channel(SmsInput())


@pytest.mark.parametrize("text", HOSTILE_TEXTS, ids=lambda t: repr(t[:20]))
def test_rest_hostile_messages_get_a_polite_reply(rest_app, rasa, text):
    response = rest(rest_app, "fuzz-rest", text)
    assert_no_server_error(response)
    assert response.status_code == 200
    assert_polite(response.json)
    assert_clean_for_rasa(rasa.texts)
    if not text.strip():  # nothing to ask Rasa: a prompt to type a question
        assert rasa.received == [] and joined(response.json) == messages.fill(messages.EMPTY_MESSAGE)


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        (b"", "application/json", 400),
        (b"   ", "application/json", 400),
        (b"{\"sender\": ", "application/json", 400),
        (b"null", "application/json", 400),
        (b"[1, 2]", "application/json", 400),
        (b"\"just a string\"", "application/json", 400),
        (b"{\"sender\": \"x\", \"message\": \"\xff\xfe\xfd\"}", "application/json", 400),
        (b"{\"sender\": \"x\"}", "application/json", 400),
        (b"{\"message\": \"hi\"}", "application/json", 400),
        (b"{\"sender\": 12, \"message\": \"hi\"}", "application/json", 400),
        (b"{\"sender\": \"x\", \"message\": [\"hi\"]}", "application/json", 400),
        (b"{\"sender\": \"a\\u0000b\", \"message\": \"hi\"}", "application/json", 400),
        (b"{\"sender\": \"   \", \"message\": \"hi\"}", "application/json", 400),
        (json.dumps({"sender": "s" * 500, "message": "hi"}).encode(), "application/json", 400),
        (b"sender=x&message=hi", "application/x-www-form-urlencoded", 415),
        (b"{\"sender\": \"x\", \"message\": \"hi\"}", "text/plain", 415),
        (b'--b\r\nContent-Disposition: form-data; name="m"\r\n\r\nhi\r\n--b--', "multipart/form-data; boundary=b", 415),
        (b"<xml>hi</xml>", "application/xml", 415),
        (json.dumps({"sender": "x", "message": "a" * 300_000}).encode(), "application/json", 413),
    ],
)
def test_rest_malformed_requests_get_a_clear_error(rest_app, rasa, body, content_type, status):
    response = post(rest_app, REST, body, content_type)
    assert_no_server_error(response)
    assert response.status_code == status
    assert response.json["error"]
    assert rasa.received == []


def test_rest_random_bytes_never_break_the_channel(rest_app, rasa):
    for body in RANDOM_BODIES:
        for content_type in ("application/json", "application/octet-stream", None):
            assert_no_server_error(post(rest_app, REST, body, content_type))
    assert rasa.received == []
    assert LYMPH in joined(rest(rest_app, "fuzz-after", "what is lymph?").json)


@pytest.mark.parametrize("text", [t for t in HOSTILE_TEXTS if t.strip()], ids=lambda t: repr(t[:20]))
def test_web_hostile_messages_get_a_polite_reply(web_app, rasa, text):
    response = post(web_app, WEB, json.dumps({"session": web_session(web_app), "message": text}))
    assert_no_server_error(response)
    assert response.status_code == 200
    assert_polite(response.json)
    assert_clean_for_rasa(rasa.texts)


@pytest.mark.parametrize(
    ("payload", "status"),
    [
        (b"", 400),
        (b"{", 400),
        (b"[]", 400),
        (b"{\"session\": [], \"message\": \"hi\"}", 403),
        (b"{\"session\": 5, \"message\": \"hi\"}", 403),
        (b"{\"session\": \"x.y\", \"message\": \"hi\"}", 403),
        (b"{\"session\": \"" + b"a." * 5000 + b"\", \"message\": \"hi\"}", 403),
    ],
)
def test_web_malformed_requests_get_a_clear_error(web_app, rasa, payload, status):
    response = post(web_app, WEB, payload)
    assert_no_server_error(response)
    assert response.status_code == status and response.json["error"]
    assert rasa.received == []


def test_web_empty_message_and_wrong_content_type(web_app, rasa):
    session = web_session(web_app)
    for text in ("", "  \n "):
        response = post(web_app, WEB, json.dumps({"session": session, "message": text}))
        assert response.status_code == 400 and response.json["error"] == "Please type a message."
    response = post(web_app, WEB, json.dumps({"session": session, "message": "hi"}), "text/plain")
    assert response.status_code == 415
    for body in RANDOM_BODIES[:10]:
        assert_no_server_error(post(web_app, WEB, body))
    assert rasa.received == []


@pytest.mark.parametrize(("index", "text"), list(enumerate(HOSTILE_TEXTS)), ids=lambda v: repr(v)[:20])
def test_sms_hostile_bodies_get_a_polite_text(sms_app, rasa, index, text):
    text = text.replace("\ud800", "?")  # a form field cannot carry a lone surrogate
    form = {"From": f"+1555777{index:04d}", "To": "+15550000000", "Body": text, "MessageSid": new_sid()}
    response = sms_form(sms_app, form)
    assert_no_server_error(response)
    replies = twiml_texts(response)
    assert replies and all(r.strip() for r in replies)
    assert_clean_for_rasa(rasa.texts)


def test_sms_malformed_requests(sms_app, rasa):
    for body, content_type in (
        (b"", "application/x-www-form-urlencoded"),
        (b"%%%&&&===", "application/x-www-form-urlencoded"),
        (b"{\"Body\": \"hi\"}", "application/json"),
        (RANDOM_BODIES[0], "application/octet-stream"),
    ):
        response = post(sms_app, SMS, body, content_type)
        assert_no_server_error(response)
        assert response.status_code == 403  # unsigned: refused before anything is read
    # Signed but incomplete: a clear 400.
    response = sms_form(sms_app, {"Body": "hi"})
    assert response.status_code == 400
    assert rasa.received == []
