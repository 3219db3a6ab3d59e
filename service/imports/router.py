"""POST /v1/imports/{kind}: the command line's imports, for admins over HTTP."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from sqlalchemy.orm import Session

from service.auth import AdminPrincipal, Principal
from service.config import SettingsDep
from service.db import CommitInRoute, SessionDep, begin_write, in_thread
from service.errors import Forbidden, PayloadTooLarge, Unprocessable, request_language, responses
from service.imports.report import ImportRejected, Report
from service.imports.schemas import ImportKind, ImportResult
from service.imports.service import run_import

PATH = "/v1/imports"
# A province's renovation list (5,000 communities) is about 1 MB of CSV.
MAX_FILE_BYTES = 16 * 1024 * 1024
# The paths the request guard lets a multipart body of that size through on.
UPLOAD_PATHS = {f"{PATH}/{kind.value}": MAX_FILE_BYTES + 64 * 1024 for kind in ImportKind}

router = APIRouter(prefix=PATH, tags=["imports"], route_class=CommitInRoute)


def _import(
    session: Session, principal: Principal, kind: ImportKind, data: bytes, dry_run: bool, tz: str
) -> Report:
    begin_write(session)
    report = run_import(session, principal, kind, data, dry_run=dry_run, timezone=tz)
    if report.error_count and not dry_run:
        raise ImportRejected(report)
    return report


@router.post(
    "/{kind}",
    response_model=ImportResult,
    responses=responses(Forbidden, PayloadTooLarge, Unprocessable),
)
async def import_spreadsheet(
    request: Request,
    kind: ImportKind,
    principal: AdminPrincipal,
    session: SessionDep,
    settings: SettingsDep,
    file: Annotated[
        UploadFile,
        File(description="XLSX, or CSV in UTF-8 (with or without BOM) or GB18030."),
    ],
    dry_run: Annotated[bool, Form(description="Check every row and count; store nothing.")] = False,
) -> ImportResult:
    """Import the renovation list (`communities`, `organizations`), who serves
    whom (`providers`) or the elders (`elders`) from a spreadsheet, into the
    caller's region, all or nothing: a file with any bad row stores nothing and
    answers 422 with every row's error (row as the spreadsheet numbers it,
    column, code, message; the first 100). Importing the same file again updates
    rather than duplicates. `dry_run` answers 200 with the counts and the
    errors, and stores nothing. Headers in Chinese or English: docs/imports.md."""
    data = await file.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise PayloadTooLarge("body.too_large", limit=MAX_FILE_BYTES)
    report: Report = await in_thread(
        session, _import, session, principal, kind, data, dry_run, settings.timezone
    )
    return report.result(request_language(request))
