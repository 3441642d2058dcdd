"""The knowledge base: loaded from the article, faithful to it, complete, idempotent."""

import shutil

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from actions.actions import render
from bot import messages
from bot.db import get_engine, migrate
from bot.knowledge import catalogue
from bot.knowledge.article import ARTICLE_PATH, BULLET, load_article, split_sentences
from bot.knowledge.catalogue import CatalogueError, read_catalogue
from bot.knowledge.loader import load_knowledge_base
from bot.knowledge.repository import KnowledgeBase
from bot.nlp.vocabulary import BODY_SITE
from bot.storage.knowledge import AnswerRow, AnswerSentenceRow, SectionRow
from tests.checks import NOT_IN_ARTICLE

ARTICLE_SENTENCES = {sentence for _, _, sentence in load_article().sentences()}


def all_answers(kb: KnowledgeBase, ask_intents: list[str]):
    for intent in ask_intents:
        topic = intent.removeprefix("ask_")
        sites = kb.sites(topic) or [None]
        for site in sites:
            yield kb.answer(topic, site)


def test_every_topic_has_an_answer(kb, ask_intents):
    for intent in ask_intents:
        topic = intent.removeprefix("ask_")
        assert kb.answer(topic) or kb.sites(topic), f"no answer for {intent}"


def test_every_body_site_has_a_symptoms_answer(kb):
    assert set(kb.sites("symptoms_by_site")) == set(BODY_SITE)


def test_answers_are_only_article_sentences(kb, ask_intents):
    for answer in all_answers(kb, ask_intents):
        for sentence, _ in answer.sentences:
            assert sentence in ARTICLE_SENTENCES, (answer.topic, sentence)


def test_replies_are_article_text_plus_fixed_wording_only(kb, ask_intents):
    """Every sentence a medical reply shows is the article's or a fixed, non-medical note."""
    fixed = {messages.disclaimer(), *(catalogue.gap_note(k) for k, t in catalogue.topics().items() if t.gap)}
    for answer in all_answers(kb, ask_intents):
        article_part, *notes = render(answer)["text"].split("\n\n")
        for line in article_part.splitlines():
            for sentence in split_sentences(line.removeprefix(f"{BULLET} ")):
                assert sentence in ARTICLE_SENTENCES, (answer.topic, sentence)
        assert notes[-1] == messages.disclaimer()
        assert all(note in fixed for note in notes)
        for word in NOT_IN_ARTICLE:
            assert word.lower() not in article_part.lower(), (answer.topic, word)


@pytest.mark.parametrize("topic", ["tumor_markers", "imaging_tests", "spread_by_cancer_type"])
def test_missing_lists_send_people_to_their_care_team(kb, topic):
    reply = render(kb.answer(topic))["text"]
    assert catalogue.gap_note(topic) in reply
    assert "care team" in catalogue.gap_note(topic)
    assert "Your care team" in reply


def test_each_sentence_records_its_section(kb_url):
    with Session(get_engine(kb_url), future=True) as session:
        rows = session.execute(select(AnswerSentenceRow)).scalars().all()
        assert rows
        for row in rows:
            assert row.text in row.section.text.replace(f"{BULLET} ", "")


def test_marketing_line_is_not_in_the_database(kb_url):
    with Session(get_engine(kb_url), future=True) as session:
        texts = session.execute(select(SectionRow.text)).scalars().all()
    assert texts and not any("CALL NOW" in t or "Expert cancer care" in t for t in texts)


def test_loading_twice_changes_nothing(tmp_path):
    url = f"sqlite:///{tmp_path / 'kb.db'}"
    migrate(url)
    engine = get_engine(url)
    first = load_knowledge_base(engine)
    with Session(engine, future=True) as session:
        ids = session.execute(select(AnswerRow.id).order_by(AnswerRow.id)).scalars().all()
    second = load_knowledge_base(engine)
    assert first.changed and not second.changed
    assert (first.sections, first.answers) == (second.sections, second.answers)
    with Session(engine, future=True) as session:
        assert session.execute(select(AnswerRow.id).order_by(AnswerRow.id)).scalars().all() == ids


def test_editing_the_article_updates_the_answers(tmp_path):
    article = tmp_path / "metastatic-cancer.txt"
    shutil.copy(ARTICLE_PATH, article)
    url = f"sqlite:///{tmp_path / 'kb.db'}"
    migrate(url)
    load_knowledge_base(get_engine(url), article_path=article)
    text = article.read_text()
    article.write_text(text.replace("Lymph is a clear fluid", "Lymph is a colourless fluid"))
    with pytest.raises(CatalogueError):  # the quote no longer matches: refuse, keep the old answers
        load_knowledge_base(get_engine(url), article_path=article)
    assert "clear fluid" in KnowledgeBase(url).answer("what_is_lymph").text
    article.write_text(text.replace("• Fatigue", "• Tiredness"))
    assert load_knowledge_base(get_engine(url), article_path=article).changed
    general = KnowledgeBase(url).answer("general_symptoms").text
    assert "• Tiredness" in general and "Fatigue" not in general
    with Session(get_engine(url), future=True) as session:
        answers = list(catalogue.answer_entries(read_catalogue()[0]))
        assert session.execute(select(func.count(AnswerRow.id))).scalar_one() == len(answers)
