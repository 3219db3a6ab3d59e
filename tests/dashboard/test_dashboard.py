"""The dashboard: who gets in and how, and a real browser drawing its charts."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import struct
import subprocess
import tempfile
import zlib
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import World
from tests.metrics.helpers import category_ids, insert_tickets
from tests.metrics.test_summary import materialise

SCREENSHOT_DIR = Path(os.environ.get("LINLI_SCREENSHOT_DIR", tempfile.gettempdir()))


def _load(db: Session, world: World) -> None:
    ids = category_ids(db)
    specs = []
    now = dt.datetime.now(dt.UTC)
    for i in range(120):
        created = now - dt.timedelta(days=5 + i * 7)
        late = i % 3 == 0
        specs.append(
            {
                "community": ("community_a", "community_b", "community_c", "community_k")[i % 4],
                "category": ("repair.plumbing", "repair.heating", "elderly.meal", "complaint.fees")[
                    i % 4
                ],
                "reassigned": False,
                "unassigned": False,
                "created_at": created,
                "updated_at": created + dt.timedelta(hours=8),
                "status": "closed",
                "respond_by": created + dt.timedelta(hours=2),
                "resolve_by": created + dt.timedelta(hours=24),
                "responded_at": created + dt.timedelta(hours=3 if late else 1),
                "resolved_at": created + dt.timedelta(hours=30 if late else 6),
                "paused_seconds": 0,
                "rating": 2 if late else 5,
                "reopen_count": 0,
                "followed_up": i % 2 == 0,
            }
        )
    insert_tickets(db, [materialise(world, ids, s) for s in specs], set(), world.reporter.user_id)
    db.commit()


def test_who_gets_in(client: TestClient, db: Session, world: World) -> None:
    _load(db, world)
    anonymous = client.get("/dashboard")
    assert anonymous.status_code == 401 and "/v1/dashboard/links" in anonymous.text
    resident = client.get("/dashboard", headers=world.reporter.headers)
    assert resident.status_code == 403
    page = client.get("/dashboard", headers=world.province_admin.headers)
    assert page.status_code == 200, page.text
    assert page.text.count("<svg") == 5 and "<script" not in page.text
    assert "http://" not in page.text.replace("http://www.w3.org/2000/svg", "")
    # A county admin's page holds only the county's organisations.
    county = client.get("/dashboard", headers=world.other_admin.headers).text
    assert "天山物业服务有限公司" not in county

    for actor in (world.dispatcher, world.reporter):
        assert client.post("/v1/dashboard/links", headers=actor.headers).status_code == 403
    link = client.post("/v1/dashboard/links", headers=world.admin.headers)
    assert link.status_code == 201, link.text
    url = link.json()["url"]
    assert url.startswith("/dashboard/login?code=")
    opened = client.get(url, follow_redirects=False)
    assert opened.status_code == 303 and opened.headers["location"] == "/dashboard"
    cookie = opened.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/dashboard" in cookie
    assert client.get(url, follow_redirects=False).status_code == 401  # once only
    secret = cookie.split(";")[0].split("=", 1)[1]
    client.cookies.clear()
    page = client.get("/dashboard", cookies={"linli_dashboard": secret})
    assert page.status_code == 200 and "<svg" in page.text
    assert client.get("/dashboard", cookies={"linli_dashboard": "forged"}).status_code == 401


def test_a_link_opens_the_view_it_names(client: TestClient, world: World) -> None:
    view = {"from": "2026-01-01", "to": "2026-04-01", "kind": "complaint"}
    link = client.post("/v1/dashboard/links", json=view, headers=world.admin.headers)
    assert link.status_code == 201, link.text
    opened = client.get(link.json()["url"], follow_redirects=False)
    assert opened.status_code == 303
    assert opened.headers["location"] == "/dashboard?from=2026-01-01&to=2026-04-01&kind=complaint"
    for bad in ({"region_id": 0}, {"kind": "party"}, {"next": "https://evil.example"}):
        refused = client.post("/v1/dashboard/links", json=bad, headers=world.admin.headers)
        assert refused.status_code == 422, (bad, refused.text)


# --- a real browser ------------------------------------------------------------


def _png_pixels(path: Path) -> tuple[int, int, list[bytes]]:
    """Rows of RGB(A) bytes of a non-interlaced 8-bit PNG (no imaging library needed)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks, header = 8, [], b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            chunks.append(body)
        pos += 12 + length
    width, height, depth, colour = struct.unpack(">IIBB", header[:10])
    assert depth == 8 and colour in (2, 6)
    bpp = 3 if colour == 2 else 4
    raw = zlib.decompress(b"".join(chunks))
    stride = width * bpp
    rows, previous = [], bytearray(stride)
    for y in range(height):
        kind = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        if kind == 1:
            for i in range(bpp, stride):
                line[i] = (line[i] + line[i - bpp]) & 0xFF
        elif kind == 2:
            for i in range(stride):
                line[i] = (line[i] + previous[i]) & 0xFF
        elif kind == 3:
            for i in range(stride):
                left = line[i - bpp] if i >= bpp else 0
                line[i] = (line[i] + ((left + previous[i]) >> 1)) & 0xFF
        elif kind == 4:
            for i in range(stride):
                a = line[i - bpp] if i >= bpp else 0
                b = previous[i]
                c = previous[i - bpp] if i >= bpp else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else b if pb <= pc else c
                line[i] = (line[i] + pred) & 0xFF
        rows.append(bytes(line))
        previous = line
    return width, bpp, rows


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.slow
def test_chromium_draws_the_charts(live: tuple[Any, World], live_engine: Any) -> None:
    browser = _chromium()
    if browser is None:
        pytest.skip("Debian's chromium is not installed and `make chromium` could not install it")
    http, world = live
    with sessionmaker(live_engine)() as db:
        _load(db, world)
    http.put(
        "/v1/metrics/action", json={"min_tickets": 5}, headers=world.province_admin.headers
    ).raise_for_status()
    link = http.post("/v1/dashboard/links", headers=world.province_admin.headers)
    assert link.status_code == 201, link.text
    shot = SCREENSHOT_DIR / "linli-dashboard.png"
    shot.unlink(missing_ok=True)
    profile = tempfile.mkdtemp(prefix="linli-chromium-")
    try:
        subprocess.run(
            [
                browser,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                f"--user-data-dir={profile}",
                "--hide-scrollbars",
                "--force-device-scale-factor=1",
                "--window-size=1220,1150",
                f"--screenshot={shot}",
                str(http.base_url).rstrip("/") + link.json()["url"],
            ],
            check=True,
            timeout=120,
            capture_output=True,
        )
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    assert shot.exists(), "chromium wrote no screenshot"
    width, bpp, rows = _png_pixels(shot)
    non_white = blue = green = 0
    for line in rows:
        for x in range(0, width * bpp, bpp):
            r, g, b = line[x], line[x + 1], line[x + 2]
            if r < 235 or g < 235 or b < 235:
                non_white += 1
            if abs(r - 0x1F) < 25 and abs(g - 0x6F) < 25 and abs(b - 0xB2) < 25:
                blue += 1
            if abs(r - 0x2A) < 25 and abs(g - 0x9D) < 25 and abs(b - 0x5B) < 25:
                green += 1
    total = width * len(rows)
    # Not blank, not the login page: bars and lines in the charts' colours.
    assert non_white > total * 0.05, (non_white, total)
    assert blue > 2000 and green > 1000, (blue, green)
