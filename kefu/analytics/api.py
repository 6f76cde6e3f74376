"""Analytics HTTP API: ``/api/v1/analytics`` (A1, A3)."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import Query, Router

from kefu.accounts.models import User

from .indicators import INDICATORS
from .selectors import Period, indicator_report

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
    return {
        "items": [
            {"code": i.code, "name": str(i.name), "formula": str(i.formula), "unit": i.unit, "better": i.better, "target": i.target}
            for i in INDICATORS.values()
        ],
        "next": None,
    }
