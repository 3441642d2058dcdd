"""bot/rasa_patches.py changes how Rasa works inside, never what it answers.

The trained model is loaded twice in fresh processes, once as Rasa loads it and
once with the patches, and both parse the same patient messages: the intents,
their confidences and the entities must be the same.
"""

from __future__ import annotations

import json
import subprocess
import sys

from bot.cli import MODEL_PATH
from tests.conftest import ROOT

MESSAGES = [
    "what is metastatic cancer?",
    "my mom was told her cancer spread to her spine, what symptoms?",
    "how is it treated",
    "i have crushing chest pain",
    "i don't want to live anymore",
    "how much morphine can i take",
    "qwzx plmkj vvvv",
    "thanks, bye",
]

PARSE = """
import asyncio, json, sys
if sys.argv[1] == "patched":
    from bot import rasa_patches
    rasa_patches.apply()
from rasa.core.agent import Agent
agent = Agent.load(sys.argv[2])
out = []
for text in json.loads(sys.argv[3]):
    parsed = asyncio.run(agent.parse_message(text))
    out.append({
        "ranking": [(r["name"], round(r["confidence"], 5)) for r in parsed["intent_ranking"]],
        "entities": [(e["entity"], e["value"]) for e in parsed["entities"]],
    })
print("RESULT" + json.dumps(out))
"""


def parse(mode: str) -> list[dict]:
    result = subprocess.run(
        [sys.executable, "-c", PARSE, mode, str(MODEL_PATH), json.dumps(MESSAGES)],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.split("RESULT", 1)[1])


def test_patched_model_load_predicts_exactly_as_rasa():
    assert parse("patched") == parse("rasa")
