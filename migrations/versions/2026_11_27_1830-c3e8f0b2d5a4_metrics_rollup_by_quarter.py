"""metrics rollup by quarter

metrics_rollup_org_quarter: metrics_rollup_org summed by local quarter, with the
tickets open and overdue at the quarter's end, which the summaries by quarter
(or by neither month nor quarter) read for the quarters a period covers whole
(service/metrics/rollup.py). The rollup state is cleared, so
that the next run of the job rebuilds every copy.

Revision ID: c3e8f0b2d5a4
Revises: b2d7e9a1c4f3
Create Date: 2026-11-27 18:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c3e8f0b2d5a4"
down_revision: str | None = "b2d7e9a1c4f3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COUNTS = (
    "created",
    "cancelled_or_rejected",
    "active",
    "completed",
    "response_due_or_done",
    "response_on_time",
    "resolution_due_or_done",
    "resolution_on_time",
    "rated",
    "rated_good",
    "rating_sum",
    "closed",
    "closed_followed_up",
    "ever_resolved",
    "reopened",
    "complaints",
    "complaints_handled",
)
BUCKETS = 57


def upgrade() -> None:
    op.create_table(
        "metrics_rollup_org_quarter",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("region_path", sa.String(length=255), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=True),
        sa.Column(
            "kind",
            sa.Enum(
                "property",
                "elderly_care",
                "complaint",
                name="ticketkind",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("backlog_at_end", sa.Integer(), nullable=False),
        sa.Column("overdue_at_end", sa.Integer(), nullable=False),
        *(sa.Column(name, sa.Integer(), nullable=False) for name in COUNTS),
        *(sa.Column(f"hresp_{i}", sa.Integer(), nullable=False) for i in range(BUCKETS)),
        *(sa.Column(f"hres_{i}", sa.Integer(), nullable=False) for i in range(BUCKETS)),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_metrics_rollup_org_quarter")),
    )
    with op.batch_alter_table("metrics_rollup_org_quarter", schema=None) as batch_op:
        batch_op.create_index(
            "ix_metrics_rollup_org_quarter_month_region_path",
            ["month", "region_path"],
            unique=False,
        )
    op.execute("DELETE FROM metrics_rollup_state")


def downgrade() -> None:
    with op.batch_alter_table("metrics_rollup_org_quarter", schema=None) as batch_op:
        batch_op.drop_index("ix_metrics_rollup_org_quarter_month_region_path")
    op.drop_table("metrics_rollup_org_quarter")
