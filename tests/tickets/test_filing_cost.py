"""What one creation costs the database: statements and (PostgreSQL) round trips.
Filing is the hot write path (tickets/filing.py); a change that adds a query to
it should show up here, not first in the lead's benchmark."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager

from tests.announcements.helpers import posted
from tests.conftest import BACKEND

_n = itertools.count()


_BOOKKEEPING = ("SAVEPOINT", "RELEASE", "ROLLBACK", "BEGIN", "COMMIT")


@contextmanager
def _traced(connection) -> Iterator[list[str]]:
    """Every statement sent on the test's connection (which the app's sessions
    share), SQLAlchemy's and the driver-level ones alike, less transaction
    bookkeeping."""
    raw = connection.connection.driver_connection
    seen: list[str] = []
    if BACKEND == "postgres":
        import psycopg

        previous = raw.cursor_factory

        class Counting(psycopg.Cursor):  # type: ignore[type-arg]
            def execute(self, query, params=None, **kwargs):  # type: ignore[override]
                seen.append(str(query))
                return super().execute(query, params, **kwargs)

        raw.cursor_factory = Counting
        try:
            yield seen
        finally:
            raw.cursor_factory = previous
    else:
        raw.set_trace_callback(seen.append)
        try:
            yield seen
        finally:
            raw.set_trace_callback(None)
    # SQLite's trace repeats a statement for each trigger step it runs, and shows
    # as "-- ..." what a trigger or virtual table runs inside one (ticket search's
    # FTS5 index): part of the statement sent, not another.
    kept = [
        s
        for s in seen
        if not s.lstrip().upper().startswith(_BOOKKEEPING) and not s.lstrip().startswith("--")
    ]
    seen[:] = [s for i, s in enumerate(kept) if i == 0 or s != kept[i - 1]]


def _statements(client, connection, actor, body, headers=None) -> tuple[int, list[str]]:
    with _traced(connection) as statements:
        response = client.post(
            "/v1/tickets", json=body, headers={**actor.headers, **(headers or {})}
        )
    return response.status_code, statements


def _body(world, actor, **extra):
    if actor.claims["role"] != "resident":
        extra.setdefault("on_behalf_of", {"name": "阿依古丽", "phone": "13900000001"})
    return {
        "category": "repair.plumbing",
        "community_id": world.community_a,
        "description": f"厨房水管爆裂 {next(_n)}",
        "location": {"building": "3", "unit": "2", "room": "501", "area": "private"},
        **extra,
    }


def _second_filing(client, connection, world, actor, headers=None) -> list[str]:
    # The first filing warms the principal's cached statements and the SLA config.
    keyed = {k: f"{v}-{n}" for k, v in (headers or {}).items() for n in [next(_n)]}
    status, _ = _statements(client, connection, actor, _body(world, actor), keyed)
    assert status == 201
    keyed = {k: f"{v}-{n}" for k, v in (headers or {}).items() for n in [next(_n)]}
    status, statements = _statements(client, connection, actor, _body(world, actor), keyed)
    assert status == 201, statements
    return [s.split("(")[0].split(" AS ")[0].strip()[:40] for s in statements]


def test_a_creation_is_one_select_and_its_writes(client, connection, world):
    """Issue 17 added the rate limiter's UPSERT (3 -> 4 statements; 4 -> 5 with an
    Idempotency-Key). On PostgreSQL the writes still go in one pipeline: two
    round trips, the filing context and the writes with the commit. The
    duplicate lookup is a column of the filing context's SELECT, not a statement.
    (Filing for someone adds the lookup of that person's account, as before.)"""
    for actor in (world.reporter, world.grid_worker):
        kinds = _second_filing(client, connection, world, actor)
        assert kinds[0].startswith("SELECT community.id")
        if actor is world.grid_worker:  # filing for someone: is the person a user?
            assert kinds.pop(1).startswith("SELECT user_account.id")
        assert kinds[1:] == [
            "INSERT INTO ticket",
            "INSERT INTO ticket_event",
            "INSERT INTO rate_limit_window",
        ]
    keyed = _second_filing(client, connection, world, world.reporter, {"Idempotency-Key": "k"})
    assert len(keyed) == 5 and keyed[-1] == "INSERT INTO idempotency_key", keyed


def test_announcements_cost_a_query_only_where_there_are_some(client, connection, world):
    """Issue 19: the filing context's SELECT says whether the community has an
    announcement shown now (the test above: no statement more when not); only
    then does one more SELECT read them for the answer, before the writes."""
    posted(client, world.dispatcher, [world.community_a])
    kinds = _second_filing(client, connection, world, world.reporter)
    assert kinds[0].startswith("SELECT community.id")
    assert kinds[1].startswith("SELECT announcement.id"), kinds
    assert kinds[2:] == [
        "INSERT INTO ticket",
        "INSERT INTO ticket_event",
        "INSERT INTO rate_limit_window",
    ]


def test_filing_and_paging_statements_are_kept_per_role_not_per_person(client, world):
    """Thousands of residents file and read their tickets: the compiled filing and
    page statements are one per role (and admin region), their ids parameters —
    built per person, a province's residents pushed one another out of the cache
    and every creation rebuilt its statement (bench/run.py's pool of residents)."""
    from service.tickets import filing, queries

    filing._filing_query.cache_clear()
    queries._page_query.cache_clear()
    for resident in (world.reporter, world.neighbour, world.far_resident):
        community = world.community_k if resident is world.far_resident else world.community_a
        body = {**_body(world, resident), "community_id": community}
        created = client.post("/v1/tickets", json=body, headers=resident.headers)
        assert created.status_code == 201, created.text
        ticket = created.json()
        listed = client.get("/v1/tickets", headers=resident.headers).json()["items"]
        # Each sees their own, and only theirs: the parameters are filled per request.
        assert [t["id"] for t in listed][:1] == [ticket["id"]]
        assert all(t["reporter"]["id"] == ticket["reporter"]["id"] for t in listed), listed
    assert filing._filing_query.cache_info().currsize == 1
    assert queries._page_query.cache_info().currsize == 1
