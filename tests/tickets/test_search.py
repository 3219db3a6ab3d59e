"""Ticket search (`q`, `number` on GET /v1/tickets): what a person types finds the
tickets they may see that say it, and nothing else."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, inspect, select, text
from sqlalchemy.orm import Session

from service.config import Settings
from service.db import make_engine
from service.migrate import downgrade, upgrade
from service.sample.generate import Plan, generate
from service.tickets.models import Ticket
from service.tickets.search import query_terms, ticket_terms
from tests.conftest import TEST_SECRET, World, file_ticket, new_database

PROBLEM = "application/problem+json"
# The revision ticket search's migration (9b1e5d3c7a28) follows.
BEFORE_SEARCH = "8d4f0a2c6e15"

# --- the terms, without a database ---------------------------------------------


def test_chinese_is_indexed_as_bigrams_and_other_scripts_as_words() -> None:
    terms = ticket_terms("卫生间漏水", "LED灯 不亮，Ｗｉｆｉ也断了", "3号楼", None).split()
    assert {"卫生", "生间", "间漏", "漏水", "水"} <= set(terms)
    assert {"led", "灯", "不亮", "亮", "wifi", "也断", "断了", "了", "3", "号楼", "楼"} <= set(
        terms
    )
    assert "ئاشخانىدىكى" in ticket_terms(None, "ئاشخانىدىكى سۇ تۇرۇبىسى", None, None).split()
    assert ticket_terms(None, "！？…", None, None) == ""


def test_a_query_is_bigrams_of_chinese_and_prefixes_of_the_rest() -> None:
    assert query_terms("漏水") == [("漏水", False)]
    assert query_terms("电梯困人") == [("电梯", False), ("梯困", False), ("困人", False)]
    assert query_terms("水") == [("水", True)]
    assert query_terms(" LED  3号楼 ") == [("led", True), ("3", True), ("号楼", False)]
    assert query_terms("!!! ，。") == []


CHINESE = "漏水电梯暖气停不热管"
CJK = st.sampled_from(CHINESE)
LATIN = st.sampled_from("abcLEDéß")
TEXT = st.lists(st.one_of(CJK, LATIN, st.sampled_from(" ，.3")), max_size=30).map("".join)


def _in_word(char: str) -> bool:
    """Part of a word of a script written with spaces (not one of CJK's characters)."""
    return char.isalnum() and char not in CHINESE


def _found(index: str, query: str) -> bool:
    """What the databases do with the terms: every query term is a term of the
    ticket, or the start of one when it is a prefix."""
    terms = index.split()
    return all(
        any(t.startswith(term) for t in terms) if prefix else term in terms
        for term, prefix in query_terms(query)
    )


@settings(max_examples=300, deadline=None)
@given(text=TEXT, data=st.data())
def test_any_piece_of_a_text_finds_it(text: str, data: st.DataObject) -> None:
    """A piece cut from the text (whole words at its ends aside) finds the text:
    what a person copies or remembers of a report is enough."""
    start = data.draw(st.integers(0, len(text)))
    end = data.draw(st.integers(start, len(text)))
    piece = text[start:end]
    # A cut inside a word leaves the end of a word, which is not searched for.
    if 0 < start < len(text) and _in_word(text[start - 1]) and _in_word(text[start]):
        return
    if query_terms(piece):
        assert _found(ticket_terms(None, text, None, None), piece), (text, piece)


# --- through the API ------------------------------------------------------------


@pytest.fixture
def reports(client: TestClient, world: World) -> dict[str, dict[str, Any]]:
    w = world
    return {
        "bathroom": file_ticket(
            client,
            w.reporter,
            w.community_a,
            title="卫生间漏水",
            description="洗手盆下面的水管接头一直滴水。",
        ),
        "lift": file_ticket(
            client,
            w.reporter,
            w.community_a,
            category="repair.elevator",
            description="电梯困人，停在5楼和6楼之间。",
            location={"building": "7号楼", "unit": "1单元"},
        ),
        "uyghur": file_ticket(
            client,
            w.reporter,
            w.community_a,
            title="LED lamp",
            description="ئاشخانىدىكى سۇ تۇرۇبىسى ئېقىۋاتىدۇ",
        ),
        "neighbour": file_ticket(
            client, w.neighbour, w.community_a, description="楼上漏水渗到我家天花板。"
        ),
        "far": file_ticket(client, w.far_resident, w.community_k, description="厨房漏水了。"),
    }


def _search(client: TestClient, actor: Any, **params: Any) -> list[dict[str, Any]]:
    response = client.get("/v1/tickets", params={"limit": 200, **params}, headers=actor.headers)
    assert response.status_code == 200, response.text
    return response.json()["items"]


def _found_names(
    client: TestClient, actor: Any, reports: dict[str, dict[str, Any]], **params: Any
) -> set[str]:
    names = {t["id"]: name for name, t in reports.items()}
    return {names[t["id"]] for t in _search(client, actor, **params) if t["id"] in names}


@pytest.mark.parametrize(
    "q, expected",
    [
        ("漏水", {"bathroom", "neighbour", "far"}),  # two characters, in titles and texts
        ("电梯困人", {"lift"}),  # a longer phrase
        ("困人电梯", set()),  # the same characters in another order
        ("水", {"bathroom", "neighbour", "far"}),  # one character, where a word starts
        ("7号楼", {"lift"}),  # the building
        ("سۇ", {"uyghur"}),  # a Uyghur word
        ("تۇرۇب", {"uyghur"}),  # its start (Uyghur words take suffixes)
        ("led", {"uyghur"}),  # Latin, case aside
        ("ＬＥＤ LAMP", {"uyghur"}),  # full-width letters; every word must match
        ("漏水 卫生间", {"bathroom"}),
        ("暖气", set()),
        ("501", set()),  # the room is not searched
        ("13900000001", set()),  # nor phones
    ],
)
def test_search_finds_what_the_report_says(
    client: TestClient,
    world: World,
    reports: dict[str, dict[str, Any]],
    q: str,
    expected: set[str],
) -> None:
    assert _found_names(client, world.province_admin, reports, q=q) == expected


def test_number_finds_one_ticket_exactly(
    client: TestClient, world: World, reports: dict[str, dict[str, Any]]
) -> None:
    w, lift = world, reports["lift"]
    assert [t["id"] for t in _search(client, w.province_admin, number=lift["number"])] == [
        lift["id"]
    ]
    assert _found_names(client, w.admin, reports, number=lift["number"].lower()) == {"lift"}
    both = f"{lift['number']},{reports['far']['number']}"
    assert _found_names(client, w.province_admin, reports, number=both) == {"lift", "far"}
    assert _search(client, w.province_admin, number=lift["number"][:-1]) == []
    assert _found_names(client, w.province_admin, reports, number=lift["number"], q="暖气") == set()


def test_nobody_finds_what_they_may_not_see(
    client: TestClient, world: World, reports: dict[str, dict[str, Any]]
) -> None:
    w = world
    ours = {"bathroom", "lift", "uyghur"}
    assert _found_names(client, w.reporter, reports, q="漏水") == {"bathroom"}
    assert _found_names(client, w.neighbour, reports, q="漏水") == {"neighbour"}
    assert _found_names(client, w.far_resident, reports, q="漏水") == {"far"}
    assert _found_names(client, w.dispatcher, reports, q="漏水") == {"bathroom", "neighbour"}
    assert _found_names(client, w.other_dispatcher, reports, q="漏水") == {"far"}
    assert _found_names(client, w.care_dispatcher, reports, q="漏水") == set()
    assert _found_names(client, w.admin, reports, q="漏水") == {"bathroom", "neighbour"}
    assert _found_names(client, w.other_admin, reports, q="漏水") == {"far"}
    # Nor by number: another's ticket is not there.
    far = reports["far"]["number"]
    for actor in (w.reporter, w.neighbour, w.dispatcher, w.admin, w.grid_worker):
        assert _found_names(client, actor, reports, number=far) == set(), actor.name
    assert _found_names(client, w.neighbour, reports, number=reports["lift"]["number"]) == set()
    assert _found_names(client, w.reporter, reports, q="水") == ours - {"lift", "uyghur"}


def test_search_combines_with_filters_and_pages(
    client: TestClient, world: World, reports: dict[str, dict[str, Any]]
) -> None:
    w = world
    found = _found_names(client, w.province_admin, reports, q="漏水", community_id=w.community_a)
    assert found == {"bathroom", "neighbour"}
    assert _found_names(client, w.province_admin, reports, q="楼", category="repair.elevator") == {
        "lift"
    }
    # A page at a time, newest first, nothing twice and nothing left out.
    seen: list[int] = []
    params: dict[str, Any] = {"q": "漏水", "limit": 1}
    while True:
        response = client.get("/v1/tickets", params=params, headers=w.province_admin.headers)
        page = response.json()
        seen += [t["id"] for t in page["items"]]
        if page["next_cursor"] is None:
            break
        params["cursor"] = page["next_cursor"]
    everything = [t["id"] for t in _search(client, w.province_admin, q="漏水")]
    assert seen == everything == sorted(everything, reverse=True)
    ids = {reports[name]["id"] for name in ("bathroom", "neighbour", "far")}
    assert ids <= set(seen)


def test_a_changed_text_is_found_by_its_new_words(
    client: TestClient, world: World, reports: dict[str, dict[str, Any]], db: Session
) -> None:
    """No route edits a ticket's text yet; any change of it through the models
    (a future PATCH, a correction) changes what finds it, in the same transaction."""
    ticket = db.get(Ticket, reports["bathroom"]["id"])
    assert ticket is not None
    ticket.description = "暖气片不热，室温只有14度。"
    ticket.title = None
    db.flush()
    assert _found_names(client, world.province_admin, reports, q="暖气片") == {"bathroom"}
    assert "bathroom" not in _found_names(client, world.province_admin, reports, q="漏水")
    ticket.priority = "urgent"  # not the text: its terms stay
    db.flush()
    assert _found_names(client, world.province_admin, reports, q="暖气片") == {"bathroom"}


@pytest.mark.parametrize(
    "q, code",
    [
        ("", "ticket.search_no_words"),
        ("   ", "ticket.search_no_words"),
        ("？！…", "ticket.search_no_words"),
        ("漏" * 101, "ticket.search_too_long"),
    ],
)
def test_a_search_with_nothing_to_find_is_refused(
    client: TestClient, world: World, q: str, code: str
) -> None:
    for language, words in (("zh-Hans", "字"), ("ug", "ھەرپ"), ("en", "character")):
        response = client.get(
            "/v1/tickets",
            params={"q": q},
            headers={**world.province_admin.headers, "Accept-Language": language},
        )
        assert response.status_code == 422, response.text
        assert response.headers["content-type"].startswith(PROBLEM)
        problem = response.json()
        assert problem["code"] == "ticket.search_unusable"
        assert [(e["field"], e["code"]) for e in problem["errors"]] == [("q", code)]
        assert words in problem["errors"][0]["message"]


def test_a_hundred_characters_are_searched(client: TestClient, world: World) -> None:
    q = "  " + "漏水" * 50 + "  "
    assert _search(client, world.province_admin, q=q) == []


@pytest.mark.parametrize("number", ["LL 1", "LL-1;", "x" * 33])
def test_a_malformed_number_is_refused(client: TestClient, world: World, number: str) -> None:
    response = client.get(
        "/v1/tickets", params={"number": number}, headers=world.province_admin.headers
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith(PROBLEM)


# --- the migration fills the terms of the tickets filed before it ------------------


def test_the_migration_fills_the_terms_of_existing_tickets_and_steps_down() -> None:
    db = new_database("linli_search")
    engine = make_engine(Settings(database_url=db.url, jwt_secret=TEST_SECRET))
    try:
        generate(engine, Plan(communities=6, residents=300, tickets=400, seed=5), out=io.StringIO())
        engine.dispose()
        downgrade(db.url, BEFORE_SEARCH)
        plain = create_engine(db.url)
        assert "search_terms" not in {c["name"] for c in inspect(plain).get_columns("ticket")}
        assert not [n for n in inspect(plain).get_table_names() if n.startswith("ticket_search")]
        plain.dispose()
        upgrade(db.url)
        with engine.connect() as connection:
            rows = connection.execute(
                text("SELECT id, title, description, building, unit, search_terms FROM ticket")
            ).all()
            assert len(rows) > 400
            for row in rows:
                made = ticket_terms(row.title, row.description, row.building, row.unit)
                assert _lexemes(row.search_terms) == set(made.split()), row.id
            # And the index answers for them.
            leaking = [r.id for r in rows if "漏水" in (r.title or "") + r.description]
            assert leaking
            session = Session(bind=connection)
            found = _matching_ids(session, "漏水")
            assert sorted(found) == sorted(leaking)
    finally:
        engine.dispose()
        if db.cleanup:
            db.cleanup()


def _lexemes(stored: str) -> set[str]:
    """The terms as stored: a tsvector's text ('led' '漏水') on PostgreSQL."""
    return set(re.findall(r"'([^']*)'", stored)) if stored.startswith("'") else set(stored.split())


def _matching_ids(session: Session, q: str) -> list[int]:
    from service.tickets import search
    from service.tickets.queries import matching

    dialect = session.get_bind().dialect.name
    terms = query_terms(q)
    value = search.tsquery(terms) if dialect == "postgresql" else search.fts5_query(terms)
    statement = select(Ticket.id).where(matching(dialect))
    return list(session.scalars(statement, {"search_query": value}))
