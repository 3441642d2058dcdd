"""SMS channel: a Twilio messaging webhook answered with TwiML, on the Rasa server.

POST /webhooks/sms/webhook (form-encoded From, To, Body, MessageSid, ...).
- Every request's X-Twilio-Signature is checked with twilio's RequestValidator
  against the URL the provider called (SMS_PUBLIC_URL behind a proxy): 403 if not.
- The phone number never reaches Rasa, a table or a log: the sender id is an
  HMAC-SHA256 of it (SENDER_ID_SECRET).
- Carrier keywords (STOP, START, HELP, ...) are handled before NLU sees anything.
- A MessageSid is processed once; a provider retry gets the same TwiML.
- Replies become GSM-7 text of at most three segments, buttons become numbered
  lines, emergency and crisis replies go first and alone.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import time
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

from bot import messages
from bot.channels.sms_store import SmsStore
from bot.settings import load_settings
from bot.sms_text import split_for_sms, to_gsm7

log = logging.getLogger(__name__)

STOP_WORDS = {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"}
START_WORDS = {"START", "YES", "UNSTOP"}
HELP_WORDS = {"HELP", "INFO"}
MAX_BODY_CHARS = 1600


def keyword(body: str) -> str:
    return "".join(body.split()).upper()


def twiml(*texts: str) -> str:
    reply = MessagingResponse()
    for text in texts:
        reply.message(text)
    return str(reply)


def sms_reply(bot_messages: list[dict[str, Any]]) -> tuple[str, list[str], str]:
    """(text to send, payloads of its numbered choices, the rest for MORE)."""
    safety = [m for m in bot_messages if (m.get("custom") or {}).get("safety")]
    if safety:  # the emergency or crisis reply, first and alone
        index = bot_messages.index(safety[0])
        text = next((m["text"] for m in reversed(bot_messages[:index]) if m.get("text")), "")
        return to_gsm7(text), [], ""
    texts, choices = [], []
    for message in bot_messages:
        text = message.get("text") or ""
        if not text or text == messages.FEEDBACK_PROMPT:
            continue  # "Was this helpful?" does not suit SMS
        texts.append(text.replace(messages.disclaimer(), messages.fill(messages.SMS_DISCLAIMER)))
        if message.get("buttons") and not choices:
            choices = [(b["title"], b["payload"]) for b in message["buttons"]][:3]
    body = "\n\n".join(texts)
    if choices:
        numbered = "\n".join(f"{i}. {title}" for i, (title, _) in enumerate(choices, 1))
        reply_with = ", ".join(str(i) for i in range(1, len(choices))) + f" or {len(choices)}"
        body += f"\n\n{numbered}\nReply {reply_with if len(choices) > 1 else '1'}."
    first, rest = split_for_sms(body)
    return first, [payload for _, payload in choices], rest


class SmsInput(InputChannel):
    @classmethod
    def name(cls) -> str:
        return "sms"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> SmsInput:
        return cls()

    def __init__(self) -> None:
        settings = load_settings()
        if not settings.twilio_auth_token or not settings.sender_id_secret:
            raise SystemExit(
                "The SMS channel needs TWILIO_AUTH_TOKEN and SENDER_ID_SECRET: set both "
                "(or run with BOT_ENV=development for make run's clearly marked development values)."
            )
        self.validator = RequestValidator(settings.twilio_auth_token)
        self.sender_secret = settings.sender_id_secret.encode()
        self.public_url = settings.sms_public_url
        self.rate_limit = settings.sms_rate_limit
        self.store = SmsStore()
        self.locks: dict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self.recent: dict[str, deque[float]] = defaultdict(deque)
        self.limited: set[str] = set()
        self.choices: dict[str, list[str]] = {}
        self.more: dict[str, str] = {}

    def sender_id(self, phone: str) -> str:
        return hmac.new(self.sender_secret, phone.encode(), hashlib.sha256).hexdigest()

    def _over_limit(self, sender: str) -> bool:
        now, window = time.monotonic(), self.recent[sender]
        while window and now - window[0] > 60:
            window.popleft()
        window.append(now)
        return len(window) > self.rate_limit

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        sms = Blueprint("sms_webhook", __name__)

        @sms.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            params = {key: request.form.get(key) for key in request.form}
            url = self.public_url or request.url
            signature = request.headers.get("X-Twilio-Signature", "")
            if not signature or not self.validator.validate(url, params, signature):
                log.warning("SMS webhook request with a missing or invalid signature refused")
                return response.text("Forbidden", status=403)
            phone, body, sid = params.get("From") or "", params.get("Body") or "", params.get("MessageSid") or ""
            if not phone or not sid:
                return response.text("Missing From or MessageSid", status=400)
            sender = self.sender_id(phone)
            async with self.locks[sender]:  # one sender's messages are answered in order
                stored = self.store.answered(sid)
                if stored is None:
                    stored = await self._answer(sender, body[:MAX_BODY_CHARS], on_new_message)
                    self.store.remember(sid, stored)
            return response.text(stored, content_type="application/xml")

        return sms

    async def _answer(self, sender: str, body: str, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> str:
        word = keyword(body)
        if word in STOP_WORDS:
            confirmed = self.store.opt_out(sender)
            return twiml(messages.fill(messages.SMS_STOPPED)) if confirmed else twiml()
        if word in START_WORDS:
            self.store.opt_in(sender)
            return twiml(messages.fill(messages.SMS_STARTED))
        if word in HELP_WORDS:
            return twiml(messages.fill(messages.SMS_HELP))
        if self.store.is_opted_out(sender):
            return twiml()
        if self._over_limit(sender):
            if sender in self.limited:
                return twiml()
            self.limited.add(sender)
            return twiml(messages.fill(messages.SMS_RATE_LIMITED))
        self.limited.discard(sender)
        if word == "MORE" and self.more.get(sender):
            text, rest = split_for_sms(self.more.pop(sender))
            if rest:
                self.more[sender] = rest
            return twiml(text)
        choices = self.choices.get(sender, [])
        if word.isdigit() and 1 <= int(word) <= len(choices):
            body = choices[int(word) - 1]
        if not body.strip():
            return twiml(messages.fill(messages.SMS_EMPTY))
        collector = CollectingOutputChannel()
        await on_new_message(UserMessage(body, collector, sender, input_channel=self.name()))
        text, self.choices[sender], rest = sms_reply(collector.messages)
        if rest:
            self.more[sender] = rest
        else:
            self.more.pop(sender, None)
        return twiml(text or messages.fill(messages.NO_ANSWER))
