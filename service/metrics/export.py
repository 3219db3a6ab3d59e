"""CSV (UTF-8 with BOM, which Excel in China needs to read it as UTF-8) and XLSX.

Names in an export are typed by admins of any county (communities,
organisations), and the file is opened in a spreadsheet by someone else: a cell
that starts like a formula would run as one there (CSV injection, OWASP). Every
text cell that starts with `= + - @`, a tab or a carriage return gets a leading
apostrophe in CSV; in XLSX every text cell is written as text, never as a
formula, with the apostrophe as well (it shows what was neutralised).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any

from fastapi import Response

from service.metrics.indicators import GROUP_LABELS, INDICATORS, KIND_ZH

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


def _cell(value: Any, lang: str) -> Any:
    if isinstance(value, dict):
        return value.get("name") or value.get("code") or value.get("id")
    if lang == "zh" and isinstance(value, str) and value in KIND_ZH:
        return KIND_ZH[value]
    return value


def summary_table(
    rows: Sequence[dict[str, Any]], group_by: Sequence[str], lang: str
) -> tuple[list[str], list[list[Any]]]:
    zh = lang == "zh"
    headers = [GROUP_LABELS[g][1 if zh else 0] for g in group_by]
    headers += [i.zh if zh else i.name for i in INDICATORS]
    body = []
    for row in rows:
        line = [_cell(row["group"].get(g), lang) for g in group_by]
        line += [row.get(i.name) for i in INDICATORS]
        body.append(line)
    return headers, body


def render(
    headers: list[str], body: list[list[Any]], fmt: str, filename: str, sheet: str = "Linli"
) -> Response:
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
    output = io.BytesIO()
    workbook.save(output)
    return Response(
        output.getvalue(),
        media_type=XLSX,
        headers={"Content-Disposition": f'attachment; filename="{filename}.xlsx"'},
    )


def ranking_table(rows: Sequence[dict[str, Any]], lang: str) -> tuple[list[str], list[list[Any]]]:
    zh = lang == "zh"
    headers = (
        ["排名", "服务企业", "综合得分", "红黑榜"]
        if zh
        else ["rank", "organization", "score", "list"]
    )
    headers += [i.zh if zh else i.name for i in INDICATORS]
    lists = {"red": "红榜", "black": "黑榜"} if zh else {"red": "red", "black": "black"}
    body = []
    for row in rows:
        line = [
            row["rank"],
            row["organization"]["name"],
            row["score"],
            lists.get(row["list"] or "", ""),
        ]
        line += [row["indicators"][i.name] for i in INDICATORS]
        body.append(line)
    return headers, body


def trend_table(series: Sequence[dict[str, Any]], lang: str) -> tuple[list[str], list[list[Any]]]:
    zh = lang == "zh"
    headers = (
        ["指标", "季度", "行动年度", "实际值", "目标值", "是否达标"]
        if zh
        else ["indicator", "quarter", "year_of_action", "value", "target", "met"]
    )
    yes_no = {True: "是" if zh else "yes", False: "否" if zh else "no", None: ""}
    body = []
    for line in series:
        name = line["name_zh"] if zh else line["indicator"]
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
