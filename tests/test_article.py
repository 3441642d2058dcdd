"""The project's copy of the article: the page as received, split into its sections."""

import hashlib

import yaml

from bot.knowledge.article import ARTICLE_PATH, load_article, normalise_space
from tests.conftest import ROOT

SHARED_ARTICLE = ROOT.parent / "shared" / "article" / "metastatic-cancer.txt"


def _front_matter_and_body() -> tuple[dict, str]:
    raw = ARTICLE_PATH.read_text(encoding="utf-8")
    header, body = raw[4:].split("\n---\n", 1)
    return yaml.safe_load(header), body


def test_body_is_the_page_as_received():
    meta, body = _front_matter_and_body()
    assert hashlib.sha256(body.encode("utf-8")).hexdigest() == meta["received_sha256"]
    if SHARED_ARTICLE.exists():  # the shared folder sits beside the checkout on dev machines
        assert SHARED_ARTICLE.read_text(encoding="utf-8") == body


def test_metadata_matches_the_page():
    article = load_article()
    _, body = _front_matter_and_body()
    assert article.title == "Metastatic cancer"
    assert article.reviewer.startswith("Maurie Markman, MD")
    assert f"This page was updated on {article.updated:%B} {article.updated.day}, {article.updated.year}." in body
    assert article.reviewer in body


def test_sections_in_page_order():
    headings = [s.heading for s in load_article().sections]
    assert headings == [
        "Introduction",
        "What is metastatic cancer?",
        "How does cancer spread?",
        "What are the steps of metastasis?",
        "Diagnosing metastatic cancer",
        "Symptoms of metastatic cancer",
        "Treatment for metastatic cancer",
        "Coping with metastatic cancer",
    ]


def test_every_sentence_is_in_the_page_word_for_word():
    _, body = _front_matter_and_body()
    flat = normalise_space(body)
    sentences = load_article().sentences()
    assert len(sentences) > 90
    for _, _, sentence in sentences:
        assert sentence in flat


def test_page_furniture_is_not_content():
    text = "\n".join(s.text for s in load_article().sections)
    for furniture in ("CALL NOW", "855-680-1184", "Expert cancer care", "Learn more about", "This article will cover"):
        assert furniture not in text
