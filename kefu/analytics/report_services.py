"""Writes of the reports (issue #7): improvement notes on complaint causes (F4), report subscriptions
and the e-mailed daily report. Every write is one transaction with its audit record and outbox event
(STYLE.md §4); sending claims a unique (subscription, day) row first, so it is idempotent."""

from __future__ import annotations

import logging
from datetime import date, datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.mail import EmailMessage
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from kefu.accounts.models import Department, Role, User
from kefu.audit.services import audit_record
from kefu.core import outbox
from kefu.core.errors import NotFound, PermissionDenied, ValidationFailed

from .models import DeliveryStatus, ImprovementNote, NoteStatus, ReportDelivery, ReportSubscription
from .report_export import XLSX_TYPE, report_filename, report_xlsx
from .reports import DIMENSIONS, REPORTS, Period, first_day, last_day, reject_nul, report_build

log = logging.getLogger(__name__)
MANAGER_ROLES = (Role.SUPERVISOR, Role.ADMIN)


def is_report_manager(user: User) -> bool:
    """Supervisors and administrators write improvement notes and manage subscriptions."""
    return user.is_active and (user.is_superuser or user.role in MANAGER_ROLES)


def _text(value: str, field: str, errors: dict[str, Any], limit: int = 2000, required: bool = True) -> str:
    text = (value or "").strip()
    if required and not text:
        errors[field] = _("This field is required.")
    elif len(text) > limit:
        errors[field] = _("At most %(n)d characters.") % {"n": limit}
    return text


# -- F4 improvement notes ---------------------------------------------------------------------


@transaction.atomic
def improvement_note_create(
    *, actor: User, dimension: str, cause_key: str, cause_label: str, department: str | int, suggestion: str,
    period: Period,
) -> ImprovementNote:
    """F4: a supervisor addresses an improvement suggestion for one complaint cause to a department.
    Audited (``analytics.note_created``) and announced (``analytics.improvement_note``)."""
    if not is_report_manager(actor):
        raise PermissionDenied(_("Only supervisors and administrators write improvement notes."))
    reject_nul(dimension=dimension, cause=cause_key, cause_label=cause_label, department=department, suggestion=suggestion)
    errors: dict[str, Any] = {}
    if dimension not in DIMENSIONS:
        errors["dimension"] = _("Choose category, region or product.")
    key = _text(cause_key, "cause", errors, 120)
    if key and dimension in DIMENSIONS and not key.startswith(dimension + ":"):
        errors["cause"] = _("This cause does not belong to the chosen dimension.")
    label = _text(cause_label, "cause_label", errors, 200, required=False) or key
    text = _text(suggestion, "suggestion", errors, 4000)
    dept = None
    if department in (None, ""):
        errors["department"] = _("Choose the department the suggestion is addressed to.")
    else:
        ref = str(department)
        dept = Department.objects.filter(**({"pk": int(ref)} if ref.isascii() and ref.isdigit() and len(ref) < 19 else {"code": ref}), active=True).first()
        if dept is None:
            errors["department"] = _("Unknown department.")
    if errors:
        raise ValidationFailed(fields=errors)
    assert dept is not None
    now = timezone.now()
    note = ImprovementNote.objects.create(
        dimension=dimension, cause_key=key, cause_label=label, department=dept, suggestion=text, author=actor,
        period_start=first_day(period),
        period_end=last_day(period), created_at=now, updated_at=now,
    )
    audit_record(actor=actor, action="analytics.note_created", obj=note,
                 changes={"cause": key, "department": dept.code, "period": [note.period_start, note.period_end]})
    outbox.put("analytics.improvement_note", note_id=note.pk, department=dept.code, status=note.status)
    return note


@transaction.atomic
def improvement_note_update(*, actor: User, note_id: int, status: str | None = None, response: str | None = None) -> ImprovementNote:
    """The department addressed (any of its members) or a supervisor records the answer and moves
    the note to in progress or done. Audited with before and after."""
    note = ImprovementNote.objects.select_for_update().filter(pk=note_id).first()
    if note is None:
        raise NotFound(_("Improvement note %(id)s was not found.") % {"id": note_id}, code="note_not_found")
    if not (is_report_manager(actor) or (actor.is_active and actor.department_id == note.department_id)):
        raise PermissionDenied(_("Only the department addressed or a supervisor may answer this note."))
    reject_nul(status=status, response=response)
    errors: dict[str, Any] = {}
    if status is not None and status not in NoteStatus.values:
        errors["status"] = _("Must be one of: %(values)s.") % {"values": ", ".join(NoteStatus.values)}
    text = _text(response, "response", errors, 4000, required=False) if response is not None else None
    if status is None and response is None:
        errors["status"] = _("Give a status or an answer.")
    if errors:
        raise ValidationFailed(fields=errors)
    before = {"status": note.status, "response": note.response}
    if status is not None:
        note.status = status
    if text is not None:
        note.response = text
    note.updated_at = timezone.now()
    note.save(update_fields=["status", "response", "updated_at"])
    audit_record(actor=actor, action="analytics.note_updated", obj=note,
                 changes={"before": before, "after": {"status": note.status, "response": note.response}})
    outbox.put("analytics.improvement_note", note_id=note.pk, department=note.department.code, status=note.status)
    return note


# -- subscriptions ----------------------------------------------------------------------------------


@transaction.atomic
def report_subscription_create(
    *, actor: User, report: str = "daily_summary", send_at: time | str, user: str | int | None = None, email: str = "",
) -> ReportSubscription:
    """A supervisor or administrator subscribes a user (by user name or 工号) or an address to a
    report, sent at ``send_at`` local time: the daily summary every day for the previous day, the
    monthly reports once a month for the previous month."""
    if not is_report_manager(actor):
        raise PermissionDenied(_("Only supervisors and administrators manage report subscriptions."))
    reject_nul(report=report, send_at=send_at, user=user, email=email)
    errors: dict[str, Any] = {}
    if report not in REPORTS:
        errors["report"] = _("Must be one of: %(values)s.") % {"values": ", ".join(REPORTS)}
    at: time | None = send_at if isinstance(send_at, time) else None
    if at is None:
        try:
            at = time.fromisoformat(str(send_at).strip())
        except ValueError:
            errors["send_at"] = _("Give the time of day as HH:MM, e.g. 08:00.")
    target: User | None = None
    if user not in (None, ""):
        ref = str(user).strip()
        target = User.objects.filter(is_active=True).filter(username=ref).first() or \
            User.objects.filter(is_active=True, agent_id=ref).first()
        if target is None:
            errors["user"] = _("No active user %(ref)s.") % {"ref": ref[:40]}
    email = (email or "").strip()
    if email:
        try:
            validate_email(email)
        except DjangoValidationError:
            errors["email"] = _("Enter a valid e-mail address.")
    elif target is None and "user" not in errors:
        errors["email"] = _("Give a user or an e-mail address.")
    elif target is not None and not target.email:
        errors["user"] = _("This user has no e-mail address; give one.")
    if errors:
        raise ValidationFailed(fields=errors)
    assert at is not None
    sub = ReportSubscription.objects.create(report=report, user=target, email=email, send_at=at.replace(second=0, microsecond=0),
                                            created_by=actor)
    audit_record(actor=actor, action="analytics.subscription_created", obj=sub,
                 changes={"report": report, "user": target.username if target else None, "email": email,
                          "send_at": sub.send_at.isoformat()})
    outbox.put("analytics.subscription_changed", subscription_id=sub.pk, active=True)
    return sub


@transaction.atomic
def report_subscription_cancel(*, actor: User, subscription_id: int) -> ReportSubscription:
    if not is_report_manager(actor):
        raise PermissionDenied(_("Only supervisors and administrators manage report subscriptions."))
    sub = ReportSubscription.objects.select_for_update().filter(pk=subscription_id).first()
    if sub is None:
        raise NotFound(_("Subscription %(id)s was not found.") % {"id": subscription_id}, code="subscription_not_found")
    if sub.active:
        sub.active = False
        sub.save(update_fields=["active"])
        audit_record(actor=actor, action="analytics.subscription_cancelled", obj=sub, changes={"active": [True, False]})
        outbox.put("analytics.subscription_changed", subscription_id=sub.pk, active=False)
    return sub


# -- sending ---------------------------------------------------------------------------------------

# A claim older than this is taken to be a worker that died mid-send, and may be tried again.
STALE_CLAIM = timedelta(minutes=15)


def _claim(sub: ReportSubscription, day: date, now: datetime) -> ReportDelivery | None:
    """The delivery row of (subscription, day), claimed for this worker; None when it was sent,
    gave up, or another worker holds a fresh claim."""
    try:
        with transaction.atomic():
            return ReportDelivery.objects.create(subscription=sub, day=day, status=DeliveryStatus.SENDING,
                                                 attempts=1, claimed_at=now)
    except IntegrityError:
        pass
    row = ReportDelivery.objects.get(subscription=sub, day=day)
    retry = row.status == DeliveryStatus.FAILED or (
        row.status == DeliveryStatus.SENDING and row.claimed_at is not None and row.claimed_at < now - STALE_CLAIM)
    if not retry or row.attempts >= settings.KEFU_SEND_MAX_ATTEMPTS:
        return None
    # Conditional update: of two workers retrying at once, one wins.
    won = ReportDelivery.objects.filter(pk=row.pk, status=row.status, attempts=row.attempts).update(
        status=DeliveryStatus.SENDING, attempts=row.attempts + 1, claimed_at=now)
    return ReportDelivery.objects.get(pk=row.pk) if won else None


# seed 003 §一.6: the feedback register goes to the supervisor once a month; the per-month reports
# (scoring sheet, cause analysis, marketing) likewise. The daily summary goes every day.
MONTHLY_REPORTS = frozenset({"scoring_sheet", "feedback_register", "complaint_causes", "marketing"})


def report_cadence(report: str) -> str:
    return "monthly" if report in MONTHLY_REPORTS else "daily"


def _covered(report: str, day: date) -> tuple[Period, str]:
    """The period a delivery keyed ``day`` covers (the day, or the month starting on it) and its label."""
    if report_cadence(report) == "monthly":
        last = (day + timedelta(days=32)).replace(day=1) - timedelta(days=1)
        return Period.of_days(day, last), f"{day:%Y-%m}"
    return Period.of_days(day, day), day.isoformat()


def due_key(report: str, today: date) -> date:
    """Which delivery is due on ``today``: yesterday's report, or last month's (keyed by its first day)."""
    if report_cadence(report) == "monthly":
        return (today.replace(day=1) - timedelta(days=1)).replace(day=1)
    return today - timedelta(days=1)


def report_subscription_send(*, subscription_id: int, day: date, now: datetime | None = None) -> str:
    """E-mail one subscription's report keyed ``day`` (the day, or the first day of the month for a
    monthly report) as an .xlsx attachment, at most once: returns ``sent``, ``skipped`` (already
    sent, gave up, or being sent) or ``failed`` (retried later)."""
    now = now or timezone.now()
    sub = ReportSubscription.objects.select_related("user", "created_by").filter(pk=subscription_id, active=True).first()
    if sub is None:
        return "skipped"
    delivery = _claim(sub, day, now)
    if delivery is None:
        return "skipped"
    try:
        recipient = sub.email or (sub.user.email if sub.user else "")
        if not recipient:
            raise ValueError("no e-mail address")
        viewer = sub.user or sub.created_by
        period, label = _covered(sub.report, day)
        with translation.override(settings.LANGUAGE_CODE):
            report = report_build(sub.report, viewer=viewer, period=period)
            subject = _("%(title)s · %(day)s") % {"title": report.title, "day": label}
            body = _("Attached: %(title)s for %(day)s, as an Excel workbook. Personal data is masked.") % {
                "title": report.title, "day": label}
            content = report_xlsx(report)
        mail = EmailMessage(subject, body, settings.DEFAULT_FROM_EMAIL, [recipient])
        mail.attach(report_filename(report, "xlsx"), content, XLSX_TYPE)
        mail.send()
    except Exception as e:  # noqa: BLE001 — SMTP refusals are OSErrors; anything else is recorded too
        dead = delivery.attempts >= settings.KEFU_SEND_MAX_ATTEMPTS
        ReportDelivery.objects.filter(pk=delivery.pk).update(
            status=DeliveryStatus.DEAD if dead else DeliveryStatus.FAILED, last_error=f"{e.__class__.__name__}: {e}"[:2000])
        log.warning("report delivery %s failed: %s", delivery.pk, e)
        return "failed"
    ReportDelivery.objects.filter(pk=delivery.pk).update(status=DeliveryStatus.SENT, sent_at=timezone.now(), last_error="")
    return "sent"


def report_subscriptions_due(*, now: datetime | None = None) -> dict[str, int]:
    """The beat job: every active subscription whose time of day has passed today gets the
    previous day's report — or, for the monthly reports, the previous month's, on the first run
    of the month after that time. Safe to run as often as wished."""
    now = now or timezone.now()
    local = timezone.localtime(now)
    counts = {"sent": 0, "skipped": 0, "failed": 0}
    for monthly in (False, True):
        day = due_key("feedback_register" if monthly else "daily_summary", local.date())
        finished = ReportDelivery.objects.filter(day=day, status__in=[DeliveryStatus.SENT, DeliveryStatus.DEAD])
        subs = ReportSubscription.objects.filter(active=True, send_at__lte=local.time())
        subs = subs.filter(report__in=MONTHLY_REPORTS) if monthly else subs.exclude(report__in=MONTHLY_REPORTS)
        due = subs.exclude(pk__in=finished.values("subscription_id")).order_by("pk").values_list("pk", flat=True)
        for pk in list(due):
            counts[report_subscription_send(subscription_id=pk, day=day, now=now)] += 1
    return counts
