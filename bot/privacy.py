"""Scrub personal contact details out of text before it is stored."""

import re

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# Seven or more digits, allowing spaces, dots, dashes, parentheses and a leading +.
_PHONE = re.compile(r"\+?\(?\d(?:[\s().-]*\d){6,}")


def scrub(text: str) -> str:
    """`text` with e-mail addresses and phone numbers replaced by placeholders."""
    return _PHONE.sub("[phone]", _EMAIL.sub("[email]", text))
