"""feed and webhooks

The provider change feed (commit-order horizon) and webhooks with an outbox (issue 5).

Revision ID: 6b2d1f8e3c52
Revises: 5a1c0e7d2b41
Create Date: 2026-11-27 15:01:00
"""

from collections.abc import Sequence

revision: str = "6b2d1f8e3c52"
down_revision: str | None = "5a1c0e7d2b41"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
