"""sms_processed: MessageSids stored as SHA-256 hashes; the reply may be purged (NULL)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 12:40:00
"""

from __future__ import annotations

import hashlib

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

PROCESSED = sa.table("sms_processed", sa.column("message_sid", sa.String(64)))


def upgrade() -> None:
    with op.batch_alter_table("sms_processed", schema=None) as batch_op:
        batch_op.alter_column("twiml", existing_type=sa.Text(), nullable=True)
    connection = op.get_bind()
    sids = connection.execute(sa.select(PROCESSED.c.message_sid)).scalars().all()
    for sid in sids:
        digest = hashlib.sha256(sid.encode()).hexdigest()
        connection.execute(PROCESSED.update().where(PROCESSED.c.message_sid == sid).values(message_sid=digest))


def downgrade() -> None:
    # Hashes cannot be turned back into MessageSids; purged replies become empty TwiML.
    op.execute(
        'UPDATE sms_processed SET twiml = \'<?xml version="1.0" encoding="UTF-8"?><Response />\' WHERE twiml IS NULL'
    )
    with op.batch_alter_table("sms_processed", schema=None) as batch_op:
        batch_op.alter_column("twiml", existing_type=sa.Text(), nullable=False)
