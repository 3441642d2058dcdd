"""The deployment files (Dockerfile, deploy/compose.yaml, deploy/k8s/, deploy/nginx/) against the code.

Nothing here starts a container: the files are parsed and compared with what the
project really reads and runs, so that a renamed setting, a removed subcommand or a
wrong port fails here instead of in someone's cluster. docs/deploy.md says what else
was validated, and how.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import re
import shlex
import shutil
import subprocess
from functools import cache
from pathlib import Path
from unittest import mock
from urllib.parse import urlparse

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = ROOT / "Dockerfile"
DEPLOY = ROOT / "deploy"
COMPOSE = DEPLOY / "compose.yaml"
EXAMPLE_ENV = DEPLOY / "example.env"
NGINX_CONF = DEPLOY / "nginx" / "nginx.conf"
POSTGRES_INIT = DEPLOY / "postgres" / "create-databases.sql"
K8S = DEPLOY / "k8s"
SECRET_TEMPLATE = K8S / "secret.example.yaml"
CLUSTER_SCRIPT = ROOT / "scripts" / "cluster.sh"
DEPLOY_DOC = ROOT / "docs" / "deploy.md"
APP_IMAGE = "metastatic-faq"  # the image built from the Dockerfile, in compose and k8s

# Resident memory measured per process (MB); limits must leave room above it.
MEASURED_RSS_MB = {"rasa": 800, "actions": 150}


# --- what the project reads and runs ----------------------------------------------


@cache
def project_env_names() -> frozenset[str]:
    """Environment variables the project reads: bot/settings.py, plus os.environ uses elsewhere."""
    settings = (ROOT / "bot" / "settings.py").read_text()
    # os.environ.get("NAME", ...), _int("NAME", ...), or any helper taking the name first.
    names = set(re.findall(r"""\b[\w.]+\(\s*["']([A-Z][A-Z0-9_]+)["']""", settings))
    direct = re.compile(
        r"""os\.(?:environ\.get|getenv)\(\s*["']([A-Z][A-Z0-9_]+)["']|os\.environ\[\s*["']([A-Z][A-Z0-9_]+)"""
    )
    for path in [*(ROOT / "bot").rglob("*.py"), *(ROOT / "actions").rglob("*.py")]:
        for found in direct.findall(path.read_text()):
            names.update(n for n in found if n)
    return frozenset(names)


@cache
def sanic_settings() -> frozenset[str]:
    from sanic.config import DEFAULT_CONFIG

    return frozenset(DEFAULT_CONFIG)


def is_read(name: str) -> bool:
    """Read by the project, or a real Sanic setting (Sanic loads SANIC_<SETTING> itself)."""
    if name.startswith("SANIC_"):
        return name.removeprefix("SANIC_") in sanic_settings()
    return name in project_env_names()


@cache
def cli_parser() -> argparse.ArgumentParser:
    """The parser `python -m bot` uses, captured from bot.cli.main without running a command."""
    import bot.cli

    class Captured(Exception):
        pass

    captured: list[argparse.ArgumentParser] = []

    def capture(self: argparse.ArgumentParser, *args: object, **kwargs: object) -> None:
        captured.append(self)
        raise Captured

    with mock.patch.object(argparse.ArgumentParser, "parse_known_args", capture), contextlib.suppress(Captured):
        bot.cli.main([])
    assert captured, "bot.cli.main() did not parse its arguments with argparse"
    return captured[0]


def cli_subcommands() -> set[str]:
    parser = cli_parser()
    return {
        name for action in parser._actions if isinstance(action, argparse._SubParsersAction) for name in action.choices
    }


def check_cli_args(argv: list[str], where: str) -> None:
    """`python -m bot <argv>` must parse (subcommand and options), as the container would run it."""
    stderr = io.StringIO()
    try:
        with contextlib.redirect_stderr(stderr):
            cli_parser().parse_args(argv)
    except SystemExit:
        pytest.fail(f"{where}: `python -m bot {shlex.join(argv)}` is refused by bot/cli.py: {stderr.getvalue()}")


def bot_invocations(command: list[str] | str) -> list[list[str]]:
    """The argument lists given to `python -m bot` by a container command (exec form or `sh -c`)."""
    words = shlex.split(command) if isinstance(command, str) else [str(w) for w in command]
    if len(words) >= 3 and Path(words[0]).name in {"sh", "bash"} and words[1] == "-c":
        return [argv for part in re.split(r"&&|\|\||;", words[2]) for argv in bot_invocations(part)]
    for i in range(len(words) - 2):
        if Path(words[i]).name.startswith("python") and words[i + 1 : i + 3] == ["-m", "bot"]:
            return [words[i + 3 :]]
    return []


def expand(argv: list[str], env: dict[str, str]) -> list[str]:
    """Replace ${NAME} and $(NAME) with the value the deployment gives NAME."""
    return [re.sub(r"\$\{(\w+)\}|\$\((\w+)\)", lambda m: env.get(m[1] or m[2], m[0]), word) for word in argv]


# --- the files ------------------------------------------------------------------


def load_all(path: Path) -> list[dict]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc is not None]


@cache
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def compose_value(value: object) -> str:
    """A compose environment value with ${NAME:-default} taken at its default."""
    text = str(value)
    text = re.sub(r"\$\{\w+:?-([^}]*)\}", r"\1", text)
    return re.sub(r"\$\{(\w+)(?::?\?[^}]*)?\}", r"<\1>", text)


def service_env(service: dict) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {name: compose_value(value) for name, value in env.items()}


def app_services() -> dict[str, dict]:
    return {
        name: service
        for name, service in compose()["services"].items()
        if "build" in service or str(service.get("image", "")).split(":")[0] == APP_IMAGE
    }


def replicas(service: dict) -> int:
    return int((service.get("deploy") or {}).get("replicas", 1))


@cache
def k8s_resources() -> list[dict]:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    return [doc for name in kustomization["resources"] for doc in load_all(K8S / name)]


def k8s(kind: str, name: str) -> dict:
    found = [d for d in k8s_resources() if d["kind"] == kind and d["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind} {name!r} in deploy/k8s, found {len(found)}"
    return found[0]


def pod_spec(resource: dict) -> dict:
    spec = resource["spec"]
    if resource["kind"] == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    return spec["template"]["spec"]


def workloads() -> list[dict]:
    return [d for d in k8s_resources() if d["kind"] in {"Deployment", "Job", "CronJob"}]


@cache
def configmap() -> dict[str, str]:
    return k8s("ConfigMap", "bot-config")["data"]


# The Secrets: the servers' (bot-secrets) and the owner role's, for the migrate Job only.
APP_SECRET, MIGRATION_SECRET = "bot-secrets", "bot-migration-secrets"


@cache
def secret_templates() -> dict[str, dict[str, str]]:
    secrets = {doc["metadata"]["name"]: doc for doc in load_all(SECRET_TEMPLATE)}
    assert set(secrets) == {APP_SECRET, MIGRATION_SECRET}
    assert all(doc["kind"] == "Secret" for doc in secrets.values())
    return {name: doc["stringData"] for name, doc in secrets.items()}


def secret_template() -> dict[str, str]:
    """Every key of both Secret templates."""
    return {key: value for data in secret_templates().values() for key, value in data.items()}


def env_file(path: Path) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if line.strip() and line[0] != "#")
    return {name.strip(): value.strip() for name, value in pairs}


def mebibytes(quantity: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)([A-Za-z]*)", str(quantity)).groups()
    return float(number) * {"Mi": 1, "Gi": 1024, "M": 1e6 / 2**20, "G": 1e9 / 2**20, "": 1 / 2**20}[unit]


def nginx_blocks(kind: str) -> dict[str, str]:
    """`upstream NAME { ... }` bodies of deploy/nginx/nginx.conf, by name (no nested blocks inside)."""
    return dict(re.findall(kind + r"\s+(\S+)\s*\{([^}]*)\}", NGINX_CONF.read_text()))


def nginx_children(text: str) -> list[tuple[str, str]]:
    """The blocks directly inside `text`, as (header, body): `server`, `location = /chat`, ..."""
    text = re.sub(r"#[^\n]*", "", text)
    blocks, depth, start, header_start = [], 0, 0, 0
    for i, char in enumerate(text):
        if char == "{":
            if depth == 0:
                header_start = max(text.rfind(";", 0, i), text.rfind("}", 0, i)) + 1
                start = i + 1
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                blocks.append((" ".join(text[header_start : start - 1].split()), text[start:i]))
    return blocks


def nginx_top_level(body: str) -> str:
    """A block's own directives, without the blocks nested in it."""
    out, depth = [], 0
    for char in re.sub(r"#[^\n]*", "", body):
        depth += char == "{"
        if depth == 0:
            out.append(char)
        depth -= char == "}"
    return "".join(out)


def nginx_http() -> str:
    (http,) = [body for header, body in nginx_children(NGINX_CONF.read_text()) if header == "http"]
    return http


def nginx_servers() -> list[str]:
    """The text of each `server { ... }` block."""
    return [body for header, body in nginx_children(nginx_http()) if header == "server"]


def nginx_public_server() -> str:
    (public,) = [s for s in nginx_servers() if re.search(r"proxy_pass\s+http://rasa\b", s)]
    return public


def nginx_locations(server: str) -> dict[str, str]:
    """`location` blocks of a server by what they match: "= /chat", "/widget/", ..."""
    return {header.removeprefix("location ").strip(): body for header, body in nginx_children(server)}


# --- tests ----------------------------------------------------------------------

YAML_FILES = sorted(p for p in DEPLOY.rglob("*") if p.suffix in {".yaml", ".yml"})


def test_the_deployment_files_exist() -> None:
    for path in (DOCKERFILE, ROOT / ".dockerignore", COMPOSE, EXAMPLE_ENV, NGINX_CONF, SECRET_TEMPLATE, DEPLOY_DOC):
        assert path.is_file(), f"{path.relative_to(ROOT)} is missing"
    assert len(YAML_FILES) >= 10


@pytest.mark.parametrize("path", YAML_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_yaml_file_parses(path: Path) -> None:
    documents = load_all(path)
    assert documents, f"{path.relative_to(ROOT)} is empty"
    if path.parent == K8S and path.name != "kustomization.yaml":
        for doc in documents:
            assert {"apiVersion", "kind", "metadata"} <= doc.keys(), f"{path.name}: not a Kubernetes object"
            assert doc["metadata"].get("name"), f"{path.name}: a {doc['kind']} without a name"


def test_kustomization_lists_every_manifest_but_never_the_secret_template() -> None:
    listed = yaml.safe_load((K8S / "kustomization.yaml").read_text())["resources"]
    on_disk = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml", SECRET_TEMPLATE.name}
    assert SECRET_TEMPLATE.name not in listed, "kubectl apply -k would create a Secret with placeholder values"
    assert set(listed) == on_disk, "deploy/k8s/kustomization.yaml and the files beside it differ"


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")
def test_kustomize_builds_the_manifests() -> None:
    result = subprocess.run(["kubectl", "kustomize", str(K8S)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    built = [d for d in yaml.safe_load_all(result.stdout) if d]
    assert all(d["metadata"].get("namespace") == "metastatic-faq" for d in built if d["kind"] != "Namespace")
    workloads_built = [d for d in built if d["kind"] in {"Deployment", "Job", "CronJob"}]
    images = {c["image"] for d in workloads_built for c in pod_spec(d)["containers"]}
    assert len(images) == 1 and APP_IMAGE in images.pop(), "every workload runs the one image, set in kustomization"


# Environment variable names: every one set anywhere is one the project (or Sanic) reads.


def env_names_set() -> dict[str, set[str]]:
    sources: dict[str, set[str]] = {}
    for name, service in app_services().items():
        sources[f"deploy/compose.yaml service {name}"] = set(service_env(service))
    sources["deploy/k8s ConfigMap bot-config"] = set(configmap())
    sources["deploy/k8s/secret.example.yaml"] = set(secret_template())
    for workload in workloads():
        for container in pod_spec(workload)["containers"]:
            where = f"deploy/k8s {workload['kind']} {workload['metadata']['name']}"
            sources[where] = {item["name"] for item in container.get("env", [])}
    return sources


@pytest.mark.parametrize("where", sorted(env_names_set()))
def test_every_environment_variable_set_is_read_by_the_project(where: str) -> None:
    unknown = sorted(name for name in env_names_set()[where] if not is_read(name))
    assert not unknown, f"{where} sets {unknown}, which nothing in bot/ (or Sanic) reads"


def test_the_proxy_settings_reach_sanic() -> None:
    for where, env in [("ConfigMap", configmap()), *((n, service_env(s)) for n, s in app_services().items())]:
        if "BOT_PORT" in env:  # a Rasa server
            assert env.get("SANIC_PROXIES_COUNT") == "1", where
            assert env.get("SANIC_REAL_IP_HEADER", "").lower() == "x-real-ip", where


def test_the_example_env_file_feeds_the_compose_file_and_nothing_else() -> None:
    text = COMPOSE.read_text()
    interpolated = set(re.findall(r"\$\{(\w+)", text))
    required = set(re.findall(r"\$\{(\w+):?\?", text))
    example = env_file(EXAMPLE_ENV)
    assert set(example) <= interpolated, f"example.env sets names compose.yaml ignores: {set(example) - interpolated}"
    assert required <= set(example), f"compose.yaml requires names example.env lacks: {required - set(example)}"
    # Anything else it sets goes into a bot container under the same name, so must be read.
    app_names = set().union(*(service_env(s) for s in app_services().values()))
    assert all(is_read(name) for name in set(example) & app_names)
    for name in COMPOSE_SECRETS:
        assert example[name].startswith("replace-with"), f"example.env must hold a placeholder for {name}"
    # Optional, off when empty; SMS_PUBLIC_URL is required (compose stops while it is empty).
    for name in ("RASA_TOKEN", "REST_TOKEN", "SMS_PUBLIC_URL"):
        assert example[name] == "", f"example.env: {name} must be listed, empty"
    assert "SMS_PUBLIC_URL" in required


# Every secret compose needs, in example.env with a placeholder.
COMPOSE_SECRETS = (
    "POSTGRES_PASSWORD",
    "BOT_DB_OWNER_PASSWORD",
    "BOT_DB_PASSWORD",
    "REDIS_PASSWORD",
    "ACTION_SERVER_TOKEN",
    "WEB_SESSION_SECRET",
    "TWILIO_AUTH_TOKEN",
    "SENDER_ID_SECRET",
)


def test_the_secret_template_holds_placeholders_and_matches_its_kubectl_command() -> None:
    values = secret_template()
    assert all("REPLACE" in value for value in values.values()), "the Secret template must hold no real value"
    text = SECRET_TEMPLATE.read_text()
    in_command = set(re.findall(r"--from-literal=(\w+)=", text))
    assert in_command == set(values), "the kubectl create secret commands and the template list different keys"
    app = secret_templates()[APP_SECRET]
    for key in (
        "DATABASE_URL",
        "TRACKER_DATABASE_URL",
        "REDIS_URL",
        "WEB_SESSION_SECRET",
        "TWILIO_AUTH_TOKEN",
        "SENDER_ID_SECRET",
        "ACTION_SERVER_TOKEN",
    ):
        assert key in app, f"{APP_SECRET} lacks {key}"
    assert set(secret_templates()[MIGRATION_SECRET]) == {"MIGRATION_DATABASE_URL", "MIGRATION_TRACKER_DATABASE_URL"}
    # The optional tokens are documented there (setting them turns an API on, so no placeholder).
    for key in ("RASA_TOKEN", "REST_TOKEN"):
        assert re.search(rf"^#\s+{key}\b", text, re.M), f"secret.example.yaml must describe the optional {key}"
    # Secrets never sit in the ConfigMap or the compose file in clear.
    assert not set(values) & set(configmap())


def test_secret_and_config_references_exist() -> None:
    for workload in workloads():
        for container in pod_spec(workload)["containers"]:
            for source in container.get("envFrom", []):
                if "configMapRef" in source:
                    assert source["configMapRef"]["name"] == "bot-config"
                if "secretRef" in source:
                    assert source["secretRef"]["name"] == APP_SECRET, "only the servers' Secret is mounted whole"
            for item in container.get("env", []):
                ref = item.get("valueFrom", {}).get("secretKeyRef")
                if ref:
                    assert ref["key"] in secret_templates().get(ref["name"], {}), item
                    assert ref["key"] == item["name"], item


# `python -m bot <command>`: every command the files run is one bot/cli.py accepts.


def dockerfile_instructions() -> list[tuple[str, str]]:
    text = re.sub(r"\\\n(?:\s*#[^\n]*\n)*", " ", DOCKERFILE.read_text())
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in lines]


def container_commands() -> list[tuple[str, list[str], dict[str, str]]]:
    """(where, argv for `python -m bot`, environment) for every bot command the deployment runs."""
    found = []
    for instruction, rest in dockerfile_instructions():
        if instruction in {"RUN", "CMD"}:
            command = json.loads(rest) if rest.startswith("[") else ["sh", "-c", rest]
            found += [(f"Dockerfile {instruction}", argv, {}) for argv in bot_invocations(command)]
    for name, service in app_services().items():
        for argv in bot_invocations(service.get("command") or []):
            found.append((f"compose service {name}", argv, service_env(service)))
    for workload in workloads():
        for container in pod_spec(workload)["containers"]:
            command = [*container.get("command", []), *container.get("args", [])]
            for argv in bot_invocations(command):
                found.append((f"k8s {workload['kind']} {workload['metadata']['name']}", argv, configmap()))
    return found


def test_the_deployment_runs_the_servers_and_the_init_step() -> None:
    commands = {argv[0] for _, argv, _ in container_commands() if argv}
    assert {"rasa-server", "action-server", "migrate", "load-kb", "build-nlp", "train"} <= commands


@pytest.mark.parametrize(
    ("where", "argv", "env"), container_commands(), ids=[f"{w}: {shlex.join(a)}" for w, a, _ in container_commands()]
)
def test_every_bot_command_run_is_accepted_by_the_cli(where: str, argv: list[str], env: dict[str, str]) -> None:
    check_cli_args(expand(argv, env), where)


def test_every_bot_command_mentioned_is_a_cli_subcommand() -> None:
    files = [DOCKERFILE, COMPOSE, EXAMPLE_ENV, DEPLOY_DOC, *K8S.glob("*.yaml")]
    mentioned = {(p.name, m) for p in files for m in re.findall(r"python -m bot ([a-z][a-z0-9-]*)", p.read_text())}
    unknown = sorted(pair for pair in mentioned if pair[1] not in cli_subcommands())
    assert not unknown, f"not subcommands of bot/cli.py: {unknown}"


# Topology: like the tested `make cluster`, two of each server behind a proxy.


def test_kubernetes_runs_at_least_two_of_each_server() -> None:
    assert k8s("Deployment", "rasa")["spec"]["replicas"] >= 2
    assert k8s("Deployment", "actions")["spec"]["replicas"] >= 2
    hpa = k8s("HorizontalPodAutoscaler", "rasa")["spec"]
    assert hpa["scaleTargetRef"]["name"] == "rasa" and hpa["minReplicas"] >= 2
    for name in ("rasa", "actions"):
        assert k8s("PodDisruptionBudget", name)["spec"]["minAvailable"] >= 1


def compose_servers(subcommand: str) -> list[str]:
    return [
        name
        for name, service in app_services().items()
        if any(argv[:1] == [subcommand] for argv in bot_invocations(service.get("command") or []))
        for _ in range(replicas(service))
    ]


def test_compose_runs_two_of_each_server_behind_nginx() -> None:
    rasa, actions = compose_servers("rasa-server"), compose_servers("action-server")
    assert len(rasa) >= 2 and len(actions) >= 2
    upstreams = nginx_blocks("upstream")
    for upstream, services, port_setting in (("rasa", rasa, "BOT_PORT"), ("actions", actions, "ACTIONS_PORT")):
        targets = re.findall(r"^\s*server\s+([\w.-]+):(\d+)", upstreams[upstream], re.M)
        assert sorted(host for host, _ in targets) == sorted(set(services)), f"nginx upstream {upstream}"
        ports = {service_env(app_services()[s])[port_setting] for s in services}
        assert {port for _, port in targets} == ports, f"nginx upstream {upstream} ports vs {port_setting}"


def test_compose_servers_wait_for_the_init_step_and_healthy_stores() -> None:
    services = compose()["services"]
    init = services["init"]
    assert bot_invocations(init["command"]) == [["migrate"], ["load-kb"]]
    assert init["depends_on"]["postgres"]["condition"] == "service_healthy"
    for name in compose_servers("rasa-server") + compose_servers("action-server"):
        assert services[name]["depends_on"]["init"]["condition"] == "service_completed_successfully"
        assert "healthcheck" in services[name]
    for name in compose_servers("rasa-server"):
        env = service_env(services[name])
        assert env["REDIS_URL"].startswith("redis://") and env["TRACKER_DATABASE_URL"].startswith("postgresql")
        assert services[name]["depends_on"]["redis"]["condition"] == "service_healthy"


def test_compose_ports_and_urls_agree() -> None:
    services = compose()["services"]
    for name in compose_servers("rasa-server"):
        env = service_env(services[name])
        assert f":{env['BOT_PORT']}/health" in " ".join(services[name]["healthcheck"]["test"])
        action_url = urlparse(env["ACTION_SERVER_URL"])
        assert action_url.hostname == "nginx" and action_url.path == "/webhook"
        internal = [s for s in nginx_servers() if re.search(rf"listen\s+{action_url.port};", s)]
        assert internal, "ACTION_SERVER_URL must reach nginx's internal server"
        locations = nginx_locations(internal[0])
        assert "proxy_pass http://actions/webhook;" in locations["= /webhook"], (
            "ACTION_SERVER_URL must reach the actions"
        )
    for name in compose_servers("action-server"):
        env = service_env(services[name])
        assert f":{env['ACTIONS_PORT']}/health" in " ".join(services[name]["healthcheck"]["test"])
    assert all(re.match(r"^[\w.-]+:\d+$", p) is None for p in services["postgres"].get("ports", [])), (
        "PostgreSQL is never published"
    )


def test_kubernetes_ports_probes_and_urls_agree() -> None:
    for deployment, setting, probe_path in (("rasa", "BOT_PORT", "/health"), ("actions", "ACTIONS_PORT", "/health")):
        (container,) = pod_spec(k8s("Deployment", deployment))["containers"]
        (port,) = container["ports"]
        assert port["containerPort"] == int(configmap()[setting]), f"{deployment} containerPort vs {setting}"
        for kind in ("startupProbe", "readinessProbe", "livenessProbe"):
            if kind in container:
                probe = container[kind]["httpGet"]
                assert probe["path"] == probe_path and probe["port"] in (port["name"], port["containerPort"]), kind
        service = k8s("Service", deployment)
        (service_port,) = service["spec"]["ports"]
        assert service_port["targetPort"] in (port["name"], port["containerPort"])
        labels = k8s("Deployment", deployment)["spec"]["template"]["metadata"]["labels"]
        assert service["spec"]["selector"].items() <= labels.items(), f"Service {deployment} selects no pod"
        assert k8s("PodDisruptionBudget", deployment)["spec"]["selector"]["matchLabels"].items() <= labels.items()
        assert k8s("Deployment", deployment)["spec"]["selector"]["matchLabels"].items() <= labels.items()
    action_url = urlparse(configmap()["ACTION_SERVER_URL"])
    (actions_port,) = k8s("Service", "actions")["spec"]["ports"]
    assert (action_url.hostname, action_url.port, action_url.path) == ("actions", actions_port["port"], "/webhook")


def test_resources_are_sized_above_the_measured_memory() -> None:
    for deployment, rss in MEASURED_RSS_MB.items():
        (container,) = pod_spec(k8s("Deployment", deployment))["containers"]
        resources = container["resources"]
        assert mebibytes(resources["requests"]["memory"]) >= rss, f"{deployment}: request below measured RSS"
        assert mebibytes(resources["limits"]["memory"]) >= 1.25 * rss, f"{deployment}: limit too close to RSS"


def test_pods_run_as_the_images_unprivileged_user() -> None:
    users = [rest for instruction, rest in dockerfile_instructions() if instruction == "USER"]
    uid = re.search(r"--uid (\d+)", DOCKERFILE.read_text())[1]
    assert users and users[-1] not in {"root", "0"}
    for workload in workloads():
        context = pod_spec(workload)["securityContext"]
        assert context["runAsNonRoot"] is True and str(context["runAsUser"]) == uid, workload["metadata"]["name"]


# The public surface: the same paths through nginx and the Ingress, and they exist.

# What the Rasa servers serve to the public, and the methods: the widget (demo page,
# script, stylesheet, iframe pages), its two webhooks, the SMS webhook, /health.
PUBLIC_PATHS = {
    "= /chat": {"GET"},
    "= /widget.js": {"GET"},
    "= /widget.css": {"GET"},
    "/widget/": {"GET"},
    "= /webhooks/web/session": {"POST", "OPTIONS"},
    "= /webhooks/web/webhook": {"POST", "OPTIONS"},
    "= /webhooks/sms/webhook": {"POST"},
    "= /health": {"GET"},
}
# Never routed: Rasa's HTTP API and the REST channel.
PRIVATE_PATHS = ("/", "/version", "/status", "/model/parse", "/conversations/x/tracker", "/webhooks/rest/webhook")


def nginx_route(path: str) -> str | None:
    """The proxied location that nginx would use for `path`, as nginx matches (exact, then longest prefix)."""
    public = {match: body for match, body in nginx_locations(nginx_public_server()).items() if "proxy_pass" in body}
    if f"= {path}" in public:
        return f"= {path}"
    prefixes = [m for m in public if not m.startswith(("=", "~")) and path.startswith(m)]
    return max(prefixes, key=len) if prefixes else None


def test_nginx_proxies_exactly_the_public_paths_and_404s_the_rest() -> None:
    locations = nginx_locations(nginx_public_server())
    proxied = {match: body for match, body in locations.items() if "proxy_pass" in body}
    assert set(proxied) == set(PUBLIC_PATHS)
    for match, body in proxied.items():
        path = match.removeprefix("= ")
        # The URI in proxy_pass replaces the normalised request path: Rasa only ever sees this path.
        assert re.search(rf"proxy_pass\s+http://rasa{re.escape(path)};", body), f"location {match}: {body}"
        methods = re.search(r"limit_except\s+([A-Z ]+?)\s*\{\s*deny\s+all;\s*\}", body)
        assert methods and set(methods[1].split()) == PUBLIC_PATHS[match], f"location {match}: methods"
    assert re.fullmatch(r"\s*return\s+404;\s*", locations["/"]), "every other path must be 404"
    assert set(locations) - set(proxied) <= {"/", "= /nginx-health"}
    for path in PRIVATE_PATHS:
        assert nginx_route(path) is None, f"{path} must not be proxied"


def test_the_ingress_routes_exactly_the_public_paths() -> None:
    routed: dict[str, str] = {}
    for name in ("bot", "bot-webhooks"):
        ingress = k8s("Ingress", name)
        assert ingress["spec"]["ingressClassName"] == "nginx"
        assert ingress["spec"]["tls"], f"Ingress {name} must be TLS"
        for rule in ingress["spec"]["rules"]:
            for path in rule["http"]["paths"]:
                match = {"Exact": "= ", "Prefix": ""}[path["pathType"]] + path["path"]
                routed[match] = name
                assert path["backend"]["service"]["name"] == "rasa"
                assert path["backend"]["service"]["port"]["name"] in {
                    p["name"] for p in k8s("Service", "rasa")["spec"]["ports"]
                }
    assert set(routed) == set(PUBLIC_PATHS), "the Ingress and nginx expose different paths"
    assert {m for m, name in routed.items() if name == "bot-webhooks"} == {m for m in PUBLIC_PATHS if "/webhooks/" in m}
    web_channel = (ROOT / "bot" / "channels" / "web.py").read_text()
    for path in ("/chat", "/widget.js", "/widget.css", "/health", "/webhooks/web/session", "/webhooks/web/webhook"):
        assert f'"{path}"' in web_channel, f"the web channel no longer serves {path}"


def test_nginx_passes_the_client_address_and_limits_requests() -> None:
    public = nginx_top_level(nginx_public_server())
    assert re.search(r"client_max_body_size\s+1m;", public)
    assert re.search(r"proxy_set_header\s+X-Real-IP\s+\$remote_addr;", public)
    assert re.search(r"proxy_set_header\s+X-Forwarded-For\s+\$remote_addr;", public)
    for timeout in ("proxy_connect_timeout", "proxy_send_timeout", "proxy_read_timeout"):
        assert re.search(rf"{timeout}\s+\d+s;", public), timeout
    # proxy_set_header is inherited only by blocks that set none of their own.
    for match, body in nginx_locations(nginx_public_server()).items():
        assert "proxy_set_header" not in body, f"location {match} would drop the server's proxy_set_header"
    for name in ("bot", "bot-webhooks"):
        assert k8s("Ingress", name)["metadata"]["annotations"]["nginx.ingress.kubernetes.io/proxy-body-size"] == "1m"


def test_no_client_header_chooses_a_replica() -> None:
    text = re.sub(r"#[^\n]*", "", NGINX_CONF.read_text())
    # No routing on anything the client sends (the old test hook `map $http_x_replica`).
    assert not re.search(r"\$http_", text), "nginx must not route or vary on a client header"
    assert re.search(r'proxy_set_header\s+X-Replica\s+"";', nginx_top_level(nginx_public_server())), "strip X-Replica"
    assert re.findall(r"proxy_pass\s+http://(\w+)", text) and all(
        upstream in {"rasa", "actions"} for upstream in re.findall(r"proxy_pass\s+http://(\w+)", text)
    ), "every proxy_pass goes to a round-robin upstream"
    assert "x-upstream" not in text.lower(), "which replica answered is logged, not told to clients"
    for path in (ROOT / "scripts" / "cluster.sh", COMPOSE, *K8S.glob("*.yaml")):
        assert "x-replica" not in re.sub(r"#[^\n]*", "", path.read_text()).lower(), path.name


def test_nginx_sends_the_security_headers_on_every_response() -> None:
    public = nginx_top_level(nginx_public_server())
    headers = dict(re.findall(r"add_header\s+([\w-]+)\s+(\S+|\"[^\"]*\")\s+always;", public))
    assert headers.get("X-Content-Type-Options") == '"nosniff"'
    assert headers.get("Referrer-Policy") == '"no-referrer"'
    assert len(re.findall(r"add_header", public)) == len(headers), "every add_header must have `always`"
    # A location with an add_header of its own would drop all of these.
    for match, body in nginx_locations(nginx_public_server()).items():
        assert "add_header" not in body, f"location {match} would drop the server's security headers"
    maps = dict(nginx_children(nginx_http()))
    # Cache-Control: no-store on the webhooks.
    variable = headers["Cache-Control"].lstrip("$")
    (cache,) = [body for header, body in maps.items() if header.startswith("map $uri ") and header.endswith(variable)]
    assert re.search(r'~\^/webhooks/\s+"no-store";', cache)
    # HSTS only over TLS: keyed on the scheme, empty (no header) otherwise.
    variable = headers["Strict-Transport-Security"].lstrip("$")
    (hsts,) = [body for header, body in maps.items() if header == f"map $scheme ${variable}"]
    assert re.search(r'https\s+"max-age=\d{8,}[^"]*";', hsts) and re.search(r'default\s+"";', hsts)
    # The Rasa server's own copies are hidden, so each header is sent once.
    for name in ("X-Content-Type-Options", "Referrer-Policy", "Cache-Control", "Strict-Transport-Security"):
        assert re.search(rf"proxy_hide_header\s+{name};", public), name


def test_the_ingress_sends_the_security_headers() -> None:
    allowed_headers = re.search(r"global-allowed-response-headers:\s*\"([^\"]+)\"", (K8S / "ingress.yaml").read_text())
    assert allowed_headers, "ingress.yaml must say which headers the controller must allow"
    allowed = set(allowed_headers[1].split(","))
    for name, want_no_store in (("bot", False), ("bot-webhooks", True)):
        annotations = k8s("Ingress", name)["metadata"]["annotations"]
        assert annotations["nginx.ingress.kubernetes.io/force-ssl-redirect"] == "true"
        namespace, configmap_name = annotations["nginx.ingress.kubernetes.io/custom-headers"].split("/")
        assert namespace == yaml.safe_load((K8S / "kustomization.yaml").read_text())["namespace"]
        headers = k8s("ConfigMap", configmap_name)["data"]
        assert headers["X-Content-Type-Options"] == "nosniff" and headers["Referrer-Policy"] == "no-referrer"
        assert re.fullmatch(r"max-age=\d{8,}.*", headers["Strict-Transport-Security"])
        assert (headers.get("Cache-Control") == "no-store") is want_no_store, name
        assert set(headers) <= allowed


def test_the_cluster_runs_the_production_nginx_configuration() -> None:
    # scripts/cluster.sh renders deploy/nginx/nginx.conf (addresses only) instead of
    # writing a configuration of its own, so `make cluster` tests what is deployed.
    script = re.sub(r"#[^\n]*", "", CLUSTER_SCRIPT.read_text())
    assert 'NGINX_TEMPLATE="$ROOT/deploy/nginx/nginx.conf"' in script
    for directive in ("proxy_pass", "upstream ", "location ", "add_header", "listen "):
        assert directive not in script.replace('"listen ', ""), f"cluster.sh writes nginx configuration: {directive}"
    replaced = re.findall(r'"(server [\w.-]+:\d+ |listen \d+;)" "', script)
    text = NGINX_CONF.read_text()
    assert len(replaced) == 6 and all(text.count(old) == 1 for old in replaced), replaced


# Who reaches what: loopback by default, every interface in containers, fenced by networks.


def test_containers_listen_on_every_interface_and_run_in_production() -> None:
    assert configmap()["BOT_ENV"] == "production"
    assert configmap()["BOT_HOST"] == "0.0.0.0" and configmap()["ACTIONS_HOST"] == "0.0.0.0"
    for name in compose_servers("rasa-server"):
        assert service_env(app_services()[name])["BOT_HOST"] == "0.0.0.0", name
    for name in compose_servers("action-server"):
        assert service_env(app_services()[name])["ACTIONS_HOST"] == "0.0.0.0", name
    for name, service in app_services().items():
        assert service_env(service)["BOT_ENV"] == "production", name
    # The loopback cluster leaves BOT_HOST and ACTIONS_HOST at their default, 127.0.0.1.
    script = re.sub(r"#[^\n]*", "", CLUSTER_SCRIPT.read_text())
    assert "BOT_HOST" not in script and "ACTIONS_HOST" not in script and "0.0.0.0" not in script


def test_the_network_policy_admits_only_the_ingress_controller_and_rasa() -> None:
    policies = {d["metadata"]["name"]: d["spec"] for d in k8s_resources() if d["kind"] == "NetworkPolicy"}
    deny = [p for p in policies.values() if p["podSelector"] == {} and p["policyTypes"] == ["Ingress"]]
    assert deny and not any(p.get("ingress") for p in deny), "a default-deny policy for every pod"

    def labels(deployment: str) -> dict[str, str]:
        return k8s("Deployment", deployment)["spec"]["template"]["metadata"]["labels"]

    def port_ok(port: dict, deployment: str) -> bool:
        (container_port,) = pod_spec(k8s("Deployment", deployment))["containers"][0]["ports"]
        return port["port"] in (container_port["name"], container_port["containerPort"])

    for deployment in ("rasa", "actions"):
        selecting = [
            p
            for p in policies.values()
            if p["podSelector"] and p["podSelector"]["matchLabels"].items() <= labels(deployment).items()
        ]
        assert selecting, f"no NetworkPolicy selects the {deployment} pods"
        for policy in selecting:
            for rule in policy.get("ingress", []):
                assert rule.get("ports") and all(port_ok(p, deployment) for p in rule["ports"]), policy
                assert rule.get("from"), f"{deployment}: a rule without `from` admits everyone"
                for peer in rule["from"]:
                    assert "ipBlock" not in peer, policy
                    if deployment == "actions":
                        # Only the Rasa pods of this namespace.
                        assert set(peer) == {"podSelector"}, peer
                        assert peer["podSelector"]["matchLabels"].items() <= labels("rasa").items(), peer
                    else:
                        # Only the ingress controller's pods, in their namespace.
                        assert set(peer) == {"namespaceSelector", "podSelector"}, peer
                        assert peer["namespaceSelector"]["matchLabels"] == {
                            "kubernetes.io/metadata.name": "ingress-nginx"
                        }


def test_compose_networks_keep_the_action_servers_behind_nginx() -> None:
    services = compose()["services"]
    networks = compose()["networks"]

    def on(service: str) -> set[str]:
        return set(services[service].get("networks") or ["default"])

    published = [name for name, service in services.items() if service.get("ports")]
    assert published == ["nginx"], "only nginx is published"
    assert services["nginx"]["ports"] == ["8080:8080"], "nginx's internal actions port is never published"
    for action in compose_servers("action-server"):
        neighbours = {name for name in services if name != action and on(name) & on(action)}
        assert neighbours <= {"nginx", "postgres", *compose_servers("action-server")}, (action, neighbours)
        assert all(networks[n].get("internal") for n in on(action)), "the action servers' networks are internal"
    for rasa in compose_servers("rasa-server"):
        assert on(rasa) & on("nginx") and on(rasa) & on("postgres") and on(rasa) & on("redis"), rasa
    for store in ("postgres", "redis"):
        assert all(networks[n].get("internal") for n in on(store)), store


# PostgreSQL: the servers use an application role; only `migrate` uses the owner.

APP_ROLE, OWNER_ROLE = "bot", "bot_owner"


def url_user(url: str) -> str | None:
    return urlparse(url.replace("+psycopg2", "")).username


def test_compose_servers_use_the_application_role_and_only_migrate_the_owner() -> None:
    services = compose()["services"]
    for name, service in app_services().items():
        env = service_env(service)
        assert url_user(env["DATABASE_URL"]) == APP_ROLE, name
        if "TRACKER_DATABASE_URL" in env:
            assert url_user(env["TRACKER_DATABASE_URL"]) == APP_ROLE, name
        migration = {k: v for k, v in env.items() if k.startswith("MIGRATION_")}
        if name == "init":
            assert {url_user(v) for v in migration.values()} == {OWNER_ROLE}
            assert set(migration) == {"MIGRATION_DATABASE_URL", "MIGRATION_TRACKER_DATABASE_URL"}
        else:
            assert not migration, f"{name} must not get the owner role's URLs"
    postgres = services["postgres"]["environment"]
    assert postgres["POSTGRES_USER"] not in (APP_ROLE, OWNER_ROLE), "the image's superuser is neither role"
    sql = POSTGRES_INIT.read_text()
    for role in (APP_ROLE, OWNER_ROLE):
        (create,) = re.findall(rf"^CREATE ROLE {role} (.*);$", sql, re.M)
        assert {"LOGIN", "NOSUPERUSER", "NOCREATEDB", "NOCREATEROLE"} <= set(create.split()), role
    for database in ("bot", "conversations"):
        assert re.search(rf"^CREATE DATABASE {database} OWNER {OWNER_ROLE};$", sql, re.M), database
    assert "\\getenv" in sql and not re.search(r"PASSWORD '", sql), "passwords come from the environment"
    mounted = services["postgres"]["volumes"]
    assert any(v.startswith("./postgres/create-databases.sql:/docker-entrypoint-initdb.d/") for v in mounted)


def test_kubernetes_servers_use_the_application_role_and_only_the_job_the_owner() -> None:
    app, migration = secret_templates()[APP_SECRET], secret_templates()[MIGRATION_SECRET]
    assert url_user(app["DATABASE_URL"]) == url_user(app["TRACKER_DATABASE_URL"]) == APP_ROLE
    assert {url_user(v) for v in migration.values()} == {OWNER_ROLE}
    for workload in workloads():
        names = {
            item["valueFrom"]["secretKeyRef"]["name"]
            for container in pod_spec(workload)["containers"]
            for item in container.get("env", [])
            if "secretKeyRef" in item.get("valueFrom", {})
        }
        if workload["metadata"]["name"] == "bot-migrate":
            (container,) = pod_spec(workload)["containers"]
            env = {item["name"] for item in container["env"]}
            assert {"DATABASE_URL", "TRACKER_DATABASE_URL", *migration} <= env
        else:
            assert MIGRATION_SECRET not in names, f"{workload['metadata']['name']} must not get the owner role"


# Redis requires a password, and the action servers a token, everywhere.


def test_redis_requires_a_password() -> None:
    for name in compose_servers("rasa-server"):
        assert re.fullmatch(r"redis://:<REDIS_PASSWORD>@redis:6379/\d+", service_env(app_services()[name])["REDIS_URL"])
    redis = compose()["services"]["redis"]
    command = " ".join(redis["command"])
    assert "requirepass $$REDIS_PASSWORD" in command and "--requirepass" not in command, "password on stdin, not argv"
    assert "REDISCLI_AUTH" in " ".join(redis["healthcheck"]["test"])
    assert urlparse(secret_templates()[APP_SECRET]["REDIS_URL"]).password


def test_the_action_servers_and_rasa_share_a_token() -> None:
    for name in compose_servers("rasa-server") + compose_servers("action-server"):
        assert service_env(app_services()[name])["ACTION_SERVER_TOKEN"] == "<ACTION_SERVER_TOKEN>", name
    (container,) = pod_spec(k8s("Deployment", "actions"))["containers"]
    assert {item["name"] for item in container["env"]} == {"DATABASE_URL", "ACTION_SERVER_TOKEN"}
    assert "ACTION_SERVER_TOKEN" in secret_templates()[APP_SECRET]  # Rasa mounts the whole Secret


# The image: Python 3.10, locked dependencies, model built in, no secrets, not root.


def test_the_image_is_built_as_the_deployment_expects() -> None:
    instructions = dockerfile_instructions()
    assert re.fullmatch(r"python:3\.10-slim(-\w+)?", next(rest for i, rest in instructions if i == "FROM").split()[0])
    runs = " ".join(rest for i, rest in instructions if i == "RUN")
    assert "-r /tmp/requirements.lock" in runs and "COPY requirements.lock /tmp/requirements.lock" in " ".join(
        f"{i} {rest}" for i, rest in instructions
    )
    assert "python -m bot build-nlp" in runs and "python -m bot train" in runs
    assert "rm -rf" in runs and "var/secrets" in runs, "the development secret written at build must be removed"
    cmd = json.loads(next(rest for i, rest in instructions if i == "CMD"))
    assert bot_invocations(cmd) == [["rasa-server"]]
    secretish = re.compile(r"SECRET|TOKEN|PASSWORD|DATABASE_URL|REDIS_URL")
    for instruction, rest in instructions:
        if instruction in {"ENV", "ARG"}:
            assert not secretish.search(rest), f"{instruction} {rest}: secrets come from the environment at run time"


def test_dockerignore_keeps_local_state_and_secrets_out_of_the_image() -> None:
    patterns = {line.strip().rstrip("/") for line in (ROOT / ".dockerignore").read_text().splitlines()}
    assert {".venv", "var", "models", ".env", "**/*.env", ".git"} <= patterns


@pytest.mark.skipif(shutil.which("git") is None or not (ROOT / ".git").exists(), reason="not a git checkout")
def test_env_files_are_ignored_by_git_except_the_example() -> None:
    def ignored(path: str) -> bool:
        return subprocess.run(["git", "check-ignore", "-q", "--no-index", path], cwd=ROOT).returncode == 0

    assert ignored("deploy/bot.env") and ignored("deploy/production.env")
    assert not ignored("deploy/example.env")
