"""attachments

Uploaded photos (issue 17): the `attachment` table, and the ticket's and
comment's `attachments` (a copy of their linked photos' summaries, written once
at linking: the photos never change, and reads need no join). The ticket's
`attachment_ids` goes: its values were strings clients made up, which named no
stored file and that nothing checked, so there is nothing to carry over (README,
"Changelog of the API contract"). Down again, `attachment_ids` comes back empty.

Revision ID: d4f9a1c2e6b7
Revises: d4f1a7c3e9b2
Create Date: 2026-11-28 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import service.db

revision: str = "d4f9a1c2e6b7"
down_revision: str | None = "d4f1a7c3e9b2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

EMPTY_LIST = sa.text("'[]'")


def upgrade() -> None:
    big_id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    instant = service.db.UTCDateTime(timezone=True)
    op.create_table(
        "attachment",
        sa.Column("id", big_id, nullable=False),
        sa.Column("uploader_id", sa.Integer(), nullable=False),
        sa.Column("content_type", sa.String(length=32), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("thumbnail_size", sa.Integer(), nullable=False),
        sa.Column("thumbnail_sha256", sa.String(length=64), nullable=False),
        sa.Column("storage_key", sa.String(length=128), nullable=False),
        sa.Column("ticket_id", big_id, nullable=True),
        sa.Column("comment_id", big_id, nullable=True),
        sa.Column("linked_as", sa.String(length=16), nullable=True),
        sa.Column("internal", sa.Boolean(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=True),
        sa.Column("linked_at", instant, nullable=True),
        sa.Column("created_at", instant, nullable=False),
        sa.ForeignKeyConstraint(
            ["uploader_id"],
            ["user_account.id"],
            name=op.f("fk_attachment_uploader_id_user_account"),
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["ticket.id"], name=op.f("fk_attachment_ticket_id_ticket")
        ),
        sa.ForeignKeyConstraint(
            ["comment_id"],
            ["ticket_comment.id"],
            name=op.f("fk_attachment_comment_id_ticket_comment"),
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organization.id"],
            name=op.f("fk_attachment_organization_id_organization"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attachment")),
        sa.UniqueConstraint("storage_key", name=op.f("uq_attachment_storage_key")),
    )
    op.create_index("ix_attachment_ticket_id_created_at", "attachment", ["ticket_id", "created_at"])
    with op.batch_alter_table("ticket", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("attachments", sa.JSON(), nullable=True, server_default=EMPTY_LIST)
        )
        batch_op.drop_column("attachment_ids")
    with op.batch_alter_table("ticket_comment", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("attachments", sa.JSON(), nullable=True, server_default=EMPTY_LIST)
        )


def downgrade() -> None:
    with op.batch_alter_table("ticket_comment", schema=None) as batch_op:
        batch_op.drop_column("attachments")
    with op.batch_alter_table("ticket", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("attachment_ids", sa.JSON(), nullable=True, server_default=EMPTY_LIST)
        )
        batch_op.drop_column("attachments")
    op.drop_index("ix_attachment_ticket_id_created_at", table_name="attachment")
    op.drop_table("attachment")
