"""initial schema: regions, communities, organisations, provider assignments,
users, categories, tickets with events/comments/follow-ups, idempotency keys, API keys

Revision ID: 53b1dc9be632
Revises:
Create Date: 2026-11-27 12:05:51.518063
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import service.db

revision: str = "53b1dc9be632"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "category",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
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
        sa.Column(
            "default_priority",
            sa.Enum(
                "emergency",
                "urgent",
                "normal",
                "low",
                name="priority",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("name_zh", sa.String(length=100), nullable=False),
        sa.Column("name_ug", sa.String(length=200), nullable=False),
        sa.Column("name_en", sa.String(length=100), nullable=False),
        sa.Column("sort_order", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["parent_id"], ["category.id"], name=op.f("fk_category_parent_id_category")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_category")),
        sa.UniqueConstraint("code", name=op.f("uq_category_code")),
    )
    op.create_table(
        "idempotency_key",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("owner", sa.String(length=64), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("response_status", sa.Integer(), nullable=True),
        sa.Column("response_body", sa.JSON(), nullable=True),
        sa.Column("response_headers", sa.JSON(), nullable=True),
        sa.Column("locked_until", service.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_at", service.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", service.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_idempotency_key")),
        sa.UniqueConstraint("owner", "key", name=op.f("uq_idempotency_key_owner_key")),
    )
    with op.batch_alter_table("idempotency_key", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_idempotency_key_expires_at"), ["expires_at"], unique=False
        )

    op.create_table(
        "region",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column(
            "level",
            sa.Enum(
                "province", "prefecture", "county", name="regionlevel", native_enum=False, length=16
            ),
            nullable=False,
        ),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("path", sa.String(length=255), nullable=False),
        sa.Column("created_at", service.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["parent_id"], ["region.id"], name=op.f("fk_region_parent_id_region")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_region")),
        sa.UniqueConstraint("path", name=op.f("uq_region_path")),
    )
    with op.batch_alter_table("region", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_region_parent_id"), ["parent_id"], unique=False)

    op.create_table(
        "community",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("region_id", sa.Integer(), nullable=False),
        sa.Column("region_path", sa.String(length=255), nullable=False),
        sa.Column("address", sa.String(length=300), nullable=True),
        sa.Column("households", sa.Integer(), nullable=False),
        sa.Column("residents", sa.Integer(), nullable=False),
        sa.Column("renovation_year", sa.Integer(), nullable=True),
        sa.Column("renovation_batch", sa.String(length=50), nullable=True),
        sa.Column("latitude", sa.Numeric(precision=9, scale=6, asdecimal=False), nullable=True),
        sa.Column("longitude", sa.Numeric(precision=9, scale=6, asdecimal=False), nullable=True),
        sa.Column("created_at", service.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", service.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["region_id"], ["region.id"], name=op.f("fk_community_region_id_region")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_community")),
    )
    with op.batch_alter_table("community", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_community_region_id"), ["region_id"], unique=False)
        batch_op.create_index(
            "ix_community_region_path",
            ["region_path"],
            unique=False,
            postgresql_ops={"region_path": "text_pattern_ops"},
        )

    op.create_table(
        "organization",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "property_company",
                "care_provider",
                name="organizationkind",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("credit_code", sa.String(length=18), nullable=False),
        sa.Column("contact_phone", sa.String(length=20), nullable=True),
        sa.Column("region_id", sa.Integer(), nullable=False),
        sa.Column("region_path", sa.String(length=255), nullable=False),
        sa.Column("created_at", service.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", service.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["region_id"], ["region.id"], name=op.f("fk_organization_region_id_region")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organization")),
        sa.UniqueConstraint("credit_code", name=op.f("uq_organization_credit_code")),
    )
    with op.batch_alter_table("organization", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_organization_region_id"), ["region_id"], unique=False)
        batch_op.create_index(
            "ix_organization_region_path",
            ["region_path"],
            unique=False,
            postgresql_ops={"region_path": "text_pattern_ops"},
        )

    op.create_table(
        "user_account",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sub", sa.String(length=200), nullable=False),
        sa.Column(
            "role",
            sa.Enum(
                "resident",
                "grid_worker",
                "provider_staff",
                "admin",
                name="role",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=True),
        sa.Column("community_id", sa.Integer(), nullable=True),
        sa.Column("organization_id", sa.Integer(), nullable=True),
        sa.Column(
            "org_role",
            sa.Enum("dispatcher", "technician", name="orgrole", native_enum=False, length=16),
            nullable=True,
        ),
        sa.Column("region_id", sa.Integer(), nullable=True),
        sa.Column("created_at", service.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", service.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["community_id"], ["community.id"], name=op.f("fk_user_account_community_id_community")
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organization.id"],
            name=op.f("fk_user_account_organization_id_organization"),
        ),
        sa.ForeignKeyConstraint(
            ["region_id"], ["region.id"], name=op.f("fk_user_account_region_id_region")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_account")),
        sa.UniqueConstraint("sub", name=op.f("uq_user_account_sub")),
    )
    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_user_account_community_id"), ["community_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_user_account_organization_id"), ["organization_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_user_account_phone"), ["phone"], unique=False)

    op.create_table(
        "api_key",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", service.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", service.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", service.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organization.id"],
            name=op.f("fk_api_key_organization_id_organization"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user_account.id"], name=op.f("fk_api_key_user_id_user_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_key")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_api_key_key_hash")),
    )
    with op.batch_alter_table("api_key", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_api_key_organization_id"), ["organization_id"], unique=False
        )

    op.create_table(
        "provider_assignment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum("property", "elderly_care", name="servicekind", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("since_on", sa.Date(), nullable=False),
        sa.Column("until_on", sa.Date(), nullable=True),
        sa.Column("current", sa.Boolean(), nullable=True),
        sa.Column("created_at", service.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["community_id"],
            ["community.id"],
            name=op.f("fk_provider_assignment_community_id_community"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["user_account.id"],
            name=op.f("fk_provider_assignment_created_by_id_user_account"),
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organization.id"],
            name=op.f("fk_provider_assignment_organization_id_organization"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_provider_assignment")),
        sa.UniqueConstraint(
            "community_id",
            "kind",
            "current",
            name=op.f("uq_provider_assignment_community_id_kind_current"),
        ),
    )
    with op.batch_alter_table("provider_assignment", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_provider_assignment_organization_id"), ["organization_id"], unique=False
        )

    op.create_table(
        "ticket",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("number", sa.String(length=32), nullable=True),
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
        sa.Column("category_id", sa.Integer(), nullable=False),
        sa.Column(
            "priority",
            sa.Enum(
                "emergency",
                "urgent",
                "normal",
                "low",
                name="priority",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column(
            "status",
            sa.Enum(
                "submitted",
                "assigned",
                "accepted",
                "in_progress",
                "on_hold",
                "resolved",
                "closed",
                "cancelled",
                "rejected",
                name="status",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("region_path", sa.String(length=255), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=True),
        sa.Column("assignee_id", sa.Integer(), nullable=True),
        sa.Column("reporter_id", sa.Integer(), nullable=True),
        sa.Column("reporter_name", sa.String(length=100), nullable=True),
        sa.Column("filed_by_id", sa.Integer(), nullable=False),
        sa.Column("on_behalf_of_name", sa.String(length=100), nullable=True),
        sa.Column("on_behalf_of_phone", sa.String(length=20), nullable=True),
        sa.Column(
            "channel",
            sa.Enum(
                "app",
                "wechat",
                "phone",
                "walk_in",
                "open311",
                name="channel",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("title", sa.String(length=200), nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("building", sa.String(length=50), nullable=True),
        sa.Column("unit", sa.String(length=50), nullable=True),
        sa.Column("room", sa.String(length=50), nullable=True),
        sa.Column(
            "area",
            sa.Enum("private", "public", name="locationarea", native_enum=False, length=16),
            nullable=True,
        ),
        sa.Column("contact_phone", sa.String(length=20), nullable=True),
        sa.Column("preferred_from", service.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("preferred_to", service.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("attachment_ids", sa.JSON(), nullable=False),
        sa.Column("respond_by", service.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("resolve_by", service.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("responded_at", service.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("resolved_at", service.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("closed_at", service.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("on_hold_since", service.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "hold_reason",
            sa.Enum(
                "awaiting_resident",
                "awaiting_parts",
                "other",
                name="holdreason",
                native_enum=False,
                length=32,
            ),
            nullable=True,
        ),
        sa.Column("paused_seconds", sa.Integer(), nullable=False),
        sa.Column("response_breached", sa.Boolean(), nullable=False),
        sa.Column("resolution_breached", sa.Boolean(), nullable=False),
        sa.Column("rating", sa.Integer(), nullable=True),
        sa.Column("rating_comment", sa.String(length=1000), nullable=True),
        sa.Column("rating_tags", sa.JSON(), nullable=True),
        sa.Column("reopen_count", sa.Integer(), nullable=False),
        sa.Column("created_at", service.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", service.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["assignee_id"], ["user_account.id"], name=op.f("fk_ticket_assignee_id_user_account")
        ),
        sa.ForeignKeyConstraint(
            ["category_id"], ["category.id"], name=op.f("fk_ticket_category_id_category")
        ),
        sa.ForeignKeyConstraint(
            ["community_id"], ["community.id"], name=op.f("fk_ticket_community_id_community")
        ),
        sa.ForeignKeyConstraint(
            ["filed_by_id"], ["user_account.id"], name=op.f("fk_ticket_filed_by_id_user_account")
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organization.id"],
            name=op.f("fk_ticket_organization_id_organization"),
        ),
        sa.ForeignKeyConstraint(
            ["reporter_id"], ["user_account.id"], name=op.f("fk_ticket_reporter_id_user_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket")),
        sa.UniqueConstraint("number", name=op.f("uq_ticket_number")),
    )
    with op.batch_alter_table("ticket", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ticket_assignee_id"), ["assignee_id"], unique=False)
        batch_op.create_index("ix_ticket_community_id_id", ["community_id", "id"], unique=False)
        batch_op.create_index("ix_ticket_filed_by_id_id", ["filed_by_id", "id"], unique=False)
        batch_op.create_index(
            "ix_ticket_organization_id_id", ["organization_id", "id"], unique=False
        )
        batch_op.create_index(
            "ix_ticket_region_path",
            ["region_path"],
            unique=False,
            postgresql_ops={"region_path": "text_pattern_ops"},
        )
        batch_op.create_index("ix_ticket_reporter_id_id", ["reporter_id", "id"], unique=False)
        batch_op.create_index(
            "ix_ticket_status_resolved_at", ["status", "resolved_at"], unique=False
        )

    op.create_table(
        "follow_up",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "ticket_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "method",
            sa.Enum("phone", "visit", "app", name="followupmethod", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("satisfied", sa.Boolean(), nullable=False),
        sa.Column("note", sa.String(length=2000), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=True),
        sa.Column("created_at", service.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["user_account.id"],
            name=op.f("fk_follow_up_created_by_id_user_account"),
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organization.id"],
            name=op.f("fk_follow_up_organization_id_organization"),
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["ticket.id"], name=op.f("fk_follow_up_ticket_id_ticket")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_follow_up")),
    )
    with op.batch_alter_table("follow_up", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_follow_up_ticket_id"), ["ticket_id"], unique=False)

    op.create_table(
        "ticket_comment",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "ticket_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("internal", sa.Boolean(), nullable=False),
        sa.Column("created_at", service.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["user_account.id"],
            name=op.f("fk_ticket_comment_author_id_user_account"),
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organization.id"],
            name=op.f("fk_ticket_comment_organization_id_organization"),
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["ticket.id"], name=op.f("fk_ticket_comment_ticket_id_ticket")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_comment")),
    )
    with op.batch_alter_table("ticket_comment", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_ticket_comment_ticket_id"), ["ticket_id"], unique=False
        )

    op.create_table(
        "ticket_event",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "ticket_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("type", sa.String(length=40), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column(
            "from_status",
            sa.Enum(
                "submitted",
                "assigned",
                "accepted",
                "in_progress",
                "on_hold",
                "resolved",
                "closed",
                "cancelled",
                "rejected",
                name="status",
                native_enum=False,
                length=16,
            ),
            nullable=True,
        ),
        sa.Column(
            "to_status",
            sa.Enum(
                "submitted",
                "assigned",
                "accepted",
                "in_progress",
                "on_hold",
                "resolved",
                "closed",
                "cancelled",
                "rejected",
                name="status",
                native_enum=False,
                length=16,
            ),
            nullable=True,
        ),
        sa.Column("organization_id", sa.Integer(), nullable=True),
        sa.Column("internal", sa.Boolean(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("created_at", service.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["user_account.id"], name=op.f("fk_ticket_event_actor_id_user_account")
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organization.id"],
            name=op.f("fk_ticket_event_organization_id_organization"),
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["ticket.id"], name=op.f("fk_ticket_event_ticket_id_ticket")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_event")),
    )
    with op.batch_alter_table("ticket_event", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_ticket_event_organization_id"), ["organization_id"], unique=False
        )
        batch_op.create_index("ix_ticket_event_ticket_id_id", ["ticket_id", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("ticket_event", schema=None) as batch_op:
        batch_op.drop_index("ix_ticket_event_ticket_id_id")
        batch_op.drop_index(batch_op.f("ix_ticket_event_organization_id"))

    op.drop_table("ticket_event")
    with op.batch_alter_table("ticket_comment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ticket_comment_ticket_id"))

    op.drop_table("ticket_comment")
    with op.batch_alter_table("follow_up", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_follow_up_ticket_id"))

    op.drop_table("follow_up")
    with op.batch_alter_table("ticket", schema=None) as batch_op:
        batch_op.drop_index("ix_ticket_status_resolved_at")
        batch_op.drop_index("ix_ticket_reporter_id_id")
        batch_op.drop_index(
            "ix_ticket_region_path", postgresql_ops={"region_path": "text_pattern_ops"}
        )
        batch_op.drop_index("ix_ticket_organization_id_id")
        batch_op.drop_index("ix_ticket_filed_by_id_id")
        batch_op.drop_index("ix_ticket_community_id_id")
        batch_op.drop_index(batch_op.f("ix_ticket_assignee_id"))

    op.drop_table("ticket")
    with op.batch_alter_table("provider_assignment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_provider_assignment_organization_id"))

    op.drop_table("provider_assignment")
    with op.batch_alter_table("api_key", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_key_organization_id"))

    op.drop_table("api_key")
    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_user_account_phone"))
        batch_op.drop_index(batch_op.f("ix_user_account_organization_id"))
        batch_op.drop_index(batch_op.f("ix_user_account_community_id"))

    op.drop_table("user_account")
    with op.batch_alter_table("organization", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_organization_region_path", postgresql_ops={"region_path": "text_pattern_ops"}
        )
        batch_op.drop_index(batch_op.f("ix_organization_region_id"))

    op.drop_table("organization")
    with op.batch_alter_table("community", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_community_region_path", postgresql_ops={"region_path": "text_pattern_ops"}
        )
        batch_op.drop_index(batch_op.f("ix_community_region_id"))

    op.drop_table("community")
    with op.batch_alter_table("region", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_region_parent_id"))

    op.drop_table("region")
    with op.batch_alter_table("idempotency_key", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_idempotency_key_expires_at"))

    op.drop_table("idempotency_key")
    op.drop_table("category")
