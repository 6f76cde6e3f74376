"""Reports as files (A2): Excel (.xlsx, one sheet per table, print-ready) and CSV (UTF-8 with a BOM so
that Excel reads Chinese; tables one after the other, each under its title). The rows are the ones the
page shows: personal data is already masked by the report builder unless the viewer may see it."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from .reports import Report, Table

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_TYPE = "text/csv; charset=utf-8"
FORMATS = ("json", "csv", "xlsx")


def _cell(value: Any) -> Any:
    return "" if value is None else value


def _subtitle(report: Report) -> str:
    text = _("Period: %(from)s to %(to)s · generated %(at)s") % {
        "from": report.first_day.isoformat(), "to": report.last_day.isoformat(),
        "at": timezone.localtime().strftime("%Y-%m-%d %H:%M"),
    }
    if report.masked:
        text += " · " + _("personal data masked")
    return text


def _lines(table: Table) -> list[list[Any]]:
    out = [[_cell(r.get(c.key)) for c in table.columns] for r in table.rows]
    if table.total:
        out.append([_cell(table.total.get(c.key)) for c in table.columns])
    return out


def report_csv(report: Report) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow([report.title])
    w.writerow([_subtitle(report)])
    for table in report.tables:
        w.writerow([])
        w.writerow([table.title])
        w.writerow([c.label for c in table.columns])
        if not table.rows:
            w.writerow([table.empty])
        w.writerows(_lines(table))
        for note in table.notes:
            w.writerow([note])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def _sheet_name(title: str, used: set[str]) -> str:
    base = re.sub(r"[\[\]:*?/\\]", " ", title)[:28] or "Sheet"
    name, n = base, 2
    while name in used:
        name, n = f"{base[:26]}-{n}", n + 1
    used.add(name)
    return name


def report_xlsx(report: Report) -> bytes:
    """One sheet per table: title, period, header row (frozen, repeated on every printed page),
    rows, total in bold, notes; landscape and fitted to the page width. Written in openpyxl's
    write-only mode (a month's register is tens of thousands of cells): only the title, header,
    total and two-decimal cells carry a style."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
    from openpyxl.utils import get_column_letter

    wb = Workbook(write_only=True)
    used: set[str] = set()
    thin = Side(style="thin", color="B9C3CE")
    border = Border(left=thin, right=thin, top=thin, bottom=thin)
    head_fill = PatternFill("solid", fgColor="E7EEFB")
    for table in report.tables:
        ws = wb.create_sheet(_sheet_name(table.title, used))
        lines = _lines(table)
        for i, col in enumerate(table.columns, start=1):
            values = [len(str(col.label))] + [len(str(line[i - 1])) for line in lines[:2000]]
            limit = 60 if col.kind == "text" else 18
            # CJK characters are about twice as wide as Latin ones.
            ws.column_dimensions[get_column_letter(i)].width = min(max(values) * 1.8 + 2, limit)
        ws.freeze_panes = "A4"
        ws.print_title_rows = "3:3"
        ws.page_setup.orientation = "landscape"
        ws.page_setup.paperSize = "9"  # A4
        ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
        ws.sheet_properties.pageSetUpPr.fitToPage = True

        def styled(value: Any, **style: Any) -> WriteOnlyCell:
            cell = WriteOnlyCell(ws, value=value)
            for k, v in style.items():
                setattr(cell, k, v)
            return cell

        title = f"{report.title} · {table.title}" if table.title != report.title else report.title
        ws.append([styled(title, font=Font(bold=True, size=14))])
        ws.append([_subtitle(report)])
        ws.append([styled(c.label, font=Font(bold=True), fill=head_fill, border=border,
                          alignment=Alignment(wrap_text=True, vertical="center")) for c in table.columns])
        two_places = [c.kind in ("float", "percent") for c in table.columns]
        last = len(lines) - 1
        for n, line in enumerate(lines):
            bold = bool(table.total) and n == last
            if bold:
                ws.append([styled(v, font=Font(bold=True), **({"number_format": "0.00"} if two and isinstance(v, float) else {}))
                           for v, two in zip(line, two_places)])
            elif any(two_places):
                ws.append([styled(v, number_format="0.00") if two and isinstance(v, float) else v
                           for v, two in zip(line, two_places)])
            else:
                ws.append(line)
        if not table.rows:
            ws.append([table.empty])
        for note in table.notes:
            ws.append([])
            ws.append([styled(note, font=Font(italic=True, color="6B7785"))])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def report_filename(report: Report, fmt: str) -> str:
    return f"kefu-{report.name}-{report.first_day:%Y%m%d}-{report.last_day:%Y%m%d}.{fmt}"
