"""Held-out patient questions (never used in training) get the right intent >= 95% of the time."""

import asyncio
from collections import Counter

import pytest
from rasa.core.agent import Agent
from rasa.shared.nlu.training_data.loading import load_data

from bot.cli import MODEL_PATH
from tests.conftest import ROOT

HELD_OUT = ROOT / "tests" / "nlu_heldout.yml"


@pytest.fixture(scope="module")
def agent() -> Agent:
    return Agent.load(str(MODEL_PATH))


def test_held_out_questions_are_understood(agent):
    examples = load_data(str(HELD_OUT)).intent_examples
    assert len(examples) >= 400

    async def predict():
        return [await agent.parse_message(e.get("text")) for e in examples]

    results = asyncio.run(predict())
    misses = Counter()
    for example, result in zip(examples, results, strict=True):
        if result["intent"]["name"] != example.get("intent"):
            misses[(example.get("intent"), result["intent"]["name"])] += 1
    accuracy = 1 - sum(misses.values()) / len(examples)
    print(f"\nheld-out accuracy: {accuracy:.1%} of {len(examples)}; misses: {misses.most_common(10)}")
    assert accuracy >= 0.95, misses.most_common()


def test_held_out_set_is_not_in_the_training_data():
    held_out = {e.get("text").lower() for e in load_data(str(HELD_OUT)).intent_examples}
    training = {e.get("text").lower() for e in load_data(str(ROOT / "data" / "nlu")).intent_examples}
    assert not held_out & training
