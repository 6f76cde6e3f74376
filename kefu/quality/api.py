"""Quality inspection HTTP API under ``/api/v1/quality`` (Q1-Q5). Thin: parse → access →
service or selector → present."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal

from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from ninja import Query, Router, Schema
from ninja import Status as Reply
from pydantic import ConfigDict, Field

from kefu.accounts.models import Role, Team, User
from kefu.core.errors import NotFound, PermissionDenied, ValidationFailed

from . import selectors, services
from .engine import check_reply
from .models import Appeal, RuleSet
from .presenters import appeal_present, hit_present, inspection_present

router = Router(tags=["quality"])


class Strict(Schema):
    model_config = ConfigDict(extra="forbid")


class CheckReplyIn(Strict):
    text: str = Field(max_length=5000)


class RuleSetIn(Strict):
    config: dict[str, Any]
    note: str = Field(default="", max_length=500)


class ScoreIn(Strict):
    points: dict[str, float] = Field(default_factory=dict)
    comment: str = Field(default="", max_length=2000)


class AppealIn(Strict):
    reason: str = Field(min_length=1, max_length=2000)
    hit_ids: list[int] = Field(default_factory=list, max_length=100)


class DecideIn(Strict):
    outcome: Literal["upheld", "rejected"]
    note: str = Field(default="", max_length=2000)
    score: float | None = Field(default=None, ge=0, le=100)


@router.post("/quality/check-reply", response=dict[str, Any], summary="Live check of a reply being typed")
def check_reply_endpoint(request: HttpRequest, payload: CheckReplyIn) -> Any:
    """Forbidden phrases (Q2) in ``text`` with offsets into it, before the agent sends it."""
    rs = services.compiled(services.ruleset_active())
    hits = [hit_present(h) for h in check_reply(payload.text, rs)]
    message = str(_("This reply contains a forbidden phrase. Please rephrase it before sending.")) if hits else ""
    return {"ok": not hits, "hits": hits, "message": message}


def _ruleset_present(r: RuleSet, config: bool = False) -> dict[str, Any]:
    out = {"id": r.pk, "name": r.name, "version": r.version, "active": r.active, "note": r.note,
           "created_at": r.created_at, "created_by": r.created_by.label if r.created_by else None}
    if config:
        out["config"] = r.config
    return out


@router.get("/quality/rulesets", response=dict[str, Any], summary="Rule-set versions, newest first")
def list_rulesets(request: HttpRequest) -> Any:
    rows = RuleSet.objects.select_related("created_by").order_by("-id")[:100]
    return {"items": [_ruleset_present(r) for r in rows]}


@router.get("/quality/rulesets/active", response=dict[str, Any], summary="The active rule set with its config")
def active_ruleset(request: HttpRequest) -> Any:
    return _ruleset_present(services.ruleset_active(), config=True)


@router.post("/quality/rulesets", response={201: dict[str, Any]}, summary="Publish a new rule-set version")
def publish_ruleset(request: HttpRequest, payload: RuleSetIn) -> Any:
    user: User = request.user  # type: ignore[assignment]
    row = services.ruleset_publish(actor=user, config=payload.config, note=payload.note)
    return Reply(201, _ruleset_present(row))


@router.get("/quality/inspections/{inspection_id}", response=dict[str, Any], summary="One inspection with its hits")
def get_inspection(request: HttpRequest, inspection_id: str) -> Any:
    user: User = request.user  # type: ignore[assignment]
    return inspection_present(selectors.access_inspection(viewer=user, inspection_id=inspection_id))


@router.post("/quality/inspections/{inspection_id}/score", response=dict[str, Any], summary="Manual scoring (Q4)")
def score_inspection(request: HttpRequest, inspection_id: int, payload: ScoreIn) -> Any:
    user: User = request.user  # type: ignore[assignment]
    insp = services.inspection_score(actor=user, inspection_id=inspection_id, points=payload.points,
                                     comment=payload.comment)
    return inspection_present(insp)


@router.post("/quality/inspections/{inspection_id}/appeals", response={201: dict[str, Any]},
             summary="Appeal an inspection 申诉 (the agent of the contact)")
def submit_appeal(request: HttpRequest, inspection_id: int, payload: AppealIn) -> Any:
    user: User = request.user  # type: ignore[assignment]
    appeal = services.appeal_submit(actor=user, inspection_id=inspection_id, reason=payload.reason,
                                    hit_ids=payload.hit_ids)
    return Reply(201, appeal_present(appeal))


@router.get("/quality/appeals", response=dict[str, Any], summary="Appeals in your scope")
def list_appeals(request: HttpRequest, status: Literal["pending", "upheld", "rejected"] | None = None) -> Any:
    user: User = request.user  # type: ignore[assignment]
    rows = selectors.appeal_list(viewer=user, status=status)
    return {"items": [appeal_present(a) for a in _with_hits(rows)]}


def _with_hits(rows: list[Appeal]) -> list[Appeal]:
    from django.db.models import prefetch_related_objects

    prefetch_related_objects(rows, "hits")
    return rows


@router.post("/quality/appeals/{appeal_id}/decide", response=dict[str, Any], summary="Decide an appeal")
def decide_appeal(request: HttpRequest, appeal_id: int, payload: DecideIn) -> Any:
    user: User = request.user  # type: ignore[assignment]
    appeal = services.appeal_decide(actor=user, appeal_id=appeal_id, outcome=payload.outcome, note=payload.note,
                                    score=payload.score)
    return appeal_present(appeal)


@router.get("/quality/review-queue", response=dict[str, Any], summary="Contacts waiting for manual review (Q4)")
def review_queue(request: HttpRequest, limit: int = Query(100, ge=1, le=500)) -> Any:
    user: User = request.user  # type: ignore[assignment]
    rows = selectors.review_queue(viewer=user, limit=limit)
    return {"items": [{"inspection_id": t.inspection_id, "interaction_id": t.inspection.interaction_id,
                       "agent": t.inspection.agent.label if t.inspection.agent else None,
                       "score": t.inspection.score, "veto": t.inspection.veto, "reasons": t.reasons,
                       "created_at": t.created_at} for t in rows]}


def period(start: datetime | None, end: datetime | None) -> tuple[datetime, datetime]:
    """Default: the last 30 days. Naive values are in the centre's time zone."""
    end = end or timezone.now()
    start = start or end - timedelta(days=30)
    if timezone.is_naive(start):
        start = timezone.make_aware(start)
    if timezone.is_naive(end):
        end = timezone.make_aware(end)
    if start >= end:
        raise ValidationFailed(fields={"end": _("The end of the range must be after its start.")})
    return start, end


@router.get("/quality/scorecards/agent", response=dict[str, Any], summary="An agent's scorecard over a period")
def agent_scorecard(request: HttpRequest, agent_id: str | None = None, start: datetime | None = None,
                    end: datetime | None = None) -> Any:
    user: User = request.user  # type: ignore[assignment]
    start, end = period(start, end)
    agent = user if not agent_id else User.objects.filter(agent_id=agent_id).first()
    if agent is None:
        raise NotFound()
    if agent != user and user.role == Role.AGENT:
        raise NotFound()  # agents see only their own scorecard
    card = selectors.agent_scorecard(viewer=user, agent=agent, start=start, end=end)
    return {"start": start, "end": end, **card.as_dict()}


@router.get("/quality/scorecards/team", response=dict[str, Any], summary="A team's scorecard, one row per agent")
def team_scorecard(request: HttpRequest, team_id: int | None = None, start: datetime | None = None,
                   end: datetime | None = None) -> Any:
    user: User = request.user  # type: ignore[assignment]
    start, end = period(start, end)
    team = Team.objects.filter(pk=team_id or user.team_id or 0).first()
    if team is None or (user.role in (Role.AGENT, Role.TEAM_LEAD) and team.pk != user.team_id):
        raise NotFound()
    if user.role == Role.AGENT:
        raise PermissionDenied()
    total, rows = selectors.team_scorecard(viewer=user, team=team, start=start, end=end)
    return {"start": start, "end": end, "team": total.as_dict(), "agents": [r.as_dict() for r in rows]}


@router.get("/quality/cross-check", response=dict[str, Any],
            summary="Q5: team leads' manual scores against complaint counts")
def cross_check(request: HttpRequest, start: datetime | None = None, end: datetime | None = None,
                high_score: float = Query(90, ge=0, le=100), low_score: float = Query(60, ge=0, le=100),
                min_complaints: int = Query(3, ge=1, le=1000)) -> Any:
    user: User = request.user  # type: ignore[assignment]
    if not (user.is_superuser or user.role in (Role.INSPECTOR, Role.SUPERVISOR, Role.ADMIN, Role.AUDITOR)):
        raise PermissionDenied()
    start, end = period(start, end)
    rows = selectors.cross_check(viewer=user, start=start, end=end, high_score=high_score, low_score=low_score,
                                 min_complaints=min_complaints)
    return {"start": start, "end": end, "items": [r.as_dict() for r in rows],
            "flagged": sum(1 for r in rows if r.flag)}
