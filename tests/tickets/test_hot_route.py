"""The hot route (service/hotroute.py) answers filing and the page of tickets as
the declared routes do: every request below is sent with it and without it (the
declared FastAPI routes alone), and the two answers must be the same, less what
differs between any two creations (ids, numbers, instants)."""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from service.main import create_app
from service.tickets import router as tickets_router
from tests.conftest import BACKEND, build_world

_n = itertools.count()

# What two creations of the same report differ in (each report is filed twice,
# its description numbered apart).
_PER_TICKET = {
    "id",
    "number",
    "created_at",
    "updated_at",
    "respond_by",
    "resolve_by",
    "description",
}
_PER_ANSWER_HEADERS = {"etag", "location", "x-request-id", "content-length", "date"}


def _report(world: Any, **overrides: Any) -> dict[str, Any]:
    return {
        "category": "repair.plumbing",
        "community_id": world.community_a,
        "description": f"楼道灯不亮（{next(_n)}）",
        "contact_phone": "13900000001",
        **overrides,
    }


def _cases(world: Any) -> list[tuple[str, str, dict[str, str], Any, bool]]:
    """(method, path, headers, JSON body or raw bytes, whether the hot route itself
    answers it): answers of every kind, and the bodies it leaves to FastAPI."""
    resident, dispatcher = world.reporter.headers, world.dispatcher.headers
    json_type = {"Content-Type": "application/json"}
    return [
        ("POST", "/v1/tickets", resident, _report(world), True),
        ("POST", "/v1/tickets", {**resident, "Accept-Language": "ug"}, _report(world), True),
        ("POST", "/v1/tickets", {**resident, "Idempotency-Key": "k"}, _report(world), True),
        # Refused by the endpoint: not the caller's community, staff without a resident.
        ("POST", "/v1/tickets", resident, _report(world, community_id=world.community_k), True),
        ("POST", "/v1/tickets", world.grid_worker.headers, _report(world), True),
        # A grid worker files for a resident it finds by phone, and for one without an account.
        (
            "POST",
            "/v1/tickets",
            world.grid_worker.headers,
            _report(world, on_behalf_of={"name": "王大爷", "phone": "13900000001"}),
            True,
        ),
        (
            "POST",
            "/v1/tickets",
            world.grid_worker.headers,
            _report(world, on_behalf_of={"name": "李奶奶", "phone": "13900000099"}),
            True,
        ),
        ("POST", "/v1/tickets", {}, _report(world), True),
        ("POST", "/v1/tickets", {"Authorization": "Bearer nonsense"}, _report(world), True),
        ("POST", "/v1/tickets", {**resident, "Idempotency-Key": "x" * 300}, _report(world), True),
        # FastAPI's to answer: bodies that do not validate, other content, odd headers.
        ("POST", "/v1/tickets", resident, _report(world, category=""), False),
        ("POST", "/v1/tickets", resident, {"description": "只有描述"}, False),
        ("POST", "/v1/tickets", {**resident, **json_type}, b'{"category": ', False),
        ("POST", "/v1/tickets", {**resident, **json_type}, b"", False),
        ("POST", "/v1/tickets", {**resident, **json_type}, b"[1, 2]", False),
        ("POST", "/v1/tickets", {**resident, **json_type}, b"\xff\xfe", False),
        (
            "POST",
            "/v1/tickets",
            {**resident, "Content-Type": "text/plain"},
            json.dumps(_report(world)).encode(),
            False,
        ),
        (
            "POST",
            "/v1/tickets",
            {**resident, "Accept-Language": "en," * 100},
            _report(world),
            False,
        ),
        # A body that does not validate, sent by nobody: FastAPI says which comes first.
        ("POST", "/v1/tickets", {}, {"description": "x"}, False),
        ("GET", "/v1/tickets?limit=50", dispatcher, None, True),
        ("GET", "/v1/tickets?limit=2&status=assigned&status=submitted", resident, None, True),
        ("GET", "/v1/tickets?limit=0", dispatcher, None, True),
        ("GET", "/v1/tickets?status=bogus&created_from=yesterday", dispatcher, None, True),
        ("GET", "/v1/tickets?q=%20", dispatcher, None, True),
        ("GET", "/v1/tickets?cursor=not-a-cursor", dispatcher, None, True),
        ("GET", "/v1/tickets", {}, None, True),
        ("HEAD", "/v1/tickets", dispatcher, None, False),
        ("PUT", "/v1/tickets", dispatcher, {}, False),
    ]


def _normalised(response: Any) -> tuple[int, dict[str, str], Any]:
    headers = {k: v for k, v in response.headers.items() if k not in _PER_ANSWER_HEADERS}
    if not response.content:
        return response.status_code, headers, None
    body = response.json()
    if isinstance(body, dict):
        body.pop("feed_cursor", None)  # the instant it was taken, to the second
    return response.status_code, headers, _without_instances(body)


def _without_instances(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: "…" if k in _PER_TICKET else _without_instances(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_instances(v) for v in value]
    return value


def test_the_hot_route_answers_as_the_declared_routes(app, client, world, monkeypatch):
    _answers_as_the_declared_routes(app, client, world, monkeypatch)


@pytest.mark.skipif(BACKEND != "postgres", reason="filing on the event loop: PostgreSQL only")
def test_filing_on_the_event_loop_answers_as_in_a_worker_thread(settings, live_engine, monkeypatch):
    """On PostgreSQL an app files tickets on the event loop (service.db.on_loop),
    on a database it commits to; its declared route files them in a worker thread."""
    on_loop = []
    real = tickets_router.on_loop

    async def counted(*args: Any, **kwargs: Any) -> Any:
        on_loop.append(1)
        return await real(*args, **kwargs)

    monkeypatch.setattr(tickets_router, "on_loop", counted)
    app = create_app(settings.model_copy(update={"tickets_per_hour": 0}), live_engine)
    with TestClient(app, raise_server_exceptions=False) as client:
        world = build_world(client, settings)
        filed = len(on_loop)
        _answers_as_the_declared_routes(app, client, world, monkeypatch)
        # The hot route's creations that got past the principal, and the one replay.
        assert len(on_loop) - filed == 9
        loop_pool = app.state.loop_sessions.engine.pool
        assert loop_pool.checkedout() == 0 and loop_pool.checkedin() >= 1


def _answers_as_the_declared_routes(app: Any, client: Any, world: Any, monkeypatch: Any) -> None:
    # Which requests the hot route answered itself (or raised for): not declined.
    served: list[str] = []
    hot_route = tickets_router.hot_route
    for method, handler in hot_route.handlers.items():

        async def watching(request: Any, _handler: Any = handler) -> Any:
            try:
                response = await _handler(request)
            except Exception:
                served.append(request.method)
                raise
            if response is not None:
                served.append(request.method)
            return response

        monkeypatch.setitem(hot_route.handlers, method, watching)
    routes = app.router.routes
    assert routes[0] is hot_route

    def send(method: str, path: str, headers: dict[str, str], body: Any) -> Any:
        if isinstance(body, bytes) or body is None:
            return client.request(method, path, headers=headers, content=body)
        return client.request(method, path, headers=headers, json=body)

    for method, path, headers, body, hot in _cases(world):
        if "Idempotency-Key" in headers:
            headers = {**headers, "Idempotency-Key": f"{headers['Idempotency-Key']}-{next(_n)}"}
        served.clear()
        with_hot = send(method, path, headers, body)
        assert bool(served) == hot, (method, path, headers, body)
        if "Idempotency-Key" in headers and with_hot.status_code == 201:
            # The retry replays the stored answer, through the hot route too.
            replayed = send(method, path, headers, body)
            assert replayed.headers["Idempotent-Replayed"] == "true"
            assert replayed.json() == with_hot.json()
            headers = {**headers, "Idempotency-Key": f"other-{next(_n)}"}
        if isinstance(body, dict) and "description" in body:
            body = {**body, "description": f"{body['description']}（{next(_n)}）"}
        routes.remove(hot_route)
        try:
            served.clear()
            declared = send(method, path, headers, body)
            assert not served
        finally:
            routes.insert(0, hot_route)
        assert _normalised(with_hot) == _normalised(declared), (method, path, headers, body)


@pytest.mark.parametrize(
    ("method", "body", "status"),
    [("GET", None, 200), ("POST", "report", 201), ("POST", {"description": "x"}, 422)],
)
def test_the_hot_route_names_the_declared_route_and_the_caller(
    client, world, method, body, status, caplog
):
    """Its requests, and those it leaves to the declared route, are logged (and
    timed in /metrics) under the route's template, with the caller's role."""
    body = _report(world) if body == "report" else body
    with caplog.at_level("INFO", logger="linli.access"):
        response = client.request(method, "/v1/tickets", headers=world.reporter.headers, json=body)
    assert response.status_code == status
    (record,) = [r for r in caplog.records if r.name == "linli.access"]
    assert (record.route, record.principal) == ("/v1/tickets", "resident")
