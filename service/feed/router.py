"""GET /v1/feed: the provider organisation's change feed, with long-polling."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import Annotated

import pydantic_core
from fastapi import APIRouter, Header, Query, Request, Response
from sqlalchemy.orm import Session

from service.auth import CurrentPrincipal
from service.config import SettingsDep
from service.db import SessionDep, in_thread
from service.errors import ClientGone, Forbidden, responses
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


@dataclass(frozen=True)
class Answer:
    """A page as every long-poll that asked for it is answered: its JSON and
    headers rendered once, for all of them."""

    page: service.FeedPage
    body: bytes
    raw_headers: tuple[tuple[bytes, bytes], ...]
    etag: str
    lag: float | None  # seconds behind the newest event served (FEED_LAG)


class _Rendered(Response):
    """An `Answer` as one request's response: the shared body and headers, no
    per-request rendering. (The headers are copied: middlewares add theirs to
    the list they are sent with.)"""

    def __init__(self, answer: Answer) -> None:
        self.status_code = 200
        self.background = None
        self.body = answer.body
        self.raw_headers = list(answer.raw_headers)


def render(page: service.FeedPage, poll_interval: int) -> Answer:
    interval = 0 if page.has_more else poll_interval
    if page.pending and not page.events:
        interval = 1
    body = _page_body(page)
    tag = etag(page.next_cursor)
    lag = None
    if page.events:
        # How far behind the pollers are: the newest event served, by its cursor.
        lag = max(time.time() - stream.decode(page.next_cursor).at, 0.0)
    headers = (
        (b"etag", tag.encode("latin-1")),
        (b"x-poll-interval", str(interval).encode()),
        (b"cache-control", b"private, no-cache"),
        (b"content-length", str(len(body)).encode()),
        (b"content-type", b"application/json"),
    )
    return Answer(page, body, headers, tag, lag)


# What the feed reads for a request depends on the organisation and nothing
# else of the principal: `require_provider` is the scope (the organisation's
# events, each with its ticket while it is still theirs, actors as the
# organisation may see them: service.feed.service.events_query/event_dict),
# and the rest is the request's cursor and limit, the process's retention and
# poll interval, and what has committed (the hub's version). Requests equal in
# all of these get the same page, byte for byte; so a commit that wakes 2,000
# long-polls of an organisation at one cursor costs one read and one rendering,
# and each long-poll writes the shared bytes. A key that left out any of them
# would hand one organisation's page to another: keep it complete.
AnswerKey = tuple[int, str | None, int, int]


class Answers:
    """Single flight, per process (event loop): the `Answer` being made for a
    key, which requests asking for the same key await instead of reading."""

    def __init__(self) -> None:
        self._running: dict[AnswerKey, asyncio.Future[Answer]] = {}

    async def get(self, key: AnswerKey, make: Callable[[], Awaitable[Answer]]) -> Answer:
        while True:
            running = self._running.get(key)
            if running is None:
                return await self._make(key, make)
            try:
                return await asyncio.shield(running)
            except (asyncio.CancelledError, ClientGone):
                task = asyncio.current_task()
                if task is not None and task.cancelling():
                    raise  # this request was cancelled, not the one reading
                # The request reading for everyone left (its client hung up):
                # this one reads instead, as if it had asked first.

    async def _make(self, key: AnswerKey, make: Callable[[], Awaitable[Answer]]) -> Answer:
        future: asyncio.Future[Answer] = asyncio.get_running_loop().create_future()
        self._running[key] = future
        try:
            answer = await make()
        except asyncio.CancelledError:
            future.cancel()
            raise
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: nobody else may be waiting for it
            raise
        else:
            future.set_result(answer)
            return answer
        finally:
            del self._running[key]


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
    windows: FeedWindows = request.app.state.feed_windows
    answers: Answers = request.app.state.feed_answers
    poll_interval = settings.feed_poll_interval_seconds

    async def make(session: Session, seen: int) -> Answer:
        page: service.FeedPage | None = None
        if cursor is not None:
            page = await windows.page(session, organization_id, cursor, limit, seen, retention)
        if page is None:  # no cursor, or one before the window: the database
            # The connection goes back to the pool in the reading thread: the
            # long-poll holds none while it waits.
            page = await in_thread(
                session,
                service.read_page,
                session,
                organization_id,
                cursor,
                limit=limit,
                retention=retention,
            )
        return render(page, poll_interval)

    def ask(seen: int) -> Awaitable[Answer]:
        return answers.get((organization_id, cursor, limit, seen), partial(make, session, seen))

    sessions = request.app.state.sessionmaker

    async def for_the_group(version: int) -> Answer:
        # After a wake-up, for every long-poll parked on this question: on a
        # session of its own (whichever request parked first may be gone).
        group_session = sessions()
        try:
            key = (organization_id, cursor, limit, version)
            return await answers.get(key, partial(make, group_session, version))
        finally:
            group_session.close()  # its connection went back in the reading thread

    deadline = loop.time() + wait
    retry = PENDING_RETRY[0]
    seen = hub.version(organization_id)
    answer = await ask(seen)
    while True:
        page = answer.page
        remaining = deadline - loop.time()
        if page.events or remaining <= 0 or hub.closing:
            break
        # Waiting holds no thread and no connection, and does not count against
        # the requests in flight (service.middleware.Admission).
        woken = None
        with parked(request.scope):
            if page.pending:
                await asyncio.sleep(min(retry, remaining))
                retry = min(retry * 2, PENDING_RETRY[1])
            else:
                group = (cursor, limit)
                woken = await hub.wait_read(
                    organization_id,
                    group,
                    seen,
                    remaining,
                    for_the_group,
                    pending=_held_back,
                    retry=PENDING_RETRY,
                )
        if woken is not None:
            seen, answer = woken  # read once for the group, as the wake-up came
        else:
            seen = hub.version(organization_id)
            answer = await ask(seen)

    if answer.lag is not None:
        FEED_LAG.observe(answer.lag)
    if not page.events and if_none_match is not None:
        known = {tag.strip() for tag in if_none_match.split(",")}
        if answer.etag in known:
            headers = {
                name.decode(): value.decode()
                for name, value in answer.raw_headers
                if name in (b"etag", b"x-poll-interval", b"cache-control")
            }
            return Response(status_code=304, headers=headers)
    return _Rendered(answer)


def _held_back(answer: Answer) -> bool:
    return answer.page.pending and not answer.page.events


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
