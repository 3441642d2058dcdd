"""Turning replies into text messages: GSM-7 where possible, at most three segments.

The article's curly quotes and apostrophes are not in the GSM-7 alphabet; one of
them forces the whole message into UCS-2, which holds 67 characters a segment
instead of 153. Converting them (and bullets, dashes, ellipses) keeps answers
cheap and whole. Text is cut only between sentences. The alphabet is a table here
rather than the `gsm0338` codec: they agree on every character but ESC (which the
codec passes, and which is the extension table's prefix), and the table is 5 to 15
times faster (tests/test_limits.py checks it against the codec; docs/quality.md).
"""

from __future__ import annotations

import re

GSM7_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENDED = set("^{}\\[~]|€\f")  # each takes two septets
_REPLACEMENTS = {
    "’": "'",
    "‘": "'",
    "“": '"',
    "”": '"',
    "–": "-",
    "—": "-",
    "…": "...",
    "•": "-",
    "\u00a0": " ",
    "\u2009": " ",
    "\u200b": "",
}
SEGMENTS = 3
GSM7_SEGMENT, UCS2_SEGMENT = 153, 67  # per part of a concatenated message
MORE_HINT = "Reply MORE for the rest."


def to_gsm7(text: str) -> str:
    """`text` with typographic characters replaced by their GSM-7 equivalents."""
    for old, new in _REPLACEMENTS.items():
        text = text.replace(old, new)
    return text


def is_gsm7(text: str) -> bool:
    return all(c in GSM7_BASIC or c in GSM7_EXTENDED for c in text)


def length(text: str) -> int:
    """Length in the units a segment is counted in (septets, or UTF-16 code units)."""
    if is_gsm7(text):
        return sum(2 if c in GSM7_EXTENDED else 1 for c in text)
    return len(text.encode("utf-16-le")) // 2


def segments(text: str) -> int:
    per = GSM7_SEGMENT if is_gsm7(text) else UCS2_SEGMENT
    single = 160 if is_gsm7(text) else 70
    n = length(text)
    return 1 if n <= single else -(-n // per)


def budget(text: str) -> int:
    return SEGMENTS * (GSM7_SEGMENT if is_gsm7(text) else UCS2_SEGMENT)


def strip_markup(text: str) -> str:
    return re.sub(r"<[^>]{0,200}>", "", text)


def split_for_sms(text: str) -> tuple[str, str]:
    """(what fits in three segments, the rest for MORE), cut between sentences."""
    text = to_gsm7(strip_markup(text)).strip()
    if length(text) <= budget(text):
        return text, ""
    limit = budget(text) - length("\n" + MORE_HINT)
    parts = re.split(r"((?<=[.?!:])\s+|\n+)", text)  # sentence, separator, sentence, ...
    kept = ""
    for i in range(0, len(parts), 2):
        candidate = kept + parts[i]
        if length(candidate) > limit:
            if not kept:  # a single sentence longer than the budget: cut it between words
                cut = parts[i][: limit + 1].rsplit(" ", 1)[0]
                return f"{cut}\n{MORE_HINT}", text[len(cut) :].strip()
            return f"{kept.rstrip()}\n{MORE_HINT}", "".join(parts[i:]).strip()
        kept = candidate + (parts[i + 1] if i + 1 < len(parts) else "")
    return kept.strip(), ""
