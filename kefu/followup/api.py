"""API of return visits and surveys under /api/v1/ (F1, F2)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from ninja import Router, Schema

from kefu.accounts.models import Role
from kefu.core.errors import PermissionDenied, ValidationFailed

from . import services
from .models import ReturnVisit

router = Router(tags=["return visits and surveys"])


class VisitOut(Schema):
    id: int
    ticket: str | None
    customer_id: int
    kind: str
    reason: str
    status: str
    assignee: str | None
    scheduled_at: datetime
    due_at: datetime
    attempts: int
    outcome: str
    note: str


def _visit(v: ReturnVisit) -> dict[str, Any]:
    return {
        "id": v.pk, "ticket": v.ticket.number if v.ticket_id else None, "customer_id": v.customer_id,
        "kind": v.kind, "reason": v.reason, "status": v.status,
        "assignee": v.assignee.agent_id if v.assignee_id and v.assignee else None,
        "scheduled_at": v.scheduled_at, "due_at": v.due_at, "attempts": v.attempts, "outcome": v.outcome, "note": v.note,
    }


class OutcomeIn(Schema):
    outcome: Literal["satisfied", "unsatisfied", "unreachable"]
    note: str = ""


class SurveyIn(Schema):
    score: int
    reason: str = ""


class SurveyOut(Schema):
    ticket: str
    score: int


class SurveyInfo(Schema):
    ticket: str
    subject: str
    expires_at: datetime


class AgentStat(Schema):
    agent_id: str
    agent_name: str
    answers: int
    average: float
    satisfied_share: float


@router.get("/return-visits", response=list[VisitOut])
def visit_list(request: HttpRequest, status: Literal["scheduled", "done", "cancelled"] = "scheduled") -> list[dict[str, Any]]:
    """The caller's return-visit queue (agents: theirs and unassigned; leads and above: all)."""
    return [_visit(v) for v in services.return_visit_queue(viewer=request.user, status=status)[:200]]


@router.post("/return-visits/{visit_id}/outcome", response=VisitOut)
def visit_outcome(request: HttpRequest, visit_id: int, body: OutcomeIn) -> dict[str, Any]:
    v = services.return_visit_complete(actor=request.user, visit_id=visit_id, outcome=body.outcome, note=body.note)
    return _visit(v)


@router.get("/surveys/stats", response=list[AgentStat])
def survey_stats(request: HttpRequest, month: str) -> list[dict[str, Any]]:
    """Satisfaction per agent for a month ``YYYY-MM`` (F2)."""
    if request.user.role not in (Role.TEAM_LEAD, Role.SUPERVISOR, Role.ADMIN, Role.INSPECTOR, Role.AUDITOR):
        raise PermissionDenied(_("Only team leads and above see satisfaction per agent."))
    try:
        m = datetime.strptime(month, "%Y-%m").date()
    except ValueError:
        raise ValidationFailed(fields={"month": _("Give a month as YYYY-MM.")}) from None
    return services.survey_stats(month=date(m.year, m.month, 1))


@router.get("/surveys/{token}", response=SurveyInfo, auth=None)
def survey_get(request: HttpRequest, token: str) -> dict[str, Any]:
    """Public: what a survey link is about (no login: the signed token is the credential)."""
    inv = services.survey_open(token)
    return {"ticket": inv.ticket.number, "subject": inv.ticket.subject, "expires_at": inv.expires_at}


@router.post("/surveys/{token}", response=SurveyOut, auth=None)
def survey_post(request: HttpRequest, token: str, body: SurveyIn) -> dict[str, Any]:
    resp = services.survey_answer(token=token, score=body.score, reason=body.reason)
    return {"ticket": resp.ticket.number, "score": resp.score}
