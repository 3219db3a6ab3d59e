"""What the API says of a photo."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, Field

from service.validation import ReadModel


class AttachmentRead(BaseModel):
    """An uploaded photo, as stored: re-encoded, without EXIF or GPS metadata."""

    id: int = Field(description="Name it in `attachment_ids` of a ticket, comment or resolve.")
    content_type: Literal["image/jpeg", "image/png", "image/webp"] = Field(
        description="Of the stored image (HEIC is stored as JPEG)."
    )
    size: int = Field(description="Bytes of the stored image.")
    width: int
    height: int
    sha256: str = Field(description="Of the stored image's bytes; also its ETag.")
    url: str = Field(description="GET it with the same token: the image.")
    thumbnail_url: str = Field(description="A JPEG at most 320 pixels on its longer side.")
    created_at: dt.datetime


class AttachmentLink(ReadModel):
    """A photo linked to a ticket or comment."""

    id: int
    content_type: str
    size: int
    width: int
    height: int
    url: str
    thumbnail_url: str
    linked_as: Literal["ticket", "comment", "resolution"] = Field(
        description="Filed with the ticket, with a comment, or with `resolve` (the work done)."
    )
