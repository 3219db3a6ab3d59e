"""The residents' H5 flow in a real browser (issue 17): headless Chromium opens a
page served from another origin, which uploads a photo, files the ticket with
it, waits for the notification that it is resolved (a provider's console works
it meanwhile, from the same foreign origin), reads the photo and confirms —
every call a cross-origin fetch with its preflight, every header it reads one
that CORS exposes. The exact exchange without a browser: tests/test_cors.py."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from service.config import Settings
from service.i18n import text
from tests.conftest import TEST_SECRET, build_world
from tests.feed.live import live_database, serve

PAGE = (Path(__file__).parent / "page.html").read_bytes()


class PageServer:
    """The H5 page's own origin: serves the page, takes its report."""

    def __init__(self) -> None:
        self.result: dict[str, Any] | None = None
        self.done = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(PAGE)))
                self.end_headers()
                self.wfile.write(PAGE)

            def do_POST(self) -> None:  # noqa: N802
                outer.result = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                self.send_response(204)
                self.end_headers()
                outer.done.set()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.origin = f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> PageServer:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture
def page() -> Iterator[PageServer]:
    with PageServer() as server:
        yield server


@pytest.mark.slow
def test_a_resident_files_with_a_photo_hears_it_is_resolved_and_confirms(
    page: PageServer,
) -> None:
    browser = _chromium()
    if browser is None:
        pytest.skip("Debian's chromium is not installed (`make chromium` installs it)")
    with live_database("linli_h5") as (url, engine):
        settings = Settings(
            database_url=url,
            jwt_secret=TEST_SECRET,
            env="dev",
            cors_origins=page.origin,
            tickets_per_hour=0,
        )
        with serve(settings, engine) as api:
            with httpx.Client(base_url=api, timeout=30) as http:
                world = build_world(http, settings)
            query = urlencode(
                {
                    "api": api.rstrip("/"),
                    "resident": world.reporter.token,
                    "staff": world.technician.token,
                    "community": world.community_a,
                }
            )
            profile = tempfile.mkdtemp(prefix="linli-h5-")
            process = subprocess.Popen(
                [
                    browser,
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--no-first-run",
                    f"--user-data-dir={profile}",
                    f"{page.origin}/?{query}",
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            try:
                assert page.done.wait(90), "the page reported nothing"
            finally:
                process.kill()
                process.wait(10)
                shutil.rmtree(profile, ignore_errors=True)

    out = page.result
    assert out is not None
    assert "error" not in out, out.get("error")
    assert out["upload"]["status"] == 201 and out["upload"]["content_type"] == "image/jpeg"
    created = out["created"]
    assert created["status"] == 201 and created["photos"] == 1
    # Headers the page can read only because CORS exposes them.
    assert created["location"] == f"/v1/tickets/{created['id']}"
    assert created["etag"] and created["etag"].startswith('"')
    # The notification, in the page's language (Uyghur).
    assert out["inbox_language"] == "ug"
    assert out["notification"]["title"] == text("notice.ticket.resolved.title", "ug")
    assert out["read"] == 200
    photo = out["photo"]
    assert photo["status"] == 200 and photo["type"] == "image/jpeg" and photo["etag"]
    assert photo["head"] == [0xFF, 0xD8] and photo["size"] > 1000
    assert out["confirmed"] == {"status": 200, "state": "closed"}
    again = out["again"]
    assert again["status"] == 409 and again["language"] == "ug"
    assert again["code"] == "ticket.action_not_in_status", again
    assert any("\u0600" <= c <= "\u06ff" for c in again["title"])
    # Every call went through: no preflight refused (a refused one throws in fetch).
    assert all(status < 300 for _, _, status in out["steps"][:-1]), out["steps"]
