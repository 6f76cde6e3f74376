"""Return visits 回访 and satisfaction surveys (F1–F3, C6).

- ``return_visit_schedule`` runs inside ``ticket_resolve``'s transaction: the resolution and its
  return visit commit together. Complaints and faults (configurable) always get a call by a person;
  other types get a survey link, or a call for a configurable sample.
- ``return_visit_complete`` records an outcome: satisfied confirms the order, unsatisfied reopens it
  as rework (F3), unreachable is retried at set intervals inside the call windows, up to N attempts,
  then a survey link goes by SMS.
- Surveys: a signed (``django.core.signing``), expiring, single-use link per contact; the score is
  stored on the order; a low score reopens the order, a high one confirms it.
"""

from __future__ import annotations

import secrets
import zlib
from datetime import date, datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.db.models import Avg, Count, Q
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.utils.translation import override

from kefu.accounts.permissions import may_write
from kefu.core import outbox
from kefu.core.errors import Conflict, KefuError, NotFound, PermissionDenied, ValidationFailed
from kefu.tickets.models import EventKind, Status, Ticket, TicketEvent

from .models import Outcome, ReturnVisit, SurveyInvitation, SurveyResponse, VisitKind, VisitReason, VisitStatus

SURVEY_SALT = "kefu.followup.survey"


# --- call windows ------------------------------------------------------------------------------


def _windows() -> list[tuple[time, time]]:
    out = []
    for spec in settings.KEFU_CALL_WINDOWS:
        a, b = spec.split("-")
        out.append((time.fromisoformat(a.strip()), time.fromisoformat(b.strip())))
    return sorted(out)


def in_call_window(at: datetime) -> datetime:
    """``at`` if it falls in a call window (local time), else the start of the next window."""
    local = timezone.localtime(at)
    for day in range(0, 3):
        d = local.date() + timedelta(days=day)
        for a, b in _windows():
            start = timezone.make_aware(datetime.combine(d, a), local.tzinfo)
            end = timezone.make_aware(datetime.combine(d, b), local.tzinfo)
            if local < start:
                return start
            if start <= local < end:
                return local
    return local


# --- scheduling ----------------------------------------------------------------------------------


def _sampled(ticket_id: int) -> bool:
    return zlib.crc32(str(ticket_id).encode()) % 100 < settings.KEFU_RETURN_VISIT_SAMPLE_PERCENT


def _timeline(ticket: Ticket | None, body: str, actor: Any = None, **data: Any) -> None:
    if ticket is not None:
        TicketEvent.objects.create(
            ticket=ticket, kind=EventKind.NOTE, actor=actor, created_at=timezone.now(), body=body,
            data={"return_visit": True, **data},
        )


def return_visit_schedule(*, ticket: Ticket) -> ReturnVisit:
    """Schedule the order's return visit (F1); call inside the resolving transaction. An order with an
    open visit keeps it."""
    open_visit = ReturnVisit.objects.filter(ticket=ticket, status=VisitStatus.SCHEDULED).first()
    if open_visit is not None:
        return open_visit
    resolved = ticket.resolved_at or timezone.now()
    by_call = ticket.type in settings.KEFU_RETURN_VISIT_CALL_TYPES or _sampled(ticket.pk)
    visit = ReturnVisit.objects.create(
        ticket=ticket, customer=ticket.customer,
        kind=VisitKind.CALL if by_call else VisitKind.SURVEY,
        reason=VisitReason.RESOLUTION if ticket.type in settings.KEFU_RETURN_VISIT_CALL_TYPES or not by_call
        else VisitReason.SAMPLE,
        assignee=ticket.owner if by_call and ticket.owner.is_active else None,
        scheduled_at=in_call_window(resolved + timedelta(hours=settings.KEFU_RETURN_VISIT_DELAY_HOURS)),
        due_at=resolved + timedelta(hours=settings.KEFU_RETURN_VISIT_WITHIN_HOURS),
    )
    with override(settings.LANGUAGE_CODE):
        body = (gettext("Return visit by call scheduled for %(at)s.") if by_call else gettext("Satisfaction survey sent to the customer."))
        body = body % {"at": timezone.localtime(visit.scheduled_at).strftime("%Y-%m-%d %H:%M")} if by_call else body
    _timeline(ticket, body, visit_id=visit.pk, kind=visit.kind)
    if not by_call:
        survey_invite(ticket=ticket, visit=visit)
    return visit


def cyclical_visits_schedule(*, now: datetime | None = None) -> int:
    """循环回访: a call every KEFU_CYCLICAL_VISIT_DAYS for specially marked customers. A care contact,
    so do-not-disturb customers are left alone (C6)."""
    from kefu.customers.models import Customer

    now = now or timezone.now()
    since = now - timedelta(days=settings.KEFU_CYCLICAL_VISIT_DAYS)
    recent = ReturnVisit.objects.filter(reason=VisitReason.CYCLICAL, created_at__gte=since).values("customer_id")
    made = 0
    for customer in Customer.objects.filter(special_mark=True, do_not_disturb=False).exclude(pk__in=recent)[:1000]:
        last = Ticket.objects.filter(customer=customer).order_by("-id").select_related("owner").first()
        with transaction.atomic():
            visit = ReturnVisit.objects.create(
                customer=customer, kind=VisitKind.CALL, reason=VisitReason.CYCLICAL,
                assignee=last.owner if last is not None and last.owner.is_active else None,
                scheduled_at=in_call_window(now), due_at=now + timedelta(days=7),
            )
            # Issue #7: the analytics roll-up counts return visits falling due.
            outbox.put("return_visit.scheduled", visit_id=visit.pk, ticket_id=None)
        made += 1
    return made


# --- outcomes ------------------------------------------------------------------------------------


def return_visit_queue(*, viewer: Any, status: str = VisitStatus.SCHEDULED) -> Any:
    """The viewer's visits plus unassigned ones (team leads, supervisors and admins: all)."""
    qs = ReturnVisit.objects.select_related("ticket", "customer", "assignee").filter(status=status)
    if viewer.role in ("agent",):
        qs = qs.filter(Q(assignee=viewer) | Q(assignee__isnull=True))
    return qs.order_by("scheduled_at", "id")


@transaction.atomic
def return_visit_complete(*, actor: Any, visit_id: int, outcome: str, note: str = "") -> ReturnVisit:
    """Record a call's outcome (F1, F3). Unreachable retries up to KEFU_RETURN_VISIT_ATTEMPTS times."""
    from kefu.tickets import services as ts
    from kefu.tickets.selectors import access_ticket

    if not may_write(actor):
        raise PermissionDenied(_("Your role cannot record return visits."), code="role_read_only")
    if outcome not in Outcome.values:
        raise ValidationFailed(fields={"outcome": _("Must be one of: %(values)s.") % {"values": ", ".join(Outcome.values)}})
    note = (note or "").strip()[:2000]
    visit = ReturnVisit.objects.select_for_update().filter(pk=visit_id).first()
    if visit is None or (visit.ticket_id is not None and not _visible(actor, visit.ticket_id, access_ticket)):
        raise NotFound(_("No such return visit."))
    if visit.status != VisitStatus.SCHEDULED:
        raise Conflict(_("This return visit is already done."), code="visit_done")
    now = timezone.now()
    visit.attempts += 1
    ticket = visit.ticket
    if outcome == Outcome.UNREACHABLE and visit.attempts < settings.KEFU_RETURN_VISIT_ATTEMPTS:
        visit.scheduled_at = in_call_window(now + timedelta(hours=settings.KEFU_RETURN_VISIT_RETRY_HOURS))
        visit.note = note
        visit.save(update_fields=["attempts", "scheduled_at", "note"])
        with override(settings.LANGUAGE_CODE):
            body = gettext("Return visit: customer unreachable (attempt %(n)d of %(max)d), next try %(at)s.") % {
                "n": visit.attempts, "max": settings.KEFU_RETURN_VISIT_ATTEMPTS,
                "at": timezone.localtime(visit.scheduled_at).strftime("%Y-%m-%d %H:%M")}
        _timeline(ticket, body, actor, visit_id=visit.pk, outcome=outcome, attempt=visit.attempts)
        return visit
    visit.status, visit.outcome, visit.note = VisitStatus.DONE, outcome, note
    visit.completed_at, visit.completed_by = now, actor
    visit.save(update_fields=["attempts", "status", "outcome", "note", "completed_at", "completed_by"])
    with override(settings.LANGUAGE_CODE):
        body = gettext("Return visit done: %(outcome)s.") % {"outcome": Outcome(outcome).label}
    _timeline(ticket, body + (f" {note}" if note else ""), actor, visit_id=visit.pk, outcome=outcome)
    if ticket is not None:
        ticket.refresh_from_db()
        if outcome == Outcome.SATISFIED and ticket.status == Status.RESOLVED:
            ts.ticket_confirm(actor=actor, ticket_id=ticket.pk, note=body)
        elif outcome == Outcome.UNSATISFIED and ticket.status in (Status.RESOLVED, Status.CLOSED):
            ts.ticket_reopen(actor=actor, ticket_id=ticket.pk, reason=note or body)  # F3: rework
        elif outcome == Outcome.UNREACHABLE:
            survey_invite(ticket=ticket, visit=None)  # §5: after the attempts, an SMS survey
    outbox.put("return_visit.completed", visit_id=visit.pk, ticket_id=visit.ticket_id, outcome=outcome,
               reason=visit.reason, attempts=visit.attempts)
    return visit


def _visible(actor: Any, ticket_id: int, access_ticket: Any) -> bool:
    try:
        access_ticket(viewer=actor, ticket_id=ticket_id)
    except NotFound:
        return False
    return True


# --- surveys -------------------------------------------------------------------------------------


def survey_token(invitation: SurveyInvitation) -> str:
    return signing.dumps({"i": invitation.pk, "n": invitation.nonce}, salt=SURVEY_SALT, compress=True)


def survey_invite(*, ticket: Ticket, visit: ReturnVisit | None = None, channel: str = "sms") -> tuple[SurveyInvitation, str]:
    """A survey link for one contact, sent by SMS (service message: do-not-disturb does not block a
    question about the customer's own order)."""
    from kefu.notifications.services import customer_notify

    days = settings.KEFU_SURVEY_DAYS
    inv = SurveyInvitation.objects.create(
        ticket=ticket, visit=visit, channel=channel, nonce=secrets.token_urlsafe(12),
        expires_at=timezone.now() + timedelta(days=days),
    )
    token = survey_token(inv)
    link = f"{settings.KEFU_PUBLIC_URL.rstrip('/')}/survey/{token}/"
    if channel == "sms":
        customer_notify(ticket=ticket, template="survey_invite", dedupe=f"survey:{inv.pk}", link=link, days=days)
    return inv, token


class SurveyError(KefuError):
    status = 400
    code = "survey_invalid"


def survey_open(token: str) -> SurveyInvitation:
    """The invitation behind a token, or a SurveyError saying why not: tampered, expired, used."""
    try:
        data = signing.loads(token, salt=SURVEY_SALT, max_age=timedelta(days=settings.KEFU_SURVEY_DAYS))
    except signing.SignatureExpired:
        raise SurveyError(_("This survey link has expired."), code="survey_expired", status=410) from None
    except signing.BadSignature:
        raise SurveyError(_("This survey link is not valid."), code="survey_invalid", status=400) from None
    inv = SurveyInvitation.objects.select_related("ticket").filter(pk=data.get("i")).first()
    if inv is None or not secrets.compare_digest(inv.nonce, str(data.get("n", ""))):
        raise SurveyError(_("This survey link is not valid."), code="survey_invalid", status=400)
    if inv.answered_at is not None:
        raise SurveyError(_("This survey has already been answered. Thank you."), code="survey_used", status=409)
    if inv.expires_at <= timezone.now():
        raise SurveyError(_("This survey link has expired."), code="survey_expired", status=410)
    return inv


@transaction.atomic
def survey_answer(*, token: str, score: Any, reason: str = "") -> SurveyResponse:
    """Store a 1–5 score and reason on the order (F2); ≤ 2 reopens it as rework (F3), ≥ 4 confirms a
    resolved order. Answers once: a reused link is refused."""
    from kefu.core.events import system_actor
    from kefu.tickets import services as ts

    try:
        value = int(score)
    except (TypeError, ValueError):
        value = 0
    if isinstance(score, bool) or not 1 <= value <= 5:
        raise ValidationFailed(fields={"score": _("Give a score from 1 to 5.")})
    reason = (reason or "").strip()
    if len(reason) > 500:
        raise ValidationFailed(fields={"reason": _("At most %(n)d characters.") % {"n": 500}})
    inv = survey_open(token)
    now = timezone.now()
    # One conditional UPDATE: two simultaneous answers, one wins.
    if not SurveyInvitation.objects.filter(pk=inv.pk, answered_at__isnull=True).update(answered_at=now):
        raise SurveyError(_("This survey has already been answered. Thank you."), code="survey_used", status=409)
    ticket = Ticket.objects.select_for_update().get(pk=inv.ticket_id)
    resp = SurveyResponse.objects.create(
        invitation=inv, ticket=ticket, agent_id=ticket.assignee_id or ticket.owner_id, score=value, reason=reason,
        created_at=now,
    )
    Ticket.objects.filter(pk=ticket.pk).update(satisfaction=value)
    with override(settings.LANGUAGE_CODE):
        body = gettext("Customer satisfaction: %(score)d of 5.") % {"score": value}
    TicketEvent.objects.create(ticket=ticket, kind=EventKind.NOTE, actor=None, created_at=now,
                               body=body + (f" {reason}" if reason else ""), data={"survey": resp.pk, "score": value})
    actor = system_actor()
    if value <= 2 and ticket.status in (Status.RESOLVED, Status.CLOSED):
        ts.ticket_reopen(actor=actor, ticket_id=ticket.pk, reason=body + (f" {reason}" if reason else ""))
    elif value >= 4 and ticket.status == Status.RESOLVED:
        ts.ticket_confirm(actor=actor, ticket_id=ticket.pk, note=body)
    visit = inv.visit
    if visit is not None and visit.status == VisitStatus.SCHEDULED:
        visit.status, visit.completed_at = VisitStatus.DONE, now
        visit.outcome = Outcome.UNSATISFIED if value <= 2 else Outcome.SATISFIED if value >= 4 else ""
        visit.save(update_fields=["status", "completed_at", "outcome"])
    outbox.put("survey.completed", ticket_id=ticket.pk, number=ticket.number, score=value, reason=reason,
               agent_id=resp.agent_id)
    return resp


def survey_stats(*, month: date) -> list[dict[str, Any]]:
    """Per agent for one calendar month (local time): answers, average, share satisfied (4–5) (F2)."""
    start = timezone.make_aware(datetime(month.year, month.month, 1))
    end = timezone.make_aware(datetime(month.year + (month.month == 12), month.month % 12 + 1, 1))
    rows = (
        SurveyResponse.objects.filter(created_at__gte=start, created_at__lt=end)
        .values("agent_id", "agent__agent_id", "agent__display_name", "agent__username")
        .annotate(answers=Count("id"), average=Avg("score"), satisfied=Count("id", filter=Q(score__gte=4)))
        .order_by("agent__agent_id", "agent_id")
    )
    return [
        {
            "agent_id": r["agent__agent_id"] or "", "agent_name": r["agent__display_name"] or r["agent__username"] or "",
            "answers": r["answers"], "average": round(float(r["average"]), 2),
            "satisfied_share": round(r["satisfied"] / r["answers"], 4),
        }
        for r in rows
    ]
