"""Every piece of patient-facing wording that is not article text, in one place.

Medical content comes only from the reviewed article (through the knowledge
base). What is here is framing: greetings, the disclaimer, how to reach the care
team, button labels, and the notes said where the article's own list is missing.
None of it states a medical fact. Care-team contact details come from settings.
"""

from __future__ import annotations

from bot.settings import Settings, load_settings


def care_team_contact(settings: Settings | None = None) -> str:
    settings = settings or load_settings()
    hours = f" ({settings.care_team_hours})" if settings.care_team_hours else ""
    return f"call your care team at {settings.care_team_phone}{hours}"


def disclaimer(settings: Settings | None = None) -> str:
    return (
        "This is general information, not medical advice. Your care team can tell you "
        f"what it means for you: {care_team_contact(settings)}."
    )


def source_line(title: str, updated: str, reviewer: str) -> str:
    return f"From: {title}, updated {updated}. Medically reviewed by {reviewer}."


# Said after the article's sentences where the article announces a list it does not give.
GAP_NOTES: dict[str, str] = {
    "tumor_markers": (
        "The article I answer from does not list which tumor markers are used. "
        "Your care team can tell you which tests apply to you."
    ),
    "imaging_tests": (
        "The article I answer from does not list which imaging tests are used. "
        "Your care team can tell you which scans apply to you."
    ),
    "spread_by_cancer_type": (
        "The article I answer from does not say where each type of cancer tends to spread. "
        "Your care team can tell you what applies to your cancer."
    ),
    "lymph_node_symptoms": (
        "The article I answer from does not describe symptoms specific to the lymph nodes. "
        "Your care team can tell you what to look out for."
    ),
}

# Button labels for follow-up questions, keyed by topic or "topic/site".
TOPIC_LABELS: dict[str, str] = {
    "what_is_metastasis": "What is metastasis?",
    "what_is_metastatic_cancer": "What is metastatic cancer?",
    "meaning_metastasized": "What does “metastasized” mean?",
    "stage_4": "Is it the same as stage 4?",
    "how_cancer_spreads": "How does cancer spread?",
    "what_is_lymph": "What is lymph?",
    "how_cells_break_off": "How do cells break off?",
    "secondary_tumors": "What is a secondary tumor?",
    "regional_vs_distant": "Regional or distant?",
    "steps_of_metastasis": "What are the steps of metastasis?",
    "cells_survival": "Do all the cells survive?",
    "advanced_vs_locally_advanced": "Advanced, locally advanced, metastatic",
    "common_sites": "Where does cancer spread?",
    "naming": "Why keep the original name?",
    "unknown_primary": "Cancer of unknown primary",
    "diagnosis": "How is it diagnosed?",
    "blood_tests": "Blood tests",
    "tumor_markers": "Tumor markers",
    "imaging_tests": "Imaging tests",
    "spread_after_treatment": "Spread after treatment",
    "spread_by_cancer_type": "Where each type spreads",
    "general_symptoms": "Symptoms",
    "no_symptoms": "Can there be no symptoms?",
    "symptoms_by_site": "Symptoms by where it spread",
    "symptoms_by_site/bones": "Symptoms in the bones",
    "symptoms_by_site/brain": "Symptoms in the brain",
    "symptoms_by_site/lungs": "Symptoms in the lungs",
    "symptoms_by_site/liver": "Symptoms in the liver",
    "symptoms_by_site/lymph nodes": "Symptoms in the lymph nodes",
    "treatment_goals": "What does treatment aim to do?",
    "systemic_therapy": "Chemotherapy and hormone therapy",
    "other_treatments": "Other treatments",
    "clinical_trials": "Clinical trials",
    "palliative_care": "Palliative care",
    "treatment_stops_working": "If treatment stops working",
    "no_treatment": "Choosing not to have treatment",
    "living_long": "Living with it for a long time",
    "coping": "Coping",
    "support": "Finding support",
    "questions_for_care_team": "Questions to ask my care team",
}

# Topics offered when someone asks what the assistant can do, or is not understood.
STARTER_TOPICS = ("what_is_metastatic_cancer", "general_symptoms", "treatment_goals", "coping")

GREET = (
    "Hello. I can answer questions about metastatic cancer (cancer that has spread) "
    "from a medically reviewed article. I can't advise on your own situation, but I can "
    "help you prepare for talking with your care team. What would you like to know?"
)
THANK = "You're welcome. Is there anything else you'd like to know?"
GOODBYE = "Take care. If anything worries you, {contact}."
BOT_CHALLENGE = (
    "I'm an automated assistant, not a person. My answers come from a medically "
    "reviewed article about metastatic cancer. To talk to a person, {contact}."
)
CAPABILITIES = (
    "I can explain what metastatic cancer is, how cancer spreads, how it is diagnosed, "
    "its symptoms, its treatment, and coping and support, using a medically reviewed "
    "article. I can't give advice about your own situation: for that, {contact}."
)
NOT_UNDERSTOOD = (
    "I'm sorry, I'm not sure I understood. I can only answer general questions about "
    "metastatic cancer. You can pick a topic below, or {contact}."
)
NO_ANSWER = "I'm sorry, I can't answer that right now. Please {contact}."
SITE_PROMPT = "Where has the cancer spread? Pick one to see what the article says about it."
