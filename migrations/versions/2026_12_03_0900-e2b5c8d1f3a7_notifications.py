"""notifications

Notifications to residents (issue 17): the inbox (`notification`), its outbox
and delivery log (`notification_delivery`, `notification_attempt`: the same
columns as the webhooks'), preferences, the WeChat access token every instance
shares, the openid a person's token carries (`user_account.wechat_openid`) and
the language a ticket was filed in (`ticket.language`).

Revision ID: e2b5c8d1f3a7
Revises: d4f9a1c2e6b7
Create Date: 2026-12-03 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import service.db

revision: str = "e2b5c8d1f3a7"
down_revision: str | None = "d4f9a1c2e6b7"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _outbox_columns(instant: sa.types.TypeEngine) -> list[sa.Column]:
    return [
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", instant, nullable=False),
        sa.Column("lease_until", instant, nullable=True),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("delivered_at", instant, nullable=True),
        sa.Column("created_at", instant, nullable=False),
    ]


def upgrade() -> None:
    big_id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    instant = service.db.UTCDateTime(timezone=True)
    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.add_column(sa.Column("wechat_openid", sa.String(length=64), nullable=True))
    with op.batch_alter_table("ticket", schema=None) as batch_op:
        batch_op.add_column(sa.Column("language", sa.String(length=8), nullable=True))
    op.create_table(
        "notification",
        sa.Column("id", big_id, nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("ticket_id", big_id, nullable=False),
        sa.Column("event_id", big_id, nullable=False),
        sa.Column("type", sa.String(length=40), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("created_at", instant, nullable=False),
        sa.Column("read_at", instant, nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user_account.id"], name=op.f("fk_notification_user_id_user_account")
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["ticket.id"], name=op.f("fk_notification_ticket_id_ticket")
        ),
        sa.ForeignKeyConstraint(
            ["event_id"], ["ticket_event.id"], name=op.f("fk_notification_event_id_ticket_event")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification")),
    )
    op.create_index("ix_notification_user_id_id", "notification", ["user_id", "id"])
    op.create_index(op.f("ix_notification_ticket_id"), "notification", ["ticket_id"])
    op.create_table(
        "notification_delivery",
        sa.Column("id", big_id, nullable=False),
        sa.Column("notification_id", big_id, nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        *_outbox_columns(instant),
        sa.ForeignKeyConstraint(
            ["notification_id"],
            ["notification.id"],
            name=op.f("fk_notification_delivery_notification_id_notification"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_delivery")),
        sa.UniqueConstraint(
            "notification_id",
            "channel",
            name=op.f("uq_notification_delivery_notification_id_channel"),
        ),
    )
    op.create_index(
        "ix_notification_delivery_status_next_attempt_at",
        "notification_delivery",
        ["status", "next_attempt_at"],
    )
    op.create_table(
        "notification_attempt",
        sa.Column("id", big_id, nullable=False),
        sa.Column("delivery_id", big_id, nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("started_at", instant, nullable=False),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("error", sa.String(length=500), nullable=True),
        sa.Column("delivered", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["notification_delivery.id"],
            name=op.f("fk_notification_attempt_delivery_id_notification_delivery"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_attempt")),
    )
    op.create_index(
        "ix_notification_attempt_delivery_id_id", "notification_attempt", ["delivery_id", "id"]
    )
    op.create_table(
        "notification_preference",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=True),
        sa.Column("wechat", sa.Boolean(), nullable=False),
        sa.Column("sms", sa.Boolean(), nullable=False),
        sa.Column("muted", sa.JSON(), nullable=False),
        sa.Column("wechat_refused_at", instant, nullable=True),
        sa.Column("updated_at", instant, nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_notification_preference_user_id_user_account"),
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_notification_preference")),
    )
    op.create_table(
        "wechat_token",
        sa.Column("app_id", sa.String(length=64), nullable=False),
        sa.Column("access_token", sa.String(length=512), nullable=False),
        sa.Column("expires_at", instant, nullable=False),
        sa.Column("refreshed_at", instant, nullable=False),
        sa.PrimaryKeyConstraint("app_id", name=op.f("pk_wechat_token")),
    )


def downgrade() -> None:
    op.drop_table("wechat_token")
    op.drop_table("notification_preference")
    op.drop_index("ix_notification_attempt_delivery_id_id", table_name="notification_attempt")
    op.drop_table("notification_attempt")
    op.drop_index(
        "ix_notification_delivery_status_next_attempt_at", table_name="notification_delivery"
    )
    op.drop_table("notification_delivery")
    op.drop_index(op.f("ix_notification_ticket_id"), table_name="notification")
    op.drop_index("ix_notification_user_id_id", table_name="notification")
    op.drop_table("notification")
    with op.batch_alter_table("ticket", schema=None) as batch_op:
        batch_op.drop_column("language")
    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.drop_column("wechat_openid")
