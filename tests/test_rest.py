"""The REST channel end to end: `python -m bot run`, real HTTP, Rasa's NLU, the action server and databases.

The channel's own behaviour (bad input, the token, limits, the safe reply, 503, what reaches
Rasa) is tested in process: tests/test_channels.py and tests/test_fuzz.py.
"""

import json
import sqlite3

import requests

from bot import messages
from bot.knowledge import catalogue
from bot.settings import load_settings
from tests.checks import NOT_UNDERSTOOD, assert_says

PHONE = load_settings().care_team_phone


def texts(replies: list[dict]) -> str:
    return "\n".join(r["text"] for r in replies if r.get("text"))


def test_a_question_gets_the_article_answer_disclaimer_buttons_and_source(servers):
    replies = servers.say("rest-1", "what is metastatic cancer?")
    answer = next(r for r in replies if "text" in r)
    assert answer["text"].startswith("A metastatic cancer, or metastatic tumor, is one that has spread")
    assert answer["text"].endswith(messages.disclaimer())
    assert 2 <= len(answer["buttons"]) <= 3
    custom = next(r["custom"] for r in replies if "custom" in r)
    assert custom["source"]["title"] == "Metastatic cancer"
    assert custom["source"]["updated"] == "June 14, 2022"


def test_a_worried_caregiver_asking_about_a_site(servers):
    reply = texts(servers.say("rest-2", "my husbands cancer spread to his spine what symptoms should we expect"))
    assert "Bone metastasis may cause pain and an increased risk of fractures." in reply
    assert PHONE in reply


def test_a_follow_up_button_payload_answers_that_question(servers):
    first = servers.say("rest-3", "how does cancer spread")
    payload = next(r for r in first if "buttons" in r)["buttons"][0]["payload"]
    assert payload == "/ask_what_is_lymph"
    answer, custom = servers.say("rest-3", payload)  # Rasa's REST sends the custom data as its own message
    assert answer["text"].startswith("Lymph is a clear fluid") and answer["text"].endswith(messages.disclaimer())
    # 👍 / 👎 travel in the answer's custom data, and pressing one is taken as feedback on that answer.
    helpful = custom["custom"]["feedback"][0]["payload"]
    assert helpful == '/feedback_helpful{"topic": "what_is_lymph"}'
    thanks, kind = servers.say("rest-3", helpful)
    assert thanks["text"] == messages.FEEDBACK_THANKS and kind["custom"] == {"kind": "feedback"}


def test_gap_answers_point_to_the_care_team(servers):
    reply = texts(servers.say("rest-4", "which tumor markers show that cancer has spread"))
    assert catalogue.gap_note("tumor_markers") in reply


def test_goodbye_shows_the_source(servers):
    servers.say("rest-5", "hi")
    reply = texts(servers.say("rest-5", "ok bye"))
    assert "From: Metastatic cancer, updated June 14, 2022." in reply
    assert PHONE in reply


def test_gibberish_gets_a_polite_reply_with_the_care_team(servers):
    reply = texts(servers.say("rest-6", "qwzx plmkj vvvv"))
    assert_says(reply, NOT_UNDERSTOOD)
    assert PHONE in reply


def test_http_api_is_off_without_a_token(servers):
    response = requests.post(f"http://127.0.0.1:{servers.port}/model/parse", json={"text": "hello"}, timeout=10)
    assert response.status_code in (403, 404)


def test_context_follow_up_site_and_tell_me_more(servers):
    servers.say("rest-7", "what symptoms does liver metastasis cause")
    assert "Brain metastasis may cause headaches, seizures or dizziness." in texts(
        servers.say("rest-7", "and what about the brain?")
    )
    more = texts(servers.say("rest-7", "tell me more"))
    assert messages.disclaimer() in more


def test_start_over_forgets_the_topic(servers):
    servers.say("rest-8", "what is palliative care")
    assert texts(servers.say("rest-8", "start over")) == messages.fill(messages.START_OVER)
    assert texts(servers.say("rest-8", "tell me more")) == messages.fill(messages.MORE_WHAT)


def test_a_long_message_is_cut_with_a_note_and_still_understood(servers):
    limit = load_settings().max_message_chars
    replies = servers.say("rest-long", "what is metastatic cancer? " + "please explain " * 1000)
    assert replies[0]["text"] == messages.MESSAGE_CUT.format(limit=limit)
    # The question itself was still understood: answered, or offered as the first "Did you mean…?".
    custom = next(r["custom"] for r in replies if "custom" in r)
    assert custom.get("topic") == "what_is_metastatic_cancer" or custom.get("topics", [None])[0] == (
        "what_is_metastatic_cancer"
    ), replies


def test_sql_looking_text_is_stored_as_text(servers):
    servers.say("rest-sql", "'; DROP TABLE events; --")
    with sqlite3.connect(servers.database.parent / "conversations.db") as db:
        query = "SELECT data FROM events WHERE sender_id = 'rest:rest-sql' AND type_name = 'user'"
        stored = db.execute(query).fetchall()
    assert any("DROP TABLE events" in json.loads(row[0])["text"] for row in stored)
