"""`python -m bot …`: set-up, run and maintenance commands behind the Makefile.

`setup` builds what the servers need (spaCy pipeline, database schema,
knowledge base, Rasa model), each step skipped when its inputs have not changed.
`run` also starts the action server and the Rasa server and stops both on
Ctrl-C or SIGTERM. `rasa-server` and `action-server` start one server each, in
the foreground, for `make cluster` and containers.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from bot.settings import PROJECT_ROOT, VAR_DIR, Settings, load_settings

MODEL_DIR = PROJECT_ROOT / "models"
MODEL_NAME = "metastatic-faq"
MODEL_PATH = MODEL_DIR / f"{MODEL_NAME}.tar.gz"
FINGERPRINT_PATH = MODEL_DIR / f"{MODEL_NAME}.inputs.sha256"
# What the Rasa model is trained from: a change to any of these retrains it.
TRAINING_INPUTS = ("config.yml", "domain.yml", "data", "bot/nlp")
MAX_RESTARTS_PER_MINUTE = 5


def step(message: str) -> None:
    print(f"==> {message}", flush=True)


def build_nlp() -> Path:
    from bot.nlp.pipeline import write_pipeline

    step("Building the spaCy pipeline (blank English + entity patterns)")
    return write_pipeline()


def migrate() -> None:
    from bot.db import migrate as upgrade

    step("Bringing the database schema up to date (Alembic)")
    print(f"    schema revision {upgrade()}")


def load_kb() -> None:
    from bot.db import get_engine
    from bot.knowledge.loader import load_knowledge_base

    step("Loading the article into the knowledge base")
    result = load_knowledge_base(get_engine())
    state = "updated" if result.changed else "already up to date"
    print(f"    {result.slug}: {result.sections} sections, {result.answers} answers ({state})")


def training_fingerprint() -> str:
    digest = hashlib.sha256()
    for name in TRAINING_INPUTS:
        root = PROJECT_ROOT / name
        files = sorted(p for p in ([root] if root.is_file() else root.rglob("*")) if p.is_file())
        for path in files:
            if "__pycache__" in path.parts:
                continue
            digest.update(str(path.relative_to(PROJECT_ROOT)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def train(force: bool = False) -> Path:
    fingerprint = training_fingerprint()
    current = FINGERPRINT_PATH.read_text().strip() if FINGERPRINT_PATH.exists() else ""
    if MODEL_PATH.exists() and current == fingerprint and not force:
        step(f"Rasa model is up to date ({MODEL_PATH.relative_to(PROJECT_ROOT)})")
        return MODEL_PATH
    step("Training the Rasa model (data or configuration changed; about 2-4 minutes)")
    started = time.monotonic()
    command = [
        rasa_executable(),
        "train",
        "--fixed-model-name",
        MODEL_NAME,
        "--out",
        str(MODEL_DIR),
        "--force",
    ]
    if subprocess.call(command, cwd=PROJECT_ROOT) != 0:
        raise SystemExit("Training the Rasa model failed; the messages above say why.")
    FINGERPRINT_PATH.write_text(fingerprint)
    print(f"    trained in {time.monotonic() - started:.0f} s")
    return MODEL_PATH


def rasa_executable() -> str:
    return str(Path(sys.executable).with_name("rasa"))


def setup() -> None:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    build_nlp()
    migrate()
    load_kb()
    train()


def write_endpoints(settings: Settings) -> Path:
    """Rasa's endpoints from the environment. No secrets: the stores read their URLs themselves."""
    lines = [
        "action_endpoint:",
        f'  url: "{settings.action_endpoint}"',
        "tracker_store:",
        "  type: bot.rasa_stores.ConversationStore",
    ]
    if settings.redis_url:
        lines += ["lock_store:", "  type: bot.rasa_stores.LockStore"]
    path = VAR_DIR / "endpoints.yml"
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return path


def server_env(name: str, base: dict[str, str] | None = None) -> dict[str, str]:
    """The environment the server called `name` runs in."""
    env = {**(base or os.environ), "PYTHONPATH": str(PROJECT_ROOT)}
    # No usage data leaves a patient-facing service (and no start-up wait on a closed network).
    env.setdefault("RASA_TELEMETRY_ENABLED", "false")
    if name == "Rasa server":
        # DIET's matrices are small: one TensorFlow thread per op is faster than
        # coordinating several, and leaves the other cores to the action server.
        # (Not for the action server: `rasa` would import TensorFlow, 360 MB, to apply them.)
        env.setdefault("TF_INTRA_OP_PARALLELISM_THREADS", "1")
        env.setdefault("TF_INTER_OP_PARALLELISM_THREADS", "1")
        # Sanic refuses request bodies over this size before a channel reads them.
        env.setdefault("SANIC_REQUEST_MAX_SIZE", str(1024 * 1024))
    return env


def exec_server(name: str) -> None:
    """Replace this process with one server, so a supervisor's signals reach it directly."""
    command = server_commands(load_settings())[name]
    step(f"Starting the {name}")
    os.execve(command[0], command, server_env(name))


def server_commands(settings: Settings) -> dict[str, list[str]]:
    rasa = rasa_executable()
    rasa_run = [
        rasa,
        "run",
        "--model",
        str(MODEL_PATH),
        "--port",
        str(settings.bot_port),
        "--credentials",
        "credentials.yml",
        "--endpoints",
        str(write_endpoints(settings)),
    ]
    if settings.rasa_token:
        rasa_run += ["--enable-api", "--auth-token", settings.rasa_token]
    return {
        "action server": [
            rasa,
            "run",
            "actions",
            "--actions",
            "actions",
            "--port",
            str(settings.actions_port),
        ],
        "Rasa server": rasa_run,
    }


def wait_until_up(url: str, process: subprocess.Popen, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"A server exited during start-up (code {process.returncode}).")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except (urllib.error.URLError, OSError):
            time.sleep(0.5)
    raise SystemExit(f"The server did not answer at {url} within {timeout:.0f} s.")


def run() -> None:
    settings = load_settings()
    setup()
    started = time.monotonic()
    processes: dict[str, subprocess.Popen] = {}

    def stop(*_: object, code: int = 0) -> None:
        for process in processes.values():
            if process.poll() is None:
                process.terminate()
        for process in processes.values():
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
        raise SystemExit(code)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    env = dict(os.environ)
    if not (os.environ.get("TWILIO_AUTH_TOKEN") and os.environ.get("SENDER_ID_SECRET")):
        env.setdefault("BOT_ENV", "development")
        print("    SMS channel: DEVELOPMENT secrets from var/secrets/ (set TWILIO_AUTH_TOKEN and SENDER_ID_SECRET)")
    commands = server_commands(settings)
    restarts: dict[str, list[float]] = {name: [] for name in commands}
    try:
        for name, command in commands.items():
            step(f"Starting the {name}")
            processes[name] = subprocess.Popen(command, cwd=PROJECT_ROOT, env=server_env(name, env))
        wait_until_up(f"http://127.0.0.1:{settings.actions_port}/health", processes["action server"])
        wait_until_up(f"http://127.0.0.1:{settings.bot_port}/webhooks/rest/", processes["Rasa server"])
        base = f"http://localhost:{settings.bot_port}"
        step(f"Ready in {time.monotonic() - started:.0f} s. Talk to the bot:")
        print(
            f"    in a browser: {base}/chat\n"
            f"    curl -s {base}/webhooks/rest/webhook -H 'Content-Type: application/json' \\\n"
            f'      -d \'{{"sender": "me", "message": "what is metastatic cancer?"}}\'\n'
            "    or, in another terminal: .venv/bin/rasa shell\n"
            "    Ctrl-C stops both servers.",
            flush=True,
        )
        # A server that dies is started again (conversations are in the database, so
        # nothing is lost); one that keeps dying stops everything with a clear message.
        while True:
            time.sleep(0.5)
            for name, process in processes.items():
                if process.poll() is None:
                    continue
                now = time.monotonic()
                restarts[name] = [t for t in restarts[name] if now - t < 60] + [now]
                if len(restarts[name]) > MAX_RESTARTS_PER_MINUTE:
                    print(f"The {name} keeps stopping (code {process.returncode}); stopping.", file=sys.stderr)
                    stop(code=1)
                print(f"==> The {name} stopped (code {process.returncode}); starting it again", flush=True)
                processes[name] = subprocess.Popen(commands[name], cwd=PROJECT_ROOT, env=server_env(name, env))
    finally:
        for process in processes.values():
            if process.poll() is None:
                process.kill()


def purge(older_than: str | None) -> None:
    from bot.retention import parse_age
    from bot.retention import purge as delete_older

    age_text = older_than or f"{load_settings().retention_days}d"
    try:
        age = parse_age(age_text)
    except ValueError as error:
        raise SystemExit(str(error)) from None
    step(f"Deleting conversations, feedback and stored questions older than {age_text}")
    for what, count in delete_older(age).items():
        print(f"    {what}: {count} deleted")


def report(output_format: str, plot_path: str | None) -> None:
    from bot.insights.report import as_csv, as_text, build_report, plot

    data = build_report()
    print(as_csv(data) if output_format == "csv" else as_text(data), end="\n" if output_format == "text" else "")
    if plot_path:
        print(f"Chart saved to {plot(data, Path(plot_path))}", file=sys.stderr)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bot", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("setup", help="build the spaCy pipeline, knowledge base and Rasa model")
    commands.add_parser("run", help="set up, then run the action server and the Rasa server")
    commands.add_parser("rasa-server", help="run only the Rasa server, in the foreground (cluster, containers)")
    commands.add_parser("action-server", help="run only the action server, in the foreground")
    commands.add_parser("migrate", help="bring the database schema up to date (Alembic)")
    purge_parser = commands.add_parser("purge", help="delete conversations and insights past the retention period")
    purge_parser.add_argument("--older-than", metavar="AGE", help="e.g. 90d or 12h (default: RETENTION_DAYS, 90 days)")
    commands.add_parser("build-nlp", help="build the spaCy pipeline")
    commands.add_parser("load-kb", help="load the article into the knowledge base")
    train_parser = commands.add_parser("train", help="train the Rasa model if its inputs changed")
    train_parser.add_argument("--force", action="store_true", help="train even if nothing changed")
    report_parser = commands.add_parser("report", help="most-asked and unhelpful topics, unanswered questions")
    report_parser.add_argument("--format", choices=["text", "csv"], default="text")
    report_parser.add_argument("--plot", metavar="PNG", nargs="?", const="results/most-asked-topics.png")
    args = parser.parse_args(argv)
    logging.basicConfig(level=load_settings().log_level, format="%(levelname)s %(name)s: %(message)s")
    os.chdir(PROJECT_ROOT)
    {
        "setup": setup,
        "run": run,
        "rasa-server": lambda: exec_server("Rasa server"),
        "action-server": lambda: exec_server("action server"),
        "migrate": migrate,
        "purge": lambda: purge(args.older_than),
        "build-nlp": build_nlp,
        "load-kb": load_kb,
        "train": lambda: train(force=args.force),
        "report": lambda: report(args.format, args.plot),
    }[args.command]()
