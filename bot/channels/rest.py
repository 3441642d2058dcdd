"""Rasa's REST channel, hardened: the same URL and JSON, for integrations and tests.

POST /webhooks/rest/webhook {"sender": "...", "message": "..."} -> [bot messages]
GET  /webhooks/rest/                                           -> {"status": "ok"}

For development and trusted integrations only. In production (BOT_ENV) it is
off (404) unless REST_TOKEN is set, and then every request must carry
`Authorization: Bearer <REST_TOKEN>` (compared in constant time; 401 if not).
Its conversations are `rest:<sender>`: a REST client can never name a web or
SMS conversation.

Unlike Rasa's own `rest` channel it refuses malformed requests with a clear 4xx,
limits messages per sender and per address (429), cuts over-long messages with
a note, answers with the care-team reply when the bot fails, and returns 503
(retry) when the conversation could not be stored.
"""

from __future__ import annotations

import hmac
from typing import Any, TypeGuard

from rasa.core.channels.channel import InputChannel
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot import messages
from bot.channels.conversation import OnNewMessage, client_address, converse
from bot.channels.http import BadRequest, error, json_object, secure_headers, too_many
from bot.ratelimit import RateLimiter
from bot.settings import load_settings, require_secrets

MAX_SENDER_CHARS = 128


def valid_sender(sender: object) -> TypeGuard[str]:
    return isinstance(sender, str) and 0 < len(sender.strip()) <= MAX_SENDER_CHARS and sender.isprintable()


class RestInput(InputChannel):
    @classmethod
    def name(cls) -> str:
        return "rest"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> RestInput:
        return cls()

    def __init__(self) -> None:
        settings = load_settings()
        if settings.rest_token:
            require_secrets(settings, "REST_TOKEN")
        # Open in development; in production off unless a token is configured.
        self.enabled = settings.development or bool(settings.rest_token)
        self.expected = f"Bearer {settings.rest_token}".encode() if settings.rest_token else b""
        self.limiter = RateLimiter(self.name(), settings.rate_limit_per_sender, settings.rate_limit_per_address)

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        rest = Blueprint("hardened_rest_webhook", __name__)

        @rest.middleware("request")
        async def only_trusted(request: Request) -> HTTPResponse | None:
            if not self.enabled:
                return error("The REST channel is off in production; set REST_TOKEN to enable it.", 404)
            supplied = (request.headers.get("authorization") or "").encode("utf-8", "replace")
            if self.expected and not hmac.compare_digest(supplied, self.expected):
                return error("Send Authorization: Bearer <REST_TOKEN>.", 401, {"WWW-Authenticate": "Bearer"})
            return None

        @rest.route("/", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @rest.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            try:
                body = json_object(request)
            except BadRequest as bad:
                return error(bad.message, bad.status)
            sender, text = body.get("sender"), body.get("message")
            if not valid_sender(sender):
                return error(f"'sender' must be 1-{MAX_SENDER_CHARS} printable characters.", 400)
            if not isinstance(text, str):
                return error("'message' must be a string.", 400)
            verdict = await self.limiter.check(sender=sender, address=client_address(request))
            if not verdict.allowed:
                return too_many(verdict, messages.fill(messages.RATE_LIMITED))
            if not text.strip():
                return response.json([{"recipient_id": sender, "text": messages.fill(messages.EMPTY_MESSAGE)}])
            turn = await converse(on_new_message, self.name(), sender, text)
            return response.json(turn.messages, status=503 if turn.unavailable else 200)

        return secure_headers(rest)
