"""Pure ASGI guards run before routing: body size and content type."""

from __future__ import annotations

from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.errors import PayloadTooLarge, UnsupportedMediaType, problem_response

_BODY_METHODS = {b"POST", b"PUT", b"PATCH"}


class _TooLarge(Exception):
    pass


class RequestGuard:
    """413 for bodies over the limit (declared or streamed), 415 for non-JSON bodies."""

    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"].encode() not in _BODY_METHODS:
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        length = headers.get(b"content-length")
        if length is not None:
            try:
                declared = int(length)
            except ValueError:
                declared = self.max_body_bytes + 1
            if declared > self.max_body_bytes:
                await self._reject(
                    PayloadTooLarge(f"Bodies are limited to {self.max_body_bytes} bytes."),
                    scope,
                    receive,
                    send,
                )
                return
        has_body = (length not in (None, b"0")) or b"transfer-encoding" in headers
        content_type = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
        if has_body and not (
            content_type == b"application/json" or content_type.endswith(b"+json")
        ):
            await self._reject(
                UnsupportedMediaType("Send JSON with Content-Type: application/json."),
                scope,
                receive,
                send,
            )
            return

        received = 0
        limit = self.max_body_bytes

        async def guarded_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _TooLarge
            return message

        response_started = False

        async def tracking_send(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, guarded_receive, tracking_send)
        except _TooLarge:
            if response_started:
                raise
            await self._reject(
                PayloadTooLarge(f"Bodies are limited to {limit} bytes."), scope, receive, send
            )

    @staticmethod
    async def _reject(error: Any, scope: Scope, receive: Receive, send: Send) -> None:
        response = problem_response(error.problem())
        await response(scope, receive, send)
