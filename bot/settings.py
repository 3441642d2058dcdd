"""Configuration from environment variables, with defaults that run on one machine.

Every setting is read here so the README can document them in one table and no
module invents its own variable names.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from functools import cache
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
    care_team_urgent_phone: str
    emergency_number: str
    log_level: str
    web_session_secret: str
    web_allowed_origins: str
    twilio_auth_token: str
    sender_id_secret: str
    sms_public_url: str
    sms_rate_limit: int
    tracker_database_url: str
    redis_url: str
    action_server_url: str
    rate_limit_per_sender: int
    rate_limit_per_address: int
    sms_address_rate_limit: int
    max_message_chars: int
    reply_timeout_seconds: int
    retention_days: int

    @property
    def action_endpoint(self) -> str:
        return self.action_server_url or f"http://127.0.0.1:{self.actions_port}/webhook"


def load_settings() -> Settings:
    return Settings(
        database_url=os.environ.get("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'bot.db'}",
        bot_port=_int("BOT_PORT", 5005),
        actions_port=_int("ACTIONS_PORT", 5055),
        rasa_token=os.environ.get("RASA_TOKEN", ""),
        care_team_phone=os.environ.get("CARE_TEAM_PHONE", "855-680-1184"),
        care_team_hours=os.environ.get("CARE_TEAM_HOURS", ""),
        # The 24-hour line for urgent problems (fever during treatment...); the care-team line if unset.
        care_team_urgent_phone=os.environ.get("CARE_TEAM_URGENT_PHONE")
        or os.environ.get("CARE_TEAM_PHONE", "855-680-1184"),
        emergency_number=os.environ.get("EMERGENCY_NUMBER", "911"),
        log_level=os.environ.get("LOG_LEVEL", "INFO").upper(),
        web_session_secret=os.environ.get("WEB_SESSION_SECRET") or _development_secret("web_session_secret"),
        web_allowed_origins=os.environ.get("WEB_ALLOWED_ORIGINS", ""),
        twilio_auth_token=os.environ.get("TWILIO_AUTH_TOKEN") or _dev_only("twilio_auth_token"),
        sender_id_secret=os.environ.get("SENDER_ID_SECRET") or _dev_only("sender_id_secret"),
        sms_public_url=os.environ.get("SMS_PUBLIC_URL", ""),
        sms_rate_limit=_int("SMS_RATE_LIMIT", 20),
        tracker_database_url=os.environ.get("TRACKER_DATABASE_URL") or f"sqlite:///{VAR_DIR / 'conversations.db'}",
        redis_url=os.environ.get("REDIS_URL", ""),
        action_server_url=os.environ.get("ACTION_SERVER_URL", ""),
        rate_limit_per_sender=_int("RATE_LIMIT_PER_SENDER", 20),
        rate_limit_per_address=_int("RATE_LIMIT_PER_ADDRESS", 120),
        sms_address_rate_limit=_int("SMS_ADDRESS_RATE_LIMIT", 1200),
        max_message_chars=_int("MAX_MESSAGE_CHARS", 2000),
        reply_timeout_seconds=_int("REPLY_TIMEOUT_SECONDS", 10),
        retention_days=_int("RETENTION_DAYS", 90),
    )


def _dev_only(name: str) -> str:
    """Development value for an SMS secret when BOT_ENV=development (make run sets it), else empty."""
    return _development_secret(name) if os.environ.get("BOT_ENV") == "development" else ""


@cache
def _development_secret(name: str) -> str:
    """A random secret kept in var/ so that `make run` works without configuration.

    Production sets the environment variable instead; this file is never committed.
    """
    path = VAR_DIR / "secrets" / name
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()
