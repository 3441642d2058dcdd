"""Every path through a conversation names the care team, against the running bot."""

import pytest

from bot import messages
from bot.settings import load_settings

PHONE = load_settings().care_team_phone


@pytest.mark.parametrize(
    "path, message, expected",
    [
        ("answer", "what is metastatic cancer", "A metastatic cancer, or metastatic tumor"),
        ("fallback", "qwzx plmkj vvvv", "not sure I understood"),
        ("out of scope", "what's the weather like tomorrow", "can't help with that"),
        ("personal advice", "how much morphine can i take", "can't give advice about one person's case"),
        ("facing the end", "how long does my dad have left", "No article can say how long one person will live"),
        ("hand-off", "can i talk to a real nurse", "talk to a person"),
        ("emergency", "my husband collapsed and isn't breathing", "Call 911 now"),
        ("crisis", "i want to end my life", "988"),
    ],
)
def test_every_path_names_the_care_team(servers, path, message, expected):
    reply = "\n".join(r["text"] for r in servers.say(f"path-{path}", message) if r.get("text"))
    assert expected in reply, path
    assert PHONE in reply, path


def test_two_misses_in_a_row_give_the_care_team(servers):
    first = servers.say("path-two-misses", "zxqv blorp snarf")
    second = servers.say("path-two-misses", "wibble frotz quux")
    assert "not sure I understood" in first[0]["text"]
    assert second[0]["text"] == messages.fill(messages.SECOND_MISS)
    assert PHONE in second[0]["text"]
