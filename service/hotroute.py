"""The hottest routes served without FastAPI's per-request dependency solving.

Filing a ticket and a provider's page of tickets are most of Linli's traffic.
For each request FastAPI walks the route's dependency tree (the principal, the
session's generator and its exit stack, the settings, each header, the body):
~12% of a creation's CPU and ~15% of a page's (py-spy --gil, bench/README.md).
A `HotRoute`, first in the app's routes and out of the OpenAPI document, answers
those requests with a handler that calls the same dependencies and the same
endpoint directly. The declared routes stay as they are: they are documented,
and a handler declines (returns None) whatever it does not take on exactly as
FastAPI would (a body that does not validate, an unusual header), and the
request goes on to them, its body replayed, so every error is FastAPI's own.
Inside the route, errors are rendered by the app's exception handlers, as for
any route; everything outside it (the middleware) is the same for both."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette._exception_handler import wrap_app_handling_exceptions
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match, NoMatchFound
from starlette.types import Message, Receive, Scope, Send

# A handler's answer, or None: let the declared route answer.
Handler = Callable[[Request], Awaitable[Response | None]]

# Set on a request a handler declined, so that routing it again skips the hot route.
_DECLINED = "linli.hot_declined"


class HotRoute(BaseRoute):
    """Serves `path` for the methods of `handlers` (exactly those: a HEAD is not a
    GET here, as for FastAPI's routes). Its `path` is the template the request's
    metrics and log line name, the declared route's own."""

    def __init__(self, path: str, handlers: dict[str, Handler]) -> None:
        self.path = path
        self.handlers = handlers

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if (
            scope["type"] == "http"
            and scope["path"] == self.path
            and scope["method"] in self.handlers
            and _DECLINED not in scope
        ):
            return Match.FULL, {"route": self, "path_params": {}}
        return Match.NONE, {}

    def url_path_for(self, name: str, /, **path_params: Any) -> Any:
        raise NoMatchFound(name, path_params)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive, send)
        handler = self.handlers[scope["method"]]

        async def app(scope: Scope, receive: Receive, send: Send) -> None:
            response = await handler(request)
            if response is not None:
                await response(scope, receive, send)
                return
            # Routed again, past this route; what the handler read of the body
            # goes again to the declared route. The same scope: what the declared
            # route records in it (the caller's role) reaches the request's log line.
            body = await request.body()
            scope[_DECLINED] = True
            await scope["app"].router(scope, _replaying(body, receive), send)

        await wrap_app_handling_exceptions(app, request)(scope, receive, send)


def _replaying(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
