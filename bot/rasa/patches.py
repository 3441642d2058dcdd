"""Measured fixes to Rasa 3.6 internals, applied by `python -m bot rasa-server` only.

Where: `bot/servers.py` `rasa_server()` calls `apply()` just before Rasa's own
`rasa run` starts, so the Rasa server of `python -m bot rasa-server` (and of
`python -m bot run`, which starts it as a child) runs with them. Nothing else
applies them: importing a channel, the actions or this module changes nothing in
Rasa, so tests and tools run Rasa as Rasa ships it.

Turning them off: `BOT_RASA_PATCHES=off` in the Rasa server's environment applies
none (one warning says so); Rasa then runs unmodified, only slower.

Guards: each patch names the versions it was written and measured for (Rasa
3.6.x, and jsonschema 4.17.x, aiohttp 3.9.x or TensorFlow 2.12.x where it relies
on them). If an installed version differs, that patch is skipped with a warning
naming it, and Rasa's own code runs. `apply()` returns the names of the patches
in effect and is idempotent: applying twice does not wrap anything twice.

Each patch keeps Rasa's behaviour and removes a cost that profiling found
(py-spy on `rasa run` under load; figures in the README's performance section).
tests/test_rasa_patches.py compares each with Rasa's unpatched code.

- `action-response-validator`: `RemoteAction._validate_action_result` calls
  `jsonschema.validate`, which checks Rasa's response schema against the JSON
  Schema meta-schema on *every* action call before validating the response: with
  jsonschema 4.17 that was 56% of the Rasa server's CPU per message. The same
  schema is now compiled once; responses are validated exactly as
  `jsonschema.validate` does (the same `best_match` error among several) and fail
  with the same `ValidationError` and message, Rasa's suffix included.
- `event-class-cache`: `Event.resolve_by_type` walks every subclass of `Event`
  (with `inspect.isabstract` on each) for every stored event it deserialises;
  reading a conversation back from the tracker store did that ~50 times per
  message (18% of the CPU after the first fix). The class Rasa finds for each type
  name is now remembered; unknown names, "topic" and defaults still go to Rasa's
  own lookup every time (same result, same error).
- `kept-action-session`: `EndpointConfig.request` opens a new aiohttp session, and
  so a new TCP connection, for every call to the action server (7% of the CPU, and
  a connection set-up on every message). A session like Rasa's (its headers, auth
  and timeout) is now kept for the endpoint's lifetime, so calls reuse
  connections. Like a fresh session it carries no cookies from one call to the
  next. A connection idle for IDLE_CONNECTION_SECONDS is closed, before the action
  server's own keep-alive timeout could close it under a call; one the action
  server closed (killed, restarted) is dropped by aiohttp and the next call
  reconnects.
- `diet-eager-load`: `RasaModel.load` builds DIET's weights by fitting one example
  with a traced (autograph) training function before loading the trained weights:
  half of the Rasa server's start-up. That one step now runs eagerly, which builds
  the same weights and optimizer slots without tracing; the trained weights are
  then loaded. Fine-tuning loads go to Rasa's own `load`.
- `diet-predict-without-autograph`: tracing DIET's prediction function the first
  time runs TensorFlow's autograph, which rewrites the Python source of every
  layer: the other half of the start-up. The prediction code branches only on
  Python values (its configuration), so it is traced without autograph: the same
  graph, and a branch on a tensor would fail loudly at start-up instead of
  changing answers. The test loads the trained model with and without the patches
  in fresh processes and checks that intents, confidences and entities are equal.
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import logging
import os
from dataclasses import dataclass
from functools import cache
from typing import Any

import aiohttp
from jsonschema import validators
from jsonschema.exceptions import best_match
from packaging.specifiers import SpecifierSet
from packaging.version import InvalidVersion, Version
from rasa.core.actions.action import RemoteAction
from rasa.core.constants import DEFAULT_REQUEST_TIMEOUT
from rasa.shared.constants import DOCS_BASE_URL
from rasa.shared.core.events import Event
from rasa.utils.endpoints import EndpointConfig
from rasa.utils.tensorflow.models import RasaModel

log = logging.getLogger(__name__)

SWITCH = "BOT_RASA_PATCHES"  # "off": apply none
RASA = "==3.6.*"
JSONSCHEMA = "==4.17.*"
AIOHTTP = "==3.9.*"
TENSORFLOW = "==2.12.*"


def _function(value: Any) -> Any:
    """The function inside a class attribute (staticmethod and classmethod wrap one)."""
    return getattr(value, "__func__", value)


def _rasa_own(owner: type, attribute: str) -> Any:
    """The attribute as Rasa defines it, even if an earlier import of this module replaced it."""
    value = owner.__dict__[attribute]
    return getattr(_function(value), "rasa_original", value)


# --- action-response-validator -------------------------------------------------


@cache
def _action_response_validator() -> Any:
    schema = RemoteAction.action_response_format_spec()
    validator_class = validators.validator_for(schema)  # as jsonschema.validate picks it
    validator_class.check_schema(schema)  # once, instead of per response
    return validator_class(schema)


def _validate_action_result(self: RemoteAction, result: dict[str, Any]) -> bool:
    # jsonschema.validate without re-checking the schema: the best match among the errors.
    error = best_match(_action_response_validator().iter_errors(result))
    if error is None:
        return True
    error.message += (  # Rasa's own suffix
        f". Failed to validate Action server response from API, "
        f"make sure your response from the Action endpoint is valid. "
        f"For more information about the format visit "
        f"{DOCS_BASE_URL}/custom-actions"
    )
    raise error


# --- event-class-cache ---------------------------------------------------------

_resolve_by_type = _function(_rasa_own(Event, "resolve_by_type"))
_event_classes: dict[str, type[Event]] = {}


def _cached_resolve_by_type(type_name: str, default: type[Event] | None = None) -> type[Event] | None:
    found = _event_classes.get(type_name)
    if found is None:
        found = _resolve_by_type(type_name, default)
        if found is not None and getattr(found, "type_name", None) == type_name:
            _event_classes[type_name] = found
    return found


# --- kept-action-session -------------------------------------------------------

IDLE_CONNECTION_SECONDS = 2.0  # below the action server's keep-alive timeout (Sanic's default: 5 s)


class _KeptSession:
    """`async with` on this yields the endpoint's session and leaves it open."""

    def __init__(self, session: aiohttp.ClientSession) -> None:
        self.session = session

    async def __aenter__(self) -> aiohttp.ClientSession:
        return self.session

    async def __aexit__(self, *_: object) -> None:
        return None


def _session_to_keep(endpoint: EndpointConfig) -> aiohttp.ClientSession:
    """Rasa 3.6's `EndpointConfig.session` (the same headers, auth and timeout), made to be kept."""
    auth = None
    if endpoint.basic_auth:
        auth = aiohttp.BasicAuth(endpoint.basic_auth["username"], endpoint.basic_auth["password"])
    return aiohttp.ClientSession(
        headers=endpoint.headers,
        auth=auth,
        timeout=aiohttp.ClientTimeout(total=DEFAULT_REQUEST_TIMEOUT),
        # A fresh session per call never sent a cookie from an earlier call; neither does this one.
        cookie_jar=aiohttp.DummyCookieJar(),
        # Closed idle before the action server closes it (Sanic: after 5 s), so that a call never
        # goes out on a connection the server is closing at that moment.
        connector=aiohttp.TCPConnector(keepalive_timeout=IDLE_CONNECTION_SECONDS),
    )


def _kept_session(self: EndpointConfig) -> _KeptSession:
    session: aiohttp.ClientSession | None = getattr(self, "_kept_session", None)
    if session is None or session.closed or session._loop is not asyncio.get_running_loop():
        session = _session_to_keep(self)
        self._kept_session = session
    return _KeptSession(session)


# --- diet-eager-load -----------------------------------------------------------

_load_model = _function(_rasa_own(RasaModel, "load"))


def _load_without_tracing(
    cls: type[RasaModel],
    model_file_name: str,
    model_data_example: Any,
    predict_data_example: Any = None,
    finetune_mode: bool = False,
    *args: Any,
    **kwargs: Any,
) -> RasaModel:
    if finetune_mode:
        return _load_model(cls, model_file_name, model_data_example, predict_data_example, True, *args, **kwargs)
    import tensorflow as tf
    from rasa.utils.tensorflow.constants import LEARNING_RATE, RUN_EAGERLY
    from rasa.utils.tensorflow.data_generator import RasaBatchDataGenerator

    model = cls(*args, **kwargs)
    config = kwargs.get("config", {})
    model.compile(optimizer=tf.keras.optimizers.Adam(config.get(LEARNING_RATE, 0.001)), run_eagerly=True)
    model.fit(RasaBatchDataGenerator(model_data_example, batch_size=1), verbose=False)
    model.load_weights(model_file_name)
    model.run_eagerly = config.get(RUN_EAGERLY)
    if predict_data_example:
        model.run_inference(predict_data_example)  # traces prediction once, as Rasa does
    return model


# --- diet-predict-without-autograph ----------------------------------------------

_rasa_predict = _rasa_own(RasaModel, "_rasa_predict")


def _rasa_predict_without_autograph(self: RasaModel, batch_in: Any) -> Any:
    if self._tf_predict_step is None and not self._run_eagerly:
        import tensorflow as tf

        signature = self._dynamic_signature(batch_in)
        self._tf_predict_step = tf.function(self.predict_step, input_signature=signature, autograph=False)
    return _rasa_predict(self, batch_in)


# --- applying them ---------------------------------------------------------------


@dataclass(frozen=True)
class Patch:
    name: str
    owner: type
    attribute: str
    replacement: Any  # what is set on `owner`: a function, staticmethod or classmethod
    written_for: dict[str, str]  # distribution -> the versions it was written and measured for


PATCHES: tuple[Patch, ...] = (
    Patch(
        "action-response-validator",
        RemoteAction,
        "_validate_action_result",
        _validate_action_result,
        {"rasa": RASA, "jsonschema": JSONSCHEMA},
    ),
    Patch("event-class-cache", Event, "resolve_by_type", staticmethod(_cached_resolve_by_type), {"rasa": RASA}),
    Patch("kept-action-session", EndpointConfig, "session", _kept_session, {"rasa": RASA, "aiohttp": AIOHTTP}),
    Patch(
        "diet-eager-load",
        RasaModel,
        "load",
        classmethod(_load_without_tracing),
        {"rasa": RASA, "tensorflow": TENSORFLOW},
    ),
    Patch(
        "diet-predict-without-autograph",
        RasaModel,
        "_rasa_predict",
        _rasa_predict_without_autograph,
        {"rasa": RASA, "tensorflow": TENSORFLOW},
    ),
)
for _patch in PATCHES:  # lets a later import of this module (and apply()) recognise them
    _function(_patch.replacement).rasa_patch = _patch.name
    _function(_patch.replacement).rasa_original = _rasa_own(_patch.owner, _patch.attribute)


def installed_version(distribution: str) -> str | None:
    if distribution == "tensorflow":  # installed as tensorflow, -cpu, -intel or -macos: ask the module
        import tensorflow as tf

        return str(tf.__version__)
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def _mismatches(patch: Patch) -> list[str]:
    found = []
    for distribution, versions in patch.written_for.items():
        version = installed_version(distribution)
        try:
            fits = version is not None and SpecifierSet(versions).contains(Version(version), prereleases=True)
        except InvalidVersion:
            fits = False
        if not fits:
            found.append(f"{distribution} {version or 'is not installed'}, written for {distribution}{versions}")
    return found


def is_applied(patch: Patch) -> bool:
    return getattr(_function(patch.owner.__dict__.get(patch.attribute)), "rasa_patch", None) == patch.name


def apply() -> list[str]:
    """Patch Rasa where the installed versions are those each patch was written for.

    Returns the names of the patches in effect (applied now or by an earlier call);
    none with BOT_RASA_PATCHES=off.
    """
    switch = os.environ.get(SWITCH, "").strip().lower()
    if switch == "off":
        log.warning("%s=off: Rasa runs without bot/rasa/patches.py (none of %s)", SWITCH, [p.name for p in PATCHES])
        return []
    if switch not in ("", "on"):
        log.warning("%s=%r is neither 'on' nor 'off': applying the Rasa patches", SWITCH, os.environ[SWITCH])
    applied = []
    for patch in PATCHES:
        if not is_applied(patch):
            mismatches = _mismatches(patch)
            if mismatches:
                log.warning(
                    "Rasa patch %s skipped (%s): Rasa's own %s.%s is used",
                    patch.name,
                    "; ".join(mismatches),
                    patch.owner.__name__,
                    patch.attribute,
                )
                continue
            setattr(patch.owner, patch.attribute, patch.replacement)
        applied.append(patch.name)
    log.info("Rasa patches applied: %s", applied)
    return applied
