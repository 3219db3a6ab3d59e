"""care plans

Care plans (issue 18): `care_plan`, an elder's recurring service (RFC 5545
rule, local time, duration, dates, holidays, subsidy share) with the first
occurrence the horizon job has yet to make (`next_occurs_at`, indexed). The
ticket gains `elder_id` (whom it serves), and for a visit `care_plan_id`,
`scheduled_for`, `plan_occurrence` and `government_share_percent`;
(care_plan_id, plan_occurrence) is unique, so each occurrence is made once.
All new columns are NULL on existing tickets; down again, they and the table go.

Revision ID: 5b8e2c4d7f19
Revises: 020eba62a69d
Create Date: 2026-12-03 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import service.db

revision: str = "5b8e2c4d7f19"
down_revision: str | None = "020eba62a69d"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "care_plan",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("elder_id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("category_id", sa.Integer(), nullable=False),
        sa.Column("rrule", sa.String(length=500), nullable=False),
        sa.Column("local_time", sa.String(length=5), nullable=False),
        sa.Column("duration_minutes", sa.SmallInteger(), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=True),
        sa.Column("skip_holidays", sa.Boolean(), nullable=False),
        sa.Column("government_share_percent", sa.SmallInteger(), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("next_occurs_at", service.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", service.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("updated_at", service.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("duration_minutes > 0", name=op.f("ck_care_plan_duration_minutes")),
        sa.CheckConstraint(
            "government_share_percent BETWEEN 0 AND 100",
            name=op.f("ck_care_plan_government_share_percent"),
        ),
        sa.ForeignKeyConstraint(
            ["category_id"], ["category.id"], name=op.f("fk_care_plan_category_id_category")
        ),
        sa.ForeignKeyConstraint(
            ["community_id"], ["community.id"], name=op.f("fk_care_plan_community_id_community")
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["user_account.id"],
            name=op.f("fk_care_plan_created_by_id_user_account"),
        ),
        sa.ForeignKeyConstraint(
            ["elder_id"], ["elder.id"], name=op.f("fk_care_plan_elder_id_elder")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_care_plan")),
    )
    with op.batch_alter_table("care_plan", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_care_plan_community_id"), ["community_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_care_plan_elder_id"), ["elder_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_care_plan_next_occurs_at"), ["next_occurs_at"], unique=False
        )

    with op.batch_alter_table("ticket", schema=None) as batch_op:
        batch_op.add_column(sa.Column("elder_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("care_plan_id", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("scheduled_for", service.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("plan_occurrence", service.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("government_share_percent", sa.SmallInteger(), nullable=True))
        batch_op.create_index(batch_op.f("ix_ticket_elder_id"), ["elder_id"], unique=False)
        batch_op.create_index(
            "uq_ticket_care_plan_id_plan_occurrence",
            ["care_plan_id", "plan_occurrence"],
            unique=True,
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_ticket_elder_id_elder"), "elder", ["elder_id"], ["id"]
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_ticket_care_plan_id_care_plan"), "care_plan", ["care_plan_id"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("ticket", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_ticket_care_plan_id_care_plan"), type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("fk_ticket_elder_id_elder"), type_="foreignkey")
        batch_op.drop_index("uq_ticket_care_plan_id_plan_occurrence")
        batch_op.drop_index(batch_op.f("ix_ticket_elder_id"))
        batch_op.drop_column("government_share_percent")
        batch_op.drop_column("plan_occurrence")
        batch_op.drop_column("scheduled_for")
        batch_op.drop_column("care_plan_id")
        batch_op.drop_column("elder_id")

    with op.batch_alter_table("care_plan", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_care_plan_next_occurs_at"))
        batch_op.drop_index(batch_op.f("ix_care_plan_elder_id"))
        batch_op.drop_index(batch_op.f("ix_care_plan_community_id"))

    op.drop_table("care_plan")
