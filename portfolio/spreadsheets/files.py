"""Reading an uploaded CSV or XLSX file into sheets of rows, and writing templates and exports.

A CSV file holds one kind (named by the file, or chosen); an XLSX workbook holds a sheet per kind,
named like the kind (a sheet named README is ignored). Row numbers are the spreadsheet's own: the
header is row 1. CSV files must be UTF-8 (with or without the byte-order mark Excel writes): any
other encoding is refused rather than guessed, since a wrong guess changes names silently.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import time
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any
from xml.etree.ElementTree import ParseError
from xml.parsers import expat

from django.db import models

from .cells import cell_text, cell_value, formula_safe, is_blank
from .kinds import KINDS, Kind, kind_named

#: The most data rows a file may hold; every row read counts, blank ones included.
MAX_ROWS = 100_000
IGNORED_SHEETS = {"readme", "read me", "instructions"}
XLSX_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # the old binary .xls format
WORKSHEET_PART = re.compile(r"^xl/worksheets/[^/]+\.xml$")
SHARED_STRINGS_PART = "xl/sharedStrings.xml"
CELL_REF = re.compile(r"^([A-Z]{1,3})")


class FileRefused(Exception):
    """The file cannot be read at all (format, encoding, size); the message says what to do."""


class OverInlineLimits(FileRefused):
    """The file is within the limits of a read, but not of a read done inside a web request: it
    is for the worker to read."""


@dataclass(frozen=True)
class Limits:
    """What reading one file may cost, whatever the file declares about itself.

    Every limit counts the work actually done: rows and cells as they are read (a workbook's
    declared sheet size is ignored, and blank rows count), workbook parts by the size the archive
    records for them (reading never decompresses more than that), and the time spent.
    """

    rows: int = MAX_ROWS
    columns: int = 64
    cells: int = 4_000_000
    sheets: int = 32
    #: The workbook's worksheets, decompressed.
    sheet_bytes: int = 400 * 2**20
    #: The shared-strings table, which is read into memory whole.
    shared_strings_bytes: int = 8 * 2**20
    #: Every other part of the workbook (styles, relationships, properties), read whole too.
    other_bytes: int = 4 * 2**20
    seconds: float = 600.0
    #: Raised when a limit is passed: FileRefused, or OverInlineLimits for the web's own limits.
    refusal: type[FileRefused] = FileRefused


class _Budget:
    """The limits being spent by one read."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.rows = self.cells = 0
        self.deadline = time.monotonic() + limits.seconds

    def refuse(self, message: str) -> FileRefused:
        return self.limits.refusal(message)

    def row(self, width: int, *, header: bool = False) -> None:
        """Count a row read (a header row counts its cells, not as a row)."""
        self.rows += 0 if header else 1
        self.cells += width
        if self.rows > self.limits.rows:
            raise self.too_many_rows()
        if width > self.limits.columns:
            raise self.too_wide()
        if self.cells > self.limits.cells:
            raise self.too_many_cells()
        if self.rows % 1000 == 0:
            self.clock()

    def too_many_rows(self) -> FileRefused:
        return self.refuse(f"The file has more than {self.limits.rows:,} rows (blank rows count); split it into "
                           "smaller files.")  # fmt: skip

    def too_wide(self) -> FileRefused:
        return self.refuse(f"A row has cells beyond column {self.limits.columns}; at most {self.limits.columns} "
                           "columns are read.")  # fmt: skip

    def too_many_cells(self) -> FileRefused:
        return self.refuse(f"The file has more than {self.limits.cells:,} cells; split it into smaller files.")

    def clock(self) -> None:
        if time.monotonic() > self.deadline:
            raise self.refuse(f"Reading the file took longer than {self.limits.seconds:.0f} s; split it into "
                              "smaller files.")  # fmt: skip


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
    """A sheet's data rows, kept compact (a tuple of cells each, repeated texts shared) and given
    out one at a time as column: value."""

    kind: Kind
    name: str
    headers: list[str]
    records: list[tuple[int, tuple[Any, ...]]] = field(default_factory=list)

    @property
    def rows(self) -> Iterator[tuple[int, dict[str, Any]]]:
        headers = self.headers
        for number, values in self.records:
            yield number, {h: v for h, v in zip(headers, values, strict=False) if h}

    def __len__(self) -> int:
        return len(self.records)


@dataclass
class Upload:
    file_format: str
    sheets: list[Sheet]
    errors: list[RowError]

    @property
    def row_count(self) -> int:
        return sum(len(sheet) for sheet in self.sheets)


def read_upload(content: bytes, file_name: str, *, kind: str | None = None, limits: Limits = Limits()) -> Upload:
    """The sheets of a file, in import order, with every header problem as a row error.

    Reads in one streaming pass within ``limits``. Raises FileRefused when the file cannot be read
    as a spreadsheet at all, or passes a limit (``limits.refusal``).
    """
    budget = _Budget(limits)
    if content.startswith(XLSX_MAGIC):
        upload = _read_xlsx(content, budget)
    elif content.startswith(OLE_MAGIC):
        raise FileRefused("This is an old-format Excel file (.xls): save it as .xlsx, or as CSV UTF-8.")
    else:
        upload = _read_csv(content, file_name, kind, budget)
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


class _Rows:
    """The data rows of a sheet being read: blank lines skipped, a row with cells beyond the
    header's columns reported, the rest kept with repeated texts stored once."""

    def __init__(self, sheet_name: str, headers: list[str], errors: list[RowError]) -> None:
        self.sheet_name, self.headers, self.errors = sheet_name, headers, errors
        self.records: list[tuple[int, tuple[Any, ...]]] = []
        self._texts: dict[str, str] = {}

    def add(self, number: int, values: Sequence[Any]) -> None:
        if all(is_blank(value) for value in values):
            return
        width = len(self.headers)
        if len(values) > width and any(not is_blank(v) for v in values[width:]):
            self.errors.append(RowError(self.sheet_name, number, "", "this row has more cells than the header has "
                                        "columns"))  # fmt: skip
            return
        texts = self._texts
        self.records.append(
            (number, tuple(texts.setdefault(v, v) if isinstance(v, str) else v for v in values[:width]))
        )


#: The longest line a CSV file may have: longer ones are not records (a field may still span lines).
MAX_CSV_LINE = 2**20


def _csv_lines(content: bytes, budget: _Budget) -> Iterator[str]:
    """The file's lines, decoded as they are read (never the whole text at once)."""
    text = io.TextIOWrapper(io.BytesIO(content), encoding="utf-8-sig", newline="")
    while line := text.readline(MAX_CSV_LINE + 1):
        if len(line) > MAX_CSV_LINE:
            raise budget.refuse(f"A line of the file is longer than {MAX_CSV_LINE // 2**20} MB: it is not a record.")
        yield line


def _check_utf8(content: bytes) -> None:
    """Refuse a file that is not UTF-8, naming the line of the first byte that is not."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    chunk = 2**20
    for offset in range(0, len(content), chunk):
        try:
            decoder.decode(content[offset : offset + chunk], final=offset + chunk >= len(content))
        except UnicodeDecodeError as exc:
            # The decoder keeps an incomplete character from the previous chunk: count from there.
            start = max(offset + exc.start - len(decoder.getstate()[0]), 0)
            line = content[:start].count(b"\n") + 1
            raise FileRefused(
                f"The file is not UTF-8 text (line {line} has the byte 0x{content[start]:02x}): in Excel, save it "
                "as 'CSV UTF-8'. Other encodings are refused rather than guessed."
            ) from None


def _read_csv(content: bytes, file_name: str, kind_name: str | None, budget: _Budget) -> Upload:
    kind = kind_named(kind_name) if kind_name else kind_named(PurePath(file_name).stem)
    if kind is None:
        raise FileRefused(
            "A CSV file holds one kind of record: name the file after it (for example cash-flows.csv) or "
            f"choose the kind. The kinds are {', '.join(k.name for k in KINDS)}."
        )
    _check_utf8(content)
    if b"\x00" in content:
        raise FileRefused("The file holds NUL characters: it is not a CSV text file (UTF-16?). Save it as CSV UTF-8.")
    records = csv.reader(_csv_lines(content, budget))
    errors: list[RowError] = []
    try:
        header_row = next(records, None)
        if header_row is None:
            raise FileRefused("The file is empty: the first row must name the columns.")
        budget.row(len(header_row), header=True)
        headers = [header.strip() for header in header_row]
        if len([h for h in headers if h]) == 1 and ";" in headers[0]:
            raise FileRefused("The columns are separated by semicolons: save the file as CSV UTF-8 (comma-separated).")
        _check_headers(kind.name, kind, headers, errors)
        rows = _Rows(kind.name, headers, errors)
        for number, values in enumerate(records, start=2):
            budget.row(len(values))
            rows.add(number, values)
    except csv.Error as exc:
        raise FileRefused(f"The file is not readable as CSV (line {records.line_num}: {exc}).") from None
    return Upload("csv", [Sheet(kind, kind.name, headers, rows.records)], errors)


def _read_xlsx(content: bytes, budget: _Budget) -> Upload:
    from openpyxl import load_workbook  # a large library, loaded only when a workbook is read

    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            _check_parts(archive, budget)
        book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
        # The same cells as written, to tell an empty cell from a formula with no stored value.
        formulas = load_workbook(io.BytesIO(content), read_only=True, data_only=False)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, ParseError) as exc:
        raise FileRefused(f"The file is not a readable .xlsx workbook ({type(exc).__name__}).") from None
    try:
        return _read_sheets(book, formulas, budget)
    except (KeyError, ValueError, OSError, ParseError, zipfile.BadZipFile) as exc:
        # a sheet's XML, read lazily (defusedxml refuses entities)
        raise FileRefused(f"The file is not a readable .xlsx workbook ({type(exc).__name__}).") from None
    finally:
        book.close()
        formulas.close()


def _check_parts(archive: zipfile.ZipFile, budget: _Budget) -> None:
    """Refuse a workbook whose parts would cost more than the limits to read, by the sizes the
    archive records (a part is never decompressed beyond its recorded size)."""
    limits = budget.limits
    sheets = shared = other = count = 0
    for part in archive.infolist():
        if WORKSHEET_PART.match(part.filename):
            sheets += part.file_size
            count += 1
        elif part.filename == SHARED_STRINGS_PART:
            shared += part.file_size
        else:
            other += part.file_size
    mb = 2**20
    if count > limits.sheets:
        raise budget.refuse(f"The workbook has {count} sheets; at most {limits.sheets} are read.")
    if sheets > limits.sheet_bytes:
        raise budget.refuse(f"The workbook's sheets hold {sheets / mb:,.0f} MB of data once unpacked; at most "
                            f"{limits.sheet_bytes / mb:,.0f} MB are read. Split it into smaller files.")  # fmt: skip
    if shared > limits.shared_strings_bytes:
        raise budget.refuse(
            f"The workbook's text table is {shared / mb:,.0f} MB once unpacked; at most "
            f"{limits.shared_strings_bytes / mb:,.0f} MB are read. Split it into smaller files."
        )
    if other > limits.other_bytes:
        raise budget.refuse(f"The workbook's styles and other parts are {other / mb:,.0f} MB once unpacked; at "
                            f"most {limits.other_bytes / mb:,.0f} MB are read. Save it again without them, or "
                            "as CSV.")  # fmt: skip


#: The longest text between two tags of a sheet (a cell holds at most 32,767 characters).
MAX_TEXT_RUN = 2**20


class _SheetScan:
    """Counts a sheet's rows and cells as its XML streams by, keeping nothing (no element, no
    text), before the workbook reader builds any row: a row is refused as soon as its cells pass
    the limit, and a file declaring a DTD or entities is refused outright."""

    def __init__(self, budget: _Budget) -> None:
        self.budget, self.limits = budget, budget.limits
        self.rows = self.cells = self.row_cells = self.text = 0

    def start(self, tag: str, attributes: dict[str, str]) -> None:
        self.text = 0
        name = tag.rpartition(":")[2]
        if name == "c":
            self.row_cells += 1
            self.cells += 1
            ref = CELL_REF.match(attributes.get("r", ""))
            if self.row_cells > self.limits.columns or (ref and _column_number(ref.group(1)) > self.limits.columns):
                raise self.budget.too_wide()
            if self.cells > self.limits.cells:
                raise self.budget.too_many_cells()
        elif name == "row":
            self.rows += 1
            self.row_cells = 0
            if self.rows > self.limits.rows + 1:  # the header row is not counted
                raise self.budget.too_many_rows()
            if self.rows % 1000 == 0:
                self.budget.clock()

    def end(self, tag: str) -> None:
        self.text = 0

    def data(self, text: str) -> None:
        self.text += len(text)
        if self.text > MAX_TEXT_RUN:
            raise self.budget.refuse(f"The workbook holds a text of more than {MAX_TEXT_RUN // 2**20} MB between two "
                                     "tags: it is not a spreadsheet's data.")  # fmt: skip

    def refuse_declarations(self, *args) -> None:
        raise FileRefused("The file is not a readable .xlsx workbook (it declares XML entities).")


def _scan_sheet(archive: zipfile.ZipFile, part: str, budget: _Budget) -> None:
    scan = _SheetScan(budget)
    parser = expat.ParserCreate()
    parser.StartElementHandler = scan.start
    parser.EndElementHandler = scan.end
    parser.CharacterDataHandler = scan.data
    parser.StartDoctypeDeclHandler = scan.refuse_declarations
    parser.EntityDeclHandler = scan.refuse_declarations
    try:
        with archive.open(part) as source:
            while chunk := source.read(2**16):
                parser.Parse(chunk, False)
            parser.Parse(b"", True)
    except expat.ExpatError as exc:
        raise FileRefused(f"The file is not a readable .xlsx workbook (a sheet's XML: {exc}).") from None


def _column_number(letters: str) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + ord(letter) - ord("A") + 1
    return number


def _read_sheets(book, formulas, budget: _Budget) -> Upload:
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
        _scan_sheet(book._archive, worksheet._worksheet_path, budget)
        # The sheet's declared size is not believed: rows and cells are read as they are.
        worksheet.reset_dimensions()
        written.reset_dimensions()
        values = worksheet.iter_rows(values_only=True)
        as_written = written.iter_rows(values_only=True)
        header_row = next(values, None)
        next(as_written, None)
        if header_row is None or all(is_blank(v) for v in header_row):
            continue  # an empty sheet (or one whose first row is blank)
        budget.row(len(header_row), header=True)
        headers = ["" if is_blank(h) else str(h).strip() for h in header_row]
        while headers and not headers[-1]:
            headers.pop()
        _check_headers(name, kind, headers, errors)
        rows = _Rows(name, headers, errors)
        for number, (row, cells_written) in enumerate(zip(values, as_written, strict=False), start=2):
            budget.row(len(row))
            for header, value, cell in zip(headers, row, cells_written, strict=False):
                if value is None and isinstance(cell, str) and cell.startswith("="):
                    errors.append(RowError(name, number, header, f"the cell holds a formula ({cell}) without "
                                           "its value: save the file from a spreadsheet program, or paste the "
                                           "values"))  # fmt: skip
            rows.add(number, row)
        sheets.append(Sheet(kind, name, headers, rows.records))
    if not sheets and not errors:
        raise FileRefused("The workbook has no sheet to import.")
    return Upload("xlsx", sheets, errors)


# --- writing ------------------------------------------------------------------------------------

#: Deeper relations to select with a kind's references, for exporting without a query per row.
_SELECT = {
    "position": "position__deal",
    "loan": "loan__deal",
    "project": "project__company",
    "gate_milestone": "gate_milestone__project",
}


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
    """A CSV file of ``rows`` of ``kind``, as an import reads them back."""
    return table_csv(kind.columns, ([cell_text(row.get(column)) for column in kind.columns] for row in rows))


def xlsx_bytes(sheets: list[tuple[Kind, list[dict[str, Any]]]], *, readme: bool = True) -> bytes:
    """A workbook with a sheet per kind (the header, then ``rows``) and a README sheet of columns."""
    tables = []
    if readme:
        guide = [
            [kind.name, column, "key" if column in kind.key else "required" if column in kind.required else "",
             describe(kind, column)]
            for kind, _ in sheets
            for column in kind.columns
        ]  # fmt: skip
        tables.append(("README", ["kind", "column", "needed", "what it holds"], guide))
    for kind, rows in sheets:
        tables.append((kind.name, kind.columns, [[cell_value(row.get(c)) for c in kind.columns] for row in rows]))
    return table_xlsx(tables)


def table_csv(headers: Sequence[str], rows: Iterable[Sequence[Any]], *, bom: bool = True) -> bytes:
    """A CSV file: the headers, then the rows; None is written empty, and text a spreadsheet would
    run as a formula is neutralised. UTF-8, with the byte-order mark unless ``bom`` is false (with
    it, Excel reads accents right)."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(headers)
    for row in rows:
        writer.writerow(["" if v is None else formula_safe(v) if isinstance(v, str) else v for v in row])
    return buffer.getvalue().encode("utf-8-sig" if bom else "utf-8")


def table_xlsx(tables: Iterable[tuple[str, Sequence[str], Iterable[Sequence[Any]]]]) -> bytes:
    """A workbook with a sheet per table (its name, headers and rows). In text, what a spreadsheet
    would run as a formula is neutralised, and the control characters a worksheet cannot hold (a
    pasted form feed or escape) are shown as the replacement character."""
    # openpyxl, a large library, is loaded only when a workbook is written or read.
    from openpyxl import Workbook
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    def text(value: str) -> str:
        return ILLEGAL_CHARACTERS_RE.sub("\ufffd", formula_safe(value))

    book = Workbook(write_only=True)
    for name, headers, rows in tables:
        sheet = book.create_sheet(name)
        sheet.append(list(headers))
        for row in rows:
            sheet.append([text(v) if isinstance(v, str) else v for v in row])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def describe(kind: Kind, column: str) -> str:
    """What a column holds, for the README sheet of a template."""
    if column in kind.options:
        return kind.options[column]
    for ref in kind.refs:
        if column in ref.columns:
            target = kind.related_model(ref.field)._meta.verbose_name
            return f"names the {target} ({', '.join(ref.columns)})"
    for many in kind.many:
        if column == many.column:
            return "names, separated by semicolons"
    model_field = kind.model_field(column)
    if model_field.choices:
        return "one of: " + ", ".join(str(value) for value, _ in model_field.flatchoices)
    if isinstance(model_field, models.DateField):
        return "a date, YYYY-MM-DD"
    if isinstance(model_field, models.BooleanField):
        return "yes or no"
    if isinstance(model_field, models.DecimalField | models.IntegerField):
        return "a number, with a point for decimals and no separators"
    return str(model_field.help_text or model_field.verbose_name)
