"""feed and webhooks

The provider change feed (commit-order horizon) and webhooks with an outbox (issue 5).

- ticket_event.xid: the writing transaction's id on PostgreSQL
  (pg_current_xact_id(), a server default so that every writer fills it), 0 on
  SQLite; the feed's index (organization_id, xid, id) replaces the one on
  organization_id alone.
- webhook_subscription, webhook_delivery (the outbox and delivery state),
  webhook_attempt (the delivery log).
- The trigger `ticket_event_published`: for each new event of an organisation,
  one webhook_delivery per matching active subscription, in the same
  transaction, and on PostgreSQL a NOTIFY linli_feed (delivered at commit) that
  wakes long-polls on every instance. A trigger costs the hot write path no
  round trip and no process can forget it.

Revision ID: 6b2d1f8e3c52
Revises: 5a1c0e7d2b41
Create Date: 2026-11-27 15:01:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import service.db

revision: str = "6b2d1f8e3c52"
down_revision: str | None = "5a1c0e7d2b41"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

POSTGRES_TRIGGER = """
CREATE FUNCTION ticket_event_published() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.organization_id IS NOT NULL THEN
        PERFORM pg_notify('linli_feed', NEW.organization_id::text);
        INSERT INTO webhook_delivery
            (subscription_id, event_id, organization_id, status, attempts,
             next_attempt_at, created_at)
        SELECT s.id, NEW.id, NEW.organization_id, 'pending', 0, NEW.created_at, NEW.created_at
        FROM webhook_subscription s
        WHERE s.organization_id = NEW.organization_id
          AND s.active
          AND (json_array_length(s.event_types) = 0
               OR jsonb_exists(s.event_types::jsonb, NEW.type));
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER ticket_event_published AFTER INSERT ON ticket_event
    FOR EACH ROW EXECUTE FUNCTION ticket_event_published();
"""

SQLITE_TRIGGER = """
CREATE TRIGGER ticket_event_published AFTER INSERT ON ticket_event
WHEN NEW.organization_id IS NOT NULL
BEGIN
    INSERT INTO webhook_delivery
        (subscription_id, event_id, organization_id, status, attempts,
         next_attempt_at, created_at)
    SELECT s.id, NEW.id, NEW.organization_id, 'pending', 0, NEW.created_at, NEW.created_at
    FROM webhook_subscription s
    WHERE s.organization_id = NEW.organization_id
      AND s.active
      AND (json_array_length(s.event_types) = 0
           OR EXISTS (SELECT 1 FROM json_each(s.event_types) WHERE json_each.value = NEW.type));
END;
"""


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    xid_default = sa.text("(pg_current_xact_id()::text::bigint)") if postgres else sa.text("0")
    with op.batch_alter_table("ticket_event", schema=None) as batch_op:
        # Existing events get the migration's own transaction id: all older than any new one.
        batch_op.add_column(
            sa.Column("xid", sa.BigInteger(), server_default=xid_default, nullable=False)
        )
        batch_op.drop_index(batch_op.f("ix_ticket_event_organization_id"))
        batch_op.create_index(
            "ix_ticket_event_organization_id_xid_id",
            ["organization_id", "xid", "id"],
            unique=False,
        )

    op.create_table(
        "webhook_subscription",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("secret", sa.String(length=128), nullable=False),
        sa.Column("event_types", sa.JSON(), nullable=False),
        sa.Column("description", sa.String(length=200), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", service.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", service.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["user_account.id"],
            name=op.f("fk_webhook_subscription_created_by_id_user_account"),
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organization.id"],
            name=op.f("fk_webhook_subscription_organization_id_organization"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_subscription")),
    )
    with op.batch_alter_table("webhook_subscription", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_webhook_subscription_organization_id"),
            ["organization_id"],
            unique=False,
        )

    op.create_table(
        "webhook_delivery",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("subscription_id", sa.Integer(), nullable=False),
        sa.Column("event_id", BIG_ID, nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "delivered",
                "dead",
                name="deliverystatus",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", service.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("lease_until", service.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("delivered_at", service.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", service.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["ticket_event.id"],
            name=op.f("fk_webhook_delivery_event_id_ticket_event"),
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organization.id"],
            name=op.f("fk_webhook_delivery_organization_id_organization"),
        ),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["webhook_subscription.id"],
            name=op.f("fk_webhook_delivery_subscription_id_webhook_subscription"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_delivery")),
        sa.UniqueConstraint(
            "subscription_id",
            "event_id",
            name=op.f("uq_webhook_delivery_subscription_id_event_id"),
        ),
    )
    with op.batch_alter_table("webhook_delivery", schema=None) as batch_op:
        batch_op.create_index(
            "ix_webhook_delivery_status_next_attempt_at",
            ["status", "next_attempt_at"],
            unique=False,
        )

    op.create_table(
        "webhook_attempt",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("delivery_id", BIG_ID, nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("started_at", service.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("error", sa.String(length=500), nullable=True),
        sa.Column("delivered", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["webhook_delivery.id"],
            name=op.f("fk_webhook_attempt_delivery_id_webhook_delivery"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_attempt")),
    )
    with op.batch_alter_table("webhook_attempt", schema=None) as batch_op:
        batch_op.create_index(
            "ix_webhook_attempt_delivery_id_id", ["delivery_id", "id"], unique=False
        )

    op.execute(POSTGRES_TRIGGER if postgres else SQLITE_TRIGGER)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS ticket_event_published ON ticket_event")
        op.execute("DROP FUNCTION IF EXISTS ticket_event_published()")
    else:
        op.execute("DROP TRIGGER IF EXISTS ticket_event_published")

    with op.batch_alter_table("webhook_attempt", schema=None) as batch_op:
        batch_op.drop_index("ix_webhook_attempt_delivery_id_id")
    op.drop_table("webhook_attempt")
    with op.batch_alter_table("webhook_delivery", schema=None) as batch_op:
        batch_op.drop_index("ix_webhook_delivery_status_next_attempt_at")
    op.drop_table("webhook_delivery")
    with op.batch_alter_table("webhook_subscription", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_webhook_subscription_organization_id"))
    op.drop_table("webhook_subscription")

    with op.batch_alter_table("ticket_event", schema=None) as batch_op:
        batch_op.drop_index("ix_ticket_event_organization_id_xid_id")
        batch_op.create_index(
            batch_op.f("ix_ticket_event_organization_id"), ["organization_id"], unique=False
        )
        batch_op.drop_column("xid")
