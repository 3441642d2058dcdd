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

from bot import servers
from bot.servers import MODEL_DIR, MODEL_NAME, MODEL_PATH, rasa_executable
from bot.settings import DEVELOPMENT, PROJECT_ROOT, VAR_DIR, load_settings

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


def write_topics(check: bool = False) -> None:
    """The topics' intents, rules and docs rows, from the topic catalogue (bot/rasa/topics.py)."""
    from bot.rasa import topics

    if check:
        stale = topics.stale()
        for path in stale:
            print(f"{path.relative_to(PROJECT_ROOT)} is not current with the topic catalogue", file=sys.stderr)
        if stale:
            raise SystemExit("Run `python -m bot topics` (or `make setup`) to write them.")
        return
    step("Writing the topics' intents and rules from the topic catalogue")
    changed = topics.write()
    names = ", ".join(str(path.relative_to(PROJECT_ROOT)) for path in changed)
    print(f"    {names} updated" if changed else "    up to date")


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


def setup() -> None:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    build_nlp()
    migrate()
    load_kb()
    write_topics()
    train()


def server_env(base: dict[str, str] | None = None) -> dict[str, str]:
    """The environment a server started by `run` gets: this one, with the project importable."""
    return {**(base or os.environ), "PYTHONPATH": str(PROJECT_ROOT)}


def server_commands() -> dict[str, list[str]]:
    """Each server is `python -m bot <server>` (bot/servers.py): no secret on a command line."""
    return {
        "action server": [sys.executable, "-m", "bot", "action-server"],
        "Rasa server": [sys.executable, "-m", "bot", "rasa-server"],
    }


def loopback(host: str) -> str:
    """Where to reach a server listening on `host` from this machine."""
    return "127.0.0.1" if host in ("", "0.0.0.0", "::") else host


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
    if not env.get("BOT_ENV"):
        # One machine, embedded defaults: missing secrets are generated into var/secrets/,
        # and the REST channel is open. Production sets BOT_ENV=production and real secrets.
        env["BOT_ENV"] = DEVELOPMENT
    if env["BOT_ENV"] == DEVELOPMENT:
        print("    BOT_ENV=development: generated secrets (var/secrets/), REST channel open, this machine only")
    commands = server_commands()
    restarts: dict[str, list[float]] = {name: [] for name in commands}
    try:
        for name, command in commands.items():
            step(f"Starting the {name}")
            processes[name] = subprocess.Popen(command, cwd=PROJECT_ROOT, env=server_env(env))
        actions_url = f"http://{loopback(settings.actions_host)}:{settings.actions_port}/health"
        wait_until_up(actions_url, processes["action server"])
        wait_until_up(f"http://{loopback(settings.bot_host)}:{settings.bot_port}/health", processes["Rasa server"])
        base = f"http://localhost:{settings.bot_port}"
        step(f"Ready in {time.monotonic() - started:.0f} s. Talk to the bot:")
        print(
            f"    in a browser: {base}/chat\n"
            f"    curl -s {base}/webhooks/rest/webhook -H 'Content-Type: application/json' \\\n"
            f'      -d \'{{"sender": "me", "message": "what is metastatic cancer?"}}\'\n'
            "    or, in another terminal: .venv/bin/python -m bot shell\n"
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
                processes[name] = subprocess.Popen(commands[name], cwd=PROJECT_ROOT, env=server_env(env))
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
    commands.add_parser("shell", help="talk to the bot in this terminal (rasa shell; needs the action server)")
    commands.add_parser("migrate", help="bring the database schema up to date (Alembic)")
    purge_parser = commands.add_parser("purge", help="delete conversations and insights past the retention period")
    purge_parser.add_argument("--older-than", metavar="AGE", help="e.g. 90d or 12h (default: RETENTION_DAYS, 90 days)")
    commands.add_parser("build-nlp", help="build the spaCy pipeline")
    topics_parser = commands.add_parser("topics", help="write the topics' intents and rules from the topic catalogue")
    topics_parser.add_argument("--check", action="store_true", help="only say whether they are current (exit 1 if not)")
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
        "rasa-server": servers.rasa_server,
        "action-server": servers.action_server,
        "shell": servers.shell,
        "migrate": migrate,
        "purge": lambda: purge(args.older_than),
        "build-nlp": build_nlp,
        "topics": lambda: write_topics(check=args.check),
        "load-kb": load_kb,
        "train": lambda: train(force=args.force),
        "report": lambda: report(args.format, args.plot),
    }[args.command]()
