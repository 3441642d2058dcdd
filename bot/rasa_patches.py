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
- `RasaModel.load` builds DIET's weights by fitting one example with a traced
  (autograph) training function before loading the trained weights: half of the
  Rasa server's start-up. That one step now runs eagerly, which builds the same
  weights and optimizer slots without tracing; the trained weights are then
  loaded. tests/test_rasa_patches.py checks that predictions are identical with
  and without the patches.
- Tracing DIET's prediction function the first time runs TensorFlow's
  autograph, which rewrites the Python source of every layer: the other half of
  the start-up. The prediction code branches only on Python values (its
  configuration), so it is traced without autograph: the same graph, and a
  branch on a tensor would fail loudly at start-up instead of changing answers.
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
from rasa.utils.tensorflow.models import RasaModel

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


_load_model = RasaModel.load.__func__  # type: ignore[attr-defined]


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


_rasa_predict = RasaModel._rasa_predict


def _rasa_predict_without_autograph(self: RasaModel, batch_in: Any) -> Any:
    if self._tf_predict_step is None and not self._run_eagerly:
        import tensorflow as tf

        signature = self._dynamic_signature(batch_in)
        self._tf_predict_step = tf.function(self.predict_step, input_signature=signature, autograph=False)
    return _rasa_predict(self, batch_in)


def apply() -> None:
    RasaModel._rasa_predict = _rasa_predict_without_autograph  # type: ignore[method-assign]
    RasaModel.load = classmethod(_load_without_tracing)  # type: ignore[method-assign, assignment]
    EndpointConfig.session = _kept_session  # type: ignore[method-assign]
    RemoteAction._validate_action_result = _validate_action_result  # type: ignore[method-assign]
    Event.resolve_by_type = staticmethod(_cached_resolve_by_type)  # type: ignore[method-assign]
