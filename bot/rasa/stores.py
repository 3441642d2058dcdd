"""Rasa's stores, configured from the environment: conversations and conversation locks.

`LockStore`: Rasa's Redis lock store on REDIS_URL, so several Rasa servers
behind a load balancer handle one conversation's messages one at a time, in
order. Without REDIS_URL, Rasa's in-memory lock store (one server).

`ConversationStore`: Rasa's SQL tracker store on TRACKER_DATABASE_URL, with two
changes to Rasa's `SQLTrackerStore`:
- the URL comes from configuration (SQLite file by default, PostgreSQL in
  production) and the engine pings pooled connections, so a database restart
  costs no request once the database is back;
- a failure is recorded for the channel handling the message. Rasa wraps every
  tracker store in a `FailSafeTrackerStore` that, on error, starts a blank
  conversation and keeps it in memory: the patient would get an answer whose
  events are then lost. The channels check `tracker_store_failures()` and answer
  "try again" (HTTP 503) instead, so no acknowledged message is ever lost.
"""

from __future__ import annotations

import itertools
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from rasa.core.brokers.broker import EventBroker
from rasa.core.lock_store import RedisLockStore
from rasa.core.tracker_store import SQLTrackerStore, create_engine_kwargs
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import Event
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY
from rasa.utils.endpoints import EndpointConfig
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import sessionmaker
from sqlalchemy.pool import QueuePool

from bot.db import configured_engine, ensure_sqlite_directory, use_wal
from bot.settings import load_settings

log = logging.getLogger(__name__)
_failures: ContextVar[list[Exception] | None] = ContextVar("tracker_store_failures", default=None)


@contextmanager
def tracker_store_failures() -> Iterator[list[Exception]]:
    """Collects the tracker-store errors raised while one message is handled."""
    failures: list[Exception] = []
    token = _failures.set(failures)
    try:
        yield failures
    finally:
        _failures.reset(token)


def _record(error: Exception) -> None:
    failures = _failures.get()
    if failures is not None:
        failures.append(error)


class ConversationStore(SQLTrackerStore):
    """Rasa's SQL tracker store on TRACKER_DATABASE_URL (endpoints.yml: type bot.rasa.stores.ConversationStore)."""

    engine: Engine  # set by SQLTrackerStore.__init__, replaced below

    def __init__(
        self,
        domain: Domain | None = None,
        host: str | None = None,
        event_broker: EventBroker | None = None,
        **kwargs: Any,
    ) -> None:
        url = host if host and "://" in host else load_settings().tracker_database_url
        ensure_sqlite_directory(url)  # before Rasa connects
        super().__init__(domain, host=url, event_broker=event_broker, **kwargs)  # waits for the database
        self.engine.dispose()
        options = create_engine_kwargs(url)
        if make_url(url).get_backend_name() == "sqlite":
            # Keep SQLite connections open (SQLAlchemy 1.4 would open the file for every
            # message, 7% of the server's CPU). Rasa uses them from its event loop only.
            options.update(poolclass=QueuePool, connect_args={"check_same_thread": False})
        self.engine = configured_engine(url, **options)
        use_wal(self.engine)
        self.sessionmaker = sessionmaker(bind=self.engine)

    async def retrieve(self, sender_id: str) -> DialogueStateTracker | None:
        try:
            tracker = await super().retrieve(sender_id)
        except Exception as error:
            _record(error)
            raise
        if tracker is not None:
            # How many of its events are stored: `save` then needs no COUNT query.
            tracker._stored_events = len(tracker.events)
        return tracker

    async def save(self, tracker: DialogueStateTracker) -> None:
        """Rasa's `save`, cheaper: one multi-row INSERT instead of an ORM object per event,
        and no COUNT query for a tracker read by `retrieve` (it knows how many of its
        events are stored). The two were two thirds of the time spent saving."""
        try:
            await self.stream_events(tracker)
            with self.session_scope() as session:
                stored = getattr(tracker, "_stored_events", None)
                if stored is None:  # a tracker this store did not read: ask the database
                    new = self._additional_events(session, tracker)
                else:
                    new = itertools.islice(tracker.events, stored, None)
                rows = [self._row(tracker.sender_id, event) for event in new]
                if rows:
                    session.execute(self.SQLEvent.__table__.insert(), rows)
                session.commit()
            tracker._stored_events = len(tracker.events)
        except Exception as error:
            _record(error)
            raise

    @staticmethod
    def _row(sender_id: str, event: Event) -> dict[str, Any]:
        data = event.as_dict()
        return {
            "sender_id": sender_id,
            "type_name": event.type_name,
            "timestamp": data.get("timestamp"),
            "intent_name": data.get("parse_data", {}).get("intent", {}).get(INTENT_NAME_KEY),
            "action_name": data.get("name"),
            "data": json.dumps(data),
        }


class LockStore(RedisLockStore):
    """Rasa's Redis lock store on REDIS_URL (endpoints.yml: type bot.rasa.stores.LockStore)."""

    def __init__(self, endpoint_config: EndpointConfig | None = None) -> None:
        import redis

        url = load_settings().redis_url
        if not url:
            raise SystemExit("The Redis lock store needs REDIS_URL, e.g. redis://127.0.0.1:6379/1.")
        super().__init__(host="", key_prefix="mcbot")  # no connection is made until first use
        self.red = redis.StrictRedis.from_url(url, socket_timeout=10)
