"""integration

Open311 (issue 19): outside systems an admin registers for a region, each with
a hashed `lk_` key and a machine user that files their tickets.

Revision ID: 3a7f1c9e5d20
Revises: ee6499612f73
Create Date: 2026-12-03 16:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import service.db

revision: str = "3a7f1c9e5d20"
down_revision: str | None = "ee6499612f73"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "integration",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("region_id", sa.Integer(), nullable=False),
        sa.Column("region_path", sa.String(length=255), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", service.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", service.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", service.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["region_id"], ["region.id"], name=op.f("fk_integration_region_id_region")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user_account.id"], name=op.f("fk_integration_user_id_user_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_integration")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_integration_key_hash")),
    )
    with op.batch_alter_table("integration", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_integration_region_id"), ["region_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("integration", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_integration_region_id"))
    op.drop_table("integration")
