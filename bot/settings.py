"""Configuration from environment variables, with defaults that run on one machine.

Every setting is read here so docs/configuration.md can document them in one table and no
module invents its own variable names.

BOT_ENV is `production` unless set: the servers then refuse to start without
real secrets (`require_secrets`). `python -m bot run` (make run) sets
`development`, where missing secrets are generated into var/secrets/.
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


DEVELOPMENT = "development"
# Values copied from the examples (deploy/example.env, secret.example.yaml) or left as a hint.
_PLACEHOLDERS = ("replace", "change-me", "changeme", "placeholder", "example", "your-", "<")
MIN_SECRET_BYTES = 32
GENERATE = "python3 -c 'import secrets; print(secrets.token_hex(32))'"


@dataclass(frozen=True)
class Settings:
    env: str
    database_url: str
    bot_port: int
    actions_port: int
    rasa_token: str
    care_team_phone: str
    care_team_hours: str
    care_team_timezone: str
    care_team_after_hours: str
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
    rest_token: str
    action_server_token: str
    web_session_max_age: int
    bot_host: str
    actions_host: str
    sms_replay_days: int
    migration_database_url: str
    migration_tracker_database_url: str

    @property
    def development(self) -> bool:
        return self.env == DEVELOPMENT

    @property
    def action_endpoint(self) -> str:
        return self.action_server_url or f"http://127.0.0.1:{self.actions_port}/webhook"


def load_settings() -> Settings:
    env = os.environ.get("BOT_ENV", "").strip().lower() or "production"
    dev = env == DEVELOPMENT
    return Settings(
        env=env,
        database_url=os.environ.get("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'bot.db'}",
        bot_port=_int("BOT_PORT", 5005),
        actions_port=_int("ACTIONS_PORT", 5055),
        rasa_token=os.environ.get("RASA_TOKEN", ""),
        care_team_phone=os.environ.get("CARE_TEAM_PHONE", "855-680-1184"),
        # e.g. "Mon-Fri 08:00-17:00; Sat 09:00-12:00" (bot/care_team.py); empty: hours not said.
        care_team_hours=os.environ.get("CARE_TEAM_HOURS", ""),
        care_team_timezone=os.environ.get("CARE_TEAM_TIMEZONE", "America/New_York"),
        # An optional sentence said outside the hours, e.g. "A nurse answers the main line at night."
        care_team_after_hours=os.environ.get("CARE_TEAM_AFTER_HOURS", ""),
        # The 24-hour line for urgent problems (fever during treatment...); the care-team line if unset.
        care_team_urgent_phone=os.environ.get("CARE_TEAM_URGENT_PHONE")
        or os.environ.get("CARE_TEAM_PHONE")
        or "855-680-1184",
        emergency_number=os.environ.get("EMERGENCY_NUMBER", "911"),
        log_level=os.environ.get("LOG_LEVEL", "INFO").upper(),
        web_session_secret=_secret("WEB_SESSION_SECRET", dev),
        web_allowed_origins=os.environ.get("WEB_ALLOWED_ORIGINS", ""),
        twilio_auth_token=_secret("TWILIO_AUTH_TOKEN", dev),
        sender_id_secret=_secret("SENDER_ID_SECRET", dev),
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
        # The REST channel: open in development, off in production unless this is set.
        rest_token=os.environ.get("REST_TOKEN", ""),
        action_server_token=_secret("ACTION_SERVER_TOKEN", dev),
        web_session_max_age=_int("WEB_SESSION_MAX_AGE", 24 * 3600),
        # Loopback unless a container sets 0.0.0.0 (its network policy then decides who connects).
        bot_host=os.environ.get("BOT_HOST", "127.0.0.1"),
        actions_host=os.environ.get("ACTIONS_HOST", "127.0.0.1"),
        # Hashes of answered SMS MessageSids outlive RETENTION_DAYS so a replayed request stays refused.
        sms_replay_days=_int("SMS_REPLAY_DAYS", 400),
        # The owner role's URLs for `python -m bot migrate`; empty: the application's URLs.
        migration_database_url=os.environ.get("MIGRATION_DATABASE_URL", ""),
        migration_tracker_database_url=os.environ.get("MIGRATION_TRACKER_DATABASE_URL", ""),
    )


def _secret(name: str, development: bool) -> str:
    """The secret from the environment; in development a generated one when it is unset."""
    value = os.environ.get(name, "").strip()
    return value or (_development_secret(name.lower()) if development else "")


def secret_problem(name: str, value: str) -> str | None:
    """Why `value` is not acceptable as the production secret `name`, or None."""
    if not value:
        return f"{name} is not set."
    if any(marker in value.lower() for marker in _PLACEHOLDERS):
        return f"{name} still holds the example's placeholder; generate one: {GENERATE}"
    if len(value.encode()) < MIN_SECRET_BYTES:
        return f"{name} is shorter than {MIN_SECRET_BYTES} bytes; generate a longer one: {GENERATE}"
    return None


def require_secrets(settings: Settings, *names: str) -> None:
    """Refuse to start outside development on a missing, placeholder or short secret, naming it.

    Each server calls this for the secrets it uses, so replicas never invent their own.
    """
    if settings.development:
        return
    problems = [p for n in names if (p := secret_problem(n, getattr(settings, n.lower(), "") or ""))]
    if problems:
        listed = "\n  ".join(problems)
        raise SystemExit(
            f"Refusing to start with BOT_ENV={settings.env}:\n  {listed}\n"
            "(For a development run on this machine only, use `make run`, which sets BOT_ENV=development.)"
        )


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
