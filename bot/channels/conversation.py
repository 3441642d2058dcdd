"""What every channel does around one patient message, whatever the transport.

- Keep each channel's conversations in its own namespace: the conversation id is
  `<channel>:<sender>` (`web:…`, `sms:…`, `rest:…`), so no channel can reach
  another's conversations whatever sender id a client sends.
- Let Rasa read "/intent{...}" only for a button the bot offered this
  conversation (`bot.channels.payloads`); any other text goes through NLU.
- Clean the text (control characters, NUL and broken surrogates removed) and cut
  it at MAX_MESSAGE_CHARS, saying so in the reply rather than dropping it.
- Hand it to Rasa with a deadline (REPLY_TIMEOUT_SECONDS).
- If nothing came back (the action server is down, an action failed, the deadline
  passed), answer with the safe reply that names the care team and the emergency
  number: a patient is never left with silence.
- If the conversation could not be read or saved, report `unavailable` so the
  channel asks the client to retry (HTTP 503) instead of acknowledging a message
  that was not stored.
"""

from __future__ import annotations

import asyncio
import logging
import re
import unicodedata
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage

from bot import messages
from bot.channels.payloads import Offers
from bot.rasa.stores import tracker_store_failures
from bot.settings import load_settings

OFFERS = Offers()

log = logging.getLogger(__name__)
OnNewMessage = Callable[[UserMessage], Awaitable[Any]]
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


@dataclass
class Turn:
    messages: list[dict[str, Any]] = field(default_factory=list)
    unavailable: bool = False  # the conversation store failed: nothing was stored


def clean(text: str) -> str:
    """Text safe to store and log: no control characters, valid UTF-8, normalised."""
    text = text.encode("utf-8", "replace").decode("utf-8")  # lone surrogates -> "?"
    return unicodedata.normalize("NFC", _CONTROL.sub(" ", text))


def cut(text: str, limit: int) -> tuple[str, bool]:
    return (text, False) if len(text) <= limit else (text[:limit], True)


def bot_text(sender: str, text: str) -> dict[str, Any]:
    return {"recipient_id": sender, "text": text}


def conversation_id(channel: str, sender: str) -> str:
    """The id Rasa stores a conversation under: the channel's namespace, then the channel's sender."""
    return f"{channel}:{sender}"


async def converse(on_new_message: OnNewMessage, channel: str, sender: str, text: str, command: bool = False) -> Turn:
    """Run one message through Rasa; see the module docstring for what can go wrong.

    `command`: the channel itself sends an intent (SMS's SUMMARY keyword), not the patient's text.
    """
    settings = load_settings()
    conversation = conversation_id(channel, sender)
    text, was_cut = cut(clean(text).strip(), settings.max_message_chars)
    if not command:
        text = await OFFERS.user_text(conversation, text)
    if not text:  # nothing but slashes
        return Turn([bot_text(sender, messages.fill(messages.EMPTY_MESSAGE))])
    collector = CollectingOutputChannel()
    turn = Turn()
    with tracker_store_failures() as failures:
        try:
            await asyncio.wait_for(
                on_new_message(UserMessage(text, collector, conversation, input_channel=channel)),
                timeout=settings.reply_timeout_seconds,
            )
        except asyncio.TimeoutError:
            log.error("No reply within %s s on the %s channel", settings.reply_timeout_seconds, channel)
        except Exception:
            log.exception("Handling a %s message failed", channel)
    if failures:
        log.error("Conversation store unavailable (%s); asking the client to retry", failures[0])
        turn.unavailable = True
        turn.messages = [bot_text(sender, messages.fill(messages.SERVICE_TROUBLE))]
        return turn
    # Clients see their own sender id, never the namespaced one.
    turn.messages = [{**m, "recipient_id": sender} for m in collector.messages]
    await OFFERS.remember(conversation, turn.messages)
    if not any(m.get("text") for m in turn.messages):
        turn.messages = [bot_text(sender, messages.fill(messages.SERVICE_TROUBLE))]
    if was_cut:
        note = messages.MESSAGE_CUT.format(limit=settings.max_message_chars)
        turn.messages.insert(0, bot_text(sender, note))
    return turn


def client_address(request: Any) -> str:
    """The client's address: behind a proxy Sanic takes it from the forwarded headers
    (SANIC_PROXIES_COUNT / SANIC_REAL_IP_HEADER); otherwise the socket's peer."""
    return request.remote_addr or request.ip or ""
