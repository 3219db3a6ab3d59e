"""GET /v1/feed: an organisation's events, each once, in order, as it may see them."""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest

from service.db import clock_override
from tests.feed.helpers import act, comment, drain, feed, file, head, timeline
from tests.feed.live import Live


def test_a_ticket_life_arrives_in_order_with_the_timeline_ids(live_feed: Live) -> None:
    http, w = live_feed.http, live_feed.world
    cursor = head(http, w.dispatcher)
    ticket = file(http, w.reporter, w.community_a)
    act(http, w.technician, ticket["id"], "accept")
    act(http, w.technician, ticket["id"], "start")
    comment(http, w.reporter, ticket["id"], "请尽快")
    act(http, w.technician, ticket["id"], "resolve", {"note": "换了阀门"})

    events, _ = drain(http, w.dispatcher, cursor)
    mine = [e for e in events if e["ticket_id"] == ticket["id"]]
    assert [e["type"] for e in mine] == [
        "ticket.created",
        "ticket.accepted",
        "ticket.started",
        "ticket.commented",
        "ticket.resolved",
    ]
    assert [e["id"] for e in mine] == [e["id"] for e in timeline(http, w.dispatcher, ticket["id"])]
    assert [e["to_status"] for e in mine][-1] == "resolved"
    # The snapshot is the ticket as the organisation may see it now.
    current = http.get(f"/v1/tickets/{ticket['id']}", headers=w.dispatcher.headers).json()
    assert all(e["ticket"] == current for e in mine)
    assert all(e["organization_id"] == w.company for e in mine)


def test_events_name_their_actors_as_the_organisation_may_see_them(live_feed: Live) -> None:
    http, w = live_feed.http, live_feed.world
    cursor = head(http, w.dispatcher)
    ticket = file(http, w.reporter, w.community_a)
    act(http, w.technician, ticket["id"], "accept")
    act(http, w.province_admin, ticket["id"], "assign", {"organization_id": w.other_company})

    def person(actor, role: str, organization_id: int | None = None) -> dict:
        me = http.get("/v1/me", headers=actor.headers).json()
        return {
            "id": me["user_id"],
            "name": me["name"],
            "role": role,
            "organization_id": organization_id,
        }

    expected = [
        ("ticket.created", person(w.reporter, "resident")),
        ("ticket.accepted", person(w.technician, "provider_staff", w.company)),
        ("ticket.unassigned", person(w.province_admin, "admin")),
    ]
    # Read from the database (a cursor before the window) and cut from the window.
    for start in (None, cursor):
        events, _ = drain(http, w.dispatcher, start)
        mine = [e for e in events if e["ticket_id"] == ticket["id"]]
        assert [(e["type"], e["actor"]) for e in mine] == expected
        # `actor_id` stays: the feed's format only grew.
        assert [e["actor_id"] for e in mine] == [a["id"] for _, a in expected]
    # The company that took over sees the first company's technician as the company.
    other = timeline(http, w.other_dispatcher, ticket["id"])
    accepted = [e["actor"] for e in other if e["type"] == "ticket.accepted"]
    assert accepted == [
        {
            "id": None,
            "name": "天山物业服务有限公司",
            "role": "provider_staff",
            "organization_id": w.company,
        }
    ]


def test_pages_follow_each_other_without_gaps_or_repeats(live_feed: Live) -> None:
    http, w = live_feed.http, live_feed.world
    cursor = head(http, w.dispatcher)
    tickets = [file(http, w.reporter, w.community_a)["id"] for _ in range(7)]
    seen: list[int] = []
    pages = 0
    while True:
        page = feed(http, w.dispatcher, cursor, limit=3).json()
        seen += [e["ticket_id"] for e in page["events"]]
        cursor, pages = page["next_cursor"], pages + 1
        if not page["has_more"]:
            break
    assert seen == tickets
    assert pages == 3
    # Nothing new: the same cursor back, and an empty page.
    again = feed(http, w.dispatcher, cursor).json()
    assert again == {"events": [], "next_cursor": cursor, "has_more": False}


def test_without_a_cursor_the_feed_starts_at_the_window_and_hands_out_a_cursor(
    live_feed: Live,
) -> None:
    http, w = live_feed.http, live_feed.world
    first = feed(http, w.dispatcher, limit=1)
    assert first.status_code == 200
    page = first.json()
    assert len(page["events"]) == 1 and page["next_cursor"]
    # care has had nothing yet: an empty page, and a cursor to follow from.
    care = feed(http, w.care_dispatcher).json()
    assert care["events"] == [] and care["next_cursor"]
    ticket = file(http, w.reporter, w.community_a, category="elderly.meal")
    events, _ = drain(http, w.care_dispatcher, care["next_cursor"])
    assert [(e["ticket_id"], e["type"]) for e in events] == [(ticket["id"], "ticket.created")]


def test_list_then_follow_misses_nothing(live_feed: Live) -> None:
    http, w = live_feed.http, live_feed.world
    listed = http.get("/v1/tickets", params={"limit": 200}, headers=w.dispatcher.headers).json()
    assert "feed_cursor" in listed
    ticket = file(http, w.reporter, w.community_a)
    events, _ = drain(http, w.dispatcher, listed["feed_cursor"])
    assert [e["ticket_id"] for e in events] == [ticket["id"]]
    # Residents and admins get no feed cursor.
    for actor in (w.reporter, w.admin):
        body = http.get("/v1/tickets", headers=actor.headers).json()
        assert body.get("feed_cursor") is None


def test_etag_is_the_cursor_and_if_none_match_answers_304(live_feed: Live) -> None:
    http, w = live_feed.http, live_feed.world
    cursor = head(http, w.dispatcher)
    response = feed(http, w.dispatcher, cursor)
    assert response.status_code == 200
    assert response.headers["etag"] == f'"{cursor}"'
    assert int(response.headers["x-poll-interval"]) > 0

    unchanged = http.get(
        "/v1/feed",
        params={"cursor": cursor},
        headers={**w.dispatcher.headers, "If-None-Match": f'"{cursor}"'},
    )
    assert unchanged.status_code == 304
    assert unchanged.content == b""
    assert unchanged.headers["etag"] == f'"{cursor}"'
    assert "x-poll-interval" in unchanged.headers

    ticket = file(http, w.reporter, w.community_a)
    changed = http.get(
        "/v1/feed",
        params={"cursor": cursor},
        headers={**w.dispatcher.headers, "If-None-Match": f'"{cursor}"'},
    )
    assert changed.status_code == 200
    body = changed.json()
    assert [e["ticket_id"] for e in body["events"]] == [ticket["id"]]
    assert changed.headers["etag"] == f'"{body["next_cursor"]}"' != f'"{cursor}"'


def test_a_full_page_says_poll_again_now(live_feed: Live) -> None:
    http, w = live_feed.http, live_feed.world
    cursor = head(http, w.dispatcher)
    for _ in range(3):
        file(http, w.reporter, w.community_a)
    response = feed(http, w.dispatcher, cursor, limit=2)
    assert response.json()["has_more"] is True
    assert response.headers["x-poll-interval"] == "0"


def test_long_poll_answers_when_an_event_commits(live_feed: Live) -> None:
    http, w = live_feed.http, live_feed.world
    cursor = head(http, w.dispatcher)
    answers: list[tuple[float, dict]] = []

    def poll() -> None:
        started = time.monotonic()
        response = feed(http, w.dispatcher, cursor, wait=20)
        answers.append((time.monotonic() - started, response.json()))

    poller = threading.Thread(target=poll)
    poller.start()
    time.sleep(0.5)  # the poll is waiting by now
    ticket = file(http, w.reporter, w.community_a)
    poller.join(timeout=30)
    elapsed, body = answers[0]
    assert [e["ticket_id"] for e in body["events"]] == [ticket["id"]]
    # It woke on the commit, long before its 20 seconds were up.
    assert elapsed < 10


def test_long_poll_times_out_empty_and_304_with_if_none_match(live_feed: Live) -> None:
    http, w = live_feed.http, live_feed.world
    cursor = feed(http, w.other_dispatcher).json()["next_cursor"]
    started = time.monotonic()
    response = http.get(
        "/v1/feed",
        params={"cursor": cursor, "wait": 1},
        headers={**w.other_dispatcher.headers, "If-None-Match": f'"{cursor}"'},
    )
    assert response.status_code == 304
    assert time.monotonic() - started >= 1
    # Another organisation's event does not answer it.
    file(http, w.reporter, w.community_a)
    response = feed(http, w.other_dispatcher, cursor, wait=0.5)
    assert response.json()["events"] == []


def test_reassigned_away_the_old_organisation_gets_unassigned_then_nothing(
    live_feed: Live,
) -> None:
    http, w = live_feed.http, live_feed.world
    company_cursor = head(http, w.dispatcher)
    other_cursor = head(http, w.other_dispatcher)
    ticket = file(http, w.reporter, w.community_a)
    comment(http, w.technician, ticket["id"], "阀门型号 DN20，库存不足", internal=True)
    act(http, w.province_admin, ticket["id"], "assign", {"organization_id": w.other_company})
    act(http, w.other_dispatcher, ticket["id"], "accept")
    comment(http, w.other_dispatcher, ticket["id"], "明早去", internal=True)
    comment(http, w.reporter, ticket["id"], "好的")

    company, _ = drain(http, w.dispatcher, company_cursor)
    company = [e for e in company if e["ticket_id"] == ticket["id"]]
    assert [e["type"] for e in company] == [
        "ticket.created",
        "ticket.commented",
        "ticket.unassigned",
    ]
    # The ticket is no longer theirs: no snapshot, and not where it went.
    assert all(e["ticket"] is None for e in company)
    assert "to_organization_id" not in company[-1]["data"]

    other, _ = drain(http, w.other_dispatcher, other_cursor)
    other = [e for e in other if e["ticket_id"] == ticket["id"]]
    assert [e["type"] for e in other] == [
        "ticket.assigned",
        "ticket.accepted",
        "ticket.commented",
        "ticket.commented",
    ]
    bodies = [e["data"].get("body") for e in other]
    assert "阀门型号 DN20，库存不足" not in bodies  # company's internal note stays with company
    assert other[-1]["ticket"]["organization_id"] == w.other_company


def test_internal_notes_stay_with_their_organisation(live_feed: Live) -> None:
    http, w = live_feed.http, live_feed.world
    company_cursor = head(http, w.dispatcher)
    care_cursor = head(http, w.care_dispatcher)
    ticket = file(http, w.reporter, w.community_a)
    comment(http, w.technician, ticket["id"], "公司内部备注", internal=True)
    comment(http, w.admin, ticket["id"], "住建局内部备注", internal=True)
    company, _ = drain(http, w.dispatcher, company_cursor)
    notes = [e["data"]["body"] for e in company if e["type"] == "ticket.commented"]
    assert notes == ["公司内部备注"]  # the department's own note is not the company's
    care, _ = drain(http, w.care_dispatcher, care_cursor)
    assert all(e["ticket_id"] != ticket["id"] for e in care)


@pytest.mark.parametrize("who", ["reporter", "grid_worker", "admin", "province_admin"])
def test_only_provider_staff_read_a_feed(live_feed: Live, who: str) -> None:
    response = feed(live_feed.http, live_feed.world.actors[who])
    assert response.status_code == 403
    assert response.headers["content-type"].startswith("application/problem+json")


def test_technicians_and_api_keys_read_their_organisation_feed(live_feed: Live) -> None:
    http, w = live_feed.http, live_feed.world
    key = http.post(
        f"/v1/organizations/{w.company}/api-keys",
        json={"name": "调度系统"},
        headers=w.dispatcher.headers,
    ).json()["key"]
    cursor = head(http, w.dispatcher)
    ticket = file(http, w.reporter, w.community_a)
    for headers in (w.technician.headers, {"Authorization": f"Bearer {key}"}):
        page = http.get("/v1/feed", params={"cursor": cursor}, headers=headers).json()
        assert [e["ticket_id"] for e in page["events"]] == [ticket["id"]]


@pytest.mark.parametrize(
    "params",
    [
        {"cursor": "not-a-cursor"},
        {"cursor": "dDox"},  # a ticket list cursor
        {"limit": 201},
        {"limit": 0},
        {"wait": 31},
        {"wait": -1},
    ],
)
def test_bad_parameters_answer_422(live_feed: Live, params: dict) -> None:
    response = live_feed.http.get(
        "/v1/feed", params=params, headers=live_feed.world.dispatcher.headers
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")


def test_an_old_cursor_with_nothing_missed_still_works(live_feed: Live) -> None:
    """The window is about events that left it, not about how long a client idled."""
    http, w = live_feed.http, live_feed.world
    long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(days=45)
    with clock_override(lambda: long_ago):
        ticket = file(http, w.reporter, w.community_a, category="elderly.bathing")
        old_cursor = drain(http, w.care_dispatcher, head(http, w.care_dispatcher))[1]
    # care's events since then are recent ones only
    act(http, w.care_dispatcher, ticket["id"], "accept")
    events, _ = drain(http, w.care_dispatcher, old_cursor)
    assert [e["type"] for e in events][-1] == "ticket.accepted"


def test_a_cursor_whose_next_events_left_the_window_answers_410(live_feed: Live) -> None:
    http, w = live_feed.http, live_feed.world
    long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(days=45)
    with clock_override(lambda: long_ago):
        cursor = head(http, w.care_dispatcher)
        ticket = file(http, w.reporter, w.community_a, category="elderly.meal")
        stale = drain(http, w.care_dispatcher, cursor)[1]
        act(http, w.care_dispatcher, ticket["id"], "accept")  # 45 days ago, after `stale`
    response = feed(http, w.care_dispatcher, stale)
    assert response.status_code == 410, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == "feed.cursor_expired"
    # Resync: the list and its feed cursor, then follow.
    cursor = head(http, w.care_dispatcher)
    act(http, w.care_dispatcher, ticket["id"], "start")
    events, _ = drain(http, w.care_dispatcher, cursor)
    assert [e["type"] for e in events] == ["ticket.started"]
