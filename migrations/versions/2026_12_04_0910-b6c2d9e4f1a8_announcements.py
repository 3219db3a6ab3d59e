"""announcements

Announcements to the residents of some communities (停水停电通知, issue 19):
`announcement`, and `announcement_community` with the times each is shown in
each of its communities (indexed by community and end, for the filing
context's look-up of the current ones). A notification is now about a ticket's
event or about an announcement: `notification.ticket_id` and `event_id` become
nullable, `announcement_id` is added, and a check keeps exactly one of the two.

Downgrading deletes the announcements' notifications, their messages and the
log of their attempts (a ticket's notification cannot hold them).

Revision ID: b6c2d9e4f1a8
Revises: 9b1e5d3c7a28
Create Date: 2026-12-04 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import service.db

revision: str = "b6c2d9e4f1a8"
down_revision: str | None = "9b1e5d3c7a28"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    big_id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    instant = service.db.UTCDateTime(timezone=True)
    op.create_table(
        "announcement",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("title", sa.String(length=100), nullable=False),
        sa.Column("body", sa.String(length=2000), nullable=False),
        sa.Column("starts_at", instant, nullable=False),
        sa.Column("ends_at", instant, nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", instant, nullable=False),
        sa.Column("withdrawn_at", instant, nullable=True),
        sa.Column("withdrawn_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["user_account.id"],
            name=op.f("fk_announcement_created_by_id_user_account"),
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organization.id"],
            name=op.f("fk_announcement_organization_id_organization"),
        ),
        sa.ForeignKeyConstraint(
            ["withdrawn_by_id"],
            ["user_account.id"],
            name=op.f("fk_announcement_withdrawn_by_id_user_account"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_announcement")),
    )
    op.create_index(op.f("ix_announcement_organization_id"), "announcement", ["organization_id"])
    op.create_table(
        "announcement_community",
        sa.Column("announcement_id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("shown_from", instant, nullable=False),
        sa.Column("shown_until", instant, nullable=False),
        sa.ForeignKeyConstraint(
            ["announcement_id"],
            ["announcement.id"],
            name=op.f("fk_announcement_community_announcement_id_announcement"),
        ),
        sa.ForeignKeyConstraint(
            ["community_id"],
            ["community.id"],
            name=op.f("fk_announcement_community_community_id_community"),
        ),
        sa.PrimaryKeyConstraint(
            "announcement_id", "community_id", name=op.f("pk_announcement_community")
        ),
    )
    op.create_index(
        "ix_announcement_community_community_id_shown_until",
        "announcement_community",
        ["community_id", "shown_until"],
    )
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.alter_column("ticket_id", existing_type=big_id, nullable=True)
        batch_op.alter_column("event_id", existing_type=big_id, nullable=True)
        batch_op.add_column(sa.Column("announcement_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_notification_announcement_id_announcement"),
            "announcement",
            ["announcement_id"],
            ["id"],
        )
        batch_op.create_index(
            batch_op.f("ix_notification_announcement_id"), ["announcement_id"], unique=False
        )
        batch_op.create_check_constraint(
            batch_op.f("ck_notification_ticket_or_announcement"),
            "(ticket_id IS NULL) <> (announcement_id IS NULL)",
        )


def downgrade() -> None:
    big_id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    announced = "SELECT id FROM notification WHERE announcement_id IS NOT NULL"
    deliveries = f"SELECT id FROM notification_delivery WHERE notification_id IN ({announced})"
    op.execute(f"DELETE FROM notification_attempt WHERE delivery_id IN ({deliveries})")
    op.execute(f"DELETE FROM notification_delivery WHERE notification_id IN ({announced})")
    op.execute("DELETE FROM notification WHERE announcement_id IS NOT NULL")
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("ck_notification_ticket_or_announcement"), type_="check"
        )
        batch_op.drop_index(batch_op.f("ix_notification_announcement_id"))
        batch_op.drop_constraint(
            batch_op.f("fk_notification_announcement_id_announcement"), type_="foreignkey"
        )
        batch_op.drop_column("announcement_id")
        batch_op.alter_column("event_id", existing_type=big_id, nullable=False)
        batch_op.alter_column("ticket_id", existing_type=big_id, nullable=False)
    op.drop_index(
        "ix_announcement_community_community_id_shown_until", table_name="announcement_community"
    )
    op.drop_table("announcement_community")
    op.drop_index(op.f("ix_announcement_organization_id"), table_name="announcement")
    op.drop_table("announcement")
