"""An uploaded photo: the re-encoded image and its thumbnail in storage, and what
it was linked to (nothing yet, a ticket, a comment, a resolution)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from service.db import Base, BigId, UTCDateTime, utcnow


class Attachment(Base):
    __tablename__ = "attachment"
    __table_args__ = (
        # The expiry job looks for old unlinked uploads.
        Index("ix_attachment_ticket_id_created_at", "ticket_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    uploader_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    # The stored image's (after re-encoding): what is served.
    content_type: Mapped[str] = mapped_column(String(32))
    size: Mapped[int] = mapped_column(Integer)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    thumbnail_size: Mapped[int] = mapped_column(Integer)
    thumbnail_sha256: Mapped[str] = mapped_column(String(64))
    # The image's key in storage; the thumbnail's is the same with ".thumb".
    storage_key: Mapped[str] = mapped_column(String(128), unique=True)
    # Linked: the ticket (for a comment's photo too), and what took it.
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("ticket.id"))
    comment_id: Mapped[int | None] = mapped_column(ForeignKey("ticket_comment.id"))
    linked_as: Mapped[str | None] = mapped_column(String(16))
    # A photo of an internal note: the staff side of the note's organisation only.
    internal: Mapped[bool] = mapped_column(Boolean, default=False)
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organization.id"))
    linked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
