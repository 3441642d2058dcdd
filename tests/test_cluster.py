"""The production topology on loopback (`make cluster`): PostgreSQL, Redis, 2 Rasa servers,
2 action servers, nginx in front, hardened as in production.

nginx runs deploy/nginx/nginx.conf itself (scripts/cluster.sh only puts loopback
addresses in place of the Compose service names), so what is tested here is the
production configuration. Conversations go through it on the website channel, as a
patient's would.

Proves that conversations spread over both Rasa servers keep every event, in order
(Redis lock store + PostgreSQL tracker store), that one action server may die, that
a PostgreSQL restart under load loses no acknowledged message; and that the attack
surface is what the deployment says: only the public paths through nginx, security
headers on every response, no replica chosen by a client, Redis behind a password,
the servers on PostgreSQL as an application role that cannot change the schema,
every server on 127.0.0.1 only, the action servers answering only Rasa, and no
secret on a command line.

Which replica answered: nginx returns a request id (X-Request-ID) and logs it with
the replica it used (var/cluster/logs/nginx-access.log). Nothing a client sends
chooses the replica: round robin decides, so spreading is measured, not forced.
Trackers are read from a replica's own loopback port with RASA_TOKEN (never
through nginx).

The cluster is started by scripts/cluster.sh (which installs Debian's packages when
missing) and stopped at the end; a failure to start fails the tests, and under
CI=true so does anything missing (never a skip).
"""

from __future__ import annotations

import http.client
import os
import re
import shutil
import signal
import subprocess
import threading
import time
import uuid
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlparse

import psutil
import pytest
import requests
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text as sql
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from twilio.request_validator import RequestValidator

from bot.channels.web import verify
from bot.db import MIGRATIONS, get_engine
from bot.storage import schema

ROOT = Path(__file__).resolve().parent.parent
CLUSTER = ROOT / "scripts" / "cluster.sh"
CLUSTER_DIR = ROOT / "var" / "cluster"
ACCESS_LOG = CLUSTER_DIR / "logs" / "nginx-access.log"
CONVERSATIONS = 50
SCRIPT = ["hi", "what is metastatic cancer?", "tell me more", "how is it treated?", "what is lymph?", "thanks"]
# `id=<request id> upstream="<replica>[, <replica>]"`: the last replica is the one that answered.
ACCESS_LINE = re.compile(r'id=(\w+) upstream="([^"]*)"')
APP_ROLE, OWNER_ROLE = "mcbot", "mcbot_owner"


def missing(what: str) -> None:
    """Something the test needs is not there: a failure under CI, a skip elsewhere."""
    if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
        pytest.fail(f"{what} (CI=true: a missing service is a failure)")
    pytest.skip(what)


class Cluster:
    def __init__(self, env: dict[str, str], log_offset: int) -> None:
        self.env = env
        self.url = env["CLUSTER_URL"]
        self.replicas = env["RASA_URLS"].split(",")
        self.action_servers = env["ACTION_URLS"].split(",")
        self.log_offset = log_offset

    @property
    def replica_ports(self) -> list[str]:
        return [url.rsplit(":", 1)[1] for url in self.replicas]

    # The website channel, through nginx.

    def new_session(self) -> str:
        response = requests.post(f"{self.url}/webhooks/web/session", timeout=30)
        assert response.status_code == 201, response.text
        return response.json()["session"]

    def say(self, session: str, text: str, headers: dict[str, str] | None = None) -> requests.Response:
        return requests.post(
            f"{self.url}/webhooks/web/webhook", json={"session": session, "message": text}, headers=headers, timeout=60
        )

    def conversation_id(self, session: str) -> str:
        """The web channel stores a session's conversation as `web:<the id its token signs>`."""
        session_id = verify(session, self.env["WEB_SESSION_SECRET"], max_age=24 * 3600)
        assert session_id, "a session token the cluster issued does not verify with its WEB_SESSION_SECRET"
        return f"web:{session_id}"

    # Test-only views, on loopback ports that nginx never routes.

    def tracker(self, conversation_id: str, replica: int = 0) -> dict:
        response = requests.get(
            f"{self.replicas[replica]}/conversations/{conversation_id}/tracker",
            params={"token": self.env["RASA_TOKEN"]},
            timeout=30,
        )
        response.raise_for_status()
        return response.json()

    def served_by(self, request_ids: list[str], timeout: float = 10) -> dict[str, str]:
        """The port of the Rasa server that answered each request, from nginx's access log."""
        wanted, found = set(request_ids), {}
        deadline = time.monotonic() + timeout
        while True:
            with ACCESS_LOG.open(encoding="utf-8", errors="replace") as log:
                log.seek(self.log_offset)
                for match in ACCESS_LINE.finditer(log.read()):
                    if match[1] in wanted:
                        found[match[1]] = match[2].split(", ")[-1].rsplit(":", 1)[-1]
            if wanted <= found.keys() or time.monotonic() > deadline:
                assert wanted <= found.keys(), f"{len(wanted - found.keys())} requests are not in {ACCESS_LOG}"
                return found
            time.sleep(0.2)

    def pids(self, kind: str) -> list[int]:
        """The processes of the `rasa` or `actions` servers (each server and its children)."""
        pids = []
        for pidfile in sorted(CLUSTER_DIR.glob(f"{kind}-*.pid")):
            process = psutil.Process(int(pidfile.read_text()))
            pids += [process.pid, *(child.pid for child in process.children(recursive=True))]
        assert pids, f"no {kind} server is running"
        return pids


def read_env(path: Path) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if "=" in line and not line.startswith("#"))
    return {key: value for key, value in pairs}


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    log_offset = ACCESS_LOG.stat().st_size if ACCESS_LOG.exists() else 0
    started = subprocess.run([str(CLUSTER), "start"], cwd=ROOT, capture_output=True, text=True, timeout=1200)
    if started.returncode != 0:
        subprocess.run([str(CLUSTER), "stop"], cwd=ROOT, capture_output=True, timeout=120)
        pytest.fail(f"make cluster failed:\n{started.stdout[-3000:]}\n{started.stderr[-3000:]}")
    if ACCESS_LOG.exists() and ACCESS_LOG.stat().st_size < log_offset:  # a new log file
        log_offset = 0
    yield Cluster(read_env(CLUSTER_DIR / "cluster.env"), log_offset)
    stopped = subprocess.run([str(CLUSTER), "stop"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert stopped.returncode == 0, stopped.stderr


def user_texts(tracker: dict) -> list[str]:
    return [e["text"] for e in tracker["events"] if e["event"] == "user"]


def assert_complete_and_in_order(cluster: Cluster, conversation: str, texts: list[str]) -> None:
    for replica in (0, 1):  # both servers read the same, complete conversation
        events = cluster.tracker(conversation, replica)["events"]
        assert user_texts({"events": events}) == texts
        kinds = [e["event"] for e in events if e["event"] in ("user", "bot")]
        # Each question is answered before the next one is read: user, bot..., user, bot...
        assert kinds[0] == "user" and "user" not in kinds[-1:]
        assert all(kinds[i + 1] == "bot" for i, kind in enumerate(kinds[:-1]) if kind == "user")


# --- Conversations across replicas ---------------------------------------------------


def test_one_conversation_alternates_between_the_replicas_turn_by_turn(cluster):
    # Alone on the cluster, nginx's round robin (state shared by its workers) sends each
    # message to the other Rasa server: every turn's context crosses replicas.
    session = cluster.new_session()
    responses = [cluster.say(session, text) for text in SCRIPT]
    assert all(r.status_code == 200 for r in responses), [r.text for r in responses]
    served = cluster.served_by([r.headers["X-Request-ID"] for r in responses])
    ports = [served[r.headers["X-Request-ID"]] for r in responses]
    assert set(ports) == set(cluster.replica_ports)
    assert all(a != b for a, b in zip(ports, ports[1:], strict=False)), f"round robin should alternate: {ports}"
    replies = [r.json()[0]["text"] for r in responses]
    # "tell me more", answered by the other server, continued "what is metastatic cancer?".
    assert replies[1].startswith("A metastatic cancer, or metastatic tumor")
    assert replies[2].startswith("In general, metastatic cancer is considered an advanced form")
    conversation = cluster.conversation_id(session)
    assert_complete_and_in_order(cluster, conversation, SCRIPT)
    assert cluster.tracker(conversation)["slots"]["last_topic"] == "what_is_lymph"


def test_fifty_concurrent_conversations_spread_over_both_replicas(cluster):
    def converse(index: int) -> tuple[str, list[str], list[str]]:
        session = cluster.new_session()
        request_ids, replies = [], []
        for text in SCRIPT:
            response = cluster.say(session, text)
            assert response.status_code == 200, response.text
            replies.append(response.json()[0]["text"])
            request_ids.append(response.headers["X-Request-ID"])
        return session, request_ids, replies

    with ThreadPoolExecutor(CONVERSATIONS) as pool:
        results = list(pool.map(converse, range(CONVERSATIONS)))

    served = cluster.served_by([i for _, ids, _ in results for i in ids])
    load = Counter(served.values())
    assert set(load) == set(cluster.replica_ports), load
    # Round robin: each replica answered a fair share of the 300 messages.
    assert min(load.values()) >= 0.3 * len(served), load
    spanning = crossed_follow_ups = 0
    for session, request_ids, replies in results:
        ports = [served[i] for i in request_ids]
        spanning += len(set(ports)) == 2
        crossed_follow_ups += ports[1] != ports[2]
        assert_complete_and_in_order(cluster, cluster.conversation_id(session), SCRIPT)
        # Context held whichever replica answered "tell me more".
        assert replies[1].startswith("A metastatic cancer, or metastatic tumor")
        assert replies[2].startswith("In general, metastatic cancer is considered an advanced form")
        assert cluster.tracker(cluster.conversation_id(session))["slots"]["last_topic"] == "what_is_lymph"
    # Not forced by the client: measured. Most conversations were served by both replicas,
    # and many follow-ups were answered by the other replica than their question.
    assert spanning >= CONVERSATIONS // 2, f"only {spanning} of {CONVERSATIONS} conversations used both replicas"
    assert crossed_follow_ups >= 5, f"only {crossed_follow_ups} follow-ups crossed replicas"
    print(f"\n{spanning}/{CONVERSATIONS} conversations on both replicas; load {dict(load)}")


def test_one_action_server_killed_the_other_answers(cluster):
    pid = int((CLUSTER_DIR / "actions-5155.pid").read_text())
    victim = psutil.Process(pid)
    victim.send_signal(signal.SIGSTOP)  # hung, not just gone: nginx must time out and move on
    try:
        for _ in range(4):
            response = cluster.say(cluster.new_session(), "what is lymph?")
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
        session = cluster.new_session()
        acknowledged[session] = []
        turn = 0
        while not stop.is_set():
            text = f"{SCRIPT[turn % len(SCRIPT)]} ({turn})"
            try:
                response = cluster.say(session, text)
            except requests.RequestException:
                response = None
            if response is not None and response.status_code == 200:
                acknowledged[session].append(text)
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
    response = cluster.say(cluster.new_session(), "what is lymph?")
    assert response.status_code == 200 and "Lymph is a clear fluid" in response.json()[0]["text"]
    total = sum(len(texts) for texts in acknowledged.values())
    assert total > 50, f"too little load to mean anything ({total} acknowledged, {refused['count']} refused)"
    for session, texts in acknowledged.items():
        stored = user_texts(cluster.tracker(cluster.conversation_id(session)))
        # Every acknowledged message is stored, in the order it was sent.
        iterator = iter(stored)
        assert all(text in iterator for text in texts), (session, texts, stored)
    print(f"\nPostgreSQL restart under load: {total} acknowledged, {refused['count']} refused (503) and retried")


def test_postgres_schema_matches_the_models(cluster):
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    head = ScriptDirectory.from_config(config).get_current_head()
    # Read as the application role, which may read alembic_version but not change it.
    with get_engine(cluster.env["DATABASE_URL"]).connect() as connection:
        context = MigrationContext.configure(connection)
        assert context.get_current_revision() == head
        assert compare_metadata(context, schema()) == []


def sms(cluster: Cluster, phone: str, body: str, base: str | None = None) -> tuple[list[str], requests.Response]:
    """A signed Twilio request, through nginx or (base) straight to one replica's loopback port.

    Signed for SMS_PUBLIC_URL, the URL Twilio calls, whichever way it is delivered."""
    url = cluster.env["SMS_PUBLIC_URL"]
    form = {"From": phone, "To": "+15550000000", "Body": body, "MessageSid": f"SM{uuid.uuid4().hex}"}
    signature = RequestValidator(cluster.env["TWILIO_AUTH_TOKEN"]).compute_signature(url, form)
    target = url if base is None else f"{base}{urlparse(url).path}"
    response = requests.post(target, data=form, headers={"X-Twilio-Signature": signature}, timeout=60)
    assert response.status_code == 200, response.text
    return [m.text or "" for m in ET.fromstring(response.text).iter("Message")], response


def test_sms_memory_and_limits_are_shared_through_redis(cluster):
    phone = f"+1555{time.time_ns() % 10_000_000:07d}"
    [first], response = sms(cluster, phone, "what is metastatic cancer")
    assert "\n1. " in first
    chosen = first.split("\n1. ", 1)[1].split("\n", 1)[0]
    # "1", delivered straight to the replica that did not answer the first text: it knows
    # what choice 1 was (Redis), and answers it.
    answered = cluster.served_by([response.headers["X-Request-ID"]])[response.headers["X-Request-ID"]]
    other = next(url for url in cluster.replicas if not url.endswith(f":{answered}"))
    [second], _ = sms(cluster, phone, "1", base=other)
    assert second != first and not second.startswith("Please text a question")
    assert chosen
    # SMS_RATE_LIMIT (20 a minute) counts texts on both servers together (round robin).
    replies = [sms(cluster, phone, "hi")[0] for _ in range(19)]
    assert all(replies[:18]) and replies[18] and "please wait a minute" in replies[18][0]


# --- The attack surface ----------------------------------------------------------------

# Rasa's HTTP API and the REST channel: (method, path). All answer on a replica's own port
# (RASA_TOKEN and REST_TOKEN are set in the cluster), none through nginx.
PRIVATE = [
    ("GET", "/"),
    ("GET", "/version"),
    ("GET", "/status"),
    ("POST", "/model/parse"),
    ("GET", "/conversations/x/tracker"),
    ("POST", "/conversations/x/tracker/events"),
    ("POST", "/webhooks/rest/webhook"),
    ("GET", "/webhooks/rest/"),
]


@pytest.mark.parametrize(("method", "path"), PRIVATE, ids=[f"{m} {p}" for m, p in PRIVATE])
def test_rasas_api_and_the_rest_channel_are_404_through_nginx(cluster, method, path):
    headers = {"Authorization": f"Bearer {cluster.env['REST_TOKEN']}"}
    body = {"text": "hi", "sender": "attacker", "message": "hi"}
    # Even with the right tokens: nginx never routes these paths.
    response = requests.request(
        method,
        f"{cluster.url}{path}",
        params={"token": cluster.env["RASA_TOKEN"]},
        json=body,
        headers=headers,
        timeout=30,
    )
    assert response.status_code == 404, (path, response.status_code, response.text[:200])
    assert "rasa" not in response.text.lower() and "events" not in response.text


def test_rasas_api_does_answer_on_a_replicas_loopback_port(cluster):
    # The same paths are really there (so the 404s above are nginx's doing): the API
    # with RASA_TOKEN, the REST channel with REST_TOKEN, on 127.0.0.1 only.
    status = requests.get(f"{cluster.replicas[0]}/status", params={"token": cluster.env["RASA_TOKEN"]}, timeout=30)
    assert status.status_code == 200 and "model_file" in status.json()
    assert requests.get(f"{cluster.replicas[0]}/status", timeout=30).status_code == 401
    sender = f"rest-{time.time_ns()}"
    rest = requests.post(
        f"{cluster.replicas[1]}/webhooks/rest/webhook",
        json={"sender": sender, "message": "what is lymph?"},
        headers={"Authorization": f"Bearer {cluster.env['REST_TOKEN']}"},
        timeout=60,
    )
    assert rest.status_code == 200 and "Lymph is a clear fluid" in rest.json()[0]["text"]
    # Namespaced by channel: a REST sender cannot name a web or SMS conversation.
    assert user_texts(cluster.tracker(f"rest:{sender}")) == ["what is lymph?"]


# Paths that try to reach Rasa's API through a public location: nginx normalises them
# (dot segments, percent-encoding) before it matches, and each public location passes
# on exactly its own path.
TRICKS = [
    "/widget/../status",
    "/widget/%2e%2e/status",
    "/widget/..%2fstatus",
    "/health/../conversations/x/tracker",
    "/webhooks/web/webhook/../../../version",
    "/webhooks/web/webhook/..%2F..%2F..%2Fstatus",
    "/chat/../status",
    "//status",
    "/Status",
    "/webhooks/rest%2Fwebhook",
]


@pytest.mark.parametrize("path", TRICKS)
def test_path_tricks_do_not_reach_rasas_api(cluster, path):
    host, port = urlparse(cluster.url).hostname, urlparse(cluster.url).port
    connection = http.client.HTTPConnection(host, port, timeout=30)
    try:
        connection.request("GET", f"{path}?token={cluster.env['RASA_TOKEN']}")  # sent as is, not normalised
        response = connection.getresponse()
        body = response.read().decode("utf-8", "replace")
    finally:
        connection.close()
    assert response.status in (400, 404), (path, response.status, body[:200])
    for leak in ("Hello from Rasa", "model_file", '"version"', '"events"'):
        assert leak not in body, (path, body[:200])


def test_x_replica_from_a_client_has_no_effect(cluster):
    # The old test hook let a client pin a replica; now nginx strips the header and
    # balances round robin whatever it says.
    for pinned in ("0", "1"):
        responses = [requests.get(f"{cluster.url}/health", headers={"X-Replica": pinned}, timeout=30) for _ in range(6)]
        assert all(r.status_code == 200 for r in responses)
        served = cluster.served_by([r.headers["X-Request-ID"] for r in responses])
        assert set(served.values()) == set(cluster.replica_ports), f"X-Replica: {pinned} pinned a replica"
    session = cluster.new_session()
    responses = [cluster.say(session, "hi", headers={"X-Replica": "0"}) for _ in range(4)]
    served = cluster.served_by([r.headers["X-Request-ID"] for r in responses])
    assert set(served.values()) == set(cluster.replica_ports)


def public_responses(cluster: Cluster) -> dict[str, requests.Response]:
    """One response of each kind nginx sends: pages, webhooks, errors from Rasa and from nginx."""
    session = cluster.new_session()
    url = cluster.url
    return {
        "GET /chat": requests.get(f"{url}/chat", timeout=30),
        "GET /widget.js": requests.get(f"{url}/widget.js", timeout=30),
        "GET /widget.css": requests.get(f"{url}/widget.css", timeout=30),
        "GET /widget/": requests.get(f"{url}/widget/", timeout=30),
        "GET /health": requests.get(f"{url}/health", timeout=30),
        "POST /webhooks/web/session": requests.post(f"{url}/webhooks/web/session", timeout=30),
        "OPTIONS /webhooks/web/session": requests.options(
            f"{url}/webhooks/web/session", headers={"Origin": "https://elsewhere.test"}, timeout=30
        ),
        "POST /webhooks/web/webhook": cluster.say(session, "what is lymph?"),
        "POST /webhooks/web/webhook (bad session)": cluster.say("forged", "hi"),
        "POST /webhooks/sms/webhook (unsigned)": requests.post(
            f"{url}/webhooks/sms/webhook", data={"From": "+15550000000", "Body": "hi"}, timeout=30
        ),
        "POST /webhooks/web/webhook (2 MB)": requests.post(
            f"{url}/webhooks/web/webhook", data=b"x" * (2 * 1024 * 1024), timeout=30
        ),
        "DELETE /webhooks/web/webhook": requests.delete(f"{url}/webhooks/web/webhook", timeout=30),
        "GET /status": requests.get(f"{url}/status", timeout=30),
        "GET /webhooks/rest/webhook": requests.get(f"{url}/webhooks/rest/webhook", timeout=30),
    }


def test_every_response_carries_the_security_headers(cluster):
    responses = public_responses(cluster)
    statuses = {name: r.status_code for name, r in responses.items()}
    assert statuses["GET /chat"] == 200 and statuses["POST /webhooks/web/webhook"] == 200, statuses
    assert statuses["POST /webhooks/web/webhook (2 MB)"] == 413 and statuses["DELETE /webhooks/web/webhook"] == 403
    assert statuses["GET /status"] == 404 and statuses["POST /webhooks/sms/webhook (unsigned)"] == 403, statuses
    for name, response in responses.items():
        headers = response.headers
        # Exactly once each (requests joins repeated headers with ", ").
        assert headers.get("X-Content-Type-Options") == "nosniff", (name, dict(headers))
        assert headers.get("Referrer-Policy") == "no-referrer", (name, dict(headers))
        assert headers.get("X-Request-ID"), name
        # Plain HTTP: HSTS is sent only over TLS (deploy/nginx/nginx.conf, the Ingress).
        assert "Strict-Transport-Security" not in headers, name
        assert "X-Upstream" not in headers, name
        if "/webhooks/" in name:
            assert headers.get("Cache-Control") == "no-store", (name, dict(headers))


def redis_port(cluster: Cluster) -> int:
    return urlparse(cluster.env["REDIS_URL"]).port


def test_redis_refuses_commands_without_the_password(cluster):
    if shutil.which("redis-cli") is None:
        missing("redis-cli is not installed")
    port = str(redis_port(cluster))
    env = {k: v for k, v in os.environ.items() if k != "REDISCLI_AUTH"}
    for command in (["ping"], ["keys", "*"], ["config", "get", "requirepass"]):
        refused = subprocess.run(["redis-cli", "-p", port, *command], capture_output=True, text=True, env=env)
        assert "NOAUTH" in refused.stdout + refused.stderr, (command, refused.stdout, refused.stderr)
    wrong = subprocess.run(
        ["redis-cli", "-p", port, "ping"], capture_output=True, text=True, env={**env, "REDISCLI_AUTH": "wrong"}
    )
    assert "PONG" not in wrong.stdout
    allowed = subprocess.run(
        ["redis-cli", "-p", port, "ping"],
        capture_output=True,
        text=True,
        env={**env, "REDISCLI_AUTH": cluster.env["REDIS_PASSWORD"]},
    )
    assert allowed.stdout.strip() == "PONG"


def test_the_application_role_cannot_change_the_schema_or_the_roles(cluster):
    for setting, database in (("DATABASE_URL", "bot"), ("TRACKER_DATABASE_URL", "conversations")):
        url = cluster.env[setting]
        assert urlparse(url).username == APP_ROLE
        engine = get_engine(url)
        with engine.connect() as connection:
            role = connection.execute(
                sql(
                    "SELECT rolsuper, rolcreaterole, rolcreatedb, rolreplication, rolbypassrls"
                    " FROM pg_roles WHERE rolname = current_user"
                )
            ).one()
            assert not any(role), f"{APP_ROLE} has attributes it must not have: {role}"
            owner = connection.execute(
                sql("SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database()")
            ).scalar_one()
            assert owner == OWNER_ROLE, f"database {database} is owned by {owner}"
            tables = dict(
                connection.execute(sql("SELECT tablename, tableowner FROM pg_tables WHERE schemaname = 'public'")).all()
            )
            # Every table, Rasa's `events` included, was created by the owner (migrate), not
            # by the servers, which connect as the application role.
            assert tables and set(tables.values()) == {OWNER_ROLE}, tables
            if database == "conversations":
                assert "events" in tables
        for statement in (
            "CREATE ROLE intruder LOGIN SUPERUSER",
            "CREATE ROLE intruder",
            "CREATE DATABASE intruder",
            "CREATE TABLE intruder (id integer)",
            "ALTER ROLE current_user SUPERUSER",
            "DROP TABLE alembic_version" if database == "bot" else "DROP TABLE events",
        ):
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                with pytest.raises(DBAPIError) as refused:
                    connection.exec_driver_sql(statement)
                assert "permission denied" in str(refused.value) or "must be" in str(refused.value), statement


def test_the_servers_are_connected_to_postgres_as_the_application_role(cluster):
    # Looked at as the superuser (test-only: the servers never get its password).
    superuser = make_url(cluster.env["DATABASE_URL"]).set(
        username="postgres", password=cluster.env["PG_PASSWORD"], database="postgres"
    )
    with get_engine(superuser.render_as_string(hide_password=False)).connect() as connection:
        users = set(
            connection.execute(
                sql(
                    "SELECT DISTINCT usename FROM pg_stat_activity"
                    " WHERE datname IN ('bot', 'conversations') AND pid <> pg_backend_pid()"
                )
            ).scalars()
        )
    assert APP_ROLE in users, users
    assert not users - {APP_ROLE}, f"connected to the bot's databases as {users - {APP_ROLE}}"


def test_every_server_listens_on_loopback_only(cluster):
    ports = {
        urlparse(cluster.url).port: "nginx (public)",
        urlparse(cluster.env["ACTION_SERVER_URL"]).port: "nginx (actions)",
        urlparse(cluster.env["DATABASE_URL"]).port: "PostgreSQL",
        redis_port(cluster): "Redis",
        **{urlparse(u).port: "Rasa" for u in cluster.replicas},
        **{urlparse(u).port: "action server" for u in cluster.action_servers},
    }
    listening: dict[int, set[str]] = {}
    by_pid: dict[int, set[str]] = {}
    for connection in psutil.net_connections(kind="inet"):
        if connection.status == psutil.CONN_LISTEN:
            listening.setdefault(connection.laddr.port, set()).add(connection.laddr.ip)
            if connection.pid:
                by_pid.setdefault(connection.pid, set()).add(connection.laddr.ip)
    for port, what in ports.items():
        assert listening.get(port) == {"127.0.0.1"}, f"{what} on port {port} listens on {listening.get(port)}"
    # And nothing else any Rasa or action server process listens on is reachable from outside.
    for kind in ("rasa", "actions"):
        for pid in cluster.pids(kind):
            assert by_pid.get(pid, set()) <= {"127.0.0.1"}, f"{kind} process {pid} listens on {by_pid[pid]}"


def test_the_action_servers_answer_only_rasa(cluster):
    call = {"next_action": "action_answer", "sender_id": "attacker", "tracker": {"sender_id": "attacker", "events": []}}
    for base in (*cluster.action_servers, cluster.env["ACTION_SERVER_URL"].removesuffix("/webhook")):
        assert requests.get(f"{base}/health", timeout=10).status_code == 200, base
        assert requests.post(f"{base}/webhook", json=call, timeout=10).status_code == 401, base
        wrong = {"Authorization": "Bearer " + "0" * 64}
        assert requests.post(f"{base}/webhook", json=call, headers=wrong, timeout=10).status_code == 401, base
        assert requests.get(f"{base}/actions", timeout=10).status_code in (401, 404), base
    # Rasa has the token: an answer from the knowledge base (an action) comes back.
    response = cluster.say(cluster.new_session(), "what is lymph?")
    assert response.status_code == 200 and "Lymph is a clear fluid" in response.json()[0]["text"]


def test_no_secret_is_on_any_command_line(cluster):
    secrets = {name: value for name, value in cluster.env.items() if re.search(r"(PASSWORD|TOKEN|SECRET)$", name)}
    assert {"RASA_TOKEN", "ACTION_SERVER_TOKEN", "REDIS_PASSWORD", "PG_APP_PASSWORD"} <= set(secrets)
    short = [name for name, value in secrets.items() if len(value.encode()) < 32]
    assert not short, f"secrets shorter than 32 bytes: {short}"
    # The Rasa servers, as the issue asks: /proc/<pid>/cmdline.
    for pid in cluster.pids("rasa"):
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode("utf-8", "replace")
        assert cluster.env["RASA_TOKEN"] not in cmdline, f"RASA_TOKEN is in the command line of process {pid}"
    # And every process on the machine, for every secret of the cluster.
    for process in psutil.process_iter(["pid", "cmdline"]):
        cmdline = " ".join(process.info["cmdline"] or [])
        leaked = [name for name, value in secrets.items() if value in cmdline]
        assert not leaked, f"process {process.info['pid']} has {leaked} on its command line"
