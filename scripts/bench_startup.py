"""Measure `make run`: seconds from start to the first answer, and each server's memory.

Usage: .venv/bin/python scripts/bench_startup.py   (set-up must have run once, or the
training time is included). Prints one line per figure; starts and stops its own servers.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
PORT = int(os.environ.get("BENCH_PORT", "5105"))
ACTIONS_PORT = int(os.environ.get("BENCH_ACTIONS_PORT", "5155"))


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def children(pid: int) -> dict[int, str]:
    out = subprocess.run(["ps", "-o", "pid=,args=", "--ppid", str(pid)], capture_output=True, text=True)
    return {int(p): args for p, _, args in (line.strip().partition(" ") for line in out.stdout.splitlines())}


def main() -> None:
    env = {**os.environ, "BOT_PORT": str(PORT), "ACTIONS_PORT": str(ACTIONS_PORT)}
    started = time.monotonic()
    process = subprocess.Popen(
        ["make", "-s", "run"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, start_new_session=True
    )
    url = f"http://127.0.0.1:{PORT}/webhooks/rest/webhook"
    try:
        while True:
            if process.poll() is not None:
                sys.exit("make run exited before answering")
            try:
                reply = requests.post(url, json={"sender": "bench", "message": "what is metastasis"}, timeout=30)
                if reply.ok and reply.json():
                    break
            except requests.RequestException:
                pass
            time.sleep(0.25)
        print(f"make run to first answer: {time.monotonic() - started:.1f} s")
        latencies = []
        for _ in range(20):
            t = time.monotonic()
            requests.post(url, json={"sender": "bench", "message": "what are the symptoms"}, timeout=30)
            latencies.append(time.monotonic() - t)
        latencies.sort()
        print(f"answer latency over 20 sequential questions: median {latencies[10] * 1000:.0f} ms")
        bot = subprocess.run(["pgrep", "-f", "-n", "python -m bot run"], capture_output=True, text=True)
        for pid, args in children(int(bot.stdout.split()[0])).items():
            name = "action server" if " actions" in args else "Rasa server"
            print(f"{name} memory (RSS): {rss_mb(pid):.0f} MB")
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


if __name__ == "__main__":
    main()
