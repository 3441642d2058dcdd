"""Short-lived shared state for the channels: rate-limit hits and per-sender memory.

In process memory by default (one Rasa server); in Redis when REDIS_URL is set,
so every replica behind a load balancer sees the same counters, numbered
choices and "MORE" text. Everything here expires: nothing is kept for good.
A Redis outage must not stop patients getting answers, so callers treat a
failing store as empty (see `Unavailable`).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections import deque
from functools import cache
from typing import Protocol

from bot.settings import load_settings

log = logging.getLogger(__name__)


class Unavailable(Exception):
    """The shared store could not be reached."""


class State(Protocol):
    async def hit(self, key: str, window: int, cap: int) -> int: ...
    async def get(self, key: str) -> str | None: ...
    async def set(self, key: str, value: str, ttl: int) -> None: ...


class MemoryState:
    """One process's state; expired keys are swept as new ones arrive, so memory stays bounded by traffic."""

    def __init__(self) -> None:
        self._values: dict[str, tuple[float, str]] = {}
        self._hits: dict[str, deque[float]] = {}
        self._next_sweep = 0.0

    def _sweep(self, now: float) -> None:
        if now >= self._next_sweep:
            self._values = {k: v for k, v in self._values.items() if v[0] > now}
            self._hits = {k: v for k, v in self._hits.items() if v and v[-1] > now - 3600}
            self._next_sweep = now + 30

    def _live(self, key: str, now: float) -> str | None:
        entry = self._values.get(key)
        return entry[1] if entry and entry[0] > now else None

    async def hit(self, key: str, window: int, cap: int) -> int:
        now = time.monotonic()
        self._sweep(now)
        hits = self._hits.setdefault(key, deque(maxlen=cap))
        while hits and hits[0] <= now - window:
            hits.popleft()
        hits.append(now)
        return len(hits)

    async def get(self, key: str) -> str | None:
        return self._live(key, time.monotonic())

    async def set(self, key: str, value: str, ttl: int) -> None:
        now = time.monotonic()
        self._sweep(now)
        self._values[key] = (now + ttl, value)


class RedisState:
    """State in Redis (REDIS_URL), shared by every Rasa replica."""

    def __init__(self, url: str, prefix: str = "mcbot:") -> None:
        from redis.asyncio import Redis

        self._redis = Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1, decode_responses=True)
        self._prefix = prefix

    async def _call(self, coroutine):
        try:
            return await asyncio.wait_for(coroutine, timeout=2)
        except Exception as error:  # connection refused, timeout, Redis error
            raise Unavailable(str(error)) from error

    async def hit(self, key: str, window: int, cap: int) -> int:
        async def record() -> int:
            now, name = time.time(), self._prefix + key
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.zremrangebyscore(name, 0, now - window)
                pipe.zadd(name, {f"{now:.6f}:{secrets.token_hex(4)}": now})
                pipe.zremrangebyrank(name, 0, -cap - 1)  # keep at most `cap` hits
                pipe.zcard(name)
                pipe.expire(name, window)
                results = await pipe.execute()
            return int(results[3])

        return await self._call(record())

    async def get(self, key: str) -> str | None:
        return await self._call(self._redis.get(self._prefix + key))

    async def set(self, key: str, value: str, ttl: int) -> None:
        await self._call(self._redis.set(self._prefix + key, value, ex=ttl))


@cache
def shared_state() -> State:
    """The state store for this process (created on first use, inside the server's event loop)."""
    url = load_settings().redis_url
    return RedisState(url) if url else MemoryState()
