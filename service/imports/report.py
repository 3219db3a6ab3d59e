"""The errors an import finds, by row and column, and what it did."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from service.errors import AppError, Problem, Unprocessable, invalid_from
from service.i18n import text
from service.imports.columns import Column
from service.imports.schemas import ImportKind, ImportProblem, ImportResult, RowError

# Errors listed in an answer (all are counted): a file with a wrong column has
# an error in every row, and one screen of them says what is wrong.
MAX_LISTED = 100
# The API's names of what an import's column names (the service functions'
# errors speak of the body they were given).
ALIASES = {"region_id": "region", "community_id": "community", "organization_id": "organization"}


@dataclass(frozen=True)
class Issue:
    row: int
    column: str
    field: str
    code: str
    params: dict[str, Any]

    def render(self, language: str) -> RowError:
        return RowError(
            row=self.row,
            column=self.column,
            field=self.field,
            code=self.code,
            message=text(self.code, language, **self.params),
        )


@dataclass
class Report:
    kind: ImportKind
    dry_run: bool
    # field -> the header the file gives it (the documented name when absent)
    headers: dict[str, str] = field(default_factory=dict)
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    issues: list[Issue] = field(default_factory=list)
    error_count: int = 0

    def column_of(self, name: str) -> str:
        """The file's header of a field path: emergency_contacts.0.phone is the
        column emergency_contacts.phone; consent, the consent time's."""
        path = re.sub(r"\.\d+(?=\.|$)", "", name)
        if path in self.headers:
            return self.headers[path]
        for known, header in self.headers.items():
            if known.startswith(path + "."):
                return header
        return path

    def add(self, row: int, name: str, code: str, /, **params: Any) -> None:
        name = ALIASES.get(name, name)
        self.error_count += 1
        if len(self.issues) < MAX_LISTED:
            self.issues.append(Issue(row, self.column_of(name), name, code, params))

    def add_validation(self, row: int, exc: ValidationError) -> None:
        for error in exc.errors():
            invalid = invalid_from(dict(error))
            self.add(row, invalid.field, invalid.code, **invalid.params)

    def add_refusal(self, row: int, exc: AppError, default_field: str) -> None:
        if exc.errors:
            for invalid in exc.errors:
                self.add(row, invalid.field, invalid.code, **invalid.params)
        else:
            self.add(row, default_field, exc.code, **exc.params)

    def result(self, language: str) -> ImportResult:
        return ImportResult(
            kind=self.kind,
            dry_run=self.dry_run,
            rows=self.rows,
            created=self.created,
            updated=self.updated,
            unchanged=self.unchanged,
            error_count=self.error_count,
            errors=[issue.render(language) for issue in self.issues],
        )

    def declare(self, columns: dict[int, Column]) -> None:
        for column in columns.values():
            self.headers.setdefault(column.field, column.names[0])


class ImportRejected(Unprocessable):
    """A file with errors: nothing of it was stored. The problem lists the rows."""

    def __init__(self, report: Report) -> None:
        super().__init__("import.rejected", count=report.error_count)
        self.report = report

    def problem(self, language: str) -> Problem:
        base = super().problem(language)
        return ImportProblem(
            **base.model_dump(exclude={"errors"}),
            errors=[issue.render(language) for issue in self.report.issues],
            error_count=self.report.error_count,
        )
