"""The dashboard: who gets in and how, and a real browser drawing its charts."""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import struct
import subprocess
import tempfile
import zlib
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from service.config import Settings
from service.dashboard import sessions
from service.dashboard.charts import bar_chart, line_chart, text_width
from service.db import utcnow
from service.directory.models import Region
from service.sample import demo as demo_module
from service.sample.demo import seed_demo
from tests.conftest import World
from tests.metrics.helpers import category_ids, insert_tickets
from tests.metrics.test_summary import materialise

SCREENSHOT_DIR = Path(os.environ.get("LINLI_SCREENSHOT_DIR", tempfile.gettempdir()))


def _load(db: Session, world: World, *, rate_kashgar: bool = True, open_every: int = 0) -> None:
    """120 weekly tickets in the four communities; `rate_kashgar=False` leaves the
    tickets of 喀什市 (community_k) unrated; `open_every=n` leaves every n-th open."""
    ids = category_ids(db)
    specs = []
    now = dt.datetime.now(dt.UTC)
    for i in range(120):
        created = now - dt.timedelta(days=5 + i * 7)
        late = i % 3 == 0
        community = ("community_a", "community_b", "community_c", "community_k")[i % 4]
        still_open = bool(open_every) and i % open_every == 0
        rated = rate_kashgar or community != "community_k"
        specs.append(
            {
                "community": community,
                "category": ("repair.plumbing", "repair.heating", "elderly.meal", "complaint.fees")[
                    i % 4
                ],
                "reassigned": False,
                "unassigned": False,
                "created_at": created,
                "updated_at": created + dt.timedelta(hours=8),
                "status": "in_progress" if still_open else "closed",
                "respond_by": created + dt.timedelta(hours=2),
                "resolve_by": created + dt.timedelta(hours=24),
                "responded_at": created + dt.timedelta(hours=3 if late else 1),
                "resolved_at": None
                if still_open
                else created + dt.timedelta(hours=30 if late else 6),
                "paused_seconds": 0,
                "rating": (2 if late else 5) if rated and not still_open else None,
                "reopen_count": 0,
                "followed_up": i % 2 == 0 and not still_open,
            }
        )
    insert_tickets(db, [materialise(world, ids, s) for s in specs], set(), world.reporter.user_id)
    db.commit()


def _section(page: str, name: str) -> str:
    match = re.search(rf'<section id="{name}">(.*?)</section>', page, re.S)
    assert match, f"no section {name}"
    return match.group(1)


def _set_action(client: TestClient, world: World, **changes: Any) -> None:
    answer = client.put("/v1/metrics/action", json=changes, headers=world.province_admin.headers)
    assert answer.status_code == 200, answer.text


def test_who_gets_in(client: TestClient, db: Session, world: World) -> None:
    _load(db, world)
    anonymous = client.get("/dashboard")
    # The sign-in page, in Chinese, with a way in that needs no command line.
    assert anonymous.status_code == 401 and "登录" in anonymous.text
    assert 'name="token"' in anonymous.text and "dashboard-link --region" in anonymous.text
    resident = client.get("/dashboard", headers=world.reporter.headers)
    assert resident.status_code == 403 and "无权查看" in resident.text
    page = client.get("/dashboard", headers=world.province_admin.headers)
    assert page.status_code == 200, page.text
    assert page.text.count("<svg") == 6 and "<script" not in page.text
    assert "http://" not in page.text.replace("http://www.w3.org/2000/svg", "")
    # A county admin's page holds only the county's organisations.
    county = client.get("/dashboard", headers=world.other_admin.headers).text
    assert "天山物业服务有限公司" not in county and "范围 喀什市" in county

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
    assert "Secure" not in cookie  # plain http: a Secure cookie would never come back
    again = client.get(url, follow_redirects=False)
    assert again.status_code == 410 and "已使用" in again.text  # once only
    secret = cookie.split(";")[0].split("=", 1)[1]
    client.cookies.clear()
    page = client.get("/dashboard", cookies={"linli_dashboard": secret})
    assert page.status_code == 200 and "<svg" in page.text
    forged = client.get("/dashboard", cookies={"linli_dashboard": "forged"})
    assert forged.status_code == 401 and "登录已过期" in forged.text


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


# --- what the page says -----------------------------------------------------------


def test_a_county_without_ratings_says_so_instead_of_zero(
    client: TestClient, db: Session, world: World
) -> None:
    _load(db, world, rate_kashgar=False)
    page = client.get("/dashboard", headers=world.province_admin.headers).text
    county = _section(page, "county")
    labels = re.findall(r'class="lb"[^>]*><title>([^<]*)</title>', county)
    assert labels[-1] == "喀什市", labels  # unrated counties come after the rated ones
    after = county[county.rindex("喀什市") :]
    assert "无评价 no ratings" in after and "0%" not in after
    # The rated counties still get their bars and rates.
    assert re.search(r"天山区.*?<rect .*?\d+%", county, re.S)


def test_the_ranking_says_why_there_is_none_yet(
    client: TestClient, db: Session, world: World
) -> None:
    _load(db, world)
    _set_action(client, world, min_tickets=1000)
    page = client.get("/dashboard", headers=world.province_admin.headers).text
    ranking = _section(page, "ranking")
    # What is drawn is ticket counts, and the chart says so; no "score" in its title.
    assert "尚无排名" in ranking and "不是得分" in ranking and "1000 单" in ranking
    assert "综合得分" not in ranking
    lists = _section(page, "kpi")
    assert "暂无企业上榜" in lists and "1000 单" in lists

    _set_action(client, world, min_tickets=5)
    ranking = _section(
        client.get("/dashboard", headers=world.province_admin.headers).text, "ranking"
    )
    assert "综合得分排名" in ranking and "尚无排名" not in ranking


def test_empty_red_and_black_lists_say_none_yet(
    client: TestClient, db: Session, world: World
) -> None:
    _load(db, world)
    # Everyone scored, nobody that good or that bad.
    _set_action(client, world, min_tickets=5, red_list_min_score=99.9, black_list_max_score=0.1)
    lists = _section(client.get("/dashboard", headers=world.province_admin.headers).text, "kpi")
    assert "暂无企业上榜" in lists and "没有企业得分" in lists
    # Listed: the table shows them, no "none yet".
    _set_action(client, world, red_list_min_score=1, black_list_max_score=0.5)
    lists = _section(client.get("/dashboard", headers=world.province_admin.headers).text, "kpi")
    assert "红榜</td>" in lists and "暂无企业上榜" not in lists


def test_the_backlog_starts_at_zero_and_each_figure_names_its_cut_off(
    client: TestClient, db: Session, world: World
) -> None:
    _load(db, world, open_every=9)
    page = client.get("/dashboard", headers=world.province_admin.headers).text
    backlog = _section(page, "backlog")
    axis = re.findall(r'class="ax" text-anchor="end">([^<]*)</text>', backlog)
    assert axis[0] == "0", axis
    assert "季度末仍未办结" in backlog and "截至现在" in backlog
    kpi = _section(page, "kpi")
    assert re.search(
        r"积压 backlog<b>\d+</b><small>本期创建、截至 \d{4}-\d\d-\d\d \d\d:\d\d 未办结", kpi
    )


def test_the_care_panel_shows_fulfilment_missed_visits_and_emergency_response(
    client: TestClient, db: Session, world: World
) -> None:
    ids = category_ids(db)
    due = dt.datetime.now(dt.UTC) - dt.timedelta(days=45)
    minute = dt.timedelta(minutes=1)
    base = {
        "community": "community_a",
        "reassigned": False,
        "unassigned": False,
        "respond_by": None,
        "resolve_by": None,
        "paused_seconds": 0,
        "rating": None,
        "reopen_count": 0,
        "followed_up": False,
    }
    specs = [
        {  # three meals delivered, one of them 40 minutes late (marked missed first)
            **base,
            "category": "elderly.meal",
            "created_at": due + i * 1440 * minute - 2880 * minute,
            "updated_at": due + i * 1440 * minute + 90 * minute,
            "status": "resolved",
            "scheduled_for": due + i * 1440 * minute,
            "checked_in_at": due + i * 1440 * minute + (40 if i == 2 else 5) * minute,
            "visit_missed_at": due + i * 1440 * minute + 30 * minute if i == 2 else None,
            "responded_at": due + i * 1440 * minute + 5 * minute,
            "resolved_at": due + i * 1440 * minute + 90 * minute,
            "government_share_percent": 50,
            "elder": 0,
        }
        for i in range(3)
    ] + [
        {  # and one nobody came to
            **base,
            "category": "elderly.meal",
            "created_at": due - 2880 * minute + 4 * 1440 * minute,
            "updated_at": due + 4 * 1440 * minute + 30 * minute,
            "status": "assigned",
            "scheduled_for": due + 4 * 1440 * minute,
            "visit_missed_at": due + 4 * 1440 * minute + 30 * minute,
            "responded_at": None,
            "resolved_at": None,
            "elder": 1,
        },
        {  # 助急 answered after 400 seconds: over the 5-minute target
            **base,
            "category": "elderly.emergency",
            "created_at": due,
            "updated_at": due + 400 * minute / 60,
            "status": "in_progress",
            "responded_at": due + 400 * minute / 60,
            "resolved_at": None,
        },
    ]
    insert_tickets(db, [materialise(world, ids, s) for s in specs], set(), world.reporter.user_id)
    db.commit()
    care = _section(client.get("/dashboard", headers=world.province_admin.headers).text, "care")
    assert "计划服务 visits<b>4</b>" in care
    assert "服务计划完成率<b>75.0%</b>" in care
    assert "上门准时率<b>66.7%</b>" in care
    assert "漏服务 missed<b>2</b>" in care
    assert "助急响应 P90<b>6.7 分钟</b><small>超过目标：5 分钟内响应" in care
    assert "服务老人 elders<b>1</b>" in care
    assert "政府补贴服务<b>3</b><small>补贴占比 50.0%" in care
    assert care.count("<svg") == 1


def test_a_count_axis_starts_at_zero() -> None:
    svg = line_chart(
        "积压", ["2026Q1", "2026Q2", "2026Q3"], [("积压", [14, 20, 28])], percent=False
    )
    axis = re.findall(r'class="ax" text-anchor="end">([^<]*)</text>', svg)
    # From zero, in round steps that reach the largest value.
    assert axis == ["0", "10", "20", "30", "40"], axis
    svg = line_chart("积压", ["Q1"], [("积压", [0, 1])], percent=False)
    assert re.findall(r'class="ax" text-anchor="end">([^<]*)</text>', svg) == [
        "0", "1", "2", "3", "4"
    ]  # fmt: skip


def test_a_missing_quarter_is_a_gap_not_a_line_through_it() -> None:
    svg = line_chart("趋势", ["Q1", "Q2", "Q3", "Q4"], [("满意率", [0.8, None, 0.9, 0.95])])
    paths = re.findall(r'<path d="([^"]*)" fill="none" stroke="#1f6fb2" stroke-width="2.5"', svg)
    assert len(paths) == 1 and paths[0].count("M") == 1 and paths[0].count("L") == 1


def test_long_names_are_not_cut_off_at_the_edge() -> None:
    name = "乌鲁木齐天山宜居物业服务有限公司"
    svg = bar_chart("排名", [(name, 93.5, None), ("喀什古城物业服务有限公司", 71.0, None)])
    first = re.search(r'<text x="([\d.]+)" y="[\d.]+" class="lb" text-anchor="end">', svg)
    assert first and float(first.group(1)) >= text_width(name), (first, text_width(name))
    assert f">{name}</text>" in svg  # drawn whole
    # A name too long for any column is shortened visibly, and kept whole as its tooltip.
    very_long = "新疆维吾尔自治区乌鲁木齐市天山区幸福路街道社区居家养老服务中心有限责任公司"
    svg = bar_chart("排名", [(very_long, 1.0, None)])
    drawn = re.search(r"</title>([^<]*)</text>", svg)
    x = re.search(r'<text x="([\d.]+)"[^>]*class="lb"', svg)
    assert drawn and x and drawn.group(1).endswith("…")
    assert text_width(drawn.group(1)) <= float(x.group(1)) and f"<title>{very_long}</title>" in svg


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
def test_chromium_draws_the_demo_dashboard(
    live: tuple[Any, World],
    live_engine: Any,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The demo's dashboard as an official opens it: a one-time link for the demo
    province, in headless chromium. The screenshot is left in LINLI_SCREENSHOT_DIR
    (default: the temporary directory) as linli-dashboard.png, to be looked at."""
    browser = _chromium()
    if browser is None:
        pytest.skip(
            "Debian's chromium is not installed (`make chromium` installs it with a CJK font):"
            " the dashboard was not drawn in a browser"
        )
    http, _world = live
    # The live world has its own 新疆维吾尔自治区; the demo's is another.
    monkeypatch.setattr(demo_module, "PROVINCE", "新疆维吾尔自治区（演示）")
    with sessionmaker(live_engine).begin() as db:
        seed_demo(db, settings, seed=7)
        province = db.scalars(select(Region).where(Region.name == demo_module.PROVINCE)).one()
        now = utcnow()
        official = sessions.link_user(db, province, now)
        code, _ = sessions.create_code(db, official.id, now, sessions.CLI_CODE_TTL)
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
                "--window-size=1220,1560",
                f"--screenshot={shot}",
                f"{str(http.base_url).rstrip('/')}/dashboard/login?code={code}",
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
    # Not blank, not the sign-in page: bars and lines in the charts' colours.
    assert non_white > total * 0.05, (non_white, total)
    assert blue > 2000 and green > 1000, (blue, green)
    # The link was spent by the browser.
    assert http.get(f"/dashboard/login?code={code}").status_code == 410


def test_response_times_read_in_the_unit_an_official_uses() -> None:
    from service.dashboard.page import _duration

    assert [_duration(v) for v in (None, 45, 400, 18_760)] == ["—", "45 秒", "6.7 分钟", "5.2 小时"]
