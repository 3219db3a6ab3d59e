"""GET /v1/vocabulary: every value of the contract's vocabularies has a label in
each language, served in the caller's language too."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from service.enums import AnnouncementKind, HoldReason, Priority, Status, TicketKind
from service.i18n import LANGUAGES
from service.i18n.vocabulary import LABELS
from service.metrics.indicators import INDICATORS
from service.tickets.lifecycle import TRANSITIONS
from service.vocabulary import VALUES

_ARABIC = re.compile(r"[\u0600-\u06ff]")


def test_every_value_has_a_label_in_every_language() -> None:
    expected = {
        "statuses": {s.value for s in Status},
        "priorities": {p.value for p in Priority},
        "kinds": {k.value for k in TicketKind},
        "hold_reasons": {r.value for r in HoldReason},
        "announcement_kinds": {k.value for k in AnnouncementKind},
        "actions": {t.action for t in TRANSITIONS},
        "event_types": {t.event for t in TRANSITIONS} | {"ticket.created"},
        "indicators": {i.name for i in INDICATORS},
    }
    for vocabulary, values in expected.items():
        assert values <= set(VALUES[vocabulary]), vocabulary
        for value in VALUES[vocabulary]:
            zh, ug, en = LABELS[vocabulary][value]
            assert zh and en and _ARABIC.search(ug), (vocabulary, value)


def test_the_vocabulary_is_served_in_the_callers_language(client: TestClient, world) -> None:
    response = client.get(
        "/v1/vocabulary", headers={**world.reporter.headers, "Accept-Language": "ug"}
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-language"] == "ug"
    assert response.headers["vary"] == "Accept-Language"
    body = response.json()
    assert body["language"] == "ug"
    statuses = {t["value"]: t for t in body["statuses"]}
    assert list(statuses) == [s.value for s in Status]
    assert statuses["on_hold"]["label"] == LABELS["statuses"]["on_hold"][1]
    assert set(statuses["on_hold"]["names"]) == set(LANGUAGES)
    plumbing = next(t for t in body["categories"] if t["value"] == "repair.plumbing")
    assert plumbing["label"] == "سۇ تۇرۇبىسى" and plumbing["names"]["zh-Hans"] == "给排水"
    chinese = client.get("/v1/vocabulary", headers=world.reporter.headers).json()
    assert chinese["language"] == "zh-Hans"
    assert {t["value"]: t["label"] for t in chinese["priorities"]}["emergency"] == "紧急"


def test_the_vocabulary_needs_a_token(client: TestClient) -> None:
    assert client.get("/v1/vocabulary").status_code == 401
