"""metrics rollup holds open tickets

The rollup now sums every ticket as of its run, pending ones included, and the
tickets still open go to metrics_span with no end (`ended` NULL): the summary
reads live only the tickets filed since the last run (service/metrics/rollup.py).
The rollup state is cleared, so that the next run of the job rebuilds it.

Revision ID: b2d7e9a1c4f3
Revises: a1c4e6f80b12
Create Date: 2026-11-27 18:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "b2d7e9a1c4f3"
down_revision: str | None = "a1c4e6f80b12"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("metrics_span", schema=None) as batch_op:
        batch_op.alter_column("ended", existing_type=sa.Float(), nullable=True)
    op.execute("DELETE FROM metrics_rollup_state")


def downgrade() -> None:
    # The old rollup reads open tickets live: rebuild it from scratch.
    op.execute("DELETE FROM metrics_span WHERE ended IS NULL")
    op.execute("DELETE FROM metrics_rollup_state")
    with op.batch_alter_table("metrics_span", schema=None) as batch_op:
        batch_op.alter_column("ended", existing_type=sa.Float(), nullable=False)
