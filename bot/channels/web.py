"""The website channel: chat widget, demo page, and a signed-session JSON webhook.

Why not Rasa's REST or socket.io channel: with REST the browser picks its own
sender id, so anyone who copies an id can read that conversation; socket.io
session persistence in Rasa 3.6 silently stops replying under python-socketio 5
(RasaHQ/rasa#13027). Here the server issues each session as an itsdangerous
timed token (signed id and issue time) and checks it on every message: a
tampered, malformed or older-than-WEB_SESSION_MAX_AGE token gets 403 with
`"new_session": true`, never a 500. Conversations are stored as `web:<id>`, a
namespace no other channel can reach.

Routes (registered at the server root, see `url_prefix`):
  GET  /chat                    demo page (with a Content-Security-Policy)
  GET  /widget.js, /widget.css  the embeddable widget's loader: a launcher button and an iframe
  GET  /widget/frame, /widget/app.js, /widget/app.css
                                the chat itself, in that iframe on the bot's own origin: the
                                text box, the session token and the history (sessionStorage)
                                are out of reach of the embedding page's scripts
  GET  /health                  {"status": "ok"} (load balancers, probes)
  POST /webhooks/web/session    -> {"session": "<token>"}
  POST /webhooks/web/webhook    {"session", "message"} -> [bot messages]
"""

from __future__ import annotations

import json
import logging
import re
import secrets
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from itsdangerous import BadData, URLSafeTimedSerializer
from rasa.core.channels.channel import InputChannel
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot import messages
from bot.channels.conversation import OnNewMessage, client_address, converse
from bot.channels.http import BadRequest, error, json_object, secure_headers, too_many
from bot.ratelimit import RateLimiter
from bot.settings import load_settings, require_secrets

log = logging.getLogger(__name__)
STATIC = Path(__file__).resolve().parent.parent / "web"


SESSION_SALT = "web-session"
MAX_TOKEN_CHARS = 300


def signer(secret: str) -> URLSafeTimedSerializer:
    """itsdangerous' timed serializer: the token carries the session id and its issue time."""
    return URLSafeTimedSerializer(secret, salt=SESSION_SALT)


def sign(session_id: str, secret: str) -> str:
    return signer(secret).dumps(session_id)


def verify(token: Any, secret: str, max_age: int) -> str | None:
    """The session id if this server issued `token` less than `max_age` seconds ago, else None.

    Anything else (not a string, too long, non-ASCII, tampered, expired) is None, never an error.
    """
    if not isinstance(token, str) or not token.isascii() or not 0 < len(token) <= MAX_TOKEN_CHARS:
        return None
    try:
        session_id = signer(secret).loads(token, max_age=max_age)
    except BadData:
        return None
    return session_id if isinstance(session_id, str) and session_id.isascii() else None


def widget_defaults() -> dict[str, str]:
    """Wording the widget shows even when the bot cannot be reached."""
    settings = load_settings()
    return {
        "disclaimer": messages.WIDGET_DISCLAIMER,
        "phone": settings.care_team_phone,
        "offline": messages.fill(messages.WIDGET_OFFLINE),
        "emergency": settings.emergency_number,
    }


_ORIGIN = re.compile(r"^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?$")


def frame_policy(allowed_origins: list[str]) -> str:
    """The chat frame's Content-Security-Policy: nothing inline, only the bot's origin,
    and framed only by the bot's own pages and WEB_ALLOWED_ORIGINS."""
    ancestors = ["'self'"] + [o for o in allowed_origins if o == "*" or _ORIGIN.match(o)]
    return (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        f"base-uri 'none'; form-action 'none'; frame-ancestors {' '.join(ancestors)}"
    )


Handler = Callable[[Request], Coroutine[Any, Any, HTTPResponse]]


def _static(body: str, content_type: str, headers: dict[str, str]) -> Handler:
    """A GET handler for one of the widget's files, read once at start-up."""

    async def handler(request: Request) -> HTTPResponse:
        # nosniff and no-referrer come from secure_headers, on every response of this blueprint.
        return response.text(body, content_type=content_type, headers=headers)

    return handler


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
        require_secrets(settings, "WEB_SESSION_SECRET")
        self.secret = settings.web_session_secret
        self.max_age = settings.web_session_max_age
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
        # Read once: every page view of an embedding site fetches the loader.
        page = (STATIC / "chat.html").read_text(encoding="utf-8")
        loader = (STATIC / "widget.js").read_text(encoding="utf-8")
        loader_css = (STATIC / "widget.css").read_text(encoding="utf-8")
        frame = (STATIC / "frame.html").read_text(encoding="utf-8")
        # The frame's script gets the wording and the origins whose pages it may talk to.
        config = {**widget_defaults(), "origins": self.allowed_origins}
        app = f"var MC_WIDGET = {json.dumps(config)};\n" + (STATIC / "app.js").read_text(encoding="utf-8")
        app_css = (STATIC / "app.css").read_text(encoding="utf-8")
        frame_headers = {"Content-Security-Policy": frame_policy(self.allowed_origins), "Cache-Control": "no-cache"}
        # The demo page embeds the widget as any page would; nothing may frame the page itself.
        page_policy = (
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
            "frame-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
        )
        javascript, stylesheet, html = (
            "application/javascript; charset=utf-8",
            "text/css; charset=utf-8",
            "text/html; charset=utf-8",
        )

        static = {
            "/chat": (page, html, {"Content-Security-Policy": page_policy}),
            "/widget.js": (loader, javascript, {}),
            "/widget.css": (loader_css, stylesheet, {}),
            "/widget/frame": (frame, html, frame_headers),
            "/widget/app.js": (app, javascript, {}),
            "/widget/app.css": (app_css, stylesheet, {}),
        }
        for path, (body, content_type, headers) in static.items():
            web.add_route(_static(body, content_type, headers), path, methods=["GET"], name=f"static{path}")

        @web.route("/health", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

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
            sender = verify(body.get("session"), self.secret, self.max_age)
            if sender is None:
                log.warning("Web message with a missing, invalid or expired session was refused")
                expired = {
                    "error": "Unknown, invalid or expired session: ask /webhooks/web/session for a new one.",
                    "new_session": True,
                }
                return self._cors(request, response.json(expired, status=403))
            text = body.get("message")
            if not isinstance(text, str) or not text.strip():
                return self._cors(request, error("Please type a message.", 400))
            verdict = await self.limiter.check(sender=sender, address=client_address(request))
            if not verdict.allowed:
                return self._cors(request, too_many(verdict, messages.fill(messages.RATE_LIMITED)))
            turn = await converse(on_new_message, self.name(), sender, text)
            return self._cors(request, response.json(turn.messages, status=503 if turn.unavailable else 200))

        return secure_headers(web)
