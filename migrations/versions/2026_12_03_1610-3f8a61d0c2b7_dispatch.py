"""dispatch: modes per organisation and category, staff on duty and deactivated

Issue 19 (dispatch): `dispatch_rule` holds an organisation's dispatch mode for
a category prefix; `user_account` learns whether a person is active (a
deactivated one's tokens are refused), whether a technician is on duty, when
round-robin last gave them a ticket, and when they were last seen.

Revision ID: 3f8a61d0c2b7
Revises: 3a7f1c9e5d20
Create Date: 2026-12-03 16:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import service.db

revision: str = "3f8a61d0c2b7"
down_revision: str | None = "3a7f1c9e5d20"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "dispatch_rule",
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("category_prefix", sa.String(length=64), nullable=False),
        sa.Column(
            "mode",
            sa.Enum(
                "manual", "round_robin", "grab", name="dispatchmode", native_enum=False, length=16
            ),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organization.id"],
            name=op.f("fk_dispatch_rule_organization_id_organization"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "organization_id", "category_prefix", name=op.f("pk_dispatch_rule")
        ),
    )
    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("active", sa.Boolean(), server_default=sa.true(), nullable=False)
        )
        batch_op.add_column(
            sa.Column("on_duty", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.add_column(
            sa.Column("last_dispatched_at", service.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("last_seen_at", service.db.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.drop_column("last_seen_at")
        batch_op.drop_column("last_dispatched_at")
        batch_op.drop_column("on_duty")
        batch_op.drop_column("active")
    op.drop_table("dispatch_rule")
