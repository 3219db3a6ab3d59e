"""The feed page, the ticket timeline and the metrics rollup stay index scans on
the month partitions, and read only the months that can hold their rows.

Four months of events (some 86,000, a few thousand a week), read as of April
2029; each statement is the service's own, captured as it is sent and
explained with its parameters. No planner setting is changed: with this many
rows a sequential scan of a month would be chosen if the indexes did not serve.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.orm import Session

from service.auth import Principal
from service.enums import OrgRole, Role
from service.feed.service import read_page
from service.metrics import rollup
from service.tickets import stream
from service.tickets.models import Ticket
from service.tickets.queries import list_events
from tests.conftest import BACKEND, file_ticket
from tests.partitions.conftest import Own

pytestmark = pytest.mark.skipif(BACKEND != "postgres", reason="partitions are PostgreSQL's")

JANUARY = dt.datetime(2029, 1, 1, tzinfo=dt.UTC)
NOW = dt.datetime(2029, 4, 20, tzinfo=dt.UTC)
MINUTES = int((dt.datetime(2029, 4, 30, tzinfo=dt.UTC) - JANUARY).total_seconds() // 60)
FILLED = {f"ticket_event_p2029_{m:02d}" for m in (1, 2, 3, 4)}


@pytest.fixture
def filled(own: Own) -> Iterator[tuple[Own, int]]:
    """`own` with events every two minutes from January to April 2029 over ten
    tickets; the first ticket was filed on 1 March 2029."""
    own.months(JANUARY.date(), dt.date(2029, 6, 1))
    tickets = [own.ticket_id] + [
        file_ticket(own.client, own.world.reporter, own.world.community_a)["id"] for _ in range(9)
    ]
    with own.engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO ticket_event (ticket_id, type, organization_id, internal, data,"
                " created_at) SELECT (CAST(:tickets AS bigint[]))[1 + g % 10],"
                " 'ticket.commented', :org, false, '{}', :start + g * interval '1 minute'"
                " FROM generate_series(0, :minutes, 2) AS g"
            ),
            {"tickets": tickets, "org": own.world.company, "start": JANUARY, "minutes": MINUTES},
        )
        connection.execute(
            text("UPDATE ticket SET created_at = :at WHERE id = :id"),
            {"at": dt.datetime(2029, 3, 1, tzinfo=dt.UTC), "id": own.ticket_id},
        )
    with own.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE ticket_event"))
    yield own, own.ticket_id


def _explained(own: Own, run: Callable[[Session], Any], marker: str) -> dict[str, str]:
    """Run `run` in a session, take the statement it sent that contains `marker`,
    and return the ticket_event partitions its plan reads, with how."""
    sent: list[tuple[str, Any]] = []

    def capture(_conn, _cursor, statement, parameters, _context, _many):  # type: ignore[no-untyped-def]
        sent.append((statement, parameters))

    event.listen(own.engine, "before_cursor_execute", capture)
    try:
        with Session(own.engine) as session:
            run(session)
    finally:
        event.remove(own.engine, "before_cursor_execute", capture)
    statement, parameters = next((s, p) for s, p in sent if marker in s)
    with own.engine.begin() as connection:
        raw = connection.connection.driver_connection
        with raw.cursor() as cursor:
            for setting, _ in (s for s in sent if s[0].startswith("SET LOCAL")):
                cursor.execute(setting)  # as the service planned it
            cursor.execute("EXPLAIN (FORMAT JSON) " + statement, parameters)
            plan = cursor.fetchone()[0]
    plan = plan if isinstance(plan, list) else json.loads(plan)
    scans: dict[str, str] = {}

    def walk(node: dict[str, Any]) -> None:
        relation = node.get("Relation Name", "")
        if relation.startswith("ticket_event"):
            scans[relation] = node["Node Type"]
        if node["Node Type"] == "Sort":
            scans["(sort)"] = "Sort"
        for child in node.get("Plans", []):
            walk(child)

    walk(plan[0]["Plan"])
    return scans


def _index_scans_of(scans: dict[str, str], months: set[int]) -> None:
    assert {name for name in scans if name in FILLED} == {
        f"ticket_event_p2029_{m:02d}" for m in months
    }, scans
    # The months ahead are empty (a planner may as well read an empty table through).
    for name, how in scans.items():
        if name in FILLED:
            assert how in ("Index Scan", "Index Only Scan", "Bitmap Heap Scan"), (name, how)


def test_the_feed_page_after_a_cursor_reads_its_months_by_index(filled: tuple[Own, int]) -> None:
    own, _ = filled
    with own.engine.connect() as connection:
        xid, event_id = connection.execute(
            text(
                "SELECT xid, id FROM ticket_event WHERE created_at >= :at ORDER BY created_at"
                " LIMIT 1"
            ),
            {"at": dt.datetime(2029, 3, 15, tzinfo=dt.UTC)},
        ).one()
    at = int(dt.datetime(2029, 3, 15, tzinfo=dt.UTC).timestamp())
    cursor = stream.encode(stream.FeedPosition(xid, event_id, at))
    scans = _explained(
        own,
        lambda s: read_page(
            s,
            own.world.company,
            cursor,
            limit=50,
            retention=dt.timedelta(days=3650),
            now=NOW,
        ),
        "FROM ticket_event",
    )
    _index_scans_of(scans, {3, 4})
    # In the feed's order from the indexes (Merge Append), not all of it sorted.
    assert "(sort)" not in scans


def test_the_first_feed_page_reads_only_the_retained_months(filled: tuple[Own, int]) -> None:
    own, _ = filled
    scans = _explained(
        own,
        lambda s: read_page(
            s, own.world.company, None, limit=50, retention=dt.timedelta(days=30), now=NOW
        ),
        "FROM ticket_event",
    )
    _index_scans_of(scans, {3, 4})  # from 21 March


def test_a_timeline_reads_from_its_tickets_month(filled: tuple[Own, int]) -> None:
    own, ticket_id = filled
    dispatcher = Principal(
        user_id=own.world.dispatcher.user_id,
        role=Role.provider_staff,
        organization_id=own.world.company,
        org_role=OrgRole.dispatcher,
    )

    def timeline(session: Session) -> None:
        ticket = session.get(Ticket, ticket_id)
        assert ticket is not None
        list_events(session, dispatcher, ticket, after=0, limit=100)

    scans = _explained(own, timeline, "FROM ticket_event")
    # From the last day of February (a day's margin before the ticket).
    _index_scans_of(scans, {2, 3, 4})


def test_the_rollup_reads_events_since_its_last_run(filled: tuple[Own, int]) -> None:
    own, _ = filled
    with Session(own.engine) as session, session.begin():
        rollup.rebuild(session, NOW, "Asia/Shanghai")
    with own.engine.begin() as connection:
        connection.execute(
            text(
                "UPDATE metrics_rollup_state SET refreshed_at = :at, event_id ="
                " (SELECT max(id) FROM ticket_event WHERE created_at < :at)"
            ),
            {"at": dt.datetime(2029, 4, 10, tzinfo=dt.UTC)},
        )
    scans = _explained(
        own,
        lambda s: rollup.refresh(s, NOW, "Asia/Shanghai"),
        "ticket_event.id >",
    )
    _index_scans_of(scans, {4})
