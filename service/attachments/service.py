"""Uploads kept, claimed by a ticket, comment or resolution, served to whom may see
them, and forgotten when nothing claimed them in time.

Who may fetch a photo: its uploader while nothing claimed it; once linked,
whoever may see the ticket (service.scope), and for an internal note's photo
only the staff side that may read the note. Anything else is 404, as for an id
that does not exist. They take the session and never commit."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, delete, or_, select, update
from sqlalchemy.orm import Session

from service.attachments.images import Processed
from service.attachments.models import Attachment
from service.auth import Principal
from service.errors import Invalid, NotFound, Unprocessable
from service.scope import internal_visible, visible_ticket_ids

THUMBNAIL_SUFFIX = ".thumb"


def url(attachment_id: int) -> str:
    return f"/v1/attachments/{attachment_id}"


def _described(a: Attachment) -> dict[str, Any]:
    return {
        "id": a.id,
        "content_type": a.content_type,
        "size": a.size,
        "width": a.width,
        "height": a.height,
        "url": url(a.id),
        "thumbnail_url": url(a.id) + "/thumbnail",
    }


def read_dict(a: Attachment) -> dict[str, Any]:
    """AttachmentRead."""
    return {**_described(a), "sha256": a.sha256, "created_at": a.created_at}


def link_dict(a: Attachment, linked_as: str) -> dict[str, Any]:
    """AttachmentLink: what a ticket or comment keeps of its photos (they never change)."""
    return {**_described(a), "linked_as": linked_as}


def record(
    session: Session, principal: Principal, processed: Processed, key: str, now: dt.datetime
) -> Attachment:
    image, thumbnail = processed.image, processed.thumbnail
    attachment = Attachment(
        uploader_id=principal.user_id,
        content_type=image.content_type,
        size=len(image.data),
        width=image.width,
        height=image.height,
        sha256=image.sha256,
        thumbnail_size=len(thumbnail.data),
        thumbnail_sha256=thumbnail.sha256,
        storage_key=key,
        internal=False,
        created_at=now,
    )
    session.add(attachment)
    session.flush()
    return attachment


def claim(
    session: Session, principal: Principal, ids: Sequence[int], field: str = "attachment_ids"
) -> list[Attachment]:
    """The caller's own unlinked uploads `ids`, locked for linking, in the order
    given; 422 naming the first that is not one (someone else's, already linked,
    expired or never uploaded: the same answer for each)."""
    if not ids:
        return []
    wanted = list(dict.fromkeys(ids))
    query = select(Attachment).where(
        Attachment.id.in_(wanted),
        Attachment.uploader_id == principal.user_id,
        Attachment.linked_as.is_(None),
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    found = {a.id: a for a in session.scalars(query)}
    for attachment_id in wanted:
        if attachment_id not in found:
            raise Unprocessable(
                "attachment.unknown",
                errors=[Invalid(field, "attachment.unknown_id", id=attachment_id)],
                id=attachment_id,
            )
    return [found[i] for i in wanted]


def link(
    session: Session,
    attachments: Sequence[Attachment],
    *,
    ticket_id: int,
    linked_as: str,
    now: dt.datetime,
    comment_id: int | None = None,
    internal: bool = False,
    organization_id: int | None = None,
) -> list[dict[str, Any]]:
    """Link claimed uploads; their AttachmentLinks."""
    if not attachments:
        return []
    session.execute(
        update(Attachment)
        .where(Attachment.id.in_([a.id for a in attachments]))
        .values(
            ticket_id=ticket_id,
            comment_id=comment_id,
            linked_as=linked_as,
            internal=internal,
            organization_id=organization_id,
            linked_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    return [link_dict(a, linked_as) for a in attachments]


def servable(session: Session, principal: Principal, attachment_id: int) -> Attachment:
    """The attachment if `principal` may fetch it; 404 otherwise."""
    linked = and_(
        Attachment.linked_as.is_not(None),
        Attachment.ticket_id.in_(visible_ticket_ids(principal)),
    )
    notes = internal_visible(principal, Attachment.internal, Attachment.organization_id)
    if notes is not None:
        linked = and_(linked, notes)
    mine = and_(Attachment.linked_as.is_(None), Attachment.uploader_id == principal.user_id)
    attachment = session.scalar(
        select(Attachment).where(Attachment.id == attachment_id, or_(mine, linked))
    )
    if attachment is None:
        raise NotFound("attachment.not_found", id=attachment_id)
    return attachment


def expire_unlinked(session: Session, *, before: dt.datetime, limit: int = 500) -> list[str]:
    """Delete up to `limit` uploads nothing claimed that were made before `before`;
    their storage keys (delete the objects after commit: a row never names a
    missing object)."""
    ids = session.scalars(
        select(Attachment.id)
        .where(Attachment.ticket_id.is_(None), Attachment.created_at < before)
        .order_by(Attachment.id)
        .limit(limit)
    ).all()
    if not ids:
        return []
    # Re-checked in the DELETE: a link that committed since is kept.
    rows = session.execute(
        delete(Attachment)
        .where(Attachment.id.in_(ids), Attachment.linked_as.is_(None))
        .returning(Attachment.storage_key)
    ).all()
    return [row.storage_key for row in rows]
