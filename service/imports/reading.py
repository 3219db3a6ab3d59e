"""A spreadsheet as rows of cells: XLSX (openpyxl) or CSV in UTF-8 (with or
without the BOM Excel writes) or GB18030 (what Excel in China saves as "CSV")."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from service.errors import Unprocessable

Cell = str | int | float | bool | dt.datetime | dt.date | None
# XLSX and ZIP share their signature.
_ZIP_MAGIC = b"PK\x03\x04"


@dataclass
class Sheet:
    headers: list[str]
    # (the row's number as the spreadsheet shows it, its cells)
    rows: list[tuple[int, list[Cell]]]


def read_sheet(data: bytes) -> Sheet:
    """The first sheet of an XLSX, or a CSV; blank rows are skipped. 422
    `import.unreadable` when it is neither, `import.empty` without a header row."""
    rows = _xlsx_rows(data) if data.startswith(_ZIP_MAGIC) else list(_csv_rows(data))
    numbered = [(number, cells) for number, cells in rows if any(_filled(c) for c in cells)]
    if not numbered:
        raise Unprocessable.on("file", "import.empty")
    _, header_cells = numbered[0]
    headers = [str(c).strip() if c is not None else "" for c in header_cells]
    return Sheet(headers, numbered[1:])


def _filled(cell: Cell) -> bool:
    return cell is not None and (not isinstance(cell, str) or cell.strip() != "")


def decode_csv(data: bytes) -> str:
    """UTF-8 (a BOM dropped), else GB18030, which decodes any GBK/GB2312 file.
    Bytes that are neither: 422."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError as exc:
        raise Unprocessable.on("file", "import.encoding") from exc


def _csv_rows(data: bytes) -> Iterator[tuple[int, list[Cell]]]:
    text = decode_csv(data)
    if "\x00" in text:  # a binary file (an old .xls, a picture) that happened to decode
        raise Unprocessable.on("file", "import.unreadable")
    try:
        dialect: Any = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text, newline=""), dialect)
    try:
        for cells in reader:
            # The line the row starts on, as a spreadsheet numbers it (a quoted
            # cell may span lines; the reader's count is then the row's last line).
            yield reader.line_num, list(cells)
    except csv.Error as exc:
        raise Unprocessable.on("file", "import.unreadable") from exc


def _xlsx_rows(data: bytes) -> list[tuple[int, list[Cell]]]:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        try:
            sheet = workbook.worksheets[0]
            first = getattr(sheet, "min_row", 1) or 1
            return [
                (number, list(cells))
                for number, cells in enumerate(sheet.iter_rows(values_only=True), start=first)
            ]
        finally:
            workbook.close()
    except Exception as exc:
        # A damaged or foreign file fails anywhere in openpyxl and the XML parser
        # under it, as anything from KeyError to ParseError: the file's fault, not ours.
        raise Unprocessable.on("file", "import.unreadable") from exc
