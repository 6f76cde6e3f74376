"""Reports API (A2, A4, F4, Q4, S2): ``GET /api/v1/analytics/reports/{name}`` as JSON, CSV or Excel,
improvement notes on complaint causes, and the e-mailed report subscriptions. Thin: parse, call
``reports`` / ``report_services``, render."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema
from ninja import Status as Reply
from pydantic import ConfigDict, Field

from kefu.accounts.models import User
from kefu.core.api import parse_body
from kefu.core.errors import PermissionDenied, ValidationFailed

from . import report_services as services
from .models import ImprovementNote, ReportSubscription
from .report_export import CSV_TYPE, FORMATS, XLSX_TYPE, report_csv, report_filename, report_xlsx
from .reports import REPORTS, report_build, report_period, report_spec

router = Router(tags=["analytics reports"])


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def render_report(name: str, *, viewer: User, fmt: str, first: date | None, last: date | None, month: str | None,
                  params: dict[str, Any]) -> HttpResponse | dict[str, Any]:
    """Shared by the API and the pages' download links: the report as a dict (JSON) or a file."""
    if fmt not in FORMATS:
        raise ValidationFailed(fields={"format": _("Must be one of: %(values)s.") % {"values": ", ".join(FORMATS)}})
    report_spec(name)  # an unknown name is a 404 before the dates are looked at
    period = report_period(first=first, last=last, month=month)
    report = report_build(name, viewer=viewer, period=period, **params)
    if fmt == "json":
        return report.as_dict()
    body, ctype = (report_csv(report), CSV_TYPE) if fmt == "csv" else (report_xlsx(report), XLSX_TYPE)
    response = HttpResponse(body, content_type=ctype)
    response["Content-Disposition"] = f'attachment; filename="{report_filename(report, fmt)}"'
    return response


@router.get("/analytics/reports", response=dict[str, Any], summary="The reports there are")
def report_index(request: HttpRequest) -> dict[str, Any]:
    return {"items": [{"name": s.name, "title": str(s.title), "params": list(s.params)} for s in REPORTS.values()],
            "next": None}


@router.get("/analytics/reports/{name}", summary="A report for a period as JSON, CSV (UTF-8 BOM) or Excel")
def report_get(
    request: HttpRequest,
    name: str,
    from_: date | None = Query(None, alias="from"),
    to: date | None = Query(None),
    month: str | None = Query(None, max_length=7, description="YYYY-MM instead of from/to"),
    format: str = Query("json", max_length=8),
    group: str | None = Query(None, max_length=8, description="daily_summary: agent or day"),
    dimension: str | None = Query(None, max_length=16, description="complaint_causes: category, region or product"),
    agent: str | None = Query(None, max_length=16, description="an agent id 工号 in your scope"),
) -> Any:
    return render_report(name[:64], viewer=_user(request), fmt=format, first=from_, last=to, month=month,
                         params={"group": group, "dimension": dimension, "agent": agent})


# -- F4 improvement notes ---------------------------------------------------------------------------


class NoteIn(Schema):
    dimension: str
    cause: str
    cause_label: str = ""
    department: str
    suggestion: str
    from_: date | None = Field(None, alias="from")
    to: date | None = None
    month: str | None = Field(None, max_length=7)

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class NoteUpdateIn(Schema):
    status: str | None = None
    response: str | None = None

    model_config = ConfigDict(extra="forbid")


class NoteOut(Schema):
    id: int
    dimension: str
    cause: str
    cause_label: str
    department: str
    suggestion: str
    status: str
    response: str
    author: str
    period_from: date
    period_to: date
    created_at: datetime
    updated_at: datetime


def note_out(n: ImprovementNote) -> dict[str, Any]:
    return {"id": n.pk, "dimension": n.dimension, "cause": n.cause_key, "cause_label": n.cause_label,
            "department": n.department.code, "suggestion": n.suggestion, "status": n.status, "response": n.response,
            "author": n.author.label, "period_from": n.period_start, "period_to": n.period_end,
            "created_at": n.created_at, "updated_at": n.updated_at}


@router.get("/analytics/improvement-notes", response=dict[str, Any], summary="Improvement notes on complaint causes (F4)")
def notes_list(request: HttpRequest, dimension: str | None = Query(None, max_length=16),
               department: str | None = Query(None, max_length=32)) -> dict[str, Any]:
    qs = ImprovementNote.objects.select_related("department", "author").order_by("-id")
    if dimension:
        qs = qs.filter(dimension=dimension)
    if department:
        qs = qs.filter(department__code=department)
    return {"items": [note_out(n) for n in qs[:200]], "next": None}


@router.post("/analytics/improvement-notes", response={201: NoteOut}, summary="Address an improvement suggestion to a department (F4)")
def notes_create(request: HttpRequest) -> Any:
    data = parse_body(request, NoteIn)
    period = report_period(first=data.from_, last=data.to, month=data.month)
    note = services.improvement_note_create(
        actor=_user(request), dimension=data.dimension, cause_key=data.cause, cause_label=data.cause_label,
        department=data.department, suggestion=data.suggestion, period=period)
    return Reply(201, note_out(note))


@router.post("/analytics/improvement-notes/{note_id}", response=NoteOut, summary="Answer or close an improvement note")
def notes_update(request: HttpRequest, note_id: int) -> Any:
    data = parse_body(request, NoteUpdateIn)
    note = services.improvement_note_update(actor=_user(request), note_id=note_id, status=data.status,
                                            response=data.response)
    return note_out(note)


# -- subscriptions ----------------------------------------------------------------------------------


class SubscriptionIn(Schema):
    report: str = "daily_summary"
    send_at: str
    user: str | None = None
    email: str = ""

    model_config = ConfigDict(extra="forbid")


class SubscriptionOut(Schema):
    id: int
    report: str
    user: str | None
    email: str
    send_at: time
    cadence: str
    active: bool
    last_sent_day: date | None


def subscription_out(s: ReportSubscription) -> dict[str, Any]:
    last = s.deliveries.filter(status="sent").order_by("-day").values_list("day", flat=True).first()
    return {"id": s.pk, "report": s.report, "user": s.user.username if s.user else None, "email": s.email,
            "send_at": s.send_at, "cadence": services.report_cadence(s.report), "active": s.active, "last_sent_day": last}


def _manager(request: HttpRequest) -> User:
    user = _user(request)
    if not services.is_report_manager(user):
        raise PermissionDenied(_("Only supervisors and administrators manage report subscriptions."))
    return user


@router.get("/analytics/report-subscriptions", response=dict[str, Any], summary="E-mailed report subscriptions")
def subscriptions_list(request: HttpRequest) -> dict[str, Any]:
    _manager(request)
    qs = ReportSubscription.objects.select_related("user").order_by("id")
    return {"items": [subscription_out(s) for s in qs], "next": None}


@router.post("/analytics/report-subscriptions", response={201: SubscriptionOut}, summary="Subscribe a user or an address to a daily report")
def subscriptions_create(request: HttpRequest) -> Any:
    actor = _manager(request)
    data = parse_body(request, SubscriptionIn)
    sub = services.report_subscription_create(actor=actor, report=data.report, send_at=data.send_at, user=data.user,
                                              email=data.email)
    return Reply(201, subscription_out(sub))


@router.delete("/analytics/report-subscriptions/{subscription_id}", response=SubscriptionOut, summary="Stop a subscription")
def subscriptions_cancel(request: HttpRequest, subscription_id: int) -> Any:
    sub = services.report_subscription_cancel(actor=_manager(request), subscription_id=subscription_id)
    return subscription_out(sub)
