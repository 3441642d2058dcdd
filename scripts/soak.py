"""`make soak`: 10,000 messages of realistic conversations, then three checks.

1. No 5xx and no failed message (a failure: status other than 200, or no reply).
2. No lost events: every conversation's tracker, read back through Rasa's HTTP API,
   holds the user messages that were answered, in the order they were sent, and
   after each one the bot texts of the reply that was received.
3. Memory flat within 10%: the resident memory of the Rasa server and of the action
   server, sampled every second, averaged over the last 10% of the messages, differs
   by at most 10% from its average just after the warm-up (the second 10%).

The bot runs as `python -m bot run` does (bot/local.py), on free ports, with its own var dir and
the HTTP API on (a random RASA_TOKEN). Exits non-zero when a check fails: unlike the
timings of `make bench`, these are pass/fail. Results: results/soak.md and .json.

    .venv/bin/python scripts/soak.py [--messages 10000] [--users 8]

The bot is started and stopped by bot/local.py (the launcher the end-to-end tests use),
through scripts/bench.py (imported as `bench`).
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import statistics
import sys
import time
from collections import defaultdict
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import psutil
import requests
from bench import (
    BENCH_DIR,
    LOAD_TEST_LIMITS,
    RESULTS_DIR,
    ROOT,
    Server,
    git_revision,
    install_signal_handlers,
    run_locust,
    start_ours,
    stop_everything,
    wait_for_first_answer,
    write_results,
)

MEMORY_TOLERANCE = 0.10
SERVER_ROLES = ("Rasa server", "action server")


class MemorySampler:
    """Resident memory of the servers against the number of messages answered so far."""

    def __init__(self, server: Server, log_path: Path, interval: float) -> None:
        self.server = server
        self.log_path = log_path
        self.interval = interval
        self.samples: list[dict[str, Any]] = []
        self.pids: dict[str, set[int]] = defaultdict(set)
        self._offset = 0
        self._messages = 0
        self._last = 0.0

    def _count_messages(self) -> int:
        """Lines appended to the Locust log since the last call (one per message)."""
        try:
            with self.log_path.open("rb") as handle:
                handle.seek(self._offset)
                chunk = handle.read()
        except FileNotFoundError:
            return self._messages
        complete = chunk[: chunk.rfind(b"\n") + 1]
        self._offset += len(complete)
        self._messages += complete.count(b"\n")
        return self._messages

    def __call__(self, force: bool = False) -> None:
        now = time.monotonic()
        if now - self._last < self.interval and not force:
            return
        self._last = now
        sample: dict[str, Any] = {"t": round(now - self.server.started, 1), "messages": self._count_messages()}
        for role, process in self.server.processes().items():
            if role in SERVER_ROLES:
                self.pids[role].add(process.pid)
                try:
                    sample[role] = round(process.memory_info().rss / 2**20, 1)
                except psutil.Error:
                    continue
        self.samples.append(sample)


def window_mean(samples: list[dict[str, Any]], role: str, low: float, high: float) -> float | None:
    values = [s[role] for s in samples if low <= s["messages"] < high and role in s]
    return round(statistics.fmean(values), 1) if values else None


def memory_check(samples: list[dict[str, Any]], total: int) -> dict[str, Any]:
    """Mean RSS just after warm-up (messages 10-20%) against the last 10% of the run."""
    warm, final = 0.1 * total, 0.9 * total
    result: dict[str, Any] = {"baseline_window": [int(warm), int(2 * warm)], "final_window": [int(final), total]}
    ok = True
    for role in SERVER_ROLES:
        baseline = window_mean(samples, role, warm, 2 * warm)
        last = window_mean(samples, role, final, float("inf"))
        if baseline is None or last is None:
            result[role] = {"baseline_mb": baseline, "final_mb": last, "change": None, "pass": False}
            ok = False
            continue
        change = (last - baseline) / baseline
        passed = abs(change) <= MEMORY_TOLERANCE
        ok &= passed
        result[role] = {"baseline_mb": baseline, "final_mb": last, "change": round(change, 4), "pass": passed}
    result["pass"] = ok
    return result


def read_sent(log_path: Path) -> list[dict[str, Any]]:
    with log_path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def paragraphs(texts: list[str | None]) -> list[str]:
    """Bot texts as the REST channel sends them: one message per paragraph."""
    return [part.strip() for text in texts if text for part in text.strip().split("\n\n") if part.strip()]


def compare_conversation(sender: str, entries: list[dict[str, Any]], events: list[dict[str, Any]]) -> list[str]:
    """What the tracker lost or reordered, compared with what was sent and answered."""
    answered = [e for e in entries if e["status"] == 200]
    user_texts = [e.get("text") for e in events if e.get("event") == "user"]
    expected = [e["message"] for e in answered]
    if user_texts != expected:
        missing = len(expected) - len(user_texts)
        return [
            f"{sender}: user events differ from the answered messages ({len(user_texts)} in the tracker, "
            f"{len(expected)} answered" + (f", {missing} missing)" if missing > 0 else ")")
        ]
    # The bot's utterances after each user event are the reply to that message.
    turns: list[list[str | None]] = []
    for event in events:
        if event.get("event") == "user":
            turns.append([])
        elif event.get("event") == "bot" and turns:
            turns[-1].append(event.get("text"))
    problems = []
    for number, (entry, uttered) in enumerate(zip(answered, turns, strict=True), start=1):
        if paragraphs(uttered) != paragraphs(entry["texts"]):
            problems.append(f"{sender}: the bot events of message {number} differ from the reply received")
    return problems


def tracker_check(base_url: str, token: str, sent: list[dict[str, Any]]) -> dict[str, Any]:
    """Each conversation's tracker, read back: the user messages and the bot replies, in order."""
    by_sender: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for entry in sent:
        by_sender[entry["sender"]].append(entry)
    problems: list[str] = []
    user_events = bot_events = 0
    with requests.Session() as session:
        for sender, entries in by_sender.items():
            response = session.get(
                f"{base_url}/conversations/rest:{sender}/tracker",  # REST conversations are rest:<sender>
                params={"include_events": "ALL", "token": token},
                timeout=60,
            )
            if response.status_code != 200:
                problems.append(f"{sender}: tracker HTTP {response.status_code}")
                continue
            events = response.json().get("events") or []
            user_events += sum(1 for e in events if e.get("event") == "user")
            bot_events += sum(1 for e in events if e.get("event") == "bot")
            problems += compare_conversation(sender, entries, events)
    return {
        "conversations": len(by_sender),
        "user_events": user_events,
        "bot_events": bot_events,
        "problems": problems[:50],
        "problem_count": len(problems),
        "pass": not problems,
    }


def markdown(report: dict[str, Any]) -> str:
    requests_ = report["requests"]
    trackers = report["trackers"]
    memory = report["memory"]
    mark = {True: "PASS", False: "FAIL"}
    lines = [
        "# Soak (`make soak`)",
        "",
        f"{report['date']} · revision {report['revision']} · {report['messages']} messages from "
        f"{report['users']} concurrent users sending back to back, in {report['duration_s']:.0f} s "
        f"({report['messages_per_s']:.1f} msg/s). Rate limits raised for the test "
        f"({', '.join(f'{k}={v}' for k, v in LOAD_TEST_LIMITS.items())}).",
        "",
        "| check | result | |",
        "|---|---|---|",
        f"| no 5xx, no failed message | {requests_['5xx']} 5xx, {requests_['failed']} failed "
        f"of {requests_['sent']} | {mark[requests_['pass']]} |",
        f"| no lost events | {trackers['conversations']} conversations: {trackers['user_events']} user events "
        f"for {requests_['answered']} answered messages, {trackers['bot_events']} bot events, each turn's "
        f"bot texts equal to the reply received; {trackers['problem_count']} mismatches | "
        f"{mark[trackers['pass']]} |",
    ]
    for role in SERVER_ROLES:
        m = memory[role]
        change = "n/a" if m["change"] is None else f"{m['change']:+.1%}"
        lines.append(
            f"| memory flat within {MEMORY_TOLERANCE:.0%}: {role} | {m['baseline_mb']} MB after warm-up → "
            f"{m['final_mb']} MB at the end ({change}) | {mark[m['pass']]} |"
        )
    if report["restarted"]:
        lines.append(f"| servers not restarted | restarted: {', '.join(report['restarted'])} | FAIL |")
    if trackers["problems"]:
        lines += ["", "First mismatches:", ""] + [f"- {p}" for p in trackers["problems"][:10]]
    lines += ["", f"**Soak {mark[report['pass']]}**"]
    return "\n".join(lines) + "\n"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=int(os.environ.get("SOAK_MESSAGES", 10000)))
    parser.add_argument("--users", type=int, default=int(os.environ.get("SOAK_USERS", 8)))
    parser.add_argument("--sample-every", type=float, default=1.0, help="seconds between memory samples")
    parser.add_argument("--max-minutes", type=float, default=120, help="stop the load after this long regardless")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    install_signal_handlers()
    token = secrets.token_urlsafe(24)
    load_log = BENCH_DIR / "soak-messages.jsonl"
    load_log.parent.mkdir(parents=True, exist_ok=True)
    load_log.unlink(missing_ok=True)
    print(
        f"==> Soak: {args.messages} messages from {args.users} users against this bot.\n"
        f"    Rate limits raised for the servers started here: "
        f"{' '.join(f'{k}={v}' for k, v in LOAD_TEST_LIMITS.items())}; HTTP API on with a random token.",
        flush=True,
    )
    try:
        server, base_url = start_ours(BENCH_DIR / "soak", {"RASA_TOKEN": token})
        first = wait_for_first_answer(server, base_url, "hi")
        print(f"    first answer {first:.1f} s after start ({base_url}); sending messages", flush=True)
        sampler = MemorySampler(server, load_log, args.sample_every)
        began = time.monotonic()
        row, _ = run_locust(
            "PatientConversation",
            base_url,
            args.users,
            args.max_minutes * 60,
            BENCH_DIR / "locust" / "soak",
            {"LOAD_LOG": str(load_log), "LOAD_MAX_MESSAGES": str(args.messages), "LOAD_SENDER_PREFIX": "soak"},
            poll=sampler,
        )
        duration = time.monotonic() - began
        sampler(force=True)  # one last sample at the end
        sent = read_sent(load_log)
        print(f"    {len(sent)} messages in {duration:.0f} s; reading the trackers back", flush=True)
        trackers = tracker_check(base_url, token, sent)
        restarted = sorted(role for role, pids in sampler.pids.items() if len(pids) > 1)
    except KeyboardInterrupt:
        print("\nInterrupted; stopping the servers.", file=sys.stderr)
        raise SystemExit(130) from None
    finally:
        stop_everything()
    statuses = [e["status"] for e in sent]
    failed = sum(1 for e in sent if e["status"] != 200 or not e["replies"])
    server_errors = sum(1 for s in statuses if s >= 500)
    requests_check = {
        "sent": len(sent),
        "answered": sum(1 for s in statuses if s == 200),
        "5xx": server_errors,
        "failed": failed,
        "statuses": {str(s): statuses.count(s) for s in sorted(set(statuses))},
        "pass": failed == 0 and server_errors == 0 and len(sent) >= args.messages,
    }
    memory = memory_check(sampler.samples, len(sent))
    report = {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "revision": git_revision(),
        "messages": len(sent),
        "users": args.users,
        "duration_s": round(duration, 1),
        "messages_per_s": round(len(sent) / duration, 2) if duration else 0.0,
        "rate_limits": LOAD_TEST_LIMITS,
        "requests": requests_check,
        "trackers": trackers,
        "memory": memory,
        "restarted": restarted,
        "memory_samples": sampler.samples,
        "locust_aggregated": row,
        "log": str(server.log_path.relative_to(ROOT)),
    }
    report["pass"] = requests_check["pass"] and trackers["pass"] and memory["pass"] and not restarted
    write_results("soak", report, markdown(report))
    print(f"Results: {RESULTS_DIR / 'soak.md'} and {RESULTS_DIR / 'soak.json'} (memory samples included)")
    if not report["pass"]:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
