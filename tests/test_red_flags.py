"""The red-flag catalogue is complete, sourced and consistent with the replies (issue 10)."""

import pytest
import yaml

from bot import messages
from bot.safety.catalogue import CATALOGUE_PATH, LEVELS, parse

RAW = yaml.safe_load(CATALOGUE_PATH.read_text(encoding="utf-8"))
CATALOGUE = parse(RAW)

# What an oncology triage nurse must never miss (issue 10's list), by flag id.
REQUIRED = {
    "spinal_cord_compression": "emergency",
    "sepsis": "emergency",
    "neutropenic_fever": "urgent",
    "hypercalcaemia": "urgent",
    "svco": "emergency",
    "pulmonary_embolism": "emergency",
    "dvt": "urgent",
    "heavy_bleeding": "emergency",
    "seizure": "emergency",
    "stroke": "emergency",
    "raised_brain_pressure": "emergency",
    "anaphylaxis": "emergency",
    "opioid_toxicity": "emergency",
    "bowel_obstruction": "urgent",
    "uncontrolled_pain": "urgent",
    "head_injury_anticoagulant": "emergency",
    "chest_pain": "emergency",
    "breathlessness": "emergency",
    "suicidal_thoughts": "crisis",
    "someone_else_suicidal": "crisis",
}


def test_every_required_red_flag_is_there_at_its_level():
    levels = {flag.id: flag.level for flag in CATALOGUE.red_flags}
    assert {flag: levels.get(flag) for flag in REQUIRED} == REQUIRED


def test_every_red_flag_names_a_source_with_a_title_and_address():
    for flag in CATALOGUE.red_flags:
        assert flag.sources, flag.id
        for source in flag.sources:
            entry = CATALOGUE.sources[source]
            assert entry["title"] and entry["publisher"] and entry["url"].startswith("https://"), source


def test_every_red_flag_has_english_and_spanish_words():
    for entry in RAW["red_flags"]:
        assert entry.get("en") and entry.get("es"), entry["id"]


def test_every_level_has_a_reply_in_both_languages():
    for level in LEVELS:
        for language in ("en", "es"):
            reply = messages.safety_reply(level, language=language)
            assert reply and "{" not in reply
            assert messages.safety_calls(level, language)


def test_replies_say_what_to_do_without_naming_a_diagnosis():
    for reply in (messages.safety_reply("emergency"), messages.safety_reply("urgent")):
        assert reply.startswith("What you describe needs a doctor now.")
    diagnoses = (
        "sepsis",
        "stroke",
        "seizure",
        "embolism",
        "clot",
        "compression",
        "anaphylaxis",
        "overdose",
        "obstruction",
        "calcium",
        "infection",
        "heart attack",
        "derrame",
        "infarto",
        "convulsi",
    )
    for reply in messages.SAFETY_REPLIES.values():
        assert not [word for word in diagnoses if word in reply.lower()], reply


@pytest.mark.parametrize(
    "broken, error",
    [
        ({"level": "soon"}, "level must be one of"),
        ({"sources": ["a-blog"]}, "unknown sources"),
        ({"en": ["{no_such_group} pain"]}, "unknown group"),
        ({"en": ["temp <no_such_pattern>"]}, "unknown pattern"),
    ],
)
def test_a_broken_catalogue_is_refused_with_a_reason(broken, error):
    """A typo in a red flag stops the load with what is wrong, instead of silently matching less."""
    raw = yaml.safe_load(CATALOGUE_PATH.read_text(encoding="utf-8"))
    raw["red_flags"][0].update(broken)
    with pytest.raises(ValueError, match=error):
        parse(raw)


def test_the_languages_section_is_required_in_both_languages():
    raw = yaml.safe_load(CATALOGUE_PATH.read_text(encoding="utf-8"))
    del raw["languages"]["es"]
    with pytest.raises(ValueError, match="languages.es"):
        parse(raw)


def test_an_edited_safety_pattern_rebuilds_the_nlp_pipeline(tmp_path, monkeypatch):
    """The pipeline's up-to-date check (and so `make run`/`make test`) sees a phrase added to the patterns."""
    from bot.nlp.pipeline import vocabulary_fingerprint
    from bot.safety import catalogue

    before = vocabulary_fingerprint()
    edited = tmp_path / "safety_patterns.yml"
    edited.write_text(CATALOGUE_PATH.read_text(encoding="utf-8").replace('"keep tripping"', '"keeps falling over"'))
    monkeypatch.setattr(catalogue, "CATALOGUE_PATH", edited)
    assert vocabulary_fingerprint() != before
