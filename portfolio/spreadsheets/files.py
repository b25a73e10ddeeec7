"""Reading an uploaded CSV or XLSX file into sheets of rows, and writing templates and exports.

A CSV file holds one kind (named by the file, or chosen); an XLSX workbook holds a sheet per kind,
named like the kind (a sheet named README is ignored). Row numbers are the spreadsheet's own: the
header is row 1. CSV files must be UTF-8 (with or without the byte-order mark Excel writes): any
other encoding is refused rather than guessed, since a wrong guess changes names silently.
"""

from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any

from django.db import models

from .cells import cell_text, cell_value, is_blank
from .kinds import KINDS, Kind, kind_named

MAX_ROWS = 100_000
IGNORED_SHEETS = {"readme", "read me", "instructions"}
XLSX_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # the old binary .xls format


class FileRefused(Exception):
    """The file cannot be read at all (format, encoding, size); the message says what to do."""


@dataclass(frozen=True)
class RowError:
    sheet: str
    row: int
    column: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"sheet": self.sheet, "row": self.row, "column": self.column, "message": self.message}

    def __str__(self) -> str:
        where = f"{self.sheet}, row {self.row}" + (f", column {self.column}" if self.column else "")
        return f"{where}: {self.message}"


@dataclass
class Sheet:
    kind: Kind
    name: str
    headers: list[str]
    rows: list[tuple[int, dict[str, Any]]] = field(default_factory=list)


@dataclass
class Upload:
    file_format: str
    sheets: list[Sheet]
    errors: list[RowError]

    @property
    def row_count(self) -> int:
        return sum(len(sheet.rows) for sheet in self.sheets)


def read_upload(content: bytes, file_name: str, *, kind: str | None = None) -> Upload:
    """The sheets of a file, in import order, with every header problem as a row error.

    Raises FileRefused when the file cannot be read as a spreadsheet at all.
    """
    if content.startswith(XLSX_MAGIC):
        upload = _read_xlsx(content)
    elif content.startswith(OLE_MAGIC):
        raise FileRefused("This is an old-format Excel file (.xls): save it as .xlsx, or as CSV UTF-8.")
    else:
        upload = _read_csv(content, file_name, kind)
    if upload.row_count > MAX_ROWS:
        raise FileRefused(f"The file has {upload.row_count:,} rows; at most {MAX_ROWS:,} are imported at once.")
    order = {k.name: n for n, k in enumerate(KINDS)}
    upload.sheets.sort(key=lambda sheet: order[sheet.kind.name])
    return upload


def _check_headers(sheet_name: str, kind: Kind, headers: list[str], errors: list[RowError]) -> list[str]:
    known = kind.columns
    seen: set[str] = set()
    for header in headers:
        if not header:
            continue
        if header in seen:
            errors.append(RowError(sheet_name, 1, header, "this column appears twice"))
        elif header not in known:
            errors.append(
                RowError(sheet_name, 1, header, f"unknown column; the columns of {kind.name} are {', '.join(known)}")
            )
        seen.add(header)
    for needed in [*kind.key, *kind.required]:
        if needed not in seen:
            errors.append(RowError(sheet_name, 1, needed, "required column missing"))
    return headers


def _rows(
    sheet_name: str, headers: list[str], records: list[tuple[int, list[Any]]], errors: list[RowError]
) -> list[tuple[int, dict[str, Any]]]:
    rows = []
    for number, values in records:
        if all(is_blank(value) for value in values):
            continue  # a blank line
        if len(values) > len(headers) and any(not is_blank(v) for v in values[len(headers) :]):
            errors.append(RowError(sheet_name, number, "", "this row has more cells than the header has columns"))
            continue
        rows.append((number, {h: v for h, v in zip(headers, values, strict=False) if h}))
    return rows


def _read_csv(content: bytes, file_name: str, kind_name: str | None) -> Upload:
    kind = kind_named(kind_name) if kind_name else kind_named(PurePath(file_name).stem)
    if kind is None:
        raise FileRefused(
            "A CSV file holds one kind of record: name the file after it (for example cash-flows.csv) or "
            f"choose the kind. The kinds are {', '.join(k.name for k in KINDS)}."
        )
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = content[: exc.start].count(b"\n") + 1
        raise FileRefused(
            f"The file is not UTF-8 text (line {line} has the byte 0x{content[exc.start]:02x}): in Excel, save it "
            "as 'CSV UTF-8'. Other encodings are refused rather than guessed."
        ) from None
    if "\x00" in text:
        raise FileRefused("The file holds NUL characters: it is not a CSV text file (UTF-16?). Save it as CSV UTF-8.")
    records = list(csv.reader(io.StringIO(text, newline="")))
    if not records:
        raise FileRefused("The file is empty: the first row must name the columns.")
    headers = [header.strip() for header in records[0]]
    errors: list[RowError] = []
    if len([h for h in headers if h]) == 1 and ";" in headers[0]:
        raise FileRefused("The columns are separated by semicolons: save the file as CSV UTF-8 (comma-separated).")
    _check_headers(kind.name, kind, headers, errors)
    rows = _rows(kind.name, headers, list(enumerate(records[1:], start=2)), errors)
    return Upload("csv", [Sheet(kind, kind.name, headers, rows)], errors)


def _read_xlsx(content: bytes) -> Upload:
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
        # The same cells as written, to tell an empty cell from a formula with no stored value.
        formulas = load_workbook(io.BytesIO(content), read_only=True, data_only=False)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise FileRefused(f"The file is not a readable .xlsx workbook ({type(exc).__name__}).") from None
    try:
        return _read_sheets(book, formulas)
    except (KeyError, ValueError, OSError) as exc:  # a sheet's XML, read lazily (defusedxml refuses entities)
        raise FileRefused(f"The file is not a readable .xlsx workbook ({type(exc).__name__}).") from None
    finally:
        book.close()
        formulas.close()


def _read_sheets(book, formulas) -> Upload:
    sheets: list[Sheet] = []
    errors: list[RowError] = []
    for worksheet, written in zip(book.worksheets, formulas.worksheets, strict=True):
        name = worksheet.title
        if name.strip().lower() in IGNORED_SHEETS:
            continue
        kind = kind_named(name)
        if kind is None:
            errors.append(
                RowError(name, 1, "", f"no kind of record is called {name!r}; name sheets "
                         f"{', '.join(k.name for k in KINDS)} (or README, which is not read)")
            )  # fmt: skip
            continue
        if any(sheet.kind is kind for sheet in sheets):
            errors.append(RowError(name, 1, "", f"a second sheet of {kind.name}"))
            continue
        values = [list(row) for row in worksheet.iter_rows(values_only=True)]
        if not values or all(is_blank(v) for v in values[0]):
            continue  # an empty sheet
        headers = ["" if is_blank(h) else str(h).strip() for h in values[0]]
        while headers and not headers[-1]:
            headers.pop()
        _check_headers(name, kind, headers, errors)
        as_written_rows = written.iter_rows(values_only=True)
        for number, (row, as_written) in enumerate(zip(values, as_written_rows, strict=False), start=1):
            for header, value, cell in zip(headers, row, as_written, strict=False):
                if value is None and isinstance(cell, str) and cell.startswith("="):
                    errors.append(RowError(name, number, header, f"the cell holds a formula ({cell}) without "
                                           "its value: save the file from a spreadsheet program, or paste the "
                                           "values"))  # fmt: skip
        rows = _rows(name, headers, list(enumerate(values[1:], start=2)), errors)
        sheets.append(Sheet(kind, name, headers, rows))
    if not sheets and not errors:
        raise FileRefused("The workbook has no sheet to import.")
    return Upload("xlsx", sheets, errors)


# --- writing ------------------------------------------------------------------------------------

#: Deeper relations to select with a kind's references, for exporting without a query per row.
_SELECT = {"position": "position__deal", "project": "project__company", "gate_milestone": "gate_milestone__project"}


def export_rows(kind: Kind) -> list[dict[str, Any]]:
    """Every record of ``kind`` as a row of its columns (the shape an import reads back)."""
    rows = kind.model._default_manager.all()
    if kind.fixed:
        rows = rows.filter(**kind.fixed)
    related = [_SELECT.get(ref.field, ref.field) for ref in kind.refs]
    rows = rows.select_related(*related).prefetch_related(*[m.field for m in kind.many])
    out = []
    for record in rows.order_by("pk"):
        row: dict[str, Any] = {}
        for ref in kind.refs:
            row.update(zip(ref.columns, ref.render(getattr(record, ref.field)), strict=True))
        for name in kind.plain:
            row[name] = getattr(record, name)
        for many in kind.many:
            row[many.column] = many.render(record)
        out.append(row)
    return out


def csv_bytes(kind: Kind, rows: list[dict[str, Any]]) -> bytes:
    """A CSV file of ``rows`` (UTF-8 with the byte-order mark, so that Excel reads accents right)."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(kind.columns)
    for row in rows:
        writer.writerow([cell_text(row.get(column)) for column in kind.columns])
    return buffer.getvalue().encode("utf-8-sig")


def xlsx_bytes(sheets: list[tuple[Kind, list[dict[str, Any]]]], *, readme: bool = True) -> bytes:
    """A workbook with a sheet per kind (the header, then ``rows``) and a README sheet of columns."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    if readme:
        guide = book.create_sheet("README")
        guide.append(["kind", "column", "needed", "what it holds"])
        for kind, _ in sheets:
            for column in kind.columns:
                needed = "key" if column in kind.key else "required" if column in kind.required else ""
                guide.append([kind.name, column, needed, describe(kind, column)])
    for kind, rows in sheets:
        sheet = book.create_sheet(kind.name)
        sheet.append(kind.columns)
        for row in rows:
            sheet.append([cell_value(row.get(column)) for column in kind.columns])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def describe(kind: Kind, column: str) -> str:
    """What a column holds, for the README sheet of a template."""
    for ref in kind.refs:
        if column in ref.columns:
            target = kind.model._meta.get_field(ref.field).related_model._meta.verbose_name
            return f"names the {target} ({', '.join(ref.columns)})"
    for many in kind.many:
        if column == many.column:
            return "names, separated by semicolons"
    model_field = kind.model._meta.get_field(column)
    if model_field.choices:
        return "one of: " + ", ".join(str(value) for value, _ in model_field.flatchoices)
    if isinstance(model_field, models.DateField):
        return "a date, YYYY-MM-DD"
    if isinstance(model_field, models.BooleanField):
        return "yes or no"
    if isinstance(model_field, models.DecimalField | models.IntegerField):
        return "a number, with a point for decimals and no separators"
    return str(model_field.help_text or model_field.verbose_name)
