"""Test harness: one database per run built by the real migrations, one rolled-back
transaction per test, and a small world of regions, communities, organisations
and people with a token for each role.

The database comes from LINLI_TEST_DB: `sqlite` (default) or `postgres`, the
latter on a fresh database created under LINLI_TEST_POSTGRES_URL and dropped at
the end. `make test` runs the whole suite once for each.

With LINLI_TEST_PGBOUNCER=1 as well (`make test-pgbouncer`), the tests reach
PostgreSQL through a PgBouncer in transaction mode that this run starts
(tests/pgbouncer.py): databases are created and dropped directly, used through
it, and every Settings the tests build says so (the feed's LISTEN on a direct
connection, no prepared statements). `-m pgbouncer` selects the tests that
transaction pooling could break: the feed, the job runner, races.
"""

from __future__ import annotations

import itertools
import os
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.orm import Session, sessionmaker

from service.auth import mint_token
from service.categories.service import load_reference_tree
from service.config import Settings
from service.db import make_engine
from service.main import create_app
from service.migrate import upgrade
from tests.pgbouncer import find_pgbouncer, running_pgbouncer, server_of

TEST_SECRET = "test-secret-0123456789-0123456789-abcdef"
BACKEND = os.environ.get("LINLI_TEST_DB", "sqlite")
PGBOUNCER = os.environ.get("LINLI_TEST_PGBOUNCER", "") not in ("", "0")

# What transaction pooling could break (`make test-pgbouncer` runs these through
# PgBouncer): the feed and its LISTEN, the job runner's leases and wake-ups,
# webhook delivery, idempotency's advisory lock, creation and dispatch races,
# the partition job's DDL and the feed's SET LOCAL.
PGBOUNCER_SUBSET = (
    "tests/feed/",
    "tests/partitions/",
    "tests/jobs/",
    "tests/webhooks/test_delivery.py",
    "tests/tickets/test_idempotency.py",
    "tests/test_races.py",
    "tests/dispatch/test_races.py",
    "tests/test_pgbouncer.py",
)

# The PgBouncer of this run (LINLI_TEST_PGBOUNCER=1), and the LINLI_* settings
# that every Linli the tests start needs to work through it.
_bouncer: ExitStack | None = None
_pooled_server: URL | None = None
DATABASE_ENVIRONMENT: dict[str, str] = {}


def pytest_configure(config: pytest.Config) -> None:
    global _bouncer, _pooled_server
    if not PGBOUNCER:
        return
    server_url = os.environ.get("LINLI_TEST_POSTGRES_URL")
    if BACKEND != "postgres" or not server_url:
        pytest.exit(
            "LINLI_TEST_PGBOUNCER=1 needs LINLI_TEST_DB=postgres and LINLI_TEST_POSTGRES_URL",
            returncode=2,
        )
    if find_pgbouncer() is None:
        pytest.exit("LINLI_TEST_PGBOUNCER=1: pgbouncer not found (apt-get install pgbouncer)", 2)
    _bouncer = ExitStack()
    bouncer = _bouncer.enter_context(running_pgbouncer(server_url))
    _pooled_server = bouncer.url()
    DATABASE_ENVIRONMENT.update(
        LINLI_DATABASE_DIRECT_URL=server_of(server_url).render_as_string(hide_password=False),
        LINLI_DB_PREPARED_STATEMENTS="false",
    )
    # Settings() reads them: every Settings and engine of the run, and the
    # processes it starts with this environment, go through PgBouncer properly.
    os.environ.update(DATABASE_ENVIRONMENT)


def pytest_unconfigure(config: pytest.Config) -> None:
    if _bouncer is not None:
        _bouncer.close()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    root = Path(str(config.rootpath))
    for item in items:
        path = Path(str(item.path)).relative_to(root).as_posix()
        if path.startswith(PGBOUNCER_SUBSET):
            item.add_marker(pytest.mark.pgbouncer)


def pytest_report_header(config: pytest.Config) -> str:
    through = f", through PgBouncer on port {_pooled_server.port}" if _pooled_server else ""
    return f"linli database backend: {BACKEND}{through}"


@dataclass
class TestDatabase:
    url: str
    backend: str
    cleanup: Any = None
    # PostgreSQL itself, when `url` goes through PgBouncer; else `url`.
    direct_url: str = ""

    def __post_init__(self) -> None:
        self.direct_url = self.direct_url or self.url


def _create_postgres_database(prefix: str = "linli_test") -> TestDatabase:
    server_url = os.environ.get("LINLI_TEST_POSTGRES_URL")
    if not server_url:
        pytest.exit("LINLI_TEST_DB=postgres needs LINLI_TEST_POSTGRES_URL", returncode=2)
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    direct = make_url(server_url).set(database=name)
    url = _pooled_server.set(database=name) if _pooled_server else direct

    def drop() -> None:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return TestDatabase(
        url.render_as_string(hide_password=False),
        "postgres",
        drop,
        direct.render_as_string(hide_password=False),
    )


def empty_database(prefix: str = "linli_test") -> TestDatabase:
    """A database of the backend under test with nothing in it, not even the schema.
    On SQLite a file in a directory of its own, which the caller removes."""
    if BACKEND == "postgres":
        return _create_postgres_database(prefix)
    directory = tempfile.mkdtemp(prefix=f"{prefix}-")
    return TestDatabase(f"sqlite:///{Path(directory) / 'test.db'}", "sqlite")


def new_database(prefix: str = "linli_test") -> TestDatabase:
    """An empty database of the backend under test, migrated to head."""
    db = empty_database(prefix)
    upgrade(db.url)
    return db


@pytest.fixture(scope="session")
def database() -> Iterator[TestDatabase]:
    db = new_database()
    yield db
    if db.cleanup:
        db.cleanup()


@pytest.fixture(scope="session")
def settings(database: TestDatabase) -> Settings:
    return Settings(
        database_url=database.url,
        jwt_secret=TEST_SECRET,
        env="dev",
        storage_dir=tempfile.mkdtemp(prefix="linli-test-storage-"),
    )


@pytest.fixture(scope="session")
def engine(settings: Settings) -> Iterator[Engine]:
    engine = make_engine(settings)
    with sessionmaker(engine).begin() as session:
        load_reference_tree(session)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def base_world(engine: Engine, settings: Settings) -> World:
    """The world, committed once per run; each test's changes to it are rolled back."""
    with TestClient(create_app(settings, engine)) as http:
        return build_world(http, settings)


@pytest.fixture
def connection(engine: Engine, base_world: World) -> Iterator[Any]:
    """A connection inside a transaction that is rolled back after the test."""
    with engine.connect() as connection:
        outer = connection.begin()
        yield connection
        outer.rollback()


@pytest.fixture
def db(connection: Any) -> Iterator[Session]:
    """A session for arranging and checking data inside the test's transaction."""
    session = Session(bind=connection, join_transaction_mode="create_savepoint")
    yield session
    session.close()


@pytest.fixture
def app(settings: Settings, engine: Engine, connection: Any) -> Any:
    app = create_app(settings, engine)
    # The app's commits become savepoint releases inside the test's transaction.
    factory = sessionmaker(
        bind=connection,
        expire_on_commit=False,
        autoflush=False,
        join_transaction_mode="create_savepoint",
    )
    app.state.sessionmaker = factory
    return app


@pytest.fixture
def client(app: Any) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


# --- the world: who is who ---------------------------------------------------


@dataclass
class Actor:
    name: str
    token: str
    claims: dict[str, Any]
    user_id: int | None = None

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass
class World:
    ids: dict[str, int] = field(default_factory=dict)
    actors: dict[str, Actor] = field(default_factory=dict)

    def __getattr__(self, name: str) -> Any:
        if name in self.actors:
            return self.actors[name]
        if name in self.ids:
            return self.ids[name]
        raise AttributeError(name)


def token_for(settings: Settings, sub: str, role: str, **scope: Any) -> str:
    return mint_token(settings, sub=sub, role=role, name=sub, **scope)


@pytest.fixture
def world(client: TestClient, base_world: World) -> World:
    return base_world


def build_world(client: Any, settings: Settings, tag: str = "") -> World:
    """Two prefectures, three counties, four communities, three organisations and
    one person of each role that the tenancy tests need. `client` is any httpx
    client (the in-process TestClient or one pointed at a live server)."""
    w = World()
    root = Actor("root", token_for(settings, f"root-admin{tag}", "admin"), {"role": "admin"})
    w.actors["province_admin"] = root

    def post(path: str, body: dict[str, Any], actor: Actor = root) -> dict[str, Any]:
        response = client.post(path, json=body, headers=actor.headers)
        assert response.status_code in (200, 201), (path, response.text)
        return response.json()

    w.ids["province"] = post("/v1/regions", {"name": "新疆维吾尔自治区", "level": "province"})["id"]
    w.ids["urumqi"] = post(
        "/v1/regions", {"name": "乌鲁木齐市", "level": "prefecture", "parent_id": w.province}
    )["id"]
    w.ids["kashgar"] = post(
        "/v1/regions", {"name": "喀什地区", "level": "prefecture", "parent_id": w.province}
    )["id"]
    w.ids["tianshan"] = post(
        "/v1/regions", {"name": "天山区", "level": "county", "parent_id": w.urumqi}
    )["id"]
    w.ids["shayibake"] = post(
        "/v1/regions", {"name": "沙依巴克区", "level": "county", "parent_id": w.urumqi}
    )["id"]
    w.ids["kashi_city"] = post(
        "/v1/regions", {"name": "喀什市", "level": "county", "parent_id": w.kashgar}
    )["id"]

    def community(name: str, region: int) -> int:
        return post(
            "/v1/communities",
            {"name": name, "region_id": region, "households": 800, "residents": 2100},
        )["id"]

    w.ids["community_a"] = community("幸福路小区", w.tianshan)
    w.ids["community_b"] = community("红山小区", w.tianshan)
    w.ids["community_c"] = community("友好北路小区", w.shayibake)
    w.ids["community_k"] = community("吐曼河小区", w.kashi_city)

    def organization(name: str, kind: str, code: str, region: int) -> int:
        return post(
            "/v1/organizations",
            {"name": name, "kind": kind, "credit_code": code, "region_id": region},
        )["id"]

    w.ids["company"] = organization(
        "天山物业服务有限公司", "property_company", "91650102MA77XKQ51D", w.tianshan
    )
    w.ids["other_company"] = organization(
        "喀什城市物业有限公司", "property_company", "91653101MA78A1B2CN", w.kashi_city
    )
    w.ids["care"] = organization(
        "乌鲁木齐康养居家服务中心", "care_provider", "52650102MJ0000001A", w.tianshan
    )
    for community_key, org_key, kind in (
        ("community_a", "company", "property"),
        ("community_b", "company", "property"),
        ("community_c", "company", "property"),
        ("community_k", "other_company", "property"),
        ("community_a", "care", "elderly_care"),
    ):
        client.put(
            f"/v1/communities/{w.ids[community_key]}/providers/{kind}",
            json={"organization_id": w.ids[org_key]},
            headers=root.headers,
        ).raise_for_status()

    people = {
        "reporter": ("resident", {"community_id": w.community_a, "phone": "13900000001"}),
        "neighbour": ("resident", {"community_id": w.community_a, "phone": "13900000002"}),
        "far_resident": ("resident", {"community_id": w.community_k, "phone": "13900000003"}),
        "grid_worker": ("grid_worker", {"community_id": w.community_a}),
        "other_grid_worker": ("grid_worker", {"community_id": w.community_k}),
        "dispatcher": (
            "provider_staff",
            {"organization_id": w.company, "org_role": "dispatcher"},
        ),
        "technician": (
            "provider_staff",
            {"organization_id": w.company, "org_role": "technician"},
        ),
        "care_dispatcher": (
            "provider_staff",
            {"organization_id": w.care, "org_role": "dispatcher"},
        ),
        "other_dispatcher": (
            "provider_staff",
            {"organization_id": w.other_company, "org_role": "dispatcher"},
        ),
        "admin": ("admin", {"region_id": w.tianshan}),
        "other_admin": ("admin", {"region_id": w.kashi_city}),
    }
    for key, (role, scope) in people.items():
        actor = Actor(
            key, token_for(settings, f"user-{key}", role, **scope), {"role": role, **scope}
        )
        me = client.get("/v1/me", headers=actor.headers)
        assert me.status_code == 200, me.text
        actor.user_id = me.json()["user_id"]
        w.actors[key] = actor
    return w


_reports = itertools.count(1)


def file_ticket(
    client: TestClient, actor: Actor, community_id: int, **overrides: Any
) -> dict[str, Any]:
    """A new ticket. Each call is another report (its description is numbered):
    the same report filed twice within minutes answers the first ticket."""
    body: dict[str, Any] = {
        "category": "repair.plumbing",
        "community_id": community_id,
        "description": f"厨房水管爆裂，水流不止（{next(_reports)}）",
        "location": {"building": "3", "unit": "2", "room": "501", "area": "private"},
        "contact_phone": "13900000001",
    }
    if actor.claims["role"] != "resident":
        body["on_behalf_of"] = {"name": "阿依古丽", "phone": "13900000001"}
    body.update(overrides)
    response = client.post("/v1/tickets", json=body, headers=actor.headers)
    assert response.status_code == 201, response.text
    return response.json()


def photo_bytes(
    size: tuple[int, int] = (64, 48), fmt: str = "JPEG", exif: bytes | None = None
) -> bytes:
    """A small image made here (a gradient, so that it compresses like a photo)."""
    import io

    from PIL import Image

    image = Image.linear_gradient("L").resize(size).convert("RGB")
    out = io.BytesIO()
    options: dict[str, Any] = {"exif": exif} if exif is not None else {}
    image.save(out, fmt, **options)
    return out.getvalue()


def upload_photo(client: TestClient, actor: Actor, data: bytes | None = None) -> dict[str, Any]:
    """POST /v1/attachments as `actor`: the AttachmentRead."""
    response = client.post(
        "/v1/attachments",
        files={"file": ("photo.jpg", data or photo_bytes(), "image/jpeg")},
        headers=actor.headers,
    )
    assert response.status_code == 201, response.text
    return response.json()


# --- a live server on the real engine, for races between real connections ------


@pytest.fixture
def live_engine() -> Iterator[Engine]:
    """A database of its own for a live test: it commits for real."""
    db = new_database("linli_live")
    engine = make_engine(Settings(database_url=db.url, jwt_secret=TEST_SECRET))
    with sessionmaker(engine).begin() as session:
        load_reference_tree(session)
    yield engine
    engine.dispose()
    if db.cleanup:
        db.cleanup()


@pytest.fixture
def live_server(settings: Settings, live_engine: Engine) -> Iterator[str]:
    """The app served by uvicorn in a thread on `live_engine`."""
    import threading
    import time

    import uvicorn

    # Live tests file dozens of tickets as one reporter: beyond a person's hourly
    # quota of new ones (issue 17), which tests/test_ratelimit.py tests.
    app = create_app(settings.model_copy(update={"tickets_per_hour": 0}), live_engine)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("live server did not start")
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def live(live_server: str, settings: Settings) -> Iterator[tuple[Any, World]]:
    import httpx

    with httpx.Client(base_url=live_server, timeout=30) as http:
        yield http, build_world(http, settings)
