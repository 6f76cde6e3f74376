"""Report pages under ``/a/r/`` (A2, A4, F4, Q4, S2): the tables of ``reports.py`` for a period, with
their Excel/CSV downloads, print layout and — on the complaint cause analysis — the form supervisors
use to address an improvement note to a department. Thin: parse → build → render."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from kefu.accounts.models import Department, Role, User
from kefu.core.errors import KefuError, ValidationFailed

from . import report_services
from .models import NoteStatus
from .api_reports import render_report
from .reports import DIMENSIONS, REPORTS, Report, report_build, report_period, report_spec

PER_DAY = ("daily_summary",)
# A page lists at most this many rows of a table (a month's register can be long); the files have all.
PAGE_ROWS = 200


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _dates(request: HttpRequest, name: str) -> tuple[date | None, date | None, str | None, dict[str, str]]:
    """The requested period; by default yesterday for the daily summary, this month so far for
    the others. A date that cannot be read is a field error, not silently replaced."""
    errors: dict[str, str] = {}
    today = timezone.localdate()
    raw_from, raw_to = request.GET.get("from", "").strip(), request.GET.get("to", "").strip()
    month = request.GET.get("month", "").strip() or None
    first, last = _parse(raw_from), _parse(raw_to)
    for field, raw, value in (("from", raw_from, first), ("to", raw_to, last)):
        if raw and value is None:
            errors[field] = _("Give the date as YYYY-MM-DD.")
    if not raw_from and not raw_to and not month:
        if name in PER_DAY:
            first = last = today - timedelta(days=1)
        else:
            first, last = today.replace(day=1), today
    return first, last, month, errors


def _parse(raw: str) -> date | None:
    try:
        return parse_date(raw) if raw else None
    except ValueError:  # well formed but no such day (2030-02-30)
        return None


def _cell(value: Any, kind: str) -> str:
    if value is None or value == "":
        return "—" if kind != "text" else ""
    if kind in ("float", "percent") and isinstance(value, int | float):
        return f"{value:.2f}"
    return str(value)


def _bands(columns: list[Any]) -> list[tuple[str, int, Any]]:
    """The top header row: (group, how many columns, the column when it has no group)."""
    bands: list[tuple[str, int, Any]] = []
    for c in columns:
        if c.group and bands and bands[-1][0] == c.group:
            bands[-1] = (c.group, bands[-1][1] + 1, None)
        else:
            bands.append((c.group, 1, None if c.group else c))
    return bands if any(c.group for c in columns) else []


def _tables(report: Report) -> list[dict[str, Any]]:
    out = []
    for t in report.tables:
        cols = t.columns
        in_all = t.all_rows if t.all_rows is not None else len(t.rows)
        cut = ""
        if in_all > PAGE_ROWS:
            cut = _("The page shows the first %(n)d of %(total)d rows; the Excel and CSV downloads have them all.") % {
                "n": PAGE_ROWS, "total": in_all}
        out.append({
            "bands": _bands(cols), "grouped": [c for c in cols if c.group],
            "key": t.key, "title": t.title, "columns": cols, "empty": t.empty, "notes": t.notes, "cut": cut,
            "rows": [[(c, _cell(r.get(c.key), c.kind), r.get(c.key)) for c in cols] for r in t.rows[:PAGE_ROWS]],
            "total": [(c, _cell(t.total.get(c.key), c.kind)) for c in cols] if t.total else None,
            "raw": t.rows,
        })
    return out


@login_required
def report_index(request: HttpRequest) -> HttpResponse:
    return render(request, "analytics/reports/index.html", {"reports": REPORTS.values()})


@login_required
def report_page(request: HttpRequest, name: str) -> HttpResponse:
    try:
        spec = report_spec(name)
    except KefuError:
        raise Http404() from None
    user = _user(request)
    first, last, month, date_errors = _dates(request, name)
    params = {k: request.GET.get(k, "").strip()[:16] or None for k in ("group", "dimension", "agent")}
    ctx: dict[str, Any] = {"spec": spec, "reports": REPORTS.values(), "first": first, "last": last,
                           "params": params, "dimensions": DIMENSIONS, "query": request.GET.urlencode(),
                           "may_note": report_services.is_report_manager(user), "sees_agents": user.role != Role.AGENT}
    status = 200
    try:
        if date_errors:
            raise ValidationFailed(fields=date_errors)
        period = report_period(first=first, last=last, month=month)
        report = report_build(name, viewer=user, period=period, limit=PAGE_ROWS, **params)
        ctx.update(report=report, tables=_tables(report), first=report.first_day, last=report.last_day)
        if name == "complaint_causes":
            if ctx["may_note"]:
                ctx["departments"] = Department.objects.filter(active=True).order_by("name")
            # F4 closed loop: the notes this viewer may answer (the department addressed, or a supervisor)
            ctx["answerable"] = [n for n in report.tables[1].rows
                                 if ctx["may_note"] or (user.department_id and n["department_id"] == user.department_id)]
            ctx["note_statuses"] = NoteStatus.choices
    except KefuError as e:
        ctx["error"], ctx["field_errors"] = str(e.message), {k: str(v) for k, v in e.fields.items()}
        status = e.status
    return render(request, "analytics/reports/report.html", ctx, status=status)


@login_required
def report_download(request: HttpRequest, name: str, fmt: str) -> HttpResponse:
    """The page's Excel and CSV links: the same report, the viewer's scope, as a file."""
    user = _user(request)
    try:
        report_spec(name)
        first, last, month, date_errors = _dates(request, name)
        if date_errors:
            raise ValidationFailed(fields=date_errors)
        params = {k: request.GET.get(k, "").strip()[:16] or None for k in ("group", "dimension", "agent")}
        response = render_report(name, viewer=user, fmt=fmt if fmt != "json" else "", first=first, last=last,
                                 month=month, params=params)
    except KefuError as e:
        if e.status == 404:
            raise Http404() from None
        _say_error(request, e)
        return redirect(reverse("reports:report", args=[name]) + "?" + request.GET.urlencode())
    assert isinstance(response, HttpResponse)
    return response


def _say_error(request: HttpRequest, e: KefuError) -> None:
    messages.error(request, " ".join([str(e.message), *[str(v) for v in e.fields.values()]]))


def _back_to_causes(request: HttpRequest) -> HttpResponse:
    """Back to the cause analysis of the period and dimension the form was sent from."""
    keep = {k: request.POST[k] for k in ("from", "to", "dimension") if request.POST.get(k)}
    return redirect(reverse("reports:report", args=["complaint_causes"]) + "?" + urlencode(keep))


@login_required
@require_POST
def note_create(request: HttpRequest) -> HttpResponse:
    """F4: a supervisor addresses an improvement suggestion for one cause to a department."""
    post = request.POST
    try:
        first, last = _parse(post.get("from", "")), _parse(post.get("to", ""))
        period = report_period(first=first, last=last)
        cause = post.get("cause", "")
        label = post.get(f"label:{cause}", "") or cause
        report_services.improvement_note_create(
            actor=_user(request), dimension=post.get("dimension", ""), cause_key=cause, cause_label=label,
            department=post.get("department", ""), suggestion=post.get("suggestion", ""), period=period)
        messages.success(request, _("Improvement note sent to the department."))
    except KefuError as e:
        _say_error(request, e)
    return _back_to_causes(request)


@login_required
@require_POST
def note_update(request: HttpRequest) -> HttpResponse:
    """F4: the department addressed (or a supervisor) answers a note and moves it on."""
    post = request.POST
    try:
        raw = post.get("note", "")
        note_id = int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 19 else 0
        report_services.improvement_note_update(actor=_user(request), note_id=note_id, status=post.get("status") or None,
                                                response=post.get("response"))
        messages.success(request, _("Answer saved."))
    except KefuError as e:
        _say_error(request, e)
    return _back_to_causes(request)
