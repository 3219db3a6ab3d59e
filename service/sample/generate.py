"""Synthetic data at the programme's scale: `python -m service generate`.

Xinjiang's prefectures and counties, communities, residents, property companies
and care providers (with changes of provider over the years), and three years of
tickets with believable shapes: more tickets as the programme is adopted,
heating repairs in the heating season, an elderly-care share, a few companies
much worse than the rest, SLA misses, a spread of ratings, reopened tickets,
follow-up visits, the recent tickets still open. The same seed gives the same
data. Tickets and follow-ups go in with COPY on PostgreSQL (executemany on
SQLite); the ticket timeline (ticket_event) is not generated.
"""

from __future__ import annotations

import datetime as dt
import math
import random
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TextIO, cast

from sqlalchemy import Boolean, Integer, Table, insert, inspect, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from service.categories.models import Category
from service.categories.service import load_reference_tree
from service.directory.credit_code import check_character
from service.directory.models import Community, Organization, ProviderAssignment, Region
from service.enums import OrganizationKind, Priority, RegionLevel, ServiceKind

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
# Response and resolution targets by priority (the defaults tickets are filed with).
TARGETS = {
    Priority.emergency: (15 * 60, 4 * 3600),
    Priority.urgent: (30 * 60, 24 * 3600),
    Priority.normal: (2 * 3600, 3 * 86400),
    Priority.low: (24 * 3600, 7 * 86400),
}
DAY = 86400.0


@dataclass
class Plan:
    communities: int = 1714
    residents: int = 231_500
    tickets: int = 1_000_000
    seed: int = 1
    years: int = 3
    end: dt.datetime = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)


class Progress:
    """A progress bar on stderr: `[#####.....] 48% 480,000/1,000,000 tickets 21,000/s`."""

    def __init__(self, total: int, what: str, out: TextIO = sys.stderr) -> None:
        self.total, self.what, self.out = total, what, out
        self.started = time.perf_counter()
        self.shown = -1.0

    def update(self, done: int) -> None:
        now = time.perf_counter()
        if done < self.total and now - self.shown < 0.5:
            return
        self.shown = now
        fraction = done / self.total if self.total else 1.0
        bar = "#" * int(fraction * 30)
        rate = done / max(now - self.started, 1e-9)
        self.out.write(
            f"\r[{bar:<30}] {fraction:4.0%} {done:,}/{self.total:,} {self.what} {rate:,.0f}/s "
        )
        if done >= self.total:
            self.out.write("\n")
        self.out.flush()


def _credit_code(rng: random.Random, prefix: str) -> str:
    body = prefix + "".join(
        rng.choice("0123456789ABCDEFGHJKLMNPQRTUWXY") for _ in range(17 - len(prefix))
    )
    return body + check_character(body)


def _pick(rng: random.Random, cumulative: list[float], items: list[Any]) -> Any:
    import bisect

    return items[bisect.bisect(cumulative, rng.random() * cumulative[-1])]


def _cumulative(weights: list[float]) -> list[float]:
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
    province = Region(name="新疆维吾尔自治区", level=RegionLevel.province, path="tmp")
    session.add(province)
    session.flush()
    province.path = f"/{province.id}/"
    counties: list[tuple[Region, float]] = []
    for name, weight, county_names in XINJIANG:
        prefecture = Region(
            name=name, level=RegionLevel.prefecture, parent_id=province.id, path=f"tmp{name}"
        )
        session.add(prefecture)
        session.flush()
        prefecture.path = f"{province.path}{prefecture.id}/"
        county: Region | None
        for i, county_name in enumerate(county_names):
            county = Region(
                name=county_name,
                level=RegionLevel.county,
                parent_id=prefecture.id,
                path=f"tmp{county_name}",
            )
            session.add(county)
            session.flush()
            county.path = f"{prefecture.path}{county.id}/"
            # The prefecture's seat holds most of its old communities.
            counties.append((county, weight * (3.0 if i == 0 else 1.0) / (len(county_names) + 2)))
    session.flush()

    county_cum = _cumulative([w for _, w in counties])
    communities: list[Community] = []
    residents_left = plan.residents
    for i in range(plan.communities):
        county = _pick(rng, county_cum, [c for c, _ in counties])
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
        community = Community(
            name=f"{rng.choice(STREETS)}{rng.choice(ROADS)}{rng.choice(SUFFIXES)}{i + 1}号",
            region_id=county.id,
            region_path=county.path,
            address=f"{county.name}{rng.choice(STREETS)}路{rng.randint(1, 300)}号",
            households=max(8, int(residents / rng.uniform(2.3, 3.0))),
            residents=residents,
            renovation_year=rng.choice([2024, 2025, 2026]),
            renovation_batch=rng.choice(["第一批", "第二批", "第三批"]),
        )
        communities.append(community)
    session.add_all(communities)
    session.flush()

    # Property companies: about one per six communities, registered in a county,
    # serving communities nearby; care providers: about one per county.
    by_county: dict[int, list[Community]] = {}
    for community in communities:
        by_county.setdefault(community.region_id, []).append(community)
    organizations: list[Organization] = []
    property_orgs: dict[int, list[Organization]] = {}
    care_orgs: dict[int, list[Organization]] = {}
    for county_id, members in sorted(by_county.items()):
        county = session.get(Region, county_id)
        assert county is not None
        for _ in range(max(1, round(len(members) / 6))):
            org = Organization(
                name=f"{county.name}{rng.choice(COMPANY_WORDS)}物业{len(organizations) + 1}",
                kind=OrganizationKind.property_company,
                credit_code=_credit_code(rng, "9165"),
                region_id=county.id,
                region_path=county.path,
            )
            organizations.append(org)
            property_orgs.setdefault(county_id, []).append(org)
        for _ in range(max(1, round(len(members) / 40))):
            org = Organization(
                name=f"{county.name}{rng.choice(COMPANY_WORDS)}养老{len(organizations) + 1}",
                kind=OrganizationKind.care_provider,
                credit_code=_credit_code(rng, "5265"),
                region_id=county.id,
                region_path=county.path,
            )
            organizations.append(org)
            care_orgs.setdefault(county_id, []).append(org)
    session.add_all(organizations)
    session.flush()
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
    first_user = (session.scalar(text("SELECT coalesce(max(id), 0) FROM user_account")) or 0) + 1
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
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            text(
                "SELECT setval(pg_get_serial_sequence('user_account', 'id'), max(id))"
                " FROM user_account"
            )
        )

    codes = [c for c, _ in CATEGORY_MIX]
    found = {c.code: c for c in session.scalars(select(Category).where(Category.code.in_(codes)))}
    categories = [(found[c].id, str(found[c].kind), str(found[c].default_priority)) for c in codes]
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
        categories=categories,
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


def _serving(history: list[tuple[float, int]] | None, at: float) -> int | None:
    if not history:
        return None
    current = None
    for since, org in history:
        if since <= at or current is None:
            current = org
    return current


def _heating_season(local_day_of_year: int) -> float:
    # Xinjiang heats from mid-October to mid-April; most calls in Nov-Jan.
    if local_day_of_year >= 288 or local_day_of_year <= 105:
        peak = min(abs(local_day_of_year - 350), abs(local_day_of_year + 365 - 350))
        return 3.0 + 3.0 * math.exp(-((peak / 40.0) ** 2))
    return 0.08


def tickets(
    world: World, plan: Plan, rng: random.Random, first_id: int
) -> Iterator[tuple[dict[str, Any], bool]]:
    """(ticket row, followed up) in creation order."""
    end = plan.end.timestamp()
    start = end - 365 * plan.years * DAY
    span = end - start
    community_cum = _cumulative(world.community_weights)
    base_weights = [w for _, w in CATEGORY_MIX]
    heating_index = world.category_codes.index("repair.heating")
    season_cums = {}
    for day in range(0, 367, 7):
        weights = list(base_weights)
        weights[heating_index] *= _heating_season(day)
        season_cums[day // 7] = _cumulative(weights)
    elderly_codes = {i for i, (_, kind, _) in enumerate(world.categories) if kind == "elderly_care"}
    tz_offset = 8 * 3600  # the day of the year in Xinjiang's offices (Asia/Shanghai)
    for n in range(plan.tickets):
        # Adoption grows over the programme: density rises ~2.5x from first to last year.
        u = (n + rng.random()) / plan.tickets
        created = start + span * (math.sqrt(1 + 5.25 * u) - 1) / 1.5
        created = min(created, end - 1)
        progress = (created - start) / span
        day_of_year = time.gmtime(created + tz_offset).tm_yday
        community = _pick(rng, community_cum, world.community_ids)
        index = _pick_index(rng, season_cums[day_of_year // 7])
        if index in elderly_codes and rng.random() > min(1.0, 0.6 * world.elderly_share[community]):
            index = _pick_index(
                rng, season_cums[day_of_year // 7]
            )  # fewer elderly tickets in young communities
        category_id, kind, priority_name = world.categories[index]
        priority = Priority(priority_name)
        if rng.random() < 0.08:
            priority = Priority.urgent if priority != Priority.urgent else Priority.normal
        history = (
            world.care_by.get(community)
            if kind == "elderly_care"
            else world.property_by.get(community)
        )
        organization = _serving(history, created)
        status, responded_at, resolved_at, closed_at, rating, reopen, paused = (
            "submitted",
            None,
            None,
            None,
            None,
            0,
            0,
        )
        respond_in, resolve_in = TARGETS[priority]
        respond_by, resolve_by = created + respond_in, created + resolve_in
        followed = False
        if organization is not None and rng.random() < 0.008:
            # Re-assigned by an administrator to another company.
            organization = rng.choice(
                world.others_of_kind[
                    "care_provider" if kind == "elderly_care" else "property_company"
                ]
            )
        updated = created
        if organization is None:
            status = "submitted" if rng.random() < 0.5 else "rejected"
            updated = created + rng.uniform(600, 3 * DAY)
        else:
            quality = world.quality[organization]
            # The programme works: responses get ~35% faster over the three years.
            improvement = 1.0 - 0.35 * progress
            respond_after = rng.lognormvariate(
                math.log(respond_in * 0.45 * quality * improvement + 60), 0.8
            )
            resolve_after = respond_after + rng.lognormvariate(
                math.log(resolve_in * 0.35 * quality * improvement + 600), 0.9
            )
            if rng.random() < 0.12:
                paused = int(rng.uniform(1800, 2 * DAY))
            if rng.random() < 0.04 * quality:
                # Awaiting parts, a contractor, the heating company: weeks, not days.
                resolve_after += rng.uniform(5, 40) * DAY
            age = end - created
            fate = rng.random()
            if fate < 0.03:
                status, updated = "cancelled", created + rng.uniform(300, 2 * DAY)
                if rng.random() < 0.5 and respond_after < updated - created:
                    responded_at = created + respond_after
            elif fate < 0.04:
                status, updated = "rejected", created + rng.uniform(300, DAY)
            elif respond_after > age:
                status = "assigned"
            else:
                responded_at = created + respond_after
                finished = resolve_after + paused
                if finished > age:
                    status = rng.choice(["accepted", "in_progress", "in_progress", "on_hold"])
                    updated = responded_at
                else:
                    resolved_at = created + finished
                    updated = resolved_at
                    status = "resolved"
                    if rng.random() < 0.025 + 0.02 * (quality - 1):
                        reopen = 1
                    closes_after = rng.uniform(3600, 7 * DAY)
                    if resolved_at + closes_after < end:
                        status = "closed"
                        closed_at = resolved_at + closes_after
                        updated = closed_at
                        late = resolved_at - paused > resolve_by
                        if rng.random() < 0.65 / max(quality, 0.8):
                            mood = (
                                4.3
                                - 0.9 * (quality - 1)
                                - (0.9 if late else 0)
                                - 0.5 * (1 - progress)
                            )
                            rating = max(1, min(5, round(rng.gauss(mood, 0.9))))
                        followed = rng.random() < 0.75 / max(quality, 0.9) * (0.6 + 0.5 * progress)
        first_user, count = world.residents_of[community]
        reporter = first_user + int(rng.random() * count)
        yield (
            {
                "id": first_id + n,
                "kind": kind,
                "category_id": category_id,
                "priority": priority.value,
                "status": status,
                "community_id": community,
                "region_path": world.community_path[community],
                "organization_id": organization,
                "reporter_id": reporter,
                "filed_by_id": reporter,
                "respond_by": respond_by,
                "resolve_by": resolve_by,
                "responded_at": responded_at,
                "resolved_at": resolved_at,
                "closed_at": closed_at,
                "paused_seconds": paused,
                "response_breached": responded_at is not None and responded_at > respond_by,
                "resolution_breached": resolved_at is not None
                and resolved_at - paused > resolve_by,
                "rating": rating,
                "reopen_count": reopen,
                "created_at": created,
                "updated_at": updated,
            },
            followed,
        )


def _pick_index(rng: random.Random, cumulative: list[float]) -> int:
    import bisect

    return bisect.bisect(cumulative, rng.random() * cumulative[-1])


TIMES = (
    "respond_by",
    "resolve_by",
    "responded_at",
    "resolved_at",
    "closed_at",
    "created_at",
    "updated_at",
)
TICKET_COLUMNS = (
    "id",
    "number",
    "kind",
    "category_id",
    "priority",
    "status",
    "community_id",
    "region_path",
    "organization_id",
    "reporter_id",
    "reporter_name",
    "filed_by_id",
    "channel",
    "description",
    "attachment_ids",
    "respond_by",
    "resolve_by",
    "responded_at",
    "resolved_at",
    "closed_at",
    "paused_seconds",
    "response_breached",
    "resolution_breached",
    "rating",
    "reopen_count",
    "created_at",
    "updated_at",
    "version",
)
DESCRIPTIONS = {
    "property": "住户报修，请尽快上门处理",
    "elderly_care": "老人申请居家养老服务",
    "complaint": "住户对物业服务不满意",
}
FOLLOW_UP_COLUMNS = "ticket_id, method, satisfied, created_by_id, organization_id, created_at"
CHANNELS = ("app", "app", "wechat", "wechat", "phone", "walk_in")


def _stamp(seconds: float | None, postgres: bool) -> str | None:
    if seconds is None:
        return None
    value = dt.datetime.fromtimestamp(seconds, dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    return value + "+00" if postgres else value


def _defaults(engine: Engine, table: str, known: tuple[str, ...]) -> dict[str, Any]:
    """Values for NOT NULL columns other issues added without a server default."""
    out: dict[str, Any] = {}
    for column in inspect(engine).get_columns(table):
        if column["name"] in known or column["nullable"] or column.get("default") is not None:
            continue
        if column.get("autoincrement") is True:
            continue
        if isinstance(column["type"], Boolean):
            out[column["name"]] = False
        elif isinstance(column["type"], Integer):
            out[column["name"]] = 0
    return out


def generate(
    engine: Engine,
    plan: Plan,
    *,
    progress: Callable[[int, int], None] | None = None,
    out: TextIO = sys.stderr,
) -> dict[str, Any]:
    """Fill an empty, migrated database. Returns what was made and how long it took."""
    rng = random.Random(plan.seed)
    started = time.perf_counter()
    postgres = engine.dialect.name == "postgresql"
    with Session(engine) as session, session.begin():
        if session.scalar(select(Community.id).limit(1)) is not None:
            raise RuntimeError("generate fills an empty database; this one has communities")
        world = build_reference(session, plan, rng)
    reference_seconds = time.perf_counter() - started
    print(
        f"reference data: {plan.communities:,} communities, {plan.residents:,} residents"
        f" in {reference_seconds:.1f}s",
        file=out,
    )

    extra = _defaults(engine, "ticket", TICKET_COLUMNS)
    columns = TICKET_COLUMNS + tuple(extra)
    bar = Progress(plan.tickets, "tickets", out)
    follow_ups: list[tuple[Any, ...]] = []
    load_started = time.perf_counter()
    with engine.begin() as connection:
        first_id = (connection.scalar(text("SELECT coalesce(max(id), 0) FROM ticket")) or 0) + 1
        raw = connection.connection.driver_connection
        assert raw is not None
        rows = _ticket_rows(world, plan, rng, first_id, postgres, extra, follow_ups, bar)
        if postgres:
            with raw.cursor() as cursor:
                with cursor.copy(f"COPY ticket ({', '.join(columns)}) FROM STDIN") as copy:
                    for line in rows:
                        copy.write(line)
                with cursor.copy(f"COPY follow_up ({FOLLOW_UP_COLUMNS}) FROM STDIN") as copy:
                    for row in follow_ups:
                        copy.write_row(row)
            connection.execute(
                text("SELECT setval(pg_get_serial_sequence('ticket', 'id'), max(id)) FROM ticket")
            )
        else:
            placeholders = ", ".join("?" for _ in columns)
            raw.executemany(
                f"INSERT INTO ticket ({', '.join(columns)}) VALUES ({placeholders})", rows
            )
            raw.executemany(
                f"INSERT INTO follow_up ({FOLLOW_UP_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)",
                follow_ups,
            )
    load_seconds = time.perf_counter() - load_started
    with engine.connect() as connection:
        if postgres:
            connection.execute(text("ANALYZE"))
        else:
            connection.exec_driver_sql("ANALYZE")
        connection.commit()
    return {
        "communities": plan.communities,
        "residents": plan.residents,
        "tickets": plan.tickets,
        "follow_ups": len(follow_ups),
        "seconds": round(time.perf_counter() - started, 1),
        "ticket_load_seconds": round(load_seconds, 1),
    }


def _ticket_rows(
    world: World,
    plan: Plan,
    rng: random.Random,
    first_id: int,
    postgres: bool,
    extra: dict[str, Any],
    follow_ups: list,
    bar: Progress,
):  # type: ignore[no-untyped-def]
    channel_rng = random.Random(plan.seed + 1)
    extra_values = list(extra.values())
    for done, (t, followed) in enumerate(tickets(world, plan, rng, first_id), start=1):
        stamps = {k: _stamp(t[k], postgres) for k in TIMES}
        values: list[Any] = [
            t["id"],
            f"GN{t['id']:010d}",
            t["kind"],
            t["category_id"],
            t["priority"],
            t["status"],
            t["community_id"],
            t["region_path"],
            t["organization_id"],
            t["reporter_id"],
            "居民",
            t["filed_by_id"],
            channel_rng.choice(CHANNELS),
            DESCRIPTIONS[t["kind"]],
            "[]",
            stamps["respond_by"],
            stamps["resolve_by"],
            stamps["responded_at"],
            stamps["resolved_at"],
            stamps["closed_at"],
            t["paused_seconds"],
            t["response_breached"],
            t["resolution_breached"],
            t["rating"],
            t["reopen_count"],
            stamps["created_at"],
            stamps["updated_at"],
            1,
            *extra_values,
        ]
        if followed:
            follow_ups.append(
                (
                    t["id"],
                    "phone",
                    True,
                    t["filed_by_id"],
                    t["organization_id"],
                    _stamp((t["closed_at"] or t["created_at"]) + 3600, postgres),
                )
            )
        if done % 5000 == 0 or done == plan.tickets:
            bar.update(done)
        if postgres:
            yield "\t".join(_copy_text(v) for v in values) + "\n"
        else:
            yield values


def _copy_text(value: Any) -> str:
    if value is None:
        return "\\N"
    if value is True:
        return "t"
    if value is False:
        return "f"
    return str(value)
