"""Dispatch modes: per organisation and category prefix; round robin at filing,
grab by the first accept (PRODUCT.md, Dispatch)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from service.dispatch.models import DispatchMode, DispatchRule
from service.dispatch.service import mode_for
from tests.conftest import Actor, World, file_ticket
from tests.dispatch.test_staff import new_technician


def modes_path(world: World, organization: str = "company") -> str:
    return f"/v1/organizations/{world.ids[organization]}/dispatch-modes"


def put_rules(client: TestClient, world: World, rules: list[dict[str, Any]]) -> Any:
    return client.put(modes_path(world), json={"rules": rules}, headers=world.dispatcher.headers)


def on_duty(client: TestClient, *technicians: Actor) -> None:
    for technician in technicians:
        response = client.put("/v1/me/on-duty", json={"on_duty": True}, headers=technician.headers)
        assert response.status_code == 200, response.text


def _rule(prefix: str, mode: DispatchMode) -> DispatchRule:
    return DispatchRule(organization_id=1, category_prefix=prefix, mode=mode)


@pytest.mark.parametrize(
    ("code", "mode"),
    [
        ("repair.plumbing", DispatchMode.manual),  # its own rule
        ("repair.electrical", DispatchMode.round_robin),  # repair's
        ("repair", DispatchMode.round_robin),
        ("public.lighting", DispatchMode.grab),  # every category's
        ("repairs.x", DispatchMode.grab),  # not under `repair`: a prefix is whole segments
    ],
)
def test_the_most_specific_prefix_wins(code: str, mode: DispatchMode) -> None:
    rules = [
        _rule("", DispatchMode.grab),
        _rule("repair", DispatchMode.round_robin),
        _rule("repair.plumbing", DispatchMode.manual),
    ]
    assert mode_for(rules, code) == mode
    assert mode_for([], code) == DispatchMode.manual


def test_rules_are_read_back_and_replaced(client, world):
    assert client.get(modes_path(world), headers=world.dispatcher.headers).json() == {"rules": []}
    response = put_rules(
        client,
        world,
        [{"category": "repair", "mode": "round_robin"}, {"category": None, "mode": "grab"}],
    )
    assert response.status_code == 200, response.text
    assert response.json()["rules"] == [
        {"category": None, "mode": "grab"},
        {"category": "repair", "mode": "round_robin"},
    ]
    # Technicians read them (to know whether to grab); they may not change them.
    read = client.get(modes_path(world), headers=world.technician.headers)
    assert read.json() == response.json()
    refused = client.put(modes_path(world), json={"rules": []}, headers=world.technician.headers)
    assert refused.status_code == 403
    assert put_rules(client, world, []).json() == {"rules": []}


@pytest.mark.parametrize(
    ("rules", "code"),
    [
        ([{"category": "repair.nothing", "mode": "grab"}], "dispatch.category_unknown"),
        ([{"category": "rep", "mode": "grab"}], "dispatch.category_unknown"),
        (
            [{"category": "repair", "mode": "grab"}, {"category": "repair", "mode": "manual"}],
            "dispatch.category_twice",
        ),
    ],
)
def test_bad_rules_change_nothing(client, world, rules, code):
    put_rules(client, world, [{"category": "repair", "mode": "round_robin"}]).raise_for_status()
    response = put_rules(client, world, rules)
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["errors"][0]["code"] == code
    kept = client.get(modes_path(world), headers=world.dispatcher.headers).json()
    assert kept == {"rules": [{"category": "repair", "mode": "round_robin"}]}


def test_another_organisations_rules_are_not_found(client, world):
    for outsider in (world.other_dispatcher, world.other_admin):
        response = client.get(modes_path(world), headers=outsider.headers)
        assert response.status_code == 404
        response = client.put(modes_path(world), json={"rules": []}, headers=outsider.headers)
        assert response.status_code == 404


def test_round_robin_takes_turns_among_technicians_on_duty(client, world, settings):
    second = new_technician(client, settings, world, "tech-second")
    off_duty = new_technician(client, settings, world, "tech-off-duty")  # noqa: F841
    on_duty(client, world.technician, second)
    put_rules(client, world, [{"category": "repair", "mode": "round_robin"}]).raise_for_status()
    assignees = [
        file_ticket(client, world.reporter, world.community_a)["assignee_id"] for _ in range(4)
    ]
    first = assignees[0]
    other = second.user_id if first == world.technician.user_id else world.technician.user_id
    assert assignees == [first, other, first, other]
    ticket = file_ticket(client, world.reporter, world.community_a)
    events = client.get(
        f"/v1/tickets/{ticket['id']}/events", headers=world.dispatcher.headers
    ).json()["items"]
    dispatched = [e for e in events if e["type"] == "ticket.dispatched"]
    assert dispatched[0]["data"]["mode"] == "round_robin"
    assert dispatched[0]["data"]["assignee_id"] == ticket["assignee_id"]


def test_round_robin_skips_the_deactivated_and_waits_for_someone_on_duty(client, world, settings):
    second = new_technician(client, settings, world, "tech-leaving")
    on_duty(client, second)
    put_rules(client, world, [{"category": None, "mode": "round_robin"}]).raise_for_status()
    client.patch(
        f"/v1/organizations/{world.company}/staff/{second.user_id}",
        json={"active": False},
        headers=world.dispatcher.headers,
    ).raise_for_status()
    ticket = file_ticket(client, world.reporter, world.community_a)
    assert ticket["status"] == "assigned" and ticket["assignee_id"] is None


def test_other_categories_stay_manual(client, world):
    on_duty(client, world.technician)
    put_rules(
        client, world, [{"category": "repair.electrical", "mode": "round_robin"}]
    ).raise_for_status()
    plumbing = file_ticket(client, world.reporter, world.community_a)
    assert plumbing["assignee_id"] is None
    electrical = file_ticket(
        client, world.reporter, world.community_a, category="repair.electrical"
    )
    assert electrical["assignee_id"] == world.technician.user_id


def test_grab_the_first_accept_wins(client, world, settings):
    second = new_technician(client, settings, world, "tech-grabber")
    put_rules(client, world, [{"category": None, "mode": "grab"}]).raise_for_status()
    ticket = file_ticket(client, world.reporter, world.community_a)
    assert ticket["assignee_id"] is None
    # Every technician of the organisation sees the unassigned ticket.
    for technician in (world.technician, second):
        seen = client.get(f"/v1/tickets/{ticket['id']}", headers=technician.headers)
        assert seen.status_code == 200
    won = client.post(f"/v1/tickets/{ticket['id']}/accept", headers=second.headers)
    assert won.status_code == 200
    assert won.json()["assignee_id"] == second.user_id
    lost = client.post(f"/v1/tickets/{ticket['id']}/accept", headers=world.technician.headers)
    assert lost.status_code == 409
