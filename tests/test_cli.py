"""The command line, called as `python -m service ...` calls it.

Each test points LINLI_DATABASE_URL at a throwaway SQLite file of its own (the
CLI reads its settings from the environment, so the settings cache is cleared
around every switch). The last test loads the demo into the suite's own test
database instead, so that `make test` checks it on PostgreSQL as well.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import jwt
import pytest
from alembic.script import ScriptDirectory
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, delete, func, inspect, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from service.__main__ import main
from service.apikeys.models import ApiKey
from service.categories.models import Category
from service.categories.tree import CATEGORY_TREE
from service.config import DEV_JWT_SECRET, Settings, get_settings
from service.directory.models import Community, Organization, Region
from service.enums import OrganizationKind, Priority, RegionLevel, Role, Status
from service.main import create_app
from service.migrate import alembic_config
from service.sample import demo as demo_module
from service.sample.demo import seed_demo
from service.tickets.models import Ticket, TicketEvent
from service.users.models import User

_AUTH_VARIABLES = (
    "LINLI_JWT_SECRET",
    "LINLI_JWT_PUBLIC_KEY",
    "LINLI_JWT_JWKS_URL",
    "LINLI_JWT_AUDIENCE",
    "LINLI_JWT_ISSUER",
    "LINLI_ALLOW_SQLITE_IN_PROD",
)


@contextlib.contextmanager
def cli_environment(directory: Path) -> Iterator[pytest.MonkeyPatch]:
    """The CLI's environment: a development deployment on `directory/linli.db`."""
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(directory)  # a developer's ./.env must not leak in
        patch.setenv("LINLI_DATABASE_URL", f"sqlite:///{directory / 'linli.db'}")
        patch.setenv("LINLI_ENV", "dev")
        for name in _AUTH_VARIABLES:
            patch.delenv(name, raising=False)
        get_settings.cache_clear()
        try:
            yield patch
        finally:
            get_settings.cache_clear()


def run(*args: str) -> str:
    """Run one command; returns what it printed. It must succeed."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(list(args))
    assert code == 0, (args, out.getvalue())
    return out.getvalue()


@contextlib.contextmanager
def open_session(directory: Path) -> Iterator[Session]:
    engine = create_engine(f"sqlite:///{directory / 'linli.db'}")
    try:
        with Session(engine) as session:
            yield session
    finally:
        engine.dispose()


@contextlib.contextmanager
def api_client() -> Iterator[TestClient]:
    """The API on the database the CLI environment points at."""
    with TestClient(create_app(get_settings())) as client:
        yield client


def count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def last_status_event_mismatches(
    session: Session, *, region_path: str = "/"
) -> list[tuple[str | None, Status, object]]:
    """Tickets whose last status-changing event does not end in the ticket's status."""
    last = (
        select(TicketEvent.ticket_id, func.max(TicketEvent.id).label("event_id"))
        .where(TicketEvent.to_status.is_not(None))
        .group_by(TicketEvent.ticket_id)
        .subquery()
    )
    rows = session.execute(
        select(Ticket.number, Ticket.status, TicketEvent.to_status)
        .outerjoin(last, last.c.ticket_id == Ticket.id)
        .outerjoin(TicketEvent, TicketEvent.id == last.c.event_id)
        .where(Ticket.region_path.startswith(region_path))
    ).all()
    return [(number, status, to) for number, status, to in rows if status != to]


@pytest.fixture
def cli(tmp_path: Path) -> Iterator[Path]:
    """A migrated, empty database for one test; returns its directory."""
    with cli_environment(tmp_path):
        run("migrate")
        yield tmp_path


@dataclass
class Demo:
    directory: Path
    output: str


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    """One demo database for the tests that only read it."""
    directory = tmp_path_factory.mktemp("demo")
    with cli_environment(directory):
        run("migrate")
        return Demo(directory, run("seed-demo"))


# --- migrate, seed ----------------------------------------------------------------


def test_migrate_builds_the_schema_at_head(tmp_path: Path) -> None:
    with cli_environment(tmp_path):
        out = run("migrate")
        assert "to head" in out
        run("migrate")  # running it again is harmless

    engine = create_engine(f"sqlite:///{tmp_path / 'linli.db'}")
    try:
        tables = set(inspect(engine).get_table_names())
        with engine.connect() as connection:
            revision = connection.scalar(text("SELECT version_num FROM alembic_version"))
    finally:
        engine.dispose()
    assert {"region", "community", "organization", "user_account", "category"} <= tables
    assert {"ticket", "ticket_event", "ticket_comment", "follow_up", "api_key"} <= tables
    assert revision == ScriptDirectory.from_config(alembic_config()).get_current_head()


def test_migrate_loads_the_category_tree_once(tmp_path: Path) -> None:
    with cli_environment(tmp_path):
        assert f"({len(CATEGORY_TREE)} categories added)" in run("migrate")
        assert "(0 categories added)" in run("migrate")
        assert "(0 categories added)" in run("seed")
    with open_session(tmp_path) as session:
        assert count(session, Category) == len(CATEGORY_TREE)
        codes = set(session.scalars(select(Category.code)))
    assert {"repair.heating", "elderly.meal", "complaint.fees"} <= codes


def test_migrate_adds_missing_categories_and_keeps_an_admins_edits(cli: Path) -> None:
    # A release that adds a code finds it missing; codes an admin edited stay edited.
    with open_session(cli) as session, session.begin():
        session.execute(delete(Category).where(Category.code == "elderly.visit"))
        heating = session.scalars(select(Category).where(Category.code == "repair.heating")).one()
        heating.name_en, heating.default_priority = "Winter heating", Priority.emergency
        noise = session.scalars(select(Category).where(Category.code == "neighbour.noise")).one()
        noise.active = False

    assert "(1 categories added)" in run("migrate")

    with open_session(cli) as session:
        rows = {c.code: c for c in session.scalars(select(Category))}
    assert set(rows) == {code for code, *_ in CATEGORY_TREE}
    assert rows["elderly.visit"].parent_id == rows["elderly"].id
    assert (rows["repair.heating"].name_en, rows["repair.heating"].default_priority) == (
        "Winter heating",
        Priority.emergency,
    )
    assert rows["neighbour.noise"].active is False


def test_migrate_to_an_older_revision_loads_no_reference_data(tmp_path: Path) -> None:
    # The models describe the head: the tree is loaded only there.
    first = ScriptDirectory.from_config(alembic_config()).get_base()
    with cli_environment(tmp_path):
        assert "categories added" not in run("migrate", "--revision", str(first))
        assert "categories added" in run("migrate")


def test_dev_setup_without_demo_has_the_category_tree(tmp_path: Path) -> None:
    """`make run DEMO=0` on an empty database."""
    with cli_environment(tmp_path):
        run("dev-setup", "--no-demo")
    with open_session(tmp_path) as session:
        assert count(session, Category) == len(CATEGORY_TREE)
        assert count(session, Community) == 0


# --- seed-demo -----------------------------------------------------------------


def test_seed_demo_has_tickets_in_every_status(demo: Demo) -> None:
    with open_session(demo.directory) as session:
        statuses = set(session.scalars(select(Ticket.status).distinct()))
        tickets = count(session, Ticket)
        communities = count(session, Community)
    assert statuses == set(Status)
    assert 2000 <= tickets <= 6000
    assert 8 <= communities <= 12
    assert f"tickets: {tickets} (" in demo.output
    for status in Status:
        assert f"{status} " in demo.output


def test_seed_demo_spans_the_three_year_action(demo: Demo) -> None:
    with open_session(demo.directory) as session:
        first = session.scalar(select(func.min(Ticket.created_at)))
        by_quarter = {
            f"{created:%Y}Q{(created.month - 1) // 3 + 1}"
            for created in session.scalars(select(Ticket.created_at))
        }
        companies = session.scalar(
            select(func.count()).where(Organization.kind == OrganizationKind.property_company)
        )
    assert first is not None and first.date() <= dt.date(2024, 1, 3)
    today = dt.date.today()
    quarters = (today.year - 2024) * 4 + (today.month - 1) // 3 + 1
    assert len(by_quarter) >= quarters - 1  # (UTC quarters: the first may start on 2023-12-31)
    assert companies >= 5


def test_seed_demo_shows_what_the_dashboard_is_for(demo: Demo) -> None:
    with cli_environment(demo.directory), api_client() as client:
        # The demo's own province admin, with the claims it was seeded with.
        token = run(
            "token",
            "--role",
            "admin",
            "--sub",
            demo_module.PROVINCE_ADMIN,
            "--name",
            "古丽娜尔·艾山",
        ).strip()
        page = client.get("/dashboard", headers={"Authorization": f"Bearer {token}"})
    assert page.status_code == 200, page.text
    sections = dict(re.findall(r'<section id="(\w+)">(.*?)</section>', page.text, re.S))
    # Every quarter of the action has its point on each of the three trend lines.
    today = dt.date.today()
    quarters = (today.year - 2024) * 4 + (today.month - 1) // 3 + 1
    assert sections["trend"].count("<circle") >= 3 * quarters
    # A ranking (not ticket counts), and both lists.
    assert "综合得分排名" in sections["ranking"]
    assert "红榜</td><td>乌鲁木齐天山宜居物业服务有限公司" in sections["kpi"]
    assert "黑榜</td><td>伊宁市惠民物业管理有限公司" in sections["kpi"]
    # 阿克苏市 has no property company: nobody rated anything there, and it says so.
    assert re.search(r"阿克苏市</text><text [^>]*>无评价 no ratings", sections["county"])


def test_seed_demo_twice_adds_nothing(demo: Demo) -> None:
    models = (Region, Community, Organization, User, Ticket, TicketEvent)
    with open_session(demo.directory) as session:
        before = {model.__name__: count(session, model) for model in models}

    with cli_environment(demo.directory):
        out = run("seed-demo")

    assert "already loaded" in out
    assert "python -m service token" in out  # the ready-to-use commands again
    with open_session(demo.directory) as session:
        assert {model.__name__: count(session, model) for model in models} == before


def test_seed_demo_timelines_end_in_each_tickets_status(demo: Demo) -> None:
    with open_session(demo.directory) as session:
        assert last_status_event_mismatches(session) == []
        events = session.execute(
            select(TicketEvent.ticket_id, TicketEvent.type, TicketEvent.created_at).order_by(
                TicketEvent.id
            )
        ).all()
        rated = session.scalars(select(Ticket.id).where(Ticket.rating.is_not(None))).all()

    first_type: dict[int, str] = {}
    previous: dict[int, dt.datetime] = {}
    now = dt.datetime.now(dt.UTC)
    for ticket_id, type_, created_at in events:
        first_type.setdefault(ticket_id, type_)
        created_at = created_at.replace(tzinfo=dt.UTC)
        # Events were written in the order they happened, never in the future.
        assert created_at >= previous.get(ticket_id, created_at)
        assert created_at <= now
        previous[ticket_id] = created_at
    assert set(first_type.values()) == {"ticket.created"}
    confirmed = {ticket_id for ticket_id, type_, _ in events if type_ == "ticket.confirmed"}
    assert rated and set(rated) <= confirmed


def test_seed_demo_prints_tokens_that_act_as_the_seeded_users(demo: Demo) -> None:
    commands = [
        shlex.split(line)
        for line in demo.output.splitlines()
        if line.strip().startswith(f"{shlex.quote(sys.executable)} -m service token")
    ]
    roles = {command[command.index("--role") + 1] for command in commands}
    assert roles == {str(role) for role in Role}

    with cli_environment(demo.directory), api_client() as client:
        with open_session(demo.directory) as session:
            users_before = {u.sub: (u.id, u.updated_at) for u in session.scalars(select(User))}
        for command in commands:
            sub = command[command.index("--sub") + 1]
            token = run(*command[3:]).strip()

            me = client.get("/v1/me", headers={"Authorization": f"Bearer {token}"})

            assert me.status_code == 200, me.text
            assert me.json()["user_id"] == users_before[sub][0]
        with open_session(demo.directory) as session:
            users_after = {u.sub: (u.id, u.updated_at) for u in session.scalars(select(User))}
    # The tokens carry the users' own claims: nobody was created or updated.
    assert users_after == users_before

    # And a command works as printed, pasted in another directory.
    pasted = subprocess.run(
        commands[0], cwd=demo.directory.parent, capture_output=True, text=True, timeout=60
    )
    assert pasted.returncode == 0, pasted.stderr
    assert pasted.stdout.count(".") == 2  # a JWT


def test_seed_demo_is_the_same_for_the_same_seed(demo: Demo, tmp_path: Path) -> None:
    def fingerprint(directory: Path) -> list[tuple[object, ...]]:
        with open_session(directory) as session:
            tickets = session.execute(
                select(Ticket.status, Ticket.kind, Ticket.title, Ticket.reporter_name).order_by(
                    Ticket.id
                )
            ).all()
            users = session.execute(select(User.sub, User.phone).order_by(User.id)).all()
            codes = session.scalars(select(Organization.credit_code).order_by(Organization.id))
            # Sorted: which of two tickets was filed first depends on the time of day.
            return [
                *sorted(map(tuple, tickets), key=repr),
                *map(tuple, users),
                *((code,) for code in codes),
            ]

    with cli_environment(tmp_path):
        run("migrate")
        run("seed-demo", "--seed", "7")
    assert fingerprint(tmp_path) == fingerprint(demo.directory)


def test_seed_demo_leaves_a_province_it_did_not_create_alone(cli: Path) -> None:
    _organization(cli)  # 新疆维吾尔自治区, entered by hand

    out = run("seed-demo")

    assert "did not create" in out
    with open_session(cli) as session:
        assert (count(session, Region), count(session, User), count(session, Ticket)) == (1, 0, 0)


# --- token -----------------------------------------------------------------------


def test_token_is_a_jwt_with_the_claims_given(cli: Path) -> None:
    token = run(
        "token",
        "--role", "provider_staff",
        "--sub", "wx-o6_bmjrPTlm6_2sgVt7hMZOPfL2M",
        "--name", "张丽",
        "--organization-id", "3",
        "--org-role", "dispatcher",
        "--days", "2",
    ).strip()  # fmt: skip

    claims = jwt.decode(token, DEV_JWT_SECRET, algorithms=["HS256"])
    assert claims["sub"] == "wx-o6_bmjrPTlm6_2sgVt7hMZOPfL2M"
    assert claims["role"] == "provider_staff"
    assert claims["name"] == "张丽"
    assert claims["organization_id"] == 3
    assert claims["org_role"] == "dispatcher"
    assert "community_id" not in claims and "region_id" not in claims
    lifetime = claims["exp"] - claims["iat"]
    assert dt.timedelta(seconds=lifetime) == dt.timedelta(days=2)

    resident = jwt.decode(
        run("token", "--role", "resident", "--community-id", "7").strip(),
        DEV_JWT_SECRET,
        algorithms=["HS256"],
    )
    assert (resident["sub"], resident["community_id"]) == ("dev-resident", 7)


def test_token_refuses_in_production(cli: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LINLI_ENV", "prod")
        patch.setenv("LINLI_JWT_SECRET", "a-real-production-secret-of-forty-characters")
        patch.setenv("LINLI_ALLOW_SQLITE_IN_PROD", "true")
        get_settings.cache_clear()
        try:
            code = main(["token", "--role", "admin"])
        finally:
            get_settings.cache_clear()
    captured = capsys.readouterr()
    assert code == 2
    assert captured.out == ""
    assert "refusing" in captured.err


# --- api-key ---------------------------------------------------------------------


def _organization(directory: Path) -> int:
    with open_session(directory) as session:
        region = Region(name="新疆维吾尔自治区", level=RegionLevel.province, path="/1/")
        session.add(region)
        session.flush()
        organization = Organization(
            name="乌鲁木齐天山宜居物业服务有限公司",
            kind=OrganizationKind.property_company,
            credit_code="91650102MA77XKQ51D",
            region_id=region.id,
            region_path=region.path,
        )
        session.add(organization)
        session.commit()
        return organization.id


def test_api_key_create_then_revoke(cli: Path) -> None:
    organization_id = _organization(cli)

    out = run("api-key", "create", "--organization-id", str(organization_id), "--name", "调度系统")
    match = re.search(r"created key (\d+) \(([\w-]+)\.\.\.\)", out)
    assert match, out
    key_id, raw = int(match.group(1)), out.strip().splitlines()[-1]
    assert raw.startswith("lk_") and raw[3:11] == match.group(2)

    with api_client() as client:
        me = client.get("/v1/me", headers={"Authorization": f"Bearer {raw}"})
        assert me.status_code == 200, me.text
        assert (me.json()["role"], me.json()["org_role"]) == ("provider_staff", "dispatcher")
        assert me.json()["organization_id"] == organization_id
        assert re.search(rf"^{key_id}\t.*\tactive\t调度系统$", run("api-key", "list"), re.M)

        assert f"revoked key {key_id}" in run("api-key", "revoke", "--key-id", str(key_id))

        me = client.get("/v1/me", headers={"Authorization": f"Bearer {raw}"})
        assert me.status_code == 401
    with open_session(cli) as session:
        api_key = session.get(ApiKey, key_id)
        assert api_key is not None and api_key.revoked_at is not None
    assert re.search(rf"^{key_id}\t.*\trevoked\t", run("api-key", "list"), re.M)


def test_api_key_for_unknown_organization_fails(
    cli: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["api-key", "create", "--organization-id", "999"]) == 1
    assert "no organization 999" in capsys.readouterr().err
    with open_session(cli) as session:
        assert count(session, ApiKey) == 0


# --- dashboard-link ----------------------------------------------------------------


def _regions(directory: Path) -> dict[str, int]:
    with open_session(directory) as session:
        province = Region(name="新疆维吾尔自治区", level=RegionLevel.province, path="/1/")
        session.add(province)
        session.flush()
        ids = {"province": province.id}
        for key, name in (("tianshan", "天山区"), ("kashi", "喀什市")):
            county = Region(
                name=name, level=RegionLevel.county, parent_id=province.id, path=f"tmp-{key}"
            )
            session.add(county)
            session.flush()
            county.path = f"/{province.id}/{county.id}/"
            ids[key] = county.id
        session.commit()
        return ids


def test_dashboard_link_opens_once_the_dashboard_of_its_region(cli: Path) -> None:
    regions = _regions(cli)

    out = run("dashboard-link", "--region", "天山区", "--base-url", "https://linli.example/")

    assert f"天山区 (region {regions['tianshan']})" in out and "opens once" in out
    url = out.strip().splitlines()[-1]
    assert url.startswith("https://linli.example/dashboard/login?code=")
    path = url.removeprefix("https://linli.example")
    with api_client() as client:
        opened = client.get(path, follow_redirects=False)
        assert opened.status_code == 303 and opened.headers["location"] == "/dashboard"
        page = client.get("/dashboard")
        assert page.status_code == 200 and "范围 天山区" in page.text
        assert client.get(path, follow_redirects=False).status_code == 410  # used
        # The same region's next link is another code, for the same scoped admin.
        second = run("dashboard-link", "--region", str(regions["tianshan"]))
        assert second.strip().splitlines()[-1].startswith("http://127.0.0.1:8000/dashboard/login")
    with open_session(cli) as session:
        users = session.scalars(select(User).where(User.role == Role.admin)).all()
    assert [(u.region_id, u.name) for u in users] == [(regions["tianshan"], "看板链接 · 天山区")]


def test_dashboard_link_refuses_unknown_regions_and_long_lives(
    cli: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _regions(cli)
    assert main(["dashboard-link", "--region", "不存在区"]) == 1
    assert "no region named '不存在区'" in capsys.readouterr().err
    assert main(["dashboard-link", "--region", "999"]) == 1
    assert main(["dashboard-link", "--region", "天山区", "--minutes", "600"]) == 2
    assert "between 1 and 60" in capsys.readouterr().err
    with open_session(cli) as session:
        assert count(session, User) == 0


# --- close-resolved ----------------------------------------------------------------


def test_close_resolved_closes_unconfirmed_tickets(cli: Path) -> None:
    run("seed-demo")
    with open_session(cli) as session:
        resolved = set(session.scalars(select(Ticket.id).where(Ticket.status == Status.resolved)))
        closed_before = count_status(session, Status.closed)
    assert resolved

    out = run("close-resolved", "--days", "0")

    assert f"closed {len(resolved)} resolved tickets" in out
    with open_session(cli) as session:
        assert count_status(session, Status.resolved) == 0
        assert count_status(session, Status.closed) == closed_before + len(resolved)
        for ticket_id in resolved:
            ticket = session.get(Ticket, ticket_id)
            assert ticket is not None and ticket.closed_at is not None and ticket.rating is None
            event = session.scalars(
                select(TicketEvent)
                .where(TicketEvent.ticket_id == ticket_id)
                .order_by(TicketEvent.id.desc())
                .limit(1)
            ).one()
            assert (event.type, event.from_status, event.to_status) == (
                "ticket.closed",
                Status.resolved,
                Status.closed,
            )
            assert event.actor_id is None and event.data == {"reason": "auto_close"}
        assert last_status_event_mismatches(session) == []
    assert "closed 0 resolved tickets" in run("close-resolved", "--days", "0")


def test_worker_once_runs_every_job_then_waits_for_their_next_turn(cli: Path) -> None:
    import service.main  # noqa: F401  (registers every feature's jobs)
    from service.jobs import JOBS

    run("seed-demo")
    first = run("worker", "--once")
    assert {line.split(":")[0] for line in first.splitlines()} == set(JOBS)
    # The demo's overdue tickets got their breaches now (the demo replays weeks).
    assert int(re.search(r"sla.breaches: (\d+)", first).group(1)) > 0  # type: ignore[union-attr]
    again = {line.split(":")[0] for line in run("worker", "--once").splitlines()}
    # Only a job of a second or so can be due again already (webhook delivery, on
    # a slow machine); the ten-minute and hourly ones wait for their next turn.
    slow = {name for name, job in JOBS.items() if job.every >= dt.timedelta(minutes=10)}
    assert slow and not again & slow


def test_serve_runs_the_jobs_in_process(cli: Path) -> None:
    import time

    from service.jobs import JOBS
    from service.jobs.models import JobLease
    from service.main import create_served_app

    with TestClient(create_served_app()):
        deadline = time.monotonic() + 20
        while True:
            with open_session(cli) as session:
                ran = set(session.scalars(select(JobLease.name).where(JobLease.runs > 0)))
            if ran == set(JOBS) or time.monotonic() > deadline:
                break
            time.sleep(0.2)
    assert ran == set(JOBS)


def count_status(session: Session, status: Status) -> int:
    return session.scalar(select(func.count()).where(Ticket.status == status)) or 0


# --- the demo on the suite's database (PostgreSQL when LINLI_TEST_DB=postgres) --------


def test_seed_demo_on_the_test_database(
    db: Session, settings: Settings, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Tests that run a live server commit their own 新疆维吾尔自治区 to this database.
    monkeypatch.setattr(demo_module, "PROVINCE", "新疆维吾尔自治区（演示）")

    lines = seed_demo(db, settings, seed=11)

    assert any("by status" in line for line in lines), lines
    province = db.scalars(select(Region).where(Region.name == demo_module.PROVINCE)).one()
    in_demo = Ticket.region_path.startswith(province.path)
    statuses = set(db.scalars(select(Ticket.status).where(in_demo).distinct()))
    assert statuses == set(Status), f"{engine.dialect.name}: {statuses}"
    assert last_status_event_mismatches(db, region_path=province.path) == []
    assert "already loaded" in seed_demo(db, settings, seed=11)[0]


# --- dev-setup (make run) ---------------------------------------------------------


def test_dev_setup_says_the_port_is_taken_before_anything_else(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import socket

    with socket.socket() as listener, cli_environment(tmp_path):
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        code = main(["dev-setup", "--host", "127.0.0.1", "--port", str(port), "--no-demo"])
    out, err = capsys.readouterr()
    assert code == 2
    assert out == ""  # no token, no curl line that would point at someone else's server
    assert f"Port {port} on 127.0.0.1 is taken" in err
    assert f"make run PORT={port + 1}" in err
    assert not (tmp_path / "linli.db").exists()  # nothing migrated either


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.20"])
def test_serve_refuses_the_published_dev_secret_beyond_loopback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], host: str
) -> None:
    """With LINLI_ENV unset and no secret, anyone who can reach the server could
    mint a province admin's token with the development secret."""
    with cli_environment(tmp_path):
        code = main(["serve", "--host", host, "--port", "1"])
    assert code == 2
    err = capsys.readouterr().err
    assert f"Refusing to serve on {host}" in err and "LINLI_JWT_SECRET" in err


def test_loopback_hosts() -> None:
    from service.config import is_loopback

    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("example.org")


# --- import ------------------------------------------------------------------------


def _county(directory: Path) -> int:
    """新疆维吾尔自治区/乌鲁木齐市/天山区 in the CLI's database; the county's id."""
    with api_client() as client:
        admin = {"Authorization": f"Bearer {run('token', '--role', 'admin').strip()}"}
        parent = None
        for name, level in (("新疆维吾尔自治区", "province"), ("乌鲁木齐市", "prefecture")):
            body = {"name": name, "level": level, "parent_id": parent}
            parent = client.post("/v1/regions", json=body, headers=admin).json()["id"]
        body = {"name": "天山区", "level": "county", "parent_id": parent}
        return int(client.post("/v1/regions", json=body, headers=admin).json()["id"])


def test_import_dry_run_then_for_real_then_again(cli: Path) -> None:
    county = _county(cli)
    sheet = cli / "小区.csv"
    sheet.write_bytes(
        "小区名称,所属区县,户数,人口,改造年份,改造批次\n"
        "幸福路小区,天山区,820,2300,2026,第一批\n"
        f"碱泉街小区,{county},640,1700,2025,第一批\n".encode("gb18030")
    )

    dry = run("import", "communities", str(sheet), "--dry-run", "--lang", "en")

    assert "dry run, nothing stored: would create 2, update 0" in dry
    with open_session(cli) as session:
        assert count(session, Community) == 0
        operators = select(User).where(User.sub.startswith("cli-import:"))
        assert session.scalars(operators).all() == []  # not even the operator's row
    assert "imported: 2 created" in run("import", "communities", str(sheet), "--lang", "en")
    again = run("import", "communities", str(sheet), "--region", "乌鲁木齐市/天山区")
    assert "新增 0，更新 0，未变 2" in again
    assert main(["import", "communities", str(sheet), "--region", "9999"]) == 2  # no such region
    with open_session(cli) as session:
        assert count(session, Community) == 2


def test_import_of_a_bad_file_reports_each_row_and_stores_nothing(
    cli: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _county(cli)
    sheet = cli / "communities.csv"
    sheet.write_text(
        "name,region,households\n幸福路小区,天山区,820\n碱泉街小区,天山区,很多\n", encoding="utf-8"
    )

    assert main(["import", "communities", str(sheet), "--lang", "en"]) == 1

    out = capsys.readouterr().out
    assert "row 3, households: Input should be a valid integer" in out
    assert "Nothing was imported" in out
    with open_session(cli) as session:
        assert count(session, Community) == 0
    monkeypatch.setenv("LINLI_LANGUAGE", "zh-Hans")  # the report's language, without --lang
    get_settings.cache_clear()
    assert main(["import", "communities", str(sheet)]) == 1
    get_settings.cache_clear()
    assert "第 3 行「households」：应为整数" in capsys.readouterr().out
