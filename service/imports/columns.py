"""The columns each kind of import takes, by the names people give them (Chinese
or English), and how a cell becomes a value. A cell that cannot be read is
refused by catalogue code and never quoted back: elders' cells are sensitive."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from service.i18n import Rejected

Convert = Callable[[Any, ZoneInfo], Any]


def _text(cell: Any, _zone: ZoneInfo) -> str:
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))  # Excel keeps 13900000001 and 2026 as numbers
    if isinstance(cell, dt.datetime | dt.date):
        return cell.isoformat()
    return str(cell).strip()


def _integer(cell: Any, _zone: ZoneInfo) -> int:
    if isinstance(cell, bool):
        raise Rejected("validation.not_integer")
    if isinstance(cell, int):
        return cell
    if isinstance(cell, float):
        if cell.is_integer():
            return int(cell)
        raise Rejected("validation.not_integer")
    text = str(cell).strip().replace(",", "")
    if re.fullmatch(r"[+-]?\d+(\.0+)?", text):
        return int(float(text)) if "." in text else int(text)
    raise Rejected("validation.not_integer")


def _number(cell: Any, _zone: ZoneInfo) -> float:
    if isinstance(cell, bool):
        raise Rejected("validation.not_number")
    if isinstance(cell, int | float):
        return float(cell)
    try:
        value = float(str(cell).strip())
    except ValueError as exc:
        raise Rejected("validation.not_number") from exc
    if value != value or value in (float("inf"), float("-inf")):
        raise Rejected("validation.not_number")
    return value


def _iso(text: str) -> str:
    """2026/1/5 and 2026.1.5 as ISO 8601 (2026-01-05), the rest as it is."""
    text = text.strip()
    match = re.match(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})", text)
    if match is None:
        return text
    year, month, day = match.groups()
    return f"{year}-{int(month):02d}-{int(day):02d}" + text[match.end() :]


def _date(cell: Any, _zone: ZoneInfo) -> dt.date:
    if isinstance(cell, dt.datetime):
        return cell.date()
    if isinstance(cell, dt.date):
        return cell
    try:
        return dt.date.fromisoformat(_iso(str(cell)))
    except ValueError as exc:
        raise Rejected("validation.date") from exc


def _instant(cell: Any, zone: ZoneInfo) -> dt.datetime:
    """An instant; a spreadsheet's times have no offset, so they are local time
    (LINLI_TIMEZONE), and a date alone is its local midnight."""
    if isinstance(cell, dt.datetime):
        value = cell
    elif isinstance(cell, dt.date):
        value = dt.datetime.combine(cell, dt.time())
    else:
        try:
            value = dt.datetime.fromisoformat(_iso(str(cell)))
        except ValueError as exc:
            raise Rejected("validation.datetime") from exc
    return value if value.tzinfo is not None else value.replace(tzinfo=zone)


def choice(values: dict[str, Any]) -> Convert:
    """One of `values` (keys compared without case or spaces)."""
    table = {re.sub(r"\s+", "", key).lower(): value for key, value in values.items()}

    def convert(cell: Any, _zone: ZoneInfo) -> Any:
        key = re.sub(r"\s+", "", _text(cell, _zone)).lower()
        if key not in table:
            raise Rejected("validation.not_allowed", expected=" / ".join(values))
        return table[key]

    return convert


_YES_NO = choice(
    {"是": True, "否": False, "yes": True, "no": False, "true": True, "false": False}
    | {"1": True, "0": False, "y": True, "n": False}
)
TEXT, INTEGER, NUMBER, DATE, INSTANT, YES_NO = _text, _integer, _number, _date, _instant, _YES_NO


@dataclass(frozen=True)
class Column:
    field: str  # the name the API gives it, and the error reports
    names: tuple[str, ...]  # the headers it goes by (the first is the one the docs show)
    convert: Convert = TEXT
    required: bool = False


def normalised(header: str) -> str:
    """Headers compare without case, spaces, required-field asterisks and
    full-width brackets' contents: "户数（户）*" is 户数."""
    header = re.sub(r"[（(][^）)]*[）)]", "", header)
    return re.sub(r"[\s*＊_]+", "", header).lower()


REGION = Column("region", ("所属区县", "区县", "所属区域", "区域", "region", "region_id"))
COMMUNITY = Column(
    "community", ("小区", "小区名称", "社区", "community", "community_id"), required=True
)

COMMUNITIES = (
    Column("name", ("小区名称", "小区", "名称", "name"), required=True),
    Column("region", REGION.names, required=True),
    Column("address", ("地址", "详细地址", "address")),
    Column("households", ("户数", "households"), INTEGER),
    Column("residents", ("人口", "人数", "居民人数", "residents"), INTEGER),
    Column("renovation_year", ("改造年份", "renovation_year"), INTEGER),
    Column("renovation_batch", ("改造批次", "批次", "renovation_batch")),
    Column("longitude", ("经度", "longitude", "lng"), NUMBER),
    Column("latitude", ("纬度", "latitude", "lat"), NUMBER),
)

ORGANIZATION_KINDS = {
    "物业服务企业": "property_company",
    "物业公司": "property_company",
    "物业": "property_company",
    "property_company": "property_company",
    "养老服务机构": "care_provider",
    "养老机构": "care_provider",
    "养老": "care_provider",
    "care_provider": "care_provider",
}

ORGANIZATIONS = (
    Column("name", ("名称", "单位名称", "机构名称", "企业名称", "name"), required=True),
    Column("kind", ("类型", "单位类型", "机构类型", "kind"), choice(ORGANIZATION_KINDS), True),
    Column("credit_code", ("统一社会信用代码", "信用代码", "credit_code"), required=True),
    Column("contact_phone", ("联系电话", "电话", "contact_phone")),
    REGION,
)

SERVICE_KINDS = {
    "物业": "property",
    "物业服务": "property",
    "property": "property",
    "养老": "elderly_care",
    "养老服务": "elderly_care",
    "elderly_care": "elderly_care",
}

PROVIDERS = (
    COMMUNITY,
    REGION,
    Column("kind", ("服务类型", "类型", "kind"), choice(SERVICE_KINDS), True),
    Column(
        "organization",
        ("机构", "服务单位", "单位", "服务机构", "organization", "organization_id"),
        required=True,
    ),
    Column("since", ("起始日期", "开始日期", "服务起始日期", "since"), DATE),
)

CARE_LEVELS = {
    "0": 0,
    "1": 1,
    "2": 2,
    "3": 3,
    "4": 4,
    "能力完好": 0,
    "轻度失能": 1,
    "中度失能": 2,
    "重度失能": 3,
    "完全失能": 4,
}

ELDERS = (
    COMMUNITY,
    REGION,
    Column("name", ("姓名", "name"), required=True),
    Column("phone", ("电话", "手机", "联系电话", "手机号", "phone")),
    Column("birth_year", ("出生年份", "birth_year"), INTEGER),
    Column(
        "gender",
        ("性别", "gender"),
        choice({"男": "male", "女": "female"} | {"male": "male", "female": "female"}),
    ),
    Column("lives_alone", ("独居", "是否独居", "lives_alone"), YES_NO),
    Column("care_level", ("能力等级", "照护等级", "失能等级", "care_level"), choice(CARE_LEVELS)),
    Column("location.building", ("楼栋", "楼号", "building")),
    Column("location.unit", ("单元", "unit")),
    Column("location.room", ("房号", "门牌号", "room")),
    Column("emergency_contacts.name", ("紧急联系人", "emergency_contact_name")),
    Column("emergency_contacts.relation", ("紧急联系人关系", "关系", "emergency_contact_relation")),
    Column("emergency_contacts.phone", ("紧急联系人电话", "emergency_contact_phone")),
    Column("health_notes", ("健康状况", "健康备注", "health_notes")),
    Column("consent.given_at", ("同意时间", "授权时间", "consent_given_at"), INSTANT),
    Column(
        "consent.by",
        ("同意人", "授权人", "consent_by"),
        choice({"本人": "self", "监护人": "guardian", "self": "self", "guardian": "guardian"}),
    ),
    Column("consent.note", ("同意说明", "授权说明", "consent_note")),
)

KINDS: dict[str, tuple[Column, ...]] = {
    "communities": COMMUNITIES,
    "organizations": ORGANIZATIONS,
    "providers": PROVIDERS,
    "elders": ELDERS,
}
