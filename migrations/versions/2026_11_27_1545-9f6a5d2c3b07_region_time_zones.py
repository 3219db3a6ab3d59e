"""region time zones

A region may set the local time of its SLA clocks (e.g. Asia/Urumqi, Xinjiang
time), inherited by the regions below it (issue 4).

Revision ID: 9f6a5d2c3b07
Revises: 8e5f4c1b2a96
Create Date: 2026-11-27 15:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "9f6a5d2c3b07"
down_revision: str | None = "8e5f4c1b2a96"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("region", schema=None) as batch_op:
        batch_op.add_column(sa.Column("timezone", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("region", schema=None) as batch_op:
        batch_op.drop_column("timezone")
