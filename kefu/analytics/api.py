"""Analytics HTTP API: ``/api/v1/analytics`` (A1, A3)."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema

from kefu.accounts.models import User

from .indicators import definitions as indicator_definitions
from .selectors import Filters, Period, breakdown, indicator_report, live_board, parse_filters, trend

router = Router(tags=["analytics"])


@router.get("/analytics/indicators", response=dict[str, Any], summary="Work-order indicators for a period, with the previous period and targets")
def indicators(
    request: HttpRequest,
    from_: date = Query(..., alias="from"),
    to: date = Query(...),
    team: int | None = None,
    agent: str | None = Query(None, max_length=16),
) -> dict[str, Any]:
    user: User = request.user  # type: ignore[assignment]
    return indicator_report(viewer=user, period=Period.of_days(from_, to), team_id=team, agent_id=agent)


class FilterParams(Schema):
    """The breakdown filters every figure accepts; ``agent`` is a 工号."""

    team: int | None = None
    agent: str | None = Field(None, max_length=16)
    type: str | None = Field(None, max_length=16)
    category: int | None = None
    region: str | None = Field(None, max_length=32)
    channel: str | None = Field(None, max_length=16)

    def parsed(self) -> Filters:
        return parse_filters(**self.dict())


@router.get("/analytics/trend", response=dict[str, Any],
            summary="One indicator per day, week or month, with the previous period and the target (A3)")
def trend_api(
    request: HttpRequest,
    filters: Query[FilterParams],
    indicator: str = Query(..., max_length=40),
    from_: date = Query(..., alias="from"),
    to: date = Query(...),
    granularity: str = Query("day", max_length=8),
) -> dict[str, Any]:
    user: User = request.user  # type: ignore[assignment]
    return trend(viewer=user, indicator=indicator, period=Period.of_days(from_, to), granularity=granularity,
                 filters=filters.parsed())


@router.get("/analytics/breakdown", response=dict[str, Any],
            summary="One indicator by team, agent, type, category, region or channel, with the previous period")
def breakdown_api(
    request: HttpRequest,
    filters: Query[FilterParams],
    indicator: str = Query(..., max_length=40),
    dimension: str = Query(..., max_length=16),
    from_: date = Query(..., alias="from"),
    to: date = Query(...),
) -> dict[str, Any]:
    user: User = request.user  # type: ignore[assignment]
    return breakdown(viewer=user, indicator=indicator, dimension=dimension, period=Period.of_days(from_, to),
                     filters=filters.parsed())


@router.get("/analytics/live", response=dict[str, Any],
            summary="Today on the floor: queue, answered, abandoned, breached and at risk within the hour")
def live_api(request: HttpRequest, team: int | None = None, agent: str | None = Query(None, max_length=16)) -> dict[str, Any]:
    user: User = request.user  # type: ignore[assignment]
    return live_board(viewer=user, filters=parse_filters(team=team, agent=agent))


@router.get("/analytics/indicators/export", summary="The indicator report as CSV or Excel")
def export_indicators(
    request: HttpRequest,
    from_: date = Query(..., alias="from"),
    to: date = Query(...),
    format: str = Query("xlsx", pattern="^(csv|xlsx)$"),
    team: int | None = None,
    agent: str | None = Query(None, max_length=16),
) -> HttpResponse:
    from .exports import to_csv, to_xlsx

    user: User = request.user  # type: ignore[assignment]
    report = indicator_report(viewer=user, period=Period.of_days(from_, to), team_id=team, agent_id=agent)
    headers = [_("Indicator"), _("Value"), _("Previous period"), _("Change"), _("Target"), _("Numerator"),
               _("Denominator"), _("Formula")]
    rows = [[r["name"], r["value"], r["previous"], r["change"], r["target"], r["numerator"], r["denominator"], r["formula"]]
            for r in report["items"]]
    name = f"kefu-indicators-{from_:%Y%m%d}-{to:%Y%m%d}.{format}"
    if format == "csv":
        body, ctype = to_csv(headers, rows), "text/csv; charset=utf-8"
    else:
        body, ctype = to_xlsx(_("Indicators"), headers, rows), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    response = HttpResponse(body, content_type=ctype)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@router.get("/analytics/definitions", response=dict[str, Any], summary="How every indicator is computed")
def definitions(request: HttpRequest) -> dict[str, Any]:
    return {"items": indicator_definitions(), "next": None}
