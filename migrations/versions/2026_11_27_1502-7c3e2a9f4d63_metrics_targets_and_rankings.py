"""metrics targets and rankings

Three-year action targets, ranking weights and metric support (issue 6).

Revision ID: 7c3e2a9f4d63
Revises: 6b2d1f8e3c52
Create Date: 2026-11-27 15:02:00
"""

from collections.abc import Sequence

revision: str = "7c3e2a9f4d63"
down_revision: str | None = "6b2d1f8e3c52"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
