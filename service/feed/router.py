"""GET /v1/feed: the provider organisation's change feed, with long-polling."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from typing import Annotated, Any

import pydantic_core
from fastapi import APIRouter, Header, Query, Request, Response
from sqlalchemy.orm import Session

from service.auth import CurrentPrincipal
from service.config import SettingsDep
from service.db import SessionDep, in_thread
from service.errors import Forbidden, responses
from service.feed import service
from service.feed.notify import FeedHub
from service.feed.schemas import FeedPage
from service.feed.window import FeedWindows
from service.middleware import parked
from service.telemetry.instruments import FEED_LAG
from service.tickets import stream
from service.tickets.stream import etag

router = APIRouter(prefix="/v1/feed", tags=["feed"])

MAX_WAIT_SECONDS = 30
# While a commit is seen but an older transaction holds the horizon back.
PENDING_RETRY = (0.02, 1.0)


# Reads in flight in this process, by what they read. A commit wakes every
# long-poll of the organisation at once, and those that follow the head hold
# the same cursor: one query answers them all instead of one each (2,000
# waiters queued 2,000 identical reads on the thread pool). The page depends
# only on the organisation, the cursor and the limit, never on the person.
_in_flight: dict[tuple[int, str | None, int, int], asyncio.Future[Any]] = {}


async def _shared_read(
    session: Session, organization_id: int, cursor: str | None, seen: int, **options: Any
) -> Any:
    key = (organization_id, cursor, options["limit"], seen)
    running = _in_flight.get(key)
    if running is not None:
        return await asyncio.shield(running)
    future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
    _in_flight[key] = future
    try:
        # The connection goes back to the pool in the reading thread: the
        # long-poll holds none while it waits.
        page = await in_thread(
            session, service.read_page, session, organization_id, cursor, **options
        )
    except BaseException as exc:
        future.set_exception(exc)
        future.exception()  # retrieved: nobody else may be waiting for it
        raise
    else:
        future.set_result(page)
        return page
    finally:
        del _in_flight[key]


@router.get(
    "",
    response_model=FeedPage,
    responses={
        **responses(Forbidden, service.FeedCursorExpired),
        304: {"description": "Not Modified: nothing after the cursor named by If-None-Match"},
    },
)
async def read_feed(
    request: Request,
    principal: CurrentPrincipal,
    session: SessionDep,
    settings: SettingsDep,
    cursor: Annotated[
        str | None,
        Query(max_length=200, description="next_cursor of the previous page; none: from the start"),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    wait: Annotated[
        float,
        Query(ge=0, le=MAX_WAIT_SECONDS, description="seconds to wait for an event if none is new"),
    ] = 0,
    if_none_match: Annotated[str | None, Header(alias="If-None-Match")] = None,
) -> Response:
    """The events of tickets assigned to the caller's organisation, oldest first,
    each exactly once. `ETag` is the next cursor; send it back as `If-None-Match`
    with the same cursor to get 304 when nothing is new."""
    organization_id = service.require_provider(principal)
    hub: FeedHub = request.app.state.feed_hub
    loop = asyncio.get_running_loop()
    hub.bind(loop)
    retention = dt.timedelta(days=settings.feed_retention_days)
    options: dict[str, Any] = {"limit": limit, "retention": retention}
    windows: FeedWindows = request.app.state.feed_windows
    deadline = loop.time() + wait
    retry = PENDING_RETRY[0]
    while True:
        seen = hub.version(organization_id)
        page: service.FeedPage | None = None
        if cursor is not None:
            page = await windows.page(session, organization_id, cursor, limit, seen, retention)
        if page is None:  # no cursor, or one before the window: the database
            page = await _shared_read(session, organization_id, cursor, seen, **options)
        remaining = deadline - loop.time()
        if page.events or remaining <= 0 or hub.closing:
            break
        # Waiting holds no thread and no connection, and does not count against
        # the requests in flight (service.middleware.Admission).
        with parked(request.scope):
            if page.pending:
                await asyncio.sleep(min(retry, remaining))
                retry = min(retry * 2, PENDING_RETRY[1])
            else:
                await hub.wait(organization_id, seen, remaining)

    interval = 0 if page.has_more else settings.feed_poll_interval_seconds
    if page.pending and not page.events:
        interval = 1
    headers = {
        "ETag": etag(page.next_cursor),
        "X-Poll-Interval": str(interval),
        "Cache-Control": "private, no-cache",
    }
    if page.events:
        # How far behind the pollers are: the newest event served, by its cursor.
        FEED_LAG.observe(max(time.time() - stream.decode(page.next_cursor).at, 0.0))
    known = {tag.strip() for tag in (if_none_match or "").split(",")}
    if not page.events and etag(page.next_cursor) in known:
        return Response(status_code=304, headers=headers)
    return Response(_page_body(page), headers=headers, media_type="application/json")


def _page_body(page: service.FeedPage) -> bytes:
    """The page's JSON; events cut from a window were serialised once, for everyone."""
    if page.events and isinstance(page.events[0], bytes):
        events = b"[" + b",".join(page.events) + b"]"  # type: ignore[arg-type]
    else:
        events = pydantic_core.to_json(page.events)
    return b"".join(
        (
            b'{"events":',
            events,
            b',"next_cursor":',
            pydantic_core.to_json(page.next_cursor),
            b',"has_more":',
            b"true" if page.has_more else b"false",
            b"}",
        )
    )
