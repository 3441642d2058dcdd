"""Issue 14: the hand-written rate limiter and GSM-7 check against `limits` and `gsm0338`.

Rate limiter: `bot.ratelimit.RateLimiter` over `bot.state` (MemoryState, and RedisState
when a Redis server is there) against a limiter of the same interface written on
`limits`' MovingWindowRateLimiter (its asyncio MemoryStorage, and its RedisStorage:
limits 2.4's asyncio Redis storage needs coredis, which is not installed, so the
redis-py one runs in a thread). Same request sequences on a fake clock: agreement on
allow/deny, µs per check, memory for 10,000 keys, keys left after an hour, a Redis
outage, and the lines each needs in the project.

GSM-7: `bot.channels.sms.text` against the `gsm0338` codec ("…".encode("gsm03.38")
raising UnicodeEncodeError) on each character class and on every reply text (the
article's sentences and `bot.messages`), raw and after `to_gsm7`: disagreements on
encodability, on length in septets and on segments, and µs per check.

    .venv/bin/python scripts/compare_libraries.py [--redis-port N] [--json results/compare_libraries.json]

Without --redis-port a `redis-server` (if installed) is started on a free port and
stopped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import inspect
import json
import logging
import re
import shutil
import socket
import subprocess
import sys
import time
import timeit
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from unittest import mock

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import gsm0338  # noqa: F401,E402  (registers the "gsm03.38" codec)
import limits.aio.storage.memory  # noqa: E402
import limits.storage.memory  # noqa: E402
import limits.storage.redis  # noqa: E402
import redis  # noqa: E402
from limits import RateLimitItemPerMinute  # noqa: E402
from limits.aio.storage import MemoryStorage as AioMemoryStorage  # noqa: E402
from limits.aio.strategies import MovingWindowRateLimiter as AioMovingWindow  # noqa: E402
from limits.storage import RedisStorage  # noqa: E402
from limits.strategies import MovingWindowRateLimiter  # noqa: E402

import bot.ratelimit  # noqa: E402
import bot.state  # noqa: E402
from bot import messages  # noqa: E402
from bot.channels.sms import text as sms_text  # noqa: E402
from bot.ratelimit import WINDOW_SECONDS, RateLimiter, Verdict  # noqa: E402
from bot.state import MemoryState, RedisState  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
ARTICLE = ROOT / "bot/knowledge/content/metastatic-cancer.txt"
log = logging.getLogger("compare")


# --- The candidate: the project's limiter written on `limits` ---------------------------


class LimitsRateLimiter:
    """`RateLimiter` on limits' moving window: memory, or Redis when `redis_url` is set."""

    def __init__(self, channel: str, per_sender: int, per_address: int, redis_url: str = "") -> None:
        self.channel = channel
        self.items = {kind: RateLimitItemPerMinute(n) for kind, n in (("sender", per_sender), ("address", per_address))}
        # The strategies hold their storage by weak reference: keep it alive here.
        self._storage: Any = (
            RedisStorage(redis_url, socket_timeout=1, socket_connect_timeout=1) if redis_url else AioMemoryStorage()
        )
        self._sync = MovingWindowRateLimiter(self._storage) if redis_url else None
        self._aio = None if redis_url else AioMovingWindow(self._storage)
        self._refused: dict[str, float] = {}

    async def _hit(self, kind: str, key: str) -> bool:
        item = self.items[kind]
        if self._sync:  # redis-py blocks: off the event loop, as long as RedisState at most
            return await asyncio.wait_for(asyncio.to_thread(self._sync.hit, item, self.channel, kind, key), 2)
        return await self._aio.hit(item, self.channel, kind, key)  # type: ignore[union-attr]

    async def check(self, sender: str | None = None, address: str | None = None) -> Verdict:
        for kind, key in (("address", address), ("sender", sender)):
            if not key or self.items[kind].amount <= 0:
                continue
            try:
                allowed = await self._hit(kind, key)
            except (redis.RedisError, OSError, asyncio.TimeoutError) as error:
                log.warning("Rate-limit store unavailable, letting the message through: %s", error)
                return Verdict(True)
            if not allowed:
                first = self._first_refusal(kind, key)  # type: ignore[misc]
                return Verdict(False, first_refusal=first, retry_after=WINDOW_SECONDS)
        return Verdict(True)

    _first_refusal = RateLimiter._first_refusal  # the same once-a-window refusal


# --- A fake clock shared by every implementation ------------------------------------------


class Clock:
    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self.now = start

    def fake(self) -> SimpleNamespace:
        return SimpleNamespace(time=lambda: self.now, monotonic=lambda: self.now, perf_counter=time.perf_counter)


@contextlib.contextmanager
def frozen(clock: Clock) -> Iterator[None]:
    modules = [bot.state, bot.ratelimit, limits.aio.storage.memory, limits.storage.memory, limits.storage.redis]
    with contextlib.ExitStack() as stack:
        for module in modules:
            stack.enter_context(mock.patch.object(module, "time", clock.fake()))
        yield


# --- Scenarios: (seconds since start, key) and the limit --------------------------------

Scenario = tuple[int, list[tuple[float, str]]]


def scenarios() -> dict[str, Scenario]:
    return {
        # 30 texts in 3 seconds, limit 20.
        "burst": (20, [(i * 0.1, "a") for i in range(30)]),
        # Within the limit: 19 a minute for 5 minutes.
        "steady, under the limit": (20, [(i * 60 / 19, "a") for i in range(95)]),
        # Over it: one every 2 s (30 a minute) for 5 minutes.
        "steady, over the limit": (20, [(i * 2.0, "a") for i in range(150)]),
        # 20 at t=0, then at the window's edge.
        "window edge": (20, [(0.0, "a")] * 20 + [(59.9, "a"), (60.0, "a"), (60.1, "a"), (60.2, "a")]),
        # A flood of 40, a pause, then the sender comes back.
        "flood then pause": (
            20,
            [(i * 0.25, "a") for i in range(40)] + [(75.0 + i, "a") for i in range(25)],
        ),
        # 1,000 senders, 3 texts each, limit 2 (limits' memory storage rescans every entry
        # after each request, so 10,000 here takes minutes).
        "many keys": (2, [(k * 0.001 + r * 5.0, f"k{k}") for r in range(3) for k in range(1_000)]),
    }


Factory = Callable[[int], Any]


async def decisions(factory: Factory, limit: int, sequence: list[tuple[float, str]]) -> list[bool]:
    clock = Clock()
    start = clock.now
    with frozen(clock):
        limiter = factory(limit)
        out = []
        for at, key in sequence:
            clock.now = start + at
            out.append((await limiter.check(sender=key)).allowed)
            await asyncio.sleep(0)  # let limits' expiry task run, as between requests in the server
    return out


def implementations(redis_url: str | None) -> dict[str, Factory]:
    found: dict[str, Factory] = {
        "hand-written, memory": lambda n: RateLimiter("c", n, 0, state=MemoryState()),
        "limits, memory": lambda n: LimitsRateLimiter("c", n, 0),
    }
    if redis_url:
        prefixes = iter(range(1_000_000))
        found["hand-written, Redis"] = lambda n: RateLimiter(
            "c", n, 0, state=RedisState(redis_url, prefix=f"cmp{next(prefixes)}:")
        )
        found["limits, Redis"] = lambda n: _limits_redis(redis_url, n)
    return found


def _limits_redis(url: str, n: int) -> LimitsRateLimiter:
    redis.Redis.from_url(url).flushdb()  # a fresh namespace for each run (limits' keys have no prefix option)
    return LimitsRateLimiter("c", n, 0, redis_url=url)


async def agreement(redis_url: str | None) -> dict[str, Any]:
    impls = implementations(redis_url)
    result: dict[str, Any] = {}
    for name, (limit, sequence) in scenarios().items():
        runs = {}
        for impl, factory in impls.items():
            started = time.perf_counter()
            runs[impl] = await decisions(factory, limit, sequence)
            print(f"agreement: {name}, {impl}: {time.perf_counter() - started:.1f} s", file=sys.stderr)
        reference = runs["hand-written, memory"]
        differ = {
            impl: [at for (at, _), a, b in zip(sequence, reference, r, strict=True) if a != b]
            for impl, r in runs.items()
            if impl != "hand-written, memory"
        }
        result[name] = {
            "requests": len(sequence),
            "allowed": {impl: sum(r) for impl, r in runs.items()},
            "disagreement count": {impl: len(times) for impl, times in differ.items()},
            "first disagreements at (s)": {impl: [round(t, 2) for t in times[:6]] for impl, times in differ.items()},
        }
    return result


async def speed(redis_url: str | None) -> dict[str, dict[str, float]]:
    """µs per check, real clock, with 1,000 and 10,000 senders already counted: a new sender,
    then a busy one (at its limit). The event loop runs between checks, as in the server."""
    out: dict[str, dict[str, float]] = {}
    for name, factory in implementations(redis_url).items():
        timings = {}
        for existing in (1_000, 10_000):
            limiter = factory(20)
            for k in range(existing):
                await limiter.check(sender=f"e{k}")
            await asyncio.sleep(0)
            for label, keys in (("new sender", [f"n{i}" for i in range(500)]), ("busy sender", ["b"] * 500)):
                started = time.perf_counter()
                for key in keys:
                    await limiter.check(sender=key)
                    await asyncio.sleep(0)
                timings[f"{label}, {existing} senders"] = round((time.perf_counter() - started) / len(keys) * 1e6, 1)
        out[name] = timings
        print(f"speed: {name} {timings}", file=sys.stderr)
    return out


async def memory(redis_url: str | None) -> dict[str, Any]:
    """Bytes for 10,000 senders (1 text each, and 21 each = at the limit), and keys left an hour later."""
    out: dict[str, Any] = {}
    for name, factory in implementations(redis_url).items():
        row: dict[str, Any] = {}
        for texts in (1, 21):
            clock = Clock()
            with frozen(clock):
                if "Redis" in name:
                    client = redis.Redis.from_url(redis_url or "")
                    client.flushdb()
                    before = int(client.info("memory")["used_memory"])
                    limiter = factory(20)
                else:
                    tracemalloc.start()
                    limiter = factory(20)
                    before = tracemalloc.get_traced_memory()[0]
                for _ in range(texts):
                    for k in range(10_000):
                        await limiter.check(sender=f"+1555{k:07d}")
                    clock.now += 0.01
                if "Redis" in name:
                    used = int(client.info("memory")["used_memory"]) - before
                    keys = client.dbsize()
                else:
                    used = tracemalloc.get_traced_memory()[0] - before
                    tracemalloc.stop()
                row[f"{texts} text(s) each, KB"] = round(used / 1024)
                if texts == 1:
                    clock.now += 3601  # an hour later, one more sender
                    await limiter.check(sender="late")
                    await asyncio.sleep(0)
                    await asyncio.sleep(0)
                    if "Redis" in name:
                        row["keys left after an hour"] = f"{keys} then expired by Redis (EXPIRE 60 s)"
                    elif isinstance(limiter, LimitsRateLimiter):
                        row["keys left after an hour"] = len(limiter._storage.events)
                    else:
                        row["keys left after an hour"] = len(limiter.state._hits)
        out[name] = row
        print(f"memory: {name} {row}", file=sys.stderr)
    return out


async def outage() -> dict[str, Any]:
    """A Redis that refuses connections (a closed port): is the message let through, and how fast."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        url = f"redis://127.0.0.1:{s.getsockname()[1]}/0"
    out: dict[str, Any] = {}
    for name, limiter in (
        ("hand-written, Redis", RateLimiter("c", 20, 0, state=RedisState(url))),
        ("limits, Redis", LimitsRateLimiter("c", 20, 0, redis_url=url)),
    ):
        started = time.perf_counter()
        verdict = await limiter.check(sender="x")
        out[name] = {"allowed": verdict.allowed, "ms": round((time.perf_counter() - started) * 1000, 1)}
    storage = RedisStorage(url)  # kept: the strategy holds it by weak reference only
    for label, strategy in (
        ("limits alone", MovingWindowRateLimiter(storage)),
        ("limits, storage not kept", MovingWindowRateLimiter(RedisStorage(url))),
    ):
        try:
            strategy.hit(RateLimitItemPerMinute(20), "x")
            out[label] = "no error"
        except Exception as error:  # what a wrapper must catch
            out[label] = f"raises {type(error).__module__}.{type(error).__name__}: {str(error)[:60]}"
    return out


# --- Lines of code ---------------------------------------------------------------------


def loc(*objects: Any) -> int:
    """Non-blank, non-comment lines of source."""
    lines = []
    for obj in objects:
        lines += inspect.getsource(obj).splitlines()
    return sum(1 for line in lines if line.strip() and not line.strip().startswith("#"))


def file_loc(path: Path, pattern: str = "") -> int:
    return sum(
        1
        for line in path.read_text().splitlines()
        if line.strip() and not line.strip().startswith("#") and re.search(pattern, line)
    )


def limiter_lines() -> dict[str, int]:
    hand = (
        loc(Verdict, RateLimiter)
        + loc(MemoryState.hit, RedisState.hit)
        + 3  # MemoryState's `_hits` dict, its sweep line, State.hit in the protocol
        + 2  # WINDOW_SECONDS, the import
    )
    library = loc(Verdict, LimitsRateLimiter, RateLimiter._first_refusal) + 2 + 6  # + WINDOW_SECONDS, 6 imports
    return {"hand-written": hand, "limits": library}


# --- GSM-7 -----------------------------------------------------------------------------


def codec_is_gsm7(text: str) -> bool:
    try:
        text.encode("gsm03.38")
    except UnicodeEncodeError:
        return False
    return True


def codec_length(text: str) -> int:
    try:
        return len(text.encode("gsm03.38"))
    except UnicodeEncodeError:
        return len(text.encode("utf-16-le")) // 2


def codec_segments(text: str) -> int:
    gsm = codec_is_gsm7(text)
    n = codec_length(text)
    return 1 if n <= (160 if gsm else 70) else -(-n // (153 if gsm else 67))


CHARACTERS = {
    "basic set": "@£$¥èéùìòÇØøÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ!\"#¤%&'()*+,-./:;<=>?¡ÄÖÑÜ§¿äöñüà aZ09\n\r",
    "extension table (2 septets)": "€[]{}~^|\\\f",
    "curly quotes": "’‘“”",
    "dashes, ellipsis, bullet": "–—…•",
    "accented, not in GSM-7": "çáíóúÁÍÓÚâêîôûÈÌÒÙãõ",
    "Greek look-alikes (Latin A, B…)": "ΑΒΕΗΙΚΜΝΟΡΤΥΧΖ",
    "emoji": "😀👍❤️🙏",
    "CJK": "癌症转移",
    "control and spaces": "\x1b\t\u00a0\u2009\u200b",
}


def article_sentences() -> list[str]:
    body = ARTICLE.read_text(encoding="utf-8").split("\n---\n", 1)[-1]
    return [s.strip() for s in re.split(r"(?<=[.?!:])\s+|\n+", body) if s.strip()]


def message_strings() -> list[str]:
    out = []
    for name, value in vars(messages).items():
        if name.isupper() and isinstance(value, str):
            try:
                out.append(messages.fill(value))
            except (KeyError, IndexError, ValueError):
                out.append(value)
    return out


def gsm7(repeat: int) -> dict[str, Any]:
    per_char = {}
    for label, chars in CHARACTERS.items():
        rows = []
        for c in chars:
            hand, lib = sms_text.is_gsm7(c), codec_is_gsm7(c)
            if hand != lib or sms_text.length(c) != codec_length(c):
                rows.append({"char": repr(c), "hand": hand, "codec": lib, "len": [sms_text.length(c), codec_length(c)]})
        per_char[label] = {
            "chars": len(chars),
            "encodable (hand, codec)": [sum(map(sms_text.is_gsm7, chars)), sum(map(codec_is_gsm7, chars))],
            "disagreements": rows,
        }
    texts = {"article sentences": article_sentences(), "bot.messages": message_strings()}
    texts["whole article"] = ["\n".join(texts["article sentences"])]
    replies: dict[str, Any] = {}
    for label, items in texts.items():
        for form, convert in (("raw", lambda t: t), ("after to_gsm7", sms_text.to_gsm7)):
            converted = [convert(t) for t in items]
            replies[f"{label}, {form}"] = {
                "texts": len(converted),
                "GSM-7 (hand, codec)": [sum(map(sms_text.is_gsm7, converted)), sum(map(codec_is_gsm7, converted))],
                "encodability disagreements": sum(sms_text.is_gsm7(t) != codec_is_gsm7(t) for t in converted),
                "length disagreements": sum(sms_text.length(t) != codec_length(t) for t in converted),
                "segment disagreements": sum(sms_text.segments(t) != codec_segments(t) for t in converted),
            }
    sample = [sms_text.to_gsm7(t) for t in texts["article sentences"]]
    sample_ucs2 = [t + "😀" for t in sample]  # a non-GSM character at the end: the worst case for both

    def per_call(fn: Callable[[str], Any], items: list[str]) -> float:
        seconds = min(timeit.repeat(lambda: [fn(t) for t in items], number=repeat, repeat=3))
        return round(seconds / (repeat * len(items)) * 1e6, 2)

    mean = sum(map(len, sample)) / len(sample)
    timing = {
        f"is_gsm7, GSM-7 sentence (mean {mean:.0f} chars)": [
            per_call(sms_text.is_gsm7, sample),
            per_call(codec_is_gsm7, sample),
        ],
        "is_gsm7, sentence + emoji": [per_call(sms_text.is_gsm7, sample_ucs2), per_call(codec_is_gsm7, sample_ucs2)],
        "length, GSM-7 sentence": [per_call(sms_text.length, sample), per_call(codec_length, sample)],
        "segments, GSM-7 sentence": [per_call(sms_text.segments, sample), per_call(codec_segments, sample)],
    }
    lines = {
        "hand-written": loc(sms_text.is_gsm7, sms_text.length) + 5,  # + GSM7_BASIC (4 lines), GSM7_EXTENDED
        "gsm0338": loc(codec_is_gsm7, codec_length) + 1,  # + the import that registers the codec
    }
    return {"characters": per_char, "replies": replies, "µs per call (hand, codec)": timing, "lines": lines}


# --- Redis -----------------------------------------------------------------------------


@contextlib.contextmanager
def redis_server(port: int | None) -> Iterator[str | None]:
    if port:
        yield f"redis://127.0.0.1:{port}/0"
        return
    if not shutil.which("redis-server"):
        print("redis-server is not installed: Redis is left out", file=sys.stderr)
        yield None
        return
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        free: int = s.getsockname()[1]
    process = subprocess.Popen(
        ["redis-server", "--port", str(free), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    try:
        client = redis.Redis(port=free)
        for _ in range(100):
            with contextlib.suppress(redis.ConnectionError):
                client.ping()
                break
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{free}/0"
    finally:
        process.terminate()
        process.wait(10)


async def main_async(redis_url: str | None, repeat: int) -> dict[str, Any]:
    return {
        "redis": bool(redis_url),
        "rate limiter": {
            "agreement": await agreement(redis_url),
            "µs per check": await speed(redis_url),
            "memory, 10,000 senders": await memory(redis_url),
            "Redis refusing connections": await outage(),
            "lines": limiter_lines(),
        },
        "GSM-7": gsm7(repeat),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--redis-port", type=int, help="use this Redis instead of starting one (its db 0 is flushed)")
    parser.add_argument("--repeat", type=int, default=200, help="timing repetitions for GSM-7")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    with redis_server(args.redis_port) as url:
        result = asyncio.run(main_async(url, args.repeat))
    print(json.dumps(result, indent=2, ensure_ascii=False))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
