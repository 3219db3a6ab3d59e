"""Pure ASGI guards run before routing: admission (load shedding), body size
and content type, query strings."""

from __future__ import annotations

import asyncio
import collections
import re
import urllib.parse
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.db import CLIENT_GONE
from service.errors import (
    ALWAYS_ANSWERED,
    BODY_METHODS,
    Invalid,
    PayloadTooLarge,
    Problem,
    ServiceUnavailable,
    UnsupportedMediaType,
    error_response,
    problem_response,
)
from service.i18n import language_of_scope, text

_BODY_METHODS = {method.encode() for method in BODY_METHODS}


class RequestGuard:
    """413 for bodies over the limit (declared or streamed), 415 for non-JSON
    bodies, except an HTML form's (urlencoded) on the paths in `form_paths` (or
    under a prefix in `form_prefixes`) and a
    multipart upload on the paths in `upload_paths`, which have a limit of their
    own (a photo is megabytes; JSON stays small)."""

    def __init__(
        self,
        app: ASGIApp,
        max_body_bytes: int,
        form_paths: frozenset[str] = frozenset(),
        upload_paths: dict[str, int] | None = None,
        not_multipart: dict[str, str] | None = None,
        form_prefixes: tuple[str, ...] = (),
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.form_paths = form_paths
        self.form_prefixes = form_prefixes
        self.upload_paths = upload_paths or {}
        # The 415's catalogue code by upload path (what the upload is: a photo, a
        # spreadsheet); a photo's by default.
        self.not_multipart = not_multipart or {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"].encode() not in _BODY_METHODS:
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        content_type = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
        upload_limit = self.upload_paths.get(scope["path"])
        limit = self.max_body_bytes if upload_limit is None else upload_limit
        length = headers.get(b"content-length")
        if length is not None:
            try:
                declared = int(length)
            except ValueError:
                declared = limit + 1
            if declared > limit:
                await self._reject(
                    PayloadTooLarge("body.too_large", limit=limit),
                    scope,
                    receive,
                    send,
                )
                return
        has_body = (length not in (None, b"0")) or b"transfer-encoding" in headers
        if upload_limit is not None:
            if has_body and content_type != b"multipart/form-data":
                await self._reject(
                    UnsupportedMediaType(
                        self.not_multipart.get(scope["path"], "attachment.not_multipart")
                    ),
                    scope,
                    receive,
                    send,
                )
                return
        elif has_body and not (
            content_type == b"application/json"
            or content_type.endswith(b"+json")
            or (
                content_type == b"application/x-www-form-urlencoded"
                and (
                    scope["path"] in self.form_paths or scope["path"].startswith(self.form_prefixes)
                )
            )
        ):
            await self._reject(
                UnsupportedMediaType("body.not_json"),
                scope,
                receive,
                send,
            )
            return

        # Read the body here, at most limit + 1 bytes, and hand the app a replay of it:
        # a streamed body over the limit is refused before anything parses it.
        chunks: list[bytes] = []
        received = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            received += len(chunk)
            if received > limit:
                await self._reject(
                    PayloadTooLarge("body.too_large", limit=limit),
                    scope,
                    receive,
                    send,
                )
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if delivered:
                return await receive()
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)

    @staticmethod
    async def _reject(error: Any, scope: Scope, receive: Receive, send: Send) -> None:
        await error_response(error, language_of_scope(scope))(scope, receive, send)


# At most this many values of one query parameter, repeated or comma-separated:
# a filter of 2,000 statuses made SQLite answer 500 ("Expression tree is too
# large"), and no front end needs more.
MAX_QUERY_VALUES = 100
MAX_QUERY_BYTES = 8192
_NUL = re.compile(rb"%00|\x00")


# (problem, language, path) -> the answer, for paths whose errors have a form of
# their own (Open311's list of {code, description}).
ProblemRenderer = Callable[[Problem, str, str], ASGIApp]


class QueryGuard:
    """422 for query strings no route can mean: a NUL (PostgreSQL text cannot hold
    one: it answered 500), a parameter with more than MAX_QUERY_VALUES values, or
    more than MAX_QUERY_BYTES in all. Nothing is read from the database first.
    Under a prefix of `renderers` the problem is rendered by its renderer."""

    def __init__(self, app: ASGIApp, renderers: dict[str, ProblemRenderer] | None = None) -> None:
        self.app = app
        self.renderers = renderers or {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["query_string"]:
            errors = self.check(scope["query_string"])
            if errors:
                language = language_of_scope(scope)
                problem = Problem(
                    type="https://linli.example/problems/validation",
                    code="query.invalid",
                    title=text("title.validation", language),
                    status=422,
                    detail=text("query.invalid", language),
                    errors=[error.render(language) for error in errors],
                )
                answer: ASGIApp = problem_response(problem, language)
                for prefix, render in self.renderers.items():
                    if scope["path"].startswith(prefix):
                        answer = render(problem, language, scope["path"])
                await answer(scope, receive, send)
                return
        await self.app(scope, receive, send)

    @staticmethod
    def check(query: bytes) -> list[Invalid]:
        if len(query) > MAX_QUERY_BYTES:
            return [Invalid("query", "query.too_long", limit=MAX_QUERY_BYTES)]
        errors = []
        counts: collections.Counter[str] = collections.Counter()
        for name, value in urllib.parse.parse_qsl(query.decode("latin-1"), keep_blank_values=True):
            if "\x00" in name or "\x00" in value:
                errors.append(Invalid(name.replace("\x00", ""), "validation.nul"))
            counts[name] += value.count(",") + 1
        if not errors and _NUL.search(query):
            errors.append(Invalid("query", "validation.nul"))
        errors += [
            Invalid(name, "query.too_many_values", limit=MAX_QUERY_VALUES)
            for name, n in counts.items()
            if n > MAX_QUERY_VALUES
        ]
        return errors


# Every answer: no MIME sniffing, no framing. The dashboard's pages (no script,
# inline styles, inline SVG, a form posting to itself) also get a policy that
# allows nothing else and no referrer.
_ALWAYS = [(b"x-content-type-options", b"nosniff"), (b"x-frame-options", b"DENY")]
_DASHBOARD = [
    (
        b"content-security-policy",
        b"default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
        b"form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    ),
    (b"referrer-policy", b"no-referrer"),
]


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = _ALWAYS + (_DASHBOARD if scope["path"].startswith("/dashboard") else [])

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers += [(name, value) for name, value in extra if name not in present]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


ADMISSION = "linli_admission"
# Counted but never refused: the feed's long-polls. Each poller keeps one
# request outstanding, so their number is bounded by the pollers, and most of
# their time is spent parked; refused, dispatchers saw no events for as long
# as residents' load lasted (bench/soak.py at 150%).
_NEVER_REFUSED = frozenset({"/v1/feed"})


class Admission:
    """Load shedding: at most `limit` requests worked on at once in this process.

    Beyond it a request is answered 503 with Retry-After at once, before any of
    its work is done, instead of queueing for threads and connections behind
    the others (a queue that only grows past capacity, until every answer comes
    after its client gave up). A long-poll that waits (the feed) steps out of
    the count while it waits (`parked`) and back in, over the limit if need be,
    to read its page: it holds nothing while it waits.

    Each admitted request also learns when its client disconnects (the
    CLIENT_GONE scope key, read when its transaction begins: service.db), so
    work nobody waits for any more is skipped.
    """

    def __init__(self, app: ASGIApp, limit: int, retry_after: int) -> None:
        self.app = app
        self.limit = limit
        self.retry_after = retry_after
        self.in_flight = 0
        self.shed = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in ALWAYS_ANSWERED:
            await self.app(scope, receive, send)
            return
        if self.limit > 0 and self.in_flight >= self.limit and scope["path"] not in _NEVER_REFUSED:
            self.shed += 1
            error = ServiceUnavailable("overload.in_flight", retry_after=self.retry_after)
            await error_response(error, language_of_scope(scope))(scope, receive, send)
            return
        watch = _DisconnectWatch(receive)
        scope[ADMISSION] = self
        scope[CLIENT_GONE] = watch.is_gone
        self.in_flight += 1
        counted = True

        async def send_and_count(message: Message) -> None:
            nonlocal counted
            await send(message)
            # Out of the count once the response is complete, not when the app
            # returns: the client's next request on the connection can arrive
            # before this coroutine resumes, and under load it often did.
            if (
                counted
                and message["type"] == "http.response.body"
                and not message.get("more_body", False)
            ):
                counted = False
                self.in_flight -= 1

        try:
            await self.app(scope, watch.receive, send_and_count)
        finally:
            if counted:
                self.in_flight -= 1
            watch.stop()

    @contextmanager
    def parked(self) -> Iterator[None]:
        """Out of the count for the block (a long-poll's wait)."""
        self.in_flight -= 1
        try:
            yield
        finally:
            self.in_flight += 1


@contextmanager
def parked(scope: Scope) -> Iterator[None]:
    """`Admission.parked` of the request's admission, if any (tests may build
    apps without it)."""
    admission: Admission | None = scope.get(ADMISSION)
    if admission is None:
        yield
        return
    with admission.parked():
        yield


class _DisconnectWatch:
    """Reads the client's messages ahead of the app, one at a time (a queue of
    one keeps uvicorn's flow control), so that a disconnect is seen while the
    request still waits for a thread or a connection."""

    def __init__(self, receive: Receive) -> None:
        self._receive = receive
        self._queue: asyncio.Queue[Message] = asyncio.Queue(maxsize=1)
        self._gone = False
        self._task = asyncio.get_running_loop().create_task(self._pump())

    def is_gone(self) -> bool:
        return self._gone

    async def _pump(self) -> None:
        while True:
            message = await self._receive()
            if message["type"] == "http.disconnect":
                # Also after the response is complete: harmless, the work is done.
                self._gone = True
                await self._queue.put(message)
                return
            await self._queue.put(message)

    async def receive(self) -> Message:
        if self._gone and self._queue.empty():
            return {"type": "http.disconnect"}
        return await self._queue.get()

    def stop(self) -> None:
        self._task.cancel()
