"""`Base`: the declarative base every table of the project is declared on."""

from __future__ import annotations

from sqlalchemy.orm import declarative_base

Base = declarative_base()
