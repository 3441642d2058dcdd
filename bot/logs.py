"""Logging that never carries what a patient wrote.

Patient text reaches log lines in three ways, each closed here or at its source:
- exception messages and tracebacks: a database error quotes the statement's
  parameters, an action server's 500 answer quotes the tracker, a `KeyError`
  quotes its key. Every record's exception is replaced by its types and the
  place it was raised (`TypeError at actions/actions.py:88`), never its message;
  so are exceptions passed as the message or as arguments.
- SQL parameters: every engine is created with `hide_parameters=True` (bot/db.py,
  bot/rasa/stores.py), so even an exception rendered elsewhere has none.
- DEBUG records (Rasa logs each message's text at DEBUG): refused outside
  development (`check_level`).

Installed as the process's LogRecord factory, so it covers Rasa's, Sanic's and
rasa_sdk's loggers whatever handlers they configure later.
"""

from __future__ import annotations

import logging
import traceback
from pathlib import Path
from types import TracebackType
from typing import Any

from bot.settings import DEVELOPMENT, Settings

_default_factory = logging.getLogRecordFactory()


def describe(error: BaseException) -> str:
    """Types and raise sites of an exception and its causes; no message, which may quote patient text."""
    parts: list[str] = []
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen and len(parts) < 5:
        seen.add(id(current))
        parts.append(f"{type(current).__name__}{_where(current.__traceback__)}")
        current = current.__cause__ or current.__context__
    return " <- ".join(parts) + " (message withheld)"


def _where(tb: TracebackType | None) -> str:
    frames = traceback.extract_tb(tb) if tb else []
    if not frames:
        return ""
    last = frames[-1]
    return f" at {Path(last.filename).name}:{last.lineno} in {last.name}"


def redact(record: logging.LogRecord) -> logging.LogRecord:
    """The record with exception details reduced to `describe`."""
    if isinstance(record.msg, BaseException):
        record.msg = describe(record.msg)
    if record.args:
        if isinstance(record.args, tuple):
            record.args = tuple(describe(a) if isinstance(a, BaseException) else a for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {k: describe(v) if isinstance(v, BaseException) else v for k, v in record.args.items()}
    if record.exc_info and isinstance(record.exc_info, tuple) and record.exc_info[1] is not None:
        summary = describe(record.exc_info[1])
        record.msg = f"{record.msg} [{summary}]" if isinstance(record.msg, str) else summary
        record.exc_info, record.exc_text = None, None
    return record


def _redacting_factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
    return redact(_default_factory(*args, **kwargs))


def install() -> None:
    """Redact every log record this process creates from now on."""
    logging.setLogRecordFactory(_redacting_factory)


def check_level(settings: Settings) -> None:
    """DEBUG logs message text: refuse it anywhere but development."""
    if settings.log_level == "DEBUG" and settings.env != DEVELOPMENT:
        raise SystemExit(
            "LOG_LEVEL=DEBUG logs what patients write; it is refused with BOT_ENV="
            f"{settings.env}. Use INFO (the default) or run in development."
        )
