"""Alerts (issue 18): an event that carries `alert` reaches the people of each
audience named — the organisation's dispatchers, the community's grid workers,
the admins of the ticket's regions, the elder's family — and nobody else, each
once, never its actor; staff read the ticket, the family reads the elder's
name, nobody reads their health. 助急's escalation: tests/sla/test_emergency_alerts.py."""

from __future__ import annotations

from typing import Any

import pytest

from service.tickets.models import Ticket
from tests.care.helpers import CONTACT_PHONE, NOTES
from tests.conftest import Actor, file_ticket
from tests.notifications.alerting import (
    ELDER_NAME,
    EVERYONE,
    alert,
    deliveries,
    elder_ticket,
    near_people,
    told_about,
    with_sms,
)


@pytest.fixture
def people(client: Any, world: Any, settings: Any) -> dict[str, Actor]:
    return near_people(client, world, settings)


def test_each_audience_is_its_people_and_nobody_else(client, world, db, settings, people):
    with_sms(db, settings)
    elder, ticket = elder_ticket(client, world)
    tid = ticket["id"]
    assert db.get(Ticket, tid).organization_id == world.care

    expected = {
        "dispatchers": {world.care_dispatcher.user_id, people["care_dispatcher_2"].user_id},
        "grid_workers": {world.grid_worker.user_id},
        "region_admins": {world.admin.user_id, people["prefecture_admin"].user_id},
        "emergency_contacts": {world.reporter.user_id},  # the proxy
    }
    for audience, users in expected.items():
        event = alert(db, tid, [audience])
        told = [n for n in told_about(db, tid) if n.event_id == event.id]
        assert {n.user_id for n in told if n.user_id} == users, audience
        # Only the family hears of a contact by SMS, who has no account.
        strangers = [n for n in told if n.user_id is None]
        if audience == "emergency_contacts":
            assert [deliveries(db, n) for n in strangers] == [{"sms": CONTACT_PHONE}]
            assert all(n.params.get("family") for n in told)
        else:
            assert strangers == []
            assert not any(n.params.get("family") for n in told)


def test_everyone_at_once_each_person_once_and_never_the_actor(client, world, db, settings, people):
    with_sms(db, settings)
    # The proxy (the reporter) is also listed as an emergency contact: one
    # notification, and the text message the elder's record asks for.
    contacts = [
        {"name": "古丽娜尔", "relation": "女儿", "phone": CONTACT_PHONE},
        {"name": "艾力", "relation": "儿子", "phone": "13900000001"},  # the reporter's phone
        {"name": "艾力", "relation": "儿子", "phone": "13900000001"},
        {"name": "古丽娜尔（单位）", "relation": "女儿", "phone": CONTACT_PHONE},  # listed twice
    ]
    _, ticket = elder_ticket(client, world, emergency_contacts=contacts)
    tid = ticket["id"]
    event = alert(
        db, tid, [*EVERYONE, "grid_workers", "nobody"], actor_id=world.grid_worker.user_id
    )
    told = [n for n in told_about(db, tid) if n.event_id == event.id]
    users = [n.user_id for n in told if n.user_id]
    assert len(users) == len(set(users))
    assert set(users) == {
        world.care_dispatcher.user_id,
        people["care_dispatcher_2"].user_id,
        world.admin.user_id,
        people["prefecture_admin"].user_id,
        world.reporter.user_id,
    }
    never = [
        world.grid_worker,  # the actor
        world.other_grid_worker,
        people["grid_worker_b"],
        people["sibling_admin"],
        people["care_technician"],
        world.other_admin,
        world.province_admin,  # no region: not alerted
        world.dispatcher,  # the property company's, not the ticket's organisation
        world.other_dispatcher,
        world.neighbour,
    ]
    assert not {a.user_id for a in never} & set(users)
    proxy = next(n for n in told if n.user_id == world.reporter.user_id)
    assert deliveries(db, proxy) == {"sms": "13900000001"}
    assert [deliveries(db, n) for n in told if n.user_id is None] == [{"sms": CONTACT_PHONE}]


def test_without_sms_a_contact_without_an_account_gets_nothing(client, world, db, settings):
    with_sms(db, settings, on=False)
    _, ticket = elder_ticket(client, world)
    event = alert(db, ticket["id"], ["emergency_contacts"])
    told = [n for n in told_about(db, ticket["id"]) if n.event_id == event.id]
    assert [(n.user_id, deliveries(db, n)) for n in told] == [(world.reporter.user_id, {})]


def test_an_erased_elders_family_is_told_nothing(client, world, db, settings):
    with_sms(db, settings)
    elder, ticket = elder_ticket(client, world)
    erased = client.delete(f"/v1/elders/{elder['id']}", headers=world.grid_worker.headers)
    assert erased.status_code == 204, erased.text
    event = alert(db, ticket["id"], ["emergency_contacts", "grid_workers"])
    told = [n for n in told_about(db, ticket["id"]) if n.event_id == event.id]
    assert [n.user_id for n in told] == [world.grid_worker.user_id]


def test_staff_and_family_read_what_concerns_them(client, world, db, settings):
    """Staff read the ticket and when; the family reads the elder's name. Nobody
    reads the health notes; a staff inbox holds no name."""
    with_sms(db, settings)
    elder, ticket = elder_ticket(client, world)
    alert(db, ticket["id"], ["grid_workers", "emergency_contacts"])
    alert(
        db,
        ticket["id"],
        ["dispatchers"],
        type="visit.missed",
        scheduled_for="2026-03-02T01:30:00+00:00",
    )
    alert(db, ticket["id"], ["region_admins"], type="ticket.escalated")

    def inbox(actor: Actor, language: str = "zh-Hans") -> list[dict]:
        response = client.get(
            "/v1/me/notifications", headers={**actor.headers, "Accept-Language": language}
        )
        assert response.status_code == 200, response.text
        return [n for n in response.json()["items"] if n["ticket_id"] == ticket["id"]]

    (worker,) = inbox(world.grid_worker)
    assert worker["type"] == "visit.not_home_twice" and ticket["number"] in worker["body"]
    (family,) = [n for n in inbox(world.reporter) if n["type"] == "visit.not_home_twice"]
    assert ELDER_NAME in family["title"] + family["body"]
    (missed,) = inbox(world.care_dispatcher, "en")
    # 01:30 UTC is 09:30 in Ürümqi's offices (Beijing time, the default zone).
    assert missed["title"] == "Visit not begun"
    assert "2026-03-02 09:30" in missed["body"] and ticket["number"] in missed["body"]
    for item in (worker, family, missed):
        assert NOTES not in str(item)
    assert ELDER_NAME not in str(worker) + str(missed)
    stored = [n.params for n in told_about(db, ticket["id"])]
    assert ELDER_NAME not in str(stored) and NOTES not in str(stored)
    (uyghur,) = inbox(world.grid_worker, "ug")
    assert uyghur["title"] == "يوقلاشتا ئىككى قېتىم ئۆيدە يوق"
    (escalated,) = inbox(world.admin, "en")
    assert escalated["title"] == "Escalated: not answered in time"
    assert ticket["number"] in escalated["body"]

    # Erased, the elder is named no more, not even in what the family was told.
    erased = client.delete(f"/v1/elders/{elder['id']}", headers=world.grid_worker.headers)
    assert erased.status_code == 204, erased.text
    (after,) = [n for n in inbox(world.reporter) if n["id"] == family["id"]]
    assert ELDER_NAME not in str(after) and "您的家人" in after["title"] + after["body"]


def test_an_event_without_alert_tells_no_staff(client, world, db):
    ticket = file_ticket(client, world.reporter, world.community_a)
    alert(db, ticket["id"], [])
    alert(db, ticket["id"], "grid_workers")  # type: ignore[arg-type]  # not a list
    assert told_about(db, ticket["id"]) == []
