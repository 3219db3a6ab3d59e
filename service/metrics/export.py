"""CSV (UTF-8 with BOM, which Excel in China needs to read it as UTF-8) and XLSX.

Names in an export are typed by admins of any county (communities,
organisations), and the file is opened in a spreadsheet by someone else: a cell
that starts like a formula would run as one there (CSV injection, OWASP). Every
text cell that starts with `= + - @`, a tab or a carriage return gets a leading
apostrophe in CSV; in XLSX every text cell is written as text, never as a
formula, with the apostrophe as well (it shows what was neutralised).

Headers and labels are in the export's language (request.language: zh-Hans, ug
or en), taken from service/i18n/vocabulary.py: indicators and kinds from the
vocabulary's labels, everything else from its EXPORT_LABELS; categories by
their own names in that language. English keeps the JSON's field names and
values (`completion_rate`, `property`, `red`), as its exports always had.
Names people gave (regions, communities, organisations) are never translated.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import Response
from sqlalchemy.orm import Session

from service.categories.service import list_categories, localised_name
from service.i18n import LANGUAGES
from service.i18n.vocabulary import EXPORT_LABELS, LABELS
from service.metrics.indicators import INDICATORS

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
EXPORT_CONTENT = {
    "text/csv": {"schema": {"type": "string"}},
    XLSX: {"schema": {"type": "string", "format": "binary"}},
}


_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def inert(value: Any) -> Any:
    """A value no spreadsheet will evaluate: text that starts like a formula gets
    a leading apostrophe; numbers and everything else stay as they are."""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def word(key: str, lang: str) -> str:
    """A header or cell word of EXPORT_LABELS in `lang` (in English, the key itself)."""
    return EXPORT_LABELS[key][LANGUAGES.index(lang)]


def label(vocabulary: str, value: str, lang: str) -> str:
    """`value`'s label in a vocabulary (indicators, kinds); English keeps the value."""
    if lang == "en":
        return value
    return LABELS[vocabulary][value][LANGUAGES.index(lang)]


def category_names(session: Session, lang: str) -> dict[str, str] | None:
    """Category code -> its name in `lang`, for the summary's category cells;
    None in English, whose cells keep the JSON's `name`."""
    if lang == "en":
        return None
    return {
        c.code: localised_name(c, lang) for c in list_categories(session, include_inactive=True)
    }


def _cell(group: str, value: Any, lang: str, categories: Mapping[str, str] | None) -> Any:
    if isinstance(value, dict):
        if group == "category" and categories and value.get("code") in categories:
            return categories[value["code"]]
        return value.get("name") or value.get("code") or value.get("id")
    if group == "kind" and isinstance(value, str):
        return label("kinds", value, lang)
    return value


def _indicator_headers(lang: str) -> list[str]:
    return [label("indicators", i.name, lang) for i in INDICATORS]


def summary_table(
    rows: Sequence[dict[str, Any]],
    group_by: Sequence[str],
    lang: str,
    categories: Mapping[str, str] | None = None,
) -> tuple[list[str], list[list[Any]]]:
    headers = [word(g, lang) for g in group_by] + _indicator_headers(lang)
    body = []
    for row in rows:
        line = [_cell(g, row["group"].get(g), lang, categories) for g in group_by]
        line += [row.get(i.name) for i in INDICATORS]
        body.append(line)
    return headers, body


def render(
    headers: list[str],
    body: list[list[Any]],
    fmt: str,
    filename: str,
    sheet: str = "Linli",
    *,
    lang: str = "en",
) -> Response:
    """The file; a Uyghur XLSX sheet runs right to left, as its script does (CSV
    has no direction: the spreadsheet decides)."""
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow([inert(h) for h in headers])
        writer.writerows([["" if v is None else inert(v) for v in line] for line in body])
        return Response(
            ("\ufeff" + buffer.getvalue()).encode("utf-8"),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{filename}.csv"'},
        )
    from openpyxl import Workbook
    from openpyxl.styles import Font

    workbook = Workbook(write_only=False)
    worksheet = workbook.active
    assert worksheet is not None
    worksheet.title = sheet[:31]
    worksheet.append([inert(h) for h in headers])
    for cell in worksheet[1]:
        cell.font = Font(bold=True)
    for line in body:
        worksheet.append([inert(v) for v in line])
    # openpyxl stores any string starting with "=" as a formula: text is text.
    for row in worksheet.iter_rows():
        for cell in row:
            if isinstance(cell.value, str):
                cell.data_type = "s"
    worksheet.freeze_panes = "A2"
    worksheet.sheet_view.rightToLeft = lang == "ug"
    output = io.BytesIO()
    workbook.save(output)
    return Response(
        output.getvalue(),
        media_type=XLSX,
        headers={"Content-Disposition": f'attachment; filename="{filename}.xlsx"'},
    )


def ranking_table(rows: Sequence[dict[str, Any]], lang: str) -> tuple[list[str], list[list[Any]]]:
    headers = [word(w, lang) for w in ("rank", "organization", "score", "list")]
    headers += _indicator_headers(lang)
    body = []
    for row in rows:
        line = [
            row["rank"],
            row["organization"]["name"],
            row["score"],
            word(row["list"], lang) if row["list"] else "",
        ]
        line += [row["indicators"][i.name] for i in INDICATORS]
        body.append(line)
    return headers, body


def trend_table(series: Sequence[dict[str, Any]], lang: str) -> tuple[list[str], list[list[Any]]]:
    headers = [
        word(w, lang) for w in ("indicator", "quarter", "year_of_action", "value", "target", "met")
    ]
    yes_no = {True: word("yes", lang), False: word("no", lang), None: ""}
    body = []
    for line in series:
        name = label("indicators", line["indicator"], lang)
        for point in line["points"]:
            body.append(
                [
                    name,
                    point["quarter"],
                    point["year_of_action"],
                    point["value"],
                    point["target"],
                    yes_no[point["met"]],
                ]
            )
    return headers, body
