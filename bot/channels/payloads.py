"""Which `/intent{...}` messages a conversation may send: only the buttons the bot offered it.

Rasa takes a message that starts with "/" as an intent with entities and skips
NLU for it: safety detection, entity checks and all. So a channel hands Rasa
such a message only when it is exactly a payload of a button the bot showed in
this conversation (remembered per conversation for OFFER_SECONDS) and its
entity values are words of the vocabulary. The one exception is "/greet", which
the widget sends when a chat opens (no entities, no patient text). Anything else
that starts with "/" is the patient's text: it goes to NLU without the slashes.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable
from typing import Any

from bot.knowledge import catalogue
from bot.nlp.vocabulary import VOCABULARY
from bot.state import State, Unavailable, shared_state

log = logging.getLogger(__name__)
OFFER_SECONDS = 24 * 3600
MAX_OFFERED = 60  # the latest buttons of a conversation; older ones are forgotten
OPENING = "/greet"  # the widget's first message
_PAYLOAD = re.compile(r"/(?P<intent>[a-z][a-z0-9_]{0,63})(?P<entities>\{.{0,200}\})?", re.DOTALL)


def well_formed(payload: str) -> bool:
    """An intent name and, optionally, a JSON object of known entities with vocabulary values."""
    match = _PAYLOAD.fullmatch(payload)
    if match is None:
        return False
    if not match.group("entities"):
        return True
    try:
        entities = json.loads(match.group("entities"))
    except ValueError:
        return False
    return isinstance(entities, dict) and all(known_value(name, value) for name, value in entities.items())


def known_value(entity: str, value: object) -> bool:
    """A vocabulary word for its entity, or a topic name (the 👍 / 👎 payloads name their answer)."""
    if entity == "topic":
        return catalogue.is_topic(value, with_site=False)
    return entity in VOCABULARY and isinstance(value, str) and value in VOCABULARY[entity]


def offered_in(bot_messages: Iterable[dict[str, Any]]) -> list[str]:
    """The payloads of the buttons in these bot messages, and of the 👍 / 👎 on their answers."""
    controls = [
        c
        for m in bot_messages
        for c in [*(m.get("buttons") or []), *((m.get("custom") or {}).get("feedback") or [])]
        if isinstance(c, dict)
    ]
    return [str(c["payload"]) for c in controls if str(c.get("payload", "")).startswith("/")]


class Offers:
    """The payloads offered to each conversation, in `bot.state` (Redis across replicas)."""

    def __init__(self, state: State | None = None) -> None:
        self._state = state

    @property
    def state(self) -> State:
        return self._state or shared_state()

    async def remember(self, conversation_id: str, bot_messages: list[dict[str, Any]]) -> None:
        new = offered_in(bot_messages)
        if not new:
            return
        try:
            known = await self._known(conversation_id)
            kept = [p for p in known if p not in new] + new
            await self.state.set(f"offers:{conversation_id}", json.dumps(kept[-MAX_OFFERED:]), OFFER_SECONDS)
        except Unavailable as failure:
            log.warning("Button memory unavailable; button presses are read as text: %s", failure)

    async def user_text(self, conversation_id: str, text: str) -> str:
        """What Rasa gets for `text`: an offered, well-formed payload as is; else text without leading slashes."""
        if not text.startswith("/") or text == OPENING:
            return text
        try:
            known = await self._known(conversation_id)
        except Unavailable as failure:
            log.warning("Button memory unavailable: %s", failure)
            known = []
        if text in known and well_formed(text):
            return text
        return text.lstrip("/").strip()

    async def _known(self, conversation_id: str) -> list[str]:
        saved = await self.state.get(f"offers:{conversation_id}")
        try:
            known = json.loads(saved or "[]")
        except ValueError:
            return []
        return [p for p in known if isinstance(p, str)] if isinstance(known, list) else []
