"""Long-polls woken together: one read and one rendering per group, never across
organisations (service.feed.router.Answers)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import pytest
from sqlalchemy import event
from sqlalchemy.orm import Session

from service.errors import ClientGone
from service.feed import router as feed_router
from service.feed.notify import FeedHub
from service.feed.router import Answer, Answers
from service.feed.service import FeedPage
from service.tickets.models import TicketEvent
from service.tickets.stream import FEED_ORGANIZATIONS
from tests.feed.helpers import act, drain, file, head
from tests.feed.live import Live


def _settle(live: Live, cursor: str, ticket_id: int) -> str:
    """The organisation's cursor after the ticket's creation, once it is served.
    On PostgreSQL an open transaction elsewhere in the cluster can hold the
    horizon below it for a while; a long-poll from before it would then be
    answered with it instead of waiting for the commit under test."""
    http, w = live.http, live.world
    deadline = time.monotonic() + 120
    while True:
        events, cursor = drain(http, w.dispatcher, cursor)
        if any(e["ticket_id"] == ticket_id for e in events) or time.monotonic() > deadline:
            return cursor


def _same_version(live: Live, *organization_ids: int) -> None:
    """Bring the organisations' wake-up counts (the hub's versions, part of the
    grouping key) to one value, so that their waiters' keys differ by nothing
    but the organisation. Spurious wake-ups are harmless: they only mean "read
    again"."""
    hub = live.app.state.feed_hub
    target = max(hub.version(o) for o in organization_ids)
    for organization_id in organization_ids:
        missing = target - hub.version(organization_id)
        hub.notify_threadsafe([organization_id] * missing)
    deadline = time.monotonic() + 10
    while any(hub.version(o) != target for o in organization_ids):
        assert time.monotonic() < deadline, "the hub's loop did not run"
        time.sleep(0.01)


async def _wait_all(
    live: Live, polls: list[tuple[dict[str, str], str]], then: Any
) -> list[httpx.Response]:
    """Long-polls (headers, cursor) in flight at once, `then()` once they wait."""
    limits = httpx.Limits(max_connections=len(polls))
    async with httpx.AsyncClient(base_url=live.url, timeout=60, limits=limits) as client:
        waiting = [
            asyncio.create_task(
                client.get("/v1/feed", params={"cursor": cursor, "wait": 20}, headers=headers)
            )
            for headers, cursor in polls
        ]
        await asyncio.sleep(1.5)  # all parked by now
        await asyncio.to_thread(then)
        return list(await asyncio.gather(*waiting))


def test_two_organisations_woken_by_one_commit_each_get_only_their_own(live_feed: Live) -> None:
    http, w = live_feed.http, live_feed.world
    start = head(http, w.dispatcher)
    ticket = file(http, w.reporter, w.community_a)
    # One cursor for both: a position in the feed's order, not the organisation's
    # (the other has nothing after it: nothing of theirs commits meanwhile). Waiters
    # of the two organisations then differ only by their organisation, so grouping
    # them on anything less would hand one organisation the other's page.
    cursor = _settle(live_feed, start, ticket["id"])
    _same_version(live_feed, w.company, w.other_company)
    polls = [(w.dispatcher.headers, cursor)] * 10 + [(w.other_dispatcher.headers, cursor)] * 10

    def reassign() -> None:  # one transaction: an event for each organisation
        act(http, w.province_admin, ticket["id"], "assign", {"organization_id": w.other_company})

    answers = asyncio.run(_wait_all(live_feed, polls, reassign))
    assert all(response.status_code == 200 for response in answers)
    company = [response.json()["events"] for response in answers[:10]]
    other = [response.json()["events"] for response in answers[10:]]
    for events in company:
        assert [(e["type"], e["ticket_id"]) for e in events] == [
            ("ticket.unassigned", ticket["id"])
        ]
        assert events[0]["organization_id"] == w.company
        assert events[0]["ticket"] is None  # no longer theirs
        assert "to_organization_id" not in events[0]["data"]
    for events in other:
        assert [(e["type"], e["ticket_id"]) for e in events] == [("ticket.assigned", ticket["id"])]
        assert events[0]["organization_id"] == w.other_company
        assert events[0]["ticket"]["organization_id"] == w.other_company
    # Each group wrote one rendering to all of its waiters.
    assert len({response.content for response in answers[:10]}) == 1
    assert len({response.content for response in answers[10:]}) == 1


def _commit_event(live: Live, organization_id: int, ticket_id: int) -> int:
    """An event committed outside the app, woken as another instance's would be:
    on PostgreSQL by the trigger's NOTIFY only; SQLite has no NOTIFY, so by this
    process's commit hook (what `record_event` sets up)."""
    with Session(live.engine) as session:
        row = TicketEvent(
            ticket_id=ticket_id,
            type="ticket.commented",
            organization_id=organization_id,
            data={"comment_id": 0, "body": "下午两点上门"},
        )
        session.add(row)
        if live.engine.dialect.name == "sqlite":
            session.info.setdefault(FEED_ORGANIZATIONS, set()).add(organization_id)
        session.commit()
        return row.id


def test_waiters_of_one_organisation_woken_by_one_commit_cost_one_read(
    live_feed: Live, monkeypatch: pytest.MonkeyPatch
) -> None:
    http, w = live_feed.http, live_feed.world
    start = head(http, w.dispatcher)
    ticket = file(http, w.reporter, w.community_a)
    cursor = _settle(live_feed, start, ticket["id"])
    reads: list[str] = []
    rendered: list[FeedPage] = []
    render = feed_router.render

    def counting_render(page: FeedPage, poll_interval: int) -> Answer:
        rendered.append(page)
        return render(page, poll_interval)

    def seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if "ORDER BY ticket_event.xid" in statement:  # the feed's reads, and only they
            reads.append(statement)

    committed: list[int] = []

    def commit() -> None:
        reads.clear()
        rendered.clear()
        committed.append(_commit_event(live_feed, w.company, ticket["id"]))

    monkeypatch.setattr(feed_router, "render", counting_render)
    event.listen(live_feed.engine, "before_cursor_execute", seen)
    try:
        answers = asyncio.run(_wait_all(live_feed, [(w.dispatcher.headers, cursor)] * 40, commit))
    finally:
        event.remove(live_feed.engine, "before_cursor_execute", seen)

    assert all(response.status_code == 200 for response in answers)
    assert all([e["id"] for e in r.json()["events"]] == committed for r in answers)
    assert len({response.content for response in answers}) == 1
    # Forty waiters, one read of what committed, one rendering. On a busy
    # PostgreSQL server an open transaction elsewhere can hold the event back
    # (`pending`); then each retry is again one read for all of them.
    held_back = sum(1 for page in rendered if page.pending)
    assert len(reads) <= 1 + held_back, reads
    assert len(rendered) <= 1 + held_back
    if not held_back:
        assert len(reads) == 1


def _answer(n: int) -> Answer:
    return feed_router.render(FeedPage([], f"c{n}", False, False), 5)


def test_a_reader_whose_client_left_does_not_fail_the_group() -> None:
    """The first request of a group reads for all; if its client hangs up
    (ClientGone, or the request is cancelled), the others read instead."""

    async def main() -> tuple[list[str], int]:
        answers = Answers()
        calls = 0
        release = asyncio.Event()

        async def make() -> Answer:
            nonlocal calls
            calls += 1
            await release.wait()
            await asyncio.sleep(0)  # a read suspends (in a worker thread)
            if calls == 1:
                raise ClientGone
            return _answer(calls)

        key = (1, "c", 50, 0)
        first = asyncio.create_task(answers.get(key, make))
        await asyncio.sleep(0)
        others = [asyncio.create_task(answers.get(key, make)) for _ in range(5)]
        cancelled = asyncio.create_task(answers.get(key, make))
        await asyncio.sleep(0)
        cancelled.cancel()  # a follower leaving takes nobody with it
        release.set()
        with pytest.raises(ClientGone):
            await first
        with pytest.raises(asyncio.CancelledError):
            await cancelled
        got = await asyncio.gather(*others)
        return [a.page.next_cursor for a in got], calls

    cursors, calls = asyncio.run(main())
    assert cursors == ["c2"] * 5  # one of them read again, for the rest too
    assert calls == 2


def test_answers_are_kept_apart_by_every_part_of_the_key() -> None:
    async def main() -> list[str]:
        answers = Answers()
        release = asyncio.Event()
        made = 0

        async def make() -> Answer:
            nonlocal made
            made += 1
            n = made
            await release.wait()
            return _answer(n)

        keys = [(1, "c", 50, 0), (2, "c", 50, 0), (1, "d", 50, 0), (1, "c", 20, 0), (1, "c", 50, 1)]
        tasks = [asyncio.create_task(answers.get(key, make)) for key in keys * 2]
        await asyncio.sleep(0)
        release.set()
        return [a.page.next_cursor for a in await asyncio.gather(*tasks)]

    cursors = asyncio.run(main())
    # Five keys, five reads; the second asker of each key got the first's answer.
    assert cursors[:5] == ["c1", "c2", "c3", "c4", "c5"]
    assert cursors[5:] == cursors[:5]


def test_a_wake_up_reads_once_per_group_and_answers_all_of_it() -> None:
    async def main() -> None:
        hub = FeedHub()
        hub.bind(asyncio.get_running_loop())
        reads: list[tuple[str, int]] = []

        def reader(name: str) -> Any:
            async def read(version: int) -> str:
                reads.append((name, version))
                await asyncio.sleep(0)
                return f"{name}@{version}"

            return read

        parked = [
            asyncio.create_task(hub.wait_read(1, ("c", 50), 0, 10, reader(f"a{i}")))
            for i in range(5)
        ] + [
            asyncio.create_task(hub.wait_read(1, ("d", 50), 0, 10, reader(f"b{i}")))
            for i in range(3)
        ]
        other = asyncio.create_task(hub.wait_read(2, ("c", 50), 0, 0.2, reader("x")))
        await asyncio.sleep(0)
        assert hub.waiting == 2
        hub.notify([1])
        got = await asyncio.gather(*parked)
        # One read per group, by the first to park, as of the wake-up's version.
        assert sorted(reads) == [("a0", 1), ("b0", 1)]
        assert got == [(1, "a0@1")] * 5 + [(1, "b0@1")] * 3
        # Another organisation's long-poll was not woken; it timed out and left.
        assert await other is None
        assert hub.waiting == 0
        # A wake-up since `seen`: read again at once.
        assert await hub.wait_read(1, ("c", 50), 0, 10, reader("late")) is None

    asyncio.run(main())


def test_a_failed_group_read_sends_each_request_to_read_for_itself() -> None:
    async def main() -> list[Any]:
        hub = FeedHub()
        hub.bind(asyncio.get_running_loop())

        async def failing(_version: int) -> str:
            raise RuntimeError("the database went away")

        parked = [
            asyncio.create_task(hub.wait_read(1, ("c", 50), 0, 10, failing)) for _ in range(3)
        ]
        await asyncio.sleep(0)
        hub.notify([1])
        return list(await asyncio.gather(*parked))

    assert asyncio.run(main()) == [None, None, None]


def test_a_group_held_back_by_an_open_transaction_stays_parked_and_is_read_again() -> None:
    """Committed but not yet servable (`pending`): the group is read again, once
    for all of it, and its requests are resumed only with what is servable."""

    async def main() -> tuple[list[Any], list[int]]:
        hub = FeedHub()
        hub.bind(asyncio.get_running_loop())
        reads: list[int] = []

        async def read(version: int) -> str:
            reads.append(version)
            return "pending" if len(reads) < 3 else "events"

        parked = [
            asyncio.create_task(
                hub.wait_read(
                    1, ("c", 50), 0, 10, read, pending=lambda r: r == "pending", retry=(0.01, 0.02)
                )
            )
            for _ in range(4)
        ]
        await asyncio.sleep(0)
        hub.notify([1])
        return list(await asyncio.gather(*parked)), reads

    answers, reads = asyncio.run(main())
    assert reads == [1, 1, 1]  # three reads for the four of them
    assert answers == [(1, "events")] * 4
