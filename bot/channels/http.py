"""Request checks shared by the JSON channels (REST and the website widget)."""

from __future__ import annotations

import json
from typing import Any

from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.ratelimit import Verdict

MAX_BODY_BYTES = 256 * 1024  # a 100 KB message fits; anything bigger is not a chat message


class BadRequest(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


def json_object(request: Request) -> dict[str, Any]:
    """The request's JSON object, or BadRequest with a status and a message a developer can act on."""
    if len(request.body or b"") > MAX_BODY_BYTES:
        raise BadRequest(413, f"The request body is larger than {MAX_BODY_BYTES // 1024} KB.")
    content_type = (request.headers.get("content-type") or "application/json").split(";")[0].strip().lower()
    if content_type != "application/json":
        raise BadRequest(415, "Send JSON with Content-Type: application/json.")
    try:
        body = json.loads(request.body or b"")
    except (ValueError, UnicodeDecodeError):
        raise BadRequest(400, "The request body must be valid JSON in UTF-8.") from None
    if not isinstance(body, dict):
        raise BadRequest(400, "The request body must be a JSON object.")
    return body


def error(message: str, status: int, headers: dict[str, str] | None = None) -> HTTPResponse:
    return response.json({"error": message}, status=status, headers=headers)


def too_many(verdict: Verdict, text: str) -> HTTPResponse:
    return error(text, 429, {"Retry-After": str(verdict.retry_after)})


def secure_headers(blueprint: Blueprint) -> Blueprint:
    """Every response of `blueprint`: no MIME sniffing, no referrer, and webhooks never cached
    (a reply is about someone's health; no browser or proxy may keep it)."""

    @blueprint.middleware("response")
    async def add_headers(request: Request, resp: HTTPResponse) -> None:
        resp.headers.setdefault("X-Content-Type-Options", "nosniff")
        resp.headers.setdefault("Referrer-Policy", "no-referrer")
        if "/webhooks/" in request.path or request.path == "/health":
            resp.headers["Cache-Control"] = "no-store"

    return blueprint
