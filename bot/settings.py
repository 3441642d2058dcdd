"""Configuration from environment variables, with defaults that run on one machine.

Every setting is read here so the README can document them in one table and no
module invents its own variable names.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("BOT_VAR_DIR", PROJECT_ROOT / "var"))


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise SystemExit(f"{name} must be a whole number, not {raw!r}.") from exc


@dataclass(frozen=True)
class Settings:
    database_url: str
    bot_port: int
    actions_port: int
    rasa_token: str
    care_team_phone: str
    care_team_hours: str
    emergency_number: str
    log_level: str

    @property
    def action_endpoint(self) -> str:
        return f"http://127.0.0.1:{self.actions_port}/webhook"


def load_settings() -> Settings:
    return Settings(
        database_url=os.environ.get("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'bot.db'}",
        bot_port=_int("BOT_PORT", 5005),
        actions_port=_int("ACTIONS_PORT", 5055),
        rasa_token=os.environ.get("RASA_TOKEN", ""),
        care_team_phone=os.environ.get("CARE_TEAM_PHONE", "855-680-1184"),
        care_team_hours=os.environ.get("CARE_TEAM_HOURS", ""),
        emergency_number=os.environ.get("EMERGENCY_NUMBER", "911"),
        log_level=os.environ.get("LOG_LEVEL", "INFO").upper(),
    )
