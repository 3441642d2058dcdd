"""Per-sender and per-address rate limits, shared by every channel.

A sliding one-minute window: the hits of the last 60 seconds, kept in
`bot.state` (Redis when configured, so the limit holds across replicas). If
that store is unreachable the message is let through: a patient's question
matters more than a limit. Refused texts count too, so a sender who keeps texting
stays limited until they pause. Not `limits`' moving window: it forgets refused
texts, its memory store rescans every entry after each request and never drops a
key, and its asyncio Redis store needs coredis (measured in docs/quality.md).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from bot.state import State, Unavailable, shared_state

log = logging.getLogger(__name__)
WINDOW_SECONDS = 60


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    first_refusal: bool = False  # said once per window, then quiet (SMS costs the patient)
    retry_after: int = 0


class RateLimiter:
    """`per_sender` and `per_address` messages per minute; 0 turns a limit off."""

    def __init__(self, channel: str, per_sender: int, per_address: int, state: State | None = None) -> None:
        self.channel, self.per_sender, self.per_address = channel, per_sender, per_address
        self._state = state
        self._refused: dict[str, float] = {}

    @property
    def state(self) -> State:
        return self._state or shared_state()

    async def check(self, sender: str | None = None, address: str | None = None) -> Verdict:
        for kind, key, limit in (("address", address, self.per_address), ("sender", sender, self.per_sender)):
            if not key or limit <= 0:
                continue
            try:
                count = await self.state.hit(f"rl:{self.channel}:{kind}:{key}", WINDOW_SECONDS, cap=limit + 1)
            except Unavailable as error:
                log.warning("Rate-limit store unavailable, letting the message through: %s", error)
                return Verdict(True)
            if count > limit:
                return Verdict(False, first_refusal=self._first_refusal(kind, key), retry_after=WINDOW_SECONDS)
        return Verdict(True)

    def _first_refusal(self, kind: str, key: str) -> bool:
        """True the first time in a window that `key` is refused (said once, then quiet)."""
        now = time.monotonic()
        marker = f"{kind}:{key}"
        first = now - self._refused.get(marker, -WINDOW_SECONDS * 2) > WINDOW_SECONDS
        if first:
            self._refused[marker] = now
        if len(self._refused) > 10_000:
            self._refused = {k: t for k, t in self._refused.items() if now - t <= WINDOW_SECONDS}
        return first
