"""A table as a CSV or XLSX download: the exports' one way to answer."""

from __future__ import annotations

from decimal import Decimal

from django.http import Http404, HttpResponse

from portfolio.spreadsheets.files import table_csv, table_xlsx

FORMATS = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def _sheet_cell(value):
    """A value as a worksheet holds it: amounts as numbers."""
    return float(value) if isinstance(value, Decimal) else value


def table_response(name: str, fmt: str, headers: list[str], rows: list[list]) -> HttpResponse:
    if fmt not in FORMATS:
        raise Http404("Exports come as csv or xlsx.")
    if fmt == "csv":
        body = table_csv(headers, rows, bom=False)
    else:
        body = table_xlsx([(name, headers, ([_sheet_cell(v) for v in row] for row in rows))])
    response = HttpResponse(body, content_type=FORMATS[fmt])
    response["Content-Disposition"] = f'attachment; filename="lodestone-{name}.{fmt}"'
    return response
