"""urging, rate limits, duplicates

Issue 17: a ticket counts its reporter's urgings (urge_count, last_urged_at);
a ticket filed by a resident or grid worker keeps its report's fingerprint
(duplicate_key, indexed) so that the same report filed again moments later
finds it; rate_limit_window holds the shared per-principal counters.

Revision ID: d4f1a7c3e9b2
Revises: c3e8f0b2d5a4
Create Date: 2026-11-28 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "d4f1a7c3e9b2"
down_revision: str | None = "c3e8f0b2d5a4"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("ticket", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("urge_count", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.add_column(sa.Column("last_urged_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("duplicate_key", sa.BigInteger(), nullable=True))
        batch_op.create_index("ix_ticket_duplicate_key", ["duplicate_key"], unique=False)
    op.create_table(
        "rate_limit_window",
        sa.Column("key", sa.String(length=96), nullable=False),
        sa.Column("window_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key", "window_end", name="pk_rate_limit_window"),
    )
    op.create_index(
        "ix_rate_limit_window_window_end", "rate_limit_window", ["window_end"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_rate_limit_window_window_end", table_name="rate_limit_window")
    op.drop_table("rate_limit_window")
    with op.batch_alter_table("ticket", schema=None) as batch_op:
        batch_op.drop_index("ix_ticket_duplicate_key")
        batch_op.drop_column("duplicate_key")
        batch_op.drop_column("last_urged_at")
        batch_op.drop_column("urge_count")
