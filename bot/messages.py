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


def fill(template: str, settings: Settings | None = None) -> str:
    """A template with the care-team contact and emergency number filled in."""
    settings = settings or load_settings()
    return template.format(
        contact=care_team_contact(settings), emergency=settings.emergency_number, phone=settings.care_team_phone
    )


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
FEEDBACK_PROMPT = "Was this helpful?"
FEEDBACK_YES = "Yes"
FEEDBACK_NO = "No"
FEEDBACK_THANKS = "Thank you for telling me."
FEEDBACK_SORRY = "Thank you for telling me. I'm sorry it didn't help. Your care team can help: {contact}."
MORE_WHAT = "What would you like to know more about? You can also {contact}."
START_OVER = "Let's start over. What would you like to know? You can also {contact}."
CLARIFY = "I'm not sure I understood. Did you mean one of these? You can also {contact}."
SOMETHING_ELSE = "Something else"
SECOND_MISS = "I'm sorry, I couldn't find an answer to that. The best people to ask are your care team: {contact}."

# Safety and routing. The emergency and crisis replies come first and alone.
EMERGENCY = (
    "This sounds like an emergency. Call {emergency} now, or go to the nearest emergency room. "
    "Don't wait for a reply from me. When you are safe, {contact}."
)
CRISIS = (
    "I'm so sorry you're going through this, and I'm glad you reached out. You don't have to face "
    "it alone. Please call or text 988 now to reach the 988 Suicide & Crisis Lifeline, any time, "
    "day or night. If you are in danger right now, call {emergency}. Your care team wants to know "
    "how you are feeling too: {contact}."
)
PERSONAL_ADVICE = (
    "I can't advise on a personal situation: doses, medicines, results or what will happen to one "
    "person are questions only your care team can answer, because they know your history. "
    "Please {contact}. I can share what the article says in general:"
)
HANDOFF = "You can talk to a person on the care team: {contact}."
OUT_OF_SCOPE = (
    "I can only answer questions about metastatic cancer from a medically reviewed article, so I "
    "can't help with that. For anything else, {contact}. Here are some things I can help with:"
)
PERSONAL_ADVICE_TOPICS = ("questions_for_care_team", "treatment_goals", "living_long")

# Website widget.
WIDGET_DISCLAIMER = "General information, not medical advice."
WIDGET_OFFLINE = (
    "I can't reach the assistant right now; I'll keep trying. If you need help, {contact}. "
    "In an emergency, call {emergency}."
)

# Text messages (SMS). Short: every character counts against three segments.
SMS_PROGRAM = "Metastatic Cancer Questions"
SMS_DISCLAIMER = "General info, not medical advice. Care team: {phone}."
SMS_HELP = (
    SMS_PROGRAM + ": answers about metastatic cancer from a medically reviewed article. "
    "Care team: {phone}. Emergency: call {emergency}. Msg & data rates may apply. Reply STOP to opt out."
)
SMS_STOPPED = "You're unsubscribed from " + SMS_PROGRAM + " and won't get more messages. Reply START to resume."
SMS_STARTED = "You're subscribed to " + SMS_PROGRAM + " again. Ask a question any time. Reply STOP to opt out."
SMS_RATE_LIMITED = "You've sent a lot of messages; please wait a minute. For help now, call your care team at {phone}."
SMS_TROUBLE = (
    "If this is an emergency, call {emergency} now. I can't answer right now; please try later. Care team: {phone}."
)
SMS_EMPTY = "Please text a question about metastatic cancer. Care team: {phone}."

# Said by every channel when something behind it fails or a message is refused.
# A reply that could not be produced still says where to get help.
SERVICE_TROUBLE = (
    "If this is an emergency, call {emergency} now. I'm sorry, I'm having trouble answering right "
    "now; please try again in a few minutes. If you need help now, {contact}."
)
MESSAGE_CUT = "Your message was long, so I read only the first {limit} characters."
RATE_LIMITED = (
    "You've sent a lot of messages in a short time; please wait a minute and try again. "
    "If you need help now, {contact}. In an emergency, call {emergency}."
)
EMPTY_MESSAGE = "Please type a question about metastatic cancer. If you need help now, {contact}."
