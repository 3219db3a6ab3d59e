"""Round robin and grab between two instances on real connections: two servers,
each with its own engine (its own pool), on one database, sent requests at once."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy.engine import Engine

from service.config import Settings
from service.db import make_engine
from service.main import create_app
from tests.conftest import Actor, World, file_ticket, token_for


@pytest.fixture
def second_instance(settings: Settings, live_engine: Engine) -> Iterator[httpx.Client]:
    """Another instance of the service on the live database: its own engine, app,
    principal cache and uvicorn."""
    url = live_engine.url.render_as_string(hide_password=False)
    engine = make_engine(settings.model_copy(update={"database_url": url}))
    app = create_app(settings.model_copy(update={"tickets_per_hour": 0}), engine)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "the second instance did not start"
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as http:
            yield http
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        engine.dispose()


def at_once(calls: list[Callable[[], Any]]) -> list[Any]:
    """Run `calls` in threads released together; their results in order."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)
    errors: list[BaseException] = []

    def run(index: int) -> None:
        try:
            barrier.wait()
            results[index] = calls[index]()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    return results


def technicians(http: httpx.Client, settings: Settings, w: World, count: int) -> list[Actor]:
    people = []
    for n in range(count):
        scope = {"organization_id": w.company, "org_role": "technician"}
        actor = Actor(
            f"tech-{n}", token_for(settings, f"race-tech-{n}", "provider_staff", **scope), scope
        )
        response = http.put("/v1/me/on-duty", json={"on_duty": True}, headers=actor.headers)
        assert response.status_code == 200, response.text
        actor.user_id = response.json()["id"]
        people.append(actor)
    return people


def set_mode(http: httpx.Client, w: World, mode: str) -> None:
    http.put(
        f"/v1/organizations/{w.company}/dispatch-modes",
        json={"rules": [{"category": None, "mode": mode}]},
        headers=w.dispatcher.headers,
    ).raise_for_status()


def test_round_robin_between_two_instances_is_fair(live, second_instance, settings):
    http, w = live
    crew = technicians(http, settings, w, 4)
    set_mode(http, w, "round_robin")
    clients = [http, second_instance]
    rounds = 3
    got: Counter[int] = Counter()
    for _ in range(rounds):
        # As many filings at once as technicians on duty, half on each instance.
        tickets = at_once(
            [
                lambda c=clients[n % 2]: file_ticket(c, w.reporter, w.community_a)
                for n in range(len(crew))
            ]
        )
        assignees = [ticket["assignee_id"] for ticket in tickets]
        assert sorted(assignees) == sorted(a.user_id for a in crew), assignees
        got.update(assignees)
    assert set(got.values()) == {rounds}


def test_grab_between_two_instances_one_wins(live, second_instance, settings):
    http, w = live
    crew = technicians(http, settings, w, 2)
    set_mode(http, w, "grab")
    for _ in range(3):
        ticket = file_ticket(http, w.reporter, w.community_a)
        assert ticket["assignee_id"] is None
        answers = at_once(
            [
                lambda c=client, a=actor, path=f"/v1/tickets/{ticket['id']}/accept": c.post(
                    path, headers=a.headers
                )
                for client, actor in zip((http, second_instance), crew, strict=True)
            ]
        )
        statuses = sorted(answer.status_code for answer in answers)
        assert statuses == [200, 409], [answer.text for answer in answers]
        winner = next(a for a in answers if a.status_code == 200).json()["assignee_id"]
        final = http.get(f"/v1/tickets/{ticket['id']}", headers=w.dispatcher.headers).json()
        assert final["status"] == "accepted" and final["assignee_id"] == winner
        assert winner in {actor.user_id for actor in crew}
