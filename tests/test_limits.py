"""Per-sender and per-address rate limits on every channel, against a running bot.

The bot runs with RATE_LIMIT_PER_SENDER=20 (the default), RATE_LIMIT_PER_ADDRESS=100
and SMS_ADDRESS_RATE_LIMIT=50. Each test talks from its own loopback address
(127.0.0.x), so the limits it exhausts belong to it alone. Empty messages are
answered without Rasa, so they make the per-address limits quick to reach.
(The per-sender SMS limit is in tests/test_sms.py.)
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
from requests_toolbelt.adapters.source import SourceAddressAdapter

from bot import messages
from bot.settings import load_settings
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
