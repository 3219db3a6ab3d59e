"""Imports over HTTP: all or nothing, row errors, idempotent re-import, encodings
and XLSX with Chinese headers, tenancy, elders' consent without echoing values."""

from __future__ import annotations

import io
from typing import Any

from fastapi.testclient import TestClient
from openpyxl import Workbook
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service.care.models import Elder
from service.directory.credit_code import check_character
from service.directory.models import Community, Organization, ProviderAssignment
from tests.conftest import Actor, World

HEADERS = "小区名称,所属区县,户数,人口,改造年份,改造批次,经度,纬度"


def send(
    client: TestClient,
    actor: Actor,
    kind: str,
    content: bytes,
    *,
    name: str = "list.csv",
    dry_run: bool = False,
    language: str = "en",
) -> Any:
    return client.post(
        f"/v1/imports/{kind}",
        files={"file": (name, content, "text/csv")},
        data={"dry_run": "true" if dry_run else "false"},
        headers={**actor.headers, "Accept-Language": language},
    )


def csv_bytes(*lines: str, encoding: str = "utf-8") -> bytes:
    return ("\n".join(lines) + "\n").encode(encoding)


def communities_named(db: Session, prefix: str) -> list[Community]:
    return list(
        db.scalars(
            select(Community).where(Community.name.startswith(prefix)).order_by(Community.id)
        )
    )


def credit_code(body17: str) -> str:
    return body17 + check_character(body17)


def test_one_bad_row_stores_nothing_and_names_the_row(
    client: TestClient, world: World, db: Session
) -> None:
    content = csv_bytes(
        HEADERS,
        "导入一号小区,天山区,820,2300,2026,第一批,87.61,43.82",
        "导入二号小区,天山区,很多,2300,2026,第一批,87.61,43.82",
        "导入三号小区,天山区,500,1200,1980,第一批,87.61,43.82",
    )
    response = send(client, world.admin, "communities", content)

    assert response.status_code == 422, response.text
    problem = response.json()
    assert response.headers["content-type"].startswith("application/problem+json")
    assert problem["code"] == "import.rejected" and problem["error_count"] == 2
    first, second = problem["errors"]
    assert (first["row"], first["column"], first["field"], first["code"]) == (
        3,
        "户数",
        "households",
        "validation.not_integer",
    )
    assert (second["row"], second["column"], second["code"]) == (
        4,
        "改造年份",
        "validation.at_least",
    )
    assert communities_named(db, "导入") == []


def test_errors_in_the_callers_language(client: TestClient, world: World) -> None:
    content = csv_bytes(HEADERS, "导入一号小区,天山区,很多,2300,2026,第一批,87.61,43.82")
    zh = send(client, world.admin, "communities", content, language="zh-Hans").json()
    ug = send(client, world.admin, "communities", content, language="ug").json()
    assert zh["errors"][0]["message"] == "应为整数"
    assert zh["errors"][0]["message"] != ug["errors"][0]["message"]


def test_import_then_again_updates_instead_of_duplicating(
    client: TestClient, world: World, db: Session
) -> None:
    first = csv_bytes(
        HEADERS,
        "导入一号小区,天山区,820,2300,2026,第一批,87.61,43.82",
        "导入二号小区,新疆维吾尔自治区/乌鲁木齐市/天山区,500,1200,2025,,,",
    )
    response = send(client, world.admin, "communities", first)
    assert response.status_code == 200, response.text
    assert response.json() | {"errors": []} == {
        "kind": "communities",
        "dry_run": False,
        "rows": 2,
        "created": 2,
        "updated": 0,
        "unchanged": 0,
        "error_count": 0,
        "errors": [],
    }
    again = csv_bytes(
        HEADERS,
        "导入一号小区,天山区,830,2300,2026,第一批,87.61,43.82",
        "导入二号小区,乌鲁木齐市/天山区,500,1200,2025,,,",
    )
    body = send(client, world.admin, "communities", again).json()
    assert (body["created"], body["updated"], body["unchanged"]) == (0, 1, 1)
    rows = communities_named(db, "导入")
    assert [(c.name, c.households, c.region_id) for c in rows] == [
        ("导入一号小区", 830, world.tianshan),
        ("导入二号小区", 500, world.tianshan),
    ]
    assert rows[0].latitude == 43.82 and rows[0].renovation_batch == "第一批"


def test_dry_run_counts_and_stores_nothing(client: TestClient, world: World, db: Session) -> None:
    content = csv_bytes(HEADERS, "导入一号小区,天山区,820,2300,2026,第一批,,")
    response = send(client, world.admin, "communities", content, dry_run=True)
    assert response.status_code == 200, response.text
    assert (response.json()["dry_run"], response.json()["created"]) == (True, 1)
    assert communities_named(db, "导入") == []
    bad = csv_bytes(HEADERS, "导入一号小区,喀什市,820,2300,2026,第一批,,")
    report = send(client, world.admin, "communities", bad, dry_run=True)
    assert report.status_code == 200
    assert [(e["row"], e["column"], e["code"]) for e in report.json()["errors"]] == [
        (2, "所属区县", "import.region_unknown")
    ]


def test_gb18030_csv_with_chinese_headers(client: TestClient, world: World, db: Session) -> None:
    content = csv_bytes(HEADERS, "导入碱泉街小区,天山区,640,1700,2026,第二批,,", encoding="gb18030")
    response = send(client, world.admin, "communities", content)
    assert response.status_code == 200, response.text
    assert [c.name for c in communities_named(db, "导入")] == ["导入碱泉街小区"]


def test_utf8_csv_with_bom_and_english_headers(
    client: TestClient, world: World, db: Session
) -> None:
    content = "\ufeffname,region,households\n导入英文表头小区,天山区,12\n".encode()
    response = send(client, world.admin, "communities", content)
    assert response.status_code == 200, response.text
    assert [c.households for c in communities_named(db, "导入")] == [12]


def xlsx(rows: list[list[Any]]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_xlsx_with_chinese_headers(client: TestClient, world: World, db: Session) -> None:
    content = xlsx(
        [
            ["序号", "小区名称", "所属区县", "户数", "人口", "改造年份", "经度", "纬度"],
            [1, "导入表格小区", world.tianshan, 820, 2300, 2026, 87.616848, 43.825592],
            [2, "导入表格二号小区", "天山区", 100.0, 300, 2025, None, None],
        ]
    )
    response = send(client, world.admin, "communities", content, name="list.xlsx")
    assert response.status_code == 200, response.text
    rows = communities_named(db, "导入")
    assert [(c.name, c.households, c.longitude) for c in rows] == [
        ("导入表格小区", 820, 87.616848),
        ("导入表格二号小区", 100, None),
    ]
    bad = xlsx([["小区名称", "所属区县", "户数"], ["导入坏小区", "天山区", -1]])
    problem = send(client, world.admin, "communities", bad, name="bad.xlsx").json()
    assert [(e["row"], e["column"]) for e in problem["errors"]] == [(2, "户数")]


def test_an_admin_of_another_region_cannot_import_into_this_one(
    client: TestClient, world: World, db: Session
) -> None:
    content = csv_bytes(HEADERS, f"导入越权小区,{world.tianshan},820,2300,2026,,,")
    response = send(client, world.other_admin, "communities", content)
    assert response.status_code == 422
    assert [(e["row"], e["code"]) for e in response.json()["errors"]] == [
        (2, "import.region_unknown")
    ]
    assert communities_named(db, "导入") == []


def test_only_admins_import(client: TestClient, world: World) -> None:
    content = csv_bytes(HEADERS, "导入一号小区,天山区,820,2300,2026,,,")
    response = send(client, world.dispatcher, "communities", content)
    assert response.status_code == 403


def test_unknown_and_missing_columns(client: TestClient, world: World) -> None:
    problem = send(
        client, world.admin, "communities", csv_bytes("小区名称,楼龄", "导入小区,3")
    ).json()
    assert [(e["row"], e["column"], e["code"]) for e in problem["errors"]] == [
        (1, "楼龄", "import.unknown_column"),
        (1, "所属区县", "import.missing_column"),
    ]


def test_organizations_by_credit_code(client: TestClient, world: World, db: Session) -> None:
    code = credit_code("91650102MA77XKQ70")
    header = "名称,类型,统一社会信用代码,所属区县"
    first = csv_bytes(header, f"导入物业有限公司,物业服务企业,{code},天山区")
    assert send(client, world.admin, "organizations", first).json()["created"] == 1
    renamed = csv_bytes(header, f"导入物业服务有限公司,property_company,{code},")
    assert send(client, world.admin, "organizations", renamed).json()["updated"] == 1
    orgs = db.scalars(select(Organization).where(Organization.credit_code == code)).all()
    assert [(o.name, o.region_id) for o in orgs] == [("导入物业服务有限公司", world.tianshan)]
    bad = csv_bytes(header, "导入坏公司,物业,91650102MA77XKQ700,天山区")
    problem = send(client, world.admin, "organizations", bad).json()
    assert [(e["row"], e["column"], e["code"]) for e in problem["errors"]] == [
        (2, "统一社会信用代码", "validation.credit_code")
    ]
    # Another region's organisation: its department's to edit.
    theirs = csv_bytes(header, "改名,物业,91653101MA78A1B2CN,")
    problem = send(client, world.admin, "organizations", theirs).json()
    assert [e["code"] for e in problem["errors"]] == ["organization.credit_code_taken"]


def test_providers_assign_and_keep_history(client: TestClient, world: World, db: Session) -> None:
    content = csv_bytes(
        "小区,服务类型,机构,起始日期",
        "红山小区,养老,52650102MJ0000001A,2026-01-01",
        f"幸福路小区,物业,{world.company},",
    )
    response = send(client, world.admin, "providers", content)
    assert response.status_code == 200, response.text
    assert (response.json()["created"], response.json()["unchanged"]) == (1, 1)
    current = db.scalar(
        select(ProviderAssignment.organization_id).where(
            ProviderAssignment.community_id == world.community_b,
            ProviderAssignment.kind == "elderly_care",
            ProviderAssignment.current.is_(True),
        )
    )
    assert current == world.care
    wrong = csv_bytes("小区,服务类型,机构", "红山小区,物业,乌鲁木齐康养居家服务中心")
    problem = send(client, world.admin, "providers", wrong).json()
    assert [(e["row"], e["column"], e["code"]) for e in problem["errors"]] == [
        (2, "机构", "organization.wrong_kind")
    ]


ELDER_HEADERS = "小区,姓名,电话,出生年份,性别,独居,能力等级,楼栋,单元,房号,健康状况,同意时间,同意人"


def test_elders_without_consent_are_refused_without_echoing_the_phone(
    client: TestClient, world: World, db: Session
) -> None:
    content = csv_bytes(
        ELDER_HEADERS,
        "幸福路小区,导入老人甲,13912345678,1946,女,是,2,7,2,301,,2026-11-30 10:00,本人",
        "幸福路小区,导入老人乙,13987654321,1950,男,否,1,,,,高血压-IMPORT,,",
        "幸福路小区,导入老人丙,1398765,1950,男,否,1,,,,,2026-11-30,本人",
    )
    response = send(client, world.admin, "elders", content)
    assert response.status_code == 422, response.text
    assert [(e["row"], e["column"], e["code"]) for e in response.json()["errors"]] == [
        (3, "同意时间", "elder.consent_required"),
        (4, "电话", "validation.phone"),
    ]
    for secret in ("13987654321", "1398765", "高血压", "13912345678"):
        assert secret not in response.text
    assert db.scalar(select(func.count()).where(Elder.name.startswith("导入老人"))) == 0


def test_elders_import_and_again(client: TestClient, world: World, db: Session) -> None:
    content = csv_bytes(
        ELDER_HEADERS,
        "幸福路小区,导入老人甲,13912345678,1946,女,是,2,7,2,301,糖尿病,2026-11-30 10:00,本人",
        "幸福路小区,导入老人乙,,1950,男,否,能力完好,,,,,,",
    )
    response = send(client, world.admin, "elders", content)
    assert response.status_code == 200, response.text
    assert response.json()["created"] == 2
    again = send(client, world.admin, "elders", content).json()
    assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 2)
    elder = db.scalars(select(Elder).where(Elder.name == "导入老人甲")).one()
    assert (elder.phone, elder.room, elder.care_level, elder.lives_alone) == (
        "13912345678",
        "301",
        2,
        True,
    )
    assert elder.consent_given_at is not None and elder.consent_by == "self"


def test_cells_as_spreadsheets_write_them() -> None:
    import datetime as dt
    from zoneinfo import ZoneInfo

    from service.imports.columns import DATE, INSTANT, INTEGER, normalised

    zone = ZoneInfo("Asia/Shanghai")
    assert DATE("2026/1/5", zone) == DATE("2026.01.05", zone) == dt.date(2026, 1, 5)
    assert INSTANT("2026/11/30 10:00", zone) == dt.datetime(2026, 11, 30, 2, 0, tzinfo=dt.UTC)
    assert INTEGER("820.0", zone) == INTEGER(820.0, zone) == INTEGER("1,820", zone) - 1000
    assert normalised("户数（户）*") == normalised("户数") and normalised("Region_ID") == "regionid"


def test_a_damaged_or_foreign_file_is_refused_whole(client: TestClient, world: World) -> None:
    good = xlsx([["小区名称", "所属区县"], ["导入小区", "天山区"]])
    for content in (good[: len(good) // 2], b"PK\x03\x04" + b"\x00" * 64, bytes(range(256)) * 4):
        response = send(client, world.admin, "communities", content, name="x.xlsx")
        assert response.status_code == 422, response.text
        assert response.json()["errors"][0]["field"] == "file"
        assert response.json()["code"] in ("import.unreadable", "import.encoding")


def test_another_regions_admin_finds_neither_the_community_nor_its_elders(
    client: TestClient, world: World, db: Session
) -> None:
    content = csv_bytes("小区,姓名,出生年份", f"{world.community_a},导入老人丁,1940")
    response = send(client, world.other_admin, "elders", content)
    assert [(e["row"], e["column"], e["code"]) for e in response.json()["errors"]] == [
        (2, "小区", "import.community_unknown")
    ]
    providers = csv_bytes("小区,服务类型,机构", f"{world.community_a},物业,{world.other_company}")
    response = send(client, world.other_admin, "providers", providers)
    assert [e["code"] for e in response.json()["errors"]] == ["import.community_unknown"]
    assert db.scalar(select(func.count()).where(Elder.name == "导入老人丁")) == 0


def test_elders_from_xlsx_with_a_consent_time_cell(
    client: TestClient, world: World, db: Session
) -> None:
    import datetime as dt

    content = xlsx(
        [
            ["小区", "姓名", "手机", "能力等级", "紧急联系人", "紧急联系人关系", "紧急联系人电话"]
            + ["同意时间", "同意人"],
            ["幸福路小区", "导入老人戊", 13912340000, "中度失能", "古丽", "女儿", 13800001111]
            + [dt.datetime(2026, 11, 30, 10, 0), "监护人"],
        ]
    )
    response = send(client, world.admin, "elders", content)
    assert response.status_code == 200, response.text
    elder = db.scalars(select(Elder).where(Elder.name == "导入老人戊")).one()
    assert (elder.phone, elder.care_level, elder.consent_by) == ("13912340000", 2, "guardian")
    assert elder.emergency_contacts == [
        {"name": "古丽", "relation": "女儿", "phone": "13800001111"}
    ]
    assert elder.consent_given_at == dt.datetime(2026, 11, 30, 2, 0, tzinfo=dt.UTC)
