"""The two servers, each started in this process with the project's safeguards first.

`python -m bot rasa-server` and `python -m bot action-server` (what containers,
`make cluster` and `python -m bot run` start) come here. Before a server starts:
- its secrets are checked (`require_secrets`: outside development a missing,
  placeholder or short secret stops it with the variable's name);
- DEBUG is refused outside development and log records are redacted (`bot.logs`);
- secrets stay out of the command line: Rasa's auth token is passed inside the
  process, and the action server's token is read by Rasa from the environment
  (`${ACTION_SERVER_TOKEN}` in var/endpoints.yml), so `ps` shows neither.

The action server is rasa_sdk's own app with two changes: every call but
/health must carry `Authorization: Bearer <ACTION_SERVER_TOKEN>` (only Rasa
has it), and a failing action answers a bare 500 (rasa_sdk's handler echoes the
request, i.e. the whole conversation, into Rasa's error log).
"""

from __future__ import annotations

import hmac
import logging
import os
import sys
from pathlib import Path

from bot import care_team, logs
from bot.settings import DEVELOPMENT, PROJECT_ROOT, VAR_DIR, Settings, load_settings, require_secrets

MODEL_DIR = PROJECT_ROOT / "models"
MODEL_NAME = "metastatic-faq"
MODEL_PATH = MODEL_DIR / f"{MODEL_NAME}.tar.gz"
RASA_SECRETS = ("WEB_SESSION_SECRET", "TWILIO_AUTH_TOKEN", "SENDER_ID_SECRET", "ACTION_SERVER_TOKEN")
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Process defaults for the Rasa server, set before TensorFlow is imported:
RASA_ENV_DEFAULTS = {
    # No usage data leaves a patient-facing service (and no start-up wait on a closed network).
    "RASA_TELEMETRY_ENABLED": "false",
    # DIET's matrices are small: one TensorFlow thread per op is faster than coordinating several.
    "TF_INTRA_OP_PARALLELISM_THREADS": "1",
    "TF_INTER_OP_PARALLELISM_THREADS": "1",
    # Sanic refuses request bodies over this size before a channel reads them.
    "SANIC_REQUEST_MAX_SIZE": str(1024 * 1024),
}


def prepare(settings: Settings, *secrets: str) -> None:
    """What every server does first: refuse unsafe settings, then redact its logs."""
    logs.check_level(settings)
    require_secrets(settings, *secrets)
    try:
        care_team.from_settings(settings)
    except ValueError as error:
        raise SystemExit(str(error)) from None
    logs.install()


def write_endpoints(settings: Settings) -> Path:
    """Rasa's endpoints from the environment. No secret in the file: Rasa expands `${ACTION_SERVER_TOKEN}`."""
    lines = [
        "action_endpoint:",
        f'  url: "{settings.action_endpoint}"',
        "  headers:",
        "    Authorization: Bearer ${ACTION_SERVER_TOKEN}",  # unquoted: Rasa expands it
        "tracker_store:",
        "  type: bot.rasa.stores.ConversationStore",
    ]
    if settings.redis_url:
        lines += ["lock_store:", "  type: bot.rasa.stores.LockStore"]
    path = VAR_DIR / f"endpoints-{settings.bot_port}.yml"  # one per server: replicas may share var/
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return path


def rasa_arguments(settings: Settings) -> list[str]:
    arguments = [
        "run",
        "--model",
        str(MODEL_PATH),
        "--interface",
        settings.bot_host,
        "--port",
        str(settings.bot_port),
        "--credentials",
        str(PROJECT_ROOT / "credentials.yml"),
        "--endpoints",
        str(write_endpoints(settings)),
    ]
    if settings.rasa_token:
        arguments += ["--enable-api", "--auth-token", settings.rasa_token]
    return arguments


def rasa_server() -> None:
    """Rasa's own `rasa run`, in this process, with the patches applied."""
    settings = load_settings()
    prepare(settings, *RASA_SECRETS, *(["RASA_TOKEN"] if settings.rasa_token else []))
    for name, value in RASA_ENV_DEFAULTS.items():
        os.environ.setdefault(name, value)
    # Rasa's yaml reader expands ${ACTION_SERVER_TOKEN} from here (the development value too).
    os.environ["ACTION_SERVER_TOKEN"] = settings.action_server_token
    from rasa.__main__ import main as rasa_main

    from bot.rasa import patches

    patches.apply()
    sys.argv = ["rasa", *rasa_arguments(settings)]  # this process's argv in /proc stays `-m bot rasa-server`
    rasa_main()


def action_server() -> None:
    """rasa_sdk's action server, answering only Rasa (the token), on ACTIONS_HOST."""
    settings = load_settings()
    prepare(settings, "ACTION_SERVER_TOKEN")
    logging.basicConfig(level=settings.log_level, format=LOG_FORMAT)
    app = action_app(settings.action_server_token)
    app.run(settings.actions_host, settings.actions_port, workers=1, access_log=False)


def action_app(token: str):
    """The action server's Sanic app: rasa_sdk's, behind the token, without the echoing error handler."""
    from rasa_sdk.endpoint import create_app
    from sanic import response

    app = create_app("actions", cors_origins=None)
    expected = f"Bearer {token}".encode()
    log = logging.getLogger("bot.actions_server")

    @app.middleware("request")
    async def only_rasa(request):
        if request.path == "/health":
            return None
        supplied = (request.headers.get("authorization") or "").encode("utf-8", "replace")
        if not hmac.compare_digest(supplied, expected):
            return response.json({"error": "Unauthorized."}, status=401)
        return None

    async def failed(request, exception: Exception):
        log.error("An action call failed: %s", logs.describe(exception))
        return response.json({"error": "The action failed."}, status=500)

    app.error_handler.add(Exception, failed)
    return app


def rasa_executable() -> str:
    return str(Path(sys.executable).with_name("rasa"))


def shell() -> None:
    """`rasa shell` on a free port, talking to the running action server with its token."""
    from bot.local import free_port

    os.environ.setdefault("BOT_ENV", DEVELOPMENT)  # as `make run`, whose action server it talks to
    settings = load_settings()
    os.environ["ACTION_SERVER_TOKEN"] = settings.action_server_token
    port = str(free_port())
    rasa = rasa_executable()
    endpoints = str(write_endpoints(settings))
    os.execv(rasa, [rasa, "shell", "--model", str(MODEL_PATH), "-p", port, "--endpoints", endpoints])
