"""The OpenAPI document of the code, and the gaps between it and the code that we
know of, shared by the fuzzer and the documented-status test.

Each gap is in code this work could not change at the time (service/tickets/
router.py was being reworked by someone else) and says where the fix goes.
test_documented_statuses keeps the lists exact: when a gap is closed it fails
until the entry is removed.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import create_engine

from service.config import Settings
from service.main import create_app
from tests.conftest import TEST_SECRET

ACTIONS = (
    "assign",
    "accept",
    "start",
    "hold",
    "resume",
    "resolve",
    "confirm",
    "reopen",
    "cancel",
    "return",
    "reject",
    "urge",
    "check-in",
    "check-out",
)

# (operation, status) the code answers but the document does not list.
KNOWN_UNDOCUMENTED: dict[tuple[str, int], str] = {}

# (operation, status) the document lists but nothing can make the code answer.
KNOWN_UNREACHABLE: dict[tuple[str, int], str] = {
    ("GET /v1/feed", 503): (
        "the feed is never refused for load; it answers 503 only when no database "
        "connection frees up within LINLI_DB_POOL_TIMEOUT_SECONDS, which a test "
        "client inside the test's transaction cannot provoke"
    ),
    ("PUT /v1/calendars/{calendar_id}/days/{day}", 409): (
        "two administrators setting the same date at the same instant: the unique key "
        "on (calendar, date) answers the loser 409; a single client cannot provoke it"
    ),
}

# Listed, and answered only on PostgreSQL: there a duplicate Idempotency-Key in
# flight finds the first request's advisory lock (409); SQLite queues it behind the
# first request's write lock and replays that response instead.
POSTGRES_ONLY = {("POST /v1/tickets", 409)}


def openapi_document() -> dict[str, Any]:
    """The document depends on the code only: no database is touched."""
    settings = Settings(database_url="sqlite://", jwt_secret=TEST_SECRET)
    return create_app(settings, create_engine("sqlite://")).openapi()
