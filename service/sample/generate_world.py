"""The generator's world: Xinjiang's prefectures and counties, communities,
residents, property companies and care providers (with changes of provider over
the years), and the categories tickets are filed under, in their shares."""

from __future__ import annotations

import bisect
import datetime as dt
import random
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Table, insert, text
from sqlalchemy.orm import Session

from service.auth import Principal
from service.categories.service import load_reference_tree
from service.directory.models import Community, Organization, ProviderAssignment, Region
from service.enums import OrganizationKind, RegionLevel, Role, ServiceKind
from service.sample.bulk import catch_up_sequence, first_free_id
from service.sample.world import (
    PROVINCE,
    PROVINCE_DIVISION,
    REGISTRATION,
    Directory,
    categories,
    credit_code,
)

# Prefecture-level divisions and some of their counties/districts, with a weight
# (roughly the urban population living in old residential communities).
XINJIANG: tuple[tuple[str, float, tuple[str, ...]], ...] = (
    (
        "乌鲁木齐市",
        30,
        (
            "天山区",
            "沙依巴克区",
            "新市区",
            "水磨沟区",
            "头屯河区",
            "米东区",
            "达坂城区",
            "乌鲁木齐县",
        ),
    ),
    ("克拉玛依市", 5, ("克拉玛依区", "独山子区", "白碱滩区", "乌尔禾区")),
    ("吐鲁番市", 3, ("高昌区", "鄯善县", "托克逊县")),
    ("哈密市", 4, ("伊州区", "巴里坤哈萨克自治县", "伊吾县")),
    ("昌吉回族自治州", 8, ("昌吉市", "阜康市", "呼图壁县", "玛纳斯县", "奇台县", "吉木萨尔县")),
    ("博尔塔拉蒙古自治州", 2, ("博乐市", "阿拉山口市", "精河县", "温泉县")),
    (
        "巴音郭楞蒙古自治州",
        6,
        ("库尔勒市", "轮台县", "尉犁县", "若羌县", "焉耆回族自治县", "和静县"),
    ),
    ("阿克苏地区", 7, ("阿克苏市", "库车市", "温宿县", "沙雅县", "新和县", "拜城县")),
    ("克孜勒苏柯尔克孜自治州", 2, ("阿图什市", "阿克陶县", "阿合奇县", "乌恰县")),
    (
        "喀什地区",
        9,
        ("喀什市", "疏附县", "疏勒县", "英吉沙县", "泽普县", "莎车县", "叶城县", "巴楚县"),
    ),
    ("和田地区", 5, ("和田市", "和田县", "墨玉县", "皮山县", "洛浦县", "于田县")),
    (
        "伊犁哈萨克自治州",
        10,
        ("伊宁市", "奎屯市", "霍尔果斯市", "伊宁县", "霍城县", "巩留县", "新源县", "特克斯县"),
    ),
    ("塔城地区", 5, ("塔城市", "乌苏市", "沙湾市", "额敏县", "托里县")),
    ("阿勒泰地区", 4, ("阿勒泰市", "布尔津县", "富蕴县", "福海县", "哈巴河县")),
)
STREETS = (
    "幸福",
    "团结",
    "友好",
    "人民",
    "解放",
    "建设",
    "和平",
    "光明",
    "胜利",
    "文化",
    "天山",
    "昆仑",
    "红山",
    "南湖",
    "北京",
    "新华",
)
ROADS = ("路", "街", "")
SUFFIXES = ("小区", "花园", "家属院", "社区", "苑", "新村")
COMPANY_WORDS = (
    "安居",
    "天润",
    "金盾",
    "华源",
    "雪莲",
    "博达",
    "瑞丰",
    "恒信",
    "康泰",
    "丝路",
    "昆仑",
    "绿洲",
)

# Share of tickets by category (kind follows the category).
CATEGORY_MIX: tuple[tuple[str, float], ...] = (
    ("repair.plumbing", 16),
    ("repair.electrical", 9),
    ("repair.elevator", 3),
    ("repair.roof_leak", 4),
    ("repair.doors_locks", 6),
    ("repair.heating", 8),  # scaled by season below
    ("public.cleaning", 7),
    ("public.greening", 2),
    ("public.lighting", 5),
    ("public.waste", 5),
    ("security.safety", 2),
    ("security.parking", 4),
    ("neighbour.noise", 3),
    ("neighbour.dispute", 2),
    ("complaint.property_service", 4),
    ("complaint.fees", 2),
    ("complaint.staff_conduct", 1.5),
    ("elderly.meal", 6),
    ("elderly.bathing", 1.5),
    ("elderly.cleaning", 2.5),
    ("elderly.emergency", 0.8),
    ("elderly.medical", 1.7),
    ("elderly.mobility", 1),
    ("elderly.visit", 3),
)


@dataclass
class Plan:
    """How much to make, from what seed, over how many years up to `end`."""

    communities: int = 1714
    residents: int = 231_500
    tickets: int = 1_000_000
    seed: int = 1
    years: int = 3
    end: dt.datetime = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    # Elders with care plans and visits (generate_care.py); None: in proportion to
    # the residents (20,000 for the programme's 231,500).
    elders: int | None = None


# The generator enters the directory as a province-wide admin that is no account:
# the directory's functions it calls record no author.
_GENERATOR = Principal(user_id=0, role=Role.admin, name="python -m service generate")


def serving(history: list[tuple[float, int]] | None, at: float) -> int | None:
    """The organisation serving a community at `at` (epoch), from its history."""
    if not history:
        return None
    current = None
    for since, org in history:
        if since <= at or current is None:
            current = org
    return current


def pick_index(rng: random.Random, cumulative: list[float]) -> int:
    return bisect.bisect(cumulative, rng.random() * cumulative[-1])


def pick(rng: random.Random, cumulative: list[float], items: list[Any]) -> Any:
    return items[pick_index(rng, cumulative)]


def cumulative(weights: list[float]) -> list[float]:
    out, total = [], 0.0
    for w in weights:
        total += w
        out.append(total)
    return out


@dataclass
class World:
    community_ids: list[int]
    community_weights: list[float]
    community_path: dict[int, str]
    elderly_share: dict[int, float]
    # community -> [(since epoch, organization)] for property and for elderly care
    property_by: dict[int, list[tuple[float, int]]]
    care_by: dict[int, list[tuple[float, int]]]
    quality: dict[int, float]  # organisation -> how slow/bad it is (1 = typical)
    residents_of: dict[int, tuple[int, int]]  # community -> (first user id, count)
    categories: list[tuple[int, str, str]]  # id, kind, default priority
    category_codes: list[str]
    others_of_kind: dict[str, list[int]]


def build_reference(session: Session, plan: Plan, rng: random.Random) -> World:
    """Regions, communities, organisations, assignments and residents (ORM and
    executemany: a few hundred thousand small rows)."""
    load_reference_tree(session)
    start = plan.end - dt.timedelta(days=365 * plan.years)
    directory = Directory(session, _GENERATOR)
    province = directory.region(PROVINCE, RegionLevel.province)
    counties: list[tuple[Region, float]] = []
    for name, weight, county_names in XINJIANG:
        prefecture = directory.region(name, RegionLevel.prefecture, province)
        for i, county_name in enumerate(county_names):
            county = directory.region(county_name, RegionLevel.county, prefecture)
            # The prefecture's seat holds most of its old communities.
            counties.append((county, weight * (3.0 if i == 0 else 1.0) / (len(county_names) + 2)))

    county_cum = cumulative([w for _, w in counties])
    communities: list[Community] = []
    residents_left = plan.residents
    for i in range(plan.communities):
        county = pick(rng, county_cum, [c for c, _ in counties])
        remaining = plan.communities - i
        residents = (
            residents_left
            if remaining == 1
            else max(20, int(rng.lognormvariate(0, 0.5) * residents_left / remaining))
        )
        residents = (
            min(residents, residents_left - (remaining - 1) * 20) if remaining > 1 else residents
        )
        residents_left -= residents
        community = directory.community(
            county,
            f"{rng.choice(STREETS)}{rng.choice(ROADS)}{rng.choice(SUFFIXES)}{i + 1}号",
            address=f"{county.name}{rng.choice(STREETS)}路{rng.randint(1, 300)}号",
            households=max(8, int(residents / rng.uniform(2.3, 3.0))),
            residents=residents,
            renovation_year=rng.choice([2024, 2025, 2026]),
            renovation_batch=rng.choice(["第一批", "第二批", "第三批"]),
        )
        communities.append(community)

    # Property companies: about one per six communities, registered in a county,
    # serving communities nearby; care providers: about one per county.
    by_county: dict[int, list[Community]] = {}
    for community in communities:
        by_county.setdefault(community.region_id, []).append(community)
    organizations: list[Organization] = []
    property_orgs: dict[int, list[Organization]] = {}
    care_orgs: dict[int, list[Organization]] = {}
    county_of = {county.id: county for county, _ in counties}
    for county_id, members in sorted(by_county.items()):
        county = county_of[county_id]
        for org_kind, communities_each, word, pool in (
            (OrganizationKind.property_company, 6, "物业", property_orgs),
            (OrganizationKind.care_provider, 40, "养老", care_orgs),
        ):
            for _ in range(max(1, round(len(members) / communities_each))):
                org = directory.organization(
                    county,
                    f"{county.name}{rng.choice(COMPANY_WORDS)}{word}{len(organizations) + 1}",
                    org_kind,
                    credit_code(rng, REGISTRATION[org_kind] + PROVINCE_DIVISION),
                )
                organizations.append(org)
                pool.setdefault(county_id, []).append(org)
    quality = {}
    for org in organizations:
        # Most companies are alike; one in twenty is much worse (slow, unrated, complained about).
        quality[org.id] = (
            rng.uniform(2.5, 4.0) if rng.random() < 0.05 else rng.lognormvariate(0, 0.25)
        )

    property_by: dict[int, list[tuple[float, int]]] = {}
    care_by: dict[int, list[tuple[float, int]]] = {}
    assignments = []
    start_day = start.date()
    for community in communities:
        for kind, pool, target in (
            (ServiceKind.property, property_orgs, property_by),
            (ServiceKind.elderly_care, care_orgs, care_by),
        ):
            if kind == ServiceKind.elderly_care and rng.random() < 0.25:
                continue  # no care provider here
            candidates = pool[community.region_id]
            first = rng.choice(candidates)
            history = [(start_day, first)]
            others = [c for c in candidates if c is not first] or [
                o for orgs in pool.values() for o in orgs if o is not first
            ]
            if others and rng.random() < 0.12:
                # The community changed provider once during the three years.
                change = start_day + dt.timedelta(days=rng.randint(120, 365 * plan.years - 60))
                second = rng.choice(others)
                history.append((change, second))
            for j, (since, org) in enumerate(history):
                until = history[j + 1][0] if j + 1 < len(history) else None
                assignments.append(
                    {
                        "community_id": community.id,
                        "kind": kind.value,
                        "organization_id": org.id,
                        "since_on": since,
                        "until_on": until,
                        # NULL on history rows: the unique constraint allows one current row.
                        "current": True if until is None else None,
                        "created_at": start,
                    }
                )
            target[community.id] = [
                (dt.datetime.combine(since, dt.time(), dt.UTC).timestamp(), org.id)
                for since, org in history
            ]
    session.execute(insert(cast(Table, ProviderAssignment.__table__)), assignments)

    # Residents as users (the reporters of tickets).
    first_user = first_free_id(session, "user_account")
    residents_of: dict[int, tuple[int, int]] = {}
    rows = []
    next_id = first_user
    created = start.replace(tzinfo=None) if session.get_bind().dialect.name == "sqlite" else start
    for community in communities:
        count = max(1, community.residents)
        residents_of[community.id] = (next_id, count)
        for _ in range(count):
            rows.append(
                {
                    "id": next_id,
                    "sub": f"gen-{plan.seed}-resident-{next_id}",
                    "role": "resident",
                    "name": "居民",
                    "community_id": community.id,
                    "created_at": created,
                    "updated_at": created,
                }
            )
            next_id += 1
    for i in range(0, len(rows), 20_000):
        session.execute(
            text(
                "INSERT INTO user_account"
                " (id, sub, role, name, community_id, created_at, updated_at) "
                "VALUES (:id, :sub, :role, :name, :community_id, :created_at, :updated_at)"
            ),
            rows[i : i + 20_000],
        )
    catch_up_sequence(session, "user_account")

    codes = [c for c, _ in CATEGORY_MIX]
    found = categories(session, codes)
    mix = [(found[c].id, str(found[c].kind), str(found[c].default_priority)) for c in codes]
    return World(
        community_ids=[c.id for c in communities],
        community_weights=[float(c.households) for c in communities],
        community_path={c.id: c.region_path for c in communities},
        # Some communities are much older than others: elderly care 5%-35% of their tickets.
        elderly_share={c.id: rng.uniform(0.3, 2.0) for c in communities},
        property_by=property_by,
        care_by=care_by,
        quality=quality,
        residents_of=residents_of,
        categories=mix,
        category_codes=codes,
        others_of_kind={
            "property_company": [
                o.id for o in organizations if o.kind == OrganizationKind.property_company
            ],
            "care_provider": [
                o.id for o in organizations if o.kind == OrganizationKind.care_provider
            ],
        },
    )
