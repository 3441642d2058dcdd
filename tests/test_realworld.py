"""Real patients' questions, in voices the training data does not have (tests/realworld/).

Each file was written by an outside author who never saw data/nlu, one voice
each: caregiver stories, texting, headlines, questions for the doctor,
encyclopedia templates, two questions in one, emotion around the question, and
Spanish. `dev/` is tuned on; `final/` (other authors) was run once at the end of
issue 11 and is kept here, against the running bot, at the level it reached.
`make evaluate` prints the four outcomes per set and voice and saves plots.
"""

from __future__ import annotations

import pytest
from rasa.shared.nlu.training_data.loading import load_data

from bot.evaluation import Case, Reply, evaluate, load, outcome, rest_sender, table
from tests.conftest import ROOT

VOICES = {"caregiver", "sms", "headline", "askdoctor", "encyclopedia", "twoq", "emotional", "spanish"}
# The targets on the final set's in-scope questions: 85% answered, 95% answered or
# clarified with the topic, 3% wrong at most. Its one run at the end of issue 11 reached
# 88.9%, 96.1% and 2.5% (docs/understanding.md).
FINAL_ANSWERED = 0.85
FINAL_RIGHT_OR_CLARIFIED = 0.95
FINAL_WRONG = 0.03


@pytest.mark.parametrize("name", ["dev", "final"])
def test_each_set_has_every_voice_and_labels_every_question(name):
    cases = load(name)  # raises on a label that is not a topic or a routing intent
    assert {c.voice for c in cases} == VOICES
    assert len(cases) >= (400 if name == "final" else 300)
    assert all(c.expect for c in cases)
    assert sum(bool(c.second) for c in cases if c.voice == "twoq") >= 40


def test_no_real_world_question_is_in_the_training_data():
    training = {e.get("text").lower().strip() for e in load_data(str(ROOT / "data" / "nlu")).intent_examples}
    for name in ("dev", "final"):
        leaked = [c.text for c in load(name) if c.text.lower().strip() in training]
        assert not leaked, leaked


def _case(expect, second=(), language="en"):
    return Case("unit", "unit", "text", tuple(expect), tuple(second), language)


@pytest.mark.parametrize(
    "case, reply, expected",
    [
        (_case(["stage_4"]), Reply(answered=["stage_4"]), "answered"),
        (_case(["stage_4"]), Reply(answered=["naming"]), "wrong"),
        (_case(["stage_4"]), Reply(clarified=["naming", "stage_4"], kinds=["clarify"]), "clarified"),
        (_case(["stage_4"]), Reply(clarified=["naming"], kinds=["clarify"]), "no_help"),
        (_case(["stage_4"]), Reply(kinds=["emergency"]), "wrong"),
        # Two questions: both answered, or it is not an answer.
        (_case(["coping"], ["support"]), Reply(answered=["coping", "support"]), "answered"),
        (_case(["coping"], ["support"]), Reply(answered=["coping"]), "no_help"),
        (_case(["coping"], ["support"]), Reply(answered=["coping", "naming"]), "wrong"),
        (_case(["coping"], ["personal_advice"]), Reply(answered=["coping"]), "answered"),
        # Routing: out of scope may also be met with "not understood"; a medical answer is wrong.
        (_case(["out_of_scope"]), Reply(kinds=["not_understood"]), "answered"),
        (_case(["personal_advice"]), Reply(answered=["tumor_markers"]), "wrong"),
        # Spanish: the Spanish notice is the answer (the article is never translated).
        (_case(["stage_4"], language="es"), Reply(kinds=["language"], language="es"), "answered"),
        (_case(["stage_4"], language="es"), Reply(kinds=["clarify"]), "no_help"),
    ],
)
def test_outcomes_are_sorted_as_the_issue_defines_them(case, reply, expected):
    assert outcome(case, reply) == expected


@pytest.fixture(scope="module")
def final_rows(servers):
    results = evaluate(load("final"), rest_sender(servers.base))
    return table(results)


def test_final_set_through_the_running_bot_meets_its_targets(final_rows):
    overall = final_rows["all"]
    print({voice: {k: round(v, 3) if isinstance(v, float) else v for k, v in row.items()}
           for voice, row in final_rows.items()})  # fmt: skip
    assert overall["in_scope"] >= 300
    assert overall["answered"] >= FINAL_ANSWERED
    assert overall["answered"] + overall["clarified"] >= FINAL_RIGHT_OR_CLARIFIED
    assert overall["wrong"] <= FINAL_WRONG


def test_spanish_questions_get_the_spanish_notice(final_rows):
    # Every in-scope question; of the 11 routing messages, 10 reached at the final run.
    assert final_rows["spanish"]["answered"] == 1.0
    assert final_rows["spanish"]["routing_right"] >= 0.9
