"""sla policies calendars and jobs

SLA policies, business calendars, breach escalations and the job runner (issue 4).

Revision ID: 5a1c0e7d2b41
Revises: 8df98672767e
Create Date: 2026-11-27 15:00:00
"""

from collections.abc import Sequence

revision: str = "5a1c0e7d2b41"
down_revision: str | None = "8df98672767e"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
