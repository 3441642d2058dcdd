"""The in-process tier: a channel's blueprint on a bare Sanic app, with a stand-in for Rasa.

`rasa run` wires every input channel with `rasa.core.channels.channel.register`: the
channel's blueprint gets a handler that calls `app.ctx.agent.handle_message(message)`.
`ChannelApp` does exactly that on a bare Sanic app, with a `StubRasa` as the agent,
and calls it through sanic-testing's ASGI client: no socket, no server, no model.

`StubRasa` does what Rasa's processor does around a message that matters to a channel:
it reads the conversation from a real `bot.rasa.stores.ConversationStore` (SQLite),
stores the user's message and the bot's replies there, and sends the replies to the
channel's output channel. It can also answer nothing, time out, fail, or fail to
store the conversation (the database is gone), and it records every `UserMessage`
the channel handed over (text, conversation id, channel).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import uuid
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import httpx
from rasa.core.channels.channel import InputChannel, UserMessage, register
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from sanic import Sanic
from sanic_testing.testing import ASGI_BASE_URL, SanicASGITestClient, TestingResponse
from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker
from twilio.request_validator import RequestValidator

from bot.rasa.stores import ConversationStore
from bot.settings import load_settings

# What the stub answers unless told otherwise: the article's answer to "what is lymph?",
# its follow-up buttons and the 👍 / 👎 payloads the widget shows under it.
LYMPH = "Lymph is a clear fluid that carries white blood cells through the body."
ANSWER: list[dict[str, Any]] = [
    {
        "text": LYMPH,
        "buttons": [
            {"title": "How does cancer spread?", "payload": "/ask_how_cancer_spreads"},
            {"title": "What is metastatic cancer?", "payload": "/ask_what_is_metastatic_cancer"},
        ],
    },
    {
        "custom": {
            "topic": "what_is_lymph",
            "feedback": [
                {"title": "👍", "payload": '/feedback_helpful{"topic": "what_is_lymph"}'},
                {"title": "👎", "payload": '/feedback_unhelpful{"topic": "what_is_lymph"}'},
            ],
        }
    },
]
_apps = itertools.count()


class StubRasa:
    """Stands in for Rasa's Agent behind a channel (`app.ctx.agent`)."""

    def __init__(self, store: ConversationStore) -> None:
        self.store = store
        self.received: list[UserMessage] = []
        self.replies: list[dict[str, Any]] = ANSWER
        self.mode = "answer"

    # What the next messages get ------------------------------------------------------------

    def answer(self, *replies: dict[str, Any]) -> None:
        """Answer every message with these bot messages (Rasa's format: text, buttons, custom)."""
        self.mode, self.replies = "answer", list(replies)

    def say_nothing(self) -> None:
        """Handle the message without a word (a policy predicted only action_listen)."""
        self.answer()

    def time_out(self) -> None:
        """Never come back (a stuck action server): the channel's deadline must answer."""
        self.mode = "time out"

    def fail(self) -> None:
        """Raise, as Rasa does when an action fails."""
        self.mode = "fail"

    def lose_the_store(self, tmp: Path) -> None:
        """The conversation database is gone: reading the conversation fails, in the real store."""
        missing = tmp / "gone" / "conversations.db"  # SQLite cannot open a file in a missing folder
        self._working_store = self.store.sessionmaker
        self.store.sessionmaker = sessionmaker(bind=create_engine(f"sqlite:///{missing}"))

    def find_the_store(self) -> None:
        """The conversation database is back."""
        self.store.sessionmaker = self._working_store

    # What the channel handed over ----------------------------------------------------------

    @property
    def texts(self) -> list[str]:
        return [m.text or "" for m in self.received]

    @property
    def conversations(self) -> list[str]:
        return [m.sender_id for m in self.received]

    async def user_texts(self, conversation: str) -> list[str]:
        """The user messages stored in this conversation (what Rasa's tracker would show)."""
        tracker = await self.store.retrieve(conversation)
        return [e.text or "" for e in tracker.events if isinstance(e, UserUttered)] if tracker else []

    # Rasa's side -----------------------------------------------------------------------------

    async def handle_message(self, message: UserMessage) -> None:
        self.received.append(message)
        tracker = await self.store.retrieve(message.sender_id)  # raises when the database is gone
        tracker = tracker or DialogueStateTracker(message.sender_id, slots=[])
        tracker.update(UserUttered(message.text, input_channel=message.input_channel))
        if self.mode == "time out":
            await asyncio.sleep(3600)
        if self.mode == "fail":
            raise RuntimeError("Failed to execute custom action 'action_answer' (the action server answered 500)")
        for reply in self.replies:
            tracker.update(BotUttered(reply.get("text"), {k: v for k, v in reply.items() if k != "text"}))
        await self.store.save(tracker)
        for reply in self.replies:
            await message.output_channel.send_response(message.sender_id, dict(reply))


def conversation_store(tmp: Path) -> ConversationStore:
    """Rasa's tracker store as the servers use it, on a throwaway SQLite file."""
    return ConversationStore(Domain.empty(), host=f"sqlite:///{tmp / 'conversations.db'}")


class ChannelApp:
    """One input channel on a bare Sanic app, wired to `rasa` as `rasa run` wires it."""

    def __init__(self, channel: InputChannel, rasa: StubRasa) -> None:
        self.channel, self.rasa = channel, rasa
        self.app = Sanic(f"channel_test_{next(_apps)}")
        self.app.ctx.agent = rasa
        register([channel], self.app, route="/webhooks/")
        self.client = SanicASGITestClient(self.app)
        self._started = False
        self.loop = asyncio.new_event_loop()

    @staticmethod
    def url(path: str) -> str:
        """The full URL the client calls (what a provider signs, e.g. Twilio)."""
        return ASGI_BASE_URL + path

    def close(self) -> None:
        self.loop.close()

    def run(self, coroutine: Any) -> Any:
        return self.loop.run_until_complete(coroutine)

    def request(self, method: str, path: str, **kwargs: Any) -> TestingResponse:
        if not self._started:  # sanic-testing's request starts the app (routes, middleware) first...
            _, response = self.run(self.client.request(method, path, **kwargs))
            self._started = True
        else:  # ...then straight through its ASGI transport: 1 ms a request instead of 50
            response = self.run(httpx.AsyncClient.request(self.client, method, self.url(path), **kwargs))
            response.__class__ = TestingResponse  # .json and .status as sanic-testing gives them
        assert response is not None
        return response

    def get(self, path: str, **kwargs: Any) -> TestingResponse:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> TestingResponse:
        return self.request("POST", path, **kwargs)

    def post_json(self, path: str, body: Any, headers: dict[str, str] | None = None) -> TestingResponse:
        raw = body if isinstance(body, bytes | str) else json.dumps(body)
        return self.post(path, content=raw, headers={"Content-Type": "application/json", **(headers or {})})


# Talking to a channel as its clients do --------------------------------------------------------

REST = "/webhooks/rest/webhook"
WEB_SESSION, WEB = "/webhooks/web/session", "/webhooks/web/webhook"
SMS = "/webhooks/sms/webhook"
_sids = itertools.count()


def rest(app: ChannelApp, sender: object, message: object, headers: dict[str, Any] | None = None) -> TestingResponse:
    return app.post_json(REST, {"sender": sender, "message": message}, headers)


def web_session(app: ChannelApp, headers: dict[str, str] | None = None) -> str:
    response = app.post(WEB_SESSION, headers=headers)
    assert response.status_code == 201, response.text
    return str(response.json["session"])


def web(app: ChannelApp, session: object, message: object) -> TestingResponse:
    return app.post_json(WEB, {"session": session, "message": message})


def new_sid() -> str:
    return f"SM{next(_sids):08d}{uuid.uuid4().hex[:24]}"


def new_phone() -> str:
    """A number no other test used (opt-outs and answered MessageSids stay in the test database)."""
    return f"+1555{uuid.uuid4().int % 10**7:07d}"


def sms(
    app: ChannelApp, phone: str, body: str, message_sid: str | None = None, signature: str | None = "sign"
) -> TestingResponse:
    """A text as Twilio posts it, signed with the channel's TWILIO_AUTH_TOKEN for the URL called."""
    params = {"From": phone, "To": "+15550000000", "Body": body, "MessageSid": message_sid or new_sid()}
    return sms_form(app, params, signature)


def sms_form(app: ChannelApp, params: dict[str, str], signature: str | None = "sign") -> TestingResponse:
    headers = {}
    if signature == "sign":
        validator = RequestValidator(load_settings().twilio_auth_token)
        headers["X-Twilio-Signature"] = validator.compute_signature(app.url(SMS), params)
    elif signature:
        headers["X-Twilio-Signature"] = signature
    return app.post(SMS, data=params, headers=headers)


def twiml_texts(response: TestingResponse) -> list[str]:
    """The texts of a TwiML answer (one per <Message>; none when the channel stays quiet)."""
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/xml")
    return [m.text or "" for m in ET.fromstring(response.text).iter("Message")]


def joined(replies: list[dict[str, Any]]) -> str:
    return "\n".join(r.get("text") or "" for r in replies)
