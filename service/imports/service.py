"""Running an import: read the sheet, check every row, then store all of it or
nothing. One transaction (the caller's); the work is done in a savepoint that
is rolled back on any error, and on a dry run, so a dry run counts exactly what
the real one would do.

Communities and organisations (a province's renovation list: thousands of rows)
are checked row by row with the API's own schemas, then written by statements
of up to BATCH rows; who serves whom and the elders go through the directory's
and the care service's own functions, row by row, so that their rules (kinds of
organisation, assignment history, consent) live in one place.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import ValidationError
from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from service.auth import Principal
from service.care import service as care
from service.care.models import Elder
from service.care.schemas import ElderCreate, ElderUpdate
from service.db import utcnow
from service.directory import service as directory
from service.directory.models import Community, Organization, ProviderAssignment
from service.directory.schemas import CommunityCreate, OrganizationCreate, ProviderAssign
from service.enums import RegionLevel, ServiceKind
from service.errors import AppError, Unprocessable
from service.i18n import Rejected
from service.imports import columns as cols
from service.imports.columns import Column, normalised
from service.imports.matching import Place, Regions, find_community, find_organization
from service.imports.reading import Cell, read_sheet
from service.imports.report import Report
from service.imports.schemas import ImportKind
from service.scope import visible

BATCH = 1000
MAX_ROWS = 50_000
# Columns people keep in their lists that Linli has no use for; anything else
# unknown is an error (a misspelt header would otherwise drop a column silently).
IGNORED = frozenset(normalised(name) for name in ("序号", "编号", "备注", "no", "#", "remark"))

Progress = Callable[[int], None]
Row = tuple[int, dict[str, Any]]


def run_import(
    session: Session,
    principal: Principal,
    kind: ImportKind,
    data: bytes,
    *,
    dry_run: bool,
    timezone: str,
    progress: Progress | None = None,
    on_rows: Callable[[int], None] | None = None,
) -> Report:
    """Import `data` (XLSX or CSV) as `principal`. Returns the report; when it
    holds errors nothing was stored (the caller answers 422), and on a dry run
    nothing either. Unreadable files raise Unprocessable."""
    report = Report(kind, dry_run)
    sheet = read_sheet(data)
    if len(sheet.rows) > MAX_ROWS:
        raise Unprocessable.on("file", "import.too_many_rows", limit=MAX_ROWS)
    columns = cols.KINDS[kind]
    mapping = _match_headers(sheet.headers, columns, report)
    report.rows = len(sheet.rows)
    if on_rows is not None:
        on_rows(report.rows)
    if report.error_count:
        return report
    zone = ZoneInfo(timezone)
    rows = _values(sheet.rows, mapping, zone, report)
    savepoint = session.begin_nested()
    try:
        IMPORTERS[kind](session, principal, rows, report, timezone, progress or (lambda _n: None))
    except BaseException:
        savepoint.rollback()
        raise
    if report.error_count or dry_run:
        savepoint.rollback()
    else:
        savepoint.commit()
    return report


def _match_headers(
    headers: list[str], columns: Sequence[Column], report: Report
) -> dict[int, Column]:
    by_name = {normalised(name): column for column in columns for name in column.names}
    mapping: dict[int, Column] = {}
    for index, header in enumerate(headers):
        key = normalised(header)
        if not key or key in IGNORED:
            continue
        column = by_name.get(key)
        if column is None:
            report.headers[f"#{index}"] = header
            report.add(1, f"#{index}", "import.unknown_column")
        elif column.field in report.headers:
            report.headers[f"#{index}"] = header
            report.add(1, f"#{index}", "import.duplicate_column")
        else:
            report.headers[column.field] = header
            mapping[index] = column
    for column in columns:
        report.headers.setdefault(column.field, column.names[0])
    mapped = {column.field for column in mapping.values()}
    for column in columns:
        if column.required and column.field not in mapped:
            report.add(1, column.field, "import.missing_column")
    return mapping


def _values(
    rows: list[tuple[int, list[Cell]]], mapping: dict[int, Column], zone: ZoneInfo, report: Report
) -> Iterator[Row]:
    """Each row's values by field (blank cells left out: a blank cell keeps what
    is stored), the rows with a cell that cannot be read reported and skipped."""
    required = [column for column in mapping.values() if column.required]
    for number, cells in rows:
        values: dict[str, Any] = {}
        failed = False
        for index, column in mapping.items():
            cell = cells[index] if index < len(cells) else None
            if cell is None or (isinstance(cell, str) and not cell.strip()):
                continue
            try:
                values[column.field] = column.convert(cell, zone)
            except Rejected as exc:
                report.add(number, column.field, exc.code, **exc.params)
                failed = True
        for column in required:
            if column.field not in values and not failed:
                report.add(number, column.field, "validation.missing")
                failed = True
        yield number, (values if not failed else {})


def _region(regions: Regions, row: int, values: dict[str, Any], report: Report) -> Place | None:
    try:
        return regions.find(str(values["region"])) if "region" in values else None
    except Rejected as exc:
        report.add(row, "region", exc.code, **exc.params)
        raise


def _batches(items: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(items), BATCH):
        yield items[start : start + BATCH]


# --- communities -----------------------------------------------------------------------

_COMMUNITY_FIELDS = (
    "address",
    "households",
    "residents",
    "renovation_year",
    "renovation_batch",
    "latitude",
    "longitude",
)


def _same(stored: Any, new: Any) -> bool:
    if isinstance(stored, float) or isinstance(new, float):
        return stored is not None and new is not None and round(stored, 6) == round(new, 6)
    return bool(stored == new)


def import_communities(
    session: Session,
    principal: Principal,
    rows: Iterator[Row],
    report: Report,
    _timezone: str,
    progress: Progress,
) -> None:
    """A community is known by its name within its county: importing the list
    again updates what changed rather than adding the communities twice."""
    regions = Regions(session, principal)
    checked: list[tuple[int, Place, CommunityCreate, set[str]]] = []
    first_row: dict[tuple[int, str], int] = {}
    for number, values in rows:
        progress(1)
        if not values:
            continue
        try:
            region = _region(regions, number, values, report)
        except Rejected:
            continue
        assert region is not None  # a required column
        if region.level != RegionLevel.county:
            report.add(number, "region", "community.county_only")
            continue
        body = {k: v for k, v in values.items() if k != "region"} | {"region_id": region.id}
        try:
            data = CommunityCreate.model_validate(body)
        except ValidationError as exc:
            report.add_validation(number, exc)
            continue
        key = (region.id, data.name)
        if key in first_row:
            report.add(number, "name", "import.duplicate_row", row=first_row[key])
            continue
        first_row[key] = number
        checked.append((number, region, data, set(values) - {"region", "name"}))
    if report.error_count:
        return

    stored: dict[tuple[int, str], list[Community]] = {}
    region_ids = sorted({region.id for _, region, _, _ in checked})
    for start in range(0, len(region_ids), BATCH):
        chunk = region_ids[start : start + BATCH]
        for community in session.scalars(
            select(Community).where(Community.region_id.in_(chunk), visible(principal, Community))
        ):
            stored.setdefault((community.region_id, community.name), []).append(community)

    now = utcnow()
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    for number, region, data, given in checked:
        found = stored.get((region.id, data.name), [])
        if len(found) > 1:
            report.add(number, "name", "import.community_ambiguous")
            continue
        if not found:
            inserts.append(
                data.model_dump()
                | {"region_path": region.path, "created_at": now, "updated_at": now}
            )
            continue
        community = found[0]
        changes = {
            name: getattr(data, name)
            for name in _COMMUNITY_FIELDS
            if name in given and not _same(getattr(community, name), getattr(data, name))
        }
        if changes:
            updates.append({"id": community.id, **changes, "updated_at": now})
        else:
            report.unchanged += 1
    _write(session, Community, inserts, updates, report)


def _write(
    session: Session,
    model: Any,
    inserts: list[dict[str, Any]],
    updates: list[dict[str, Any]],
    report: Report,
) -> None:
    """The rows made and changed, in batches of statements, unless a row was bad."""
    if report.error_count:
        return
    for batch in _batches(inserts):
        session.execute(insert(model), batch)
    for batch in _batches(updates):
        session.execute(update(model), batch)
    report.created, report.updated = len(inserts), len(updates)


# --- organisations ---------------------------------------------------------------------


def import_organizations(
    session: Session,
    principal: Principal,
    rows: Iterator[Row],
    report: Report,
    _timezone: str,
    progress: Progress,
) -> None:
    """An organisation is known by its credit code: importing again updates its
    name and phone. Its kind and the region it is registered in stay."""
    regions = Regions(session, principal)
    checked: list[tuple[int, Place, OrganizationCreate, set[str]]] = []
    first_row: dict[str, int] = {}
    for number, values in rows:
        progress(1)
        if not values:
            continue
        try:
            region = _region(regions, number, values, report) or regions.own()
        except Rejected as exc:
            if "region" not in values:
                report.add(number, "region", exc.code, **exc.params)
            continue
        body = {k: v for k, v in values.items() if k != "region"} | {"region_id": region.id}
        try:
            data = OrganizationCreate.model_validate(body)
        except ValidationError as exc:
            report.add_validation(number, exc)
            continue
        if data.credit_code in first_row:
            report.add(
                number, "credit_code", "import.duplicate_row", row=first_row[data.credit_code]
            )
            continue
        first_row[data.credit_code] = number
        checked.append((number, region, data, set(values)))
    if report.error_count:
        return

    stored: dict[str, Organization] = {}
    codes = sorted(first_row)
    for start in range(0, len(codes), BATCH):
        chunk = codes[start : start + BATCH]
        for organization in session.scalars(
            select(Organization).where(Organization.credit_code.in_(chunk))
        ):
            stored[organization.credit_code] = organization

    now = utcnow()
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    for number, region, data, given in checked:
        known = stored.get(data.credit_code)
        if known is None:
            inserts.append(
                data.model_dump()
                | {"region_path": region.path, "created_at": now, "updated_at": now}
            )
            continue
        organization = known
        if principal.region_path is not None and not organization.region_path.startswith(
            principal.region_path
        ):
            # Registered by another region's department: theirs to edit.
            report.add(number, "credit_code", "organization.credit_code_taken")
            continue
        if organization.kind != data.kind:
            report.add(number, "kind", "import.kind_fixed")
            continue
        if "region" in given and organization.region_id != region.id:
            report.add(number, "region", "import.region_fixed")
            continue
        changes: dict[str, Any] = {
            name: getattr(data, name)
            for name in ("name", "contact_phone")
            if name in given and getattr(organization, name) != getattr(data, name)
        }
        if changes:
            updates.append({"id": organization.id, **changes, "updated_at": now})
        else:
            report.unchanged += 1
    _write(session, Organization, inserts, updates, report)


# --- who serves whom -------------------------------------------------------------------


def import_providers(
    session: Session,
    principal: Principal,
    rows: Iterator[Row],
    report: Report,
    timezone: str,
    progress: Progress,
) -> None:
    """Each row assigns an organisation to a community for a kind of work, as
    PUT /v1/communities/{id}/providers/{kind} does (history kept): the same
    organisation again is unchanged, another one replaces it from `since`."""
    regions = Regions(session, principal)
    for number, values in rows:
        progress(1)
        if not values:
            continue
        try:
            region = _region(regions, number, values, report)
        except Rejected:
            continue
        try:
            community = find_community(session, principal, str(values["community"]), region)
        except Rejected as exc:
            report.add(number, "community", exc.code, **exc.params)
            continue
        try:
            organization = find_organization(session, principal, str(values["organization"]))
        except Rejected as exc:
            report.add(number, "organization", exc.code, **exc.params)
            continue
        kind = ServiceKind(values["kind"])
        current = session.scalar(
            select(ProviderAssignment.organization_id).where(
                ProviderAssignment.community_id == community.id,
                ProviderAssignment.kind == kind,
                ProviderAssignment.current.is_(True),
            )
        )
        try:
            directory.assign_provider(
                session,
                principal,
                community,
                kind,
                ProviderAssign(organization_id=organization.id, since=values.get("since")),
                timezone=timezone,
            )
        except AppError as exc:
            report.add_refusal(number, exc, "organization")
            continue
        if current is None:
            report.created += 1
        elif current == organization.id:
            report.unchanged += 1
        else:
            report.updated += 1


# --- elders ----------------------------------------------------------------------------

# What an import compares to tell an update from a row that changes nothing.
_ELDER_COLUMNS = (
    "name",
    "phone",
    "birth_year",
    "gender",
    "lives_alone",
    "care_level",
    "building",
    "unit",
    "room",
    "emergency_contacts",
    "health_notes",
    "consent_given_at",
    "consent_by",
    "consent_note",
)


def _elder_body(values: dict[str, Any]) -> dict[str, Any]:
    """The row as the body of POST /v1/elders (dotted fields nested)."""
    body: dict[str, Any] = {}
    for name, value in values.items():
        if name in ("community", "region"):
            continue
        head, _, part = name.partition(".")
        if not part:
            body[head] = value
        elif head == "emergency_contacts":
            body.setdefault(head, [{}])[0][part] = value
        else:
            body.setdefault(head, {})[part] = value
    return body


def import_elders(
    session: Session,
    principal: Principal,
    rows: Iterator[Row],
    report: Report,
    _timezone: str,
    progress: Progress,
) -> None:
    """Each row registers an elder as POST /v1/elders does (consent required for
    any sensitive field), or, for an elder of the community with that name (and
    birth year, when given) already registered, changes what the row gives as
    PATCH does. Errors never quote a cell."""
    regions = Regions(session, principal)
    for number, values in rows:
        progress(1)
        if not values:
            continue
        try:
            region = _region(regions, number, values, report)
            community = find_community(session, principal, str(values["community"]), region)
        except Rejected as exc:
            if "region" not in values or exc.code.startswith("import.community"):
                report.add(number, "community", exc.code, **exc.params)
            continue
        body = _elder_body(values)
        query = select(Elder).where(
            Elder.community_id == community.id,
            Elder.name == str(body.get("name", "")).strip(),
            Elder.erased_at.is_(None),
            visible(principal, Elder),
        )
        if "birth_year" in body:
            query = query.where(Elder.birth_year == body["birth_year"])
        found = session.scalars(query.limit(2)).all()
        if len(found) > 1:
            report.add(number, "name", "import.elder_ambiguous")
            continue
        try:
            if not found:
                data = ElderCreate.model_validate(body | {"community_id": community.id})
                care.create_elder(session, principal, data)
                report.created += 1
                continue
            elder = found[0]
            change = ElderUpdate.model_validate(body)
            before = {name: getattr(elder, name) for name in _ELDER_COLUMNS}
            updated_at = elder.updated_at
            care.update_elder(session, principal, elder, change)
            if {name: getattr(elder, name) for name in _ELDER_COLUMNS} == before:
                elder.updated_at = updated_at
                session.flush()
                report.unchanged += 1
            else:
                report.updated += 1
        except ValidationError as exc:
            report.add_validation(number, exc)
        except AppError as exc:
            report.add_refusal(number, exc, "name")


IMPORTERS: dict[ImportKind, Callable[..., None]] = {
    ImportKind.communities: import_communities,
    ImportKind.organizations: import_organizations,
    ImportKind.providers: import_providers,
    ImportKind.elders: import_elders,
}
