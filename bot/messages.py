"""Every piece of patient-facing wording that is not article text, in one place.

Medical content comes only from the reviewed article (through the knowledge
base). What is here is framing: greetings, the disclaimer, how to reach the care
team. What belongs to one topic (its button label, and the note said where the
article's own list is missing) is declared with the topic, in the topic catalogue
(bot/knowledge/content/topics.yml). None of it states a medical fact. Care-team contact details come from settings.
"""

from __future__ import annotations

from datetime import datetime

from bot import care_team
from bot.settings import Settings, load_settings

# Whose care team a reply speaks of. A message about someone else ("my mom", the
# `person` entity) turns "your care team" into "her care team" for the rest of the
# conversation: (their, them) for each person the vocabulary knows.
SELF = ("your", "you")
PEOPLE: dict[str, tuple[str, str]] = {
    "mother": ("her", "her"),
    "wife": ("her", "her"),
    "daughter": ("her", "her"),
    "sister": ("her", "her"),
    "grandmother": ("her", "her"),
    "aunt": ("her", "her"),
    "father": ("his", "him"),
    "husband": ("his", "him"),
    "son": ("his", "him"),
    "brother": ("his", "him"),
    "grandfather": ("his", "him"),
    "uncle": ("his", "him"),
    "partner": ("their", "them"),
    "friend": ("their", "them"),
    "child": ("their", "them"),
}


def pronouns(person: str | None) -> tuple[str, str]:
    return PEOPLE.get(person or "", SELF)


def care_team_contact(settings: Settings | None = None, person: str | None = None) -> str:
    settings = settings or load_settings()
    hours = f" ({opening_hours(settings)})" if settings.care_team_hours else ""
    return f"call {pronouns(person)[0]} care team at {settings.care_team_phone}{hours}"


def _hours(settings: Settings) -> care_team.Hours | None:
    """The care team's hours, or None when unset or malformed (refused at start-up by
    bot/servers.py; a reply never crashes on them)."""
    try:
        return care_team.from_settings(settings)
    except ValueError:
        return None


def opening_hours(settings: Settings) -> str:
    """CARE_TEAM_HOURS in words ("Monday to Friday, 8 AM to 5 PM"), or as written if malformed."""
    hours = _hours(settings)
    return hours.describe() if hours else settings.care_team_hours


def handoff(now: datetime, settings: Settings | None = None) -> str:
    """The hand-off template: "call now" inside the care team's hours; outside them, when the
    line opens, the 24-hour number and the emergency number; without hours, the contact."""
    settings = settings or load_settings()
    hours = _hours(settings)
    if hours is None:
        return HANDOFF
    if hours.is_open(now):
        return HANDOFF_OPEN.replace("{hours}", hours.describe())
    closed = HANDOFF_CLOSED.replace("{opens}", care_team.when(hours.next_opening(now), now))
    after = settings.care_team_after_hours.replace("{", "(").replace("}", ")")
    return f"{closed} {after}".strip()


def fill(template: str, settings: Settings | None = None, person: str | None = None) -> str:
    """A template with the care-team contact, the emergency number and, for a message about
    someone else, their pronouns ({their}, {Their}, {them}) filled in."""
    settings = settings or load_settings()
    their, them = pronouns(person)
    return template.format(
        contact=care_team_contact(settings, person),
        emergency=settings.emergency_number,
        phone=settings.care_team_phone,
        urgent_phone=settings.care_team_urgent_phone,
        their=their,
        Their=their.capitalize(),
        them=them,
    )


def disclaimer(settings: Settings | None = None, person: str | None = None) -> str:
    return fill(DISCLAIMER, settings, person)


DISCLAIMER = (
    "This is general information, not medical advice. {Their} care team can tell you what it means for {them}: "
    "{contact}."
)


def source_line(title: str, updated: str, reviewer: str) -> str:
    return f"From: {title}, updated {updated}. Medically reviewed by {reviewer}."


# Topics offered when someone asks what the assistant can do, or is not understood.
STARTER_TOPICS = ("what_is_metastatic_cancer", "general_symptoms", "treatment_goals", "coping")

GREET = (
    "Hello. I can answer questions about metastatic cancer (cancer that has spread). "
    "My answers come from an article that doctors have checked. I can't advise on your own "
    "case, but I can help you get ready to talk with your care team. What would you like to know?"
)
THANK = "You're welcome. Is there anything else you'd like to know?"
GOODBYE = "Take care. If anything worries you, {contact}."
BOT_CHALLENGE = (
    "I'm a computer program, not a person. My answers come from an article about metastatic "
    "cancer that doctors have checked. To talk to a person, {contact}."
)
CAPABILITIES = (
    "I can tell you what metastatic cancer is and how cancer spreads. I can tell you how it is "
    "found, its signs, how it is treated, and ways to cope and find help. It all comes from an "
    "article that doctors have checked. I can't give advice about your own case: for that, {contact}."
)
NOT_UNDERSTOOD = (
    "I'm sorry, I'm not sure I understood. I can only answer general questions about "
    "metastatic cancer. You can pick a topic below, or {contact}."
)
NO_ANSWER = "I'm sorry, I can't answer that right now. Please {contact}."
# 👍 / 👎 on each answer (the widget shows them on the bubble; SMS has none).
FEEDBACK_HELPFUL = ("👍", "This helped")
FEEDBACK_UNHELPFUL = ("👎", "This did not help")
FEEDBACK_THANKS = "Thank you for telling me."
FEEDBACK_SORRY = "Thank you for telling me. I'm sorry it didn't help. {Their} care team can help: {contact}."
MORE_WHAT = "What would you like to know more about? You can also {contact}."
START_OVER = "Let's start over. What would you like to know? You can also {contact}."
CLARIFY = "I'm not sure I understood. Did you mean one of these? You can also {contact}."
SOMETHING_ELSE = "Something else"
# After answering the first of two questions when the second was not clear.
ALSO_ASKED = "You also asked something else. Was it one of these?"
SECOND_MISS = "I'm sorry, I couldn't find an answer to that. The best people to ask are {their} care team: {contact}."

# One short sentence before the answer when a message carries bad news, fear, grief or
# exhaustion (the `feeling` bot/nlp/feelings.py reads). At most once every few turns,
# never before a safety reply, never instead of an answer.
ACKNOWLEDGEMENTS: dict[str, str] = {
    "bad_news": "I'm sorry you got this news. It is a lot to take in.",
    "fear": "It makes sense to feel scared. You are not alone in this.",
    "grief": "I'm so sorry. This is very hard.",
    "exhaustion": "Caring for someone is hard work. It's OK to feel worn out.",
    "facing_the_end": "I'm so sorry you are facing this.",
}

# Safety and routing. The emergency, urgent and crisis replies come first and alone,
# and never name a diagnosis: they say that what was described needs help now.
EMERGENCY = (
    "What you describe needs a doctor now. Call {emergency} now, or go to the nearest emergency room. "
    "Don't wait for a reply from me. When you are safe, {contact}."
)
URGENT = (
    "What you describe needs a doctor now. Call your care team's 24-hour line now: {urgent_phone}. "
    "If you can't reach them, go to the nearest emergency room. If it gets worse, call {emergency}."
)
CRISIS = (
    "I'm so sorry you're going through this, and I'm glad you reached out. You don't have to face "
    "it alone. Please call or text 988 now to reach the 988 Suicide & Crisis Lifeline, any time, "
    "day or night. If you are in danger right now, call {emergency}. Your care team wants to know "
    "how you are feeling too: {contact}."
)
# When someone else (a parent, a partner) has said they want to die: how to help them.
CRISIS_OTHER = (
    "I'm so sorry. When someone says they want to die or to hurt themselves, take it seriously. "
    "Call or text 988, the 988 Suicide & Crisis Lifeline, any time: 988 is for them too, and for you. "
    "Stay with them if you can, and move pills and weapons away from them. If they are in danger "
    "right now, call {emergency}. Their care team should know too: {contact}."
)
# Spanish. The care-team lines answer in English: the replies say to ask for an interpreter.
INTERPRETER = "{phone} (la línea es en inglés; pida un intérprete)"
EMERGENCY_ES = (
    "Lo que describe necesita un médico ahora. Llame al {emergency} ahora o vaya a la sala de "
    "emergencias más cercana. No espere mi respuesta. Cuando esté a salvo, llame a su equipo de "
    "atención: " + INTERPRETER + "."
)
URGENT_ES = (
    "Lo que describe necesita un médico ahora. Llame ahora a la línea de 24 horas de su equipo de "
    "atención: " + INTERPRETER.replace("{phone}", "{urgent_phone}") + ". Si no puede comunicarse, vaya "
    "a la sala de emergencias más cercana. Si empeora, llame al {emergency}."
)
CRISIS_ES = (
    "Siento mucho que esté pasando por esto, y me alegra que me lo haya escrito. No está solo. "
    "Llame al 988 y oprima 2 para español, o envíe AYUDA por mensaje de texto al 988, a cualquier "
    "hora. Si está en peligro ahora, llame al {emergency}. Su equipo de atención también quiere "
    "saber cómo se siente: " + INTERPRETER + "."
)
CRISIS_OTHER_ES = (
    "Lo siento mucho. Cuando alguien dice que quiere morir o hacerse daño, hay que tomarlo en serio. "
    "Llame al 988 y oprima 2 para español, a cualquier hora: el 988 también es para esa persona, y "
    "para usted. Quédese a su lado si puede y aleje las pastillas y las armas. Si está en peligro "
    "ahora, llame al {emergency}. Su equipo de atención también debe saberlo: " + INTERPRETER + "."
)
# (level, about, language) -> template; `about` is "other" when someone else is in crisis.
SAFETY_REPLIES: dict[tuple[str, str, str], str] = {
    ("emergency", "self", "en"): EMERGENCY,
    ("urgent", "self", "en"): URGENT,
    ("crisis", "self", "en"): CRISIS,
    ("crisis", "other", "en"): CRISIS_OTHER,
    ("emergency", "self", "es"): EMERGENCY_ES,
    ("urgent", "self", "es"): URGENT_ES,
    ("crisis", "self", "es"): CRISIS_ES,
    ("crisis", "other", "es"): CRISIS_OTHER_ES,
}
# One-tap links shown under a safety reply in the widget: (label, href) with {placeholders}.
SAFETY_CALLS: dict[tuple[str, str], tuple[tuple[str, str], ...]] = {
    ("emergency", "en"): (("Call {emergency}", "tel:{emergency}"),),
    ("urgent", "en"): (("Call the 24-hour line", "tel:{urgent_phone}"), ("Call {emergency}", "tel:{emergency}")),
    ("crisis", "en"): (("Call 988", "tel:988"), ("Text 988", "sms:988"), ("Call {emergency}", "tel:{emergency}")),
    ("emergency", "es"): (("Llamar al {emergency}", "tel:{emergency}"),),
    ("urgent", "es"): (
        ("Llamar a la línea de 24 horas", "tel:{urgent_phone}"),
        ("Llamar al {emergency}", "tel:{emergency}"),
    ),
    ("crisis", "es"): (
        ("Llamar al 988", "tel:988"),
        ("Texto al 988", "sms:988"),
        ("Llamar al {emergency}", "tel:{emergency}"),
    ),
}


def safety_reply(level: str, about: str = "self", language: str = "en") -> str:
    """The fixed reply for a safety level, in the message's language, about the writer or another."""
    language = language if language == "es" else "en"
    about = about if level == "crisis" and about == "other" else "self"
    return fill(SAFETY_REPLIES[(level, about, language)])


def safety_calls(level: str, language: str = "en") -> list[dict[str, str]]:
    """The widget's one-tap links for a safety reply: digits only in the href."""
    calls = SAFETY_CALLS[(level, language if language == "es" else "en")]
    found = []
    for label, href in calls:
        scheme, _, number = fill(href).partition(":")
        found.append(
            {"label": fill(label), "href": f"{scheme}:" + "".join(c for c in number if c.isdigit() or c == "+")}
        )
    return found


PERSONAL_ADVICE = (
    "I can't give advice about one person's case. Doses, medicines, test results and what will "
    "happen next are questions for {their} care team, because they know {their} history. "
    "Please {contact}. Here is what the article says in general:"
)
# "Is this the end?", "how long does she have": kindly, never a number, and where to talk about it.
FACING_THE_END = (
    "That is one of the hardest things to ask. No article can say how long one person will live. "
    "{Their} care team knows {their} case and can talk with you about what lies ahead. A palliative "
    "care team can help with that too. Please {contact}. Here is what the article says about living "
    "with metastatic cancer and about palliative care:"
)
FACING_THE_END_TOPICS = ("living_long", "palliative_care", "coping")
HANDOFF = "You can talk to a person on the care team: {contact}."
HANDOFF_OPEN = "You can talk to a person on {their} care team now. Call {phone}. The line is open {hours}."
HANDOFF_CLOSED = (
    "The care team's line is closed now. It opens {opens}: call {phone} then. For an urgent problem "
    "before then, call the 24-hour line: {urgent_phone}. In an emergency, call {emergency}."
)
OUT_OF_SCOPE = (
    "I can only answer questions about metastatic cancer from a medically reviewed article, so I "
    "can't help with that. For anything else, {contact}. Here are some things I can help with:"
)
PERSONAL_ADVICE_TOPICS = ("questions_for_care_team", "treatment_goals", "living_long")

# A message in another language. The article is never machine-translated: the
# reply says so in that language where we have wording, and how to get help.
OTHER_LANGUAGE: dict[str, str] = {
    "es": (
        "Lo siento, solo puedo responder en inglés, con un artículo revisado por médicos sobre el "
        "cáncer metastásico. Para preguntar en español, llame a su equipo de atención: "
        + INTERPRETER
        + ". En una emergencia, llame al {emergency}. "
        "(I can only answer in English.)"
    ),
    "en": (
        "I'm sorry, I can only answer in English, from an article about metastatic cancer that "
        "doctors have checked. Your care team can help in your language with an interpreter: "
        "{phone}. In an emergency, call {emergency}."
    ),
}


def other_language_reply(language: str) -> str:
    """The fixed reply to a message in another language, in that language where we have it."""
    return fill(OTHER_LANGUAGE.get(language, OTHER_LANGUAGE["en"]))


# SUMMARY (SMS): the topics asked in this conversation, one line each.
SUMMARY_INTRO = "You asked about:"
SUMMARY_END = "Take these to your care team: {phone}."
SUMMARY_EMPTY = "You haven't asked about a topic yet. Text a question any time. Care team: {phone}."
SUMMARY_MOST = 8  # topics listed (the latest): three text segments at most

# Website widget.
WIDGET_DISCLAIMER = "General information, not medical advice."
WIDGET_OFFLINE = (
    "I can't reach the assistant right now; I'll keep trying. If you need help, {contact}. "
    "In an emergency, call {emergency}."
)

# Text messages (SMS). Short: every character counts against three segments.
SMS_PROGRAM = "Metastatic Cancer Questions"
SMS_DISCLAIMER = "This is general info, not advice for you. Care team: {phone}."
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
