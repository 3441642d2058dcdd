"""The checks in tests/checks.py can fail: each one refuses every broken reply, and each
passes on the reply it is meant for (the article's answer, the fallback's wording)."""

from __future__ import annotations

import pytest

from bot import messages
from bot.settings import load_settings
from tests.checks import (
    ANSWERS,
    CLINICAL_TRIALS_REST,
    NOT_UNDERSTOOD,
    assert_answers,
    assert_says,
    broken_replies,
)

PHONE = load_settings().care_team_phone
BROKEN = broken_replies()
BROKEN_IDS = ["service-trouble", "sms-trouble", "no-answer", "disclaimer", "sms-disclaimer", "empty"]


def test_the_old_checks_passed_on_a_broken_reply():
    """Why the checks exist: the care-team phone (and "care team") is in what a broken bot says."""
    for reply in BROKEN[:-1]:
        assert PHONE in reply
    assert "care team" in messages.fill(messages.SERVICE_TROUBLE)


@pytest.mark.parametrize("reply", BROKEN, ids=BROKEN_IDS)
@pytest.mark.parametrize("topic", sorted(ANSWERS))
def test_the_article_check_fails_on_a_broken_reply(reply, topic):
    with pytest.raises(AssertionError):
        assert_answers(reply, topic)


@pytest.mark.parametrize("reply", BROKEN, ids=BROKEN_IDS)
@pytest.mark.parametrize("words", [CLINICAL_TRIALS_REST, NOT_UNDERSTOOD], ids=["clinical-trials-rest", "fallback"])
def test_the_wording_check_fails_on_a_broken_reply(reply, words):
    with pytest.raises(AssertionError):
        assert_says(reply, words)


def test_a_check_needs_words():
    with pytest.raises(AssertionError, match="needs the words"):
        assert_says("any reply", " ")


@pytest.mark.parametrize("topic", sorted(ANSWERS))
def test_the_article_check_passes_on_the_article_answer(kb, topic):
    answer = kb.answer(topic)
    assert answer.text.startswith(ANSWERS[topic])
    assert_answers(answer.text, topic)


def test_the_wording_checks_pass_on_their_reply(kb):
    assert_says(kb.answer("clinical_trials").text, CLINICAL_TRIALS_REST)
    assert_says(messages.fill(messages.NOT_UNDERSTOOD), NOT_UNDERSTOOD)


@pytest.mark.parametrize(
    "expected",
    [
        # tests/test_actions.py: an unknown topic; bad entity and slot values.
        messages.fill(messages.NO_ANSWER),
        messages.safety_reply("emergency"),
        messages.other_language_reply("en"),
        messages.fill(messages.MORE_WHAT),
    ],
    ids=["no-answer", "emergency", "other-language", "more-what"],
)
def test_the_exact_replies_expected_are_not_the_safe_failure_reply(expected):
    assert expected != messages.fill(messages.SERVICE_TROUBLE)
