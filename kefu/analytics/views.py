"""Analytics dashboards under /a/ (A1, A3): overview, live floor board, trends and breakdowns, and the
contacts behind a figure. Thin: parse → selectors → render; chart data goes to the page with
``json_script`` and is drawn by ``analytics/dashboard.js`` (ECharts from npm). Every number links down
to the work orders (/w/ with the analytics filters) or contacts behind it. A bad parameter renders the
page with its message (422) and empty charts, never a server error."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from kefu.accounts.models import Role, Team, User
from kefu.core.errors import KefuError
from kefu.tickets.models import Channel, TicketType

from . import selectors as sel
from .indicators import ALL_DIMENSIONS, INDICATORS

DEFAULT_DAYS = 30
DIMENSION_LABELS = {
    "team": "Team", "agent": "Agent", "type": "Type", "category": "Category", "region": "Region", "channel": "Channel",
}


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


class Params:
    """The query string of a dashboard page, checked; ``error``/``fields`` hold what was refused."""

    def __init__(self, request: HttpRequest) -> None:
        g = request.GET
        self.error: str = ""
        self.fields: dict[str, str] = {}
        today = timezone.localdate()
        self.raw_from = g.get("from") or (today - timedelta(days=DEFAULT_DAYS - 1)).isoformat()
        self.raw_to = g.get("to") or today.isoformat()
        self.indicator = g.get("indicator") or "answer_rate"
        self.dimension = g.get("dimension") or "team"
        self.granularity = g.get("granularity") or "day"
        self.raw = {k: (g.get(k) or "").strip() for k in ("team", "agent", "type", "category", "region", "channel")}
        self.period: sel.Period | None = None
        self.filters = sel.Filters()
        try:
            first, last = self._date("from", self.raw_from), self._date("to", self.raw_to)
            if first and last:
                self.period = sel.Period.of_days(first, last)
            self.filters = sel.parse_filters(
                team=self._int("team"), agent=self.raw["agent"] or None, type=self.raw["type"] or None,
                category=self._int("category"), region=self.raw["region"] or None,
                channel=self.raw["channel"] or None,
            )
        except KefuError as e:
            self.fail(e)
        if self.fields:
            self.period = None if "from" in self.fields or "to" in self.fields else self.period

    def _date(self, name: str, value: str) -> date | None:
        try:
            return date.fromisoformat(value)
        except ValueError:
            self.fields[name] = _("Enter a date as YYYY-MM-DD.")
            self.error = _("Some fields are not valid.")
            return None

    def _int(self, name: str) -> int | None:
        value = self.raw[name]
        if not value:
            return None
        if not value.isdigit():
            self.fields[name] = _("Enter a whole number.")
            self.error = _("Some fields are not valid.")
            return None
        return int(value)

    def fail(self, e: KefuError) -> None:
        self.error = str(e.message)
        self.fields.update({k: str(v) for k, v in e.fields.items()})

    @property
    def ok(self) -> bool:
        return not self.error and self.period is not None

    def query(self, **override: Any) -> str:
        base = {"from": self.raw_from, "to": self.raw_to, **{k: v for k, v in self.raw.items() if v}}
        base.update({k: v for k, v in override.items() if v not in (None, "")})
        return urlencode(base)


def _choices(viewer: User) -> dict[str, Any]:
    sees_all = viewer.is_superuser or viewer.role in sel.SEES_ALL
    teams = Team.objects.order_by("name") if sees_all else Team.objects.filter(pk=viewer.team_id)
    return {
        "indicators": [(c, i.name) for c, i in INDICATORS.items()],
        "dimensions": [(d, _(DIMENSION_LABELS[d])) for d in ALL_DIMENSIONS],
        "granularities": [("day", _("Day")), ("week", _("Week")), ("month", _("Month"))],
        "teams": list(teams.values_list("pk", "name")), "types": TicketType.choices, "channels": Channel.choices,
        "sees_all": sees_all, "sees_team": sees_all or viewer.role == Role.TEAM_LEAD,
    }


def drill_url(code: str, period_from: str, period_to: str, filters: dict[str, Any]) -> str:
    """Where a figure's orders or contacts are listed: /w/ (work orders, the analytics filters) or
    /a/contacts/."""
    params = {"ind": code, "from": period_from, "to": period_to, **{k: v for k, v in filters.items() if v not in (None, "")}}
    if INDICATORS[code].source == "contacts":
        return reverse("analytics:contacts") + "?" + urlencode(params)
    return reverse("web:list") + "?" + urlencode({"tab": "scope", **params})


def _api_filters(p: Params) -> dict[str, Any]:
    return {k: v for k, v in p.raw.items() if v}


def _status(p: Params) -> int:
    return 422 if p.error else 200


@login_required
def overview(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    p = Params(request)
    ctx: dict[str, Any] = {"p": p, **_choices(user), "cards": [], "error": p.error, "field_errors": p.fields}
    report = _attempt(p, ctx, lambda: sel.indicator_report(viewer=user, period=p.period, filters=p.filters))
    for row in report["items"] if report else []:
        row["drill"] = drill_url(row["code"], p.raw_from, p.raw_to, _api_filters(p))
        row["trend"] = reverse("analytics:trend") + "?" + p.query(indicator=row["code"])
        ctx["cards"].append(row)
    return render(request, "analytics/dashboard.html", ctx, status=_status(p))


@login_required
def live(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    p = Params(request)
    ctx: dict[str, Any] = {"p": p, **_choices(user), "board": None, "error": p.error, "field_errors": p.fields}
    if not p.error:
        try:
            board = sel.live_board(viewer=user, filters=p.filters)
        except KefuError as e:
            p.fail(e)
            ctx.update(error=p.error, field_errors=p.fields)
        else:
            today = timezone.localdate().isoformat()
            f = _api_filters(p)
            board["links"] = {
                "queue": reverse("web:list") + "?" + urlencode({"tab": "scope", "status": "new", **f}),
                "breached": reverse("web:list") + "?" + urlencode({"tab": "scope", "breached": "1", **f}),
                "at_risk": reverse("web:list") + "?" + urlencode({"tab": "scope", "at_risk": "1", **f}),
                "opened": drill_url("escalation_rate", today, today, f),
                "calls": drill_url("answer_rate", today, today, f),
            }
            board["chart"] = {
                "kind": "hours", "empty": _("No calls yet today.") if not board["offered"] else "",
                "categories": [f"{h['hour']:02d}:00" for h in board["hours"]],
                "series": [{"name": _("Answered"), "data": [h["answered"] for h in board["hours"]]},
                           {"name": _("Abandoned"), "data": [h["abandoned"] for h in board["hours"]]}],
                "url": board["links"]["calls"],
            }
            ctx["board"] = board
    template = "analytics/dashboard_live_panel.html" if request.headers.get("HX-Request") else "analytics/dashboard_live.html"
    return render(request, template, ctx, status=_status(p))


def _attempt(p: Params, ctx: dict[str, Any], compute: Any) -> Any:
    """Run a selector for a page: its result, or None with the refusal's message in the context."""
    if not p.ok:
        return None
    try:
        return compute()
    except KefuError as e:
        p.fail(e)
        ctx.update(error=p.error, field_errors=p.fields)
        return None


def _chart(kind: str, p: Params, data: dict[str, Any] | None, rows: list[dict[str, Any]], label: str) -> dict[str, Any]:
    """What dashboard.js draws: this period (each point or bar linking to its records), the previous
    period and the target — or nothing, and why."""
    if data is None:
        return {"kind": kind, "empty": p.error or _("No data in this period."), "categories": [], "series": []}
    return {
        "kind": kind, "unit": data["unit"], "target": data["target"], "empty": data["empty_reason"],
        "categories": [r[label] for r in rows],
        "series": [{"name": _("This period"), "data": [r["value"] for r in rows], "urls": [r["url"] for r in rows]},
                   {"name": _("Previous period"), "data": [r["previous"] for r in rows]}],
        "target_label": _("Target"),
    }


@login_required
def trend(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    p = Params(request)
    ctx: dict[str, Any] = {"p": p, **_choices(user), "error": p.error, "field_errors": p.fields}
    data = _attempt(p, ctx, lambda: sel.trend(viewer=user, indicator=p.indicator, period=p.period,
                                              granularity=p.granularity, filters=p.filters))
    if data is not None:
        f = _api_filters(p)
        for pt in data["points"]:
            first, last = _bucket_days(pt["bucket"], p.granularity, p.period)  # type: ignore[arg-type]
            pt["url"] = drill_url(p.indicator, first, last, f)
    ctx.update(data=data, chart=_chart("trend", p, data, data["points"] if data else [], "bucket"))
    return render(request, "analytics/dashboard_trend.html", ctx, status=_status(p))


def _bucket_days(bucket: str, granularity: str, period: sel.Period) -> tuple[str, str]:
    """The days of a trend bucket, clipped to the period."""
    if granularity == "month":
        first = date.fromisoformat(bucket + "-01")
        last = (first.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    elif granularity == "week":
        first = date.fromisoformat(bucket)
        last = first + timedelta(days=6)
    else:
        first = last = date.fromisoformat(bucket)
    return max(first, period.first_day).isoformat(), min(last, period.last_day).isoformat()


@login_required
def breakdown(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    p = Params(request)
    ctx: dict[str, Any] = {"p": p, **_choices(user), "error": p.error, "field_errors": p.fields}
    data = _attempt(p, ctx, lambda: sel.breakdown(viewer=user, indicator=p.indicator, dimension=p.dimension,
                                                  period=p.period, filters=p.filters))
    if data is not None:
        f = _api_filters(p)
        agent_ids = dict(User.objects.filter(pk__in=[int(r["key"]) for r in data["items"]]).values_list("pk", "agent_id")) \
            if p.dimension == "agent" else {}
        for row in data["items"]:
            value = agent_ids.get(int(row["key"])) or "" if p.dimension == "agent" else row["key"]
            row["url"] = drill_url(p.indicator, p.raw_from, p.raw_to, {**f, p.dimension: value}) if value != "" else ""
    # Largest first in the table; ECharts draws a category axis bottom-up, so the chart gets them reversed.
    ctx.update(data=data, chart=_chart("breakdown", p, data, list(reversed(data["items"])) if data else [], "label"))
    return render(request, "analytics/dashboard_breakdown.html", ctx, status=_status(p))


@login_required
def contacts(request: HttpRequest) -> HttpResponse:
    """The contacts behind a contact indicator's figure."""
    user = _user(request)
    p = Params(request)
    code = request.GET.get("ind") or "answer_rate"
    ctx: dict[str, Any] = {"p": p, "rows": [], "code": code, "name": "", "error": p.error, "field_errors": p.fields}
    if p.ok:
        try:
            sel.check_indicator(code, field="ind")
            ctx["name"] = INDICATORS[code].name
            ctx["rows"] = _contact_rows(sel.drill_contacts(viewer=user, indicator=code, period=p.period,  # type: ignore[arg-type]
                                                           filters=p.filters))
        except KefuError as e:
            p.fail(e)
            ctx.update(error=p.error, field_errors=p.fields)
    return render(request, "analytics/dashboard_contacts.html", ctx, status=_status(p))


def _contact_rows(items: list[Any]) -> list[dict[str, Any]]:
    from kefu.quality.models import Inspection

    current = {iid: (pk, score) for iid, pk, score in Inspection.objects.filter(
        interaction_id__in=[i.pk for i in items], current=True).values_list("interaction_id", "pk", "score")}
    return [{"i": i, "inspection": current.get(i.pk, (None, None))[0], "score": current.get(i.pk, (None, None))[1],
             "answered": (i.talk_seconds or 0) > 0} for i in items]
