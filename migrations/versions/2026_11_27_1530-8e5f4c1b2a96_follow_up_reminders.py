"""follow up reminders

One reminder per resolution whose follow-up visit (回访) is overdue, under a
unique (ticket, cycle) key so that concurrent job runs write it once (issue 4).

Revision ID: 8e5f4c1b2a96
Revises: 7c3e2a9f4d63
Create Date: 2026-11-27 15:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import service.db

revision: str = "8e5f4c1b2a96"
down_revision: str | None = "7c3e2a9f4d63"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    big_id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    op.create_table(
        "follow_up_reminder",
        sa.Column("id", big_id, nullable=False),
        sa.Column("ticket_id", big_id, nullable=False),
        sa.Column("cycle", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=True),
        sa.Column("region_path", sa.String(length=255), nullable=False),
        sa.Column("due_at", service.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("reminded_at", service.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organization.id"],
            name=op.f("fk_follow_up_reminder_organization_id_organization"),
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["ticket.id"], name=op.f("fk_follow_up_reminder_ticket_id_ticket")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_follow_up_reminder")),
        sa.UniqueConstraint(
            "ticket_id", "cycle", name=op.f("uq_follow_up_reminder_ticket_id_cycle")
        ),
    )
    with op.batch_alter_table("follow_up_reminder", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_follow_up_reminder_organization_id"), ["organization_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("follow_up_reminder", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_follow_up_reminder_organization_id"))
    op.drop_table("follow_up_reminder")
