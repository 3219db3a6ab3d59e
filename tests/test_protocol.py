"""`serve`'s HTTP protocol sheds as a request's headers are parsed (issue 13):
over the limit, a request is answered 503 problem+json with Retry-After in the
caller's language without ever becoming a task of the app; its connection is
kept when it had no body; browsers' requests (CORS), probes and the feed go to
the app as before."""

from __future__ import annotations

import http.client
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn
from sqlalchemy.engine import Engine
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from service.auth import mint_token
from service.config import Settings
from service.main import create_app
from service.middleware import current_admission
from service.protocol import SheddingProtocol
from tests.conftest import TEST_SECRET


@pytest.fixture
def served(live_engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[int, list[str]]]:
    """The app on uvicorn with SheddingProtocol; the paths the app was handed."""
    handed: list[str] = []
    original = HttpToolsProtocol.on_headers_complete

    def spy(self: Any) -> None:
        handed.append(self.url.decode())
        original(self)

    monkeypatch.setattr(HttpToolsProtocol, "on_headers_complete", spy)
    settings = Settings(
        database_url=str(live_engine.url.render_as_string(hide_password=False)),
        jwt_secret=TEST_SECRET,
        max_requests_in_flight=4,
        retry_after_seconds=3,
        cors_origins="https://h5.linli.example.cn",
    )
    app = create_app(settings, live_engine, run_jobs=False)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, http=SheddingProtocol, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "server did not start"
        time.sleep(0.01)
    try:
        yield server.servers[0].sockets[0].getsockname()[1], handed
    finally:
        server.should_exit = True
        thread.join(10)


def _get(conn: http.client.HTTPConnection, path: str, **headers: str) -> tuple[int, Any, bytes]:
    conn.request("GET", path, headers=headers)
    response = conn.getresponse()
    return response.status, response.headers, response.read()


def test_over_the_limit_the_protocol_answers_before_the_app(served: tuple[int, list[str]]) -> None:
    port, handed = served
    token = mint_token(
        Settings(jwt_secret=TEST_SECRET), sub="protocol-admin", role="admin", name="admin"
    )
    auth = {"Authorization": f"Bearer {token}"}
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    status, _, _ = _get(conn, "/v1/tickets", **auth)
    assert status == 200  # the app is built, its admission registered
    admission = current_admission()
    assert admission is not None and admission.limit == 4
    socket_before = conn.sock
    handed.clear()
    shed_before = admission.shed
    admission.in_flight = admission.limit  # as if four requests were being worked on
    try:
        status, headers, body = _get(conn, "/v1/tickets", **auth, **{"Accept-Language": "ug"})
        again, _, _ = _get(conn, "/v1/tickets?limit=5", **auth)
        assert (status, again) == (503, 503)
        assert conn.sock is socket_before  # no body: the connection is kept
        assert handed == []  # never handed to the app
        assert headers["Retry-After"] == "3"
        assert headers["Content-Type"] == "application/problem+json"
        assert headers["Content-Language"] == "ug" and headers["Vary"] == "Accept-Language"
        problem = json.loads(body)
        assert problem["status"] == 503 and problem["code"] == "overload.in_flight"
        assert any("\u0600" <= c <= "\u06ff" for c in problem["title"])
        assert admission.shed == shed_before + 2

        # A body the protocol does not read: answered, and the connection closed.
        post = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        post.request(
            "POST",
            "/v1/tickets",
            body=json.dumps({"description": "x" * 5000}),
            headers={**auth, "Content-Type": "application/json"},
        )
        response = post.getresponse()
        assert response.status == 503 and response.headers["Connection"] == "close"
        response.read()
        assert handed == []

        # The app still answers: probes, the feed (never refused), browsers (CORS).
        assert _get(conn, "/healthz")[0] == 200
        browser = {**auth, "Origin": "https://h5.linli.example.cn"}
        status, headers, _ = _get(conn, "/v1/tickets", **browser)
        assert status == 503  # shed by the app's admission, with its CORS headers
        assert headers["Access-Control-Allow-Origin"] == "https://h5.linli.example.cn"
        assert handed == ["/healthz", "/v1/tickets"]
    finally:
        admission.in_flight = 0
    status, _, _ = _get(conn, "/v1/tickets", **auth)
    assert status == 200
