"""user_account region index

Alerts (issue 18) find the admins of a ticket's region and of the regions above
it by `user_account.region_id`: without an index that is a scan of every
account, residents included, for each 助急 that goes unanswered.

Revision ID: ee6499612f73
Revises: 7c3d9e1a2b64
Create Date: 2026-12-03 15:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "ee6499612f73"
down_revision: str | None = "7c3d9e1a2b64"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_user_account_region_id"), ["region_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_user_account_region_id"))
