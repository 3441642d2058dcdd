"""Per-sender and per-address rate limits on every channel, against a running bot, and
the behaviour of the limiter and the GSM-7 check in-process (issue 14: why they are not
`limits` and `gsm0338`, docs/quality.md).

The bot runs with RATE_LIMIT_PER_SENDER=20 (the default), RATE_LIMIT_PER_ADDRESS=100
and SMS_ADDRESS_RATE_LIMIT=50. Each test talks from its own loopback address
(127.0.0.x), so the limits it exhausts belong to it alone. Empty messages are
answered without Rasa, so they make the per-address limits quick to reach.
(The per-sender SMS limit is in tests/test_sms.py.)
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from types import SimpleNamespace

import gsm0338  # noqa: F401  (registers the "gsm03.38" codec, the reference for the GSM-7 table)
import pytest
import requests
from requests_toolbelt.adapters.source import SourceAddressAdapter

import bot.ratelimit
import bot.state
from bot import messages
from bot.channels.sms.text import is_gsm7, length, segments
from bot.ratelimit import RateLimiter
from bot.settings import load_settings
from bot.state import MemoryState, RedisState
from tests.conftest import Servers, start_bot, stop_bot

PER_ADDRESS, SMS_PER_ADDRESS = 100, 50


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    limited = start_bot(
        tmp_path_factory.mktemp("limits"),
        RATE_LIMIT_PER_SENDER="20",
        RATE_LIMIT_PER_ADDRESS=str(PER_ADDRESS),
        SMS_ADDRESS_RATE_LIMIT=str(SMS_PER_ADDRESS),
    )
    yield limited
    stop_bot(limited)


def client(address: str) -> requests.Session:
    session = requests.Session()
    adapter = SourceAddressAdapter(address)
    session.mount("http://", adapter)
    return session


def assert_polite_429(response: requests.Response) -> None:
    assert response.status_code == 429
    assert 1 <= int(response.headers["Retry-After"]) <= 60
    assert response.json()["error"] == messages.fill(messages.RATE_LIMITED)
    assert load_settings().care_team_phone in response.json()["error"]


def rest(session: requests.Session, servers, sender: str, text: str = "") -> requests.Response:
    return session.post(servers.webhook, json={"sender": sender, "message": text}, timeout=30)


def test_rest_per_sender(servers):
    session = client("127.0.0.11")
    for _ in range(20):
        assert rest(session, servers, "limit-sender").status_code == 200
    assert_polite_429(rest(session, servers, "limit-sender"))
    # Another sender from the same address is not affected.
    assert rest(session, servers, "limit-other", "what is lymph?").status_code == 200


def test_rest_per_address(servers):
    session = client("127.0.0.12")
    statuses = [rest(session, servers, f"addr-{i}").status_code for i in range(PER_ADDRESS)]
    assert statuses == [200] * PER_ADDRESS
    assert_polite_429(rest(session, servers, "addr-new"))
    # The limit is per address: 127.0.0.1 is still answered.
    assert servers.say("addr-elsewhere", "what is lymph?")[0]["text"].startswith("Lymph is a clear fluid")


def web_session(session: requests.Session, servers) -> requests.Response:
    return session.post(f"{servers.base}/webhooks/web/session", timeout=10)


def test_web_per_sender(servers):
    session = client("127.0.0.13")
    token = web_session(session, servers).json()["session"]
    url = f"{servers.base}/webhooks/web/webhook"
    for _ in range(20):
        assert session.post(url, json={"session": token, "message": "hi"}, timeout=30).status_code == 200
    response = session.post(url, json={"session": token, "message": "hi"}, timeout=30)
    assert_polite_429(response)


def test_web_per_address_covers_new_sessions(servers):
    session = client("127.0.0.14")
    assert all(web_session(session, servers).status_code == 201 for _ in range(PER_ADDRESS))
    assert_polite_429(web_session(session, servers))


def test_sms_per_address(servers):
    session = client("127.0.0.15")
    url = f"{servers.base}/webhooks/sms/webhook"
    statuses = [session.post(url, data={"Body": "hi"}, timeout=10).status_code for _ in range(SMS_PER_ADDRESS + 1)]
    assert statuses[:-1] == [403] * SMS_PER_ADDRESS  # unsigned requests count too: a flood is cut off
    assert statuses[-1] == 429


# --- In-process: the limiter's window and the GSM-7 table ---------------------------------


class Clock:
    now = 1000.0


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock()
    fake = SimpleNamespace(time=lambda: clock.now, monotonic=lambda: clock.now)
    monkeypatch.setattr(bot.state, "time", fake)
    monkeypatch.setattr(bot.ratelimit, "time", fake)
    return clock


def allowed(limiter: RateLimiter, clock: Clock, times: list[float], sender: str = "s") -> list[bool]:
    start, out = clock.now, []
    for at in times:
        clock.now = start + at
        out.append(asyncio.run(limiter.check(sender=sender)).allowed)
    return out


def test_a_sender_who_keeps_texting_stays_limited(clock):
    # Refused texts count too (limits' moving window forgets them and lets every
    # third text through at this rate): 30 a minute against a limit of 20.
    decisions = allowed(RateLimiter("t", 20, 0, state=MemoryState()), clock, [i * 2.0 for i in range(150)])
    assert decisions == [True] * 20 + [False] * 130


def test_the_window_is_sixty_seconds_and_refusal_is_said_once(clock):
    limiter = RateLimiter("t", 3, 0, state=MemoryState())
    assert allowed(limiter, clock, [0, 0, 0]) == [True] * 3
    refusals = [asyncio.run(limiter.check(sender="s")) for _ in range(2)]
    assert [(v.allowed, v.first_refusal, v.retry_after) for v in refusals] == [(False, True, 60), (False, False, 60)]
    # Hits exactly 60 s old have left the window.
    assert allowed(limiter, clock, [60.0, 60.0, 60.0, 60.0]) == [True, True, True, False]


def test_senders_and_addresses_are_counted_apart(clock):
    limiter = RateLimiter("t", 2, 4, state=MemoryState())
    results = [asyncio.run(limiter.check(sender=s, address="a")).allowed for s in ("x", "x", "x", "y", "z")]
    assert results == [True, True, False, True, False]  # x's third: the sender's limit; z: the address's fifth


def test_idle_senders_are_forgotten(clock):
    state = MemoryState()
    limiter = RateLimiter("t", 20, 0, state=state)
    for k in range(1000):
        allowed(limiter, clock, [0.0], sender=f"s{k}")
    clock.now += 3601
    allowed(limiter, clock, [0.0], sender="late")
    assert list(state._hits) == ["rl:t:sender:late"]


def test_an_unreachable_redis_lets_messages_through():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        url = f"redis://127.0.0.1:{s.getsockname()[1]}/0"  # nothing listens there
    limiter = RateLimiter("t", 1, 1, state=RedisState(url))
    assert all(asyncio.run(limiter.check(sender="s", address="a")).allowed for _ in range(3))


def test_the_gsm7_table_matches_the_gsm0338_codec():
    """Every character of the Basic Multilingual Plane: encodable and its septets as the codec
    says, except ESC, which the codec passes as a character but is the extension table's prefix."""
    for code in range(0x10000):
        if 0xD800 <= code < 0xE000 or code == 0x1B:
            continue
        c = chr(code)
        try:
            septets = len(c.encode("gsm03.38"))
        except UnicodeEncodeError:
            septets = 0
        assert is_gsm7(c) == bool(septets), repr(c)
        assert not septets or length(c) == septets, repr(c)
    assert not is_gsm7("\x1b")


@pytest.mark.parametrize(
    ("text", "units", "parts"),
    [
        ("a" * 160, 160, 1),
        ("a" * 161, 161, 2),
        ("€" * 80, 160, 1),  # extension characters take two septets
        ("€" * 81, 162, 2),
        ("a" * 306 + "€", 308, 3),
        ("’" * 70, 70, 1),  # a curly apostrophe: UCS-2, 70 then 67 a part
        ("’" * 71, 71, 2),
        ("😀" * 35, 70, 1),  # emoji are two UTF-16 units
        ("癌" * 135, 135, 3),
    ],
)
def test_segments(text, units, parts):
    assert (length(text), segments(text)) == (units, parts)
