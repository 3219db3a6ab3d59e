"""The HTTP protocol `serve` runs: uvicorn's httptools protocol, shedding in the
event loop turn that parses a request.

Under overload the Admission middleware answers 503 at once, but only when the
request's task first runs: uvicorn parses a request in one turn of the loop and
starts its task in a later one, and at saturation each turn carries every other
request's callbacks, so a shed answer waited ~150 ms at p99 (bench/soak.py at
150%, bench/README.md). Here the request that the admission would refuse is
answered as its headers complete, before a task exists: the same problem+json
503 with Retry-After, in the caller's language, counted in the same place. A
request that may have a body is answered with `Connection: close` (the body is
not read); one without keeps its connection. A browser's request (with an
`Origin`) is left to the app, whose CORS middleware must see it.
"""

from __future__ import annotations

import asyncio
import urllib.parse

import httptools
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from service.i18n import negotiate
from service.middleware import current_admission

STATUS_503 = b"HTTP/1.1 503 Service Unavailable\r\n"


class _Answered:
    """Stands for a request the protocol answered itself: uvicorn drops the body
    of a request whose response is complete."""

    response_complete = True
    keep_alive = True
    disconnected = False

    def __init__(self) -> None:
        self.message_event = asyncio.Event()


class SheddingProtocol(HttpToolsProtocol):
    def on_headers_complete(self) -> None:
        admission = current_admission()
        if (
            admission is None
            or admission.in_flight < admission.limit
            or self.pipeline
            or (self.cycle is not None and not self.cycle.response_complete)
            or self.parser.should_upgrade()
        ):
            super().on_headers_complete()
            return
        path = httptools.parse_url(self.url).path.decode("ascii", "replace")
        if "%" in path:
            path = urllib.parse.unquote(path)
        if not admission.refuses(self.root_path + path):
            super().on_headers_complete()
            return
        headers = dict(self.headers)
        if b"origin" in headers:
            # A browser's: the CORS middleware must add its headers, or the page
            # cannot read the 503 (nor its Retry-After). The app answers it.
            super().on_headers_complete()
            return
        admission.shed += 1
        lines, body = admission.shed_answer(negotiate(_text(headers.get(b"accept-language"))))
        bodiless = b"content-length" not in headers and b"transfer-encoding" not in headers
        keep = (
            bodiless
            and self.parser.get_http_version() != "1.0"
            and headers.get(b"connection", b"").lower() != b"close"
        )
        out = [STATUS_503]
        for name, value in self.server_state.default_headers:
            out += [name, b": ", value, b"\r\n"]
        out += [lines, b"" if keep else b"connection: close\r\n", b"\r\n", body]
        self.cycle = _Answered()  # type: ignore[assignment]
        self.transport.write(b"".join(out))
        if not keep:
            self.transport.close()
            return
        self.on_response_complete()


def _text(value: bytes | None) -> str | None:
    return value.decode("latin-1") if value is not None else None
