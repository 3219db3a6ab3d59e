"""elders

Elders (care recipients, issue 18): `elder`, whose sensitive columns (phone,
address, emergency contacts, health notes) the database refuses without a
consent time; `elder_proxy`, the residents who may act for an elder; and
`elder_access`, one row per answer that showed sensitive fields in clear.
Nothing existing changes; down again, the three tables go.

Revision ID: 020eba62a69d
Revises: e2b5c8d1f3a7
Create Date: 2026-12-03 09:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import service.db

revision: str = "020eba62a69d"
down_revision: str | None = "e2b5c8d1f3a7"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "elder",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=True),
        sa.Column("phone", sa.String(length=20), nullable=True),
        sa.Column("birth_year", sa.SmallInteger(), nullable=True),
        sa.Column(
            "gender",
            sa.Enum("female", "male", name="gender", native_enum=False, length=16),
            nullable=True,
        ),
        sa.Column("lives_alone", sa.Boolean(), nullable=False),
        sa.Column("care_level", sa.SmallInteger(), nullable=True),
        sa.Column("building", sa.String(length=50), nullable=True),
        sa.Column("unit", sa.String(length=50), nullable=True),
        sa.Column("room", sa.String(length=50), nullable=True),
        sa.Column("emergency_contacts", sa.JSON(), nullable=True),
        sa.Column("health_notes", sa.Text(), nullable=True),
        sa.Column("consent_given_at", service.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "consent_by",
            sa.Enum("self", "guardian", name="consentby", native_enum=False, length=16),
            nullable=True,
        ),
        sa.Column("consent_note", sa.String(length=500), nullable=True),
        sa.Column("created_at", service.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", service.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("erased_at", service.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("erased_by_id", sa.Integer(), nullable=True),
        sa.CheckConstraint("care_level BETWEEN 0 AND 4", name=op.f("ck_elder_care_level")),
        sa.CheckConstraint(
            "consent_given_at IS NOT NULL OR (phone IS NULL AND building IS NULL"
            " AND unit IS NULL AND room IS NULL AND emergency_contacts IS NULL"
            " AND health_notes IS NULL)",
            name=op.f("ck_elder_sensitive_needs_consent"),
        ),
        sa.ForeignKeyConstraint(
            ["community_id"], ["community.id"], name=op.f("fk_elder_community_id_community")
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["user_account.id"], name=op.f("fk_elder_created_by_id_user_account")
        ),
        sa.ForeignKeyConstraint(
            ["erased_by_id"], ["user_account.id"], name=op.f("fk_elder_erased_by_id_user_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_elder")),
    )
    with op.batch_alter_table("elder", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_elder_community_id"), ["community_id"], unique=False)

    op.create_table(
        "elder_access",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("elder_id", sa.Integer(), nullable=False),
        sa.Column("reader_id", sa.Integer(), nullable=False),
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
        sa.Column("organization_id", sa.Integer(), nullable=True),
        sa.Column("api_key_id", sa.Integer(), nullable=True),
        sa.Column("route", sa.String(length=100), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("read_at", service.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["api_key_id"], ["api_key.id"], name=op.f("fk_elder_access_api_key_id_api_key")
        ),
        sa.ForeignKeyConstraint(
            ["elder_id"], ["elder.id"], name=op.f("fk_elder_access_elder_id_elder")
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organization.id"],
            name=op.f("fk_elder_access_organization_id_organization"),
        ),
        sa.ForeignKeyConstraint(
            ["reader_id"], ["user_account.id"], name=op.f("fk_elder_access_reader_id_user_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_elder_access")),
    )
    with op.batch_alter_table("elder_access", schema=None) as batch_op:
        batch_op.create_index("ix_elder_access_elder_id_id", ["elder_id", "id"], unique=False)

    op.create_table(
        "elder_proxy",
        sa.Column("elder_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", service.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["user_account.id"],
            name=op.f("fk_elder_proxy_created_by_id_user_account"),
        ),
        sa.ForeignKeyConstraint(
            ["elder_id"], ["elder.id"], name=op.f("fk_elder_proxy_elder_id_elder")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user_account.id"], name=op.f("fk_elder_proxy_user_id_user_account")
        ),
        sa.PrimaryKeyConstraint("elder_id", "user_id", name=op.f("pk_elder_proxy")),
    )
    with op.batch_alter_table("elder_proxy", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_elder_proxy_user_id"), ["user_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("elder_proxy", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_elder_proxy_user_id"))

    op.drop_table("elder_proxy")
    with op.batch_alter_table("elder_access", schema=None) as batch_op:
        batch_op.drop_index("ix_elder_access_elder_id_id")

    op.drop_table("elder_access")
    with op.batch_alter_table("elder", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_elder_community_id"))

    op.drop_table("elder")
