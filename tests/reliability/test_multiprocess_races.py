"""Races between two server processes on one database.

Two `python -m service serve` processes share a database (PostgreSQL, or one
SQLite file). For many tickets at once, two conflicting actions are released
together, one to each server. Then, read from the database itself:

- the answers are those of one of the two serial orders of the pair: where the
  first action leaves a status the second cannot follow (or both carry If-Match
  with the same ETag), exactly one wins and the other answers 409 or 412;
- every win wrote exactly one event and bumped the version once, and no loss
  wrote anything;
- every ticket's events chain from its creation (each from_status is the
  previous to_status) and the last one ends in the ticket's status.

Of the issue's pairs, three are not conflicting by the lifecycle table alone:
accept then return, accept then cancel and confirm then reopen are all allowed
one after the other. Those run both with If-Match (then exactly one wins) and
without it (then the outcome must be one of the two serial orders).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.conftest import World, build_world
from tests.reliability.servers import (
    ServerProcess,
    all_at_once,
    reference_database,
    servers_registry,
    settings_for,
    ticket_rows,
    timeline_problems,
    timelines,
)

pytestmark = pytest.mark.slow

TICKETS_PER_PAIR = 4

WIN = frozenset({200})
LOSE = frozenset({409, 412})  # refused by the status or by a stale If-Match
REFUSED = frozenset({409})  # no If-Match: refused by the status (or a concurrent update)
GONE = frozenset({404})  # returned: the ticket left the organisation's scope


@dataclass(frozen=True)
class Move:
    actor: str
    action: str
    body: dict[str, Any] | None = None


ACCEPT = Move("technician", "accept")
ACCEPT_AS_DISPATCHER = Move("dispatcher", "accept")
START = Move("technician", "start")
RESOLVE = Move("technician", "resolve", {"note": "换了阀门"})
HOLD = Move("dispatcher", "hold", {"reason": "awaiting_parts"})
RETURN = Move("dispatcher", "return", {"reason": "不是我们的片区"})
REJECT = Move("admin", "reject", {"reason": "重复工单"})
CANCEL = Move("reporter", "cancel", {"reason": "自己修好了"})
CONFIRM = Move("reporter", "confirm", {"rating": 5})
REOPEN = Move("reporter", "reopen", {"reason": "还在漏水"})

PATH_TO = {
    "assigned": (),
    "accepted": (ACCEPT,),
    "in_progress": (ACCEPT, START),
    "resolved": (ACCEPT, START, RESOLVE),
}


@dataclass(frozen=True)
class Pair:
    """Two actions released together from `start`, and the outcomes allowed:
    (answers to first, answers to second, final status) for each serial order."""

    name: str
    start: str
    first: Move
    second: Move
    if_match: bool
    outcomes: tuple[tuple[frozenset[int], frozenset[int], str], ...]


def _exclusive(first_alone: str, second_alone: str, loser: frozenset[int]) -> tuple:
    """Exactly one wins: the first (leaving `first_alone`) or the second."""
    return ((WIN, loser, first_alone), (loser, WIN, second_alone))


def _both_in_turn(first_then_second: str, second_then_first: tuple, alone: tuple) -> tuple:
    """Both may win, one after the other (first, then second: `first_then_second`);
    the other order is `second_then_first`, (answer to first, final status). If both
    read the ticket before either wrote, one wins alone (`alone`, the final statuses
    when first or second wins) and the other answers 409 (a concurrent update)."""
    return (
        (WIN, WIN, first_then_second),
        (second_then_first[0], WIN, second_then_first[1]),
        *_exclusive(alone[0], alone[1], REFUSED),
    )


DISPATCH_TECHNICIAN = Move("dispatcher", "assign", {"assignee_id": "technician"})
DISPATCH_SELF = Move("dispatcher", "assign", {"assignee_id": "dispatcher"})

PAIRS = (
    # Conflicting by status: whichever comes first leaves a status the other cannot follow.
    Pair(
        "resolve|hold",
        "in_progress",
        RESOLVE,
        HOLD,
        False,
        _exclusive("resolved", "on_hold", REFUSED),
    ),
    Pair(
        "accept|reject",
        "assigned",
        ACCEPT,
        REJECT,
        False,
        _exclusive("accepted", "rejected", REFUSED),
    ),
    Pair(
        "start|cancel",
        "accepted",
        START,
        CANCEL,
        False,
        _exclusive("in_progress", "cancelled", REFUSED),
    ),
    Pair(
        "accept|accept",
        "assigned",
        ACCEPT,
        ACCEPT_AS_DISPATCHER,
        False,
        _exclusive("accepted", "accepted", REFUSED),
    ),
    # If-Match with the same ETag: exactly one write wins, whatever the actions.
    Pair(
        "resolve|hold If-Match",
        "in_progress",
        RESOLVE,
        HOLD,
        True,
        _exclusive("resolved", "on_hold", LOSE),
    ),
    Pair(
        "cancel|accept If-Match",
        "assigned",
        CANCEL,
        ACCEPT,
        True,
        _exclusive("cancelled", "accepted", LOSE),
    ),
    Pair(
        "confirm|reopen If-Match",
        "resolved",
        CONFIRM,
        REOPEN,
        True,
        _exclusive("closed", "in_progress", LOSE),
    ),
    # A returned ticket leaves the organisation's scope: staff who read it after
    # the return get 404, as for any ticket outside their scope.
    Pair(
        "accept|return If-Match",
        "assigned",
        ACCEPT,
        RETURN,
        True,
        ((WIN, LOSE, "accepted"), (LOSE | GONE, WIN, "submitted")),
    ),
    Pair(
        "dispatch|dispatch If-Match",
        "assigned",
        DISPATCH_TECHNICIAN,
        DISPATCH_SELF,
        True,
        _exclusive("assigned", "assigned", LOSE),
    ),
    # Allowed one after the other without If-Match.
    Pair(
        "accept|return",
        "assigned",
        ACCEPT,
        RETURN,
        False,
        _both_in_turn("submitted", (GONE, "submitted"), ("accepted", "submitted")),
    ),
    Pair(
        "cancel|accept",
        "assigned",
        CANCEL,
        ACCEPT,
        False,
        _both_in_turn("cancelled", (WIN, "cancelled"), ("cancelled", "accepted")),
    ),
    Pair(
        "confirm|reopen",
        "resolved",
        CONFIRM,
        REOPEN,
        False,
        _both_in_turn("in_progress", (REFUSED, "in_progress"), ("closed", "in_progress")),
    ),
)


@dataclass
class Cluster:
    servers: tuple[ServerProcess, ServerProcess]
    world: World
    engine: Any


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    with reference_database("linli_mp") as (db, engine), servers_registry() as start:
        servers = (start(db.url, "race-a"), start(db.url, "race-b"))
        with httpx.Client(base_url=servers[0].url, timeout=30) as http:
            world = build_world(http, settings_for(db))
        yield Cluster(servers, world, engine)
        for server in servers:
            server.stop()


def _body(world: World, move: Move) -> dict[str, Any] | None:
    if move.body is None or "assignee_id" not in move.body:
        return move.body
    return {"assignee_id": world.actors[move.body["assignee_id"]].user_id}


def _prepare(http: httpx.Client, world: World, pair: Pair, n: int) -> dict[str, Any]:
    """A ticket in the pair's starting status, with its current ETag."""
    created = http.post(
        "/v1/tickets",
        json={
            "category": "repair.plumbing",
            "community_id": world.community_a,
            "description": f"race {pair.name} #{n}",
        },
        headers=world.reporter.headers,
    )
    assert created.status_code == 201, created.text
    ticket = created.json()
    for move in PATH_TO[pair.start]:
        response = http.post(
            f"/v1/tickets/{ticket['id']}/{move.action}",
            json=_body(world, move),
            headers=world.actors[move.actor].headers,
        )
        assert response.status_code == 200, response.text
        ticket = response.json()
    assert ticket["status"] == pair.start
    return ticket


def test_conflicting_actions_on_two_servers(cluster: Cluster) -> None:
    world, (a, b) = cluster.world, cluster.servers
    races: list[tuple[Pair, dict[str, Any]]] = []
    with httpx.Client(base_url=a.url, timeout=30) as http:
        for n in range(TICKETS_PER_PAIR):
            races += [(pair, _prepare(http, world, pair, n)) for pair in PAIRS]
    start_events = {
        ticket_id: len(events)
        for ticket_id, events in timelines(cluster.engine, [t["id"] for _, t in races]).items()
    }

    answers: list[httpx.Response] = []
    # One ticket of each pair per batch: the two servers take a dozen requests each
    # at a time, well inside one process's worker threads and connection pool.
    for batch in range(0, len(races), len(PAIRS)):
        requests = []
        for i, (pair, ticket) in enumerate(races[batch : batch + len(PAIRS)]):
            # Each of the two goes to a different server; which one alternates.
            urls = (a.url, b.url) if i % 2 else (b.url, a.url)
            for url, move in zip(urls, (pair.first, pair.second), strict=True):
                headers = dict(world.actors[move.actor].headers)
                if pair.if_match:
                    headers["If-Match"] = f'"{ticket["id"]}.{ticket["version"]}"'
                path = f"/v1/tickets/{ticket['id']}/{move.action}"
                requests.append((url, "POST", path, headers, _body(world, move)))
        answers += all_at_once(requests)

    ids = [t["id"] for _, t in races]
    rows = ticket_rows(cluster.engine, ids)
    events = timelines(cluster.engine, ids)
    failures = []
    losers: Counter[str] = Counter()
    for i, (pair, ticket) in enumerate(races):
        first, second = answers[2 * i], answers[2 * i + 1]
        row = rows[ticket["id"]]
        observed = (first.status_code, second.status_code, row.status)
        label = f"{pair.name} on ticket {ticket['id']}: {observed}"
        if not any(
            first.status_code in c1 and second.status_code in c2 and row.status == final
            for c1, c2, final in pair.outcomes
        ):
            failures.append(f"{label} is no serial order\n  {first.text}\n  {second.text}")
            continue
        wins = [r for r in (first, second) if r.status_code == 200]
        for answer in (first, second):
            if answer.status_code != 200:
                losers[
                    f"{answer.status_code} {answer.json().get('type', '').rsplit('/', 1)[-1]}"
                ] += 1
        new_events = events[ticket["id"]][start_events[ticket["id"]] :]
        if len(new_events) != len(wins):
            failures.append(f"{label}: {len(wins)} wins wrote {[e.type for e in new_events]}")
        if row.version != ticket["version"] + len(wins):
            failures.append(f"{label}: version {ticket['version']} -> {row.version}")
        if wins and row.status not in {w.json()["status"] for w in wins}:
            failures.append(f"{label}: no winner answered the final status")
        if len(wins) == 1 and wins[0].headers["ETag"] != f'"{ticket["id"]}.{row.version}"':
            failures.append(f"{label}: the winner's ETag {wins[0].headers['ETag']}")
        if pair.name.startswith("dispatch"):
            winner = pair.first if first.status_code == 200 else pair.second
            expected = world.actors[winner.body["assignee_id"]].user_id  # type: ignore[index]
            if row.assignee_id != expected:
                failures.append(f"{label}: assignee {row.assignee_id}, winner set {expected}")
        if pair.name.startswith("accept|accept"):
            winner = pair.first if first.status_code == 200 else pair.second
            if row.assignee_id != world.actors[winner.actor].user_id:
                failures.append(f"{label}: assignee {row.assignee_id} is not who accepted")
        failures += [f"{label}: {p}" for p in timeline_problems(events[ticket["id"]], row.status)]
    # Both servers read the same final state: nothing is cached per process.
    for server in (a, b):
        with httpx.Client(base_url=server.url, timeout=30) as http:
            for ticket_id in ids:
                read = http.get(f"/v1/tickets/{ticket_id}", headers=world.admin.headers)
                if (read.json()["status"], read.json()["version"]) != (
                    rows[ticket_id].status,
                    rows[ticket_id].version,
                ):
                    failures.append(f"{server.name} reads ticket {ticket_id} as {read.text}")
    assert not failures, "\n".join(failures) + f"\n{a.log_tail()}\n{b.log_tail()}"
    # Say how the losers lost: a stale ETag, the status, or a concurrent update.
    print(f"\n{len(races)} races on two servers; losers: {dict(sorted(losers.items()))}")
