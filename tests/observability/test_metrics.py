"""GET /metrics: the Prometheus text format, its families after some requests, and
the token that may guard it."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select

from service.enums import Status, TicketKind
from service.main import create_app
from service.tickets.models import Ticket
from tests.conftest import file_ticket

TOKEN = "scrape-token-0123456789abcdef"


def scrape(client: TestClient, **headers: str) -> dict[str, Any]:
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    return {family.name: family for family in text_string_to_metric_families(response.text)}


def value(families: dict[str, Any], sample_name: str, **labels: str) -> float:
    family = families[sample_name.removesuffix("_total").removesuffix("_count")]
    return sum(
        sample.value
        for sample in family.samples
        if sample.name == sample_name and labels.items() <= sample.labels.items()
    )


def test_a_scrape_has_every_family(client):
    families = scrape(client)
    for name in (
        "linli_http_request_duration_seconds",
        "linli_tickets_created",
        "linli_tickets_resolved",
        "linli_sla_breaches",
        "linli_job_runs",
        "linli_job_duration_seconds",
        "linli_outbox_attempts",
        "linli_feed_page_lag_seconds",
        "linli_tickets_open",
        "linli_tickets_open_breached",
        "linli_outbox_pending",
        "linli_outbox_oldest_pending_seconds",
        "linli_scrape_database_up",
    ):
        assert name in families, name
    assert value(families, "linli_scrape_database_up") == 1
    queues = {s.labels["queue"] for s in families["linli_outbox_pending"].samples}
    assert queues == {"webhook", "notification"}


def test_a_filed_ticket_counts_by_kind_and_routes_are_templates(client, world, db):
    before = scrape(client)
    ticket = file_ticket(client, world.reporter, world.community_a)
    read = client.get(f"/v1/tickets/{ticket['id']}", headers=world.reporter.headers)
    assert read.status_code == 200
    missing = client.get("/v1/no-such-thing/12345", headers=world.reporter.headers)
    assert missing.status_code == 404
    client.app.state.metrics_gauges.expire()  # the first scrape's copy is fresh for seconds
    after = scrape(client)

    created = "linli_tickets_created_total"
    assert value(after, created, kind="property") == value(before, created, kind="property") + 1
    assert value(after, created, kind="complaint") == value(before, created, kind="complaint")

    count = "linli_http_request_duration_seconds_count"
    one = {"route": "/v1/tickets/{ticket_id}", "status": "200", "method": "GET"}
    assert value(after, count, **one) == value(before, count, **one) + 1
    filed = {"route": "/v1/tickets", "status": "201", "method": "POST"}
    assert value(after, count, **filed) == value(before, count, **filed) + 1
    unmatched = {"route": "unmatched", "status": "404"}
    assert value(after, count, **unmatched) == value(before, count, **unmatched) + 1
    routes = {s.labels["route"] for s in after["linli_http_request_duration_seconds"].samples}
    segments = {segment for route in routes for segment in route.split("/")}
    assert str(ticket["id"]) not in segments and "12345" not in segments

    # The gauges read the database (the test's transaction, where the ticket is).
    open_now = db.scalar(
        select(func.count()).where(
            Ticket.status == Status.assigned, Ticket.kind == TicketKind.property
        )
    )
    assert open_now >= 1
    assert value(after, "linli_tickets_open", status="assigned", kind="property") == open_now
    assert value(after, "linli_tickets_open", status="closed") == 0  # not an open status


def test_a_resolution_counts_on_commit_and_a_refused_action_does_not(client, world):
    ticket = file_ticket(client, world.reporter, world.community_a)
    tid = ticket["id"]
    resolved = "linli_tickets_resolved_total"
    before = value(scrape(client), resolved, kind="property")
    refused = client.post(f"/v1/tickets/{tid}/resolve", json={}, headers=world.reporter.headers)
    assert refused.status_code in (403, 409), refused.text
    for action, body in (("accept", None), ("start", None), ("resolve", {"note": "换了阀门"})):
        response = client.post(
            f"/v1/tickets/{tid}/{action}", json=body, headers=world.technician.headers
        )
        assert response.status_code == 200, (action, response.text)
    assert value(scrape(client), resolved, kind="property") == before + 1


def test_a_token_guards_the_scrape(settings, engine):
    guarded = settings.model_copy(update={"metrics_token": TOKEN})
    with TestClient(create_app(guarded, engine)) as client:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
            response = client.get("/metrics", headers={**headers, "Accept-Language": "en"})
            assert response.status_code == 401, headers
            assert response.headers["content-type"] == "application/problem+json"
            assert response.headers["www-authenticate"] == "Bearer"
            assert response.json()["code"] == "metrics.token"
            assert TOKEN not in response.text
        families = scrape(client, Authorization=f"Bearer {TOKEN}")
        assert "linli_tickets_open" in families


def test_workers_add_up_in_multiprocess_mode(tmp_path):
    """Under `serve --workers N` each process counts into PROMETHEUS_MULTIPROC_DIR and
    a scrape of any one sums them all."""
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    count = (
        "from service.telemetry import instruments; "
        "instruments.JOB_RUNS.labels('probe', 'ok').inc()"
    )
    for _ in range(2):
        subprocess.run([sys.executable, "-c", count], env=env, check=True)
    read = (
        "from prometheus_client import generate_latest; "
        "from service.observability.router import _process_registry; "
        "print(generate_latest(_process_registry()).decode())"
    )
    out = subprocess.run(
        [sys.executable, "-c", read], env=env, check=True, capture_output=True, text=True
    ).stdout
    families = {f.name: f for f in text_string_to_metric_families(out)}
    assert value(families, "linli_job_runs_total", job="probe", outcome="ok") == 2


def test_serve_prepares_the_multiprocess_directory(tmp_path, monkeypatch):
    from service.__main__ import _multiprocess_metrics

    # _multiprocess_metrics sets the variable itself: have monkeypatch remember
    # what it was first, or the removed directory leaks into later tests'
    # subprocesses (a worker then fails to count).
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", "")
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR")
    assert _multiprocess_metrics(1) == (None, False)
    made, here = _multiprocess_metrics(3)
    assert here and made is not None and os.path.isdir(made)
    assert os.environ["PROMETHEUS_MULTIPROC_DIR"] == made
    os.rmdir(made)
    # The operator's directory is kept, and emptied of an earlier run's counts.
    (tmp_path / "counter_123.db").write_bytes(b"old")
    (tmp_path / "notes.txt").write_text("kept")
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    assert _multiprocess_metrics(3) == (str(tmp_path), False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]
