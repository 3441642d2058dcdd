"""The spaCy pipeline Rasa loads finds what patients name, as the knowledge base keys it."""

import pytest
import spacy

from bot.nlp.pipeline import PIPELINE_DIR, build_pipeline, write_pipeline
from bot.nlp.vocabulary import BODY_SITE


@pytest.fixture(scope="module")
def nlp(tmp_path_factory):
    # Saved and loaded back the way Rasa's SpacyNLP loads it.
    path = tmp_path_factory.mktemp("nlp") / "en_metastatic"
    build_pipeline().to_disk(path)
    return spacy.load(path)


def entities(nlp, text):
    return [(ent.label_, ent.ent_id_) for ent in nlp(text).ents]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("does it hurt when it spreads to the liver", [("body_site", "liver")]),
        ("my mom's cancer is in her LUNGS now", [("person", "mother"), ("body_site", "lungs")]),
        ("I'm a mom and my cancer spread", []),  # "my"/"our" + a person: not the writer
        ("mets in the lymph glands?", [("body_site", "lymph nodes")]),
        ("what about the lymph nodes", [("body_site", "lymph nodes")]),
        ("cancer in the spine", [("body_site", "bones")]),
        ("spread to his skeleton", [("body_site", "bones")]),
        ("bone mets", [("body_site", "bones")]),
        ("brain", [("body_site", "brain")]),
        ("breast cancer with bone metastasis", [("cancer_type", "breast cancer"), ("body_site", "bones")]),
        ("where does lung cancer spread", [("cancer_type", "lung cancer")]),
        ("is chemo or hormone therapy better", [("treatment", "chemotherapy"), ("treatment", "hormone therapy")]),
        ("radiotherapy and surgery", [("treatment", "radiation therapy"), ("treatment", "surgery")]),
        ("jaundice and abdominal swelling", [("symptom", "jaundice"), ("symptom", "abdominal swelling")]),
        ("headaches and dizziness", [("symptom", "headaches"), ("symptom", "dizziness")]),
        ("what is metastatic cancer", []),
    ],
)
def test_entities(nlp, text, expected):
    assert entities(nlp, text) == expected


def test_every_site_variant_maps_to_its_site(nlp):
    for site, variants in BODY_SITE.items():
        for variant in variants:
            assert entities(nlp, f"symptoms in the {variant}") == [("body_site", site)], variant


def test_pipeline_is_blank_english_plus_patterns(nlp):
    assert nlp.lang == "en"
    assert nlp.pipe_names == ["entity_ruler", "sentencizer", "language_detector", "safety_matcher"]


def test_written_pipeline_is_what_rasa_loads():
    path = write_pipeline()
    assert path == PIPELINE_DIR
    assert spacy.load(path)("liver").ents[0].ent_id_ == "liver"
