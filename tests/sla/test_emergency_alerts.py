"""助急 (issue 18): emergency help unanswered at its five-minute deadline alerts
the care provider's dispatchers, the community's grid workers, the elder's
family and the region's admins at once — exactly once, however many sweeps run
— and its second level alerts nobody again; accepted in time, or an ordinary
ticket's escalation, alerts nobody."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from service.db import SETTINGS_INFO, begin_write, clock_override
from service.notifications import channels
from service.notifications.models import Notification
from service.sla.jobs import sweep
from service.tickets.models import TicketEvent
from tests.care.helpers import CONTACT_PHONE, NOTES
from tests.conftest import Actor, file_ticket
from tests.notifications.alerting import ELDER_NAME, elder_ticket, near_people, told_about, with_sms
from tests.notifications.fakes import FakeSms, serving
from tests.sla.conftest import at


@pytest.fixture
def people(client: Any, world: Any, settings: Any) -> dict[str, Actor]:
    return near_people(client, world, settings)


def _sweep(db: Session, now: dt.datetime) -> int:
    made = 0
    while True:
        examined, escalated = sweep(db, now, "Asia/Shanghai")
        made += escalated
        if examined == 0:
            return made


def test_unanswered_emergency_help_alerts_everyone_once(client, world, db, settings, people, clock):
    with_sms(db, settings)
    clock.set("2026-12-31T23:58")  # New Year's Eve at midnight: 助急 runs around the clock
    _, ticket = elder_ticket(client, world)
    tid = ticket["id"]
    assert _sweep(db, at("2027-01-01T00:02")) == 0
    assert told_about(db, tid, "ticket.escalated") == []
    assert _sweep(db, at("2027-01-01T00:04")) == 1
    assert _sweep(db, at("2027-01-01T00:05")) == 0  # a second sweep: nothing again
    first = told_about(db, tid, "ticket.escalated")
    assert {n.user_id for n in first} == {
        world.care_dispatcher.user_id,
        people["care_dispatcher_2"].user_id,
        world.grid_worker.user_id,
        world.admin.user_id,
        people["prefecture_admin"].user_id,
        world.reporter.user_id,  # the proxy
        None,  # the emergency contact, by SMS
    }
    assert len(first) == 7
    # Level 2 goes to the region's admins, who know already: no alert again.
    assert _sweep(db, at("2027-01-20T00:00")) >= 1
    assert told_about(db, tid, "ticket.escalated") == first
    events = db.scalars(
        select(TicketEvent).where(
            TicketEvent.ticket_id == tid, TicketEvent.type == "ticket.escalated"
        )
    ).all()
    by_level = {e.data["level"]: e.data for e in events}
    assert by_level[1]["to"] == "dispatchers" and by_level[2]["to"] == "region_admins"
    assert by_level[1]["alert"] == [
        "dispatchers",
        "grid_workers",
        "emergency_contacts",
        "region_admins",
    ]
    assert "alert" not in by_level[2]


def test_emergency_help_accepted_in_time_alerts_nobody(client, world, db, settings, clock):
    with_sms(db, settings)
    clock.set("2026-12-07T09:00")
    _, ticket = elder_ticket(client, world)
    clock.set("2026-12-07T09:03")
    accepted = client.post(
        f"/v1/tickets/{ticket['id']}/accept", headers=world.care_dispatcher.headers
    )
    assert accepted.status_code == 200, accepted.text
    assert _sweep(db, at("2026-12-30T09:00")) == 0
    assert told_about(db, ticket["id"], "ticket.escalated") == []


def test_an_ordinary_escalation_alerts_nobody(client, world, db, settings, clock):
    with_sms(db, settings)
    clock.set("2026-03-02T09:00")
    tid = file_ticket(client, world.reporter, world.community_a, priority="emergency")["id"]
    assert _sweep(db, at("2026-03-20T09:00")) == 4
    assert told_about(db, tid, "ticket.escalated") == []
    events = db.scalars(
        select(TicketEvent).where(
            TicketEvent.ticket_id == tid, TicketEvent.type == "ticket.escalated"
        )
    ).all()
    assert len(events) == 4 and not any("alert" in e.data for e in events)


def test_two_sweeps_racing_alert_once_and_the_text_goes_out(live, live_engine, settings):
    """Two sweeps on their own connections at once (threads; on PostgreSQL they
    really overlap); then the outbox sends the contact's text through the gateway."""
    http, world = live
    with clock_override(lambda: at("2026-12-07T09:00")):
        elder, ticket = elder_ticket(http, world)
    with serving(FakeSms()) as sms:
        sms_settings = settings.model_copy(
            update={
                "database_url": live_engine.url.render_as_string(hide_password=False),
                "sms_url": sms.url + "/send",
                "sms_key": sms.key,
            }
        )
        start = threading.Barrier(2)
        errors: list[BaseException] = []

        def run() -> None:
            try:
                start.wait()
                with Session(live_engine, autoflush=False) as session:
                    session.info[SETTINGS_INFO] = sms_settings
                    begin_write(session)
                    sweep(session, at("2026-12-07T09:06"), "Asia/Shanghai")
                    session.commit()
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        threads = [threading.Thread(target=run) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert errors == []
        with Session(live_engine) as session:
            told = session.scalars(
                select(Notification).where(
                    Notification.ticket_id == ticket["id"], Notification.type == "ticket.escalated"
                )
            ).all()
            users = [n.user_id for n in told]
        # The dispatcher, the grid worker, the county's admin, the proxy, the contact.
        assert len(told) == 5
        assert len(users) == len(set(users))
        assert (
            set(users)
            == {
                world.care_dispatcher.user_id,
                world.grid_worker.user_id,
                world.admin.user_id,
                world.reporter.user_id,
                None,
            }
            and users.count(None) == 1
        )

        for _ in range(50):
            if not channels.deliver_due(live_engine, sms_settings, at("2026-12-07T09:07")):
                break
        assert [m["phone"] for m in sms.sent] == [CONTACT_PHONE]
        message = sms.sent[0]["text"]
        assert ELDER_NAME in message and ticket["number"] in message
        assert NOTES not in message and elder["phone"] not in message
