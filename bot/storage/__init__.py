"""The project's own tables, one module per feature, all declared on `Base`.

- `knowledge`: the articles, their sections and the answers given from them;
- `insights`: answers given, feedback and unanswered questions (no sender ids);
- `sms`: SMS opt-outs and answered MessageSids (hashes, never phone numbers).

Only SQLAlchemy and `bot.storage.base` are imported here: the features, `bot.db`,
`bot.retention` and the Alembic migrations (`bot/migrations/env.py`) import these
tables, never the other way round. The schema is created and changed only by the
migrations (`python -m bot migrate`).
"""

from __future__ import annotations

from sqlalchemy import MetaData

from bot.storage import insights, knowledge, sms  # noqa: F401  (each declares its tables on Base)
from bot.storage.base import Base

__all__ = ["Base", "schema"]


def schema() -> MetaData:
    """All of the project's tables: what the migrations build."""
    return Base.metadata
