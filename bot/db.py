"""One SQLAlchemy engine per process and database, URLs from configuration.

The project's own tables (knowledge base, insights, SMS) are declared in
`bot.storage` and created and changed only by the Alembic migrations in `bot/migrations`
(`python -m bot migrate`), never by `create_all`, so every deployment's schema
has a recorded version.

Two PostgreSQL roles in production: the owner of the databases, used only by
`python -m bot migrate` (MIGRATION_DATABASE_URL, MIGRATION_TRACKER_DATABASE_URL),
and the application role of DATABASE_URL and TRACKER_DATABASE_URL, which the
servers, `load-kb` and `purge` use: it reads and writes rows, never changes the
schema. `migrate` creates the tables as the owner (Rasa's `events` table too) and
grants the application role what it needs.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, inspect, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session, sessionmaker

from bot.settings import load_settings

log = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# The revision that matches what `create_all` built before migrations existed.
BASELINE_REVISION = "0001"


def utcnow_naive() -> datetime:
    """Now in UTC without a zone: how the project's tables store their timestamps."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


def ensure_sqlite_directory(url: str) -> None:
    """SQLite creates its file but not the directory it goes in."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)


def configured_engine(url: str, **kwargs: Any) -> Engine:
    """An engine with the project's connection settings, for any of its databases.

    `pool_pre_ping` replaces connections a database restart has closed instead of
    failing the next request; SQLite gets foreign keys and a busy timeout on every
    connection. (SQLAlchemy 1.4 opens a SQLite file per session, NullPool, so a file
    that is gone or unreadable is noticed on the next question.)
    """
    ensure_sqlite_directory(url)
    # No SQL parameters in errors or logs: they are what patients wrote.
    engine = create_engine(url, pool_pre_ping=True, hide_parameters=True, **kwargs)
    if make_url(url).get_backend_name() == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


@cache
def get_engine(url: str | None = None) -> Engine:
    """The engine for `url` (default: DATABASE_URL), created once per process."""
    return configured_engine(url or load_settings().database_url, future=True)


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    # Foreign keys are off by default in SQLite; busy_timeout makes a writer wait for
    # the lock, not fail. (WAL is set once per file by `use_wal`: it is persistent.)
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def use_wal(engine: Engine) -> None:
    """Put a SQLite file in WAL mode (one process reads while another writes); a no-op elsewhere."""
    if engine.dialect.name == "sqlite":
        with engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA journal_mode=WAL")


@cache
def session_factory(url: str | None = None) -> sessionmaker:
    return sessionmaker(bind=get_engine(url), future=True, expire_on_commit=False)


def new_session(url: str | None = None) -> Session:
    return session_factory(url)()


def migrate(url: str | None = None) -> str:
    """Bring the schema up to date; returns the project schema's revision.

    With `url`: the project's tables in that database (Alembic), nothing else.
    Without (`python -m bot migrate`): both databases as their owner (see
    `migration_urls`): the project's tables, then, on PostgreSQL, Rasa's tracker-store
    table (on SQLite the Rasa server, which owns the file, creates it), each followed
    by the application role's grants.
    """
    if url is not None:
        return upgrade(url)
    urls = migration_urls()
    owner_url, app_url = urls["bot"]
    revision = upgrade(owner_url)
    grant_application_role(owner_url, app_url)
    owner_url, app_url = urls["conversations"]
    if make_url(owner_url).get_backend_name() != "sqlite":
        create_tracker_tables(owner_url)
        grant_application_role(owner_url, app_url)
    return revision


def upgrade(url: str) -> str:
    """Alembic `upgrade head` on the database at `url`; returns its revision.

    A database made by `create_all` before migrations existed is stamped with the
    baseline first, so its tables are not created twice.
    """
    from alembic import command
    from alembic.config import Config
    from alembic.runtime.migration import MigrationContext

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    engine = get_engine(url)
    use_wal(engine)
    with engine.connect() as connection:
        tables = set(inspect(connection).get_table_names())
        if "alembic_version" not in tables and "kb_articles" in tables:
            log.info("Stamping a database created before migrations with revision %s", BASELINE_REVISION)
            command.stamp(config, BASELINE_REVISION)
    command.upgrade(config, "head")
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision() or ""


def migration_urls() -> dict[str, tuple[str, str]]:
    """For each database, (the owner's URL that migrates it, the application's URL that uses it).

    The owner's URLs default to the application's (one role, as on one machine).
    """
    settings = load_settings()
    return {
        "bot": (settings.migration_database_url or settings.database_url, settings.database_url),
        "conversations": (
            settings.migration_tracker_database_url or settings.tracker_database_url,
            settings.tracker_database_url,
        ),
    }


def create_tracker_tables(url: str) -> None:
    """Rasa's SQL tracker store table (`events`, its sequence and index), as Rasa itself declares it.

    Created here by the owner so that the Rasa servers, connected as the application
    role, find it and never need CREATE (their own `create_all` checks first).
    """
    from rasa.core.tracker_store import SQLTrackerStore

    SQLTrackerStore.Base.metadata.create_all(get_engine(url))


def grant_application_role(owner_url: str, app_url: str) -> None:
    """Let the application role (the user of `app_url`) read and write every table of the
    current schema, and use its sequences, now and for tables the owner creates later.

    PostgreSQL only, and only when the two URLs name different roles. The application
    role may read but not change `alembic_version`.
    """
    owner, app = make_url(owner_url), make_url(app_url)
    if owner.get_backend_name() != "postgresql" or not app.username or app.username == owner.username:
        return
    engine = get_engine(owner_url)
    with engine.begin() as connection:
        found = connection.execute(
            text("SELECT rolsuper OR rolcreaterole OR rolcreatedb FROM pg_roles WHERE rolname = :name"),
            {"name": app.username},
        ).first()
        if found is None:
            raise SystemExit(
                f"The application role {app.username!r} (the user of the application's database URL) does not "
                f"exist in {app.database!r}; create it (LOGIN, NOSUPERUSER) before migrating."
            )
        if found[0]:
            log.warning("The application role %r may create roles or databases or is a superuser", app.username)
        role = connection.dialect.identifier_preparer.quote(app.username)
        schema = connection.dialect.identifier_preparer.quote(
            connection.execute(text("SELECT current_schema()")).scalar_one()
        )
        # (USAGE on the schema: PUBLIC has it on `public` by default.)
        for statement in (
            f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {schema} TO {role}",
            f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {schema} TO {role}",
            f"ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {role}",
            f"ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} GRANT USAGE, SELECT ON SEQUENCES TO {role}",
        ):
            connection.exec_driver_sql(statement)
        if inspect(connection).has_table("alembic_version"):
            connection.exec_driver_sql(f"REVOKE INSERT, UPDATE, DELETE ON alembic_version FROM {role}")
    log.info("Granted %r the use of the tables of %r", app.username, app.database)
