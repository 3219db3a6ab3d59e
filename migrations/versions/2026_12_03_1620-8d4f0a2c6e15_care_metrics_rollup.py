"""care metrics rollup

The elderly-care indicators (issue 18) in the metrics rollup
(service/metrics/rollup.py): `metrics_care` sums visits by the local month they
were scheduled for and 助急 tickets by that of their creation, with a histogram
of the 助急 response times; `metrics_care_elder` holds each elder served once
per month and group, to count them distinct. The rollup state remembers the
visit grace it was built with, and is cleared so that the next run of the job
rebuilds everything. An index of the visits by when they are due lets the
summary read the ones not yet due at the rollup's last run.

Revision ID: 8d4f0a2c6e15
Revises: 3f8a61d0c2b7
Create Date: 2026-12-03 15:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "8d4f0a2c6e15"
down_revision: str | None = "3f8a61d0c2b7"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CARE_COUNTS = (
    "visits_scheduled",
    "visits_due",
    "visits_done",
    "visits_checked_in",
    "visits_checked_in_on_time",
    "missed_visits",
    "government_subsidy_visits",
    "government_share_sum",
    "emergencies",
    "emergencies_responded",
)
BUCKETS = 57
SCHEDULED = "scheduled_for IS NOT NULL"


def _keys() -> list[sa.Column]:
    return [
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("slice_month", sa.Date(), nullable=False),
        sa.Column("region_path", sa.String(length=255), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=True),
        sa.Column("category_id", sa.Integer(), nullable=False),
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
    ]


def upgrade() -> None:
    op.create_table(
        "metrics_care",
        *_keys(),
        *(sa.Column(name, sa.Integer(), nullable=False) for name in CARE_COUNTS),
        *(sa.Column(f"hemg_{i}", sa.Integer(), nullable=False) for i in range(BUCKETS)),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_metrics_care")),
    )
    op.create_table(
        "metrics_care_elder",
        *_keys(),
        sa.Column("elder_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_metrics_care_elder")),
    )
    for table in ("metrics_care", "metrics_care_elder"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_index(f"ix_{table}_month_region_path", ["month", "region_path"])
            batch_op.create_index(
                f"ix_{table}_slice_month_region_path", ["slice_month", "region_path"]
            )
    with op.batch_alter_table("metrics_rollup_state", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("visit_grace_minutes", sa.Integer(), server_default="30", nullable=False)
        )
    with op.batch_alter_table("ticket", schema=None) as batch_op:
        batch_op.create_index(
            "ix_ticket_scheduled_for",
            ["scheduled_for"],
            postgresql_where=sa.text(SCHEDULED),
            sqlite_where=sa.text(SCHEDULED),
        )
    op.execute("DELETE FROM metrics_rollup_state")


def downgrade() -> None:
    with op.batch_alter_table("ticket", schema=None) as batch_op:
        batch_op.drop_index("ix_ticket_scheduled_for")
    with op.batch_alter_table("metrics_rollup_state", schema=None) as batch_op:
        batch_op.drop_column("visit_grace_minutes")
    for table in ("metrics_care_elder", "metrics_care"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(f"ix_{table}_slice_month_region_path")
            batch_op.drop_index(f"ix_{table}_month_region_path")
        op.drop_table(table)
    op.execute("DELETE FROM metrics_rollup_state")
