"""Reads of quality inspection shared by the API, the pages and reports (Q1-Q5): data scope
built in — agents see their own inspections, team leads their team's, inspectors,
supervisors, admins and auditors everything."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Avg, Count, Q, QuerySet, Sum

from kefu.accounts.models import Role, Team, User
from kefu.core.errors import NotFound
from kefu.interactions.selectors import interaction_scope_q

from .models import Appeal, AppealStatus, Inspection, ReviewTask


def inspection_qs_for(user: User) -> QuerySet[Inspection]:
    scope = interaction_scope_q(user)
    qs = Inspection.objects.all()
    return qs if scope is None else qs.filter(scope)


def access_inspection(*, viewer: User, inspection_id: int | str) -> Inspection:
    """The inspection if ``viewer`` may see its contact, else NotFound."""
    try:
        pk = int(inspection_id)
    except (TypeError, ValueError):
        raise NotFound() from None
    obj = inspection_qs_for(viewer).select_related("interaction", "agent", "reviewed_by").filter(pk=pk).first()
    if obj is None:
        raise NotFound()
    return obj


def current_inspection(interaction_id: int) -> Inspection | None:
    return (Inspection.objects.filter(interaction_id=interaction_id, current=True)
            .select_related("reviewed_by").prefetch_related("hits").first())


def review_queue(*, viewer: User, limit: int = 100) -> list[ReviewTask]:
    """Q4: open review tasks in the viewer's scope, oldest first."""
    scope = interaction_scope_q(viewer, prefix="inspection__")
    qs = ReviewTask.objects.filter(done_at__isnull=True).select_related("inspection", "inspection__agent")
    if scope is not None:
        qs = qs.filter(scope)
    return list(qs.order_by("id")[:limit])


def appeal_list(*, viewer: User, status: str | None = None, limit: int = 100) -> list[Appeal]:
    scope = interaction_scope_q(viewer, prefix="inspection__")
    qs = Appeal.objects.select_related("inspection", "agent", "decided_by")
    if scope is not None:
        qs = qs.filter(scope)
    if status:
        qs = qs.filter(status=status)
    return list(qs.order_by("-id")[:limit])


@dataclass
class Scorecard:
    """Q4/Q6: the numbers of one agent (or a whole team) over a period."""

    label: str
    agent_id: str | None
    contacts: int
    average_score: float | None
    vetoes: int
    distressed: int
    forbidden: int
    forbidden_per_100: float
    reviewed: int
    appeals: int
    appeals_upheld: int

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _card(label: str, agent_code: str | None, row: dict[str, Any], appeals: tuple[int, int]) -> Scorecard:
    contacts = int(row.get("contacts") or 0)
    forbidden = int(row.get("forbidden") or 0)
    avg = row.get("avg")
    return Scorecard(
        label=label, agent_id=agent_code, contacts=contacts,
        average_score=None if avg is None else round(float(avg), 2),
        vetoes=int(row.get("vetoes") or 0), distressed=int(row.get("distressed") or 0), forbidden=forbidden,
        forbidden_per_100=round(100.0 * forbidden / contacts, 2) if contacts else 0.0,
        reviewed=int(row.get("reviewed") or 0), appeals=appeals[0], appeals_upheld=appeals[1],
    )


_AGG = {
    "contacts": Count("id"),
    "avg": Avg("score"),
    "vetoes": Count("id", filter=Q(veto=True)),
    "distressed": Count("id", filter=Q(distress=True)),
    "forbidden": Sum("forbidden_count"),
    "reviewed": Count("id", filter=Q(reviewed_at__isnull=False)),
}


def _period(viewer: User, start: datetime, end: datetime) -> QuerySet[Inspection]:
    return inspection_qs_for(viewer).filter(current=True, started_at__gte=start, started_at__lt=end)


def _appeal_counts(qs: QuerySet[Inspection], by: str | None) -> dict[Any, tuple[int, int]]:
    aqs = Appeal.objects.filter(inspection__in=qs.values("pk"))
    agg = {"n": Count("id"), "upheld": Count("id", filter=Q(status=AppealStatus.UPHELD))}
    if by is None:
        r = aqs.aggregate(**agg)
        return {None: (int(r["n"] or 0), int(r["upheld"] or 0))}
    key = f"inspection__{by}"
    return {r[key]: (r["n"], r["upheld"]) for r in aqs.values(key).annotate(**agg).order_by(key)}


def agent_scorecard(*, viewer: User, agent: User, start: datetime, end: datetime) -> Scorecard:
    """One agent's scorecard over [start, end) — contacts counted by start time. Outside the
    viewer's scope the numbers are simply zero (the scope filter applies)."""
    qs = _period(viewer, start, end).filter(agent=agent)
    row = qs.aggregate(**_AGG)
    return _card(agent.label, agent.agent_id, row, _appeal_counts(qs, None)[None])


def team_scorecard(*, viewer: User, team: Team, start: datetime, end: datetime) -> tuple[Scorecard, list[Scorecard]]:
    """The team total and one row per agent, in a constant number of queries."""
    qs = _period(viewer, start, end).filter(team=team)
    total = _card(team.name, None, qs.aggregate(**_AGG), _appeal_counts(qs, None)[None])
    per_agent = list(qs.values("agent").annotate(**_AGG).order_by("agent"))
    appeals = _appeal_counts(qs, "agent")
    agents = User.objects.in_bulk([r["agent"] for r in per_agent if r["agent"] is not None])
    rows = []
    for r in per_agent:
        a = agents.get(r["agent"])
        rows.append(_card(a.label if a else "-", a.agent_id if a else None, r, appeals.get(r["agent"], (0, 0))))
    return total, rows


@dataclass
class CrossCheckRow:
    """Q5: a team lead's manual scores of one agent against that agent's complaints."""

    lead: str
    agent: str
    agent_id: str | None
    reviews: int
    average_score: float
    complaints: int
    flag: str  # "" | "high_score_many_complaints" | "low_score_no_complaints"

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def cross_check(*, viewer: User, start: datetime, end: datetime, high_score: float = 90.0,
                low_score: float = 60.0, min_complaints: int = 3) -> list[CrossCheckRow]:
    """Q5 (003 §3.1 note 2): for every (team lead, agent) pair with manual scores by that lead
    in [start, end), the lead's average score and the agent's complaint count — work orders of
    type complaint owned by the agent, created in the period. Flagged when they disagree: a
    high average (≥ ``high_score``) with at least ``min_complaints`` complaints (favouritism),
    or a low average (≤ ``low_score``) with no complaint at all (a grudge)."""
    from kefu.tickets.models import Ticket, TicketType

    pairs = list(
        _period(viewer, start, end)
        .filter(reviewed_by__role=Role.TEAM_LEAD, agent__isnull=False, score__isnull=False)
        .values("reviewed_by", "agent").annotate(n=Count("id"), avg=Avg("score")).order_by("reviewed_by", "agent")
    )
    agent_ids = {p["agent"] for p in pairs}
    complaints = dict(
        Ticket.objects.filter(type=TicketType.COMPLAINT, owner_id__in=agent_ids, created_at__gte=start,
                              created_at__lt=end).values("owner").annotate(n=Count("id")).values_list("owner", "n")
    )
    users = User.objects.in_bulk(agent_ids | {p["reviewed_by"] for p in pairs})
    rows: list[CrossCheckRow] = []
    for p in pairs:
        avg = round(float(p["avg"]), 2)
        n = int(complaints.get(p["agent"], 0))
        flag = ""
        if avg >= high_score and n >= min_complaints:
            flag = "high_score_many_complaints"
        elif avg <= low_score and n == 0:
            flag = "low_score_no_complaints"
        agent = users[p["agent"]]
        rows.append(CrossCheckRow(users[p["reviewed_by"]].label, agent.label, agent.agent_id, int(p["n"]), avg, n, flag))
    return rows
