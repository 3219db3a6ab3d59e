"""idempotency keys hold only finished responses

A key is now claimed by the request's own transaction (an advisory lock on
PostgreSQL, the write lock on SQLite) and stored with its response when the
work commits, so rows no longer exist in an unfinished state and nothing needs
a lease: `locked_until` goes and the response columns become NOT NULL.

Revision ID: 8df98672767e
Revises: 53b1dc9be632
Create Date: 2026-11-27 13:08:48.263179
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import service.db

revision: str = "8df98672767e"
down_revision: str | None = "53b1dc9be632"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Claims of requests that never finished have nothing to replay.
    op.execute("DELETE FROM idempotency_key WHERE response_status IS NULL")
    with op.batch_alter_table("idempotency_key", schema=None) as batch_op:
        batch_op.alter_column("response_status", existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column("response_body", existing_type=sa.JSON(), nullable=False)
        batch_op.alter_column("response_headers", existing_type=sa.JSON(), nullable=False)
        batch_op.drop_column("locked_until")


def downgrade() -> None:
    with op.batch_alter_table("idempotency_key", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("locked_until", service.db.UTCDateTime(timezone=True), nullable=True)
        )
    op.execute("UPDATE idempotency_key SET locked_until = created_at")
    with op.batch_alter_table("idempotency_key", schema=None) as batch_op:
        batch_op.alter_column(
            "locked_until", existing_type=service.db.UTCDateTime(timezone=True), nullable=False
        )
        batch_op.alter_column("response_headers", existing_type=sa.JSON(), nullable=True)
        batch_op.alter_column("response_body", existing_type=sa.JSON(), nullable=True)
        batch_op.alter_column("response_status", existing_type=sa.Integer(), nullable=True)
