"""The reports of issue #7 (A2, A4, F4, Q4, S2), built from interactions, work orders, quality
inspections and return visits, within the viewer's data scope:

- ``daily_summary`` 客服电话接听及问题解决汇总表 (seed 003 附表2, A2): per agent for one day, or per day
  for a range — calls offered/answered, orders taken by type, how many were solved, return visits;
- ``scoring_sheet`` 员工评分表 (seed 003 附表1, Q4, S2): per agent and month — the items of the active
  scoring sheet with their points, weights and veto, automatic and manual scores, satisfaction and
  complaint counts;
- ``feedback_register`` 客户反馈登记表 (seed 003 §一.6, A2): every complaint, suggestion and survey
  remark of the period, customer masked, with handling, outcome and satisfaction;
- ``complaint_causes`` 投诉原因分析 (F4): Pareto by category, region or product with cumulative share,
  and the improvement notes supervisors address to departments;
- ``marketing`` 客服数据营销分析 (A4): consultation topics, demand month over month, feedback per
  product/plan, and the questions customers ask the answering bot;
- ``bot_operations`` 智能客服运营 (K4): per day the bot's conversations, questions, how they were
  met (answered, suggestions, not answered), hand-overs to a person, the self-service rate and the
  customers' ratings, and the wordings it could not answer (customers' numbers masked).

The seed names both 附表 but does not include them; the column sets below are kefu's layout of what
a Chinese contact centre fills in by hand (every column is documented in README "Reports").
Every figure is computed here and nowhere else; ``None`` (shown "—") where a share has no
denominator, never a division by zero. Each table says why it is empty.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Literal

from django.db.models import Avg, Count, F, Q, QuerySet, Sum
from django.db.models.functions import TruncDate, TruncMonth
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kefu.accounts.models import Role, User
from kefu.accounts.permissions import sees_plain_pii
from kefu.core.errors import NotFound, ValidationFailed
from kefu.core.masking import mask_name, mask_phone
from kefu.interactions.models import InteractionChannel
from kefu.interactions.selectors import interaction_qs_for
from kefu.tickets.models import EventKind, Status, Ticket, TicketEvent, TicketType

from .selectors import Period

Kind = Literal["text", "date", "int", "float", "percent"]
# Q1: "振铃声不应超过三声" — the same 15 s the ring-time inspection rule uses by default.
THREE_RINGS_SECONDS = 15.0
# Pareto classes: the causes that make up the first 80 % of complaints are A, up to 95 % B, the rest C.
PARETO_A, PARETO_B = 80.0, 95.0


@dataclass
class Column:
    key: str
    label: str
    kind: Kind = "int"
    group: str = ""  # a heading over neighbouring columns (pages only; files keep one header row)


@dataclass
class Table:
    key: str
    title: str
    columns: list[Column]
    rows: list[dict[str, Any]] = field(default_factory=list)
    total: dict[str, Any] | None = None
    empty: str = ""  # why there are no rows (shown instead of an empty table)
    notes: list[str] = field(default_factory=list)
    all_rows: int | None = None  # when only the first rows were built (pages): how many there are

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key, "title": self.title,
            "columns": [{"key": c.key, "label": c.label, "kind": c.kind} for c in self.columns],
            "rows": self.rows, "total": self.total, "empty": self.empty if not self.rows else "", "notes": self.notes,
            "all_rows": len(self.rows) if self.all_rows is None else self.all_rows,
        }


@dataclass
class Report:
    name: str
    title: str
    period: Period
    tables: list[Table]
    masked: bool = True
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def first_day(self) -> date:
        return first_day(self.period)

    @property
    def last_day(self) -> date:
        return last_day(self.period)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name, "title": self.title, "from": self.first_day, "to": self.last_day,
            "masked": self.masked, "params": self.params, "tables": [t.as_dict() for t in self.tables],
        }


def first_day(period: Period) -> date:
    return timezone.localtime(period.start).date()


def last_day(period: Period) -> date:
    return timezone.localtime(period.end).date() - timedelta(days=1)


def share(numerator: float, denominator: float) -> float | None:
    """A percentage with two decimals; None when there is nothing to divide by."""
    return round(100.0 * numerator / denominator, 2) if denominator else None


def mean(total: float | None, n: int) -> float | None:
    return round(float(total) / n, 2) if n and total is not None else None


# -- scope ---------------------------------------------------------------------------------


def _sees_everyone(viewer: User) -> bool:
    return viewer.is_superuser or viewer.role in (Role.SUPERVISOR, Role.ADMIN, Role.INSPECTOR, Role.AUDITOR)


def staff_in_scope(viewer: User) -> QuerySet[User] | None:
    """Whose figures the viewer may see: None = everyone; a team lead their team and themselves;
    an agent only themselves (S2: own figures)."""
    if _sees_everyone(viewer):
        return None
    if viewer.role == Role.TEAM_LEAD and viewer.team_id:
        return User.objects.filter(Q(team_id=viewer.team_id) | Q(pk=viewer.pk))
    return User.objects.filter(pk=viewer.pk)


def _tickets(viewer: User, agent: User | None) -> QuerySet[Ticket]:
    """Orders in scope, counted for their first-contact owner (W4): an agent's own, a team lead's
    team's (its members' and their own), everyone's for the roles that see everything."""
    qs = Ticket.objects.all()
    staff = staff_in_scope(viewer)
    if staff is not None:
        qs = qs.filter(owner__in=staff)
    if agent is not None:
        qs = qs.filter(owner=agent)
    return qs


def _agent_filter(viewer: User, agent_id: str | None) -> User | None:
    """The agent named by ``agent`` (工号) if the viewer may see them, else a 404 that does not
    say whether they exist."""
    if not agent_id:
        return None
    qs = User.objects.filter(agent_id=agent_id.strip())
    staff = staff_in_scope(viewer)
    if staff is not None:
        qs = qs.filter(pk__in=staff.values("pk"))
    agent = qs.select_related("team").first()
    if agent is None:
        raise NotFound(_("No agent %(id)s in your scope.") % {"id": agent_id[:16]}, code="agent_not_found")
    return agent


def _label(user: User | None) -> str:
    if user is None:
        return _("(unassigned)")
    return user.label


TYPE_COLUMNS = [
    ("consultation", gettext_lazy("Consultation")), ("fault", gettext_lazy("Fault report")),
    ("complaint", gettext_lazy("Complaint")), ("business", gettext_lazy("Business handling")),
    ("suggestion", gettext_lazy("Suggestion")), ("refund", gettext_lazy("Refund")),
]


# -- 1. daily call and problem summary 客服电话接听及问题解决汇总表 (A2) ---------------------------


def _answered_q() -> Q:
    """A call is answered when it has talk time — the definition of the indicators' roll-up
    (``calls_answered``), so that this table and the dashboards agree."""
    return Q(talk_seconds__gt=0)


def daily_summary(*, viewer: User, period: Period, group: str | None = None, agent_id: str | None = None) -> Report:
    """A2 (seed 003 附表2): one row per agent for a single day, one row per day for a range
    (``group`` = ``agent`` or ``day`` overrides), and a total row.

    - calls offered = phone contacts started in the row's day; answered = with talk time (see
      ``_answered_q``); answer rate = answered ÷ offered; within three rings = answered with
      ring ≤ 15 s (unknown when no answered call has its ring time); average ring, queue wait and
      talk seconds over the answered calls that have them;
    - orders = work orders taken (created) in the day, counted for their first-contact owner, per
      type; solved within 24 h = of those, resolved ≤ 24 h after creation; transferred = handed to a
      department or agent at least once; still open = not resolved by the end of the period;
      solve rate = (orders − still open) ÷ orders;
    - return visits done in the day (by who completed them) and how many were satisfied.
    """
    agent = _agent_filter(viewer, agent_id)
    days = (period.end - period.start).days
    group = group or ("agent" if days == 1 else "day")
    if group not in ("agent", "day"):
        raise ValidationFailed(fields={"group": _("Group by agent or by day.")})
    tz = timezone.get_current_timezone()
    s, e = period.start, period.end

    calls = interaction_qs_for(viewer).filter(channel=InteractionChannel.CALL, started_at__gte=s, started_at__lt=e)
    staff = staff_in_scope(viewer)
    if staff is not None:
        calls = calls.filter(agent__in=staff)
    if agent is not None:
        calls = calls.filter(agent=agent)
    orders = _tickets(viewer, agent).filter(created_at__gte=s, created_at__lt=e)
    from kefu.followup.models import Outcome, ReturnVisit, VisitStatus

    visits = ReturnVisit.objects.filter(status=VisitStatus.DONE, completed_at__gte=s, completed_at__lt=e,
                                        ticket__in=_tickets(viewer, None).values("pk"))
    if agent is not None:
        visits = visits.filter(completed_by=agent)

    if group == "agent":
        call_key, order_key, visit_key = "agent", "owner", "completed_by"
    else:
        call_key, order_key, visit_key = "k", "k", "k"
        calls = calls.annotate(k=TruncDate("started_at", tzinfo=tz))
        orders = orders.annotate(k=TruncDate("created_at", tzinfo=tz))
        visits = visits.annotate(k=TruncDate("completed_at", tzinfo=tz))
    answered = _answered_q()
    call_rows = {
        r[call_key]: r for r in calls.values(call_key).annotate(
            offered=Count("id"), answered=Count("id", filter=answered),
            rings=Count("id", filter=answered & Q(ring_seconds__lte=THREE_RINGS_SECONDS)),
            ring_sum=Sum("ring_seconds", filter=answered), ring_n=Count("ring_seconds", filter=answered),
            wait_sum=Sum("wait_seconds", filter=answered), wait_n=Count("wait_seconds", filter=answered),
            talk_sum=Sum("talk_seconds", filter=answered), talk_n=Count("talk_seconds", filter=answered),
        ).order_by(call_key)
    }
    type_counts = {t: Count("id", filter=Q(type=t)) for t, _label in TYPE_COLUMNS}
    order_rows = {
        r[order_key]: r for r in orders.values(order_key).annotate(
            orders=Count("id"), **type_counts,
            solved_24h=Count("id", filter=Q(resolved_at__isnull=False, resolved_at__lte=F("created_at") + timedelta(hours=24))),
            still_open=Count("id", filter=Q(resolved_at__isnull=True) | Q(resolved_at__gte=e)),
        ).order_by(order_key)
    }
    transfer_q = TicketEvent.objects.filter(kind=EventKind.TRANSFER, ticket__in=orders.values("pk"))
    tkey = "ticket__owner" if group == "agent" else "k"
    if group == "day":
        transfer_q = transfer_q.annotate(k=TruncDate("ticket__created_at", tzinfo=tz))
    transferred = dict(transfer_q.values(tkey).annotate(n=Count("ticket", distinct=True)).values_list(tkey, "n"))
    visit_rows = {
        r[visit_key]: r for r in visits.values(visit_key).annotate(
            done=Count("id"), satisfied=Count("id", filter=Q(outcome=Outcome.SATISFIED)),
        ).order_by(visit_key)
    }

    keys: list[Any] = sorted(set(call_rows) | set(order_rows) | set(visit_rows), key=lambda k: (k is None, k or 0))
    columns: list[Column] = []
    if group == "agent":
        users = User.objects.select_related("team").in_bulk([k for k in keys if k is not None])
        if staff is not None:
            keys = [k for k in keys if k in users]  # a visit completed by someone outside the scope
        keys.sort(key=lambda k: (users[k].agent_id or "~", k) if k in users else ("~~", 0))
        columns += [Column("agent_id", _("Agent ID"), "text"), Column("agent", _("Agent"), "text"),
                    Column("team", _("Team"), "text")]
    else:
        columns += [Column("day", _("Date"), "date")]
    calls_g, orders_g, solved_g, visits_g = (_("Call answering"), _("Work orders taken by type"), _("Problem solving"),
                                          _("Return visits"))
    columns += [
        Column("calls_offered", _("Calls received"), group=calls_g),
        Column("calls_answered", _("Calls answered"), group=calls_g),
        Column("calls_missed", _("Calls not answered"), group=calls_g),
        Column("answer_rate", _("Answer rate (%)"), "percent", group=calls_g),
        Column("within_three_rings", _("Answered within three rings"), group=calls_g),
        Column("avg_ring_seconds", _("Average ring (s)"), "float", group=calls_g),
        Column("avg_wait_seconds", _("Average wait in queue (s)"), "float", group=calls_g),
        Column("avg_talk_seconds", _("Average talk time (s)"), "float", group=calls_g),
        Column("orders", _("Work orders taken"), group=orders_g),
        *[Column(t, str(label), group=orders_g) for t, label in TYPE_COLUMNS],
        Column("solved_24h", _("Solved within 24 h"), group=solved_g),
        Column("transferred", _("Transferred"), group=solved_g),
        Column("still_open", _("Still open at period end"), group=solved_g),
        Column("solve_rate", _("Solve rate (%)"), "percent", group=solved_g),
        Column("visits", _("Return visits done"), group=visits_g),
        Column("visits_satisfied", _("Satisfied on return visit"), group=visits_g),
    ]
    sums: Counter[str] = Counter()

    def figures(c: dict[str, Any], o: dict[str, Any], v: dict[str, Any], moved: int) -> dict[str, Any]:
        n_orders = int(o.get("orders", 0))
        still = int(o.get("still_open", 0))
        return {
            "calls_offered": int(c.get("offered", 0)), "calls_answered": int(c.get("answered", 0)),
            "calls_missed": int(c.get("offered", 0)) - int(c.get("answered", 0)),
            "answer_rate": share(c.get("answered", 0), c.get("offered", 0)),
            # unknown (not 0) when no answered call came with its ring time
            "within_three_rings": int(c.get("rings", 0)) if c.get("ring_n") else None,
            "avg_ring_seconds": mean(c.get("ring_sum"), int(c.get("ring_n", 0))),
            "avg_wait_seconds": mean(c.get("wait_sum"), int(c.get("wait_n", 0))),
            "avg_talk_seconds": mean(c.get("talk_sum"), int(c.get("talk_n", 0))),
            "orders": n_orders, **{t: int(o.get(t, 0)) for t, _l in TYPE_COLUMNS},
            "solved_24h": int(o.get("solved_24h", 0)), "transferred": moved, "still_open": still,
            "solve_rate": share(n_orders - still, n_orders),
            "visits": int(v.get("done", 0)), "visits_satisfied": int(v.get("satisfied", 0)),
        }

    rows: list[dict[str, Any]] = []
    for k in keys:
        c, o, v = call_rows.get(k, {}), order_rows.get(k, {}), visit_rows.get(k, {})
        for src in (c, o, v):
            for name, value in src.items():
                if name not in (call_key, order_key, visit_key) and value is not None:
                    sums[name + ("_o" if src is o else "_v" if src is v else "_c")] += value
        sums["transferred"] += transferred.get(k, 0)
        row = figures(c, o, v, transferred.get(k, 0))
        if group == "agent":
            u = users.get(k) if k is not None else None
            row = {"agent_id": (u.agent_id or "") if u else "", "agent": _label(u),
                   "team": u.team.name if u and u.team else "", **row}
        else:
            row = {"day": k.isoformat() if isinstance(k, date) else str(k), **row}
        rows.append(row)

    def unsuffix(suffix: str) -> dict[str, Any]:
        return {name[: -len(suffix)]: value for name, value in sums.items() if name.endswith(suffix)}

    total = figures(unsuffix("_c"), unsuffix("_o"), unsuffix("_v"), sums["transferred"])
    first = "agent_id" if group == "agent" else "day"
    total = {first: _("Total"), **({"agent": "", "team": ""} if group == "agent" else {}), **total}
    table = Table("summary", _("Daily call and problem summary"), columns, rows, total if rows else None,
                  empty=_("No calls, work orders or return visits in this period."))
    table.notes = [
        _("Answer rate = calls answered ÷ calls received; within three rings = answered after at most %(s)d seconds of ringing.")
        % {"s": int(THREE_RINGS_SECONDS)},
        _("Work orders are counted for the agent who took them (first-contact owner); solve rate = orders resolved by the end of the period ÷ orders taken."),
    ]
    return Report("daily_summary", _("Daily call and problem summary"), period, [table],
                  params={"group": group, "agent": agent.agent_id if agent else None})


# -- 2. agent scoring sheet 员工评分表 (Q4, S2) -------------------------------------------------


def avg2(value: Any) -> float | None:
    return round(float(value), 2) if value is not None else None


def item_points(inspections: QuerySet[Any]) -> dict[tuple[int, str], float]:
    """Average points per (agent, sheet item) over ``inspections``, items still pending (points
    null) left out — computed in the database from each inspection's stored sheet (a JSON list of
    ``{"code", "points", …}``): PostgreSQL's ``jsonb_array_elements``, SQLite's ``json_each``;
    another database reads the sheets in Python."""
    from django.db import connection

    from kefu.quality.models import Inspection

    table = connection.ops.quote_name(Inspection._meta.db_table)
    sub, params = inspections.values("pk").query.sql_with_params()
    if connection.vendor == "postgresql":
        sql = (f"SELECT i.agent_id, e->>'code', AVG((e->>'points')::float) FROM {table} i CROSS JOIN LATERAL "
               f"jsonb_array_elements(CASE WHEN jsonb_typeof(i.sheet) = 'array' THEN i.sheet ELSE '[]'::jsonb END) e "
               f"WHERE i.id IN ({sub}) AND jsonb_typeof(e->'points') = 'number' GROUP BY 1, 2")
    elif connection.vendor == "sqlite":
        sql = (f"SELECT i.agent_id, json_extract(e.value, '$.code'), AVG(json_extract(e.value, '$.points')) "
               f"FROM {table} i, json_each(CASE WHEN json_type(i.sheet) = 'array' THEN i.sheet ELSE '[]' END) e "
               f"WHERE i.id IN ({sub}) AND e.type = 'object' AND json_type(e.value, '$.points') IN ('integer', 'real') "
               f"GROUP BY 1, 2")
    else:
        points: dict[tuple[int, str], list[float]] = defaultdict(list)
        for agent_pk, sheet_json in inspections.values_list("agent_id", "sheet"):
            for it in sheet_json or []:
                if it.get("points") is not None:
                    points[(agent_pk, it["code"])].append(float(it["points"]))
        return {k: sum(v) / len(v) for k, v in points.items()}
    with connection.cursor() as cur:
        cur.execute(sql, params)
        return {(agent_pk, code): float(avg) for agent_pk, code, avg in cur.fetchall() if avg is not None}


def scoring_sheet(*, viewer: User, period: Period, agent_id: str | None = None) -> Report:
    """Q4/S2 (seed 003 附表1): one row per agent — for each item of the active scoring sheet the
    average points over the agent's inspected contacts of the period (manual items: over those
    scored by hand), then contacts inspected, reviewed by hand, vetoes, forbidden phrases, the
    average automatic score, the average final score (after manual scoring and appeals),
    satisfaction (survey answers for the agent, share of 4–5) and complaint orders they own.
    A second table lists the items with their points, weight, veto flag and how they are scored."""
    from kefu.followup.models import SurveyResponse
    from kefu.quality import services as qa
    from kefu.quality.selectors import inspection_qs_for

    agent = _agent_filter(viewer, agent_id)
    s, e = period.start, period.end
    ruleset = qa.ruleset_active()
    sheet = qa.compiled(ruleset).sheet
    items = list(sheet.items) if sheet else []
    staff = staff_in_scope(viewer)

    insp = inspection_qs_for(viewer).filter(current=True, started_at__gte=s, started_at__lt=e, agent__isnull=False)
    surveys = SurveyResponse.objects.filter(created_at__gte=s, created_at__lt=e, agent__isnull=False)
    complaints = _tickets(viewer, None).filter(type=TicketType.COMPLAINT, created_at__gte=s, created_at__lt=e)
    if staff is not None:
        insp, surveys = insp.filter(agent__in=staff), surveys.filter(agent__in=staff)
    if agent is not None:
        insp, surveys, complaints = insp.filter(agent=agent), surveys.filter(agent=agent), complaints.filter(owner=agent)

    stats = {r["agent"]: r for r in insp.values("agent").annotate(
        contacts=Count("id"), vetoes=Count("id", filter=Q(veto=True)), forbidden=Sum("forbidden_count"),
        reviewed=Count("id", filter=Q(reviewed_at__isnull=False)), auto=Avg("auto_score"), final=Avg("score"),
        manual=Avg("score", filter=Q(reviewed_at__isnull=False)),
    ).order_by("agent")}
    per_item = item_points(insp)
    sat = {r["agent"]: r for r in surveys.values("agent").annotate(
        n=Count("id"), good=Count("id", filter=Q(score__gte=4)), avg=Avg("score")).order_by("agent")}
    comp = dict(complaints.values("owner").annotate(n=Count("id")).order_by("owner").values_list("owner", "n"))
    agent_pks = set(stats) | set(sat) | set(comp)
    if staff is not None:
        agent_pks &= set(staff.values_list("pk", flat=True))
    users = User.objects.select_related("team").in_bulk(agent_pks)

    columns = [Column("agent_id", _("Agent ID"), "text"), Column("agent", _("Agent"), "text"),
               Column("team", _("Team"), "text")]
    columns += [Column(f"item_{it.code}", f"{it.name}（{it.max_points:g}）", "float") for it in items]
    columns += [
        Column("contacts", _("Contacts inspected")), Column("reviewed", _("Scored by hand")),
        Column("vetoes", _("Vetoes")), Column("forbidden", _("Forbidden phrases")),
        Column("auto_score", _("Automatic score (average)"), "float"),
        Column("manual_score", _("Score of the contacts scored by hand (average)"), "float"),
        Column("final_score", _("Final score (average)"), "float"),
        Column("surveys", _("Satisfaction answers")), Column("satisfaction", _("Satisfied (%)"), "percent"),
        Column("survey_average", _("Average satisfaction (1–5)"), "float"),
        Column("complaints", _("Complaints")),
    ]
    rows = []
    for pk in sorted(agent_pks, key=lambda p: (users[p].agent_id or "~", p) if p in users else ("~~", p)):
        u = users.get(pk)
        st, sv = stats.get(pk, {}), sat.get(pk, {})
        row: dict[str, Any] = {"agent_id": (u.agent_id or "") if u else "", "agent": _label(u),
                               "team": u.team.name if u and u.team else ""}
        for it in items:
            row[f"item_{it.code}"] = avg2(per_item.get((pk, it.code)))
        row.update({
            "contacts": int(st.get("contacts", 0)), "reviewed": int(st.get("reviewed", 0)),
            "vetoes": int(st.get("vetoes", 0)), "forbidden": int(st.get("forbidden") or 0),
            "auto_score": avg2(st.get("auto")), "manual_score": avg2(st.get("manual")), "final_score": avg2(st.get("final")),
            "surveys": int(sv.get("n", 0)), "satisfaction": share(sv.get("good", 0), sv.get("n", 0)),
            "survey_average": round(float(sv["avg"]), 2) if sv.get("avg") is not None else None,
            "complaints": int(comp.get(pk, 0)),
        })
        rows.append(row)
    main = Table("sheet", _("Agent scoring sheet"), columns, rows,
                 empty=_("No inspected contacts, satisfaction answers or complaints in this period."))
    main.notes = [
        _("Item columns: average points over the agent's inspected contacts (maximum in brackets); a vetoed contact scores 0 in total."),
        _("Final score = the inspection score after manual scoring and upheld appeals; satisfied = survey answers of 4 or 5 ÷ answers."),
    ]
    legend = Table("items", _("Scoring items"), [
        Column("item", _("Item"), "text"), Column("max_points", _("Maximum points"), "float"),
        Column("weight", _("Weight"), "float"), Column("veto", _("Veto"), "text"),
        Column("how", _("Scored"), "text"), Column("rules", _("Inspection rules"), "text"),
    ], [
        {"item": it.name, "max_points": it.max_points, "weight": it.weight, "veto": _("Yes") if it.veto else "",
         "how": _("By hand") if it.manual else _("Automatically"), "rules": "、".join(it.rules)}
        for it in items
    ], empty=_("The active rule set has no scoring sheet."))
    if len(rows) == 1:
        # One agent (an agent's own sheet, or agent=工号): the sheet as on paper, with their points per item.
        only = rows[0]
        legend.title = _("Scoring sheet of %(agent)s") % {"agent": only["agent"]}
        legend.columns.insert(2, Column("points", _("Average points"), "float"))
        for it, r in zip(items, legend.rows):
            r["points"] = only[f"item_{it.code}"]
        legend.total = {"item": _("Final score (average)"), "max_points": 100.0, "points": only["final_score"]}
    return Report("scoring_sheet", _("Agent scoring sheet"), period, [main, legend],
                  params={"agent": agent.agent_id if agent else None, "ruleset": ruleset.version})


# -- 3. monthly customer feedback register 客户反馈登记表 (A2, seed 003 §一.6) -----------------


FEEDBACK_TYPES = (TicketType.COMPLAINT, TicketType.SUGGESTION)


def feedback_register(*, viewer: User, period: Period, agent_id: str | None = None, limit: int | None = None) -> Report:
    """Every complaint and suggestion order opened in the period, and every satisfaction answer
    of the period that came with a remark, oldest first. Customer name and phone are masked
    unless the viewer's role sees personal data (X1). ``limit`` (pages): only the first rows are
    built, and the table says how many there are in all."""
    from kefu.followup.models import Outcome, ReturnVisit, SurveyResponse, VisitStatus

    agent = _agent_filter(viewer, agent_id)
    plain = sees_plain_pii(viewer)
    s, e = period.start, period.end
    scope = _tickets(viewer, agent)
    orders_qs = scope.filter(type__in=FEEDBACK_TYPES, created_at__gte=s, created_at__lt=e).order_by("created_at", "id")
    remarks_qs = SurveyResponse.objects.filter(created_at__gte=s, created_at__lt=e, ticket__in=scope.values("pk")).exclude(
        reason="").order_by("created_at", "id")
    # Only the columns the register shows: a month can hold tens of thousands of rows.
    cols = ("id", "number", "type", "status", "subject", "resolution", "contact_phone", "satisfaction", "created_at",
            "category_id", "customer__name", "customer__province", "customer__city", "owner__username",
            "owner__display_name", "owner__agent_id", "assignee_department__name")
    orders_sel = orders_qs.select_related("customer", "owner", "assignee_department").only(*cols)
    remarks_sel = remarks_qs.select_related("ticket", "ticket__customer", "ticket__owner", "ticket__assignee_department").only(
        "ticket_id", "reason", "score", "created_at", *(f"ticket__{c}" for c in cols))
    all_rows = None
    if limit is not None:
        all_rows = orders_qs.count() + remarks_qs.count()
        orders, remarks = list(orders_sel[:limit]), list(remarks_sel[:limit])
        of_rows: Q = Q(ticket_id__in={t.pk for t in orders} | {r.ticket_id for r in remarks})
    else:
        orders, remarks = list(orders_sel), list(remarks_sel)
        # subqueries, not a list of ids: a year's register can hold more ids than SQLite takes as parameters
        of_rows = Q(ticket_id__in=orders_qs.values("pk")) | Q(ticket_id__in=remarks_qs.values("ticket_id"))
    paths = category_paths()
    departments: dict[int, list[str]] = defaultdict(list)
    for tid, data in TicketEvent.objects.filter(of_rows, kind=EventKind.TRANSFER).order_by("id").values_list(
            "ticket_id", "data"):
        name = (data or {}).get("department_name") or (data or {}).get("agent_name")
        if name and name not in departments[tid]:
            departments[tid].append(name)
    visits: dict[int, str] = {}
    for tid, outcome in ReturnVisit.objects.filter(of_rows, status=VisitStatus.DONE).order_by(
            "completed_at", "id").values_list("ticket_id", "outcome"):
        visits[tid] = outcome
    # translated once, not once a row
    outcome_names = {k: str(v) for k, v in Outcome.choices}
    status_names = {k: str(v) for k, v in Status.choices}
    type_names = {k: str(v) for k, v in TicketType.choices}
    remark = _("Survey remark")

    def row(t: Ticket, at: datetime, kind: str, text: str, satisfaction: int | None) -> dict[str, Any]:
        c = t.customer
        phone = t.contact_phone or ""
        return {
            "date": timezone.localtime(at).date().isoformat(), "number": t.number, "kind": kind,
            "customer": c.name if plain else mask_name(c.name),
            "phone": (phone if plain else mask_phone(phone)) if phone else "",
            "region": " ".join(x for x in (c.province, c.city) if x),
            "category": paths.get(t.category_id, "") if t.category_id else "", "summary": text, "_at": at,
            "owner": t.owner.label, "handled_by": "、".join(departments.get(t.pk, [])) or (
                t.assignee_department.name if t.assignee_department_id else ""),
            "status": status_names.get(t.status, t.status), "outcome": t.resolution,
            "return_visit": outcome_names.get(visits.get(t.pk, ""), ""),
            "satisfaction": satisfaction,
        }

    rows = [row(t, t.created_at, type_names[t.type], t.subject, t.satisfaction) for t in orders]
    rows += [row(r.ticket, r.created_at, remark, r.reason, r.score) for r in remarks]
    rows.sort(key=lambda r: (r.pop("_at"), r["number"]))
    if limit is not None:
        rows = rows[:limit]
    for i, r in enumerate(rows, start=1):
        r["no"] = i
    columns = [
        Column("no", _("No.")), Column("date", _("Date"), "date"), Column("number", _("Work order"), "text"),
        Column("kind", _("Kind"), "text"), Column("customer", _("Customer"), "text"),
        Column("phone", _("Contact phone"), "text"), Column("region", _("Region"), "text"),
        Column("category", _("Category"), "text"), Column("summary", _("Feedback"), "text"),
        Column("owner", _("First-contact owner"), "text"), Column("handled_by", _("Handling department"), "text"),
        Column("status", _("Handling status"), "text"), Column("outcome", _("Outcome"), "text"),
        Column("return_visit", _("Return visit"), "text"), Column("satisfaction", _("Satisfaction (1–5)")),
    ]
    table = Table("register", _("Customer feedback register"), columns, rows,
                  empty=_("No complaints, suggestions or survey remarks in this period."), all_rows=all_rows)
    counts = Counter(r["kind"] for r in rows)
    table.notes = [", ".join(f"{k}: {n}" for k, n in sorted(counts.items()))] if rows and limit is None else []
    return Report("feedback_register", _("Customer feedback register"), period, [table], masked=not plain,
                  params={"agent": agent.agent_id if agent else None})


# -- 4. complaint cause analysis 投诉原因分析 (F4) -----------------------------------------------


DIMENSIONS = ("category", "region", "product")


def category_paths() -> dict[int, str]:
    """Every category's path (咨询 › 套餐资费) from one query: the tree is small and read whole."""
    from kefu.tickets.models import Category

    nodes = {c.pk: (c.parent_id, c.name) for c in Category.objects.only("id", "parent_id", "name")}

    def path(pk: int) -> str:
        names, seen = [], set()
        node: int | None = pk
        while node is not None and node in nodes and node not in seen:
            seen.add(node)
            parent, name = nodes[node]
            names.append(name)
            node = parent
        return " › ".join(reversed(names))

    return {pk: path(pk) for pk in nodes}


CAUSE_FIELDS = {"category": ("category_id",), "region": ("customer__province", "customer__city"),
                "product": ("service__kind", "service__plan")}


def cause_counts(dimension: str, qs: QuerySet[Ticket]) -> list[tuple[str, str, int]]:
    """(stable key, label, complaints) per cause along ``dimension``, counted in the database."""
    from kefu.customers.models import ServiceKind
    from kefu.tickets.models import Category

    fields = CAUSE_FIELDS[dimension]
    groups = list(qs.values_list(*fields).annotate(n=Count("id")).order_by(*fields))
    out: list[tuple[str, str, int]] = []
    if dimension == "category":
        codes = dict(Category.objects.filter(pk__in=[g[0] for g in groups if g[0] is not None]).values_list("pk", "code"))
        paths = category_paths()
        for cid, n in groups:
            out.append((f"category:{codes[cid]}", paths[cid], n) if cid in codes else ("category:", _("(no category)"), n))
    elif dimension == "region":
        for province, city, n in groups:
            label = " ".join(x for x in (province, city) if x)
            out.append((f"region:{province}/{city}", label, n) if label else ("region:", _("(no region)"), n))
    else:
        kinds = dict(ServiceKind.choices)
        merged: Counter[tuple[str, str]] = Counter()
        for kind, plan, n in groups:
            if kind is None:
                merged[("product:", _("(no service named)"))] += n
            else:
                name = str(kinds.get(kind, kind))
                merged[(f"product:{kind}/{plan}", f"{name} · {plan}" if plan else name)] += n
        out = [(k, label, n) for (k, label), n in merged.items()]
    return out


def pareto(counts: Iterable[tuple[str, str, int]]) -> list[dict[str, Any]]:
    """Causes by count, largest first (ties by label), with share and cumulative share of the
    total and the Pareto class: A while the cumulative share before the cause is under 80 %,
    B under 95 %, C after."""
    ordered = sorted(counts, key=lambda c: (-c[2], c[1]))
    total = sum(c[2] for c in ordered)
    rows, running = [], 0
    for rank, (key, label, n) in enumerate(ordered, start=1):
        before = 100.0 * running / total if total else 0.0
        running += n
        rows.append({"rank": rank, "key": key, "cause": label, "complaints": n, "share": share(n, total),
                     "cumulative": share(running, total),
                     "class": "A" if before < PARETO_A else "B" if before < PARETO_B else "C"})
    return rows


def complaint_causes(*, viewer: User, period: Period, dimension: str = "category", agent_id: str | None = None) -> Report:
    """F4: complaint orders opened in the period, counted per cause along one dimension (category,
    customer region, product/plan), as a Pareto table; then the improvement notes supervisors
    wrote for causes of this dimension in an overlapping period, with the department addressed."""
    from .models import ImprovementNote

    if dimension not in DIMENSIONS:
        raise ValidationFailed(fields={"dimension": _("Choose category, region or product.")})
    agent = _agent_filter(viewer, agent_id)
    s, e = period.start, period.end
    qs = _tickets(viewer, agent).filter(type=TicketType.COMPLAINT, created_at__gte=s, created_at__lt=e)
    counts = cause_counts(dimension, qs)
    # Notes written for a period that overlaps this one.
    notes = list(ImprovementNote.objects.filter(dimension=dimension, period_start__lte=last_day(period),
                                                period_end__gte=first_day(period))
                 .select_related("department", "author").order_by("-created_at", "-id"))
    per_cause = Counter(n.cause_key for n in notes)
    rows = pareto(counts)
    for r in rows:
        r["notes"] = per_cause.get(r["key"], 0)
    dim_names = {"category": _("Category"), "region": _("Region"), "product": _("Product / plan")}
    table = Table("pareto", _("Complaints by %(dimension)s") % {"dimension": dim_names[dimension]}, [
        Column("rank", _("Rank")), Column("cause", dim_names[dimension], "text"), Column("complaints", _("Complaints")),
        Column("share", _("Share (%)"), "percent"), Column("cumulative", _("Cumulative share (%)"), "percent"),
        Column("class", _("Pareto class"), "text"), Column("notes", _("Improvement notes")),
    ], rows, {"rank": _("Total"), "cause": "", "complaints": sum(c[2] for c in counts), "share": 100.0 if rows else None,
              "cumulative": None, "class": "", "notes": len(notes)} if rows else None,
        empty=_("No complaint orders in this period."))
    table.notes = [_("Class A: the causes that make up the first 80 % of complaints — improve these first; B: up to 95 %; C: the rest.")]
    status_names = dict(ImprovementNote._meta.get_field("status").choices)  # type: ignore[arg-type]
    note_table = Table("notes", _("Improvement notes"), [
        Column("id", _("No.")), Column("cause", _("Cause"), "text"), Column("department", _("Addressed to"), "text"),
        Column("suggestion", _("Improvement suggestion"), "text"), Column("author", _("Written by"), "text"),
        Column("written", _("Written on"), "date"), Column("status", _("Status"), "text"),
        Column("response", _("Department's answer"), "text"),
    ], [
        {"id": n.pk, "cause": n.cause_label, "department": n.department.name, "suggestion": n.suggestion,
         "author": n.author.label, "written": timezone.localtime(n.created_at).date().isoformat(),
         "status": str(status_names.get(n.status, n.status)), "response": n.response, "cause_key": n.cause_key,
         "department_id": n.department_id, "status_code": n.status}
        for n in notes
    ], empty=_("No improvement notes for this period yet."))
    return Report("complaint_causes", _("Complaint cause analysis"), period, [table, note_table],
                  params={"dimension": dimension, "agent": agent.agent_id if agent else None})


# -- 5. customer-service data for marketing 营销分析 (A4) ---------------------------------------


def _months(period: Period) -> list[date]:
    first = timezone.localtime(period.start).date().replace(day=1)
    last = (timezone.localtime(period.end) - timedelta(microseconds=1)).date().replace(day=1)
    out = []
    while first <= last:
        out.append(first)
        first = (first + timedelta(days=32)).replace(day=1)
    return out


def marketing(*, viewer: User, period: Period) -> Report:
    """A4 (seed 002 §2.4): what customers ask about and think of the offers.

    - consultation topics: consultation orders of the period per category, share, the same count
      in the previous period of equal length and the change (%);
    - demand trend: orders per type per calendar month of the period, and the last month against
      the one before (month over month, %);
    - product feedback: per plan or service kind, the orders of each kind, the average
      satisfaction of its orders, and the latest suggestions;
    - bot questions (not for agents): what the answering bot was asked, per knowledge item,
      answered outright or handed over."""
    s, e = period.start, period.end
    scope = _tickets(viewer, None)
    prev = period.previous()

    def by_category(qs: QuerySet[Ticket]) -> dict[Any, int]:
        return dict(qs.values("category_id").annotate(n=Count("id")).order_by("category_id").values_list("category_id", "n"))

    consult = scope.filter(type=TicketType.CONSULTATION)
    now_counts = by_category(consult.filter(created_at__gte=s, created_at__lt=e))
    before = by_category(consult.filter(created_at__gte=prev.start, created_at__lt=prev.end))
    from kefu.tickets.models import Category

    paths = category_paths()
    total = sum(now_counts.values())
    topics = []
    for k, n in sorted(now_counts.items(), key=lambda kv: (-kv[1], paths.get(kv[0], ""))):
        p = before.get(k, 0)
        topics.append({"topic": paths.get(k) or _("(no category)"), "count": n, "share": share(n, total),
                       "previous": p, "change": share(n - p, p)})
    t1 = Table("topics", _("Consultation topics"), [
        Column("topic", _("Topic"), "text"), Column("count", _("Consultations")), Column("share", _("Share (%)"), "percent"),
        Column("previous", _("Previous period")), Column("change", _("Change (%)"), "percent"),
    ], topics, {"topic": _("Total"), "count": total, "share": 100.0 if topics else None,
                "previous": sum(before.values()), "change": share(total - sum(before.values()), sum(before.values()))}
        if topics else None, empty=_("No consultation orders in this period."))

    months = _months(period)
    tz = timezone.get_current_timezone()
    monthly: dict[tuple[str, date], int] = {}
    for r in scope.filter(created_at__gte=s, created_at__lt=e).annotate(
            m=TruncMonth("created_at", tzinfo=tz)).values("type", "m").annotate(n=Count("id")).order_by("type", "m"):
        m = r["m"].date() if isinstance(r["m"], datetime) else r["m"]
        monthly[(r["type"], m)] = r["n"]
    trend_cols = [Column("type", _("Type"), "text")] + [Column(f"m{m:%Y%m}", f"{m:%Y-%m}") for m in months]
    trend_cols.append(Column("mom", _("Month over month (%)"), "percent"))
    trend = []
    for t, label in TYPE_COLUMNS:
        vals = [monthly.get((t, m), 0) for m in months]
        if not any(vals):
            continue
        trend.append({"type": str(label), **{f"m{m:%Y%m}": v for m, v in zip(months, vals)},
                      "mom": share(vals[-1] - vals[-2], vals[-2]) if len(vals) > 1 else None})
    t2 = Table("trend", _("Demand trend by month"), trend_cols, trend, empty=_("No work orders in this period."))
    if len(months) < 2:
        t2.notes = [_("Choose a period of two months or more to see the change month over month.")]

    prod: dict[str, Counter[str]] = defaultdict(Counter)
    sat: dict[str, list[int]] = defaultdict(list)
    ideas: dict[str, list[str]] = defaultdict(list)
    from kefu.customers.models import ServiceKind

    kind_names = dict(ServiceKind.choices)
    for kind, plan, ttype, score, subject in scope.filter(created_at__gte=s, created_at__lt=e, service__isnull=False).order_by(
            "-created_at").values_list("service__kind", "service__plan", "type", "satisfaction", "subject"):
        key = f"{kind_names.get(kind, kind)} · {plan}" if plan else str(kind_names.get(kind, kind))
        prod[key][ttype] += 1
        if score is not None:
            sat[key].append(score)
        if ttype == TicketType.SUGGESTION and len(ideas[key]) < 3:
            ideas[key].append(subject)
    t3_rows = []
    for key in sorted(prod, key=lambda k: (-sum(prod[k].values()), k)):
        c = prod[key]
        t3_rows.append({"product": key, **{t: c.get(t, 0) for t, _l in TYPE_COLUMNS}, "orders": sum(c.values()),
                        "satisfaction": round(sum(sat[key]) / len(sat[key]), 2) if sat[key] else None,
                        "suggestions": "；".join(ideas[key])})
    t3 = Table("products", _("Feedback on products and plans"), [
        Column("product", _("Product / plan"), "text"), *[Column(t, str(label)) for t, label in TYPE_COLUMNS],
        Column("orders", _("Work orders")), Column("satisfaction", _("Average satisfaction (1–5)"), "float"),
        Column("suggestions", _("Latest suggestions"), "text"),
    ], t3_rows, empty=_("No work orders naming a service in this period."))
    tables = [t1, t2, t3, competition_signals(scope, period, prev)]
    if _sees_everyone(viewer) or viewer.role == Role.TEAM_LEAD:
        from kefu.knowledge.models import BotTurn

        title = "item__published__question"
        turns = list(BotTurn.objects.filter(created_at__gte=s, created_at__lt=e).values(title).annotate(
            n=Count("id"), answered_n=Count("id", filter=Q(mode="answer")), handoff_n=Count("id", filter=Q(mode="handoff")),
            helpful_n=Count("id", filter=Q(helpful=True)), unhelpful_n=Count("id", filter=Q(helpful=False)),
        ).order_by("-n", title)[:50])
        t4 = Table("bot", _("Questions asked to the answering bot"), [
            Column("item", _("Knowledge item"), "text"), Column("n", _("Questions")),
            Column("answered_n", _("Answered directly")), Column("handoff_n", _("Handed to an agent")),
            Column("helpful_n", _("Marked helpful")), Column("unhelpful_n", _("Marked unhelpful")),
        ], [{"item": r.pop(title) or _("(no answer found)"), **r} for r in turns],
            empty=_("The answering bot was not asked anything in this period."))
        tables.append(t4)
    return Report("marketing", _("Customer-service data for marketing"), period, tables)


# A4 (seed 002 §2.4 "竞争对手"): what customers' contacts say about leaving for, or comparing with, others.
CHURN_CATEGORIES = (
    ("consultation-mnp", gettext_lazy("Number portability (携号转网) consultations")),
    ("business-cancel", gettext_lazy("Account cancellation requests")),
    ("refund-unsubscribe", gettext_lazy("Unsubscribe refunds")),
)


def competition_signals(scope: QuerySet[Ticket], period: Period, prev: Period) -> Table:
    """Orders of the churn categories, and orders whose subject names a competitor
    (``KEFU_COMPETITOR_NAMES``, none by default), this period against the previous one."""
    from django.conf import settings

    from kefu.tickets.models import Category

    def count(qs: QuerySet[Ticket], p: Period) -> int:
        return qs.filter(created_at__gte=p.start, created_at__lt=p.end).count()

    cats = dict(Category.objects.filter(code__in=[c for c, _l in CHURN_CATEGORIES]).values_list("code", "pk"))
    signals: list[tuple[str, QuerySet[Ticket]]] = [
        (str(label), scope.filter(category_id=cats[code])) for code, label in CHURN_CATEGORIES if code in cats]
    for name in getattr(settings, "KEFU_COMPETITOR_NAMES", []):
        signals.append((_("Orders mentioning “%(name)s”") % {"name": name}, scope.filter(subject__contains=name)))
    rows = []
    for label, qs in signals:
        now_n, before_n = count(qs, period), count(qs, prev)
        rows.append({"signal": label, "count": now_n, "previous": before_n, "change": share(now_n - before_n, before_n)})
    table = Table("competition", _("Churn and competitor signals"), [
        Column("signal", _("Signal"), "text"), Column("count", _("Work orders")), Column("previous", _("Previous period")),
        Column("change", _("Change (%)"), "percent"),
    ], rows, empty=_("No churn categories or competitor names are configured."))
    table.notes = [_("Competitor names are set with KEFU_COMPETITOR_NAMES (comma-separated); none are set by default.")]
    return table


# -- dispatch ------------------------------------------------------------------------------


def bot_operations(*, viewer: User, period: Period) -> Report:
    """K4: how the answering bot served customers, per local day of the period, and a total row.

    - conversations = bot sessions started in the day; handed over = of those, the ones that became
      a work order for a person (转人工); self-service rate (机器人独立接待率) = conversations not
      handed over ÷ conversations; hand-over rate = handed over ÷ conversations;
    - questions = the customers' turns asked in the day; answered = the bot gave an answer;
      suggestions = it offered “您是想问：…”; not answered = it found nothing to offer; answer rate =
      answered ÷ questions;
    - rated = turns the customer rated; helpful rate = rated helpful ÷ rated;
    - the wordings the bot handed over or that were rated unhelpful in the period, most frequent
      first, personal numbers masked (``mask_in_text``).

    Team leads, supervisors, administrators, inspectors and auditors; not agents (nothing in it is
    an agent's own work)."""
    from kefu.core.errors import PermissionDenied
    from kefu.knowledge.bot import unanswered_report
    from kefu.knowledge.models import BotSession, BotTurn

    if not (_sees_everyone(viewer) or viewer.role == Role.TEAM_LEAD):
        raise PermissionDenied(_("The answering bot's figures are for team leads, supervisors and administrators."))
    tz = timezone.get_current_timezone()
    s, e = period.start, period.end
    sessions = {r["k"]: r for r in BotSession.objects.filter(created_at__gte=s, created_at__lt=e)
                .annotate(k=TruncDate("created_at", tzinfo=tz)).values("k")
                .annotate(sessions=Count("id"), handed=Count("id", filter=Q(ticket__isnull=False))).order_by("k")}
    turns = {r["k"]: r for r in BotTurn.objects.filter(created_at__gte=s, created_at__lt=e)
             .annotate(k=TruncDate("created_at", tzinfo=tz)).values("k")
             .annotate(questions=Count("id"), answered=Count("id", filter=Q(mode="answer")),
                       suggested=Count("id", filter=Q(mode="suggest")), unanswered=Count("id", filter=Q(mode="handoff")),
                       rated=Count("id", filter=Q(helpful__isnull=False)), helpful=Count("id", filter=Q(helpful=True)))
             .order_by("k")}
    keys = ("sessions", "handed", "questions", "answered", "suggested", "unanswered", "rated", "helpful")

    def row(values: dict[str, int], **head: Any) -> dict[str, Any]:
        out = {**head, **{k: values.get(k, 0) for k in keys}}
        out["self_service"] = share(out["sessions"] - out["handed"], out["sessions"])
        out["handoff_rate"] = share(out["handed"], out["sessions"])
        out["answer_rate"] = share(out["answered"], out["questions"])
        out["helpful_rate"] = share(out["helpful"], out["rated"])
        return out

    rows, total = [], dict.fromkeys(keys, 0)
    for day in sorted(set(sessions) | set(turns)):
        values = {**sessions.get(day, {}), **turns.get(day, {})}
        rows.append(row(values, day=day))
        for k in keys:
            total[k] += values.get(k, 0)
    daily = Table("daily", _("The answering bot per day"), [
        Column("day", _("Day"), "date"),
        Column("sessions", _("Conversations"), group=_("By conversation")),
        Column("handed", _("Handed to a person"), group=_("By conversation")),
        Column("self_service", _("Self-service rate (%)"), "percent", group=_("By conversation")),
        Column("handoff_rate", _("Hand-over rate (%)"), "percent", group=_("By conversation")),
        Column("questions", _("Questions"), group=_("By question")),
        Column("answered", _("Answered directly"), group=_("By question")),
        Column("suggested", _("Suggestions offered"), group=_("By question")),
        Column("unanswered", _("Not answered"), group=_("By question")),
        Column("answer_rate", _("Bot answer rate (%)"), "percent", group=_("By question")),
        Column("rated", _("Rated"), group=_("Ratings")),
        Column("helpful", _("Marked helpful"), group=_("Ratings")),
        Column("helpful_rate", _("Helpful rate (%)"), "percent", group=_("Ratings")),
    ], rows, total=row(total, day=_("Total")) if rows else None,
        empty=_("The answering bot was not asked anything in this period."))
    missed = Table("unanswered", _("What the bot could not answer"), [
        Column("question", _("Question (customers' numbers masked)"), "text"), Column("count", _("Times")),
    ], [{"question": r["question"], "count": r["count"]} for r in unanswered_report(limit=50, start=s, end=e)],
        empty=_("Every question of the period was answered."))
    return Report("bot_operations", _("Answering-bot operations"), period, [daily, missed])


@dataclass(frozen=True)
class ReportSpec:
    name: str
    title: Any
    build: Callable[..., Report]
    params: tuple[str, ...]


REPORTS: dict[str, ReportSpec] = {
    s.name: s for s in [
        ReportSpec("daily_summary", gettext_lazy("Daily call and problem summary"), daily_summary, ("group", "agent")),
        ReportSpec("scoring_sheet", gettext_lazy("Agent scoring sheet"), scoring_sheet, ("agent",)),
        ReportSpec("feedback_register", gettext_lazy("Customer feedback register"), feedback_register, ("agent",)),
        ReportSpec("complaint_causes", gettext_lazy("Complaint cause analysis"), complaint_causes, ("dimension", "agent")),
        ReportSpec("marketing", gettext_lazy("Customer-service data for marketing"), marketing, ()),
        ReportSpec("bot_operations", gettext_lazy("Answering-bot operations"), bot_operations, ()),
    ]
}


def report_period(*, first: date | None, last: date | None, month: str | None = None) -> Period:
    """The period of a request: ``month=YYYY-MM`` or ``from``/``to`` (whole local days)."""
    if month:
        try:
            y, m = (int(x) for x in month.split("-"))
            first = date(y, m, 1)
        except (ValueError, TypeError):
            raise ValidationFailed(fields={"month": _("Give the month as YYYY-MM, e.g. 2026-03.")}) from None
        last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    if first is None:
        raise ValidationFailed(fields={"from": _("Give the first day of the period.")})
    if last is None:
        raise ValidationFailed(fields={"to": _("Give the last day of the period.")})
    return Period.of_days(first, last)


def reject_nul(**values: Any) -> None:
    """A NUL character in a text input is a 422 naming the field (PostgreSQL cannot store or compare it)."""
    bad = {k: _("Contains a character that is not allowed.") for k, v in values.items() if isinstance(v, str) and "\x00" in v}
    if bad:
        raise ValidationFailed(fields=bad)


def report_spec(name: str) -> ReportSpec:
    """The report called ``name``; unknown names are a 404 listing the known ones."""
    spec = REPORTS.get(name)
    if spec is None:
        raise NotFound(_("There is no report “%(name)s”. Reports: %(known)s.")
                       % {"name": name[:40], "known": ", ".join(REPORTS)}, code="report_not_found")
    return spec


def report_build(name: str, *, viewer: User, period: Period, limit: int | None = None, **params: Any) -> Report:
    """Build report ``name`` for ``viewer``. Parameters a report does not take are ignored; empty
    ones are left out. ``limit``: a page's cap on the rows of long tables (the register)."""
    spec = report_spec(name)
    reject_nul(**params)
    kwargs = {("agent_id" if k == "agent" else k): v for k, v in params.items() if k in spec.params and v not in (None, "")}
    if limit is not None and name == "feedback_register":
        kwargs["limit"] = limit
    return spec.build(viewer=viewer, period=period, **kwargs)
