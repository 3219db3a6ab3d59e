"""Visit proof: the carer checks in (with a position, kept from the timeline)
and out (photos, a 探访's outcome); visits nobody began are marked missed once,
however many sweeps run; `needs_help` opens a linked follow-on; two `not_home`
in a row are told once; the community's grid worker sees its elders' visits;
a resolved visit is due its 回访 like any ticket."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service.care import horizon, plans, visits
from service.enums import Status
from service.jobs import JobContext
from service.notifications.models import Notification
from service.tickets.models import Ticket, TicketEvent
from tests.care.helpers import register
from tests.care.test_plans import BEFORE_NATIONAL_DAY, at, make_plan, plan_body, run
from tests.conftest import Actor, file_ticket, upload_photo

GRACE = dt.timedelta(minutes=30)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(plans, "utcnow", lambda: BEFORE_NATIONAL_DAY)


def first_visit(client, world, db, **plan: Any) -> dict[str, Any]:
    """The first visit of a daily plan for a new elder in community A, as its
    provider reads it (28 September 11:30 in Beijing time, 03:30 UTC)."""
    elder = register(client, world.grid_worker, world.community_a)
    made = make_plan(client, world.grid_worker, elder["id"], **plan)
    assert run(db, BEFORE_NATIONAL_DAY, hours=24) == 1
    visit_id = db.scalar(select(Ticket.id).where(Ticket.care_plan_id == made["id"]))
    response = client.get(f"/v1/tickets/{visit_id}", headers=world.care_dispatcher.headers)
    assert response.status_code == 200, response.text
    return response.json()


def act(client, actor: Actor, ticket_id: int, action: str, body: Any = None) -> Any:
    return client.post(f"/v1/tickets/{ticket_id}/{action}", json=body, headers=actor.headers)


def events(db: Session, ticket_id: int, type_: str) -> list[TicketEvent]:
    db.expire_all()
    return list(
        db.scalars(
            select(TicketEvent)
            .where(TicketEvent.ticket_id == ticket_id, TicketEvent.type == type_)
            .order_by(TicketEvent.id)
        )
    )


def test_check_in_and_out_prove_the_visit(client, world, db, clock):
    visit = first_visit(client, world, db)
    assert visit["visit"] == {
        "checked_in_at": None,
        "check_in_position": None,
        "checked_out_at": None,
        "missed_at": None,
        "outcome": None,
    }
    arrived = act(
        client,
        world.care_dispatcher,
        visit["id"],
        "check-in",
        {"latitude": 43.825592, "longitude": 87.616848},
    )
    assert arrived.status_code == 200, arrived.text
    body = arrived.json()
    assert body["status"] == "in_progress"
    assert body["visit"]["checked_in_at"] is not None
    assert body["visit"]["check_in_position"] == {"latitude": 43.825592, "longitude": 87.616848}
    assert body["sla"]["responded_at"] == body["visit"]["checked_in_at"]
    assert body["assignee_id"] == world.care_dispatcher.user_id
    # The database's JSON (GET) says what the action's answer said.
    assert client.get(f"/v1/tickets/{visit['id']}", headers=world.admin.headers).json() == body
    # The position is the elder's whereabouts: never in the timeline (nor so the
    # feed and webhooks, which carry the events).
    (checked_in,) = events(db, visit["id"], "visit.checked_in")
    assert checked_in.from_status == Status.assigned and checked_in.to_status == Status.in_progress
    assert checked_in.data == {
        "scheduled_for": visit["scheduled_for"].replace("Z", "+00:00"),
        "position": True,
    }
    timeline = client.get(
        f"/v1/tickets/{visit['id']}/events", headers=world.care_dispatcher.headers
    )
    assert "87.616848" not in timeline.text and "43.825592" not in timeline.text

    photo = upload_photo(client, world.care_dispatcher)
    left = act(
        client,
        world.care_dispatcher,
        visit["id"],
        "check-out",
        {"note": "午餐已送到，老人当面签收", "attachment_ids": [photo["id"]]},
    )
    assert left.status_code == 200, left.text
    done = left.json()
    assert done["status"] == "resolved"
    assert done["visit"]["checked_out_at"] == done["sla"]["resolved_at"]
    assert [a["id"] for a in done["attachments"]] == [photo["id"]]
    (checked_out,) = events(db, visit["id"], "visit.checked_out")
    assert checked_out.to_status == Status.resolved
    assert checked_out.data["note"] == "午餐已送到，老人当面签收"
    # A visit is due its 回访 like any resolved ticket, and gets it.
    followed = client.post(
        f"/v1/tickets/{visit['id']}/follow-ups",
        json={"method": "phone", "satisfied": True, "note": "老人说饭菜合口"},
        headers=world.care_dispatcher.headers,
    )
    assert followed.status_code == 201, followed.text


def test_check_in_without_a_position_and_the_actions_refused(client, world, db, clock):
    visit = first_visit(client, world, db)
    ticket_id = visit["id"]

    def unchanged() -> None:
        db.expire_all()
        row = db.get(Ticket, ticket_id)
        assert row is not None and row.checked_in_at is None and row.status == Status.assigned

    half = act(client, world.care_dispatcher, ticket_id, "check-in", {"latitude": 43.8})
    assert half.status_code == 422, half.text
    assert half.headers["content-type"].startswith("application/problem+json")
    assert half.json()["errors"][0]["code"] == "visit.position_pair"
    too_far = act(
        client, world.care_dispatcher, ticket_id, "check-in", {"latitude": 91, "longitude": 0}
    )
    assert too_far.status_code == 422
    unchanged()
    # Checking out of a visit nobody checked in to.
    start = act(client, world.care_dispatcher, ticket_id, "accept")
    assert start.status_code == 200
    assert act(client, world.care_dispatcher, ticket_id, "start").status_code == 200
    refused = act(client, world.care_dispatcher, ticket_id, "check-out", {})
    assert refused.status_code == 409 and refused.json()["code"] == "visit.not_checked_in"
    # Not the provider's: the property company sees nothing; the grid worker may not act.
    assert act(client, world.dispatcher, ticket_id, "check-in").status_code == 404
    assert act(client, world.grid_worker, ticket_id, "check-in").status_code == 409
    # A ticket that is no visit has no check-in.
    repair = file_ticket(client, world.reporter, world.community_a)
    not_a_visit = act(client, world.dispatcher, repair["id"], "check-in")
    assert not_a_visit.status_code == 409 and not_a_visit.json()["code"] == "visit.not_a_visit"
    # No body at all is a check-in without a position.
    other = first_visit(client, world, db)
    plain = act(client, world.care_dispatcher, other["id"], "check-in")
    assert plain.status_code == 200, plain.text
    assert plain.json()["visit"]["check_in_position"] is None
    assert events(db, other["id"], "visit.checked_in")[0].data["position"] is False


def test_a_visit_nobody_began_is_missed_once_and_the_carer_may_still_come(client, world, db, clock):
    visit = first_visit(client, world, db)
    due = dt.datetime.fromisoformat(visit["scheduled_for"])
    assert visits.mark_missed(db, due + GRACE - dt.timedelta(seconds=1), GRACE) == 0
    assert visits.mark_missed(db, due + GRACE, GRACE) == 1
    assert visits.mark_missed(db, due + GRACE + dt.timedelta(minutes=5), GRACE) == 0
    (missed,) = events(db, visit["id"], "visit.missed")
    assert missed.actor_id is None and not missed.internal
    assert missed.data == {
        "scheduled_for": visit["scheduled_for"].replace("Z", "+00:00"),
        "grace_minutes": 30,
        "alert": ["dispatchers", "grid_workers"],
    }
    read = client.get(f"/v1/tickets/{visit['id']}", headers=world.care_dispatcher.headers).json()
    assert read["visit"]["missed_at"] is not None and read["sla"]["response_breached"]
    # Told to the provider's dispatchers and the community's grid workers, once;
    # nobody else (the property company, the other community's grid worker).
    assert told(db, visit["id"], "visit.missed") == sorted(
        [world.grid_worker.user_id, world.care_dispatcher.user_id]
    )
    inbox = client.get("/v1/me/notifications", headers=world.grid_worker.headers).json()
    assert [n["ticket_id"] for n in inbox["items"] if n["type"] == "visit.missed"] == [visit["id"]]
    # Late, but there: the visit can still be done.
    late = act(client, world.care_dispatcher, visit["id"], "check-in")
    assert late.status_code == 200, late.text
    assert late.json()["visit"]["missed_at"] == read["visit"]["missed_at"]


def told(db: Session, ticket_id: int, type_: str) -> list[int | None]:
    """Whose inboxes the ticket's `type_` alerts reached (None: no account)."""
    db.expire_all()
    return sorted(
        db.scalars(
            select(Notification.user_id).where(
                Notification.ticket_id == ticket_id, Notification.type == type_
            )
        ),
        key=lambda user_id: user_id or 0,
    )


def test_visits_begun_or_cancelled_in_time_are_not_missed(client, world, db, clock):
    begun = first_visit(client, world, db)
    assert act(client, world.care_dispatcher, begun["id"], "check-in").status_code == 200
    cancelled = first_visit(client, world, db)
    assert act(client, world.admin, cancelled["id"], "cancel", {}).status_code == 200
    later = dt.datetime.fromisoformat(begun["scheduled_for"]) + dt.timedelta(days=1)
    assert visits.mark_missed(db, later, GRACE) == 0
    assert events(db, begun["id"], "visit.missed") == []
    assert events(db, cancelled["id"], "visit.missed") == []


def alone_visit(client, world, db) -> dict[str, Any]:
    return first_visit(client, world, db, category="elderly.visit")


def test_a_visit_to_someone_living_alone_needs_its_outcome(client, world, db, clock):
    visit = alone_visit(client, world, db)
    assert act(client, world.care_dispatcher, visit["id"], "check-in").status_code == 200
    missing = act(client, world.care_dispatcher, visit["id"], "check-out", {})
    assert missing.status_code == 422 and missing.json()["errors"][0]["field"] == "outcome"
    not_needed = act(
        client,
        world.care_dispatcher,
        visit["id"],
        "check-out",
        {"outcome": "well", "follow_on_category": "elderly.meal"},
    )
    assert not_needed.status_code == 422
    not_care = act(
        client,
        world.care_dispatcher,
        visit["id"],
        "check-out",
        {"outcome": "needs_help", "follow_on_category": "repair.plumbing"},
    )
    assert not_care.status_code == 422
    db.expire_all()
    row = db.get(Ticket, visit["id"])
    assert row is not None and row.status == Status.in_progress and row.visit_outcome is None
    # A meal takes no outcome.
    meal = first_visit(client, world, db)
    assert act(client, world.care_dispatcher, meal["id"], "check-in").status_code == 200
    refused = act(client, world.care_dispatcher, meal["id"], "check-out", {"outcome": "well"})
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["code"] == "visit.outcome_only_alone"


def test_needs_help_opens_a_linked_follow_on(client, world, db, clock):
    visit = alone_visit(client, world, db)
    assert act(client, world.care_dispatcher, visit["id"], "check-in").status_code == 200
    left = act(
        client,
        world.care_dispatcher,
        visit["id"],
        "check-out",
        {"outcome": "needs_help", "note": "老人血压偏高，需要陪同就医"},
    )
    assert left.status_code == 200, left.text
    assert left.json()["visit"]["outcome"] == "needs_help"
    (resolved,) = events(db, visit["id"], "visit.checked_out")
    follow_on_id = resolved.data["follow_on_ticket_id"]
    assert resolved.data["follow_on_category"] == "elderly.medical"
    follow_on = client.get(f"/v1/tickets/{follow_on_id}", headers=world.care_dispatcher.headers)
    assert follow_on.status_code == 200, follow_on.text
    ticket = follow_on.json()
    assert ticket["follows_ticket_id"] == visit["id"]
    assert ticket["category"] == "elderly.medical" and ticket["kind"] == "elderly_care"
    assert ticket["elder_id"] == visit["elder_id"]
    assert ticket["organization_id"] == world.care and ticket["status"] == "assigned"
    assert ticket["description"] == "老人血压偏高，需要陪同就医"
    assert ticket["filed_by"]["id"] == world.care_dispatcher.user_id
    assert ticket["visit"] is None and ticket["sla"]["respond_by"] is not None
    (created,) = events(db, follow_on_id, "ticket.created")
    assert created.data["follows_ticket_id"] == visit["id"]
    # The community's grid worker sees it too: it serves an elder they keep.
    seen = client.get(f"/v1/tickets/{follow_on_id}", headers=world.grid_worker.headers)
    assert seen.status_code == 200
    assert (
        client.get(f"/v1/tickets/{follow_on_id}", headers=world.other_grid_worker.headers)
    ).status_code == 404


def resolve_alone(client, world, db, elder_id: int, plan_id: int, outcome: str) -> int:
    """Make the plan's next visit, check in and out with `outcome`."""
    db.expire_all()
    visit_id = db.scalar(
        select(Ticket.id)
        .where(Ticket.care_plan_id == plan_id, Ticket.status == Status.assigned)
        .order_by(Ticket.scheduled_for)
        .limit(1)
    )
    assert visit_id is not None
    assert act(client, world.care_dispatcher, visit_id, "check-in").status_code == 200
    left = act(client, world.care_dispatcher, visit_id, "check-out", {"outcome": outcome})
    assert left.status_code == 200, left.text
    return visit_id


def test_not_home_twice_in_a_row_is_told_once(client, world, db, clock):
    elder = register(client, world.grid_worker, world.community_a)
    plan = make_plan(
        client, world.grid_worker, elder["id"], category="elderly.visit", skip_holidays=False
    )
    assert run(db, BEFORE_NATIONAL_DAY, hours=24 * 5) >= 4
    outcomes = ["not_home", "well", "not_home", "not_home"]
    made = [resolve_alone(client, world, db, elder["id"], plan["id"], o) for o in outcomes]
    written = [len(events(db, visit_id, "visit.not_home_twice")) for visit_id in made]
    assert written == [0, 0, 0, 1]  # a `well` between two not_home breaks the row
    (alert,) = events(db, made[3], "visit.not_home_twice")
    assert alert.data == {"alert": ["grid_workers", "emergency_contacts"]}
    # The grid worker is told; the family would be too, but the elder's contact
    # has no account and SMS is not configured here: only the grid worker's inbox.
    assert told(db, made[3], "visit.not_home_twice") == [world.grid_worker.user_id]
    assert told(db, made[2], "visit.not_home_twice") == []
    # Another elder's not_home does not count towards this one's row.
    other = register(client, world.grid_worker, world.community_a)
    other_plan = make_plan(
        client, world.grid_worker, other["id"], category="elderly.visit", skip_holidays=False
    )
    assert run(db, BEFORE_NATIONAL_DAY, hours=24 * 5) >= 4
    first = resolve_alone(client, world, db, other["id"], other_plan["id"], "not_home")
    assert events(db, first, "visit.not_home_twice") == []


def test_the_grid_worker_sees_the_visits_of_their_community_elders(client, world, db, clock):
    elder = register(client, world.admin, world.community_a)
    made = make_plan(client, world.admin, elder["id"])
    assert run(db, BEFORE_NATIONAL_DAY, hours=24) == 1
    visit_id = db.scalar(select(Ticket.id).where(Ticket.care_plan_id == made["id"]))
    assert (
        client.get(f"/v1/tickets/{visit_id}", headers=world.grid_worker.headers).status_code == 200
    )
    page = client.get("/v1/tickets", headers=world.grid_worker.headers).json()
    assert visit_id in [t["id"] for t in page["items"]]
    for outsider in (world.other_grid_worker, world.reporter, world.dispatcher):
        assert client.get(f"/v1/tickets/{visit_id}", headers=outsider.headers).status_code == 404
    # Their community's repairs filed by others stay out of sight.
    repair = file_ticket(client, world.reporter, world.community_a)
    assert (
        client.get(f"/v1/tickets/{repair['id']}", headers=world.grid_worker.headers)
    ).status_code == 404


# --- racing sweeps on real connections -----------------------------------------------


def test_two_sweeps_racing_mark_each_visit_once(live, live_engine, settings, monkeypatch):
    http, w = live
    monkeypatch.setattr(plans, "utcnow", lambda: BEFORE_NATIONAL_DAY)
    elder = register(http, w.grid_worker, w.community_a)  # type: ignore[arg-type]
    for n in range(8):
        response = http.post(
            "/v1/care-plans",
            json=plan_body(elder["id"], time=f"{8 + n:02d}:00", skip_holidays=False),
            headers=w.grid_worker.headers,
        )
        assert response.status_code == 201, response.text
    making = JobContext(
        engine=live_engine,
        settings=settings.model_copy(update={"care_horizon_hours": 72}),
        now=BEFORE_NATIONAL_DAY,
    )
    horizon.make_visits(making)
    with Session(live_engine) as session:
        made = session.scalar(select(func.count()).select_from(Ticket))
    assert made >= 8 * 3
    sweeping = JobContext(engine=live_engine, settings=settings, now=at("2026-10-02T00:00"))
    monkeypatch.setattr(visits, "BATCH", 5)  # several batches each
    barrier = threading.Barrier(2)
    marked: list[int] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            barrier.wait()
            marked.append(visits.sweep_missed(sweeping))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert visits.sweep_missed(sweeping) == 0
    with Session(live_engine) as session:
        missed_events = session.scalar(
            select(func.count()).select_from(TicketEvent).where(TicketEvent.type == "visit.missed")
        )
        missed = session.scalar(
            select(func.count()).select_from(Ticket).where(Ticket.visit_missed_at.is_not(None))
        )
    assert sum(marked) == missed == missed_events == made
