"""The request id: taken from `X-Request-ID` when it is safe to echo and log, made
up otherwise, and kept in a context variable so that every log line written while
the request (or a job's turn) runs names it. AnyIO copies the context into the
worker thread that runs a sync route, and asyncio into the tasks it starts."""

from __future__ import annotations

import contextvars
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager

HEADER = "X-Request-ID"
# What a proxy or client may send: enough for a UUID, a W3C trace id or nginx's
# $request_id, and nothing that could split a log line or a header.
MAX_LENGTH = 128
_SAFE = re.compile(rb"[A-Za-z0-9._:\-]{1,128}")

# The scope key service.auth sets to the caller's role ("api_key" for an
# organisation's key) once it knows it, for the request's log line.
PRINCIPAL_KIND = "linli_principal_kind"

request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "linli_request_id", default=None
)


def new_id() -> str:
    return os.urandom(16).hex()


def accepted(header: bytes | None) -> str | None:
    """The client's id if it is one we may echo and log as it is, else None."""
    if header is None or not _SAFE.fullmatch(header):
        return None
    return header.decode("ascii")


@contextmanager
def bound(value: str) -> Iterator[str]:
    """Log lines written inside the block name `value` (a job's turn)."""
    token = request_id.set(value)
    try:
        yield value
    finally:
        request_id.reset(token)
