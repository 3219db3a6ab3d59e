"""Pure ASGI guards run before routing: body size and content type."""

from __future__ import annotations

from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.errors import (
    BODY_METHODS,
    PayloadTooLarge,
    UnsupportedMediaType,
    problem_response,
)

_BODY_METHODS = {method.encode() for method in BODY_METHODS}


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
            if received > self.max_body_bytes:
                await self._reject(
                    PayloadTooLarge(f"Bodies are limited to {self.max_body_bytes} bytes."),
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
        response = problem_response(error.problem())
        await response(scope, receive, send)
