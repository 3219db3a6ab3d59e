"""Care plans make visits: exactly the right ones, once, in local time, skipping
holidays when asked; edits reshape only the visits to come; pausing cancels
them; bad rules change nothing; tickets may name the elder they serve."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service.care import horizon, plans
from service.care.models import CarePlan
from service.jobs import JobContext
from service.tickets.models import Ticket, TicketEvent
from tests.care.helpers import link_proxy, register
from tests.conftest import Actor, file_ticket

URUMQI = "Asia/Urumqi"
# 2026's National Day and Mid-Autumn holiday: 1-8 October (State Council notice).
BEFORE_NATIONAL_DAY = dt.datetime(2026, 9, 28, 0, 0, tzinfo=dt.UTC)


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> dict[str, dt.datetime]:
    """The plans' idea of now (edits reshape from it)."""
    now = {"now": BEFORE_NATIONAL_DAY}
    monkeypatch.setattr(plans, "utcnow", lambda: now["now"])
    return now


@pytest.fixture
def urumqi(client, world) -> None:
    """Tianshan keeps Xinjiang time (UTC+6)."""
    response = client.patch(
        f"/v1/regions/{world.tianshan}",
        json={"timezone": URUMQI},
        headers=world.province_admin.headers,
    )
    assert response.status_code == 200, response.text


def plan_body(elder_id: int, **overrides: Any) -> dict[str, Any]:
    body = {
        "elder_id": elder_id,
        "category": "elderly.meal",
        "rrule": "FREQ=DAILY",
        "time": "11:30",
        "duration_minutes": 45,
        "starts_on": "2026-09-28",
        "skip_holidays": True,
        "government_share_percent": 60,
        "note": "少盐少油，送到门口",
    }
    body.update(overrides)
    return body


def make_plan(client, actor: Actor, elder_id: int, **overrides: Any) -> dict[str, Any]:
    response = client.post(
        "/v1/care-plans", json=plan_body(elder_id, **overrides), headers=actor.headers
    )
    assert response.status_code == 201, response.text
    return response.json()


def run(db: Session, now: dt.datetime, hours: int = 48) -> int:
    _, made = horizon.make_batch(db, now, dt.timedelta(hours=hours), "Asia/Shanghai")
    db.flush()
    return made


def visits(db: Session, plan_id: int) -> list[Ticket]:
    db.expire_all()
    return list(
        db.scalars(
            select(Ticket).where(Ticket.care_plan_id == plan_id).order_by(Ticket.scheduled_for)
        )
    )


def created_events(db: Session, plan_id: int) -> int:
    return db.scalar(
        select(func.count())
        .select_from(TicketEvent)
        .join(Ticket, Ticket.id == TicketEvent.ticket_id)
        .where(Ticket.care_plan_id == plan_id, TicketEvent.type == "ticket.created")
    )


def test_a_holiday_week_makes_exactly_the_right_visits_once(client, world, db, clock, urumqi):
    elder = register(client, world.grid_worker, world.community_a)
    plan = make_plan(client, world.grid_worker, elder["id"])
    assert plan["next_visit_at"] == "2026-09-28T05:30:00Z"  # 11:30 in Ürümqi
    # Ten days ahead: 28 Sep - 7 Oct; 1-7 October are the holiday.
    assert run(db, BEFORE_NATIONAL_DAY, hours=240) == 3
    assert run(db, BEFORE_NATIONAL_DAY, hours=240) == 0  # the job run again: nothing
    made = visits(db, plan["id"])
    assert [v.scheduled_for for v in made] == [
        at("2026-09-28T05:30"),
        at("2026-09-29T05:30"),
        at("2026-09-30T05:30"),
    ]
    assert created_events(db, plan["id"]) == 3
    first = client.get(f"/v1/tickets/{made[0].id}", headers=world.care_dispatcher.headers)
    assert first.status_code == 200, first.text
    ticket = first.json()
    assert ticket["status"] == "assigned" and ticket["organization_id"] == world.care
    assert ticket["kind"] == "elderly_care" and ticket["channel"] == "care_plan"
    assert ticket["elder_id"] == elder["id"] and ticket["care_plan_id"] == plan["id"]
    assert ticket["scheduled_for"] == "2026-09-28T05:30:00Z"
    assert ticket["government_share_percent"] == 60
    # The elderly-care policy resolves by the end of the visit's window.
    assert ticket["sla"]["resolve_by"] == "2026-09-28T06:15:00Z"
    assert ticket["sla"]["respond_by"] is not None
    # The elder's sensitive values are nowhere in the visit.
    assert elder["phone"] not in first.text and elder["health_notes"] not in first.text
    # Later the days after the holiday come, each once.
    assert run(db, at("2026-10-06T00:00"), hours=72) == 1  # 8 Oct: 7 Oct still off
    assert [v.scheduled_for.date() for v in visits(db, plan["id"])][-1] == dt.date(2026, 10, 8)
    # Without skip_holidays the holiday has its meals.
    other = make_plan(client, world.grid_worker, elder["id"], skip_holidays=False)
    assert run(db, BEFORE_NATIONAL_DAY, hours=240) == 10
    assert len(visits(db, other["id"])) == 10


def test_local_time_across_the_utc_date_boundary(client, world, db, clock, urumqi):
    """05:00 on Monday in Ürümqi is 23:00 on Sunday in UTC."""
    clock["now"] = at("2026-09-27T00:00")
    elder = register(client, world.grid_worker, world.community_a)
    plan = make_plan(
        client,
        world.care_dispatcher,
        elder["id"],
        rrule="FREQ=WEEKLY;BYDAY=MO",
        time="05:00",
        starts_on="2026-09-28",
        skip_holidays=False,
    )
    assert plan["next_visit_at"] == "2026-09-27T23:00:00Z"
    run(db, at("2026-09-27T00:00"), hours=24 * 15)
    assert [v.scheduled_for for v in visits(db, plan["id"])] == [
        at("2026-09-27T23:00"),
        at("2026-10-04T23:00"),
        at("2026-10-11T23:00"),
    ]


def test_edits_reshape_only_the_visits_to_come(client, world, db, clock, urumqi):
    elder = register(client, world.grid_worker, world.community_a)
    plan = make_plan(client, world.grid_worker, elder["id"], skip_holidays=False)
    run(db, BEFORE_NATIONAL_DAY, hours=96)  # 28 Sep - 1 Oct
    made = visits(db, plan["id"])
    assert len(made) == 4
    started = made[2]  # the carer is early on the 30th
    started.status = "in_progress"
    db.flush()
    clock["now"] = at("2026-09-29T08:00")  # the 28th's and 29th's visits are past
    changed = client.patch(
        f"/v1/care-plans/{plan['id']}",
        json={"time": "12:00", "duration_minutes": 30, "government_share_percent": 80},
        headers=world.grid_worker.headers,
    )
    assert changed.status_code == 200, changed.text
    after = {v.id: v for v in visits(db, plan["id"])}
    assert after[made[0].id].status == "assigned" and after[made[1].id].status == "assigned"
    assert after[made[0].id].government_share_percent == 60  # past: untouched
    assert after[started.id].status == "in_progress"
    assert after[made[3].id].status == "cancelled" and after[made[3].id].plan_occurrence is None
    cancelled = db.scalars(
        select(TicketEvent).where(
            TicketEvent.ticket_id == made[3].id, TicketEvent.type == "ticket.cancelled"
        )
    ).all()
    assert len(cancelled) == 1 and cancelled[0].data["care_plan_change"] == "changed"
    # The job makes the new times from now on (12:00 in Ürümqi, 06:00 UTC).
    run(db, clock["now"], hours=72)
    new = [v for v in visits(db, plan["id"]) if v.id not in after]
    assert [v.scheduled_for for v in new] == [
        at("2026-09-30T06:00"),
        at("2026-10-01T06:00"),
        at("2026-10-02T06:00"),
    ]
    assert {v.government_share_percent for v in new} == {80}
    assert {v.preferred_to - v.scheduled_for for v in new} == {dt.timedelta(minutes=30)}
    # A note alone moves nothing.
    count = len(visits(db, plan["id"]))
    client.patch(
        f"/v1/care-plans/{plan['id']}",
        json={"note": "改为送到社区食堂"},
        headers=world.grid_worker.headers,
    ).raise_for_status()
    assert run(db, clock["now"], hours=72) == 0 and len(visits(db, plan["id"])) == count


def test_a_visit_someone_cancelled_is_not_made_again(client, world, db, clock, urumqi):
    elder = register(client, world.grid_worker, world.community_a)
    plan = make_plan(client, world.grid_worker, elder["id"], skip_holidays=False)
    run(db, BEFORE_NATIONAL_DAY, hours=48)
    first = visits(db, plan["id"])[-1]
    cancelled = client.post(
        f"/v1/tickets/{first.id}/cancel", json={"reason": "老人住院"}, headers=world.admin.headers
    )
    assert cancelled.status_code == 200, cancelled.text
    clock["now"] = BEFORE_NATIONAL_DAY + dt.timedelta(hours=1)
    client.patch(
        f"/v1/care-plans/{plan['id']}",
        json={"government_share_percent": 70},
        headers=world.grid_worker.headers,
    ).raise_for_status()
    run(db, clock["now"], hours=48)
    same_time = [v for v in visits(db, plan["id"]) if v.scheduled_for == first.scheduled_for]
    assert len(same_time) == 1


def test_pausing_cancels_the_visits_to_come_and_resuming_makes_them(
    client, world, db, clock, urumqi
):
    elder = register(client, world.grid_worker, world.community_a)
    plan = make_plan(client, world.grid_worker, elder["id"], skip_holidays=False)
    run(db, BEFORE_NATIONAL_DAY, hours=72)
    assert len(visits(db, plan["id"])) == 3
    clock["now"] = BEFORE_NATIONAL_DAY + dt.timedelta(hours=6)  # the 28th's visit is past
    paused = client.patch(
        f"/v1/care-plans/{plan['id']}",
        json={"active": False},
        headers=world.care_dispatcher.headers,
    )
    assert paused.status_code == 200, paused.text
    assert paused.json()["active"] is False and paused.json()["next_visit_at"] is None
    statuses = [v.status for v in visits(db, plan["id"])]
    assert statuses == ["assigned", "cancelled", "cancelled"]
    assert run(db, clock["now"], hours=72) == 0
    resumed = client.patch(
        f"/v1/care-plans/{plan['id']}", json={"active": True}, headers=world.care_dispatcher.headers
    )
    assert resumed.json()["next_visit_at"] == "2026-09-29T05:30:00Z"
    assert run(db, clock["now"], hours=72) == 3  # 29, 30 Sep and 1 Oct


def test_ending_a_plan_cancels_what_comes_after(client, world, db, clock, urumqi):
    elder = register(client, world.grid_worker, world.community_a)
    plan = make_plan(client, world.grid_worker, elder["id"], skip_holidays=False)
    run(db, BEFORE_NATIONAL_DAY, hours=96)
    ended = client.patch(
        f"/v1/care-plans/{plan['id']}", json={"ends_on": "2026-09-29"}, headers=world.admin.headers
    )
    assert ended.status_code == 200, ended.text
    assert [v.status for v in visits(db, plan["id"])] == [
        "assigned",
        "assigned",
        "cancelled",
        "cancelled",
    ]
    assert run(db, at("2026-09-30T00:00"), hours=72) == 0
    again = client.get(f"/v1/care-plans/{plan['id']}", headers=world.admin.headers).json()
    assert again["next_visit_at"] is None


@pytest.mark.parametrize(
    ("change", "field", "code"),
    [
        ({"rrule": "FREQ=SECONDLY"}, "rrule", "care_plan.rrule_too_frequent"),
        ({"rrule": "FREQ=HOURLY;INTERVAL=4"}, "rrule", "care_plan.rrule_too_frequent"),
        ({"rrule": "FREQ=DAILY;BYHOUR=9"}, "rrule", "care_plan.rrule_sets_time"),
        ({"rrule": "FREQ=DAILY;BYDAY=XX"}, "rrule", "care_plan.rrule_invalid"),
        ({"rrule": "EVERY DAY"}, "rrule", "care_plan.rrule_invalid"),
        ({"rrule": "FREQ=MONTHLY;BYDAY=9MO"}, "rrule", "care_plan.rrule_invalid"),
        ({"rrule": "FREQ=DAILY;X-NAME=1"}, "rrule", "care_plan.rrule_part_unknown"),
        ({"rrule": "FREQ=DAILY;COUNT=100000"}, "rrule", "care_plan.rrule_bound"),
        ({"rrule": "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30"}, "rrule", "care_plan.rrule_never_occurs"),
        (  # from a Tuesday, every seventh day is a Tuesday
            {"rrule": "FREQ=DAILY;INTERVAL=7;BYDAY=MO", "starts_on": "2026-09-29"},
            "rrule",
            "care_plan.rrule_never_occurs",
        ),
        ({"time": "24:00"}, "time", "validation.time_of_day"),
        ({"government_share_percent": 101}, "government_share_percent", None),
        ({"category": "repair.plumbing"}, "category", None),
        ({"category": "elderly.emergency"}, "category", "care_plan.category_not_plannable"),
        ({"ends_on": "2026-09-01"}, "ends_on", "care_plan.ends_before_start"),
    ],
)
def test_bad_plans_are_refused_with_a_code_and_change_nothing(
    client, world, db, clock, change, field, code
):
    elder = register(client, world.grid_worker, world.community_a)
    before = db.scalar(select(func.count()).select_from(CarePlan))
    response = client.post(
        "/v1/care-plans",
        json=plan_body(elder["id"], **change),
        headers={**world.grid_worker.headers, "Accept-Language": "ug"},
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert [e["field"] for e in problem["errors"]] == [field], problem
    if code is not None:
        assert problem["errors"][0]["code"] == code, problem
    assert db.scalar(select(func.count()).select_from(CarePlan)) == before


def test_a_bad_edit_changes_nothing(client, world, db, clock, urumqi):
    elder = register(client, world.grid_worker, world.community_a)
    plan = make_plan(client, world.grid_worker, elder["id"], skip_holidays=False)
    run(db, BEFORE_NATIONAL_DAY, hours=72)
    for body in ({"rrule": "FREQ=MINUTELY"}, {"rrule": "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30"}):
        response = client.patch(
            f"/v1/care-plans/{plan['id']}", json=body, headers=world.grid_worker.headers
        )
        assert response.status_code == 422, response.text
    now = client.get(f"/v1/care-plans/{plan['id']}", headers=world.admin.headers).json()
    assert {**now, "next_visit_at": None} == {**plan, "next_visit_at": None}
    assert [v.status for v in visits(db, plan["id"])] == ["assigned"] * 3


def test_who_may_plan(client, world, db, clock):
    elder = register(client, world.grid_worker, world.community_a)
    link_proxy(client, world.grid_worker, elder["id"], user_id=world.reporter.user_id)
    for actor in (world.reporter, world.technician):
        response = client.post("/v1/care-plans", json=plan_body(elder["id"]), headers=actor.headers)
        assert response.status_code == 403, (actor.name, response.text)
        assert response.json()["code"] == "care_plan.may_not_edit"
    # Dispatchers may plan, where they keep elders: a property company keeps none.
    for actor in (world.other_grid_worker, world.dispatcher, world.other_admin):
        far = client.post("/v1/care-plans", json=plan_body(elder["id"]), headers=actor.headers)
        assert far.status_code == 422, (actor.name, far.text)
        assert far.json()["errors"][0]["code"] == "care_plan.elder_unknown"
    plan = make_plan(client, world.care_dispatcher, elder["id"])
    # The proxy reads their parent's plans; a neighbour and the property company do not.
    mine = client.get("/v1/care-plans", headers=world.reporter.headers).json()["items"]
    assert [p["id"] for p in mine] == [plan["id"]]
    for actor in (world.neighbour, world.dispatcher, world.other_admin):
        assert client.get(f"/v1/care-plans/{plan['id']}", headers=actor.headers).status_code == 404
        assert client.get("/v1/care-plans", headers=actor.headers).json()["items"] == []


# --- tickets for an elder -------------------------------------------------------------


def test_tickets_name_the_elder_they_serve(client, world, db):
    elder = register(client, world.grid_worker, world.community_a)
    link_proxy(client, world.grid_worker, elder["id"], user_id=world.reporter.user_id)
    body = {"category": "elderly.bathing", "elder_id": elder["id"]}
    by_worker = file_ticket(client, world.grid_worker, world.community_a, **body)
    assert by_worker["elder_id"] == elder["id"] and by_worker["scheduled_for"] is None
    # The grid worker needs no on_behalf_of when the elder is named.
    bare = {
        "category": "elderly.meal",
        "community_id": world.community_a,
        "description": "送午餐",
        "elder_id": elder["id"],
    }
    for actor in (world.grid_worker, world.care_dispatcher, world.admin, world.reporter):
        response = client.post("/v1/tickets", json=bare, headers=actor.headers)
        assert response.status_code == 201, (actor.name, response.text)
        assert response.json()["elder_id"] == elder["id"]
        assert elder["phone"] not in response.text
    for actor in (world.neighbour, world.dispatcher, world.other_grid_worker, world.other_admin):
        response = client.post("/v1/tickets", json=bare, headers=actor.headers)
        assert response.status_code == 422, (actor.name, response.text)
        assert response.json()["errors"][0]["code"] == "ticket.elder_not_yours"
    elsewhere = client.post(
        "/v1/tickets",
        json={**bare, "community_id": world.community_b},
        headers=world.admin.headers,
    )
    assert elsewhere.json()["errors"][0]["code"] == "ticket.elder_other_community"
    repair = client.post(
        "/v1/tickets",
        json={**bare, "category": "repair.plumbing"},
        headers=world.grid_worker.headers,
    )
    assert repair.status_code == 422
    assert repair.json()["errors"][0]["code"] == "ticket.elder_needs_care_category"
    planned = client.post(
        "/v1/tickets", json={**bare, "channel": "care_plan"}, headers=world.grid_worker.headers
    )
    assert planned.status_code == 422


# --- racing instances on real connections ----------------------------------------------


def test_two_workers_racing_make_each_visit_once(live, live_engine, settings, monkeypatch):
    http, w = live
    monkeypatch.setattr(plans, "utcnow", lambda: BEFORE_NATIONAL_DAY)
    http.patch(
        f"/v1/regions/{w.tianshan}", json={"timezone": URUMQI}, headers=w.province_admin.headers
    ).raise_for_status()
    elder = register(http, w.grid_worker, w.community_a)  # type: ignore[arg-type]
    plan_ids = []
    for n in range(12):
        response = http.post(
            "/v1/care-plans",
            json=plan_body(elder["id"], time=f"{8 + n % 10:02d}:{n % 4 * 15:02d}"),
            headers=w.grid_worker.headers,
        )
        assert response.status_code == 201, response.text
        plan_ids.append(response.json()["id"])
    context = JobContext(
        engine=live_engine,
        settings=settings.model_copy(update={"care_horizon_hours": 240}),
        now=BEFORE_NATIONAL_DAY,
    )
    monkeypatch.setattr(horizon, "BATCH", 5)  # several batches each
    barrier = threading.Barrier(2)
    made: list[int] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            barrier.wait()
            made.append(horizon.make_visits(context))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert horizon.make_visits(context) == 0  # and once more: nothing
    with Session(live_engine) as session:
        rows = session.execute(
            select(Ticket.care_plan_id, Ticket.scheduled_for).where(
                Ticket.care_plan_id.in_(plan_ids)
            )
        ).all()
        events = session.scalar(
            select(func.count())
            .select_from(TicketEvent)
            .join(Ticket, Ticket.id == TicketEvent.ticket_id)
            .where(Ticket.care_plan_id.in_(plan_ids), TicketEvent.type == "ticket.created")
        )
    assert len(rows) == len(set(rows)) == 12 * 3  # 28-30 September, the holiday skipped
    assert sum(made) == 12 * 3 and events == 12 * 3


def test_erasing_the_elder_stops_the_plans_and_cancels_the_visits_to_come(client, world, db):
    """Nobody is sent to the door of someone erased (PIPL): the plan stops, the
    visits to come are cancelled, and the job makes no more."""
    from service.db import utcnow

    now = utcnow()
    elder = register(client, world.grid_worker, world.community_a)
    starts = (now + dt.timedelta(days=1)).date().isoformat()
    plan = make_plan(client, world.grid_worker, elder["id"], skip_holidays=False, starts_on=starts)
    assert run(db, now, hours=96) >= 3
    erased = client.delete(f"/v1/elders/{elder['id']}", headers=world.grid_worker.headers)
    assert erased.status_code == 204, erased.text
    assert {v.status for v in visits(db, plan["id"])} == {"cancelled"}
    db.expire_all()
    assert db.get(CarePlan, plan["id"]).active is False
    assert run(db, now, hours=96) == 0


def test_a_visit_due_before_the_jobs_next_turn_is_made_with_the_plan(
    client, world, db, clock, urumqi
):
    """Planned at 11:22 for 11:30 the same day: the job (every 5 minutes) might
    only come after 11:30 and would not make a visit already past; the plan makes
    it itself, once."""
    clock["now"] = at("2026-09-28T05:22")  # 11:22 in Ürümqi
    elder = register(client, world.grid_worker, world.community_a)
    plan = make_plan(client, world.grid_worker, elder["id"])
    assert [v.scheduled_for for v in visits(db, plan["id"])] == [at("2026-09-28T05:30")]
    assert created_events(db, plan["id"]) == 1
    assert plan["next_visit_at"] == "2026-09-28T05:30:00Z"  # the next visit, made
    # The job then makes the next days, not that one again.
    assert run(db, at("2026-09-28T05:25"), hours=48) == 1
    assert len(visits(db, plan["id"])) == 2
    # Paused and resumed at 11:24: today's is cancelled, then made anew.
    clock["now"] = at("2026-09-28T05:24")
    for active in (False, True):
        response = client.patch(
            f"/v1/care-plans/{plan['id']}",
            json={"active": active},
            headers=world.grid_worker.headers,
        )
        assert response.status_code == 200, response.text
    made = visits(db, plan["id"])
    today = [v for v in made if v.scheduled_for == at("2026-09-28T05:30")]
    assert sorted(v.status for v in today) == ["assigned", "cancelled"]
