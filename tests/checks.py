"""Checks of what a patient would notice in a reply, shared by the tests that use them
and by tests/test_assertions.py, which proves that each one fails on a broken reply.

Every reply names the care team and its phone number, the safe failure replies too
(messages.SERVICE_TROUBLE, messages.SMS_TROUBLE), so "the phone number is in the
reply" or "'care team' is in the reply" passes whether or not the question was
answered. These checks look for words only the right reply has: the article's own
sentence for the question, or the fixed wording of that kind of reply.
"""

from __future__ import annotations

from bot import messages

# The article's words (bot/knowledge/content) that start the answer to each question.
ANSWERS = {
    "what_is_lymph": "Lymph is a clear fluid",
    "what_is_metastatic_cancer": "A metastatic cancer, or metastatic tumor",
    "how_cancer_spreads": "Cancer spreads when cancer cells travel through blood or lymph.",
}
# What an SMS "MORE" after "tell me about clinical trials" brings: the rest of that answer
# (no apostrophe: the article's is curly, the SMS text's straight).
CLINICAL_TRIALS_REST = "no guarantee that a clinical trial will benefit you"
# The fallback's own wording (messages.NOT_UNDERSTOOD): not the failure reply, not an answer.
NOT_UNDERSTOOD = "I'm not sure I understood. I can only answer general questions"
# Words the article does not contain: naming them would fill a gap it leaves open.
NOT_IN_ARTICLE = [
    "CA-125",
    "CA 125",
    "PSA",
    "CEA",
    "AFP",
    "CT scan",
    "PET",
    "MRI",
    "X-ray",
    "ultrasound",
    "bone scan",
    "prostate",
    "colon",
    "melanoma",
]


def broken_replies() -> list[str]:
    """What a patient gets when something fails, and replies with nothing but the care team in them."""
    return [
        messages.fill(messages.SERVICE_TROUBLE),
        messages.fill(messages.SMS_TROUBLE),
        messages.fill(messages.NO_ANSWER),
        messages.disclaimer(),
        messages.fill(messages.SMS_DISCLAIMER),
        "",
    ]


def assert_says(reply: str, words: str) -> None:
    """`words` are in the reply (never empty words, which every reply would contain)."""
    assert words.strip(), "a check needs the words the patient should see"
    assert words in reply, f"expected {words!r} in the reply: {reply!r}"


def assert_answers(reply: str, topic: str) -> None:
    """The reply carries the article's answer to `topic`, not only the care-team contact every reply has."""
    assert_says(reply, ANSWERS[topic])
