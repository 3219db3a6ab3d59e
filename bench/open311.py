"""Open311: GET requests.json (a page of 1,000) and a form-encoded POST against
their raw-driver ceilings.

    python bench/open311.py [--backends sqlite,postgres] [--tickets 100000]
                            [--duration 10] [--connections 16]

Loads `--tickets` tickets (bench/setup_data.py: one county, filed 7 s apart
from 2026-01-01) and registers an integration for the county. Then, on one
uvicorn worker as in bench/run.py, wrk asks Linli for
`/open311/v2/requests.json?jurisdiction_id=C&start_date&end_date` (a window
holding more than 1,000 of them: the spec's largest answer, newest first), and
posts a form-encoded request with the integration's key into a community by
`address_id` (each POST files a ticket; the hourly quota is switched off). The
ceiling (bench/ceiling.py `/open311/requests`) does the same page's one SELECT
and JSON, and for the POST the key's lookup and one INSERT through the bare
driver, with the same uvicorn settings.
"""

from __future__ import annotations

import argparse
import sys
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy.orm import Session  # noqa: E402

from bench.result import Result  # noqa: E402
from bench.run import Server, speed_probe, wrk  # noqa: E402
from bench.setup_data import BENCH_SECRET, build_world, bulk_tickets, fresh_database  # noqa: E402
from service.auth import Principal  # noqa: E402
from service.config import Settings  # noqa: E402
from service.db import make_engine  # noqa: E402
from service.enums import Role  # noqa: E402
from service.open311.integrations import create_integration  # noqa: E402

START, END = "2026-01-01T00:00:00+00:00", "2026-03-01T00:00:00+00:00"


def lua_get(path: str) -> str:
    return f"""
function request()
  return wrk.format("GET", "{path}")
end
"""


def lua_form(path: str, form: dict[str, str]) -> str:
    body = urllib.parse.urlencode(form)
    return f"""
local body = [[{body}]]
function request()
  return wrk.format("POST", "{path}", {{
    ["Content-Type"] = "application/x-www-form-urlencoded",
  }}, body)
end
"""


def register(url: str, region_id: int) -> str:
    engine = make_engine(Settings(database_url=url, jwt_secret=BENCH_SECRET))
    with Session(engine) as session, session.begin():
        _integration, key = create_integration(
            session, Principal(user_id=0, role=Role.admin), "12345 热线", region_id
        )
    engine.dispose()
    return key


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--pg-url", default="postgresql+psycopg://root@127.0.0.1:5432/postgres")
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args()
    rows: list[tuple[str, str, Result, Result, float, float]] = []
    for backend in args.backends.split(","):
        url = fresh_database(backend, args.pg_url, "linli_bench_open311")
        world = build_world(url)
        bulk_tickets(world, args.tickets)
        county = int(world.region_path.strip("/").split("/")[-1])
        key = register(url, county)
        window = urllib.parse.urlencode({"start_date": START, "end_date": END})
        page = f"/open311/v2/requests.json?jurisdiction_id={county}&{window}"
        form = {
            "api_key": key,
            "service_code": "repair.plumbing",
            "address_id": str(world.community_id),
            "first_name": "热依拉",
            "phone": "13977770001",
            "description": "厨房水管漏水，请尽快处理",
        }
        env = {
            "LINLI_DATABASE_URL": url,
            "LINLI_JWT_SECRET": BENCH_SECRET,
            "LINLI_ENV": "dev",
            "LINLI_TICKETS_PER_HOUR_API_KEY": "0",
        }
        probe = speed_probe()
        linli = Server(["--factory", "service.main:create_app"], env)
        try:
            wrk(linli.url, lua_get(page), 2, 4, "warm")
            mine_page = wrk(linli.url, lua_get(page), args.duration, args.connections, "page")
            post = lua_form("/open311/v2/requests.json", form)
            mine_post = wrk(linli.url, post, args.duration, args.connections, "post")
        finally:
            linli.stop()
        ceiling = Server(["bench.ceiling:app"], {"CEILING_DATABASE_URL": url})
        try:
            raw_window = urllib.parse.urlencode(
                {"region_path": world.region_path, "start_date": START, "end_date": END}
            )
            raw_page = f"/open311/requests?{raw_window}"
            wrk(ceiling.url, lua_get(raw_page), 2, 4, "warm")
            raw = wrk(ceiling.url, lua_get(raw_page), args.duration, args.connections, "raw")
            raw_post = wrk(
                ceiling.url,
                lua_form("/open311/requests", form),
                args.duration,
                args.connections,
                "raw post",
            )
        finally:
            ceiling.stop()
        after = speed_probe()
        rows.append((backend, "GET requests.json (1,000)", mine_page, raw, probe, after))
        rows.append((backend, "POST requests.json", mine_post, raw_post, probe, after))
    print("| backend | request | Linli req/s | p50 ms | p99 ms | errors | ceiling req/s | ratio |")
    print("|---|---|---|---|---|---|---|---|")
    for backend, name, mine, raw, before, after in rows:
        print(
            f"| {backend} | {name} | {mine.rps:.0f} | {mine.p50_ms:.1f} | {mine.p99_ms:.1f} "
            f"| {mine.errors} | {raw.rps:.0f} | {mine.rps / raw.rps:.0%} |"
        )
        print(f"speed probe {backend}: {before:.2f} s before, {after:.2f} s after", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
