"""Importing a province's renovation list: 5,000 communities from CSV and XLSX.

    python bench/imports.py [--communities 5000] [--backend sqlite|postgres|both]

For each backend and format, on a fresh database (the migrations) holding a
province, 14 prefectures and 100 counties: the file is made (CSV in UTF-8 with
Chinese headers, or XLSX through openpyxl; counties named by path in one row in
three, by name or id otherwise), then `service.imports.service.run_import` runs
as a province-wide admin would through the API or the CLI, in one transaction:

- `dry run`: every row checked, counted, nothing stored;
- `create`: all of them new;
- `again`: the same file (all unchanged);
- `update`: every row's households changed.

And, for comparison, `per row`: the same rows created one by one through
`service.directory.service.create_community` (a lookup and a flush a row), what
the import would cost without its batched statements. Statements are counted
on the engine (an executemany is one).
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import event  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from bench.setup_data import fresh_database  # noqa: E402
from service.auth import Principal  # noqa: E402
from service.config import Settings  # noqa: E402
from service.db import make_engine  # noqa: E402
from service.directory import service as directory  # noqa: E402
from service.directory.models import Region  # noqa: E402
from service.directory.schemas import CommunityCreate  # noqa: E402
from service.enums import RegionLevel, Role  # noqa: E402
from service.imports.schemas import ImportKind  # noqa: E402
from service.imports.service import run_import  # noqa: E402

PREFECTURES = 14
COUNTIES = 100
HEADERS = ["小区名称", "所属区县", "户数", "人口", "改造年份", "改造批次", "经度", "纬度"]
ADMIN = Principal(user_id=0, role=Role.admin)


def regions(session: Session) -> list[tuple[int, str]]:
    """The region tree; (id, how a row names it) of each county."""
    province = Region(name="新疆维吾尔自治区", level=RegionLevel.province, path="tmp:p")
    session.add(province)
    session.flush()
    province.path = f"/{province.id}/"
    counties: list[tuple[int, str]] = []
    for p in range(PREFECTURES):
        prefecture = Region(
            name=f"第{p + 1}地区", level=RegionLevel.prefecture, parent_id=province.id, path=f"p{p}"
        )
        session.add(prefecture)
        session.flush()
        prefecture.path = f"{province.path}{prefecture.id}/"
        for c in range(p, COUNTIES, PREFECTURES):
            county = Region(
                name=f"第{c + 1}县", level=RegionLevel.county, parent_id=prefecture.id, path=f"c{c}"
            )
            session.add(county)
            session.flush()
            county.path = f"{prefecture.path}{county.id}/"
            named = (
                f"新疆维吾尔自治区/{prefecture.name}/{county.name}"
                if c % 3 == 0
                else county.name
                if c % 3 == 1
                else str(county.id)
            )
            counties.append((county.id, named))
    return counties


def rows(counties: list[tuple[int, str]], n: int, households: int) -> list[list[object]]:
    return [
        [
            f"改造小区{i + 1:05d}",
            counties[i % len(counties)][1],
            households + i % 400,
            (households + i % 400) * 3,
            2019 + i % 8,
            f"第{1 + i % 3}批",
            round(87.0 + (i % 1000) / 1000, 6),
            round(43.0 + (i % 700) / 1000, 6),
        ]
        for i in range(n)
    ]


def as_csv(table: list[list[object]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADERS)
    writer.writerows(table)
    return out.getvalue().encode()


def as_xlsx(table: list[list[object]]) -> bytes:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet()
    sheet.append(HEADERS)
    for row in table:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def measure(backend: str, file_format: str, n: int, pg_server_url: str) -> list[str]:
    url = fresh_database(backend, pg_server_url, f"linli_bench_imports_{file_format}")
    engine = make_engine(Settings(database_url=url))
    statements = [0]

    @event.listens_for(engine, "before_cursor_execute")
    def _count(*_args: object) -> None:
        statements[0] += 1

    with Session(engine) as session, session.begin():
        counties = regions(session)
    encode = as_csv if file_format == "csv" else as_xlsx
    first, changed = encode(rows(counties, n, 500)), encode(rows(counties, n, 600))
    lines = []
    for step, data, dry_run in (
        ("dry run", first, True),
        ("create", first, False),
        ("again", first, False),
        ("update", changed, False),
    ):
        statements[0] = 0
        started = time.perf_counter()
        with Session(engine) as session, session.begin():
            report = run_import(
                session,
                ADMIN,
                ImportKind.communities,
                data,
                dry_run=dry_run,
                timezone="Asia/Urumqi",
            )
        elapsed = time.perf_counter() - started
        assert report.error_count == 0, report.issues[:3]
        counts = f"{report.created} / {report.updated} / {report.unchanged}"
        lines.append(
            f"| {backend} | {file_format.upper()} ({len(data) / 1e6:.2f} MB) | {step} | {counts} "
            f"| {elapsed:.2f} s | {elapsed / n * 1e3:.3f} ms | {statements[0]} |"
        )
        print(lines[-1], flush=True)
    engine.dispose()
    return lines


def per_row(backend: str, n: int, pg_server_url: str) -> str:
    url = fresh_database(backend, pg_server_url, "linli_bench_imports_rows")
    engine = make_engine(Settings(database_url=url))
    statements = [0]

    @event.listens_for(engine, "before_cursor_execute")
    def _count(*_args: object) -> None:
        statements[0] += 1

    with Session(engine) as session, session.begin():
        counties = regions(session)
    statements[0] = 0
    started = time.perf_counter()
    with Session(engine) as session, session.begin():
        for i in range(n):
            body = {"name": f"改造小区{i + 1:05d}", "region_id": counties[i % len(counties)][0]}
            directory.create_community(session, ADMIN, CommunityCreate.model_validate(body))
    elapsed = time.perf_counter() - started
    engine.dispose()
    line = (
        f"| {backend} | — | per row (create_community) | {n} / 0 / 0 | {elapsed:.2f} s "
        f"| {elapsed / n * 1e3:.3f} ms | {statements[0]} |"
    )
    print(line, flush=True)
    return line


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--communities", type=int, default=5000)
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument(
        "--pg-server-url", default="postgresql+psycopg://root@127.0.0.1:5432/postgres"
    )
    args = parser.parse_args()
    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    print("| backend | file | step | created / updated / unchanged | time | per row | statements |")
    print("|---|---|---|---|---:|---:|---:|")
    for backend in backends:
        for file_format in ("csv", "xlsx"):
            measure(backend, file_format, args.communities, args.pg_server_url)
        per_row(backend, args.communities, args.pg_server_url)


if __name__ == "__main__":
    main()
