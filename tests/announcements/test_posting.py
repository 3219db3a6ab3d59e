"""Announcements (停水停电通知, issue 19): who may post them to which communities,
who sees them and when, withdrawing them, and bad input that changes nothing.
(Every route against every kind of caller: tests/test_tenancy.py.)"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import func, select

from service.announcements.models import Announcement, AnnouncementCommunity
from service.db import clock_override, utcnow
from service.notifications.models import Notification
from tests.announcements.helpers import body, iso, listed, post, posted

PROBLEM_JSON = "application/problem+json"


def _counts(db: Any) -> tuple[int, int, int]:
    return (
        db.scalar(select(func.count()).select_from(Announcement)),
        db.scalar(select(func.count()).select_from(AnnouncementCommunity)),
        db.scalar(select(func.count()).select_from(Notification)),
    )


def test_an_admin_posts_and_the_communitys_residents_see_it_others_do_not(client, world):
    made = client.post(
        "/v1/announcements", json=body([world.community_a]), headers=world.admin.headers
    )

    assert made.status_code == 201, made.text
    announcement = made.json()
    assert made.headers["Location"] == f"/v1/announcements/{announcement['id']}"
    assert announcement["kind"] == "planned_outage" and announcement["current"] is True
    assert announcement["community_ids"] == [world.community_a]
    # The housing department speaks for itself: no company, and nobody's name or phone.
    assert announcement["organization_id"] is None and announcement["organization_name"] is None
    assert "created_by" not in announcement
    for reader in (world.reporter, world.neighbour, world.grid_worker, world.dispatcher):
        assert announcement["id"] in listed(client, reader), reader.name
        seen = client.get(f"/v1/announcements/{announcement['id']}", headers=reader.headers)
        assert seen.status_code == 200 and seen.json()["title"] == "今日停水通知"
    for stranger in (world.far_resident, world.other_grid_worker, world.other_dispatcher):
        assert listed(client, stranger) == [], stranger.name
        missing = client.get(f"/v1/announcements/{announcement['id']}", headers=stranger.headers)
        assert missing.status_code == 404 and missing.json()["code"] == "announcement.not_found"


def test_a_property_company_posts_to_the_communities_it_serves(client, world):
    announcement = posted(client, world.dispatcher, [world.community_a, world.community_b])

    assert announcement["organization_id"] == world.company
    assert announcement["organization_name"] == "天山物业服务有限公司"
    # Each reader sees the communities of it that are theirs to see.
    for reader, communities in (
        (world.dispatcher, [world.community_a, world.community_b]),
        (world.reporter, [world.community_a]),
        (world.care_dispatcher, [world.community_a]),  # serves community_a's elders only
    ):
        seen = client.get(f"/v1/announcements/{announcement['id']}", headers=reader.headers)
        assert seen.json()["community_ids"] == communities, reader.name


@pytest.mark.parametrize(
    ("poster", "community", "why"),
    [
        ("dispatcher", "community_k", "other_company serves it"),
        ("care_dispatcher", "community_a", "serves its elderly care, not its property"),
        ("admin", "community_c", "another county"),
        ("other_admin", "community_a", "another prefecture"),
    ],
)
def test_a_community_outside_the_posters_scope_is_named_and_nothing_is_posted(
    client, world, db, poster, community, why
):
    before = _counts(db)
    communities = [world.community_a, world.ids[community]]
    if poster in ("care_dispatcher", "other_admin"):
        communities = [world.ids[community]]

    response = post(client, world.actors[poster], communities)

    assert response.status_code == 422, (why, response.text)
    problem = response.json()
    assert problem["code"] == "announcement.communities_outside"
    index = communities.index(world.ids[community])
    assert problem["errors"] == [
        {
            "field": f"community_ids.{index}",
            "code": "announcement.community_not_yours",
            "message": f"您不能向小区 {world.ids[community]} 发布通知",
        }
    ]
    assert _counts(db) == before


def test_a_community_that_does_not_exist_answers_as_one_outside_scope(client, world, db):
    before = _counts(db)
    response = post(client, world.province_admin, [2**31 - 1])
    assert response.status_code == 422
    assert response.json()["errors"][0]["code"] == "announcement.community_not_yours"
    assert _counts(db) == before


@pytest.mark.parametrize("who", ["reporter", "grid_worker", "technician"])
def test_residents_grid_workers_and_technicians_may_not_post(client, world, db, who):
    before = _counts(db)
    response = post(client, world.actors[who], [world.community_a])
    assert response.status_code == 403, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.json()["code"] == "announcement.not_allowed"
    assert _counts(db) == before


def _in(hours: float) -> str:
    return iso(utcnow() + dt.timedelta(hours=hours))


@pytest.mark.parametrize(
    ("changes", "field", "code"),
    [
        ({"ends_at": _in(-2)}, "ends_at", "announcement.ends_before_start"),
        ({"starts_at": _in(-3), "ends_at": _in(-2)}, "ends_at", "announcement.already_over"),
        (
            {"starts_at": _in(1), "ends_at": _in(24 * 400)},
            "ends_at",
            "announcement.too_long",
        ),
        ({"starts_at": "2026-12-05T08:00:00"}, "starts_at", None),  # no time zone
        ({"title": "   "}, "title", None),
        ({"title": "停" * 101}, "title", None),
        ({"body": ""}, "body", None),
        ({"body": "水" * 2001}, "body", None),
        ({"kind": "rumour"}, "kind", None),
        ({"community_ids": []}, "community_ids", None),
        ({"community_ids": list(range(1, 202))}, "community_ids", None),
        ({"community_ids": [0]}, "community_ids.0", None),
        ({"colour": "red"}, "colour", None),
    ],
)
def test_bad_input_is_refused_clearly_and_changes_nothing(client, world, db, changes, field, code):
    before = _counts(db)
    response = client.post(
        "/v1/announcements",
        json=body([world.community_a]) | changes,
        headers=world.dispatcher.headers,
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    errors = response.json()["errors"]
    assert [e["field"] for e in errors] == [field], errors
    if code is not None:
        assert errors[0]["code"] == code, errors
    assert _counts(db) == before


def test_a_repeated_community_counts_once(client, world):
    announcement = posted(client, world.admin, [world.community_a, world.community_a])
    assert announcement["community_ids"] == [world.community_a]


def test_residents_see_what_is_shown_now_or_to_come_staff_see_the_history(client, world):
    now = utcnow()
    upcoming = posted(
        client,
        world.admin,
        [world.community_a],
        kind="notice",
        starts_at=iso(now + dt.timedelta(days=2)),
        ends_at=iso(now + dt.timedelta(days=3)),
    )
    with clock_override(lambda: now - dt.timedelta(days=3)):
        ended = posted(client, world.admin, [world.community_a], kind="emergency")
    current = posted(client, world.admin, [world.community_a])

    assert listed(client, world.reporter) == [current["id"], upcoming["id"]]
    assert (
        client.get(f"/v1/announcements/{ended['id']}", headers=world.reporter.headers).status_code
        == 404
    )
    every = [current["id"], ended["id"], upcoming["id"]]
    assert listed(client, world.admin, community_id=world.community_a)[:3] == every
    assert listed(client, world.grid_worker)[:3] == every
    # Filters: shown now or not, kind, community; several values each.
    assert listed(client, world.admin, current="true")[:1] == [current["id"]]
    assert ended["id"] in listed(client, world.admin, current="false")
    assert current["id"] not in listed(client, world.admin, current="false")
    assert listed(client, world.admin, kind="notice,emergency")[:2] == [ended["id"], upcoming["id"]]
    assert listed(client, world.admin, community_id=world.community_b) == []
    assert listed(client, world.reporter, kind="planned_outage") == [current["id"]]


def test_pages_follow_the_cursor(client, world):
    made = [posted(client, world.admin, [world.community_b])["id"] for _ in range(3)]
    page = client.get(
        "/v1/announcements",
        params={"limit": 2, "community_id": world.community_b},
        headers=world.admin.headers,
    ).json()
    assert [i["id"] for i in page["items"]] == made[::-1][:2] and page["next_cursor"]
    rest = client.get(
        "/v1/announcements",
        params={"limit": 2, "community_id": world.community_b, "cursor": page["next_cursor"]},
        headers=world.admin.headers,
    ).json()
    assert [i["id"] for i in rest["items"]] == [made[0]] and rest["next_cursor"] is None
    foreign = client.get(
        "/v1/announcements", params={"cursor": "bm90LW91cnM"}, headers=world.admin.headers
    )
    assert foreign.status_code == 422 and foreign.json()["code"] == "cursor.bad"


def test_withdrawn_residents_stop_seeing_it_and_only_its_posters_may(client, world):
    announcement = posted(client, world.dispatcher, [world.community_a])
    url = f"/v1/announcements/{announcement['id']}"
    for refused in (world.reporter, world.technician, world.care_dispatcher, world.grid_worker):
        response = client.delete(url, headers=refused.headers)
        assert response.status_code == 403, (refused.name, response.text)
        assert response.json()["code"] == "announcement.not_yours"
    assert client.delete(url, headers=world.other_dispatcher.headers).status_code == 404

    withdrawn = client.delete(url, headers=world.dispatcher.headers)

    assert withdrawn.status_code == 200, withdrawn.text
    assert withdrawn.json()["withdrawn_at"] is not None and withdrawn.json()["current"] is False
    assert announcement["id"] not in listed(client, world.reporter)
    assert client.get(url, headers=world.reporter.headers).status_code == 404
    assert announcement["id"] in listed(client, world.dispatcher)  # the history keeps it
    again = client.delete(url, headers=world.admin.headers)  # the county's admin: no change
    assert (
        again.status_code == 200
        and again.json()["withdrawn_at"] == withdrawn.json()["withdrawn_at"]
    )


def test_an_admin_withdraws_only_what_lies_wholly_in_their_region(client, world):
    both = posted(client, world.province_admin, [world.community_a, world.community_k])
    url = f"/v1/announcements/{both['id']}"
    # The county's admin sees it (community_a is theirs) but not all of it.
    seen = client.get(url, headers=world.admin.headers)
    assert seen.json()["community_ids"] == [world.community_a]
    assert client.delete(url, headers=world.admin.headers).status_code == 403
    assert client.delete(url, headers=world.province_admin.headers).status_code == 200
