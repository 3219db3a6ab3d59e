"""What an import answers: counts, and the rows it could not take."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, Field

from service.errors import FieldError, Problem


class ImportKind(StrEnum):
    communities = "communities"
    organizations = "organizations"
    providers = "providers"
    elders = "elders"


class RowError(FieldError):
    """One cell's (or row's) error. Never quotes the cell: elders' are sensitive."""

    row: int = Field(description="The row's number as the spreadsheet shows it (the header is 1).")
    column: str = Field(description="The column's header as the file names it.")


class ImportResult(BaseModel):
    kind: ImportKind
    dry_run: bool
    rows: int = Field(description="Rows read, the header and blank rows aside.")
    created: int
    updated: int
    unchanged: int
    error_count: int = Field(description="All the errors found; `errors` lists the first 100.")
    errors: list[RowError]


class ImportProblem(Problem):
    """422 of a file with errors: nothing was stored."""

    errors: list[RowError] | None = None  # type: ignore[assignment]
    error_count: int = 0
