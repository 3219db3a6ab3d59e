"""How an official's browser gets into the dashboard: the sign-in page (the
gateway's token pasted), one-time links (single use, short-lived, scoped to one
region), and a session cookie that only the dashboard's GET routes honour."""

from __future__ import annotations

import datetime as dt
import hashlib

from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from service.dashboard import sessions
from service.dashboard.models import DashboardSession
from service.db import utcnow
from service.directory.models import Region
from tests.conftest import World


def _cookie(response: object) -> str:
    header = response.headers["set-cookie"]  # type: ignore[attr-defined]
    return header.split(";")[0].split("=", 1)[1]


def _region_link(db: Session, region_id: int, ttl: dt.timedelta = sessions.CLI_CODE_TTL) -> str:
    """What `python -m service dashboard-link --region ...` makes (tested in test_cli)."""
    region = db.get(Region, region_id)
    assert region is not None
    now = utcnow()
    user = sessions.link_user(db, region, now)
    code, _ = sessions.create_code(db, user.id, now, ttl)
    db.commit()
    return f"/dashboard/login?code={code}"


def test_the_sign_in_page_is_in_chinese_and_offers_both_ways_in(client: TestClient) -> None:
    page = client.get("/dashboard/login")
    assert page.status_code == 200
    assert '<html lang="zh-Hans">' in page.text and "登录服务质量看板" in page.text
    assert '<form method="post" action="/dashboard/login">' in page.text
    assert "python -m service dashboard-link --region" in page.text
    assert "<script" not in page.text and page.headers["cache-control"] == "no-store"
    # The view asked for is carried through the form.
    page = client.get("/dashboard/login?from=2026-01-01&kind=complaint&evil=1")
    assert '<input type="hidden" name="from" value="2026-01-01">' in page.text
    assert 'name="evil"' not in page.text


def test_a_pasted_token_opens_a_session(client: TestClient, world: World) -> None:
    signed_in = client.post(
        "/dashboard/login",
        data={"token": f"Bearer {world.admin.token}", "kind": "complaint"},
        headers={"Origin": "http://testserver"},  # a browser posting this site's form
        follow_redirects=False,
    )
    assert signed_in.status_code == 303, signed_in.text
    assert signed_in.headers["location"] == "/dashboard?kind=complaint"
    cookie = signed_in.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/dashboard" in cookie
    page = client.get("/dashboard")  # the client sends the cookie back
    assert page.status_code == 200 and "范围 天山区" in page.text

    logged_out = client.post("/dashboard/logout", follow_redirects=False)
    assert logged_out.status_code == 303 and logged_out.headers["location"] == "/dashboard/login"
    assert client.get("/dashboard").status_code == 401
    # The session is gone on the server too, not only from the browser.
    assert (
        client.get("/dashboard", cookies={"linli_dashboard": _cookie(signed_in)}).status_code == 401
    )


def test_a_pasted_token_must_be_a_valid_admins(client: TestClient, world: World) -> None:
    for token, status, words in (
        ("", 401, "令牌无效"),
        ("not-a-token", 401, "令牌无效"),
        (world.admin.token[:-4] + "AAAA", 401, "令牌无效"),
        (world.reporter.token, 403, "无权查看"),
        (world.dispatcher.token, 403, "无权查看"),
    ):
        refused = client.post("/dashboard/login", data={"token": token}, follow_redirects=False)
        assert refused.status_code == status and words in refused.text, (token, refused.text)
        assert "set-cookie" not in refused.headers
    # Another site's form cannot sign a browser in (login CSRF).
    forged = client.post(
        "/dashboard/login",
        data={"token": world.admin.token},
        headers={"Origin": "https://evil.example"},
        follow_redirects=False,
    )
    assert forged.status_code == 403 and "set-cookie" not in forged.headers


def test_the_cookie_is_secure_over_https(app: object, world: World) -> None:
    with TestClient(app, base_url="https://dashboard.example") as https:  # type: ignore[arg-type]
        signed_in = https.post(
            "/dashboard/login", data={"token": world.admin.token}, follow_redirects=False
        )
    assert signed_in.status_code == 303
    assert "Secure" in signed_in.headers["set-cookie"]


def test_a_link_is_single_use_and_stored_hashed(
    client: TestClient, db: Session, world: World
) -> None:
    url = _region_link(db, world.tianshan)
    code = url.split("code=")[1]
    stored = db.scalars(select(DashboardSession.token_hash)).all()
    assert hashlib.sha256(code.encode()).hexdigest() in stored and code not in stored

    opened = client.get(url, follow_redirects=False)
    assert opened.status_code == 303 and opened.headers["location"] == "/dashboard"
    again = client.get(url, follow_redirects=False)
    assert again.status_code == 410 and "登录链接已使用" in again.text
    assert "set-cookie" not in again.headers
    unknown = client.get("/dashboard/login?code=nonsense", follow_redirects=False)
    assert unknown.status_code == 401 and "登录链接无效" in unknown.text


def test_an_expired_link_says_so(client: TestClient, db: Session, world: World) -> None:
    url = _region_link(db, world.tianshan)
    db.execute(update(DashboardSession).values(expires_at=utcnow() - dt.timedelta(seconds=1)))
    db.commit()
    expired = client.get(url, follow_redirects=False)
    assert expired.status_code == 410 and "登录链接已过期" in expired.text
    assert "set-cookie" not in expired.headers


def test_an_expired_session_signs_in_again(client: TestClient, db: Session, world: World) -> None:
    client.get(_region_link(db, world.tianshan), follow_redirects=False)
    assert client.get("/dashboard").status_code == 200
    db.execute(
        update(DashboardSession)
        .where(DashboardSession.kind == "session")
        .values(expires_at=utcnow() - dt.timedelta(seconds=1))
    )
    db.commit()
    page = client.get("/dashboard")
    assert page.status_code == 401 and "登录已过期" in page.text


def test_a_county_link_shows_only_its_county(client: TestClient, db: Session, world: World) -> None:
    from tests.dashboard.test_dashboard import _load

    _load(db, world)
    client.get(_region_link(db, world.kashi_city), follow_redirects=False)
    page = client.get("/dashboard")
    assert page.status_code == 200, page.text
    assert "范围 喀什市" in page.text and "喀什城市物业有限公司" in page.text
    assert "天山物业服务有限公司" not in page.text and "天山区" not in page.text
    # Another county's view is not found, and says nothing of it.
    other = client.get(f"/dashboard?region_id={world.tianshan}")
    assert other.status_code == 404 and "天山" not in other.text


def test_the_cookie_opens_only_the_dashboards_pages(
    client: TestClient, db: Session, world: World
) -> None:
    client.get(_region_link(db, world.province), follow_redirects=False)
    secret = client.cookies["linli_dashboard"]
    client.cookies.clear()
    jar = {"linli_dashboard": secret}
    assert client.get("/dashboard", cookies=jar).status_code == 200
    # The API answers bearer tokens only, whatever cookie the browser holds.
    for method, path in (
        ("GET", "/v1/metrics/summary"),
        ("GET", "/v1/tickets"),
        ("GET", "/v1/me"),
        ("POST", "/v1/dashboard/links"),
    ):
        answer = client.request(method, path, cookies=jar)
        assert answer.status_code == 401, (method, path, answer.text)
    # and the dashboard's only write is signing out.
    assert client.post("/dashboard", cookies=jar).status_code == 405


def test_only_the_dashboards_forms_may_post_urlencoded(client: TestClient, world: World) -> None:
    form = {"category": "repair.plumbing", "description": "漏水"}
    refused = client.post("/v1/tickets", data=form, headers=world.reporter.headers)
    assert refused.status_code == 415
    assert refused.headers["content-type"].startswith("application/problem+json")


def test_a_link_opened_eight_times_at_once_opens_one_session(live) -> None:  # type: ignore[no-untyped-def]
    """Under parallel requests one code opened up to 8 sessions on PostgreSQL:
    exactly one request may spend it (a conditional UPDATE), on real connections."""
    from concurrent.futures import ThreadPoolExecutor

    import httpx

    http, world = live
    link = http.post("/v1/dashboard/links", headers=world.province_admin.headers)
    assert link.status_code in (200, 201), link.text
    url = str(http.base_url).rstrip("/") + link.json()["url"]

    def open_link(_: int) -> httpx.Response:
        with httpx.Client(timeout=30) as browser:
            return browser.get(url, follow_redirects=False)

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(open_link, range(8)))
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [303] + [410] * 7, statuses
    assert sum("set-cookie" in a.headers for a in answers) == 1


def test_the_dashboards_pages_carry_a_content_security_policy(
    client: TestClient, world: World
) -> None:
    for page in (
        client.get("/dashboard/login"),
        client.get("/dashboard"),
        client.get("/dashboard", headers=world.province_admin.headers),
    ):
        policy = page.headers["content-security-policy"]
        assert "default-src 'none'" in policy and "frame-ancestors 'none'" in policy
        assert "script-src" not in policy  # no script may run there at all
        assert page.headers["x-frame-options"] == "DENY"
        assert page.headers["x-content-type-options"] == "nosniff"
        assert page.headers["referrer-policy"] == "no-referrer"
    api = client.get("/v1/me", headers=world.province_admin.headers)
    assert api.headers["x-content-type-options"] == "nosniff"
    assert "content-security-policy" not in api.headers  # /docs needs its scripts
