"""The Linli command line: `python -m service <command>` (also installed as `linli`)."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections.abc import Callable

from service.config import get_settings
from service.enums import OrgRole, Role


def _session():  # type: ignore[no-untyped-def]
    from service.db import make_engine, make_sessionmaker

    engine = make_engine(get_settings())
    return engine, make_sessionmaker(engine.execution_options(sqlite_immediate=True))


def cmd_migrate(args: argparse.Namespace) -> int:
    """Migrate; at head, also load the reference data that is missing.

    Every documented start migrates through here (`migrate`, `serve --migrate`:
    the image's command, `make run`), so a new database can take tickets at
    once. The tree is not a data migration: it grows in service/categories/tree.py,
    and each migrate adds the codes a deployment lacks without a revision per
    code, while a revision importing today's models would break when they change."""
    from service.migrate import downgrade, upgrade

    url = get_settings().database_url
    if args.downgrade:
        downgrade(url, args.revision or "base")
    else:
        upgrade(url, args.revision or "head")
    print(f"migrated {_redact(url)} to {args.revision or ('base' if args.downgrade else 'head')}")
    if not args.downgrade and args.revision in (None, "head"):
        cmd_seed(args)
    return 0


def cmd_seed(_args: argparse.Namespace) -> int:
    """Reference data every deployment needs: the category tree. Only the codes
    that are missing are added: an admin's edits (names, priority, deactivation)
    stay as they are."""
    from service.categories.service import load_reference_tree

    engine, factory = _session()
    with factory.begin() as session:
        added = load_reference_tree(session)
    engine.dispose()
    print(f"reference data loaded ({added} categories added)")
    return 0


def cmd_seed_demo(args: argparse.Namespace) -> int:
    from service.categories.service import load_reference_tree
    from service.sample.demo import seed_demo

    engine, factory = _session()
    with factory.begin() as session:
        load_reference_tree(session)
        summary = seed_demo(session, get_settings(), seed=args.seed)
    engine.dispose()
    for line in summary:
        print(line)
    return 0


def cmd_token(args: argparse.Namespace) -> int:
    from service.auth import mint_token

    settings = get_settings()
    if settings.env == "prod":
        print("refusing to mint tokens in prod: the identity gateway issues them", file=sys.stderr)
        return 2
    scope = {
        "community_id": args.community_id,
        "organization_id": args.organization_id,
        "org_role": args.org_role,
        "region_id": args.region_id,
        "phone": args.phone,
    }
    print(
        mint_token(
            settings,
            sub=args.sub or f"dev-{args.role}",
            role=args.role,
            name=args.name or args.role,
            ttl=dt.timedelta(days=args.days),
            **scope,
        )
    )
    return 0


def cmd_api_key(args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from service.apikeys.models import ApiKey
    from service.apikeys.service import create_api_key, revoke_api_key
    from service.directory.models import Organization

    engine, factory = _session()
    try:
        with factory.begin() as session:
            if args.action == "create":
                organization = session.get(Organization, args.organization_id)
                if organization is None:
                    print(f"no organization {args.organization_id}", file=sys.stderr)
                    return 1
                api_key, raw = create_api_key(session, organization, args.name)
                print(f"created key {api_key.id} ({api_key.prefix}...) for {organization.name}")
                print(raw)
            elif args.action == "revoke":
                api_key = session.get(ApiKey, args.key_id)
                if api_key is None:
                    print(f"no API key {args.key_id}", file=sys.stderr)
                    return 1
                revoke_api_key(session, api_key)
                print(f"revoked key {api_key.id}")
            else:
                for row in session.scalars(select(ApiKey).order_by(ApiKey.id)):
                    state = "revoked" if row.revoked_at else "active"
                    print(
                        f"{row.id}\torg {row.organization_id}\t{row.prefix}...\t{state}\t{row.name}"
                    )
    finally:
        engine.dispose()
    return 0


def cmd_dashboard_link(args: argparse.Namespace) -> int:
    """A one-time link into the dashboard for the officials of one region."""
    from urllib.parse import urlencode
    from zoneinfo import ZoneInfo

    from service.dashboard.sessions import (
        MAX_CODE_TTL,
        create_code,
        find_region,
        link_user,
    )
    from service.db import utcnow

    ttl = dt.timedelta(minutes=args.minutes)
    if not dt.timedelta(minutes=1) <= ttl <= MAX_CODE_TTL:
        limit = int(MAX_CODE_TTL.total_seconds() // 60)
        print(f"--minutes must be between 1 and {limit}", file=sys.stderr)
        return 2
    settings = get_settings()
    engine, factory = _session()
    try:
        with factory.begin() as session:
            try:
                region = find_region(session, args.region)
            except LookupError as exc:
                print(str(exc), file=sys.stderr)
                return 1
            now = utcnow()
            user = link_user(session, region, now)
            code, expires = create_code(session, user.id, now, ttl)
            name, region_id = region.name, region.id
    finally:
        engine.dispose()
    until = expires.astimezone(ZoneInfo(settings.timezone))
    print(
        f"One-time dashboard link for {name} (region {region_id}): it opens once,"
        f" until {until:%Y-%m-%d %H:%M} ({settings.timezone}), and shows only that region."
    )
    print(f"{args.base_url.rstrip('/')}/dashboard/login?{urlencode({'code': code})}")
    return 0


def cmd_close_resolved(args: argparse.Namespace) -> int:
    from service.db import utcnow
    from service.tickets.actions import auto_close_resolved

    settings = get_settings()
    days = args.days if args.days is not None else settings.auto_close_days
    engine, factory = _session()
    total = 0
    while True:
        with factory.begin() as session:
            closed = auto_close_resolved(session, older_than=dt.timedelta(days=days), now=utcnow())
        total += closed
        if closed == 0:
            break
    engine.dispose()
    print(f"closed {total} resolved tickets unconfirmed for {days} days")
    return 0


def _multiprocess_metrics(workers: int) -> tuple[str | None, bool]:
    """Under `--workers N` each worker counts into files in PROMETHEUS_MULTIPROC_DIR
    and a scrape of any of them sums every worker's: a directory of the operator's
    (emptied: counts of an earlier run would be added in) or a temporary one
    (removed afterwards). Set before prometheus_client is imported anywhere.
    Returns the directory, and whether it was made here."""
    import os
    import tempfile
    from pathlib import Path

    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        Path(directory).mkdir(parents=True, exist_ok=True)
        for stale in Path(directory).glob("*.db"):
            stale.unlink()
        return directory, False
    if workers <= 1:
        return None, False
    directory = tempfile.mkdtemp(prefix="linli-prometheus-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = directory
    return directory, True


def cmd_serve(args: argparse.Namespace) -> int:
    import shutil

    import uvicorn

    from service.config import DEV_JWT_SECRET, is_loopback
    from service.telemetry import logs

    settings = get_settings()
    if settings.jwt_secret == DEV_JWT_SECRET and not is_loopback(args.host):
        # The development secret is published: anyone who can reach this server
        # could mint a province admin's token.
        print(
            f"Refusing to serve on {args.host} with the published development JWT secret: "
            "set LINLI_JWT_SECRET (or LINLI_JWT_PUBLIC_KEY / LINLI_JWT_JWKS_URL), "
            "or serve on 127.0.0.1.",
            file=sys.stderr,
        )
        return 2
    metrics_dir, made_here = _multiprocess_metrics(args.workers)
    if args.migrate:
        cmd_migrate(argparse.Namespace(downgrade=False, revision=None))
    try:
        uvicorn.run(
            "service.main:create_served_app",
            factory=True,
            host=args.host,
            port=args.port,
            workers=args.workers,
            proxy_headers=True,
            log_level=args.log_level,
            # One line per request comes from service.observability.asgi instead,
            # with the route template and the request id.
            log_config=logs.config(settings.logs_as, args.log_level),
            access_log=False,
            timeout_graceful_shutdown=settings.shutdown_timeout_seconds,
        )
    finally:
        if made_here and metrics_dir is not None:
            shutil.rmtree(metrics_dir, ignore_errors=True)
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    """Run the periodic jobs without serving (`--once`: every due job, then exit)."""
    import asyncio
    import signal

    from service.db import direct_url, make_engine
    from service.feed.notify import NEWEST_EVENT_SQL, FeedHub, PgListener, install_commit_hook
    from service.jobs.runner import run_due, run_forever
    from service.jobs.wake import SqliteWatermark, Wakeup
    from service.main import FEATURE_JOBS
    from service.sla.official import log_coverage
    from service.telemetry import logs

    assert FEATURE_JOBS  # imported: every feature's jobs are registered

    settings = get_settings()
    logs.configure(settings.logs_as)
    log_coverage(settings)  # the SLA sweep runs here: say which years lack holidays
    engine = make_engine(settings)
    if args.once:
        for name, result in sorted(run_due(engine, settings).items()):
            print(f"{name}: {result}")
        engine.dispose()
        return 0

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        # Woken like the runner inside `serve`: by the jobs' own commits of events,
        # by NOTIFY on PostgreSQL, and on SQLite by a new event's id (polled).
        wakeup = Wakeup()
        hub = FeedHub()
        hub.bind(loop)
        hub.on_notify(wakeup.wake)
        install_commit_hook()
        listener = watch = None
        if settings.is_sqlite:
            watch = SqliteWatermark(engine, NEWEST_EVENT_SQL)
        else:
            listener = PgListener(direct_url(settings, engine.url), hub)
            listener.start()
        try:
            await run_forever(engine, settings, stop, wakeup, watch=watch)
        finally:
            if listener is not None:
                await listener.stop()
            if watch is not None:
                watch.close()

    asyncio.run(main())
    engine.dispose()
    return 0


def _port_taken(host: str, port: int) -> str | None:
    """Why `port` cannot be served on `host`, or None when it can."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            return error.strerror or str(error)
    return None


def cmd_dev_setup(args: argparse.Namespace) -> int:
    """What `make run` does before serving: migrate, load reference data (and the
    demo data into an empty database), print an admin token and a first request."""
    from sqlalchemy import func, select

    from service.auth import mint_token
    from service.directory.models import Community

    # Before anything is printed: a taken port would only fail after the token.
    taken = _port_taken(args.host, args.port)
    if taken:
        print(
            f"Port {args.port} on {args.host} is taken ({taken}): is Linli already running?\n"
            f"Serve on another one: make run PORT={args.port + 1}",
            file=sys.stderr,
        )
        return 2
    cmd_migrate(argparse.Namespace(downgrade=False, revision=None))  # and the reference data
    engine, factory = _session()
    with factory() as session:
        empty = not session.scalar(select(func.count()).select_from(Community))
    engine.dispose()
    if empty and not args.no_demo:
        cmd_seed_demo(argparse.Namespace(seed=7))

    settings = get_settings()
    token = mint_token(settings, sub="dev-admin", role=Role.admin, name="Development admin")
    base = f"http://{args.host}:{args.port}"
    print()
    print("Development admin token (province-wide, valid 30 days):")
    print(f"  export ADMIN={token}")
    print("File a ticket with it (a phone-in for a resident of community 1):")
    print(
        f'  curl -s -X POST {base}/v1/tickets -H "Authorization: Bearer $ADMIN" '
        '-H \'Content-Type: application/json\' -d \'{"category": "repair.heating", '
        '"community_id": 1, "description": "暖气不热", "channel": "phone", '
        '"on_behalf_of": {"name": "买买提", "phone": "13999110000"}}\''
    )
    print(f"API docs: {base}/docs")
    print()
    return 0


def cmd_metrics_rollup(args: argparse.Namespace) -> int:
    """Build the metrics rollup from scratch (`--rebuild`), or bring it up to date
    as the `metrics.rollup` job does every minute."""
    from sqlalchemy.orm import Session

    from service.db import make_engine, utcnow
    from service.metrics import rollup

    settings = get_settings()
    engine = make_engine(settings)
    try:
        with Session(engine) as session, session.begin():
            if args.rebuild:
                rows = rollup.rebuild(
                    session, utcnow(), settings.timezone, settings.visit_grace_minutes
                )
                print(f"metrics rollup rebuilt: {rows:,} rows")
            else:
                slices = rollup.refresh(
                    session, utcnow(), settings.timezone, settings.visit_grace_minutes
                )
                print("metrics rollup built" if slices < 0 else f"{slices} slices re-rolled")
    finally:
        engine.dispose()
    return 0


def cmd_generate(args: argparse.Namespace) -> int:
    """Synthetic data at the programme's scale into an empty database (migrated first)."""
    from service.db import make_engine
    from service.sample.generate import Plan, generate

    cmd_migrate(argparse.Namespace(downgrade=False, revision=None))
    plan = Plan(
        communities=args.communities,
        residents=args.residents,
        tickets=args.tickets,
        elders=args.elders,
        seed=args.seed,
        years=args.years,
        end=dt.datetime.fromisoformat(args.end).replace(tzinfo=dt.UTC),
    )
    settings = get_settings()
    engine = make_engine(settings)
    try:
        made = generate(engine, plan)
        from sqlalchemy.orm import Session

        from service.db import utcnow
        from service.metrics import rollup

        with Session(engine) as session, session.begin():  # what the dashboard reads
            made["rollup_rows"] = rollup.rebuild(
                session, utcnow(), settings.timezone, settings.visit_grace_minutes
            )
    finally:
        engine.dispose()
    print(", ".join(f"{k} {v:,}" if isinstance(v, int) else f"{k} {v}" for k, v in made.items()))
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from pathlib import Path

    from service.imports import cli
    from service.imports.schemas import ImportKind

    settings = get_settings()
    engine, factory = _session()
    try:
        return cli.run(
            factory,
            ImportKind(args.kind),
            Path(args.file),
            dry_run=args.dry_run,
            region=args.region,
            language=args.lang or settings.language,
            timezone=settings.timezone,
        )
    finally:
        engine.dispose()


def cmd_openapi(args: argparse.Namespace) -> int:
    """The OpenAPI document that GET /openapi.json serves, without a server or a
    database: what a front end generates its client from."""
    import json
    from pathlib import Path

    from sqlalchemy import create_engine

    from service.config import Settings
    from service.main import create_app

    # The document depends on the code only; no connection is ever made.
    settings = Settings(env="dev", database_url="sqlite://")
    document = create_app(settings, create_engine("sqlite://")).openapi()
    text = json.dumps(document, ensure_ascii=False, indent=2) + "\n"
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


def _redact(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="linli", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    def add(name: str, handler: Callable[[argparse.Namespace], int], help_: str):  # type: ignore[no-untyped-def]
        sub = commands.add_parser(name, help=help_)
        sub.set_defaults(handler=handler)
        return sub

    serve = add("serve", cmd_serve, "serve the API with uvicorn")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.add_argument("--log-level", default="info")
    serve.add_argument("--migrate", action="store_true", help="migrate to head first")

    migrate = add("migrate", cmd_migrate, "apply the migrations, then load missing categories")
    migrate.add_argument("--revision")
    migrate.add_argument("--downgrade", action="store_true")

    add("seed", cmd_seed, "load reference data (category tree)")
    demo = add("seed-demo", cmd_seed_demo, "load a small believable demo data set")
    demo.add_argument("--seed", type=int, default=7)

    token = add("token", cmd_token, "mint a development JWT")
    token.add_argument("--role", choices=[r.value for r in Role], required=True)
    token.add_argument("--sub")
    token.add_argument("--name")
    token.add_argument("--community-id", type=int)
    token.add_argument("--organization-id", type=int)
    token.add_argument("--org-role", choices=[r.value for r in OrgRole])
    token.add_argument("--region-id", type=int)
    token.add_argument("--phone")
    token.add_argument("--days", type=int, default=30)

    api_key = add("api-key", cmd_api_key, "create, list or revoke an organisation's API key")
    api_key.add_argument("action", choices=["create", "revoke", "list"])
    api_key.add_argument("--organization-id", type=int)
    api_key.add_argument("--name", default="dispatch system")
    api_key.add_argument("--key-id", type=int)

    link = add("dashboard-link", cmd_dashboard_link, "a one-time sign-in link to the dashboard")
    link.add_argument("--region", required=True, help="region id or exact name (e.g. 天山区)")
    link.add_argument("--minutes", type=int, default=10, help="valid this long (1-60)")
    link.add_argument(
        "--base-url", default="http://127.0.0.1:8000", help="where officials reach the server"
    )

    close = add("close-resolved", cmd_close_resolved, "close resolved tickets nobody confirmed")
    close.add_argument("--days", type=int)

    worker = add("worker", cmd_worker, "run the periodic jobs (breaches, auto-close, expiry)")
    worker.add_argument("--once", action="store_true", help="run every due job once and exit")

    roll = add("metrics-rollup", cmd_metrics_rollup, "bring the metrics rollup up to date")
    roll.add_argument("--rebuild", action="store_true", help="from scratch (minutes per 10M)")

    gen = add("generate", cmd_generate, "synthetic communities, residents and tickets")
    gen.add_argument("--communities", type=int, default=1714)
    gen.add_argument("--residents", type=int, default=231_500)
    gen.add_argument("--tickets", type=int, default=1_000_000)
    gen.add_argument(
        "--elders",
        type=int,
        default=None,
        help="elders with care plans and visits (default: 20,000 per 231,500 residents)",
    )
    gen.add_argument("--seed", type=int, default=1)
    gen.add_argument("--years", type=int, default=3)
    gen.add_argument("--end", default="2026-11-01", help="the tickets end here (UTC date)")

    imports = add("import", cmd_import, "import communities, organisations, providers or elders")
    imports.add_argument("kind", choices=["communities", "organizations", "providers", "elders"])
    imports.add_argument("file", help="XLSX, or CSV in UTF-8 or GB18030 (docs/imports.md)")
    imports.add_argument("--dry-run", action="store_true", help="check and count; store nothing")
    imports.add_argument(
        "--region", help="act as an admin of this region (id, name or path); default: all"
    )
    imports.add_argument(
        "--lang", choices=["zh-Hans", "ug", "en"], help="the report's language (LINLI_LANGUAGE)"
    )

    openapi = add("openapi", cmd_openapi, "print the OpenAPI document (GET /openapi.json)")
    openapi.add_argument("--output", "-o", help="write it to this file instead")

    setup = add("dev-setup", cmd_dev_setup, "migrate, load reference data, print a dev token")
    setup.add_argument("--no-demo", action="store_true", help="never load the demo data")
    setup.add_argument("--host", default="127.0.0.1")
    setup.add_argument("--port", type=int, default=8000)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.handler(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
