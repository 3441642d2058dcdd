"""Issue 11's NLU parts, each on its own and through the trained model as the bot parses.

The question clauses of a long message, typos corrected against our own words,
another language recognised, and two questions in one message found. The
examples here are the team's own; the outside authors' sets are in
tests/realworld and tests/test_realworld.py.
"""

from __future__ import annotations

import asyncio

import pytest
import spacy

from bot.nlp.language import detect
from bot.nlp.questions import questions


@pytest.fixture(scope="module")
def sentences():
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    return lambda text: [(s.start_char, s.end_char) for s in nlp(text).sents]


@pytest.mark.parametrize(
    "text, asked",
    [
        (
            "We saw the oncologist on Monday. She said the scan was clearer. Why do they still call it breast cancer?",
            ["Why do they still call it breast cancer?"],
        ),
        ("what is it and how do you treat it", ["what is it", "and how do you treat it"]),
        ("Is it in the blood? and if not which scan", ["Is it in the blood?", "and if not which scan"]),
        ("1) what is lymph 2) how does cancer use it", ["1) what is lymph", "2) how does cancer use it"]),
        ("Bone Mets Symptoms", ["Bone Mets Symptoms"]),  # no question: the whole message
        ("what is lymph? " + "please explain " * 50, ["what is lymph?"]),  # a request with nothing of its own
        ("Dad has stage 4 and he and I are scared.", ["Dad has stage 4 and he and I are scared."]),
    ],
)
def test_the_questions_of_a_message_are_found(sentences, text, asked):
    assert [c.text for c in questions(text, sentences(text))] == asked


@pytest.mark.parametrize(
    "text, language",
    [
        ("¿El cáncer metastásico tiene cura?", "es"),
        ("mi papa tiene cancer en los huesos q significa", "es"),
        ("Est-ce que le cancer peut revenir après le traitement ?", "fr"),
        ("hiya", "en"),  # one word is too little to call another language
        ("stage 4 mets", "en"),
        ("what does metastatic mean", "en"),
    ],
)
def test_the_language_of_a_message(text, language):
    assert detect(text) == language


def parse(agent, text: str) -> dict:
    return asyncio.run(agent.parse_message(text))


def test_typos_are_corrected_before_classifying(agent):
    components = agent.processor.graph_runner._instantiated_nodes.values()
    speller = next(node._component for node in components if type(node._component).__name__ == "SpellingCorrector")
    # Words in neither the training data nor the article get the closest word that is.
    assert speller.correct("metastesis") == "metastasis"
    assert speller.correct("imunotherapy") == "immunotherapy"
    assert speller.correct("chemotharapy") == "chemotherapy"
    assert speller.correct("mets") is None  # short forms are left alone
    assert speller.correct("enzalutamide") is None  # no close word: left as written
    assert parse(agent, "wat is imunotherapy")["intent"]["name"] == "ask_other_treatments"


def test_a_spanish_question_gets_the_other_language_intent(agent):
    result = parse(agent, "¿Qué significa que el cáncer de mi mamá hizo metástasis en el hígado?")
    assert result["intent"]["name"] == "other_language"
    assert result["language"] == "es"


def test_danger_in_spanish_is_still_an_emergency_first(agent):
    result = parse(agent, "mi esposo no puede respirar y tiene los labios morados")
    assert result["intent"]["name"] == "emergency"
    assert result["safety"]["language"] == "es"


def test_two_questions_in_one_message_are_both_found(agent):
    result = parse(agent, "what is lymph exactly and how does cancer use it to travel around the body")
    assert result["questions"] == ["ask_what_is_lymph", "ask_how_cancer_spreads"]
    assert result["intent"]["name"] == "ask_what_is_lymph"


def test_the_question_after_a_story_is_what_is_answered(agent):
    story = (
        "My mother was diagnosed with breast cancer in 2019 and had surgery and radiation. "
        "This spring the doctors found spots in her spine and her hip. "
        "Why do they still call it breast cancer if it is in her bones?"
    )
    assert parse(agent, story)["intent"]["name"] == "ask_naming"


def test_a_safety_level_wins_alone_so_the_fallback_cannot_call_it_ambiguous():
    from rasa.shared.nlu.training_data.message import Message

    from bot.rasa.components import SafetyIntentOverride

    message = Message(data={"text": "x"})
    message.set(
        "intent_ranking", [{"name": "emergency", "confidence": 0.97}, {"name": "ask_coping", "confidence": 0.02}]
    )
    SafetyIntentOverride._promote(message, "urgent")
    ranking = message.get("intent_ranking")
    assert ranking[0] == {"name": "urgent", "confidence": 1.0}
    assert [r["name"] for r in ranking[1:]] == ["ask_coping"]  # 0.98 ahead of the next: not ambiguous
