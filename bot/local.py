"""`python -m bot run` as a child process on free loopback ports.

For the end-to-end tests (tests/conftest.py) and `python -m bot.evaluation`: each
caller gives its own settings (throwaway databases, limits, test secrets); this
module picks the ports, starts the process and waits until it says it is ready.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from bot.settings import PROJECT_ROOT

READY = "Ready in"  # what `python -m bot run` prints once both servers answer


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass(frozen=True)
class LocalBot:
    process: subprocess.Popen
    port: int
    actions_port: int
    log: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def start(tmp: Path, settings: dict[str, str], timeout: float = 300) -> LocalBot:
    """Start the bot with these settings on top of the environment; its output goes to tmp/servers.log.

    Raises RuntimeError, with the log's end, if it exits or is not ready in time.
    """
    port, actions_port = free_port(), free_port()
    env = {**os.environ, "BOT_PORT": str(port), "ACTIONS_PORT": str(actions_port), **settings}
    log = tmp / "servers.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "bot", "run"], cwd=PROJECT_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    deadline = time.monotonic() + timeout
    while READY not in log.read_text():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"`python -m bot run` did not start:\n{log.read_text()[-3000:]}")
        time.sleep(0.5)
    return LocalBot(process, port, actions_port, log)
