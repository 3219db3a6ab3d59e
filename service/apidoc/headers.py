"""The response headers a client reads, written into the OpenAPI document.

FastAPI documents bodies, not the headers a route sets on its Response; without
this a generated client (and the person reading /docs) would not know that a
ticket comes with the ETag to send back in If-Match, or how long the feed asks
to be left alone. tests/test_apidoc.py sends the requests and compares: every
header below that a response carries is documented for its operation and
status, and every required one is there.
"""

from __future__ import annotations

from typing import Any

_STRING = {"type": "string"}
_SECONDS = {"type": "integer", "minimum": 0}

HEADERS: dict[str, dict[str, Any]] = {
    "ETag": {
        "description": "The ticket's version (for the feed: the next cursor). Send it back "
        "as `If-Match` on a write to get 412 instead of overwriting a change you have not "
        "seen, or as `If-None-Match` on a read to get 304 when nothing changed.",
        "schema": {**_STRING, "example": '"42.3"'},
    },
    "Cache-Control": {
        "description": "`private, no-cache`: a cache may keep the answer only for this "
        "caller, and must revalidate it (If-None-Match) before each use.",
        "schema": _STRING,
    },
    "Location": {
        "description": "The new ticket's URL, `/v1/tickets/{id}` (an announcement's: "
        "`/v1/announcements/{id}`).",
        "schema": {**_STRING, "example": "/v1/tickets/1024"},
    },
    "Idempotent-Replayed": {
        "description": "`true` when this is the stored answer to an earlier request with "
        "the same `Idempotency-Key`: nothing was created this time.",
        "schema": {**_STRING, "enum": ["true"]},
    },
    "X-Poll-Interval": {
        "description": "Seconds to wait before the next poll without `wait`; 0 when more "
        "events are waiting (`has_more`): ask again at once.",
        "schema": _SECONDS,
    },
    "Retry-After": {
        "description": "Seconds to wait before retrying; nothing was done.",
        "schema": _SECONDS,
    },
    "Content-Language": {
        "description": "The language of the names or of a problem's `title`, `detail` and "
        "messages (`zh-Hans`, `ug` or `en`), chosen from `Accept-Language`.",
        "schema": _STRING,
    },
    "Vary": {
        "description": "`Accept-Language`: the answer depends on it.",
        "schema": _STRING,
    },
    "Content-Disposition": {
        "description": "With `format=csv` or `format=xlsx`: `attachment; "
        'filename="linli-….csv"`, the file name to save under.',
        "schema": _STRING,
    },
    "WWW-Authenticate": {
        "description": "`Bearer`: send `Authorization: Bearer <JWT or lk_ API key>`.",
        "schema": _STRING,
    },
}

# Every ticket representation (TicketRead) is sent with these (service/tickets/router.py).
TICKET_HEADERS = ("ETag", "Cache-Control")
# (operationId, status) -> headers beyond TICKET_HEADERS, each `name` (always sent)
# or `name?` (sent in some cases, as the description says).
BY_OPERATION: dict[tuple[str, str], tuple[str, ...]] = {
    # TicketCreated: the ticket, with its community's announcements.
    ("createTicket", "201"): ("ETag", "Cache-Control", "Location", "Idempotent-Replayed?"),
    ("createAnnouncement", "201"): ("Location",),
    ("getTicket", "304"): ("ETag",),
    ("getFeed", "200"): ("ETag", "X-Poll-Interval", "Cache-Control"),
    ("getFeed", "304"): ("ETag", "X-Poll-Interval", "Cache-Control"),
    ("listCategories", "200"): ("Content-Language", "Vary"),
    ("getVocabulary", "200"): ("Content-Language", "Vary"),
    ("listNotifications", "200"): ("Content-Language", "Vary"),
    ("markNotificationRead", "200"): ("Content-Language", "Vary"),
    ("getMetricsSummary", "200"): ("Content-Disposition?",),
    ("getMetricsRankings", "200"): ("Content-Disposition?",),
    ("getMetricsTrend", "200"): ("Content-Disposition?",),
    # Not ready answers without it; the instance shedding load (service.middleware) with it.
    ("getReadiness", "503"): ("Retry-After?",),
}
# Every problem+json is in the caller's language (service.errors.problem_response).
PROBLEM_HEADERS = ("Content-Language", "Vary")
# Whatever the operation: the error handler's challenge, and the load shedder's wait.
BY_STATUS: dict[str, tuple[str, ...]] = {
    "401": ("WWW-Authenticate",),
    "503": ("Retry-After",),
}


def _header(name: str) -> tuple[str, dict[str, Any]]:
    optional = name.endswith("?")
    name = name.rstrip("?")
    return name, {**HEADERS[name], "required": not optional}


def document_headers(document: dict[str, Any], ticket_schema: str) -> None:
    """Add each operation's response headers to `document` (in place)."""
    ticket_ref = f"#/components/schemas/{ticket_schema}"
    for path_item in document.get("paths", {}).values():
        for operation in path_item.values():
            for status, answer in operation.get("responses", {}).items():
                names: list[str] = []
                schema = answer.get("content", {}).get("application/json", {}).get("schema", {})
                if status.startswith("2") and schema.get("$ref") == ticket_ref:
                    names += TICKET_HEADERS
                names += BY_OPERATION.get((operation.get("operationId", ""), status), ())
                names += BY_STATUS.get(status, ())
                if status[:1] in ("4", "5") and status != "499":
                    names += PROBLEM_HEADERS
                if not names:
                    continue
                headers = answer.setdefault("headers", {})
                for name in names:
                    key, header = _header(name)
                    # What a route documented itself (e.g. 503's Retry-After) stays.
                    headers.setdefault(key, header)
