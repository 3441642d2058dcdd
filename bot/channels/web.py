"""The website channel: chat widget, demo page, and a signed-session JSON webhook.

Why not Rasa's REST or socket.io channel: with REST the browser picks its own
sender id, so anyone who copies an id can read that conversation; socket.io
session persistence in Rasa 3.6 silently stops replying under python-socketio 5
(RasaHQ/rasa#13027). Here the server issues each session id with an HMAC
signature and checks it on every message; the widget keeps the id and the
visible history in the tab's sessionStorage.

Routes (registered at the server root, see `url_prefix`):
  GET  /chat                    demo page (with a Content-Security-Policy)
  GET  /widget.js, /widget.css  the embeddable widget
  POST /webhooks/web/session    -> {"session": "<id>.<signature>"}
  POST /webhooks/web/webhook    {"session", "message"} -> [bot messages]
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
from pathlib import Path
from typing import Any

from rasa.core.channels.channel import InputChannel
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot import messages
from bot.channels.conversation import OnNewMessage, client_address, converse
from bot.channels.http import BadRequest, error, json_object, too_many
from bot.ratelimit import RateLimiter
from bot.settings import load_settings

log = logging.getLogger(__name__)
STATIC = Path(__file__).resolve().parent.parent / "web"


def sign(session_id: str, secret: str) -> str:
    digest = hmac.new(secret.encode(), session_id.encode(), hashlib.sha256).hexdigest()
    return f"{session_id}.{digest[:32]}"


def verify(token: Any, secret: str) -> str | None:
    """The session id if `token` was issued by this server, else None."""
    if not isinstance(token, str) or token.count(".") != 1 or len(token) > 200:
        return None
    session_id = token.split(".", 1)[0]
    return session_id if hmac.compare_digest(sign(session_id, secret), token) else None


def widget_defaults() -> dict[str, str]:
    """Wording the widget shows even when the bot cannot be reached."""
    settings = load_settings()
    return {
        "disclaimer": messages.WIDGET_DISCLAIMER,
        "phone": settings.care_team_phone,
        "offline": messages.fill(messages.WIDGET_OFFLINE),
        "emergency": settings.emergency_number,
    }


class WebInput(InputChannel):
    @classmethod
    def name(cls) -> str:
        return "web"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> WebInput:
        credentials = credentials or {}
        return cls(credentials.get("allowed_origins"))

    def __init__(self, allowed_origins: Any = None) -> None:
        settings = load_settings()
        self.secret = settings.web_session_secret
        configured = allowed_origins if allowed_origins is not None else settings.web_allowed_origins
        if isinstance(configured, str):
            configured = [o.strip() for o in configured.split(",") if o.strip()]
        self.allowed_origins = list(configured or [])
        self.limiter = RateLimiter(self.name(), settings.rate_limit_per_sender, settings.rate_limit_per_address)

    def url_prefix(self) -> str:
        # Rasa joins this onto "/webhooks/"; "/" puts /chat and /widget.js at the root.
        return "/"

    def _cors(self, request: Request, resp: HTTPResponse) -> HTTPResponse:
        origin = request.headers.get("origin")
        if origin and ("*" in self.allowed_origins or origin in self.allowed_origins):
            resp.headers["Access-Control-Allow-Origin"] = origin
            resp.headers["Vary"] = "Origin"
            resp.headers["Access-Control-Allow-Headers"] = "Content-Type"
            resp.headers["Access-Control-Allow-Methods"] = "POST, OPTIONS"
        return resp

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        web = Blueprint("web_widget", __name__)
        # Read once: every page view of an embedding site fetches the script.
        page = (STATIC / "chat.html").read_text(encoding="utf-8")
        script = f"window.MC_WIDGET_DEFAULTS = {json.dumps(widget_defaults())};\n" + (STATIC / "widget.js").read_text(
            encoding="utf-8"
        )
        css = (STATIC / "widget.css").read_text(encoding="utf-8")

        @web.route("/chat", methods=["GET"])
        async def chat(request: Request) -> HTTPResponse:
            resp = response.html(page)
            resp.headers["Content-Security-Policy"] = (
                "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
            )
            resp.headers["X-Content-Type-Options"] = "nosniff"
            return resp

        @web.route("/widget.js", methods=["GET"])
        async def widget_js(request: Request) -> HTTPResponse:
            return response.text(script, content_type="application/javascript; charset=utf-8")

        @web.route("/widget.css", methods=["GET"])
        async def widget_css(request: Request) -> HTTPResponse:
            return response.text(css, content_type="text/css; charset=utf-8")

        @web.route("/webhooks/web/session", methods=["POST", "OPTIONS"])
        async def new_session(request: Request) -> HTTPResponse:
            if request.method == "OPTIONS":
                return self._cors(request, response.empty())
            verdict = await self.limiter.check(address=client_address(request))
            if not verdict.allowed:
                return self._cors(request, too_many(verdict, messages.fill(messages.RATE_LIMITED)))
            token = sign(secrets.token_urlsafe(18), self.secret)
            return self._cors(request, response.json({"session": token}, status=201))

        @web.route("/webhooks/web/webhook", methods=["POST", "OPTIONS"])
        async def receive(request: Request) -> HTTPResponse:
            if request.method == "OPTIONS":
                return self._cors(request, response.empty())
            try:
                body = json_object(request)
            except BadRequest as bad:
                return self._cors(request, error(bad.message, bad.status))
            sender = verify(body.get("session"), self.secret)
            if sender is None:
                log.warning("Web message with a missing or invalid session was refused")
                return self._cors(request, error("Unknown or invalid session.", 403))
            text = body.get("message")
            if not isinstance(text, str) or not text.strip():
                return self._cors(request, error("Please type a message.", 400))
            verdict = await self.limiter.check(sender=sender, address=client_address(request))
            if not verdict.allowed:
                return self._cors(request, too_many(verdict, messages.fill(messages.RATE_LIMITED)))
            turn = await converse(on_new_message, self.name(), sender, text)
            return self._cors(request, response.json(turn.messages, status=503 if turn.unavailable else 200))

        return web
