"""Databases for the benchmarks: a fresh one, a small world, and bulk tickets.

Bulk tickets go in with COPY on PostgreSQL and executemany on SQLite, straight
into the `ticket` table with the columns the service would write.
"""

from __future__ import annotations

import datetime as dt
import random
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session

from service.categories.models import Category
from service.categories.service import load_reference_tree
from service.config import Settings
from service.db import make_engine
from service.directory.credit_code import check_character
from service.directory.models import Community, Organization, ProviderAssignment, Region
from service.enums import OrganizationKind, OrgRole, RegionLevel, Role, ServiceKind
from service.migrate import upgrade
from service.users.models import User

# Communities of the benchmark's county, all served by the benchmarked company:
# the resident pool (resident_pool) is spread over them. The bulk tickets stay
# in the first.
COMMUNITIES = 10

BENCH_SECRET = "bench-secret-0123456789-0123456789-abcdef"
COLUMNS = (
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
    "attachments",
    "respond_by",
    "resolve_by",
    "paused_seconds",
    "response_breached",
    "resolution_breached",
    "reopen_count",
    "created_at",
    "updated_at",
    "version",
)


@dataclass
class BenchWorld:
    url: str
    community_id: int
    community_ids: list[int]
    organization_id: int
    other_organization_id: int
    category_id: int
    reporter_id: int
    reporter_sub: str
    region_path: str


def fresh_database(backend: str, pg_server_url: str, name: str) -> str:
    if backend == "postgres":
        admin = create_engine(pg_server_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        url = make_url(pg_server_url).set(database=name).render_as_string(hide_password=False)
    else:
        path = Path("/tmp/linli-bench") / f"{name}.db"
        path.parent.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        url = f"sqlite:///{path}"
    upgrade(url)
    return url


def copy_database(pg_server_url: str, source: str, name: str) -> str:
    """A PostgreSQL database `name`, made afresh as a copy of `source` (which no
    one may be connected to), and its URL."""
    admin = create_engine(pg_server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{source}"'))
    admin.dispose()
    return make_url(pg_server_url).set(database=name).render_as_string(hide_password=False)


def build_world(url: str) -> BenchWorld:
    engine = make_engine(Settings(database_url=url, jwt_secret=BENCH_SECRET))
    with Session(engine) as session, session.begin():
        load_reference_tree(session)
        province = Region(name="新疆维吾尔自治区", level=RegionLevel.province, path="tmp:p")
        session.add(province)
        session.flush()
        province.path = f"/{province.id}/"
        prefecture = Region(
            name="乌鲁木齐市", level=RegionLevel.prefecture, parent_id=province.id, path="tmp:c"
        )
        session.add(prefecture)
        session.flush()
        prefecture.path = f"{province.path}{prefecture.id}/"
        county = Region(name="天山区", level=RegionLevel.county, parent_id=prefecture.id, path="t")
        session.add(county)
        session.flush()
        county.path = f"{prefecture.path}{county.id}/"
        communities = [
            Community(
                name="幸福路小区" if i == 0 else f"幸福路{i + 1}号小区",
                region_id=county.id,
                region_path=county.path,
                households=800,
            )
            for i in range(COMMUNITIES)
        ]
        session.add_all(communities)
        community = communities[0]
        orgs = []
        for i in range(2):
            prefix = f"9165010{i}MA77XKQ51"
            org = Organization(
                name=f"物业{i}",
                kind=OrganizationKind.property_company,
                credit_code=prefix + check_character(prefix),
                region_id=county.id,
                region_path=county.path,
            )
            session.add(org)
            orgs.append(org)
        session.flush()
        session.add_all(
            ProviderAssignment(
                community_id=c.id,
                kind=ServiceKind.property,
                organization_id=orgs[0].id,
                since_on=dt.date(2026, 1, 1),
                current=True,
            )
            for c in communities
        )
        reporter = User(
            sub="bench-resident",
            role=Role.resident,
            name="bench-resident",
            community_id=community.id,
        )
        session.add(reporter)
        session.add(
            User(
                sub="bench-dispatcher",
                role=Role.provider_staff,
                name="bench-dispatcher",
                organization_id=orgs[0].id,
                org_role=OrgRole.dispatcher,
            )
        )
        session.flush()
        category_id = session.scalar(select(Category.id).where(Category.code == "repair.plumbing"))
        world = BenchWorld(
            url=url,
            community_id=community.id,
            community_ids=[c.id for c in communities],
            organization_id=orgs[0].id,
            other_organization_id=orgs[1].id,
            category_id=int(category_id or 0),
            reporter_id=reporter.id,
            reporter_sub=reporter.sub,
            region_path=county.path,
        )
    engine.dispose()
    return world


def _rows(world: BenchWorld, start_id: int, count: int, seed: int):  # type: ignore[no-untyped-def]
    rng = random.Random(seed)
    base = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    statuses = ["assigned", "accepted", "in_progress", "resolved", "closed"]
    for ticket_id in range(start_id, start_id + count):
        created = base + dt.timedelta(seconds=ticket_id * 7)
        # Most tickets belong to the benchmarked company; a fifth to another one, so
        # that the provider's page is an indexed slice, not the whole table.
        org = world.organization_id if rng.random() < 0.8 else world.other_organization_id
        yield (
            ticket_id,
            f"LL{ticket_id:09d}",
            "property",
            world.category_id,
            "normal",
            rng.choice(statuses),
            world.community_id,
            world.region_path,
            org,
            world.reporter_id,
            "bench-resident",
            world.reporter_id,
            "app",
            "厨房水管漏水，请尽快处理" * 3,
            "[]",
            created + dt.timedelta(hours=2),
            created + dt.timedelta(days=3),
            0,
            False,
            False,
            0,
            created,
            created,
            1,
        )


def bulk_tickets(world: BenchWorld, count: int, *, seed: int = 1) -> float:
    """Append `count` tickets; returns the seconds it took."""
    started = time.perf_counter()
    engine: Engine = create_engine(world.url)
    with engine.begin() as connection:
        start_id = (connection.scalar(text("SELECT coalesce(max(id), 0) FROM ticket")) or 0) + 1
        if engine.dialect.name == "postgresql":
            raw = connection.connection.driver_connection
            with (
                raw.cursor() as cursor,
                cursor.copy(f"COPY ticket ({', '.join(COLUMNS)}) FROM STDIN") as copy,
            ):
                for row in _rows(world, start_id, count, seed):
                    copy.write_row(row)
            connection.execute(
                text("SELECT setval(pg_get_serial_sequence('ticket', 'id'), max(id)) FROM ticket")
            )
        else:
            placeholders = ", ".join("?" for _ in COLUMNS)
            sql = f"INSERT INTO ticket ({', '.join(COLUMNS)}) VALUES ({placeholders})"
            raw = connection.connection.driver_connection
            rows = (
                tuple(
                    v.strftime("%Y-%m-%d %H:%M:%S.%f") if isinstance(v, dt.datetime) else v
                    for v in r
                )
                for r in _rows(world, start_id, count, seed)
            )
            raw.executemany(sql, rows)
    # PostgreSQL: VACUUM too, as after any bulk load: otherwise autovacuum
    # visits the fresh rows (and the first reads set their hint bits) while the
    # benchmark runs, on the same two cores. Not in a transaction.
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(
            text("VACUUM ANALYZE" if engine.dialect.name == "postgresql" else "ANALYZE")
        )
    engine.dispose()
    return time.perf_counter() - started


def tokens(world: BenchWorld) -> tuple[str, str]:
    """JWTs for the seeded resident and the benchmarked company's dispatcher."""
    from service.auth import mint_token

    settings = Settings(database_url=world.url, jwt_secret=BENCH_SECRET)
    resident = mint_token(
        settings,
        sub=world.reporter_sub,
        role="resident",
        name="bench-resident",
        community_id=world.community_id,
    )
    dispatcher = mint_token(
        settings,
        sub="bench-dispatcher",
        role="provider_staff",
        name="bench-dispatcher",
        organization_id=world.organization_id,
        org_role="dispatcher",
    )
    return resident, dispatcher


@dataclass(frozen=True)
class Filer:
    """A resident of the pool that files the benchmark's tickets."""

    token: str
    community_id: int
    sub: str


def resident_pool(world: BenchWorld, size: int) -> list[Filer]:
    """`size` residents spread over the world's communities, known to Linli
    already (their users are inserted here, with exactly their tokens' claims,
    so a first request looks them up and provisions nothing), and their JWTs,
    minted as `tokens` mints the seeded resident's."""
    settings = Settings(database_url=world.url, jwt_secret=BENCH_SECRET)
    people = [
        (f"bench-resident-{i:05d}", world.community_ids[i % len(world.community_ids)])
        for i in range(size)
    ]
    engine = make_engine(settings)
    with Session(engine) as session, session.begin():
        now = dt.datetime.now(dt.UTC)
        session.execute(
            User.__table__.insert(),
            [
                {
                    "sub": sub,
                    "role": Role.resident.value,
                    "name": sub,
                    "community_id": community_id,
                    "created_at": now,
                    "updated_at": now,
                }
                for sub, community_id in people
            ],
        )
    engine.dispose()
    return [_filer(settings, sub, community_id) for sub, community_id in people]


def _filer(settings: Settings, sub: str, community_id: int) -> Filer:
    from service.auth import mint_token

    token = mint_token(settings, sub=sub, role="resident", name=sub, community_id=community_id)
    return Filer(token, community_id, sub)


def renewed(world: BenchWorld, pool: list[Filer]) -> list[Filer]:
    """The same residents with tokens minted again (the same claims, a later
    `iat`: other strings), as after signing in anew. Linli keeps a token's
    principal for a minute (auth.PrincipalCache) and a stale one is looked up
    again by the token's next request: a phase that began within the minute
    of a warm-up would meet every resident's lookup part way through. New
    tokens, warmed, are fresh for the minute after their warm-up."""
    settings = Settings(database_url=world.url, jwt_secret=BENCH_SECRET)
    filers = [_filer(settings, f.sub, f.community_id) for f in pool]
    if pool and filers[0].token == pool[0].token:  # minted within the same second
        time.sleep(1)
        filers = [_filer(settings, f.sub, f.community_id) for f in pool]
    return filers
