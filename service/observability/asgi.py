"""Timing, labelling and logging each request: pure ASGI, outermost, so that it
sees every answer (the 503s of load shedding and the guards' 413s and 415s too)
and adds only a clock read, a histogram observation and a log record to each.

The route label is the matched route's template (`/v1/tickets/{ticket_id}`),
never the raw path: ids would make a series per ticket, and a path can carry
what a person typed. Requests no route matched (404s, and those answered before
routing) are `unmatched`. The log line names the caller's role, which
service.auth leaves in the scope; never a token, a name or a phone.
"""

from __future__ import annotations

import logging
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.telemetry.context import (
    HEADER,
    PRINCIPAL_KIND,
    accepted,
    new_id,
    request_id,
)
from service.telemetry.instruments import REQUEST_DURATION
from service.telemetry.logs import ACCESS_LOGGER

UNMATCHED = "unmatched"
_HEADER = HEADER.lower().encode()

log = logging.getLogger(ACCESS_LOGGER)


class RequestObservation:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        given = None
        for name, value in scope["headers"]:
            if name == _HEADER:
                given = value
                break
        rid = accepted(given) or new_id()
        token = request_id.set(rid)
        status = 500  # the app raised before it answered
        header = (_HEADER, rid.encode())

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message = {**message, "headers": [*message.get("headers", []), header]}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            route = scope.get("route")
            template = getattr(route, "path", None) or UNMATCHED
            method = scope["method"]
            REQUEST_DURATION.labels(method, template, str(status)).observe(elapsed)
            if log.isEnabledFor(logging.INFO):
                duration_ms = round(elapsed * 1000, 1)
                principal = scope.get(PRINCIPAL_KIND, "anonymous")
                log.info(
                    "%s %s %d %.1f ms %s",
                    method,
                    template,
                    status,
                    duration_ms,
                    principal,
                    extra={
                        "method": method,
                        "route": template,
                        "status": status,
                        "duration_ms": duration_ms,
                        "principal": principal,
                        "request_id": rid,
                    },
                )
            request_id.reset(token)
