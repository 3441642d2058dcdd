"""Measured fixes to Rasa 3.6 internals, applied when the Rasa server loads our channels.

Each patch keeps Rasa's behaviour and removes a cost that profiling found
(py-spy on `rasa run` under load; figures in the README's performance section).

- `RemoteAction._validate_action_result` calls `jsonschema.validate`, which
  checks Rasa's response schema against the JSON Schema meta-schema on *every*
  action call before validating the response: with jsonschema 4.17 that was 56%
  of the Rasa server's CPU per message. The same schema is now compiled once;
  responses are validated exactly as before and fail with the same error.
- `Event.resolve_by_type` walks every subclass of `Event` (with
  `inspect.isabstract` on each) for every stored event it deserialises; reading
  a conversation back from the tracker store did that ~50 times per message
  (18% of the CPU after the first fix). The class for each type name is now
  looked up once and remembered.
- `EndpointConfig.request` opens a new aiohttp session, and so a new TCP
  connection, for every call to the action server (7% of the CPU, and a
  connection set-up on every message). The session is now kept for the
  endpoint's lifetime, so calls reuse connections. A connection the action server
  closed (killed, restarted) is dropped by aiohttp and the next call reconnects.
"""

from __future__ import annotations

import asyncio
from functools import cache
from typing import Any

import aiohttp
from jsonschema import ValidationError, validators
from rasa.core.actions.action import RemoteAction
from rasa.shared.core.events import Event
from rasa.utils.endpoints import EndpointConfig

_resolve_by_type = Event.resolve_by_type
_event_classes: dict[str, type[Event]] = {}


def _cached_resolve_by_type(type_name: str, default: type[Event] | None = None) -> type[Event] | None:
    found = _event_classes.get(type_name)
    if found is None:
        found = _resolve_by_type(type_name, default)
        if found is not None and getattr(found, "type_name", None) == type_name:
            _event_classes[type_name] = found
    return found


@cache
def _action_response_validator() -> Any:
    schema = RemoteAction.action_response_format_spec()
    validator_class = validators.validator_for(schema)
    validator_class.check_schema(schema)  # once, instead of per response
    return validator_class(schema)


def _validate_action_result(self: RemoteAction, result: dict[str, Any]) -> bool:
    try:
        _action_response_validator().validate(result)
        return True
    except ValidationError as error:
        error.message += (
            ". Failed to validate Action server response from API, make sure your response "
            "from the Action endpoint is valid."
        )
        raise


_new_session = EndpointConfig.session


class _KeptSession:
    """`async with` on this yields the endpoint's session and leaves it open."""

    def __init__(self, session: aiohttp.ClientSession) -> None:
        self.session = session

    async def __aenter__(self) -> aiohttp.ClientSession:
        return self.session

    async def __aexit__(self, *_: object) -> None:
        return None


def _kept_session(self: EndpointConfig) -> _KeptSession:
    session: aiohttp.ClientSession | None = getattr(self, "_kept_session", None)
    if session is None or session.closed or session._loop is not asyncio.get_running_loop():
        session = _new_session(self)
        self._kept_session = session  # type: ignore[attr-defined]
    return _KeptSession(session)


def apply() -> None:
    EndpointConfig.session = _kept_session  # type: ignore[method-assign]
    RemoteAction._validate_action_result = _validate_action_result  # type: ignore[method-assign]
    Event.resolve_by_type = staticmethod(_cached_resolve_by_type)  # type: ignore[method-assign]
