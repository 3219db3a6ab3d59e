"""A ticket's SLA clocks through the API: targets chosen by policy, business time
on the Chinese calendar, pauses, reopen, reclassification, edits by admins."""

from __future__ import annotations

import datetime as dt

from tests.conftest import file_ticket
from tests.sla.conftest import at, parse


def _policy_id(client, world, name_part: str) -> int:
    policies = client.get("/v1/sla-policies", headers=world.province_admin.headers).json()["items"]
    return next(p["id"] for p in policies if name_part in p["name"])


def _act(client, world, tid, action, actor, body=None):
    response = client.post(
        f"/v1/tickets/{tid}/{action}", json=body or {}, headers=world.actors[actor].headers
    )
    assert response.status_code == 200, (action, response.text)
    return response.json()


def _sla(ticket: dict) -> dict:
    return ticket["sla"]


def test_ordinary_repair_runs_on_working_days_across_the_spring_festival(client, world, clock):
    clock.set("2026-02-13T17:00")  # Friday; Saturday 2/14 is a make-up working day
    ticket = file_ticket(client, world.reporter, world.community_a, priority="normal")
    sla = _sla(ticket)
    assert sla["policy_id"] == _policy_id(client, world, "Ordinary repair")
    assert parse(sla["respond_by"]) == at("2026-02-14T10:00")
    # 3 working days of 9 hours: 2/13 (1 h), 2/14 (9 h), holiday 2/15-2/23, 2/24 (9 h), 2/25 (8 h)
    assert parse(sla["resolve_by"]) == at("2026-02-25T17:00")


def test_emergency_repair_runs_around_the_clock_even_on_a_holiday(client, world, clock):
    clock.set("2026-02-17T02:10")  # the third night of the Spring Festival
    sla = _sla(file_ticket(client, world.reporter, world.community_a, priority="emergency"))
    assert parse(sla["respond_by"]) == at("2026-02-17T02:25")
    assert parse(sla["resolve_by"]) == at("2026-02-17T06:10")


def test_elderly_emergency_help_is_five_minutes_without_a_resolution_target(client, world, clock):
    clock.set("2026-10-03T23:58")
    ticket = file_ticket(client, world.reporter, world.community_a, category="elderly.emergency")
    assert parse(_sla(ticket)["respond_by"]) == at("2026-10-04T00:03")
    assert _sla(ticket)["resolve_by"] is None


def test_scheduled_care_is_due_by_the_end_of_the_preferred_window(client, world, clock):
    clock.set("2026-03-02T09:00")
    window = {"from": "2026-03-04T03:00:00Z", "to": "2026-03-04T05:00:00Z"}
    ticket = file_ticket(
        client, world.reporter, world.community_a, category="elderly.meal", preferred_time=window
    )
    assert parse(_sla(ticket)["resolve_by"]) == parse(window["to"])
    assert parse(_sla(ticket)["respond_by"]) == at("2026-03-02T11:00")


def test_complaint_targets_are_calendar_days(client, world, clock):
    clock.set("2026-09-30T16:00")
    ticket = file_ticket(
        client, world.reporter, world.community_a, category="complaint.property_service"
    )
    assert parse(_sla(ticket)["respond_by"]) == at("2026-10-01T16:00")
    assert parse(_sla(ticket)["resolve_by"]) == at("2026-10-07T16:00")


def test_pausing_hold_moves_the_deadline_by_the_working_time_paused(client, world, clock):
    clock.set("2026-03-02T09:00")  # Monday
    tid = file_ticket(client, world.reporter, world.community_a, priority="normal")["id"]
    before = parse(_sla(_act(client, world, tid, "accept", "technician"))["resolve_by"])
    assert before == at("2026-03-04T18:00")
    _act(client, world, tid, "start", "technician")
    clock.set("2026-03-02T16:00")
    held = _act(client, world, tid, "hold", "technician", {"reason": "awaiting_parts"})
    assert parse(_sla(held)["paused_since"]) == at("2026-03-02T16:00")
    clock.set("2026-03-03T11:00")  # 19 hours later, 4 of them working hours
    resumed = _act(client, world, tid, "resume", "technician")
    assert _sla(resumed)["paused_since"] is None
    assert _sla(resumed)["paused_seconds"] == 19 * 3600
    assert parse(_sla(resumed)["resolve_by"]) == at("2026-03-05T13:00")  # +4 working hours


def test_a_hold_the_policy_does_not_pause_on_leaves_the_clock_running(client, world, clock):
    clock.set("2026-03-02T09:00")
    tid = file_ticket(client, world.reporter, world.community_a, priority="emergency")["id"]
    _act(client, world, tid, "accept", "technician")
    deadline = _sla(_act(client, world, tid, "start", "technician"))["resolve_by"]
    clock.set("2026-03-02T10:00")
    held = _act(client, world, tid, "hold", "technician", {"reason": "awaiting_parts"})
    assert _sla(held)["paused_since"] is None
    clock.set("2026-03-02T12:00")
    resumed = _act(client, world, tid, "resume", "technician")
    assert _sla(resumed)["resolve_by"] == deadline
    assert _sla(resumed)["paused_seconds"] == 0


def test_resolving_late_is_a_breach_and_reopening_restarts_the_clock(client, world, clock):
    clock.set("2026-03-02T09:00")
    tid = file_ticket(client, world.reporter, world.community_a, priority="emergency")["id"]
    clock.set("2026-03-02T09:20")  # five minutes late
    accepted = _act(client, world, tid, "accept", "technician")
    assert _sla(accepted)["response_breached"] is True
    _act(client, world, tid, "start", "technician")
    clock.set("2026-03-02T12:00")
    resolved = _act(client, world, tid, "resolve", "technician")
    assert _sla(resolved)["resolution_breached"] is False
    clock.set("2026-03-03T08:00")
    reopened = _act(client, world, tid, "reopen", "reporter", {"reason": "又漏水了"})
    assert _sla(reopened)["resolved_at"] is None
    assert parse(_sla(reopened)["resolve_by"]) == at("2026-03-03T12:00")


def test_reclassifying_recomputes_the_deadlines(client, world, clock):
    clock.set("2026-03-07T10:00")  # Saturday
    ticket = file_ticket(client, world.reporter, world.community_a, priority="normal")
    assert parse(_sla(ticket)["respond_by"]) == at("2026-03-09T11:00")
    tid = ticket["id"]

    denied = client.patch(
        f"/v1/tickets/{tid}", json={"priority": "emergency"}, headers=world.technician.headers
    )
    assert denied.status_code == 409
    clock.set("2026-03-07T10:05")
    response = client.patch(
        f"/v1/tickets/{tid}",
        json={"priority": "emergency", "reason": "楼道积水，已漏到楼下"},
        headers=world.dispatcher.headers,
    )
    assert response.status_code == 200, response.text
    sla = _sla(response.json())
    assert response.json()["priority"] == "emergency"
    assert sla["policy_id"] == _policy_id(client, world, "Emergency repair")
    # The clock runs from creation: 15 minutes from 10:00, 4 hours from 10:00.
    assert parse(sla["respond_by"]) == at("2026-03-07T10:15")
    assert parse(sla["resolve_by"]) == at("2026-03-07T14:00")
    events = client.get(f"/v1/tickets/{tid}/events", headers=world.admin.headers).json()["items"]
    assert events[-1]["type"] == "ticket.reclassified"

    wrong_kind = client.patch(
        f"/v1/tickets/{tid}", json={"category": "elderly.meal"}, headers=world.admin.headers
    )
    assert wrong_kind.status_code == 422
    nothing = client.patch(
        f"/v1/tickets/{tid}", json={"priority": "emergency"}, headers=world.admin.headers
    )
    assert nothing.status_code == 422
    hidden = client.patch(
        f"/v1/tickets/{tid}", json={"priority": "low"}, headers=world.other_admin.headers
    )
    assert hidden.status_code == 404


def test_a_policy_edit_applies_to_the_next_ticket(client, world, clock):
    clock.set("2026-03-02T09:00")
    policy_id = _policy_id(client, world, "Emergency repair")
    edited = client.patch(
        f"/v1/sla-policies/{policy_id}",
        json={"respond_minutes": 10},
        headers=world.province_admin.headers,
    )
    assert edited.status_code == 200, edited.text
    sla = _sla(file_ticket(client, world.reporter, world.community_a, priority="emergency"))
    assert parse(sla["respond_by"]) == at("2026-03-02T09:10")


def test_a_calendar_override_applies_to_the_next_ticket(client, world, clock):
    workdays = next(
        c
        for c in client.get("/v1/calendars", headers=world.province_admin.headers).json()["items"]
        if c["code"] == "workdays"
    )
    # A day off the official calendar does not know: Monday 2027-01-04.
    response = client.put(
        f"/v1/calendars/{workdays['id']}/days/2027-01-04",
        json={"working": False, "note": "停水检修"},
        headers=world.province_admin.headers,
    )
    assert response.status_code == 200, response.text
    assert response.json()["source"] == "override" and response.json()["working"] is False
    clock.set("2026-12-31T17:00")
    sla = _sla(file_ticket(client, world.reporter, world.community_a, priority="normal"))
    # Not Monday 1/4 10:00 (Friday 1/1 is New Year's Day) but Tuesday 1/5 10:00.
    assert parse(sla["respond_by"]) == at("2027-01-05T10:00")


def test_ordinary_repair_skips_new_year_and_the_spring_festival_of_2027(client, world, clock):
    """The library used before ended with 2026 and counted these days as working."""
    clock.set("2026-12-31T17:00")
    sla = _sla(file_ticket(client, world.reporter, world.community_a, priority="normal"))
    assert parse(sla["respond_by"]) == at("2027-01-04T10:00")  # not Friday 1/1
    clock.set("2027-02-04T17:00")  # Thursday before the eve (Friday 2/5)
    sla = _sla(file_ticket(client, world.reporter, world.community_a, priority="normal"))
    # Off 2/5-2/10: the eve, the first three days (Monday 2/8 the third) and the
    # days in lieu of the weekend's (the package's rule until the 2027 notice).
    assert parse(sla["respond_by"]) == at("2027-02-11T10:00")
    # 27 working hours: 2/4 (1 h), 2/11 (9 h), 2/12 (9 h), Monday 2/15 (8 h)
    assert parse(sla["resolve_by"]) == at("2027-02-15T17:00")
    days = client.get(
        f"/v1/calendars/{_workdays_id(client, world)}/days",
        params={"from": "2027-02-04", "to": "2027-02-11"},
        headers=world.province_admin.headers,
    ).json()["items"]
    assert [(d["date"], d["working"], d["source"]) for d in days] == [
        ("2027-02-04", True, "weekday"),
        ("2027-02-05", False, "holiday"),
        ("2027-02-06", False, "holiday"),
        ("2027-02-07", False, "holiday"),
        ("2027-02-08", False, "holiday"),
        ("2027-02-09", False, "holiday"),
        ("2027-02-10", False, "holiday"),
        ("2027-02-11", True, "weekday"),
    ]


def _workdays_id(client, world) -> int:
    calendars = client.get("/v1/calendars", headers=world.province_admin.headers).json()
    return next(c["id"] for c in calendars["items"] if c["code"] == "workdays")


def test_deadlines_are_set_for_every_seeded_kind(client, world, clock):
    clock.set("2026-03-02T09:00")
    for category in ("repair.plumbing", "elderly.bathing", "complaint.fees"):
        sla = _sla(file_ticket(client, world.reporter, world.community_a, category=category))
        assert sla["respond_by"] is not None, category
        assert parse(sla["respond_by"]) > at("2026-03-02T09:00") - dt.timedelta(seconds=1)


def test_a_region_in_xinjiang_time_runs_its_clocks_there(client, world, clock):
    """Working hours 09:00-18:00 Ürümqi time are 11:00-20:00 Beijing time."""
    clock.set("2026-03-02T09:00")
    # The clocks' configuration is read (and kept) before the zone changes: the
    # change must reach it (the directory tells whoever subscribed).
    before = _sla(file_ticket(client, world.reporter, world.community_a, priority="normal"))
    assert parse(before["respond_by"]) == at("2026-03-02T11:00")
    response = client.patch(
        f"/v1/regions/{world.urumqi}",
        json={"timezone": "Asia/Urumqi"},
        headers=world.province_admin.headers,
    )
    assert response.status_code == 200, response.text
    assert response.json()["timezone"] == "Asia/Urumqi"
    clock.set("2026-03-02T09:00")  # 07:00 in Ürümqi: the working day has not begun
    sla = _sla(file_ticket(client, world.reporter, world.community_a, priority="normal"))
    assert parse(sla["respond_by"]) == at("2026-03-02T13:00")  # 11:00 Ürümqi time
    # Kashgar keeps the deployment's Beijing time.
    far = _sla(file_ticket(client, world.far_resident, world.community_k, priority="normal"))
    assert parse(far["respond_by"]) == at("2026-03-02T11:00")

    bad = client.patch(
        f"/v1/regions/{world.urumqi}",
        json={"timezone": "Asia/Xinjiang"},
        headers=world.province_admin.headers,
    )
    assert bad.status_code == 422
    hidden = client.patch(
        f"/v1/regions/{world.urumqi}",
        json={"timezone": "Asia/Urumqi"},
        headers=world.other_admin.headers,
    )
    assert hidden.status_code == 404


def test_a_calendar_with_its_own_zone_ignores_the_region(client, world, clock):
    admin = world.province_admin.headers
    client.patch(
        f"/v1/regions/{world.urumqi}", json={"timezone": "Asia/Urumqi"}, headers=admin
    ).raise_for_status()
    workdays = next(
        c
        for c in client.get("/v1/calendars", headers=admin).json()["items"]
        if c["code"] == "workdays"
    )
    client.patch(
        f"/v1/calendars/{workdays['id']}", json={"timezone": "Asia/Shanghai"}, headers=admin
    ).raise_for_status()
    clock.set("2026-03-02T09:00")
    sla = _sla(file_ticket(client, world.reporter, world.community_a, priority="normal"))
    assert parse(sla["respond_by"]) == at("2026-03-02T11:00")
