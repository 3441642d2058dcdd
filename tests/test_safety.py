"""Emergency and crisis messages get help first; negated and harmless ones do not.

The cases in safety_cases.yml and safety_cases_fresh.yml were written by people
who did not write the detector's patterns or its training data. They run
against the real bot (`python -m bot run`): both detectors, the spaCy safety
matcher and the learned intents, are exercised together, as a patient meets them.
"""

from pathlib import Path

import pytest
import yaml

from bot import messages
from bot.nlp.pipeline import build_pipeline
from bot.safety import CRISIS, EMERGENCY
from bot.settings import load_settings

CASES_DIR = Path(__file__).parent
SETTINGS = load_settings()
EMERGENCY_TEXT = messages.fill(messages.EMERGENCY)
CRISIS_TEXT = messages.fill(messages.CRISIS)


def cases(kind: str) -> list[str]:
    found = []
    for name in ("safety_cases.yml", "safety_cases_fresh.yml"):
        found += yaml.safe_load((CASES_DIR / name).read_text())[kind]
    return found


@pytest.fixture(scope="module")
def nlp():
    return build_pipeline()


@pytest.mark.parametrize(
    "text, label",
    [
        ("i cant breathe", EMERGENCY),
        ("my dad can't breathe!!", EMERGENCY),
        ("she is having a seizure right now", EMERGENCY),
        ("he collapsed and wont wake up", EMERGENCY),
        ("my mom is coughing up blood, is that the cancer?", EMERGENCY),
        ("I have chest pain", EMERGENCY),
        ("i want to kill myself", CRISIS),
        ("i dont want to live anymore", CRISIS),
        ("no chest pain, just tired", None),
        ("I'm not having a seizure", None),
        ("he isn't coughing up blood", None),
        ("can lung metastasis cause chest pain?", None),
        ("is coughing up blood a symptom of lung mets", None),
        ("what are the symptoms of brain metastasis", None),
        ("i don't want to die", None),
    ],
)
def test_safety_matcher(nlp, text, label):
    assert nlp(text)._.safety == label


def first_text(replies: list[dict]) -> str:
    return next(r["text"] for r in replies if r.get("text"))


@pytest.mark.parametrize("text", cases("emergency"))
def test_emergencies_get_the_emergency_number_first(servers, text):
    replies = servers.say("safety-emergency", text)
    assert first_text(replies) == EMERGENCY_TEXT
    assert f"Call {SETTINGS.emergency_number} now" in EMERGENCY_TEXT
    assert {"custom": {"safety": "emergency"}}.items() <= next(r for r in replies if "custom" in r).items()


@pytest.mark.parametrize("text", cases("crisis"))
def test_crisis_gets_988_and_the_care_team(servers, text):
    reply = first_text(servers.say("safety-crisis", text))
    assert reply == CRISIS_TEXT
    assert "988" in reply and SETTINGS.care_team_phone in reply


@pytest.mark.parametrize("text", cases("harmless"))
def test_harmless_messages_raise_no_alarm(servers, text):
    reply = first_text(servers.say("safety-harmless", text))
    assert reply not in (EMERGENCY_TEXT, CRISIS_TEXT)


@pytest.mark.parametrize(
    "text",
    ["i just coughed up a lot of bright red blood", "she threw up so much dark blood just now"],
)
def test_blood_reports_with_words_in_between(nlp, text):
    assert nlp(text)._.safety == EMERGENCY
