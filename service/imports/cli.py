"""`python -m service import KIND FILE`: the same import as POST /v1/imports/{kind},
run by the operator as an admin of the whole deployment (or of `--region`),
with a progress bar on stderr and the report in LINLI_LANGUAGE (or `--lang`)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TextIO

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from service.auth import Principal, principal_for_user
from service.db import utcnow
from service.enums import Role
from service.errors import AppError
from service.i18n import Rejected, text
from service.imports.matching import Regions
from service.imports.report import Report
from service.imports.schemas import ImportKind
from service.imports.service import run_import
from service.users.models import User

OPERATOR_SUB = "cli-import:"


def operator(session: Session, region: str | None) -> Principal:
    """The admin an import from the command line acts as: one per region (or the
    whole deployment), named so that created_by says where the rows came from."""
    region_id = None
    if region is not None:
        everything = Principal(user_id=0, role=Role.admin)
        region_id = Regions(session, everything).find(region).id
    sub = f"{OPERATOR_SUB}{region_id or 'all'}"
    user = session.scalar(select(User).where(User.sub == sub))
    if user is None:
        now = utcnow()
        user = User(
            sub=sub,
            role=Role.admin,
            name="命令行导入",
            region_id=region_id,
            created_at=now,
            updated_at=now,
        )
        session.add(user)
        session.flush()
    return principal_for_user(session, user)


def print_report(report: Report, language: str, out: TextIO) -> None:
    for issue in report.issues:
        rendered = issue.render(language)
        print(
            text("import.row_error", language, row=rendered.row, column=rendered.column)
            + rendered.message,
            file=out,
        )
    if report.error_count > len(report.issues):
        print(text("import.more_errors", language, count=report.error_count), file=out)
    counts = {"created": report.created, "updated": report.updated}
    counts["unchanged"] = report.unchanged
    if report.error_count:
        print(text("import.rejected", language, count=report.error_count), file=out)
    elif report.dry_run:
        print(text("import.summary_dry_run", language, **counts), file=out)
    else:
        print(text("import.summary", language, **counts), file=out)


def run(
    factory: sessionmaker[Session],
    kind: ImportKind,
    path: Path,
    *,
    dry_run: bool,
    region: str | None,
    language: str,
    timezone: str,
) -> int:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    data = path.read_bytes()
    console = Console(stderr=True)
    with (
        Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
        ) as bar,
        factory() as session,
    ):
        task = bar.add_task(kind.value, total=None)
        try:
            principal = operator(session, region)
            report = run_import(
                session,
                principal,
                kind,
                data,
                dry_run=dry_run,
                timezone=timezone,
                progress=lambda n: bar.advance(task, n),
                on_rows=lambda total: bar.update(task, total=total),
            )
        except Rejected as exc:  # --region names no region
            session.rollback()
            print(f"--region: {text(exc.code, language, **exc.params)}", file=sys.stderr)
            return 2
        except AppError as exc:  # the file as a whole cannot be read
            session.rollback()
            print(f"{path}: {text(exc.code, language, **exc.params)}", file=sys.stderr)
            return 1
        except BaseException:
            session.rollback()
            raise
        # A refused file or a dry run leaves nothing, not even the operator's row.
        if report.error_count or dry_run:
            session.rollback()
        else:
            session.commit()
    print_report(report, language, sys.stdout)
    return 1 if report.error_count else 0
