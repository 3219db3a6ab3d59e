"""CORS for the residents' WeChat/H5 front ends on other origins (LINLI_CORS_ORIGINS).

The outermost layer: a browser's preflight (OPTIONS with Origin and
Access-Control-Request-Method) from an allowed origin is answered 204 here,
before admission, the request guards, authentication or routing (which would
answer 405). Other requests pass through, and an allowed origin's answers get
the grant and the exposed headers. A request from any other origin gets no
grant at all, and without configured origins this layer is not installed.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

METHODS = "GET, HEAD, POST, PUT, PATCH, DELETE"
REQUEST_HEADERS = (
    "Authorization, Content-Type, Idempotency-Key, If-Match, If-None-Match, "
    "Accept-Language, X-Request-ID"
)
EXPOSED_HEADERS = "ETag, Location, Idempotent-Replayed, X-Poll-Interval, Retry-After"
MAX_AGE = "600"


def parse_origins(value: str) -> frozenset[str]:
    """`https://a.example, https://b.example:8443` -> the origins, as browsers send
    them (scheme://host[:port], lower case, no path or trailing slash)."""
    origins = set()
    for part in value.split(","):
        origin = part.strip().rstrip("/").lower()
        if not origin:
            continue
        scheme, sep, rest = origin.partition("://")
        if origin == "*" or not sep or scheme not in ("http", "https") or not rest or "/" in rest:
            raise ValueError(
                f"LINLI_CORS_ORIGINS: {part.strip()!r} is not an origin such as "
                "https://h5.example.cn (each one named; no '*', which credentials forbid)"
            )
        origins.add(origin)
    return frozenset(origins)


def _vary_origin(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    for index, (name, value) in enumerate(headers):
        if name.lower() == b"vary":
            headers[index] = (name, value + b", Origin")
            return headers
    return [*headers, (b"vary", b"Origin")]


class Cors:
    def __init__(self, app: ASGIApp, origins: frozenset[str]) -> None:
        self.app = app
        self.origins = origins

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        origin = headers.get(b"origin", b"").decode("latin-1")
        allowed = origin.lower() in self.origins
        if allowed and scope["method"] == "OPTIONS" and b"access-control-request-method" in headers:
            await send(
                {
                    "type": "http.response.start",
                    "status": 204,
                    "headers": [
                        (b"access-control-allow-origin", origin.encode("latin-1")),
                        (b"access-control-allow-credentials", b"true"),
                        (b"access-control-allow-methods", METHODS.encode()),
                        (b"access-control-allow-headers", REQUEST_HEADERS.encode()),
                        (b"access-control-max-age", MAX_AGE.encode()),
                        (b"vary", b"Origin"),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": b""})
            return
        grant = (
            [
                (b"access-control-allow-origin", origin.encode("latin-1")),
                (b"access-control-allow-credentials", b"true"),
                (b"access-control-expose-headers", EXPOSED_HEADERS.encode()),
            ]
            if allowed
            else []
        )

        async def send_with_grant(message: Message) -> None:
            if message["type"] == "http.response.start":
                # Answers differ by Origin wherever CORS is on: caches must know.
                message = {
                    **message,
                    "headers": _vary_origin(list(message.get("headers", []))) + grant,
                }
            await send(message)

        await self.app(scope, receive, send_with_grant)
