"""`make bench`: this bot against Rasa's own `rasa init` starter bot, in the same run.

For each bot: seconds from start to the first answer, then Locust (headless,
scripts/locustfile.py, users sending back to back) at 1, 8 and 32 concurrent users:
p50/p95/p99 latency and messages per second; the peak memory (VmHWM, the peak
resident set) of every server process. Then the ratios against the issue's
targets. A missed target is reported, never a failed make: speed is measured here,
not asserted. Results: results/bench.md and results/bench.json.

The bots run one after the other, never together, so they do not share the CPU.
Every process started here is stopped on exit, Ctrl-C or SIGTERM included.

    .venv/bin/python scripts/bench.py [--duration 30] [--warmup 5] [--users 1,8,32]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import psutil
import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # scripts/ run as files: the project's modules are importable

from bot import local  # noqa: E402  (after the path)
from bot.local import free_port  # noqa: E402

BIN = ROOT / ".venv" / "bin"
BENCH_DIR = ROOT / "var" / "bench"
STARTER_DIR = BENCH_DIR / "starter"
RESULTS_DIR = ROOT / "results"
LOCUSTFILE = Path(__file__).resolve().parent / "locustfile.py"
WEBHOOK = "/webhooks/rest/webhook"

# The per-sender and per-address limits would throttle a load test that comes
# from one address with many senders: raised for the servers started here only.
LOAD_TEST_LIMITS = {"RATE_LIMIT_PER_SENDER": "100000", "RATE_LIMIT_PER_ADDRESS": "1000000"}
# Both bots alike: no usage data sent home during a measurement.
COMMON_ENV = {"RASA_TELEMETRY_ENABLED": "false", "PYTHONUNBUFFERED": "1"}

TARGET_THROUGHPUT_RATIO = 1.5
TARGET_LATENCY_RATIO = 0.75
TARGET_FIRST_ANSWER_S = 20.0

# Log lines that mark where start-up time goes (the first line matching each).
MILESTONES = {
    "set-up done, servers starting": re.compile(r"==> Starting the action server"),
    "action server up": re.compile(r"Action endpoint is up and running"),
    "Rasa loads the model": re.compile(r"Loading model"),
    "Rasa server up": re.compile(r"Rasa server is up and running"),
}


def read_status_kb(pid: int, key: str) -> int | None:
    """A `kB` field of /proc/<pid>/status (VmHWM: peak resident set; VmRSS: now)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(f"{key}:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        return None
    return None


def role_of(process: psutil.Process) -> str:
    """Name a server process by its command line."""
    try:
        args = process.cmdline()
    except psutil.Error:
        return "unknown"
    joined = " ".join(args)
    if "run actions" in joined or "action-server" in joined or "rasa_sdk" in joined:
        return "action server"
    if "-m bot run" in joined or args[-2:] == ["bot", "run"]:
        return "launcher (python -m bot run)"
    if "rasa" in joined:
        return "Rasa server"
    return Path(args[0]).name if args else "unknown"


class Server:
    """A command started through bot/local.py in its own process group, its output logged with timestamps."""

    def __init__(self, name: str, child: local.Child, milestones: dict[str, float]) -> None:
        self.name, self.child, self.milestones = name, child, milestones
        _STARTED.append(self)

    @property
    def popen(self) -> subprocess.Popen:
        return self.child.process

    @property
    def started(self) -> float:
        return self.child.started

    @property
    def log_path(self) -> Path:
        return self.child.log

    @staticmethod
    def _milestones() -> tuple[dict[str, float], Callable[[float, str], None]]:
        """Where start-up time goes: the first line matching each of MILESTONES, seconds after start."""
        found: dict[str, float] = {}

        def on_line(elapsed: float, line: str) -> None:
            for label, pattern in MILESTONES.items():
                if label not in found and pattern.search(line):
                    found[label] = elapsed

        return found, on_line

    @classmethod
    def start(cls, name: str, command: list[str], cwd: Path, env: dict[str, str], log_path: Path) -> Server:
        milestones, on_line = cls._milestones()
        # Its own process group: Ctrl-C reaches us, not it; stopping it stops the whole group.
        child = local.Child(name, command, log_path, cwd=cwd, env=env, new_session=True, on_line=on_line)
        return cls(name, child, milestones)

    @classmethod
    def bot(cls, name: str, settings: dict[str, str], log_path: Path) -> tuple[Server, str]:
        """`python -m bot run` on free ports (bot/local.py, as the end-to-end tests start it)."""
        milestones, on_line = cls._milestones()
        bot = local.launch(settings, log_path, new_session=True, on_line=on_line)
        return cls(name, bot, milestones), bot.base

    def processes(self) -> dict[str, psutil.Process]:
        """The server processes by role: the process started and its descendants."""
        try:
            root = psutil.Process(self.popen.pid)
            found = [root, *root.children(recursive=True)]
        except psutil.Error:
            return {}
        by_role: dict[str, psutil.Process] = {}
        for process in found:
            role = role_of(process)
            if role in by_role:
                role = f"{role} (pid {process.pid})"
            by_role[role] = process
        return by_role

    def alive(self) -> bool:
        return self.child.alive()

    def stop(self) -> None:
        """SIGTERM, then SIGKILL to whatever is left of its process group after 30 s."""
        if self in _STARTED:
            _STARTED.remove(self)
        self.child.stop(timeout=30)


_STARTED: list[Server] = []


def stop_everything() -> None:
    """Stop every process group started here, the most recent first.

    A second Ctrl-C while stopping would leave servers behind, so it is ignored.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    while _STARTED:
        _STARTED.pop().stop()


def _raise_keyboard_interrupt(*_: object) -> None:
    raise KeyboardInterrupt


def install_signal_handlers() -> None:
    """Ctrl-C and SIGTERM raise KeyboardInterrupt, so the `finally` blocks stop the servers.

    Set explicitly: a shell starting us in the background would have SIGINT ignored.
    """
    signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
    signal.signal(signal.SIGINT, _raise_keyboard_interrupt)


def wait_for_first_answer(server: Server, base_url: str, message: str, timeout: float = 300) -> float:
    """Seconds from the server's start to its first non-empty 200 reply."""
    deadline = server.started + timeout
    with requests.Session() as session:
        while time.monotonic() < deadline:
            if not server.alive():
                raise SystemExit(
                    f"{server.name} exited during start-up (code {server.popen.returncode}); see {server.log_path}"
                )
            try:
                reply = session.post(
                    base_url + WEBHOOK, json={"sender": "bench-first-answer", "message": message}, timeout=60
                )
                if reply.status_code == 200 and reply.json():
                    return time.monotonic() - server.started
            except (requests.RequestException, ValueError):
                pass
            time.sleep(0.25)
    raise SystemExit(f"{server.name} gave no answer within {timeout:.0f} s; see {server.log_path}")


def cpu_seconds(processes: dict[str, psutil.Process]) -> dict[str, float]:
    result = {}
    for role, process in processes.items():
        try:
            times = process.cpu_times()
            result[role] = times.user + times.system
        except psutil.Error:
            continue
    return result


def run_locust(
    user_class: str,
    base_url: str,
    users: int,
    seconds: float,
    csv_prefix: Path,
    extra_env: dict[str, str] | None = None,
    poll: Callable[[], None] | None = None,
) -> tuple[dict[str, Any], float]:
    """One headless Locust run; returns the Aggregated row and the client's CPU seconds.

    `poll`, if given, is called about once a second while Locust runs (the soak test
    samples memory with it).
    """
    csv_prefix.parent.mkdir(parents=True, exist_ok=True)
    command = [
        str(BIN / "locust"),
        "-f",
        str(LOCUSTFILE),
        "--headless",
        "--users",
        str(users),
        "--spawn-rate",
        str(users),  # all users at once: the level is the concurrency for the whole run
        "--run-time",
        f"{max(1, round(seconds))}s",
        "--host",
        base_url,
        "--csv",
        str(csv_prefix),
        "--only-summary",
        "--loglevel",
        "WARNING",
        "--exit-code-on-error",
        "0",
        user_class,
    ]
    env = {**os.environ, **COMMON_ENV, **(extra_env or {})}
    cpu_file = Path(f"{csv_prefix}_client_cpu.json")
    cpu_file.unlink(missing_ok=True)
    env["LOAD_CLIENT_CPU"] = str(cpu_file)
    locust = Server.start(f"locust {users} users", command, ROOT, env, csv_prefix.with_suffix(".log"))
    try:
        deadline = time.monotonic() + seconds + 120
        while locust.popen.poll() is None:
            if time.monotonic() > deadline:
                raise SystemExit(f"Locust did not finish; see {locust.log_path}")
            if poll is not None:
                poll()
            time.sleep(1 if poll is not None else 0.2)
        if locust.popen.returncode != 0:
            raise SystemExit(f"Locust failed (code {locust.popen.returncode}); see {locust.log_path}")
    finally:
        locust.stop()
    try:
        client_cpu = float(json.loads(cpu_file.read_text())["cpu_s"])
    except (OSError, ValueError, KeyError):
        client_cpu = float("nan")
    stats_path = Path(f"{csv_prefix}_stats.csv")
    with stats_path.open(newline="") as handle:
        rows = [row for row in csv.DictReader(handle) if row["Name"] == "Aggregated"]
    if not rows:
        raise SystemExit(f"No Aggregated row in {stats_path}")
    return rows[0], client_cpu


def _number(value: str) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")


def measure_levels(
    bot: str, user_class: str, server: Server, base_url: str, levels: list[int], duration: float, warmup: float
) -> list[dict[str, Any]]:
    """Warm up, then measure, at each concurrency; CPU per message shows where time goes."""
    results = []
    for users in levels:
        if warmup > 0:
            print(f"    {bot}: warm-up, {users} users, {warmup:.0f} s", flush=True)
            run_locust(user_class, base_url, users, warmup, BENCH_DIR / "locust" / f"{bot}-{users}-warmup")
        print(f"    {bot}: measuring, {users} users, {duration:.0f} s", flush=True)
        before = cpu_seconds(server.processes())
        row, client_cpu = run_locust(user_class, base_url, users, duration, BENCH_DIR / "locust" / f"{bot}-{users}")
        after = cpu_seconds(server.processes())
        messages = int(_number(row["Request Count"]))
        cpu_ms = {
            role: round((after[role] - before.get(role, 0.0)) * 1000 / messages, 1)
            for role in after
            if messages and role in before
        }
        cpu_ms["Locust (client)"] = round(client_cpu * 1000 / messages, 1) if messages else float("nan")
        results.append(
            {
                "users": users,
                "messages": messages,
                "failures": int(_number(row["Failure Count"])),
                "messages_per_s": round(_number(row["Requests/s"]), 2),
                "p50_ms": _number(row["50%"]),
                "p95_ms": _number(row["95%"]),
                "p99_ms": _number(row["99%"]),
                "mean_ms": round(_number(row["Average Response Time"]), 1),
                "cpu_ms_per_message": cpu_ms,
            }
        )
        print(
            f"      {results[-1]['messages_per_s']:.1f} msg/s, p50 {results[-1]['p50_ms']:.0f} ms, "
            f"p95 {results[-1]['p95_ms']:.0f} ms, p99 {results[-1]['p99_ms']:.0f} ms, "
            f"{results[-1]['failures']} failed of {messages}",
            flush=True,
        )
    return results


def peak_memory(server: Server) -> dict[str, float]:
    """Peak resident set (VmHWM) of each process of a server, in MB."""
    peaks = {}
    for role, process in server.processes().items():
        kb = read_status_kb(process.pid, "VmHWM")
        if kb is not None:
            peaks[role] = round(kb / 1024, 1)
    return peaks


def ensure_starter_model() -> Path:
    """`rasa init` once; its trained model is kept in var/bench/starter/models."""
    models = sorted((STARTER_DIR / "models").glob("*.tar.gz"))
    if models:
        return models[-1]
    print("==> Creating and training Rasa's starter bot (rasa init, once; about 2 minutes)", flush=True)
    STARTER_DIR.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, **COMMON_ENV}
    log = BENCH_DIR / "logs" / "starter-init.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w") as handle:
        code = subprocess.call(
            [str(BIN / "rasa"), "init", "--no-prompt", "--init-dir", str(STARTER_DIR)],
            cwd=ROOT,
            env=env,
            stdout=handle,
            stderr=subprocess.STDOUT,
        )
    models = sorted((STARTER_DIR / "models").glob("*.tar.gz"))
    if code != 0 or not models:
        raise SystemExit(f"rasa init failed (code {code}); see {log}")
    return models[-1]


def start_starter(port: int) -> tuple[Server, str]:
    """`rasa run` in the starter's folder: its credentials.yml enables REST; no actions needed."""
    model = ensure_starter_model()
    command = [str(BIN / "rasa"), "run", "--model", str(model), "--port", str(port), "--credentials", "credentials.yml"]
    env = {**os.environ, **COMMON_ENV}
    server = Server.start("starter bot", command, STARTER_DIR, env, BENCH_DIR / "logs" / "starter.log")
    return server, f"http://127.0.0.1:{port}"


def ours_settings(var_dir: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    """This bot's settings for a measurement, on top of the environment: its own var dir, load-test limits.

    BOT_VAR_DIR keeps the measurement's conversations, insights and endpoints.yml out of
    var/ (the model in models/ and the spaCy pipeline in var/nlp are the project's).
    bot/local.py adds the free ports and drops ACTION_SERVER_URL (the action server is the one started here).
    """
    return {**COMMON_ENV, **LOAD_TEST_LIMITS, "BOT_VAR_DIR": str(var_dir), **(extra or {})}


def prepare_ours(var_dir: Path, env: dict[str, str]) -> None:
    """A fresh var dir, set up before the clock starts (as `make run` finds it after `make setup`)."""
    shutil.rmtree(var_dir, ignore_errors=True)
    var_dir.mkdir(parents=True)
    log = BENCH_DIR / "logs" / f"{var_dir.name}-setup.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w") as handle:
        code = subprocess.call(
            [str(BIN / "python"), "-m", "bot", "setup"], cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT
        )
    if code != 0:
        raise SystemExit(f"python -m bot setup failed (code {code}); see {log}")


def start_ours(var_dir: Path, extra_env: dict[str, str] | None = None) -> tuple[Server, str]:
    """`python -m bot run` on free ports (bot/local.py): the launcher starts the action server and Rasa."""
    settings = ours_settings(var_dir, extra_env)
    prepare_ours(var_dir, local.environment(settings))
    return Server.bot("this bot", settings, BENCH_DIR / "logs" / f"{var_dir.name}.log")


def bench_one(
    bot: str, user_class: str, start: Any, first_message: str, levels: list[int], duration: float, warmup: float
) -> dict[str, Any]:
    print(f"==> {bot}: starting", flush=True)
    server, base_url = start()
    try:
        first_answer = wait_for_first_answer(server, base_url, first_message)
        print(f"    first answer {first_answer:.1f} s after start ({base_url})", flush=True)
        pids_before = {role: p.pid for role, p in server.processes().items()}
        load_before = os.getloadavg()
        levels_result = measure_levels(bot, user_class, server, base_url, levels, duration, warmup)
        memory = peak_memory(server)
        pids_after = {role: p.pid for role, p in server.processes().items()}
        restarted = sorted(role for role, pid in pids_before.items() if pids_after.get(role) != pid)
        return {
            "first_answer_s": round(first_answer, 1),
            "start_milestones_s": {k: round(v, 1) for k, v in sorted(server.milestones.items(), key=lambda i: i[1])},
            "levels": levels_result,
            "peak_rss_mb": memory,
            "restarted_during_run": restarted,
            "load_average_before": [round(x, 2) for x in load_before],
            "load_average_after": [round(x, 2) for x in os.getloadavg()],
            "log": str(server.log_path.relative_to(ROOT)),
        }
    finally:
        server.stop()


def server_memory_total(memory: dict[str, float]) -> float:
    """Peak MB of the serving processes (the launcher of `python -m bot run` only waits)."""
    return round(sum(mb for role, mb in memory.items() if not role.startswith("launcher")), 1)


def verdicts(starter: dict[str, Any], ours: dict[str, Any]) -> list[dict[str, Any]]:
    """The issue's targets, level by level."""
    rows = []
    for key, label, target, better in (
        ("messages_per_s", "throughput >=", TARGET_THROUGHPUT_RATIO, lambda r: r >= TARGET_THROUGHPUT_RATIO),
        ("p50_ms", "median latency <=", TARGET_LATENCY_RATIO, lambda r: r <= TARGET_LATENCY_RATIO),
    ):
        for s, o in zip(starter["levels"], ours["levels"], strict=True):
            ratio = o[key] / s[key] if s[key] else float("nan")
            rows.append(
                {
                    "target": f"{label} {target}x starter, {o['users']} users",
                    "value": round(ratio, 2),
                    "unit": "x",
                    "pass": better(ratio),
                }
            )
    rows.append(
        {
            "target": f"start to first answer < {TARGET_FIRST_ANSWER_S:.0f} s",
            "value": ours["first_answer_s"],
            "unit": "s",
            "pass": ours["first_answer_s"] < TARGET_FIRST_ANSWER_S,
        }
    )
    return rows


def write_results(name: str, report: dict[str, Any], text: str) -> None:
    """results/<name>.md (the text) and results/<name>.json (the report), and the text on stdout."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    (RESULTS_DIR / f"{name}.md").write_text(text)
    (RESULTS_DIR / f"{name}.json").write_text(json.dumps(report, indent=2) + "\n")
    print()
    print(text)


def git_revision() -> str:
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
        dirty = subprocess.run(["git", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True)
    except OSError:
        return "unknown"
    return head.stdout.strip() + (" + uncommitted changes" if dirty.stdout.strip() else "")


def markdown(report: dict[str, Any]) -> str:
    bots = report["bots"]
    lines = [
        "# Load and performance (`make bench`)",
        "",
        f"{report['date']} · {report['machine']} · revision {report['revision']}",
        f"Locust headless, users sending back to back (no think time), {report['duration_s']:.0f} s per level "
        f"after a {report['warmup_s']:.0f} s warm-up; each conversation a new sender. Rate limits raised for "
        f"the test ({', '.join(f'{k}={v}' for k, v in LOAD_TEST_LIMITS.items())}).",
        "Starter: `rasa init`'s moodbot as generated (DIET, TED, UnexpecTED, memoization and rule policies; "
        "in-memory tracker store; no action server). Ours: as `python -m bot run` starts it (action server, "
        "tracker store and knowledge base from the environment; SQLite under var/bench/ours by default).",
        "",
        "| bot | users | messages | failed | msg/s | p50 ms | p95 ms | p99 ms |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, data in bots.items():
        for level in data["levels"]:
            lines.append(
                f"| {name} | {level['users']} | {level['messages']} | {level['failures']} | "
                f"{level['messages_per_s']:.1f} | {level['p50_ms']:.0f} | {level['p95_ms']:.0f} | "
                f"{level['p99_ms']:.0f} |"
            )
    lines += ["", "| bot | start to first answer | where the start-up time goes (s after start) |", "|---|---:|---|"]
    for name, data in bots.items():
        steps = ", ".join(f"{label} {t:.1f}" for label, t in data["start_milestones_s"].items())
        lines.append(f"| {name} | {data['first_answer_s']:.1f} s | {steps} |")
    lines += ["", "| bot | process | peak memory (VmHWM) |", "|---|---|---:|"]
    for name, data in bots.items():
        for role, mb in data["peak_rss_mb"].items():
            lines.append(f"| {name} | {role} | {mb:.0f} MB |")
        lines.append(f"| {name} | **servers total** | **{server_memory_total(data['peak_rss_mb']):.0f} MB** |")
    lines += ["", "CPU time per message (ms), by process:", ""]
    for name, data in bots.items():
        for level in data["levels"]:
            parts = ", ".join(f"{role} {ms}" for role, ms in level["cpu_ms_per_message"].items())
            lines.append(f"- {name}, {level['users']} users: {parts}")
    lines += ["", "| target | ours / starter | result |", "|---|---:|---|"]
    for row in report["targets"]:
        lines.append(f"| {row['target']} | {row['value']}{row['unit']} | {'PASS' if row['pass'] else 'MISS'} |")
    for name, data in bots.items():
        if data["restarted_during_run"]:
            lines.append(f"\n**{name}: restarted during the run: {', '.join(data['restarted_during_run'])}**")
    lines += [
        "",
        "Load average before/after: "
        + "; ".join(
            f"{name} {data['load_average_before'][0]:.2f} → {data['load_average_after'][0]:.2f}"
            for name, data in bots.items()
        )
        + f" ({os.cpu_count()} CPUs; anything else running skews both bots).",
    ]
    return "\n".join(lines) + "\n"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--duration",
        type=float,
        default=float(os.environ.get("BENCH_DURATION", 30)),
        help="seconds measured per level (BENCH_DURATION, default 30)",
    )
    parser.add_argument(
        "--warmup",
        type=float,
        default=float(os.environ.get("BENCH_WARMUP", 5)),
        help="seconds of unmeasured load before each level (BENCH_WARMUP, default 5)",
    )
    parser.add_argument(
        "--users",
        default=os.environ.get("BENCH_USERS", "1,8,32"),
        help="concurrency levels (BENCH_USERS, default 1,8,32)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    levels = [int(n) for n in args.users.split(",") if n.strip()]
    install_signal_handlers()
    began = time.monotonic()
    print(
        "==> Benchmark: Rasa's starter bot, then this bot, one at a time; "
        f"{', '.join(map(str, levels))} users, {args.duration:.0f} s each (+{args.warmup:.0f} s warm-up).\n"
        f"    Rate limits raised for the servers started here: "
        f"{' '.join(f'{k}={v}' for k, v in LOAD_TEST_LIMITS.items())}",
        flush=True,
    )
    try:
        starter = bench_one(
            "starter",
            "StarterConversation",
            lambda: start_starter(free_port()),
            "hi",
            levels,
            args.duration,
            args.warmup,
        )
        ours = bench_one(
            "ours",
            "PatientConversation",
            lambda: start_ours(BENCH_DIR / "ours"),
            "hi",
            levels,
            args.duration,
            args.warmup,
        )
    except KeyboardInterrupt:
        print("\nInterrupted; stopping the servers.", file=sys.stderr)
        raise SystemExit(130) from None
    finally:
        stop_everything()
    report = {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, "
        f"{psutil.virtual_memory().total / 2**30:.0f} GB RAM, Python {platform.python_version()}",
        "revision": git_revision(),
        "duration_s": args.duration,
        "warmup_s": args.warmup,
        "rate_limits": LOAD_TEST_LIMITS,
        "bots": {"starter (rasa init)": starter, "ours": ours},
    }
    report["targets"] = verdicts(starter, ours)
    report["total_s"] = round(time.monotonic() - began, 1)
    write_results("bench", report, markdown(report))
    missed = [row["target"] for row in report["targets"] if not row["pass"]]
    print(
        f"{len(report['targets']) - len(missed)} of {len(report['targets'])} targets met"
        + (f"; missed (reported, not failed): {'; '.join(missed)}" if missed else "")
    )
    print(
        f"Results: {RESULTS_DIR / 'bench.md'} and {RESULTS_DIR / 'bench.json'} "
        f"(server logs in {BENCH_DIR / 'logs'}; {report['total_s']:.0f} s in all)"
    )


if __name__ == "__main__":
    main()
