"""One SQLAlchemy engine per process and database, URLs from configuration.

The project's own tables (knowledge base, insights, SMS) share `Base` and are
created and changed only by the Alembic migrations in `bot/migrations`
(`python -m bot migrate`), never by `create_all`, so every deployment's schema
has a recorded version.
"""

from __future__ import annotations

import logging
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import MetaData, create_engine, event, inspect
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session, declarative_base, sessionmaker

from bot.settings import load_settings

log = logging.getLogger(__name__)
Base = declarative_base()
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# The revision that matches what `create_all` built before migrations existed.
BASELINE_REVISION = "0001"


def schema() -> MetaData:
    """All of the project's tables (each module declares its own on `Base`)."""
    import bot.channels.sms_store  # noqa: F401
    import bot.insights.models  # noqa: F401
    import bot.knowledge.models  # noqa: F401

    return Base.metadata


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
    engine = create_engine(url, pool_pre_ping=True, **kwargs)
    if make_url(url).get_backend_name() == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


@cache
def get_engine(url: str | None = None) -> Engine:
    """The engine for `url` (default: DATABASE_URL), created once per process."""
    return configured_engine(url or load_settings().database_url, future=True)


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
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
    """Bring the database at `url` (default DATABASE_URL) to the latest schema; returns its revision.

    A database made by `create_all` before migrations existed is stamped with the
    baseline first, so its tables are not created twice.
    """
    from alembic import command
    from alembic.config import Config
    from alembic.runtime.migration import MigrationContext

    url = url or load_settings().database_url
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
