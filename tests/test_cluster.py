"""The production topology on loopback (`make cluster`): PostgreSQL, Redis, 2 Rasa servers,
2 action servers, nginx in front.

Proves that conversations spread over both Rasa servers keep every event, in
order (Redis lock store + PostgreSQL tracker store), that one action server may
die, and that a PostgreSQL restart under load loses no acknowledged message.
The cluster is started by scripts/cluster.sh (which installs Debian's packages
when missing) and stopped at the end; a failure to start fails the tests.
"""

from __future__ import annotations

import signal
import subprocess
import threading
import time
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil
import pytest
import requests
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from twilio.request_validator import RequestValidator

from bot.db import get_engine, schema

ROOT = Path(__file__).resolve().parent.parent
CLUSTER = ROOT / "scripts" / "cluster.sh"
CONVERSATIONS = 50
SCRIPT = ["hi", "what is metastatic cancer?", "tell me more", "how is it treated?", "what is lymph?", "thanks"]


class Cluster:
    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.url = env["CLUSTER_URL"]
        self.replicas = env["RASA_URLS"].split(",")

    def say(self, sender: str, text: str, replica: int | None = None) -> requests.Response:
        # X-Replica pins a request to one Rasa server (the harness's nginx honours it so the
        # test can alternate deterministically); without it nginx balances round robin.
        headers = {} if replica is None else {"X-Replica": str(replica)}
        return requests.post(
            f"{self.url}/webhooks/rest/webhook", json={"sender": sender, "message": text}, headers=headers, timeout=60
        )

    def tracker(self, sender: str, replica: int = 0) -> dict:
        response = requests.get(
            f"{self.replicas[replica]}/conversations/{sender}/tracker",
            params={"token": self.env["RASA_TOKEN"]},
            timeout=30,
        )
        response.raise_for_status()
        return response.json()


def read_env(path: Path) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if "=" in line and not line.startswith("#"))
    return {key: value for key, value in pairs}


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    started = subprocess.run([str(CLUSTER), "start"], cwd=ROOT, capture_output=True, text=True, timeout=1200)
    if started.returncode != 0:
        subprocess.run([str(CLUSTER), "stop"], cwd=ROOT, capture_output=True, timeout=120)
        pytest.fail(f"make cluster failed:\n{started.stdout[-3000:]}\n{started.stderr[-3000:]}")
    yield Cluster(read_env(ROOT / "var" / "cluster" / "cluster.env"))
    stopped = subprocess.run([str(CLUSTER), "stop"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert stopped.returncode == 0, stopped.stderr


def user_texts(tracker: dict) -> list[str]:
    return [e["text"] for e in tracker["events"] if e["event"] == "user"]


def test_fifty_concurrent_conversations_alternating_between_replicas(cluster):
    def converse(index: int) -> tuple[str, list[str], list[str]]:
        sender = f"cluster-{index}-{time.time_ns()}"
        served, replies = [], []
        for turn, text in enumerate(SCRIPT):
            response = cluster.say(sender, text, replica=(index + turn) % 2)
            assert response.status_code == 200, response.text
            replies.append(response.json()[0]["text"])
            served.append(response.headers["X-Upstream"])
        return sender, served, replies

    with ThreadPoolExecutor(CONVERSATIONS) as pool:
        results = list(pool.map(converse, range(CONVERSATIONS)))

    replica_ports = [url.rsplit(":", 1)[1] for url in cluster.replicas]
    for index, (sender, served, replies) in enumerate(results):
        # Every message went to the other replica than the one before it.
        assert [s.rsplit(":", 1)[1] for s in served] == [replica_ports[(index + t) % 2] for t in range(len(SCRIPT))]
        for replica in (0, 1):  # both servers read the same, complete conversation
            events = cluster.tracker(sender, replica)["events"]
            assert user_texts({"events": events}) == SCRIPT
            kinds = [e["event"] for e in events if e["event"] in ("user", "bot")]
            # Each question is answered before the next one is read: user, bot..., user, bot...
            assert kinds[0] == "user" and "user" not in kinds[-1:]
            assert all(kinds[i + 1] == "bot" for i, kind in enumerate(kinds[:-1]) if kind == "user")
        # Context crossed replicas: "tell me more", answered by the other server, continued
        # "what is metastatic cancer?" with its first follow-up.
        assert replies[1].startswith("A metastatic cancer, or metastatic tumor")
        assert replies[2].startswith("In general, metastatic cancer is considered an advanced form")
        assert cluster.tracker(sender)["slots"]["last_topic"] == "what_is_lymph"


def test_round_robin_without_pinning_uses_both_replicas(cluster):
    served = {cluster.say(f"rr-{time.time_ns()}", "hi").headers["X-Upstream"] for _ in range(6)}
    assert len(served) == 2


def test_one_action_server_killed_the_other_answers(cluster):
    pid = int((ROOT / "var" / "cluster" / "actions-5155.pid").read_text())
    victim = psutil.Process(pid)
    victim.send_signal(signal.SIGSTOP)  # hung, not just gone: nginx must time out and move on
    try:
        for _ in range(4):
            response = cluster.say(f"actions-down-{time.time_ns()}", "what is lymph?")
            assert response.status_code == 200
            assert "Lymph is a clear fluid" in response.json()[0]["text"]
    finally:
        victim.send_signal(signal.SIGCONT)


def test_postgres_restart_under_load_loses_no_acknowledged_message(cluster):
    acknowledged: dict[str, list[str]] = {}
    refused = {"count": 0}
    stop = threading.Event()
    lock = threading.Lock()

    def load(worker: int) -> None:
        sender = f"pg-restart-{worker}-{time.time_ns()}"
        acknowledged[sender] = []
        turn = 0
        while not stop.is_set():
            text = f"{SCRIPT[turn % len(SCRIPT)]} ({turn})"
            try:
                response = cluster.say(sender, text)
            except requests.RequestException:
                response = None
            if response is not None and response.status_code == 200:
                acknowledged[sender].append(text)
            else:
                assert response is None or response.status_code in (502, 503), response.text
                with lock:
                    refused["count"] += 1
                time.sleep(0.2)
            turn += 1

    threads = [threading.Thread(target=load, args=(w,)) for w in range(8)]
    for thread in threads:
        thread.start()
    time.sleep(5)
    restart = subprocess.run([str(CLUSTER), "restart-postgres"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    time.sleep(10)
    stop.set()
    for thread in threads:
        thread.join(timeout=120)
    assert restart.returncode == 0, restart.stderr

    # Service recovered by itself: new conversations are answered normally.
    response = cluster.say(f"after-restart-{time.time_ns()}", "what is lymph?")
    assert response.status_code == 200 and "Lymph is a clear fluid" in response.json()[0]["text"]
    total = sum(len(texts) for texts in acknowledged.values())
    assert total > 50, f"too little load to mean anything ({total} acknowledged, {refused['count']} refused)"
    for sender, texts in acknowledged.items():
        stored = user_texts(cluster.tracker(sender))
        # Every acknowledged message is stored, in the order it was sent.
        iterator = iter(stored)
        assert all(text in iterator for text in texts), (sender, texts, stored)
    print(f"\nPostgreSQL restart under load: {total} acknowledged, {refused['count']} refused (503) and retried")


def test_postgres_schema_matches_the_models(cluster):
    with get_engine(cluster.env["DATABASE_URL"]).connect() as connection:
        context = MigrationContext.configure(connection)
        assert context.get_current_revision() == "0002"
        assert compare_metadata(context, schema()) == []


def sms(cluster: Cluster, phone: str, body: str, replica: int) -> list[str]:
    url = f"{cluster.url}/webhooks/sms/webhook"
    form = {"From": phone, "To": "+15550000000", "Body": body, "MessageSid": f"SM{uuid.uuid4().hex}"}
    signature = RequestValidator(cluster.env["TWILIO_AUTH_TOKEN"]).compute_signature(url, form)
    response = requests.post(
        url, data=form, headers={"X-Twilio-Signature": signature, "X-Replica": str(replica)}, timeout=60
    )
    assert response.status_code == 200, response.text
    return [m.text or "" for m in ET.fromstring(response.text).iter("Message")]


def test_sms_memory_and_limits_are_shared_through_redis(cluster):
    phone = f"+1555{time.time_ns() % 10_000_000:07d}"
    [first] = sms(cluster, phone, "what is metastatic cancer", replica=0)
    assert "\n1. " in first
    chosen = first.split("\n1. ", 1)[1].split("\n", 1)[0]
    # "1" answered by the other Rasa server: it knows what choice 1 was (Redis), and answers it.
    [second] = sms(cluster, phone, "1", replica=1)
    assert second != first and not second.startswith("Please text a question")
    assert chosen
    # SMS_RATE_LIMIT (20 a minute) counts texts on both servers together.
    replies = [sms(cluster, phone, "hi", replica=turn % 2) for turn in range(19)]
    assert all(replies[:18]) and replies[18] and "please wait a minute" in replies[18][0]
