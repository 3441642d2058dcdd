"""The topic catalogue: each topic declared once, and three places are enough to add one.

bot/knowledge/content/topics.yml declares every topic; `python -m bot setup` writes the
topics' intents (domain.yml), rules (data/rules.yml) and table (docs/intents.md) from it.
The last test adds a throwaway topic to a temporary copy of the project, touching only
the catalogue, one NLU file and the test stories, and shows that the copy validates,
trains its dialogue model, predicts the answer action and answers with the article's
sentence under the new label.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from bot.knowledge import catalogue
from bot.knowledge.catalogue import CatalogueError, answer_entries, read_catalogue, topics_of
from bot.rasa import topics as generated
from bot.servers import rasa_executable
from tests.checks import NOT_IN_ARTICLE
from tests.conftest import ROOT

DOMAIN = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))


def test_generated_intents_rules_and_docs_are_current():
    stale = [str(path.relative_to(ROOT)) for path in generated.stale()]
    assert not stale, f"{stale} differ from the topic catalogue: run `python -m bot topics`"


def test_every_catalogue_topic_is_an_intent_with_one_answer_rule():
    keys = {key for key in catalogue.topics() if "/" not in key}
    intents = {i for i in DOMAIN["intents"] if i.startswith("ask_")} - {"ask_source", "ask_capabilities"}
    assert intents == {f"ask_{key}" for key in keys}
    rules = yaml.safe_load((ROOT / "data" / "rules.yml").read_text(encoding="utf-8"))["rules"]
    answered = [r["steps"][0]["intent"] for r in rules if r["steps"][-1] == {"action": "action_answer"}]
    assert sorted(answered) == sorted(f"ask_{key}" for key in keys)


def test_every_topic_and_site_has_a_label_and_every_topic_a_description():
    for key, topic in catalogue.topics().items():
        assert topic.label.strip(), key
        assert "/" in key or topic.about.strip(), key


def test_gap_notes_send_people_to_their_care_team_and_name_no_medical_fact():
    notes = {key: t.gap for key, t in catalogue.topics().items() if t.gap}
    assert set(notes) == {"tumor_markers", "imaging_tests", "spread_by_cancer_type", "symptoms_by_site/lymph nodes"}
    for key in notes:
        filled = catalogue.gap_note(key)
        assert filled.startswith("The article I answer from does not") and "care team" in filled, key
    assert "where colon cancer tends" in catalogue.gap_note("spread_by_cancer_type", cancer_type="colon cancer")


def test_labels_and_gap_notes_never_fill_a_gap_the_article_leaves():
    """The catalogue's own wording names no tumor marker, scan or cancer type the article leaves out."""
    for key, topic in catalogue.topics().items():
        for text in filter(None, (topic.label, topic.gap, topic.gap_for_type)):
            assert not [w for w in NOT_IN_ARTICLE if w.lower() in text.lower()], (key, text)


@pytest.mark.parametrize(
    ("entry", "error"),
    [
        ({"topic": "x", "label": "X", "quotes": ["Lymph is"], "lable": "typo"}, "unknown field"),
        ({"topic": "x", "quotes": ["Lymph is"]}, "'label' is required"),
        ({"topic": "x", "label": "X"}, "'quotes' is required"),
        ({"topic": "not a name", "label": "X", "quotes": ["Lymph is"]}, "'topic' must be a name"),
        ({"topic": "x", "label": "X", "sites": [{"site": "liver", "quotes": ["Liver"]}]}, "'label' is required"),
    ],
)
def test_a_malformed_entry_is_refused_with_what_is_wrong(entry, error):
    with pytest.raises(CatalogueError, match=error):
        list(answer_entries([entry]))
    with pytest.raises(CatalogueError, match=error):  # the labels and gap notes the actions read
        topics_of([entry])


def test_sites_are_answers_of_their_own_with_their_own_labels():
    raw, _ = read_catalogue()
    keys = {key for key in topics_of(raw) if "/" in key}
    assert keys == {f"symptoms_by_site/{s}" for s in ("bones", "brain", "lungs", "liver", "lymph nodes")}
    assert catalogue.label("symptoms_by_site/brain") == "Symptoms in the brain"


# Adding a topic in three places -------------------------------------------------------------

NEW_TOPIC = "what_lymph_carries"
NEW_LABEL = "What does lymph carry?"
NEW_ENTRY = f"""
- topic: {NEW_TOPIC}
  label: "{NEW_LABEL}"
  about: "what the lymph fluid carries through the body"
  quotes:
    - "Lymph is a clear fluid"
  followups: [what_is_lymph, how_cancer_spreads]
"""
NEW_EXAMPLES = f"""version: "3.1"
nlu:
  - intent: ask_{NEW_TOPIC}
    examples: |
      - what does lymph carry
      - what is carried in the lymph fluid
      - what travels in lymph
"""
NEW_STORY = f"""  - story: what lymph carries
    steps:
      - user: |
          what does lymph carry
        intent: ask_{NEW_TOPIC}
      - action: action_answer
"""
# Run inside the copy: the answer action, as the action server runs it, on the copy's knowledge base.
ANSWER_IN_THE_COPY = """
import asyncio, json
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from actions.actions import ActionAnswer
from bot.knowledge.repository import KnowledgeBase

def ask(intent):
    tracker = Tracker("copy", {}, {"intent": {"name": intent, "confidence": 1.0}, "entities": [], "text": ""},
                      [], False, None, {}, "action_listen")
    dispatcher = CollectingDispatcher()
    asyncio.run(ActionAnswer(KnowledgeBase()).run(dispatcher, tracker, {}))
    return dispatcher.messages

print(json.dumps({"new": ask("ask_%s"), "lymph": ask("ask_what_is_lymph")}))
"""


def copy_project(to: Path) -> Path:
    """The project's tracked source files (no .venv, models, var or results), as a clean clone has them."""
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    for name in filter(None, listed.decode().split("\0")):
        if (ROOT / name).is_file():
            (to / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, to / name)
    return to


def in_copy(copy: Path, *command: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(copy), "DATABASE_URL": f"sqlite:///{copy / 'var' / 'kb.db'}"}
    return subprocess.run(command, cwd=copy, env=env, capture_output=True, text=True, timeout=600)


@pytest.mark.system
def test_a_new_topic_needs_only_its_entry_examples_and_story(tmp_path):
    copy = copy_project(tmp_path / "project")
    untouched = {p: p.read_bytes() for p in copy.rglob("*") if p.is_file()}
    # 1. the catalogue entry (and, in the same file, the new topic as a follow-up of lymph)
    topics_file = copy / "bot" / "knowledge" / "content" / "topics.yml"
    text = topics_file.read_text(encoding="utf-8")
    lymph_followups = '  followups: [how_cancer_spreads, common_sites, "symptoms_by_site/lymph nodes"]'
    assert text.count(lymph_followups) == 1
    text = text.replace(lymph_followups, f"  followups: [{NEW_TOPIC}, how_cancer_spreads, common_sites]")
    topics_file.write_text(text + NEW_ENTRY, encoding="utf-8")
    # 2. its training examples
    (copy / "data" / "nlu" / "new_topic.yml").write_text(NEW_EXAMPLES, encoding="utf-8")
    # 3. its test conversation
    stories = copy / "tests" / "test_stories.yml"
    stories.write_text(stories.read_text(encoding="utf-8") + NEW_STORY, encoding="utf-8")

    # What `python -m bot setup` does before training writes the rest.
    python = sys.executable
    assert in_copy(copy, python, "-m", "bot", "topics", "--check").returncode != 0  # stale until written
    written = in_copy(copy, python, "-m", "bot", "topics")
    assert written.returncode == 0, written.stderr[-2000:]
    changed = {p.relative_to(copy).as_posix() for p, data in untouched.items() if p.read_bytes() != data}
    assert changed == {
        "bot/knowledge/content/topics.yml",
        "tests/test_stories.yml",
        "domain.yml",
        "data/rules.yml",
        "docs/intents.md",
    }
    assert f"| ask_{NEW_TOPIC} | what the lymph fluid carries" in (copy / "docs" / "intents.md").read_text()

    validated = in_copy(copy, rasa_executable(), "data", "validate", "--fail-on-warnings", "--quiet")
    assert validated.returncode == 0, validated.stdout[-3000:] + validated.stderr[-3000:]

    # The dialogue model trained on the copy answers the new intent with action_answer.
    trained = in_copy(copy, rasa_executable(), "train", "core", "--fixed-model-name", "core", "--out", "models")
    assert trained.returncode == 0, trained.stdout[-3000:]
    story = tmp_path / "intent_story.yml"
    story.write_text(
        f'version: "3.1"\nstories:\n  - story: new topic\n    steps:\n'
        f"      - intent: ask_{NEW_TOPIC}\n      - action: action_answer\n",
        encoding="utf-8",
    )
    tested = in_copy(
        copy, rasa_executable(), "test", "core", "--model", "models/core.tar.gz", "--stories", str(story),
        "--fail-on-prediction-errors", "--out", str(tmp_path / "results"),
    )
    assert tested.returncode == 0, tested.stdout[-3000:] + tested.stderr[-3000:]

    # The knowledge base of the copy answers it with the article's sentence, and offers it by its label.
    for step in ("migrate", "load-kb"):
        done = in_copy(copy, python, "-m", "bot", step)
        assert done.returncode == 0, done.stderr[-2000:]
    answered = in_copy(copy, python, "-c", ANSWER_IN_THE_COPY % NEW_TOPIC)
    assert answered.returncode == 0, answered.stderr[-3000:]
    replies = json.loads(answered.stdout.strip().splitlines()[-1])
    [new] = replies["new"]
    assert new["text"].startswith("Lymph is a clear fluid")
    assert new["custom"]["topic"] == NEW_TOPIC
    [lymph] = replies["lymph"]
    assert lymph["buttons"][0] == {"title": NEW_LABEL, "payload": f"/ask_{NEW_TOPIC}"}
