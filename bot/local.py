"""The one launcher: `python -m bot run` (or any command) as a child process on free loopback ports.

Everything that starts the bot from outside goes through here: the end-to-end tests
(tests/conftest.py), `python -m bot.evaluation`, `scripts/bench.py` and `scripts/soak.py`.
Each caller gives its own settings (throwaway databases, limits, test secrets) on top
of this process's environment; this module picks the ports, starts the process,
writes its output to a log (each line with the seconds since start), waits until it
says it is ready, and stops it: SIGTERM to the launcher as Ctrl-C or a service
manager would send it, and after the timeout SIGKILL to whatever is left.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO

from bot.settings import PROJECT_ROOT

READY = "Ready in"  # what `python -m bot run` prints once both servers answer
OnLine = Callable[[float, str], None]  # (seconds since start, the line) for each line of output


def free_port() -> int:
    """A port nobody listens on now, so a bot started here never collides with a running one."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def environment(
    settings: Mapping[str, str], port: int | None = None, actions_port: int | None = None
) -> dict[str, str]:
    """This process's environment with the project importable, the ports, then `settings` on top.

    ACTION_SERVER_URL is dropped: the bot must call the action server started with it.
    """
    env = {key: value for key, value in os.environ.items() if key != "ACTION_SERVER_URL"}
    env["PYTHONPATH"] = str(PROJECT_ROOT)
    if port is not None:
        env["BOT_PORT"] = str(port)
    if actions_port is not None:
        env["ACTIONS_PORT"] = str(actions_port)
    return {**env, **settings}


class Child:
    """A command started here; its output goes to `log`, one `[   1.23s] line` at a time.

    `new_session`: in its own process group (Ctrl-C on the caller does not reach it;
    `stop` then also kills whatever the command left behind in that group).
    """

    def __init__(
        self,
        name: str,
        command: list[str],
        log: Path,
        *,
        cwd: Path = PROJECT_ROOT,
        env: Mapping[str, str] | None = None,
        new_session: bool = False,
        on_line: OnLine | None = None,
    ) -> None:
        self.name, self.log, self.new_session = name, log, new_session
        self._on_line = on_line
        self._seen: list[tuple[str, threading.Event]] = []
        self._lock = threading.Lock()
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text("")
        self.started = time.monotonic()
        self.process = subprocess.Popen(
            command,
            cwd=cwd,
            env=dict(env if env is not None else os.environ),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=new_session,
            text=True,
            errors="replace",
        )
        assert self.process.stdout is not None
        self._pump = threading.Thread(target=self._copy, args=(self.process.stdout,), daemon=True)
        self._pump.start()

    def _copy(self, stream: IO[str]) -> None:
        with self.log.open("a", encoding="utf-8") as out:
            for line in stream:
                elapsed = time.monotonic() - self.started
                out.write(f"[{elapsed:8.2f}s] {line}")
                out.flush()
                if self._on_line is not None:
                    self._on_line(elapsed, line)
                with self._lock:
                    for text, event in self._seen:
                        if text in line:
                            event.set()

    def alive(self) -> bool:
        return self.process.poll() is None

    def wait_for(self, text: str, timeout: float) -> bool:
        """True once a line of output contains `text`; False if the process exits or time runs out first."""
        event = threading.Event()
        with self._lock:
            self._seen.append((text, event))
        if text in self.log.read_text(errors="replace"):  # already said before we asked
            return True
        deadline = time.monotonic() + timeout
        while not event.wait(0.5):
            if not self.alive() or time.monotonic() > deadline:
                self._pump.join(timeout=2)  # its last lines
                return event.is_set()
        return True

    def stop(self, timeout: float = 30) -> int | None:
        """SIGTERM, then SIGKILL after `timeout` seconds; the exit code (None if it had to be killed)."""
        code = None
        if self.alive():
            self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self._kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=10)
        if self.new_session:  # what the command left in its group (a server it started)
            self._kill()
        self._pump.join(timeout=5)
        return code

    def _kill(self) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            if self.new_session:
                os.killpg(self.process.pid, signal.SIGKILL)
            else:
                self.process.kill()


class LocalBot(Child):
    """`python -m bot run` on `port` (Rasa and the channels) and `actions_port` (the action server)."""

    def __init__(
        self,
        port: int,
        actions_port: int,
        log: Path,
        env: Mapping[str, str],
        *,
        new_session: bool = False,
        on_line: OnLine | None = None,
    ) -> None:
        self.port, self.actions_port = port, actions_port
        command = [sys.executable, "-m", "bot", "run"]
        super().__init__("python -m bot run", command, log, env=env, new_session=new_session, on_line=on_line)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def launch(
    settings: Mapping[str, str], log: Path, *, new_session: bool = False, on_line: OnLine | None = None
) -> LocalBot:
    """Start `python -m bot run` with these settings on free ports, without waiting for it."""
    port = free_port()
    actions_port = free_port()
    while actions_port == port:
        actions_port = free_port()
    env = environment(settings, port, actions_port)
    return LocalBot(port, actions_port, log, env, new_session=new_session, on_line=on_line)


def start(
    tmp: Path,
    settings: Mapping[str, str],
    timeout: float = 300,
    *,
    new_session: bool = False,
    on_line: OnLine | None = None,
) -> LocalBot:
    """Start the bot with these settings; its output goes to tmp/servers.log. Returns once it is ready."""
    return wait_until_ready(launch(settings, tmp / "servers.log", new_session=new_session, on_line=on_line), timeout)


def wait_until_ready(bot: LocalBot, timeout: float = 300) -> LocalBot:
    """`bot` once it says it is ready to answer.

    Raises RuntimeError, with the log's end, if it exits or is not ready in time (it is stopped then).
    """
    if not bot.wait_for(READY, timeout):
        bot.stop(timeout=10)
        raise RuntimeError(f"`python -m bot run` did not start:\n{bot.log.read_text(errors='replace')[-3000:]}")
    return bot
