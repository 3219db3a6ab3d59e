"""HTTP routes of /v1/attachments: uploading a photo and fetching it back."""

from __future__ import annotations

import contextlib
import datetime as dt
import secrets
from typing import Annotated, Any

import pydantic_core
from fastapi import APIRouter, File, Header, Path, Request, Response, UploadFile
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from service.attachments import images, service
from service.attachments.schemas import AttachmentRead
from service.attachments.storage import Missing, Storage
from service.auth import CurrentPrincipal, Principal
from service.config import Settings, SettingsDep
from service.db import CommitInRoute, SessionDep, begin_write, in_thread, utcnow
from service.errors import (
    NotFound,
    PayloadTooLarge,
    TooManyRequests,
    Unprocessable,
    log,
    responses,
)
from service.ratelimit import limit as rate_limit

UPLOAD_PATH = "/v1/attachments"
router = APIRouter(prefix=UPLOAD_PATH, tags=["attachments"], route_class=CommitInRoute)

AttachmentId = Annotated[int, Path(gt=0, lt=2**63)]
# The photo's bytes never change under an id; who may fetch it can (a ticket that
# moves to another provider): cached by the caller's own browser only, revalidated
# with If-None-Match after a day.
CACHE_CONTROL = "private, max-age=86400"
# Served images are never a document: nothing in them runs, even if opened directly.
_IMAGE_HEADERS = {"Content-Security-Policy": "default-src 'none'; sandbox"}


def _storage(request: Request) -> Storage:
    storage: Storage = request.app.state.storage
    return storage


_HOUR = dt.timedelta(hours=1)


def _record(session: Session, settings: Settings, principal: Principal, *args: Any) -> Any:
    """The upload's row, counted against the caller's hourly quota in the same
    transaction: a refused upload records nothing (and its files are deleted)."""
    begin_write(session)
    rate_limit(
        session,
        f"uploads:{principal.owner_key}",
        settings.uploads_per_hour,
        _HOUR,
        code="ratelimit.uploads",
    )
    return service.record(session, principal, *args)


@router.post(
    "",
    status_code=201,
    response_model=AttachmentRead,
    responses=responses(PayloadTooLarge, TooManyRequests),
)
async def upload_attachment(
    request: Request,
    principal: CurrentPrincipal,
    session: SessionDep,
    settings: SettingsDep,
    file: Annotated[
        UploadFile,
        File(description="A JPEG, PNG, WebP or HEIC photo; its type is read from its content."),
    ],
) -> Response:
    """Upload a photo (multipart/form-data, field `file`), then name its `id` in
    `attachment_ids` when filing a ticket, commenting or resolving. It is stored
    re-encoded, without EXIF or GPS metadata, with a thumbnail; only you may fetch
    it until it is linked. Unlinked uploads are deleted after
    LINLI_ATTACHMENT_UNLINKED_TTL_HOURS."""
    limit = settings.attachment_max_bytes
    data = await file.read(limit + 1)
    if len(data) > limit:
        raise PayloadTooLarge("attachment.too_large", limit=limit)
    if not data:
        raise Unprocessable.on("file", "attachment.empty")
    processed = await run_in_threadpool(
        images.process, data, max_pixels=settings.attachment_max_pixels
    )
    now = utcnow()
    key = f"{now:%Y/%m}/{secrets.token_hex(16)}"
    storage = _storage(request)
    await run_in_threadpool(_put, storage, key, processed)
    try:
        # The request's session, idle (no connection) while the image was decoded;
        # on SQLite a POST queues for the write lock first (service.db), so there
        # other writes wait for the decoding too.
        attachment = await in_thread(
            session, _record, session, settings, principal, processed, key, now
        )
    except BaseException:
        await run_in_threadpool(_delete, storage, key)
        raise
    return Response(
        pydantic_core.to_json(service.read_dict(attachment)),
        201,
        {"Location": service.url(attachment.id)},
        media_type="application/json",
    )


def _put(storage: Storage, key: str, processed: images.Processed) -> None:
    storage.put(key, processed.image.data, processed.image.content_type)
    storage.put(
        key + service.THUMBNAIL_SUFFIX, processed.thumbnail.data, processed.thumbnail.content_type
    )


def _delete(storage: Storage, key: str) -> None:
    for name in (key, key + service.THUMBNAIL_SUFFIX):
        with contextlib.suppress(Exception):
            storage.delete(name)


_SERVED = {
    200: {
        "description": "The image's bytes",
        "content": {"image/jpeg": {}, "image/png": {}, "image/webp": {}},
    },
    **responses(NotFound),
    304: {"description": "Not Modified: If-None-Match names the current ETag"},
}


def _serve(
    request: Request,
    session: Session,
    principal: Principal,
    attachment_id: int,
    if_none_match: str | None,
    *,
    thumbnail: bool,
) -> Response:
    attachment = service.servable(session, principal, attachment_id)
    digest = attachment.thumbnail_sha256 if thumbnail else attachment.sha256
    tag = f'"{digest}"'
    headers = {"ETag": tag, "Cache-Control": CACHE_CONTROL, **_IMAGE_HEADERS}
    if if_none_match is not None and (
        tag in {t.strip() for t in if_none_match.split(",")} or if_none_match.strip() == "*"
    ):
        return Response(status_code=304, headers=headers)
    key = attachment.storage_key + (service.THUMBNAIL_SUFFIX if thumbnail else "")
    try:
        body = _storage(request).get(key)
    except Missing as exc:
        log.error("attachment %s: object %s is missing from storage", attachment.id, key)
        raise NotFound("attachment.not_found", id=attachment_id) from exc
    media_type = "image/jpeg" if thumbnail else attachment.content_type
    return Response(body, headers=headers, media_type=media_type)


IfNoneMatch = Annotated[str | None, Header(alias="If-None-Match")]


@router.get("/{attachment_id}", response_class=Response, responses=_SERVED)
def get_attachment(
    request: Request,
    attachment_id: AttachmentId,
    principal: CurrentPrincipal,
    session: SessionDep,
    if_none_match: IfNoneMatch = None,
) -> Response:
    """The stored image: to its uploader until it is linked, then to whoever may see
    the ticket (an internal note's photo: the staff side only). 404 to anyone else."""
    return _serve(request, session, principal, attachment_id, if_none_match, thumbnail=False)


@router.get("/{attachment_id}/thumbnail", response_class=Response, responses=_SERVED)
def get_attachment_thumbnail(
    request: Request,
    attachment_id: AttachmentId,
    principal: CurrentPrincipal,
    session: SessionDep,
    if_none_match: IfNoneMatch = None,
) -> Response:
    """The thumbnail (JPEG, at most 320 pixels a side), to the same callers as the image."""
    return _serve(request, session, principal, attachment_id, if_none_match, thumbnail=True)
