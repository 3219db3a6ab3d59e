"""The reason for the horizon: a transaction that commits late must not be skipped.

A poller that remembers the last id it saw misses every row whose transaction
took its id before, but committed after, the rows the poller already read.
Here a writer holds such a transaction open (it wrote an event first, so its
event has the smaller id), another event commits meanwhile, and the feed must
wait for the late one and then deliver both, once each, in (xid, id) order.
"""

from __future__ import annotations

import pytest
from sqlalchemy import insert, select

from service.tickets.models import TicketEvent
from tests.conftest import BACKEND
from tests.feed.helpers import act, drain, feed, file, head
from tests.feed.live import Live

pytestmark = pytest.mark.skipif(
    BACKEND != "postgres",
    reason="SQLite has one writer: ids are handed out in commit order, there is no late commit",
)


def test_a_late_commit_is_delivered_before_what_committed_after_it(live_feed: Live) -> None:
    http, w = live_feed.http, live_feed.world
    ticket = file(http, w.reporter, w.community_a)
    cursor = drain(http, w.dispatcher, head(http, w.dispatcher))[1]

    with live_feed.engine.connect() as late:
        late_transaction = late.begin()
        late_id = late.execute(
            insert(TicketEvent)
            .values(
                ticket_id=ticket["id"],
                type="ticket.commented",
                organization_id=w.company,
                internal=True,
                data={"body": "迟到的事务"},
            )
            .returning(TicketEvent.id)
        ).scalar_one()

        act(http, w.technician, ticket["id"], "accept")  # commits at once, with a larger id
        with live_feed.engine.connect() as reader:
            accepted_id = reader.scalar(
                select(TicketEvent.id).where(
                    TicketEvent.ticket_id == ticket["id"], TicketEvent.type == "ticket.accepted"
                )
            )
        assert late_id < accepted_id  # an id cursor would now be past late_id

        held = feed(http, w.dispatcher, cursor)
        assert held.status_code == 200
        assert held.json()["events"] == []  # committed, but behind the open transaction
        assert held.headers["x-poll-interval"] == "1"
        late_transaction.commit()

    events, _ = drain(http, w.dispatcher, cursor)
    assert [e["id"] for e in events] == [late_id, accepted_id]
    assert drain(http, w.dispatcher, cursor)[0] == events  # the same again from the same cursor


def test_a_long_poll_held_by_an_open_transaction_answers_when_it_ends(live_feed: Live) -> None:
    import threading
    import time

    http, w = live_feed.http, live_feed.world
    ticket = file(http, w.reporter, w.community_a)
    cursor = drain(http, w.dispatcher, head(http, w.dispatcher))[1]
    answers: list[tuple[float, list[int]]] = []

    with live_feed.engine.connect() as other:
        transaction = other.begin()
        # Any write holds the horizon, even one that is not an event of this organisation.
        other.exec_driver_sql("SELECT pg_current_xact_id()")
        act(http, w.technician, ticket["id"], "accept")

        def poll() -> None:
            started = time.monotonic()
            body = feed(http, w.dispatcher, cursor, wait=20).json()
            answers.append((time.monotonic() - started, [e["type"] for e in body["events"]]))

        poller = threading.Thread(target=poll)
        poller.start()
        time.sleep(1.0)
        assert not answers  # still waiting: the accept is committed but not servable yet
        transaction.commit()
    poller.join(timeout=30)
    assert answers and answers[0][1] == ["ticket.accepted"]
    assert answers[0][0] < 10
