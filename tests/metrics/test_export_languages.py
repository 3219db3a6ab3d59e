"""Exports in the catalogue's three languages: every header and every label of a
Uyghur export is Uyghur (Arabic script), taken from service/i18n; zh-Hans as
before (`zh` still accepted); English keeps the JSON's names."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.orm import Session

from service.categories.models import Category
from service.i18n.vocabulary import EXPORT_LABELS, LABELS
from service.metrics.indicators import INDICATORS
from tests.conftest import World
from tests.metrics.test_action import _load
from tests.metrics.test_api import PERIOD, _world_tickets

ARABIC = re.compile(r"[\u0600-\u06ff]")
NOT_UYGHUR = re.compile(r"[A-Za-z\u4e00-\u9fff]")  # Latin letters or Han
GROUPS = ("region", "community", "organization", "category", "kind", "month", "quarter")
# Columns holding names people gave (never translated) or codes of time.
NAMED = {"region", "community", "organization", "month", "quarter"}
UG, ZH = 1, 0


def _uyghur(text: Any) -> bool:
    return isinstance(text, str) and bool(ARABIC.search(text)) and not NOT_UYGHUR.search(text)


def _csv(response: Any) -> list[list[str]]:
    assert response.status_code == 200, response.text
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


def _xlsx(response: Any, right_to_left: bool = True) -> list[tuple[Any, ...]]:
    assert response.status_code == 200, response.text
    sheet = load_workbook(io.BytesIO(response.content)).active
    assert bool(sheet.sheet_view.rightToLeft) is right_to_left
    return list(sheet.iter_rows(values_only=True))


def test_every_export_word_has_three_languages() -> None:
    for key, (zh, ug, en) in EXPORT_LABELS.items():
        assert re.search(r"[\u4e00-\u9fff]", zh), key
        assert _uyghur(ug), key
        assert en == key  # English exports keep the JSON's names


def test_the_summary_in_uyghur(client: TestClient, db: Session, world: World) -> None:
    _world_tickets(db, world)
    params = {**PERIOD, "group_by": ",".join(GROUPS), "format": "csv"}
    table = _csv(
        client.get(
            "/v1/metrics/summary",
            params={**params, "lang": "ug"},
            headers=world.province_admin.headers,
        )
    )
    header, rows = table[0], table[1:]
    assert header == [EXPORT_LABELS[g][UG] for g in GROUPS] + [
        LABELS["indicators"][i.name][UG] for i in INDICATORS
    ]
    assert all(_uyghur(h) for h in header), header
    assert rows
    names_ug = dict(db.execute(select(Category.name_zh, Category.name_ug)).tuples().all())
    kinds_ug = {ug for _zh, ug, _en in LABELS["kinds"].values()}
    seen_categories = set()
    for row in rows:
        for group, cell in zip(GROUPS, row, strict=False):
            if group not in NAMED:
                assert _uyghur(cell), (group, cell)
        seen_categories.add(row[GROUPS.index("category")])
        assert row[GROUPS.index("kind")] in kinds_ug
    # Each category by its own Uyghur name.
    assert seen_categories <= set(names_ug.values()) and len(seen_categories) == 2

    # Accept-Language asks for it as well; the XLSX says the same.
    sheet = _xlsx(
        client.get(
            "/v1/metrics/summary",
            params={**params, "format": "xlsx"},
            headers={**world.province_admin.headers, "Accept-Language": "ug-CN, zh;q=0.8"},
        )
    )
    assert list(sheet[0]) == header
    assert [["" if v is None else v for v in r[:5]] for r in sheet[1:]] == [r[:5] for r in rows]


def test_zh_hans_zh_and_english(client: TestClient, db: Session, world: World) -> None:
    _world_tickets(db, world)
    params = {**PERIOD, "group_by": "organization,kind", "format": "csv"}

    def export(**extra: Any) -> list[list[str]]:
        headers = {**world.province_admin.headers, **extra.pop("headers", {})}
        return _csv(client.get("/v1/metrics/summary", params={**params, **extra}, headers=headers))

    hans = export(lang="zh-Hans")
    assert hans == export(lang="zh") == export(headers={"Accept-Language": "zh-CN"})
    assert hans[0][:3] == ["服务企业", "工单类型", "工单数"]
    assert {r[1] for r in hans[1:]} == {LABELS["kinds"][k][ZH] for k in ("property", "complaint")}
    english = export(lang="en")
    assert english == export() == export(headers={"Accept-Language": "fr"})
    assert english[0][:3] == ["organization", "kind", "created"]
    assert {r[1] for r in english[1:]} == {"property", "complaint"}
    # Only a Uyghur sheet runs right to left.
    chinese = client.get(
        "/v1/metrics/summary",
        params={**params, "format": "xlsx", "lang": "zh-Hans"},
        headers=world.province_admin.headers,
    )
    assert _xlsx(chinese, right_to_left=False)[0][0] == "服务企业"
    # q-values count: Uyghur preferred over Chinese.
    assert (
        export(headers={"Accept-Language": "zh;q=0.5, ug"})[0][0]
        == EXPORT_LABELS["organization"][UG]
    )


def test_rankings_and_trend_in_uyghur(client: TestClient, db: Session, world: World) -> None:
    _load(db, world)
    admin = world.province_admin.headers
    client.put("/v1/metrics/action", json={"min_tickets": 3}, headers=admin)
    ranking = _xlsx(
        client.get(
            "/v1/metrics/rankings",
            params={"from": "2026-01-01", "to": "2026-07-01", "format": "xlsx", "lang": "ug"},
            headers=admin,
        )
    )
    header = list(ranking[0])
    assert header[:4] == [EXPORT_LABELS[w][UG] for w in ("rank", "organization", "score", "list")]
    assert header[4:] == [LABELS["indicators"][i.name][UG] for i in INDICATORS]
    assert all(_uyghur(h) for h in header), header
    assert [r[3] for r in ranking[1:]] == [EXPORT_LABELS["red"][UG], EXPORT_LABELS["black"][UG]]

    client.put(
        "/v1/metrics/action",
        json={"start_on": "2026-01-01", "targets": {"satisfaction_rate": [0.75, 0.8, 0.9]}},
        headers=admin,
    )
    words = ("indicator", "quarter", "year_of_action", "value", "target", "met")
    met: dict[int, set[str]] = {}
    for region in (world.tianshan, world.kashi_city):  # satisfaction met, and not
        trend = _csv(
            client.get(
                "/v1/metrics/trend",
                params={"region_id": region, "format": "csv"},
                headers={**admin, "Accept-Language": "ug"},
            )
        )
        assert trend[0] == [EXPORT_LABELS[w][UG] for w in words]
        assert all(_uyghur(h) for h in trend[0])
        names = {r[0] for r in trend[1:]}
        assert names == {LABELS["indicators"][i.name][UG] for i in INDICATORS}
        assert all(_uyghur(n) for n in names)
        met[region] = {r[5] for r in trend[1:]} - {""}
    assert EXPORT_LABELS["yes"][UG] in met[world.tianshan]
    assert EXPORT_LABELS["no"][UG] in met[world.kashi_city]
    assert all(_uyghur(m) for m in met[world.tianshan] | met[world.kashi_city])


@pytest.mark.parametrize("lang", ["ug-Arab", "uy", "UG"])
def test_an_unknown_lang_is_422(client: TestClient, world: World, lang: str) -> None:
    response = client.get(
        "/v1/metrics/summary",
        params={"format": "csv", "lang": lang},
        headers=world.province_admin.headers,
    )
    assert response.status_code == 422, response.text
