"""`python -m bot …`: set-up, run and maintenance commands behind the Makefile.

`setup` builds what the servers need (spaCy pipeline, knowledge base, Rasa
model), each step skipped when its inputs have not changed. `run` also starts
the action server and the Rasa server and stops both on Ctrl-C or SIGTERM.
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


def step(message: str) -> None:
    print(f"==> {message}", flush=True)


def build_nlp() -> Path:
    from bot.nlp.pipeline import write_pipeline

    step("Building the spaCy pipeline (blank English + entity patterns)")
    return write_pipeline()


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
    load_kb()
    train()


def write_endpoints(settings: Settings) -> Path:
    path = VAR_DIR / "endpoints.yml"
    path.write_text(f'action_endpoint:\n  url: "{settings.action_endpoint}"\n')
    return path


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

    def stop(*_: object) -> None:
        for process in processes.values():
            if process.poll() is None:
                process.terminate()
        for process in processes.values():
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    if not (os.environ.get("TWILIO_AUTH_TOKEN") and os.environ.get("SENDER_ID_SECRET")):
        env.setdefault("BOT_ENV", "development")
        print("    SMS channel: DEVELOPMENT secrets from var/secrets/ (set TWILIO_AUTH_TOKEN and SENDER_ID_SECRET)")
    try:
        for name, command in server_commands(settings).items():
            step(f"Starting the {name}")
            processes[name] = subprocess.Popen(command, cwd=PROJECT_ROOT, env=env)
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
        while all(p.poll() is None for p in processes.values()):
            time.sleep(1)
        failed = [name for name, p in processes.items() if p.poll() is not None]
        print(f"The {' and '.join(failed)} stopped; stopping the rest.", file=sys.stderr)
        stop()
    finally:
        for process in processes.values():
            if process.poll() is None:
                process.kill()


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
        "build-nlp": build_nlp,
        "load-kb": load_kb,
        "train": lambda: train(force=args.force),
        "report": lambda: report(args.format, args.plot),
    }[args.command]()
