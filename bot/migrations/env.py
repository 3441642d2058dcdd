"""Alembic environment: the project's own tables, on the database at DATABASE_URL.

Run through `python -m bot migrate` (bot.db.migrate), which passes the URL; the
tables compared and built are those of `bot.storage`.
Rasa's conversation table (`events`) is not here: Rasa's tracker store owns it.
"""

from __future__ import annotations

from alembic import context

from bot.db import get_engine
from bot.storage import schema

config = context.config
target_metadata = schema()


def run_migrations_online() -> None:
    engine = get_engine(config.get_main_option("sqlalchemy.url"))
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",  # SQLite cannot ALTER most things
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("Offline (SQL script) migrations are not supported; run `python -m bot migrate`.")
run_migrations_online()
