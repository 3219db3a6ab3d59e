"""metrics targets and rankings

Three-year action targets, ranking weights and metric support (issue 6).

- quality_action: the one row of the deployment's three-year action (start date,
  years, ranking weights, red/black list thresholds).
- quality_target: the target of each indicator in each year of the action.
- dashboard_session: one-time dashboard login codes and the browser sessions
  they open (only hashes of the secrets).

Revision ID: 7c3e2a9f4d63
Revises: 6b2d1f8e3c52
Create Date: 2026-11-27 15:02:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import service.db

revision: str = "7c3e2a9f4d63"
down_revision: str | None = "6b2d1f8e3c52"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "quality_action",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("start_on", sa.Date(), nullable=False),
        sa.Column("years", sa.Integer(), nullable=False),
        sa.Column("weights", sa.JSON(), nullable=False),
        sa.Column("red_list_min_score", sa.Float(), nullable=False),
        sa.Column("black_list_max_score", sa.Float(), nullable=False),
        sa.Column("min_tickets", sa.Integer(), nullable=False),
        sa.Column("complaints_ceiling", sa.Float(), nullable=False),
        sa.Column("updated_at", service.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["updated_by_id"],
            ["user_account.id"],
            name=op.f("fk_quality_action_updated_by_id_user_account"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quality_action")),
    )
    op.create_table(
        "quality_target",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("indicator", sa.String(length=64), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("target", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quality_target")),
        sa.UniqueConstraint("indicator", "year", name=op.f("uq_quality_target_indicator_year")),
    )
    op.create_table(
        "dashboard_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("expires_at", service.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("used_at", service.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", service.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user_account.id"], name=op.f("fk_dashboard_session_user_id_user_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dashboard_session")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_dashboard_session_token_hash")),
    )
    op.create_index(
        op.f("ix_dashboard_session_user_id"), "dashboard_session", ["user_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_dashboard_session_user_id"), table_name="dashboard_session")
    op.drop_table("dashboard_session")
    op.drop_table("quality_target")
    op.drop_table("quality_action")
