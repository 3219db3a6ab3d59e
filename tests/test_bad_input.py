"""Bad input answers a clear problem+json and changes nothing."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from service.tickets.models import Ticket, TicketEvent

PROBLEM = "application/problem+json"


def _counts(db) -> tuple[int, int]:
    return (
        db.scalar(select(func.count()).select_from(Ticket)),
        db.scalar(select(func.count()).select_from(TicketEvent)),
    )


def _valid(world) -> dict:
    return {
        "category": "repair.plumbing",
        "community_id": world.community_a,
        "description": "漏水",
        "contact_phone": "139 0000 0001",
    }


CASES = {
    "unknown field": lambda b: {**b, "colour": "red"},
    "unknown nested field": lambda b: {**b, "location": {"building": "1", "floor": 3}},
    "missing description": lambda b: {k: v for k, v in b.items() if k != "description"},
    "empty description": lambda b: {**b, "description": "   "},
    "description too long": lambda b: {**b, "description": "水" * 2001},
    "title too long": lambda b: {**b, "title": "x" * 201},
    "bad phone": lambda b: {**b, "contact_phone": "12345"},
    "phone with letters": lambda b: {**b, "contact_phone": "1390000000a"},
    "unknown priority": lambda b: {**b, "priority": "whenever"},
    "unknown channel": lambda b: {**b, "channel": "fax"},
    "unknown area": lambda b: {**b, "location": {"area": "roof"}},
    "community id out of range": lambda b: {**b, "community_id": 2**40},
    "negative community id": lambda b: {**b, "community_id": -1},
    "community id as text": lambda b: {**b, "community_id": "abc"},
    "category with SQL": lambda b: {**b, "category": "repair'; DROP TABLE ticket;--"},
    "unknown category": lambda b: {**b, "category": "repair.teleporter"},
    "far-future window": lambda b: {
        **b,
        "preferred_time": {"from": "2999-01-01T09:00:00+08:00", "to": "2999-01-01T11:00:00+08:00"},
    },
    "far-past window": lambda b: {
        **b,
        "preferred_time": {"from": "1900-01-01T09:00:00+08:00", "to": "1900-01-01T11:00:00+08:00"},
    },
    "reversed window": lambda b: {
        **b,
        "preferred_time": {"from": "2026-12-01T11:00:00+08:00", "to": "2026-12-01T09:00:00+08:00"},
    },
    "naive window": lambda b: {
        **b,
        "preferred_time": {"from": "2026-12-01T09:00:00", "to": "2026-12-01T11:00:00"},
    },
    "too many attachments": lambda b: {**b, "attachment_ids": list(range(1, 12))},
    "resident filing for someone": lambda b: {
        **b,
        "on_behalf_of": {"name": "老王", "phone": "13900000009"},
    },
    # Coerced by pydantic's lax mode: "1" and true were read as community 1.
    "community id as a digit string": lambda b: {**b, "community_id": str(b["community_id"])},
    "community id as true": lambda b: {**b, "community_id": True},
    # Control characters: a terminal escape, a bell.
    "ANSI escape in the description": lambda b: {**b, "description": "漏水\x1b[2J\x1b[31m"},
    "bell in the title": lambda b: {**b, "title": "漏水\x07"},
    "description of zero-width spaces only": lambda b: {**b, "description": "\u200b\u200b\ufeff"},
    "array body": lambda b: [b],
    "deeply nested": lambda b: {**b, "location": json.loads("[" * 500 + "]" * 500)},
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_ticket_bodies_answer_422_and_store_nothing(client, world, db, case):
    before = _counts(db)
    response = client.post(
        "/v1/tickets", json=CASES[case](_valid(world)), headers=world.reporter.headers
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == PROBLEM
    problem = response.json()
    assert problem["status"] == 422 and problem["title"]
    assert problem.get("errors") or problem.get("detail")
    assert _counts(db) == before


def test_validation_errors_name_the_field(client, world):
    response = client.post(
        "/v1/tickets",
        json={**_valid(world), "contact_phone": "12345"},
        headers=world.reporter.headers,
    )
    assert [e["field"] for e in response.json()["errors"]] == ["contact_phone"]


def test_phone_numbers_are_normalised(client, world):
    response = client.post(
        "/v1/tickets",
        json={**_valid(world), "contact_phone": "+86 139-0000-0001"},
        headers=world.reporter.headers,
    )
    assert response.status_code == 201
    assert response.json()["contact_phone"] == "13900000001"


@pytest.mark.parametrize(
    "content, content_type, status",
    [
        (b"{not json", "application/json", 422),
        (b'{"category": "\xff\xfe"}', "application/json", 400),
        (b"category=repair.plumbing", "application/x-www-form-urlencoded", 415),
        (b"<ticket/>", "application/xml", 415),
        (b'{"a": 1}', "text/plain", 415),
        (b"", "application/json", 422),
    ],
)
def test_malformed_requests(client, world, db, content, content_type, status):
    before = _counts(db)
    response = client.post(
        "/v1/tickets",
        content=content,
        headers={**world.reporter.headers, "Content-Type": content_type},
    )
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    assert _counts(db) == before


def test_oversized_body_answers_413(client, world, db):
    before = _counts(db)
    body = json.dumps({**_valid(world), "description": "水" * 100_000})
    response = client.post(
        "/v1/tickets",
        content=body,
        headers={**world.reporter.headers, "Content-Type": "application/json"},
    )
    assert response.status_code == 413
    assert response.headers["content-type"] == PROBLEM
    assert _counts(db) == before


def test_oversized_chunked_body_answers_413(client, world, db):
    before = _counts(db)

    def chunks():
        yield b'{"description": "'
        for _ in range(200):
            yield b"x" * 1024
        yield b'"}'

    response = client.post(
        "/v1/tickets",
        content=chunks(),
        headers={**world.reporter.headers, "Content-Type": "application/json"},
    )
    assert response.status_code == 413
    assert _counts(db) == before


def test_html_and_sql_are_stored_verbatim_and_returned_as_json(client, world):
    nasty = "<script>alert('x')</script>'; DROP TABLE ticket; -- 水管"
    created = client.post(
        "/v1/tickets",
        json={**_valid(world), "description": nasty, "title": "<b>漏水</b>"},
        headers=world.reporter.headers,
    )
    assert created.status_code == 201
    fetched = client.get(f"/v1/tickets/{created.json()['id']}", headers=world.reporter.headers)
    assert fetched.headers["content-type"] == "application/json"
    assert fetched.json()["description"] == nasty
    assert fetched.json()["title"] == "<b>漏水</b>"


@pytest.mark.parametrize(
    "query",
    [
        "limit=0",
        "limit=201",
        "limit=abc",
        "status=open",
        "priority=whenever",
        "cursor=not-a-cursor",
        "created_from=yesterday",
        "created_from=2026-01-01T00:00:00",
        "created_to=yesterday",
        "created_to=2026-01-01T00:00:00",
        "created_to=1999-12-31T00:00:00Z",
        "community_id=99999999999999",
        "kind=shed",
        "category=Repair",
        "organization_id=0",
        "assignee_id=x",
        "breached=perhaps",
        "number=LL%2F1",
        "number=" + "L" * 33,
        "q=%20",
        "cursor=" + "c" * 201,
    ],
)
def test_bad_list_queries_answer_422(client, world, query):
    response = client.get(f"/v1/tickets?{query}", headers=world.reporter.headers)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == PROBLEM


@pytest.mark.parametrize(
    "path, body",
    [
        ("hold", {"reason": "bored"}),
        ("hold", {}),
        ("confirm", {"rating": 6}),
        ("confirm", {"rating": 0}),
        ("confirm", {"rating": 4, "stars": 5}),
        ("reopen", {}),
        ("reopen", {"reason": ""}),
        ("assign", {}),
        ("reject", {"reason": "dup", "duplicate_of": "x"}),
    ],
)
def test_bad_action_bodies_answer_422_and_change_nothing(client, world, db, path, body):
    ticket = client.post("/v1/tickets", json=_valid(world), headers=world.reporter.headers).json()
    before = _counts(db)
    actor = world.reporter if path in ("confirm", "reopen") else world.admin
    if path == "hold":
        actor = world.dispatcher
    response = client.post(f"/v1/tickets/{ticket['id']}/{path}", json=body, headers=actor.headers)
    assert response.status_code == 422, response.text
    assert _counts(db) == before
    after = client.get(f"/v1/tickets/{ticket['id']}", headers=world.reporter.headers).json()
    assert after["version"] == ticket["version"]


def test_unknown_routes_and_methods_are_problems(client, world):
    missing = client.get("/v1/nothing-here", headers=world.reporter.headers)
    assert missing.status_code == 404
    assert missing.headers["content-type"] == PROBLEM
    wrong = client.delete("/v1/tickets", headers=world.reporter.headers)
    assert wrong.status_code == 405
    assert wrong.headers["content-type"] == PROBLEM


@pytest.mark.parametrize(
    "path, query",
    [
        # PostgreSQL cannot hold a NUL in text: these answered 500.
        ("/v1/metrics/summary", "from=2026-01-01&to=2026-07-01&category=repair%00"),
        ("/v1/metrics/rankings", "from=2026-01-01&to=2026-07-01&category=repair%00"),
        ("/v1/metrics/trend", "category=%00"),
        ("/v1/tickets", "category=repair.plumbing%00"),
        ("/v1/tickets", "sta%00tus=assigned"),
        # SQLite answered 500 ("Expression tree is too large").
        ("/v1/tickets", "&".join(["status=assigned"] * 2000)),
        ("/v1/tickets", "status=" + ",".join(["assigned"] * 2000)),
        ("/v1/tickets", "q=" + "x" * 9000),
    ],
)
def test_query_strings_no_route_can_mean_answer_422(client, world, path, query):
    response = client.get(f"{path}?{query}", headers=world.province_admin.headers)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["errors"]


def test_fifty_values_of_a_filter_are_fine(client, world):
    query = "&".join(["status=assigned"] * 50)
    response = client.get(f"/v1/tickets?{query}", headers=world.province_admin.headers)
    assert response.status_code == 200, response.text


def test_invisible_format_characters_are_removed_and_uyghur_joiners_kept(client, world):
    """U+202E makes text read backwards on a dispatcher's screen; U+200C (ZWNJ)
    is how Uyghur writes some words."""
    body = {
        **_valid(world),
        "title": "水管\u202e漏水\u200b",
        "description": "سۇ تۇرۇبىسى\u200cدىن سۇ ئېقىۋاتىدۇ",
    }
    created = client.post("/v1/tickets", json=body, headers=world.reporter.headers)
    assert created.status_code == 201, created.text
    assert created.json()["title"] == "水管漏水"
    assert created.json()["description"] == body["description"]


def test_confirm_tags_refuse_control_characters(client, world):
    # Validated before the ticket is looked up.
    response = client.post(
        "/v1/tickets/999999/confirm",
        json={"rating": 5, "tags": ["fast\x1b[0m"]},
        headers=world.reporter.headers,
    )
    assert response.status_code == 422, response.text
