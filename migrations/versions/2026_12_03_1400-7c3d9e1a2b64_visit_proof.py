"""visit proof

Visit proof and 探访 outcomes (issue 18): the ticket gains the carer's check-in
time and position, check-out time, when the missed-visit sweep marked it
missed, the outcome of a visit to an elder living alone, and the ticket a
follow-on was opened from; and a partial index of the visits not yet begun,
by when they are due, which the sweep reads. All new columns are NULL on
existing tickets; down again, they go.

Revision ID: 7c3d9e1a2b64
Revises: 5b8e2c4d7f19
Create Date: 2026-12-03 14:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import service.db

revision: str = "7c3d9e1a2b64"
down_revision: str | None = "5b8e2c4d7f19"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

VISIT_PENDING = (
    "scheduled_for IS NOT NULL AND checked_in_at IS NULL AND visit_missed_at IS NULL"
    " AND status IN ('submitted', 'assigned', 'accepted')"
)


def upgrade() -> None:
    with op.batch_alter_table("ticket", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("checked_in_at", service.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("check_in_latitude", sa.Numeric(9, 6, asdecimal=False), nullable=True)
        )
        batch_op.add_column(
            sa.Column("check_in_longitude", sa.Numeric(9, 6, asdecimal=False), nullable=True)
        )
        batch_op.add_column(
            sa.Column("checked_out_at", service.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("visit_missed_at", service.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column(
                "visit_outcome",
                sa.Enum(
                    "well",
                    "needs_help",
                    "not_home",
                    "hospitalised",
                    name="visitoutcome",
                    native_enum=False,
                    length=16,
                ),
                nullable=True,
            )
        )
        batch_op.add_column(
            sa.Column(
                "follows_ticket_id",
                sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                nullable=True,
            )
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_ticket_follows_ticket_id_ticket"),
            "ticket",
            ["follows_ticket_id"],
            ["id"],
        )
        batch_op.create_index(
            "ix_ticket_visit_pending",
            ["scheduled_for"],
            unique=False,
            postgresql_where=sa.text(VISIT_PENDING),
            sqlite_where=sa.text(VISIT_PENDING),
        )


def downgrade() -> None:
    with op.batch_alter_table("ticket", schema=None) as batch_op:
        batch_op.drop_index("ix_ticket_visit_pending")
        batch_op.drop_constraint(
            batch_op.f("fk_ticket_follows_ticket_id_ticket"), type_="foreignkey"
        )
        batch_op.drop_column("follows_ticket_id")
        batch_op.drop_column("visit_outcome")
        batch_op.drop_column("visit_missed_at")
        batch_op.drop_column("checked_out_at")
        batch_op.drop_column("check_in_longitude")
        batch_op.drop_column("check_in_latitude")
        batch_op.drop_column("checked_in_at")
