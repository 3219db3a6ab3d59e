"""One organisation's slow receivers must not hold up another's deliveries, and
it may not register without bound: a tarpit that takes every connection and
answers a byte at a time holds its own organisation's share of the deliverer
(LINLI_WEBHOOK_CONCURRENCY_PER_ORGANIZATION) for the attempt's whole timeout
and no longer, while the other organisation's event is delivered at once.

(Before: a claim took the earliest deliveries whoever's they were, a batch at
a time; 40 subscriptions to a tarpit delayed another organisation's delivery
from 2.8 s to 41.6 s, and a receiver that dribbled bytes was never cut off.)"""

from __future__ import annotations

import select as io_select
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import httpx
import pytest
from sqlalchemy import select, update

from service.config import Settings
from service.webhooks import delivery
from service.webhooks.models import WebhookAttempt, WebhookDelivery
from tests.conftest import BACKEND, TEST_SECRET, World, build_world
from tests.feed.helpers import file
from tests.feed.live import live_database, serve
from tests.webhooks.receiver import Receiver, running

TIMEOUT = 1.0
SHARE = 2


@dataclass
class Tarpit:
    """Accepts every connection, reads the request and answers one byte every
    0.1 s, never finishing: a per-read timeout never fires."""

    url: str = ""
    connections: int = 0
    open_now: int = 0
    most_open: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def _serve(self, connection: socket.socket) -> None:
        with self.lock:
            self.connections += 1
            self.open_now += 1
            self.most_open = max(self.most_open, self.open_now)
        try:
            connection.recv(65536)
            for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 10_000:
                connection.sendall(bytes([byte]))
                # A tenth of a second, or until the sender hangs up (EOF).
                readable, _, _ = io_select.select([connection], [], [], 0.1)
                if readable and not connection.recv(1):
                    break
        except OSError:
            pass  # the sender gave up
        finally:
            connection.close()
            with self.lock:
                self.open_now -= 1


@contextmanager
def tarpit() -> Iterator[Tarpit]:
    pit = Tarpit()
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    pit.url = f"http://127.0.0.1:{listener.getsockname()[1]}/hook"
    done = threading.Event()

    def accept() -> None:
        while not done.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            threading.Thread(target=pit._serve, args=(connection,), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield pit
    finally:
        done.set()
        thread.join(5)
        listener.close()


@pytest.fixture(scope="module")
def live() -> Iterator[tuple[Settings, httpx.Client, World]]:
    with live_database("linli_fair") as (url, engine):
        settings = Settings(
            database_url=url,
            jwt_secret=TEST_SECRET,
            env="dev",
            webhook_allow_targets="127.0.0.0/8",
            webhook_timeout_seconds=TIMEOUT,
            webhook_concurrency=8,
            webhook_concurrency_per_organization=SHARE,
            webhooks_per_organization=10,
            tickets_per_hour=0,  # one resident files many reports here
            duplicate_window_minutes=0,
        )
        with serve(settings, engine) as base_url, httpx.Client(base_url=base_url) as http:
            yield settings, http, build_world(http, settings)


def test_a_tarpit_holds_its_own_share_for_the_timeout_and_no_one_else_waits(
    live: tuple[Settings, httpx.Client, World],
) -> None:
    settings, http, w = live
    engine = delivery_engine(settings)
    with tarpit() as pit, running(Receiver()) as receiver:
        # The property company registers as many webhooks as it may, all to the tarpit...
        hooks = [
            http.post("/v1/webhooks", json={"url": pit.url}, headers=w.dispatcher.headers)
            for _ in range(settings.webhooks_per_organization)
        ]
        assert [h.status_code for h in hooks] == [201] * settings.webhooks_per_organization
        # ...and the care provider one, to a receiver that answers.
        care = http.post(
            "/v1/webhooks", json={"url": receiver.url}, headers=w.care_dispatcher.headers
        )
        assert care.status_code == 201, care.text
        receiver.secret = care.json()["secret"]
        # The company's event first: its ten deliveries are the earliest due.
        file(http, w.reporter, w.community_a)
        file(http, w.reporter, w.community_a, category="elderly.meal")

        began = time.monotonic()
        turn: list[int] = []
        deliverer = threading.Thread(  # one turn of the job, to take no more after 2.5 s
            target=lambda: turn.append(
                delivery.deliver_due(
                    engine, settings, more_time=lambda: time.monotonic() < began + 2.5
                )
            ),
            daemon=True,
        )
        deliverer.start()
        first = _when(lambda: len(receiver.events) == 1, began + 10)
        # Another care event while the turn is busy with the tarpit: it is taken
        # in that turn, without waiting for a tarpit's slot to free.
        time.sleep(0.2)
        filed = time.monotonic()
        file(http, w.reporter, w.community_a, category="elderly.meal")
        second = _when(lambda: len(receiver.events) == 2, began + 10)
        deliverer.join(10)
        took = time.monotonic() - began
        engine.dispose()

    # The care provider's events went at once, not after the tarpit's timeouts.
    assert first - began < TIMEOUT / 2, first - began
    assert second - filed < TIMEOUT / 2, second - filed
    assert len(receiver.events) == 2
    [attempts] = turn
    # The tarpit never held more than the company's share of connections...
    assert pit.most_open == SHARE, pit.most_open
    # ...each for the attempt's whole timeout and no longer, although it kept
    # sending: rounds of two until the turn's time was up, then the turn ended.
    assert 4 <= pit.connections <= 8 and attempts == pit.connections + 2
    assert took < 2.5 + TIMEOUT + 1.0, took
    with delivery_engine(settings).connect() as connection:
        slow = connection.execute(
            select(WebhookAttempt.duration_ms, WebhookAttempt.error)
            .join(WebhookDelivery, WebhookDelivery.id == WebhookAttempt.delivery_id)
            .where(WebhookDelivery.organization_id == w.company)
        ).all()
        cared = connection.scalars(
            select(WebhookDelivery.status).where(WebhookDelivery.organization_id == w.care)
        ).all()
    assert len(slow) == pit.connections
    assert all(error == "timed out" for _, error in slow)
    assert all(TIMEOUT * 1000 - 50 <= ms <= TIMEOUT * 1000 + 500 for ms, _ in slow), slow
    assert cared == ["delivered", "delivered"]


def test_an_organisation_registers_at_most_its_share_of_webhooks(
    live: tuple[Settings, httpx.Client, World],
) -> None:
    settings, http, w = live
    headers = w.other_dispatcher.headers
    url = "http://127.0.0.1:9/hook"
    made = [
        http.post("/v1/webhooks", json={"url": url}, headers=headers)
        for _ in range(settings.webhooks_per_organization)
    ]
    assert all(m.status_code == 201 for m in made), made[-1].text
    before = http.get("/v1/webhooks", headers=headers).json()["items"]
    refused = http.post("/v1/webhooks", json={"url": url}, headers=headers)
    assert refused.status_code == 409
    assert refused.headers["Content-Type"] == "application/problem+json"
    assert refused.json()["code"] == "webhook.too_many"
    assert "10 个 webhook" in refused.json()["detail"]  # zh-Hans, the default
    assert http.get("/v1/webhooks", headers=headers).json()["items"] == before  # nothing changed
    # A deleted one frees its place.
    assert http.delete(f"/v1/webhooks/{made[0].json()['id']}", headers=headers).status_code == 204
    assert http.post("/v1/webhooks", json={"url": url}, headers=headers).status_code == 201


def delivery_engine(settings: Settings):  # type: ignore[no-untyped-def]
    from service.db import make_engine

    return make_engine(settings, pool=(2, 2))


def _when(condition, deadline: float) -> float:  # type: ignore[no-untyped-def]
    while not condition():
        if time.monotonic() > deadline:
            return float("inf")
        time.sleep(0.01)
    return time.monotonic()


@pytest.mark.skipif(BACKEND != "postgres", reason="SQLite's writers take turns")
def test_claims_racing_each_other_never_take_a_delivery_twice(
    live: tuple[Settings, httpx.Client, World],
) -> None:
    """Deliverers claiming at once (PostgreSQL, SKIP LOCKED) each take other rows:
    a row one of them leased and committed while another was ranking the queue
    is re-checked under the lock and skipped, not attempted a second time."""
    settings, http, w = live
    hook = http.post(
        "/v1/webhooks", json={"url": "http://127.0.0.1:9/race"}, headers=w.care_dispatcher.headers
    )
    assert hook.status_code == 201, hook.text
    for _ in range(40):  # events enough for a backlog (one delivery per event)
        file(http, w.reporter, w.community_a, category="elderly.meal")
    engine = delivery_engine(settings)
    with engine.begin() as connection:  # a backlog: every delivery of the hook due now
        connection.execute(  # and nothing else due (the other tests' deliveries)
            update(WebhookDelivery)
            .where(WebhookDelivery.subscription_id != hook.json()["id"])
            .values(status="dead")
        )
        backlog = connection.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.subscription_id == hook.json()["id"])
            .values(
                status="pending", attempts=0, lease_until=None, next_attempt_at=delivery.utcnow()
            )
        ).rowcount
    assert backlog >= 40
    taken: list[int] = []
    lock = threading.Lock()

    def claimer() -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            got = delivery.claim(engine, settings, delivery.utcnow(), limit=4)
            with lock:
                taken.extend(c.delivery_id for c in got)
                if len(taken) >= backlog:
                    return

    threads = [threading.Thread(target=claimer) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(40)
    engine.dispose()
    assert len(taken) == backlog and len(set(taken)) == backlog
