"""One structured line per request, and the request id that ties a request's (or a
job turn's) lines together: X-Request-ID in and out."""

from __future__ import annotations

import datetime as dt
import json
import logging
import re

from service.config import Settings
from service.jobs import Job, JobContext
from service.jobs.runner import run_turn
from service.telemetry import logs
from service.telemetry.context import request_id
from tests.conftest import file_ticket

HEX_ID = re.compile(r"[0-9a-f]{32}")


def test_a_request_id_is_echoed(client, world):
    given = "nginx-3f9a.1:abc_DEF"
    response = client.get("/v1/me", headers={**world.reporter.headers, "X-Request-ID": given})
    assert response.headers["x-request-id"] == given


def test_a_request_id_is_made_when_none_or_an_unsafe_one_is_sent(client, world):
    answered = client.get("/healthz")
    assert HEX_ID.fullmatch(answered.headers["x-request-id"])
    for unsafe in ("x" * 129, "two words", "a\tb", "<script>", "手机"):
        response = client.get("/healthz", headers={"X-Request-ID": unsafe.encode()})
        assert HEX_ID.fullmatch(response.headers["x-request-id"]), unsafe
    # Errors and answers given before routing carry one too.
    missing = client.get("/v1/tickets/1")
    assert missing.status_code == 401
    assert HEX_ID.fullmatch(missing.headers["x-request-id"])


def _json_lines(records: list[logging.LogRecord]) -> list[dict]:
    formatter = logs.JsonFormatter()
    return [json.loads(formatter.format(record)) for record in records]


def test_one_json_line_per_request_with_the_role_and_nothing_private(client, world, caplog):
    with caplog.at_level(logging.INFO, logger=logs.ACCESS_LOGGER):
        ticket = file_ticket(client, world.reporter, world.community_a)
        response = client.get(
            f"/v1/tickets/{ticket['id']}",
            headers={**world.reporter.headers, "X-Request-ID": "req-42"},
        )
    assert response.status_code == 200
    lines = _json_lines([r for r in caplog.records if r.name == logs.ACCESS_LOGGER])
    assert [(line["method"], line["route"], line["status"]) for line in lines] == [
        ("POST", "/v1/tickets", 201),
        ("GET", "/v1/tickets/{ticket_id}", 200),
    ]
    read = lines[1]
    assert read["request_id"] == "req-42"
    assert read["principal"] == "resident"
    assert read["level"] == "INFO" and read["logger"] == "linli.access"
    assert isinstance(read["duration_ms"], float) and read["duration_ms"] >= 0
    dt.datetime.fromisoformat(read["time"])
    assert HEX_ID.fullmatch(lines[0]["request_id"])
    everything = caplog.text + json.dumps(lines, ensure_ascii=False)
    private = [world.reporter.token, "13900000001", "阿依古丽", "厨房水管"]
    assert [value for value in private if value in everything] == []


def test_an_api_key_is_logged_as_one(client, world, caplog):
    created = client.post(
        f"/v1/organizations/{world.company}/api-keys",
        json={"name": "probe"},
        headers=world.dispatcher.headers,
    )
    assert created.status_code == 201, created.text
    key = created.json()["key"]
    with caplog.at_level(logging.INFO, logger=logs.ACCESS_LOGGER):
        client.get("/v1/me", headers={"Authorization": f"Bearer {key}"})
    [line] = _json_lines([r for r in caplog.records if r.name == logs.ACCESS_LOGGER])
    assert line["principal"] == "api_key"
    assert key not in caplog.text


def test_a_job_turn_has_a_request_id_of_its_own(engine, settings: Settings):
    seen: list[str | None] = []

    def probe(context: JobContext) -> int:
        seen.append(request_id.get())
        return 0

    job = Job(name="observability.probe", run=probe, every=dt.timedelta(hours=1))
    run_turn(engine, settings, job, dt.datetime.now(dt.UTC), "test")
    [rid] = seen
    assert rid is not None and rid.startswith("job-observability.probe-")
    assert request_id.get() is None


def test_the_formats_by_environment():
    assert Settings(jwt_secret="x" * 40).logs_as == "text"
    assert Settings(jwt_secret="x" * 40, log_format="json").logs_as == "json"
    record = logging.LogRecord("linli.jobs", logging.ERROR, __file__, 1, "job %s", ("x",), None)
    logs.RequestIdFilter().filter(record)
    line = json.loads(logs.JsonFormatter().format(record))
    assert line["message"] == "job x" and line["request_id"] is None
    assert logs.config("text")["formatters"]["linli"]["format"] == logs.TEXT_FORMAT
