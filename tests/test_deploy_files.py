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
K8S = DEPLOY / "k8s"
SECRET_TEMPLATE = K8S / "secret.example.yaml"
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
        name
        for action in parser._actions
        if isinstance(action, argparse._SubParsersAction)
        for name in action.choices
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


@cache
def secret_template() -> dict[str, str]:
    (secret,) = load_all(SECRET_TEMPLATE)
    assert secret["kind"] == "Secret" and secret["metadata"]["name"] == "bot-secrets"
    return secret["stringData"]


def env_file(path: Path) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if line.strip() and line[0] != "#")
    return {name.strip(): value.strip() for name, value in pairs}


def mebibytes(quantity: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)([A-Za-z]*)", str(quantity)).groups()
    return float(number) * {"Mi": 1, "Gi": 1024, "M": 1e6 / 2**20, "G": 1e9 / 2**20, "": 1 / 2**20}[unit]


def nginx_blocks(kind: str) -> dict[str, str]:
    """`upstream NAME { ... }` bodies of deploy/nginx/nginx.conf, by name (no nested blocks inside)."""
    return dict(re.findall(kind + r"\s+(\S+)\s*\{([^}]*)\}", NGINX_CONF.read_text()))


def nginx_servers() -> list[str]:
    """The text of each `server { ... }` block (they nest `location { }` blocks one level deep)."""
    text = NGINX_CONF.read_text()
    return re.findall(r"\n\s*server\s*\{((?:[^{}]|\{[^{}]*\})*)\}", text)


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
    for name in ("POSTGRES_PASSWORD", "WEB_SESSION_SECRET", "TWILIO_AUTH_TOKEN", "SENDER_ID_SECRET"):
        assert example[name].startswith("replace-with"), f"example.env must hold a placeholder for {name}"


def test_the_secret_template_holds_placeholders_and_matches_its_kubectl_command() -> None:
    values = secret_template()
    assert all("REPLACE" in value for value in values.values()), "the Secret template must hold no real value"
    in_command = set(re.findall(r"--from-literal=(\w+)=", SECRET_TEMPLATE.read_text()))
    assert in_command == set(values), "the kubectl create secret command and the template list different keys"
    for key in ("DATABASE_URL", "TRACKER_DATABASE_URL", "REDIS_URL", "WEB_SESSION_SECRET"):
        assert key in values
    # Secrets never sit in the ConfigMap or the compose file in clear.
    assert not set(values) & set(configmap())


def test_secret_and_config_references_exist() -> None:
    for workload in workloads():
        for container in pod_spec(workload)["containers"]:
            for source in container.get("envFrom", []):
                if "configMapRef" in source:
                    assert source["configMapRef"]["name"] == "bot-config"
                if "secretRef" in source:
                    assert source["secretRef"]["name"] == "bot-secrets"
            for item in container.get("env", []):
                ref = item.get("valueFrom", {}).get("secretKeyRef")
                if ref:
                    assert ref["name"] == "bot-secrets" and ref["key"] in secret_template(), item


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
        assert f":{env['BOT_PORT']}/" in " ".join(services[name]["healthcheck"]["test"])
        action_url = urlparse(env["ACTION_SERVER_URL"])
        assert action_url.hostname == "nginx" and action_url.path == "/webhook"
        internal = [s for s in nginx_servers() if re.search(rf"listen\s+{action_url.port};", s)]
        assert internal and "proxy_pass http://actions;" in internal[0], "ACTION_SERVER_URL must reach the actions"
    for name in compose_servers("action-server"):
        env = service_env(services[name])
        assert f":{env['ACTIONS_PORT']}/health" in " ".join(services[name]["healthcheck"]["test"])
    assert all(re.match(r"^[\w.-]+:\d+$", p) is None for p in services["postgres"].get("ports", [])), (
        "PostgreSQL is never published"
    )


def test_kubernetes_ports_probes_and_urls_agree() -> None:
    for deployment, setting, probe_path in (("rasa", "BOT_PORT", "/"), ("actions", "ACTIONS_PORT", "/health")):
        (container,) = pod_spec(k8s("Deployment", deployment))["containers"]
        (port,) = container["ports"]
        assert port["containerPort"] == int(configmap()[setting]), f"{deployment} containerPort vs {setting}"
        probe = container["readinessProbe"]["httpGet"]
        assert probe["path"] == probe_path and probe["port"] in (port["name"], port["containerPort"])
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

PUBLIC_PATHS = {"/webhooks/", "/chat", "/widget.js", "/widget.css"}


def test_nginx_and_the_ingress_expose_the_same_public_paths() -> None:
    public = next(s for s in nginx_servers() if "proxy_pass http://rasa;" in s)
    locations = re.findall(r"location\s+(=\s*)?(\S+)\s*\{([^}]*)\}", public)
    proxied = {path for _, path, body in locations if "proxy_pass http://rasa;" in body}
    assert proxied == PUBLIC_PATHS
    ingress = k8s("Ingress", "bot")
    assert ingress["spec"]["ingressClassName"] == "nginx"
    paths = [p for rule in ingress["spec"]["rules"] for p in rule["http"]["paths"]]
    assert {p["path"] + ("/" if p["pathType"] == "Prefix" else "") for p in paths} == PUBLIC_PATHS
    rasa_ports = {p["name"] for p in k8s("Service", "rasa")["spec"]["ports"]}
    assert all(p["backend"]["service"]["name"] == "rasa" for p in paths)
    assert all(p["backend"]["service"]["port"]["name"] in rasa_ports for p in paths)
    web_channel = (ROOT / "bot" / "channels" / "web.py").read_text()
    for path in ("/chat", "/widget.js", "/widget.css", "/webhooks/web/"):
        assert f'"{path}' in web_channel, f"the web channel no longer serves {path}"


def test_nginx_passes_the_client_address_and_limits_requests() -> None:
    public = next(s for s in nginx_servers() if "proxy_pass http://rasa;" in s)
    assert re.search(r"client_max_body_size\s+1m;", public)
    assert re.search(r"proxy_set_header\s+X-Real-IP\s+\$remote_addr;", public)
    assert re.search(r"proxy_set_header\s+X-Forwarded-For\s+\$", public)
    for timeout in ("proxy_connect_timeout", "proxy_send_timeout", "proxy_read_timeout"):
        assert re.search(rf"{timeout}\s+\d+s;", public), timeout
    ingress = k8s("Ingress", "bot")["metadata"]["annotations"]
    assert ingress["nginx.ingress.kubernetes.io/proxy-body-size"] == "1m"


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
