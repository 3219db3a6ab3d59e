"""Open311 GeoReport v2: integrations' keys, filing by form, the public reads
in JSON and XML, and nothing personal in any of them (docs/open311.md)."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import select

from service.db import clock_override, utcnow
from service.open311 import public
from service.tickets.models import Ticket
from tests.conftest import World, file_ticket

BASE = "/open311/v2"
FILER = {"first_name": "热依拉", "last_name": "阿不都", "phone": "13977770001"}
ROOM = "1803室"
SECRET_DESCRIPTION = "我家卫生间漏水 热依拉 13977770001"


def integration(client: TestClient, world: World, region: int, admin: Any = None) -> str:
    response = client.post(
        "/v1/integrations",
        json={"name": "12345 热线", "region_id": region},
        headers=(admin or world.province_admin).headers,
    )
    assert response.status_code == 201, response.text
    assert response.json()["key"].startswith("lk_")
    return str(response.json()["key"])


def post(client: TestClient, form: dict[str, Any], fmt: str = "json") -> Response:
    return client.post(f"{BASE}/requests.{fmt}", data=form, headers={"Accept-Language": "en"})


def report(key: str, **extra: Any) -> dict[str, Any]:
    return {
        "api_key": key,
        "service_code": "repair.plumbing",
        "description": SECRET_DESCRIPTION,
        **FILER,
        "attribute[room]": ROOM,
        "attribute[area]": "private",
        **extra,
    }


def errors_of(response: Response) -> list[dict[str, Any]]:
    assert response.headers["content-type"].startswith("application/json"), response.text
    body = response.json()
    assert isinstance(body, list) and body, body
    assert all(e["code"] == response.status_code and e["description"] for e in body), body
    return body


@pytest.fixture
def key(client: TestClient, world: World) -> str:
    return integration(client, world, world.tianshan, world.admin)


def place(client: TestClient, world: World, community: int, lat: float, long: float) -> None:
    response = client.patch(
        f"/v1/communities/{community}",
        json={"latitude": lat, "longitude": long},
        headers=world.province_admin.headers,
    )
    assert response.status_code == 200, response.text


# --- integrations ----------------------------------------------------------------------


def test_an_admin_registers_an_integration_and_sees_its_key_once(
    client: TestClient, world: World
) -> None:
    key = integration(client, world, world.tianshan, world.admin)
    listed = client.get("/v1/integrations", headers=world.admin.headers).json()["items"]
    assert [i["prefix"] for i in listed] == [key[3:11]]
    assert key not in str(listed)
    assert client.get("/v1/integrations", headers=world.other_admin.headers).json()["items"] == []
    refused = client.post(
        "/v1/integrations",
        json={"name": "x", "region_id": world.tianshan},
        headers=world.other_admin.headers,
    )
    assert refused.status_code == 422
    assert client.get("/v1/integrations", headers=world.dispatcher.headers).status_code == 403


def test_a_revoked_key_files_nothing(client: TestClient, world: World, key: str) -> None:
    integration_id = client.get("/v1/integrations", headers=world.admin.headers).json()["items"][0][
        "id"
    ]
    revoked = client.delete(f"/v1/integrations/{integration_id}", headers=world.admin.headers)
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    response = post(client, report(key, address_id=world.community_a))
    assert response.status_code == 403
    errors_of(response)


def test_an_integration_key_is_no_bearer_token(client: TestClient, key: str) -> None:
    assert client.get("/v1/me", headers={"Authorization": f"Bearer {key}"}).status_code == 401


# --- filing -----------------------------------------------------------------------------


def test_a_form_post_files_a_ticket_on_behalf_of_the_filer(
    client: TestClient, world: World, key: str
) -> None:
    response = post(client, report(key, address_id=world.community_a))
    assert response.status_code == 201, response.text
    [filed] = response.json()
    ticket = client.get(
        f"/v1/tickets/{filed['service_request_id']}", headers=world.admin.headers
    ).json()
    assert ticket["channel"] == "open311"
    assert ticket["community_id"] == world.community_a
    assert ticket["on_behalf_of"] == {"name": "热依拉 阿不都", "phone": "13977770001"}
    assert ticket["location"]["room"] == ROOM
    assert ticket["number"] == filed["service_notice"]
    assert ticket["status"] == "assigned"  # company serves community_a
    assert response.headers["location"] == f"{BASE}/requests/{ticket['id']}.json"


def test_the_answer_and_errors_come_in_xml_when_asked(
    client: TestClient, world: World, key: str
) -> None:
    response = post(client, report(key, address_id=world.community_a), "xml")
    assert response.status_code == 201
    root = ET.fromstring(response.content)
    assert root.tag == "service_requests"
    assert root.find("request/service_request_id").text.isdigit()  # type: ignore[union-attr]
    refused = post(client, report("lk_nobody", address_id=world.community_a), "xml")
    assert refused.status_code == 403
    assert refused.headers["content-type"] == "application/xml"
    error = ET.fromstring(refused.content).find("error")
    assert error is not None and error.findtext("code") == "403" and error.findtext("description")


@pytest.mark.parametrize(
    "api_key", ["", "lk_unknown", "not-a-key"], ids=["missing", "unknown", "malformed"]
)
def test_a_post_needs_a_live_key(
    client: TestClient, world: World, api_key: str, connection: Any
) -> None:
    before = connection.scalar(select(Ticket.id).order_by(Ticket.id.desc()).limit(1))
    response = post(client, report(api_key, address_id=world.community_a))
    assert response.status_code == 403
    errors_of(response)
    assert connection.scalar(select(Ticket.id).order_by(Ticket.id.desc()).limit(1)) == before


def test_a_key_of_another_region_cannot_file_into_this_jurisdiction(
    client: TestClient, world: World
) -> None:
    kashi = integration(client, world, world.kashi_city)
    into = post(client, report(kashi, jurisdiction_id=world.tianshan))
    assert into.status_code == 403
    assert "jurisdiction" in errors_of(into)[0]["description"]
    # Naming a community of tianshan from its own jurisdiction: as if it did not exist.
    named = post(client, report(kashi, address_id=world.community_a))
    missing = post(client, report(kashi, address_id=2**31 - 1))
    assert named.status_code == missing.status_code == 404
    assert errors_of(named)[0]["description"].replace(str(world.community_a), "N") == errors_of(
        missing
    )[0]["description"].replace(str(2**31 - 1), "N")


def test_a_key_files_into_a_region_under_its_own(client: TestClient, world: World) -> None:
    urumqi = integration(client, world, world.urumqi)
    response = post(
        client, report(urumqi, jurisdiction_id=world.shayibake, address_id=world.community_c)
    )
    assert response.status_code == 201, response.text
    wrong = post(
        client, report(urumqi, jurisdiction_id=world.shayibake, address_id=world.community_a)
    )
    assert wrong.status_code == 404


def test_without_address_id_the_nearest_community_of_the_jurisdiction(
    client: TestClient, world: World, key: str
) -> None:
    place(client, world, world.community_a, 43.8256, 87.6168)
    place(client, world, world.community_b, 43.8000, 87.6000)
    # community_c is nearer still, but in shayibake: not this key's jurisdiction.
    place(client, world, world.community_c, 43.8011, 87.6011)
    response = post(client, report(key, lat="43.8010", long="87.6010"))
    assert response.status_code == 201, response.text
    ticket_id = response.json()[0]["service_request_id"]
    ticket = client.get(f"/v1/tickets/{ticket_id}", headers=world.admin.headers).json()
    assert ticket["community_id"] == world.community_b


def test_422_when_no_community_fits(client: TestClient, world: World, key: str) -> None:
    nowhere = post(client, report(key))
    assert nowhere.status_code == 422
    assert errors_of(nowhere)[0]["description"].startswith("address_id")
    # No community of tianshan has a position yet.
    unplaced = post(client, report(key, lat="43.8", long="87.6"))
    assert unplaced.status_code == 422
    place(client, world, world.community_a, 43.8256, 87.6168)
    far = post(client, report(key, lat="39.47", long="75.99"))  # Kashgar, 1,000 km away
    assert far.status_code == 422
    assert errors_of(far)[0]["description"].startswith("lat")
    bad = post(client, report(key, lat="north", long="87.6"))
    assert bad.status_code == 422


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"service_code": ""}, "service_code"),
        ({"service_code": "elderly.meal"}, "service_code"),  # care is not filed by Open311
        ({"phone": ""}, "phone"),
        ({"description": ""}, "description"),
        ({"attribute[area]": "garden"}, "attribute[area]"),
        ({"attribute[preferred_from]": "tomorrow"}, "attribute[preferred_from]"),
    ],
)
def test_bad_fields_are_named_as_the_form_names_them(
    client: TestClient, world: World, key: str, change: dict[str, str], field: str
) -> None:
    response = post(client, report(key, address_id=world.community_a, **change))
    assert response.status_code == 422, response.text
    assert any(e["description"].startswith(field) for e in errors_of(response)), response.text


def test_a_json_body_is_refused_and_bad_bytes_are_400(client: TestClient, world: World) -> None:
    as_json = client.post(f"{BASE}/requests.json", json={"api_key": "lk_x"})
    assert as_json.status_code == 415
    errors_of(as_json)
    undecodable = client.post(
        f"{BASE}/requests.json",
        content=b"api_key=%ff%fe",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert undecodable.status_code == 400
    errors_of(undecodable)


def test_a_query_string_no_route_can_mean_is_refused_in_open311_form(
    client: TestClient,
) -> None:
    response = client.get(f"{BASE}/requests.xml?status=open%00")
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/xml"
    assert ET.fromstring(response.content).findtext("error/code") == "422"


def test_errors_follow_accept_language(client: TestClient) -> None:
    response = client.get(f"{BASE}/requests/{2**31 - 1}.json", headers={"Accept-Language": "ug"})
    assert response.status_code == 404
    assert "مۇلازىمەت" in errors_of(response)[0]["description"]


# --- the public reads ---------------------------------------------------------------------


GETS = [
    "discovery.{fmt}",
    "services.{fmt}",
    "services/repair.plumbing.{fmt}",
    "requests.{fmt}",
    "requests/{id}.{fmt}",
    "tokens/{id}.{fmt}",
    "servicerequestupdates.{fmt}",
]


def test_no_personal_data_in_any_get(client: TestClient, world: World, key: str) -> None:
    place(client, world, world.community_a, 43.8256, 87.6168)
    filed = post(client, report(key, address_id=world.community_a)).json()[0]
    ticket_id = filed["service_request_id"]
    client.post(
        f"/v1/tickets/{ticket_id}/comments",
        json={"body": f"已联系 {FILER['first_name']} {FILER['phone']} {ROOM}"},
        headers=world.dispatcher.headers,
    ).raise_for_status()
    client.post(f"/v1/tickets/{ticket_id}/accept", headers=world.technician.headers)
    file_ticket(client, world.reporter, world.community_a)  # a resident's, with a room
    secrets = [FILER["first_name"], FILER["last_name"], FILER["phone"], ROOM, "501", "13900000001"]
    for fmt in ("json", "xml"):
        for template in GETS:
            url = f"{BASE}/" + template.format(fmt=fmt, id=ticket_id)
            for params in ({}, {"jurisdiction_id": world.tianshan}):
                response = client.get(url, params=params)
                assert response.status_code == 200, (url, response.text)
                leaked = [s for s in secrets if s in response.text]
                assert leaked == [], (url, leaked)
                assert SECRET_DESCRIPTION not in response.text


def test_requests_in_json_and_xml_say_the_same(client: TestClient, world: World, key: str) -> None:
    place(client, world, world.community_a, 43.8256, 87.6168)
    ticket_id = post(client, report(key, address_id=world.community_a)).json()[0][
        "service_request_id"
    ]
    [as_json] = client.get(f"{BASE}/requests/{ticket_id}.json").json()
    assert as_json["status"] == "open"
    assert as_json["service_code"] == "repair.plumbing"
    assert as_json["address_id"] == world.community_a
    assert as_json["lat"] == 43.8256
    assert as_json["agency_responsible"] == "天山物业服务有限公司"
    root = ET.fromstring(client.get(f"{BASE}/requests/{ticket_id}.xml").content)
    request = root.find("request")
    assert root.tag == "service_requests" and request is not None
    for name in ("service_request_id", "status", "service_code", "address", "address_id"):
        assert request.findtext(name) == str(as_json[name]), name
    assert request.findtext("expected_datetime") == (as_json["expected_datetime"] or "")


def test_services_come_from_the_category_tree_in_the_callers_language(
    client: TestClient,
) -> None:
    services = client.get(f"{BASE}/services.json", headers={"Accept-Language": "en"}).json()
    by_code = {s["service_code"]: s for s in services}
    assert by_code["repair.plumbing"]["service_name"] == "Plumbing"
    assert by_code["repair.plumbing"]["group"] == "Repairs"
    assert not any(code.startswith("elderly") for code in by_code)
    zh = client.get(f"{BASE}/services.xml").content
    names = [e.text for e in ET.fromstring(zh).iter("service_name")]
    assert "给排水" in names
    definition = client.get(f"{BASE}/services/repair.plumbing.json").json()
    codes = [a["code"] for a in definition["attributes"]]
    assert codes == ["area", "building", "unit", "room", "preferred_from", "preferred_to"]
    xml = ET.fromstring(client.get(f"{BASE}/services/repair.plumbing.xml").content)
    assert xml.tag == "service_definition"
    assert [v.findtext("key") for v in xml.iter("value")] == ["private", "public"]
    assert client.get(f"{BASE}/services/elderly.meal.json").status_code == 404


def test_status_maps_to_open_and_closed(client: TestClient, world: World) -> None:
    ids = {}
    for status, actions in {
        "assigned": (),
        "in_progress": ("accept", "start"),
        "resolved": ("accept", "start", "resolve"),
    }.items():
        ticket = file_ticket(client, world.reporter, world.community_a)
        for action in actions:
            client.post(
                f"/v1/tickets/{ticket['id']}/{action}", headers=world.technician.headers
            ).raise_for_status()
        ids[status] = ticket["id"]
    cancelled = file_ticket(client, world.reporter, world.community_a)
    client.post(f"/v1/tickets/{cancelled['id']}/cancel", headers=world.reporter.headers)
    ids["cancelled"] = cancelled["id"]
    listed = {r["service_request_id"]: r for r in client.get(f"{BASE}/requests.json").json()}
    assert {s: listed[i]["status"] for s, i in ids.items()} == {
        "assigned": "open",
        "in_progress": "open",
        "resolved": "closed",
        "cancelled": "closed",
    }
    closed = client.get(f"{BASE}/requests.json", params={"status": "closed"}).json()
    assert {r["status"] for r in closed} == {"closed"}
    assert {ids["resolved"], ids["cancelled"]} <= {r["service_request_id"] for r in closed}
    assert client.get(f"{BASE}/requests.json", params={"status": "pending"}).status_code == 422


def test_the_last_90_days_by_default_and_no_window_over_90(
    client: TestClient, world: World
) -> None:
    long_ago = utcnow() - dt.timedelta(days=100)
    with clock_override(lambda: long_ago):
        old = file_ticket(client, world.reporter, world.community_a)["id"]
    new = file_ticket(client, world.reporter, world.community_a)["id"]
    listed = {r["service_request_id"] for r in client.get(f"{BASE}/requests.json").json()}
    assert new in listed and old not in listed
    start = (long_ago - dt.timedelta(days=1)).isoformat()
    then = client.get(f"{BASE}/requests.json", params={"start_date": start}).json()
    assert old in {r["service_request_id"] for r in then}
    assert new not in {r["service_request_id"] for r in then}
    by_id = client.get(f"{BASE}/requests.json", params={"service_request_id": f"{old},{new}"})
    assert {r["service_request_id"] for r in by_id.json()} == {old, new}
    too_long = client.get(
        f"{BASE}/requests.json",
        params={"start_date": start, "end_date": utcnow().isoformat()},
    )
    assert too_long.status_code == 422
    assert errors_of(too_long)[0]["description"].startswith("end_date")


def test_at_most_1000_requests(client: TestClient, world: World, connection: Any) -> None:
    assert public.MAX_REQUESTS == 1000
    first = file_ticket(client, world.reporter, world.community_a)["id"]
    table = Ticket.__table__
    row = dict(connection.execute(select(table).where(table.c.id == first)).mappings().one())
    copies = [
        {**row, "id": first + n, "number": f"T{first + n}", "duplicate_key": None}
        for n in range(1, 1001)
    ]
    connection.execute(table.insert(), copies)
    listed = client.get(f"{BASE}/requests.json").json()
    assert len(listed) == 1000
    assert listed[0]["service_request_id"] == first + 1000  # newest first
    assert first not in {r["service_request_id"] for r in listed}


def test_updates_tell_what_happened_without_who(client: TestClient, world: World, key: str) -> None:
    ticket_id = post(client, report(key, address_id=world.community_a)).json()[0][
        "service_request_id"
    ]
    for action in ("accept", "start", "resolve"):
        client.post(
            f"/v1/tickets/{ticket_id}/{action}", headers=world.technician.headers
        ).raise_for_status()
    updates = [
        u
        for u in client.get(f"{BASE}/servicerequestupdates.json").json()
        if u["service_request_id"] == ticket_id
    ]
    assert [u["external_status_code"] for u in updates] == [
        "assigned",
        "accepted",
        "in_progress",
        "resolved",
    ]
    assert updates[-1]["status"] == "closed"
    xml = ET.fromstring(client.get(f"{BASE}/servicerequestupdates.xml").content)
    assert xml.tag == "service_request_updates"
    assert xml.find("request_update/update_id") is not None


def test_tokens_map_to_their_request(client: TestClient, world: World, key: str) -> None:
    ticket_id = post(client, report(key, address_id=world.community_a)).json()[0][
        "service_request_id"
    ]
    assert client.get(f"{BASE}/tokens/{ticket_id}.json").json() == [
        {"service_request_id": ticket_id, "token": str(ticket_id)}
    ]
    assert client.get(f"{BASE}/tokens/abc.json").status_code == 404


def test_a_jurisdiction_narrows_the_reads(client: TestClient, world: World) -> None:
    mine = file_ticket(client, world.reporter, world.community_a)["id"]
    far = file_ticket(client, world.far_resident, world.community_k)["id"]
    kashi = client.get(f"{BASE}/requests.json", params={"jurisdiction_id": world.kashi_city}).json()
    assert {r["service_request_id"] for r in kashi} >= {far}
    assert mine not in {r["service_request_id"] for r in kashi}
    assert (
        client.get(f"{BASE}/requests/{mine}.json", params={"jurisdiction_id": world.kashgar})
    ).status_code == 404
    assert (
        client.get(f"{BASE}/services.json", params={"jurisdiction_id": 2**31 - 1})
    ).status_code == 404


def test_an_unknown_format_is_refused_in_json(client: TestClient) -> None:
    response = client.get(f"{BASE}/services.csv")
    assert response.status_code == 422
    assert errors_of(response)[0]["description"].startswith("format")
