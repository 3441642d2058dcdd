"""SMS channel: a Twilio messaging webhook answered with TwiML, on the Rasa server.

POST /webhooks/sms/webhook (form-encoded From, To, Body, MessageSid, ...).
- Every request's X-Twilio-Signature is checked with twilio's RequestValidator
  against the URL the provider called (SMS_PUBLIC_URL, required outside
  development): 403 if not. Only refused requests count against the calling
  address's limit, so a flood of forged requests from the provider's address
  cannot silence real texts (emergencies included).
- The phone number never reaches Rasa, a table or a log: the sender id is an
  HMAC-SHA256 of it (SENDER_ID_SECRET).
- Carrier keywords (STOP, START, HELP, ...) are handled before NLU sees anything;
  SUMMARY texts back the topics asked in this conversation (the `summary` intent).
- A MessageSid is processed once; a provider retry gets the same TwiML.
- Replies become GSM-7 text of at most three segments, buttons become numbered
  lines, emergency and crisis replies go first and alone.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
from typing import Any
from urllib.parse import parse_qsl
from weakref import WeakValueDictionary

from rasa.core.channels.channel import InputChannel
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from sqlalchemy.exc import SQLAlchemyError
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

from bot import messages
from bot.channels.conversation import OnNewMessage, client_address, converse
from bot.channels.http import secure_headers
from bot.channels.sms.store import SmsStore
from bot.channels.sms.text import split_for_sms, to_gsm7
from bot.ratelimit import RateLimiter
from bot.settings import load_settings, require_secrets
from bot.state import State, Unavailable, shared_state

log = logging.getLogger(__name__)

STOP_WORDS = {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"}
START_WORDS = {"START", "YES", "UNSTOP"}
HELP_WORDS = {"HELP", "INFO"}
SUMMARY_INTENT = "/summary"
# Per-sender memory between texts (numbered choices, the rest of a long answer).
MEMORY_SECONDS = 24 * 3600


def keyword(body: str) -> str:
    return "".join(body.split()).upper()


def form_fields(request: Request) -> dict[str, str]:
    """The provider's form fields, blank ones included: the signature covers them, and an
    empty Body (a picture-only text) is legal. Sanic's `request.form` drops blank fields."""
    return dict(parse_qsl((request.body or b"").decode("utf-8", "replace"), keep_blank_values=True))


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
    texts: list[str] = []
    choices: list[tuple[str, str]] = []
    short = messages.fill(messages.SMS_DISCLAIMER)
    # The disclaimer, whoever the conversation is about ("your", "her", "his" care team).
    disclaimers = {messages.disclaimer(person=person) for person in (None, *messages.PEOPLE)}
    for message in bot_messages:
        text = message.get("text") or ""
        if not text:
            continue
        for disclaimer in disclaimers:
            text = text.replace(disclaimer, short)
        texts.append(text)
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
        require_secrets(settings, "TWILIO_AUTH_TOKEN", "SENDER_ID_SECRET")
        if not settings.development and not settings.sms_public_url.startswith(("https://", "http://")):
            raise SystemExit(
                "SMS_PUBLIC_URL must be the URL the SMS provider calls (e.g. "
                "https://bot.example.org/webhooks/sms/webhook): signatures are checked against it."
            )
        self.validator = RequestValidator(settings.twilio_auth_token)
        self.sender_secret = settings.sender_id_secret.encode()
        self.public_url = settings.sms_public_url
        # Per phone number, and per calling address for refused (unsigned, forged) requests only.
        self.limiter = RateLimiter(self.name(), settings.sms_rate_limit, settings.sms_address_rate_limit)
        self.store = SmsStore()
        # One sender's texts are answered in order; locks of idle senders are freed.
        self.locks: WeakValueDictionary[str, asyncio.Lock] = WeakValueDictionary()

    @property
    def state(self) -> State:
        return shared_state()

    async def _remember(self, sender: str, choices: list[str], more: str) -> None:
        try:
            await self.state.set(f"sms:{sender}", json.dumps({"choices": choices, "more": more}), MEMORY_SECONDS)
        except Unavailable as failure:
            log.warning("SMS memory unavailable; numbered choices and MORE are off: %s", failure)

    async def _recall(self, sender: str) -> tuple[list[str], str]:
        try:
            saved = json.loads(await self.state.get(f"sms:{sender}") or "{}")
        except Unavailable as failure:
            log.warning("SMS memory unavailable: %s", failure)
            saved = {}
        return list(saved.get("choices") or []), str(saved.get("more") or "")

    def sender_id(self, phone: str) -> str:
        return hmac.new(self.sender_secret, phone.encode(), hashlib.sha256).hexdigest()

    def _lock(self, sender: str) -> asyncio.Lock:
        lock = self.locks.get(sender)
        if lock is None:
            lock = self.locks[sender] = asyncio.Lock()
        return lock

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        sms = Blueprint("sms_webhook", __name__)

        @sms.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            params = form_fields(request)
            url = self.public_url or request.url
            signature = request.headers.get("X-Twilio-Signature", "")
            if not signature or not self.validator.validate(url, params, signature):
                log.warning("SMS webhook request with a missing or invalid signature refused")
                if not (await self.limiter.check(address=client_address(request))).allowed:
                    return response.text("Too many requests", status=429)
                return response.text("Forbidden", status=403)
            phone, body, sid = params.get("From") or "", params.get("Body") or "", params.get("MessageSid") or ""
            if not phone or not sid:
                return response.text("Missing From or MessageSid", status=400)
            sender = self.sender_id(phone)
            try:
                async with self._lock(sender):  # one sender's messages are answered in order
                    stored = self.store.answered(sid)
                    if stored == "":  # answered long ago, reply purged: a replay gets nothing
                        stored = twiml()
                    elif stored is None:
                        stored, keep = await self._answer(sender, body, on_new_message)
                        if keep:  # not when the conversation store failed: the retry is answered afresh
                            self.store.remember(sid, stored)
            except SQLAlchemyError:  # the SMS tables' database is down: still answer, safely
                log.exception("SMS store unavailable")
                stored = twiml(messages.fill(messages.SMS_TROUBLE))
            return response.text(stored, content_type="application/xml")

        return secure_headers(sms)

    async def _answer(self, sender: str, body: str, on_new_message: OnNewMessage) -> tuple[str, bool]:
        """(TwiML to send, whether to keep it as the answer to this MessageSid)."""
        word = keyword(body)
        if word in STOP_WORDS:
            confirmed = self.store.opt_out(sender)
            return (twiml(messages.fill(messages.SMS_STOPPED)) if confirmed else twiml()), True
        if word in START_WORDS:
            self.store.opt_in(sender)
            return twiml(messages.fill(messages.SMS_STARTED)), True
        if word in HELP_WORDS:
            return twiml(messages.fill(messages.SMS_HELP)), True
        if self.store.is_opted_out(sender):
            return twiml(), True
        verdict = await self.limiter.check(sender=sender)
        if not verdict.allowed:  # said once, then quiet: every text costs the patient
            return (twiml(messages.fill(messages.SMS_RATE_LIMITED)) if verdict.first_refusal else twiml()), True
        choices, more = await self._recall(sender)
        if word == "MORE" and more:
            text, rest = split_for_sms(more)
            await self._remember(sender, choices, rest)
            return twiml(text), True
        if word.isdigit() and 1 <= int(word) <= len(choices):
            body = choices[int(word) - 1]
        if not body.strip():
            return twiml(messages.fill(messages.SMS_EMPTY)), True
        if word == "SUMMARY":
            turn = await converse(on_new_message, self.name(), sender, SUMMARY_INTENT, command=True)
        else:
            turn = await converse(on_new_message, self.name(), sender, body)
        text, choices, rest = sms_reply(turn.messages)
        if not turn.unavailable:
            await self._remember(sender, choices, rest)
        return twiml(text or messages.fill(messages.NO_ANSWER)), not turn.unavailable
