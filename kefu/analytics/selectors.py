"""Reads behind the analytics API and dashboards (A1, A3): every figure a page shows comes from here.

Figures are computed from summed measures (``indicators.compute``). Whole past days come from the daily
roll-up (``DailyRollup``); for today the roll-up (kept current by the outbox consumer) is corrected from
raw data for what cannot be known in advance — promises falling due later today are not yet counted,
exactly as ``rollup`` counts them with ``now``. Days after today have no figures yet. ``source="raw"``
computes the same sums straight from the records (the same contribution code, slower): tests compare
the two, and callers whose roll-up was never built (a test database) can use it.

Data scope (same rules as the work-order and contact lists): an agent sees their own figures, a team
lead their team's, supervisors, inspectors, auditors and administrators everyone's. Asking for another
team or agent is refused (403), never silently emptied.

Callers (the reports of issue #7 among them) should use ``Period``, ``Filters``, ``scope_filters``,
``period_sums``, ``ticket_indicators`` and ``indicator_report``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import Count, Exists, F, Min, OuterRef, Q, Sum
from django.db.models.functions import ExtractHour
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kefu.accounts.models import Role, Team, User
from kefu.core.errors import KefuError, PermissionDenied, ValidationFailed
from kefu.tickets.models import Channel, OPEN_STATUSES, Status, Ticket, TicketType

from . import rollup
from .indicators import ALL_DIMENSIONS, INDICATORS, Value, compute, compute_all, meets_target, numerator_in_unit
from .models import MEASURES, DailyBreakdown, DailyByAgent, DailyByDimension, DailyRollup

MAX_DAYS = 366
GRANULARITIES = ("day", "week", "month")
AT_RISK = timedelta(hours=1)
# Dimension name in the API → roll-up column, and its position in a roll-up key.
DIM_COLUMN = {"team": "team_id", "agent": "agent_id", "type": "type", "category": "category_id",
              "region": "region", "channel": "channel"}
DIM_POS = {"team": 1, "agent": 2, "type": 3, "category": 4, "region": 5, "channel": 6}


@dataclass(frozen=True)
class Period:
    start: datetime
    end: datetime

    @classmethod
    def of_days(cls, first: date, last: date) -> Period:
        """Whole local days ``first``..``last`` inclusive; a clear error when reversed or too long."""
        for name, day in (("from", first), ("to", last)):
            if not 2000 <= day.year <= 2100:
                raise ValidationFailed(fields={name: _("Choose a date between 2000 and 2100.")})
        if last < first:
            raise ValidationFailed(fields={"to": _("The end of the range must be after its start.")})
        if (last - first).days + 1 > MAX_DAYS:
            raise ValidationFailed(fields={"to": _("A period is at most %(n)d days.") % {"n": MAX_DAYS}})
        tz = timezone.get_current_timezone()
        return cls(datetime.combine(first, time.min, tz), datetime.combine(last + timedelta(days=1), time.min, tz))

    @property
    def first_day(self) -> date:
        return timezone.localtime(self.start).date()

    @property
    def last_day(self) -> date:
        return timezone.localtime(self.end).date() - timedelta(days=1)

    @property
    def days(self) -> int:
        return (self.last_day - self.first_day).days + 1

    def previous(self) -> Period:
        """The period of the same length just before this one (A3 comparison)."""
        return Period.of_days(self.first_day - timedelta(days=self.days), self.first_day - timedelta(days=1))


@dataclass(frozen=True)
class Filters:
    """Breakdown filters; ``agent`` is the user's id (the API takes the 工号)."""

    team: int | None = None
    agent: int | None = None
    type: str | None = None
    category: int | None = None
    region: str | None = None
    channel: str | None = None

    def items(self) -> list[tuple[str, Any]]:
        return [(d, getattr(self, d)) for d in ALL_DIMENSIONS if getattr(self, d) is not None]


SEES_ALL = frozenset({Role.SUPERVISOR, Role.ADMIN, Role.INSPECTOR, Role.AUDITOR})


def scope_filters(viewer: User, requested: Filters) -> Filters:
    """The filters the viewer's data scope imposes on top of those requested (403 outside it)."""
    if viewer.is_superuser or viewer.role in SEES_ALL:
        return requested
    if viewer.role == Role.TEAM_LEAD and viewer.team_id:
        if requested.team is not None and requested.team != viewer.team_id:
            raise PermissionDenied(_("You can see the figures of your own team only."), code="outside_scope")
        if requested.agent is not None and not User.objects.filter(pk=requested.agent, team_id=viewer.team_id).exists():
            raise PermissionDenied(_("You can see the figures of your own team only."), code="outside_scope")
        return replace(requested, team=viewer.team_id)
    if (requested.agent is not None and requested.agent != viewer.pk) or (
        requested.team is not None and requested.team != viewer.team_id
    ):
        raise PermissionDenied(_("You can see your own figures only."), code="outside_scope")
    return replace(requested, agent=viewer.pk)


def parse_filters(*, team: int | None = None, agent: str | None = None, type: str | None = None,
                  category: int | None = None, region: str | None = None, channel: str | None = None) -> Filters:
    """Filters from request parameters (``agent`` is a 工号); unknown values are a 422 naming the field."""
    errors: dict[str, Any] = {}
    agent_pk = None
    if team is not None and team != 0 and not Team.objects.filter(pk=team).exists():
        errors["team"] = _("No such team.")
    if agent:
        agent_pk = User.objects.filter(agent_id=agent).values_list("pk", flat=True).first()
        if agent_pk is None:
            errors["agent"] = _("No agent has this agent id.")
    if type and type not in TicketType.values:
        errors["type"] = _("Must be one of: %(values)s.") % {"values": ", ".join(TicketType.values)}
    if channel and channel not in Channel.values:
        errors["channel"] = _("Must be one of: %(values)s.") % {"values": ", ".join(Channel.values)}
    if category is not None and category != 0:
        from kefu.tickets.models import Category

        if not Category.objects.filter(pk=category).exists():
            errors["category"] = _("No such category.")
    if region is not None and len(region) > 16:
        errors["region"] = _("Too long: at most %(n)d characters.") % {"n": 16}
    if errors:
        raise ValidationFailed(fields=errors)
    return Filters(team=team, agent=agent_pk, type=type or None, category=category, region=region or None,
                   channel=channel or None)


def check_indicator(code: str, field: str = "indicator") -> None:
    if code not in INDICATORS:
        raise ValidationFailed(fields={field: _("Unknown indicator. Known: %(codes)s.") % {"codes": ", ".join(INDICATORS)}})


def check_dimension(code: str, dimension: str) -> None:
    if dimension not in ALL_DIMENSIONS:
        raise ValidationFailed(
            fields={"dimension": _("Unknown dimension. Known: %(dims)s.") % {"dims": ", ".join(ALL_DIMENSIONS)}}
        )
    if dimension not in INDICATORS[code].dimensions:
        raise ValidationFailed(fields={"dimension": _(
            "“%(indicator)s” cannot be broken down by this dimension: contacts have no work-order type or category."
        ) % {"indicator": INDICATORS[code].name}})


# --- sums -------------------------------------------------------------------------------------------


Sums = dict[str, float]


def _zero() -> Sums:
    return {m: 0 for m in (*MEASURES, "customers_on_record")}


def _grain_rows(filters: Filters, group: str | None, first: date, last: date) -> tuple[Any, str | None]:
    """The coarsest roll-up grain that keeps every dimension filtered on or grouped by, filtered, and
    the column to group by: a month of the overview reads a few thousand DailyByAgent rows, a breakdown
    by region a few hundred DailyBreakdown rows a day, instead of millions of full-grain ones."""
    needed = {d for d, _v in filters.items()} | ({group} if group not in (None, "time") else set())
    column = None if group is None else "day" if group == "time" else DIM_COLUMN[group]
    rng = Q(day__gte=first, day__lte=last)
    if needed <= {"team", "agent"}:
        return DailyByAgent.objects.filter(rng, _rollup_q(filters)), column
    others = needed - {"team"}
    if len(others) == 1 and "agent" not in others:
        d = DIM_COLUMN[others.pop()]
        q = rng & Q(dimension=d)
        if filters.team is not None:
            q &= Q(team_id=filters.team)
        value = getattr(filters, next(k for k, c in DIM_COLUMN.items() if c == d))
        if value is not None:
            q &= Q(value=str(value))
        return DailyBreakdown.objects.filter(q), (column if column in (None, "day", "team_id") else "value")
    model = DailyByDimension if "agent" not in needed else DailyRollup
    return model.objects.filter(rng, _rollup_q(filters)), column


def _rollup_q(filters: Filters) -> Q:
    return Q(**{DIM_COLUMN[d]: v for d, v in filters.items()})


def _key_matches(key: tuple[Any, ...], filters: Filters) -> bool:
    return all(key[DIM_POS[d]] == v for d, v in filters.items())


def _bucket(day: date, granularity: str) -> str:
    if granularity == "week":
        return (day - timedelta(days=day.weekday())).isoformat()
    if granularity == "month":
        return day.strftime("%Y-%m")
    return day.isoformat()


def _add_row(sums: Sums, measures: dict[str, Any]) -> None:
    for m in MEASURES:
        sums[m] += measures.get(m, 0) or 0


def period_sums(*, period: Period, filters: Filters, group: str | None = None, granularity: str = "day",
                now: datetime | None = None, source: str = "rollup",
                measures: Iterable[str] | None = None) -> dict[str, Sums]:
    """Summed measures of the period, in one group ``""`` or grouped by ``group``: a dimension name,
    or ``"time"`` (buckets of ``granularity``). Group values are strings (``"0"``/``""`` = none).
    ``measures`` limits the sums read from the roll-up to those an indicator needs."""
    now = now or timezone.now()
    today = timezone.localtime(now).date()
    last = min(period.last_day, today)
    out: dict[str, Sums] = defaultdict(_zero)
    if last < period.first_day:
        return {}

    def gkey(day: date, key: tuple[Any, ...]) -> str:
        if group is None:
            return ""
        if group == "time":
            return _bucket(day, granularity)
        return str(key[DIM_POS[group]])

    if source == "raw":
        for key, ms in _raw_rows(period, now):
            day = date.fromisoformat(key[0])
            if period.first_day <= day <= last and _key_matches(key, filters):
                _add_row(out[gkey(day, key)], ms)
    else:
        wanted = set(measures) if measures is not None else set(MEASURES)
        sums = {m: Sum(m) for m in MEASURES if m in wanted}
        base, column = _grain_rows(filters, group, period.first_day, last)
        if column is None:
            qs: Any = [base.aggregate(**sums)]
        else:
            qs = base.values(column).annotate(**sums).order_by()
        for r in qs:
            if column == "value":  # DailyBreakdown: the grouped dimension's value as text
                r[DIM_COLUMN[group]] = r["value"]  # type: ignore[index]
            fake = (None, r.get("team_id"), r.get("agent_id"), r.get("type"), r.get("category_id"), r.get("region"),
                    r.get("channel"))
            _add_row(out[gkey(r.get("day") or period.first_day, fake)], r)
        if period.first_day <= today <= last:
            for key, ms in _not_yet_due(now, filters, group):
                _add_row(out[gkey(today, key)], ms)
    if measures is None or "customers_on_record" in measures:
        _customers_on_record(out, period, last, filters, group, granularity, source)
    return dict(out)


def _customer_counts(last: date, region: str | None, source: str) -> list[tuple[date, str, int]]:
    """New customers per day and region up to ``last``."""
    if source == "raw":
        from kefu.customers.models import Customer

        counts: dict[tuple[date, str], int] = defaultdict(int)
        qs = Customer.objects.all() if region is None else Customer.objects.filter(province=region)
        for at, province in qs.values_list("created_at", "province"):
            day = timezone.localtime(at).date()
            if day <= last:
                counts[(day, province or "")] += 1
        return [(d, r, n) for (d, r), n in counts.items()]
    # Customer rows carry no team: (team_id, day) is indexed.
    qs = DailyByDimension.objects.filter(team_id=0, customers_new__gt=0, day__lte=last)
    if region is not None:
        qs = qs.filter(region=region)
    return list(qs.values_list("day", "region").annotate(n=Sum("customers_new")).order_by())


def _customers_on_record(out: dict[str, Sums], period: Period, last: date, filters: Filters, group: str | None,
                         granularity: str, source: str) -> None:
    """Complaint rate denominator: customers on record by the end of the period (or bucket). Customers
    belong to no team or agent, so only the region filter applies to them."""
    counts = _customer_counts(last, filters.region, source)
    if group == "region":
        per_region: dict[str, int] = defaultdict(int)
        for _d, region, n in counts:
            per_region[region] += n
        for key, sums in out.items():
            sums["customers_on_record"] = per_region.get(key, 0)
        return
    if group == "time":
        running = sum(n for d, _r, n in counts if d < period.first_day)
        per_day: dict[date, int] = defaultdict(int)
        for d, _r, n in counts:
            per_day[d] += n
        day = period.first_day
        while day <= last:
            running += per_day.get(day, 0)
            out[_bucket(day, granularity)]["customers_on_record"] = running
            day += timedelta(days=1)
        return
    total = sum(n for _d, _r, n in counts)
    if group is None:
        out[""]["customers_on_record"] = total
    for sums in out.values():
        sums["customers_on_record"] = total


TICKET_FIELD = {"team": "team_id", "agent": "owner_id", "type": "type", "category": "category_id",
                "region": "customer__province", "channel": "channel"}


def _visit_dims() -> dict[str, Any]:
    """A return visit's dimensions as ``rollup`` counts them: the order's, or for a visit without an
    order the visiting agent's team and channel phone."""
    from django.db.models import Case, Value, When
    from django.db.models.functions import Coalesce

    return {
        "team": Case(When(ticket__isnull=True, then=F("assignee__team_id")), default=F("ticket__team_id")),
        "agent": F("assignee_id"), "type": Coalesce(F("ticket__type"), Value("")),
        "category": F("ticket__category_id"), "region": F("customer__province"),
        "channel": Coalesce(F("ticket__channel"), Value("phone")),
    }


def _not_yet_due(now: datetime, filters: Filters, group: str | None) -> Iterable[tuple[tuple[Any, ...], dict[str, int]]]:
    """Today's correction: the roll-up counts every promise falling due today, but one falling due
    later today and not yet met is not counted yet (as ``rollup`` counts with ``now``). Counted in SQL,
    grouped by the one dimension asked for (rows are fake keys with that dimension filled in)."""
    from kefu.followup.models import ReturnVisit

    tz = timezone.get_current_timezone()
    tomorrow = datetime.combine(timezone.localtime(now).date() + timedelta(days=1), time.min, tz)
    day = timezone.localtime(now).date().isoformat()
    dim = group if group in DIM_POS else None

    def key(value: Any) -> tuple[Any, ...]:
        k: list[Any] = [day, 0, 0, "", 0, "", ""]
        if dim is not None:
            k[DIM_POS[dim]] = value if value is not None else ("" if dim in ("type", "region", "channel") else 0)
        return tuple(k)

    fr = Q(first_response_due_at__gte=now, first_response_due_at__lt=tomorrow, first_responded_at__isnull=True)
    res = Q(resolution_due_at__gte=now, resolution_due_at__lt=tomorrow, resolved_at__isnull=True)
    # Unmet promises belong to open orders (merged ones are not counted): the status index narrows the scan.
    orders = Ticket.objects.filter(fr | res, status__in=OPEN_STATUSES).filter(_ticket_dims_q(filters))
    counts = {"fr_due": Count("id", filter=fr), "res_due": Count("id", filter=res)}
    rows = [orders.aggregate(**counts)] if dim is None else \
        orders.values(g=F(TICKET_FIELD[dim])).annotate(**counts).order_by()
    for r in rows:
        yield key(r.get("g")), {"fr_due": -r["fr_due"], "res_due": -r["res_due"]}
    dims = _visit_dims()
    visits = ReturnVisit.objects.filter(due_at__gte=now, due_at__lt=tomorrow).exclude(status__in=["done", "cancelled"])
    visits = visits.annotate(**{f"d_{d}": dims[d] for d, _v in filters.items()})
    for d, v in filters.items():
        visits = visits.filter(**({f"d_{d}__isnull": True} if d in ("team", "category") and v == 0 else {f"d_{d}": v}))
    vrows = [visits.aggregate(n=Count("id"))] if dim is None else \
        visits.values(g=dims[dim]).annotate(n=Count("id")).order_by()
    for r in vrows:
        yield key(r.get("g")), {"rv_due": -r["n"]}


def _ticket_dims_q(filters: Filters) -> Q:
    fields = TICKET_FIELD
    q = Q()
    for d, v in filters.items():
        if d in ("team", "category") and v == 0:
            q &= Q(**{f"{fields[d]}__isnull": True})
        else:
            q &= Q(**{fields[d]: v})
    return q


def _raw_rows(period: Period, now: datetime) -> Iterable[tuple[tuple[Any, ...], dict[str, int]]]:
    """Every contribution row of the records that touch the period, counted as of ``now``."""
    from kefu.followup.models import ReturnVisit, SurveyResponse
    from kefu.interactions.models import Interaction
    from kefu.tickets.models import TicketEvent

    s, e = period.start, period.end
    touching = (
        Q(created_at__gte=s, created_at__lt=e) | Q(first_response_due_at__gte=s, first_response_due_at__lt=e)
        | Q(resolution_due_at__gte=s, resolution_due_at__lt=e) | Q(resolved_at__gte=s, resolved_at__lt=e)
        | Q(closed_at__gte=s, closed_at__lt=e)
        | Q(Exists(TicketEvent.objects.filter(ticket=OuterRef("pk"), kind="status", created_at__gte=s, created_at__lt=e)))
        | Q(Exists(SurveyResponse.objects.filter(ticket=OuterRef("pk"), created_at__gte=s, created_at__lt=e)))
        | Q(Exists(ReturnVisit.objects.filter(ticket=OuterRef("pk"), due_at__gte=s, due_at__lt=e)))
    )
    ids = list(Ticket.objects.filter(touching).values_list("pk", flat=True))
    for i in range(0, len(ids), rollup.CHUNK):
        for rows in rollup._tickets(ids[i:i + rollup.CHUNK], now).values():
            yield from rows.items()
    iids = list(Interaction.objects.filter(started_at__gte=s, started_at__lt=e).values_list("pk", flat=True))
    for i in range(0, len(iids), rollup.CHUNK):
        for rows in rollup._interactions(iids[i:i + rollup.CHUNK]).values():
            yield from rows.items()
    vids = list(ReturnVisit.objects.filter(due_at__gte=s, due_at__lt=e, ticket__isnull=True).values_list("pk", flat=True))
    for rows in rollup._visits(vids, now).values():
        yield from rows.items()


# --- indicators -------------------------------------------------------------------------------------


def indicators_for(*, viewer: User, period: Period, filters: Filters = Filters(), now: datetime | None = None,
                   source: str = "rollup") -> dict[str, Value]:
    f = scope_filters(viewer, filters)
    sums = period_sums(period=period, filters=f, now=now, source=source).get("") or _zero()
    return compute_all(sums)


def _customers_total(period: Period, f: Filters) -> float:
    return sum(n for _d, _r, n in _customer_counts(period.last_day, f.region, "rollup"))


def ticket_indicators(
    *, viewer: User, period: Period, team_id: int | None = None, agent_id: str | None = None,
    now: datetime | None = None, source: str = "rollup",
) -> dict[str, Value]:
    """Every indicator for the period within the viewer's scope (``agent_id`` is a 工号)."""
    filters = parse_filters(team=team_id, agent=agent_id)
    return indicators_for(viewer=viewer, period=period, filters=filters, now=now, source=source)


def indicator_report(
    *, viewer: User, period: Period, team_id: int | None = None, agent_id: str | None = None,
    filters: Filters | None = None, now: datetime | None = None,
) -> dict[str, Any]:
    """This period's figures beside the previous period's and the targets (A3)."""
    now = now or timezone.now()
    f = filters if filters is not None else parse_filters(team=team_id, agent=agent_id)
    current = indicators_for(viewer=viewer, period=period, filters=f, now=now)
    before = indicators_for(viewer=viewer, period=period.previous(), filters=f, now=now)
    items = []
    for code, value in current.items():
        row = value.as_dict()
        prev = before[code].value
        row["previous"] = prev
        row["change"] = None if prev is None or value.value is None else round(value.value - prev, 2)
        row["meets_target"] = meets_target(code, value.value)
        items.append(row)
    return {"from": period.start, "to": period.end, "items": items}


def trend(*, viewer: User, indicator: str, period: Period, granularity: str = "day", filters: Filters = Filters(),
          now: datetime | None = None) -> dict[str, Any]:
    """The indicator per day, week or month of the period, the previous period's series aligned by
    position, and the target (A3)."""
    check_indicator(indicator)
    if granularity not in GRANULARITIES:
        raise ValidationFailed(fields={"granularity": _("Must be one of: %(values)s.") % {"values": ", ".join(GRANULARITIES)}})
    now = now or timezone.now()
    f = scope_filters(viewer, filters)
    prev_period = period.previous()
    need = INDICATORS[indicator].measures
    cur = period_sums(period=period, filters=f, group="time", granularity=granularity, now=now, measures=need)
    prev = period_sums(period=prev_period, filters=f, group="time", granularity=granularity, now=now, measures=need)
    buckets, prev_buckets = _buckets(period, granularity), _buckets(prev_period, granularity)
    points = []
    for i, b in enumerate(buckets):
        v = compute(indicator, cur.get(b) or _zero())
        pb = prev_buckets[i] if i < len(prev_buckets) else None
        pv = compute(indicator, prev.get(pb) or _zero()) if pb else None
        points.append({"bucket": b, "value": v.value, "numerator": v.numerator, "denominator": v.denominator,
                       "numerator_in_unit": numerator_in_unit(indicator, v.numerator),
                       "previous_bucket": pb, "previous": pv.value if pv else None})
    total = _one(indicator, period, f, now)
    prev_total = _one(indicator, prev_period, f, now)
    ind = INDICATORS[indicator]
    empty = all(p["value"] is None for p in points)
    return {
        "indicator": indicator, "name": str(ind.name), "unit": ind.unit, "better": ind.better,
        "target": ind.target, "formula": str(ind.formula), "granularity": granularity,
        "from": period.first_day, "to": period.last_day, "points": points,
        "total": total.as_dict(), "previous_total": prev_total.value,
        "empty_reason": str(_("No data in this period.")) if empty else "",
    }


def _one(indicator: str, period: Period, f: Filters, now: datetime) -> Value:
    """One indicator over the whole period (filters already scoped), reading only its measures."""
    sums = period_sums(period=period, filters=f, now=now, measures=INDICATORS[indicator].measures).get("") or _zero()
    return compute(indicator, sums)


def _buckets(period: Period, granularity: str) -> list[str]:
    out: list[str] = []
    day = period.first_day
    while day <= period.last_day:
        b = _bucket(day, granularity)
        if not out or out[-1] != b:
            out.append(b)
        day += timedelta(days=1)
    return out


def breakdown(*, viewer: User, indicator: str, dimension: str, period: Period, filters: Filters = Filters(),
              now: datetime | None = None, limit: int = 50) -> dict[str, Any]:
    """The indicator per team, agent, type, category, region or channel, with the previous period's
    value of each and the target; largest denominator first."""
    check_indicator(indicator)
    check_dimension(indicator, dimension)
    now = now or timezone.now()
    f = scope_filters(viewer, filters)
    need = INDICATORS[indicator].measures
    cur = period_sums(period=period, filters=f, group=dimension, now=now, measures=need)
    prev = period_sums(period=period.previous(), filters=f, group=dimension, now=now, measures=need)
    labels = dimension_labels(dimension, cur.keys())
    rows = []
    for value_key, sums in cur.items():
        v = compute(indicator, sums)
        if not v.denominator and not v.numerator:
            continue
        pv = compute(indicator, prev[value_key]).value if value_key in prev else None
        rows.append({"key": value_key, "label": labels.get(value_key, value_key), "value": v.value,
                     "numerator": v.numerator, "denominator": v.denominator, "previous": pv,
                     "numerator_in_unit": numerator_in_unit(indicator, v.numerator),
                     "meets_target": meets_target(indicator, v.value)})
    rows.sort(key=lambda r: (-r["denominator"], r["label"]))
    ind = INDICATORS[indicator]
    return {
        "indicator": indicator, "name": str(ind.name), "unit": ind.unit, "better": ind.better, "target": ind.target,
        "dimension": dimension, "from": period.first_day, "to": period.last_day, "items": rows[:limit],
        "empty_reason": "" if rows else str(_("No data in this period.")),
    }


def dimension_labels(dimension: str, keys: Iterable[str]) -> dict[str, str]:
    keys = list(keys)
    none = str(_("(none)"))
    if dimension == "team":
        names = dict(Team.objects.filter(pk__in=[int(k) for k in keys if k != "0"]).values_list("pk", "name"))
        return {k: names.get(int(k), none) if k != "0" else none for k in keys}
    if dimension == "agent":
        users = User.objects.in_bulk([int(k) for k in keys if k != "0"])
        return {k: users[int(k)].label if int(k) in users else none for k in keys}
    if dimension == "category":
        from kefu.tickets.models import Category

        cats = Category.objects.in_bulk([int(k) for k in keys if k != "0"])
        return {k: cats[int(k)].name if int(k) in cats else none for k in keys}
    if dimension == "type":
        return {k: str(TicketType(k).label) if k in TicketType.values else none for k in keys}
    if dimension == "channel":
        return {k: str(Channel(k).label) if k in Channel.values else none for k in keys}
    return {k: k or none for k in keys}


# --- live floor board -----------------------------------------------------------------------------


def live_board(*, viewer: User, filters: Filters = Filters(), now: datetime | None = None) -> dict[str, Any]:
    """Today on the floor, from raw data: the queue now, calls answered and abandoned, orders breached
    and at risk within the hour, and calls per hour."""
    from kefu.interactions.models import Interaction

    now = now or timezone.now()
    f = scope_filters(viewer, filters)
    tz = timezone.get_current_timezone()
    start = datetime.combine(timezone.localtime(now).date(), time.min, tz)
    orders = Ticket.objects.filter(_ticket_dims_q(f))
    q_new = orders.filter(status=Status.NEW).count()
    running = orders.filter(sla_breach_at__isnull=False)
    breached = running.filter(sla_breach_at__lte=now).count()
    at_risk = running.filter(sla_breach_at__gt=now, sla_breach_at__lte=now + AT_RISK).count()
    waiting = orders.filter(status__in=[Status.PENDING_DEPARTMENT, Status.PENDING_CUSTOMER]).count()
    opened_today = orders.filter(created_at__gte=start, created_at__lte=now).count()
    calls = _contacts_filtered(Interaction.objects.filter(channel="call", started_at__gte=start, started_at__lte=now), f)
    hours: dict[int, dict[str, int]] = {h: {"answered": 0, "abandoned": 0} for h in range(24)}
    for r in calls.annotate(h=ExtractHour("started_at", tzinfo=tz)).values("h").annotate(
        answered=Count("id", filter=Q(talk_seconds__gt=0)), all=Count("id"),
    ).order_by():
        hours[r["h"]] = {"answered": r["answered"] or 0, "abandoned": (r["all"] or 0) - (r["answered"] or 0)}
    answered = sum(h["answered"] for h in hours.values())
    abandoned = sum(h["abandoned"] for h in hours.values())
    offered = answered + abandoned
    return {
        "at": now, "queue": q_new, "waiting": waiting, "breached": breached, "at_risk": at_risk,
        "opened_today": opened_today, "answered": answered, "abandoned": abandoned, "offered": offered,
        "answer_rate": round(answered / offered * 100, 2) if offered else None,
        "hours": [{"hour": h, **hours[h]} for h in range(24) if h <= timezone.localtime(now).hour],
        "open": orders.filter(status__in=OPEN_STATUSES).count(),
    }


# --- drill-down ---------------------------------------------------------------------------------------


def drill_ticket_q(*, indicator: str, period: Period, filters: Filters) -> Q:
    """The work orders behind an indicator's figure (for the /w/ list): the orders its denominator
    counts, in the dimensions chosen."""
    from kefu.followup.models import ReturnVisit, SurveyResponse
    from kefu.tickets.models import TicketEvent

    s, e = period.start, period.end
    q = _ticket_dims_q(replace(filters, agent=None) if indicator in ("csat", "csat_satisfied", "return_visit_completion") else filters)
    if indicator in ("first_response_sla",):
        return q & Q(first_response_due_at__gte=s, first_response_due_at__lt=e)
    if indicator == "resolution_sla":
        return q & Q(resolution_due_at__gte=s, resolution_due_at__lt=e)
    if indicator == "fcr":
        first = (TicketEvent.objects.filter(kind="status", data__action="resolve").values("ticket_id")
                 .annotate(first=Min("created_at")).filter(first__gte=s, first__lt=e).values("ticket_id"))
        return q & Q(pk__in=first)
    if indicator == "rework_rate":
        return q & Q(pk__in=TicketEvent.objects.filter(kind="status", data__action__in=["resolve", "reopen"],
                                                      created_at__gte=s, created_at__lt=e).values("ticket_id"))
    if indicator == "avg_resolution_hours":
        return q & Q(resolved_at__gte=s, resolved_at__lt=e)
    if indicator in ("csat", "csat_satisfied"):
        sr = SurveyResponse.objects.filter(created_at__gte=s, created_at__lt=e)
        if filters.agent is not None:
            sr = sr.filter(agent_id=filters.agent)
        return q & Q(pk__in=sr.values("ticket_id"))
    if indicator == "return_visit_completion":
        rv = ReturnVisit.objects.filter(due_at__gte=s, due_at__lt=e).exclude(status="cancelled")
        if filters.agent is not None:
            rv = rv.filter(assignee_id=filters.agent)
        return q & Q(pk__in=rv.values("ticket_id"))
    if indicator == "complaint_rate_per_10k":
        q &= Q(type="complaint")
    return q & Q(created_at__gte=s, created_at__lt=e)


def _contacts_filtered(qs: Any, f: Filters) -> Any:
    """Contacts in the dimensions of ``f`` (a contact has no work-order type or category; channel
    ``phone`` is a call)."""
    if f.team is not None:
        qs = qs.filter(team_id=f.team or None)
    if f.agent is not None:
        qs = qs.filter(agent_id=f.agent)
    if f.region is not None:
        qs = qs.filter(customer__province=f.region)
    if f.channel is not None:
        back = {v: k for k, v in rollup.CONTACT_CHANNEL.items()}
        qs = qs.filter(channel=back.get(f.channel, f.channel))
    if f.type is not None or f.category is not None:
        qs = qs.none()
    return qs


def drill_contacts(*, viewer: User, indicator: str, period: Period, filters: Filters, limit: int = 100) -> list[Any]:
    """The contacts behind a contact indicator's figure, newest first, within the viewer's scope."""
    from kefu.interactions.selectors import interaction_qs_for

    f = scope_filters(viewer, filters)
    qs = _contacts_filtered(interaction_qs_for(viewer).filter(started_at__gte=period.start, started_at__lt=period.end), f)
    if indicator in ("answer_rate", "service_level", "asa", "abandonment_rate", "aht"):
        qs = qs.filter(channel="call")
    if indicator == "forbidden_per_1000":
        qs = qs.filter(inspections__current=True, inspections__forbidden_count__gt=0)
    if indicator == "inspection_score":
        qs = qs.filter(inspections__current=True, inspections__score__isnull=False)
    return list(qs.select_related("agent").order_by("-started_at", "-id")[:limit])


def drill_from_params(*, viewer: User, params: Any) -> tuple[Q | None, str]:
    """The /w/ list's analytics filter (``ind``, ``from``, ``to`` and the dimensions, as the dashboards
    link them): the orders behind the figure within the viewer's analytics scope, and a description.
    Nothing asked → (None, ""); a bad or out-of-scope filter matches nothing and says so."""
    code = (params.get("ind") or "").strip()
    if not code:
        return None, ""
    try:
        check_indicator(code, field="ind")
        period = Period.of_days(date.fromisoformat(params.get("from") or ""), date.fromisoformat(params.get("to") or ""))

        def num(name: str) -> int | None:
            v = (params.get(name) or "").strip()
            return int(v) if v.isdigit() else None

        filters = parse_filters(team=num("team"), agent=(params.get("agent") or "").strip() or None,
                                category=num("category"), region=(params.get("region") or "").strip() or None,
                                channel=(params.get("channel") or "").strip() or None)
        f = scope_filters(viewer, filters)
    except (KefuError, ValueError):
        return Q(pk__in=[]), str(_("The figure's filter is not valid; nothing is listed."))
    text = _("Behind the figure “%(indicator)s”, %(first)s – %(last)s") % {
        "indicator": INDICATORS[code].name, "first": period.first_day.isoformat(), "last": period.last_day.isoformat()}
    return drill_ticket_q(indicator=code, period=period, filters=f), str(text)
