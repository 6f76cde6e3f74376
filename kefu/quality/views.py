"""Quality pages 质检 (Q1-Q5): review queue, an inspection with its transcript and every hit
highlighted, manual scoring, appeals, scorecards and the Q5 cross-check; plus the session
endpoint behind the live reply hint. Thin: parse → access → service/selector → render."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import prefetch_related_objects
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from kefu.accounts.models import Role, Team, User
from kefu.core.errors import KefuError, NotFound

from . import selectors, services
from .engine import check_reply
from .models import Appeal, AppealStatus
from .presenters import hit_present, transcript_rows

JUDGE_ROLES = (Role.INSPECTOR, Role.SUPERVISOR, Role.ADMIN, Role.TEAM_LEAD)


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


@login_required
def queue(request: HttpRequest) -> HttpResponse:
    """Q4: the manual review queue (judges) and the latest inspections in scope (everyone)."""
    user = _user(request)
    tasks = selectors.review_queue(viewer=user, limit=100) if user.role in JUDGE_ROLES or user.is_superuser else []
    recent = list(selectors.inspection_qs_for(user).filter(current=True).select_related("agent")
                  .order_by("-id")[:50])
    appeals = selectors.appeal_list(viewer=user, status=AppealStatus.PENDING, limit=50)
    return render(request, "quality/queue.html", {"tasks": tasks, "recent": recent, "appeals": appeals})


def _detail_context(user: User, inspection_id: int | str) -> dict[str, Any]:
    try:
        insp = selectors.access_inspection(viewer=user, inspection_id=inspection_id)
    except NotFound:
        raise Http404() from None
    hits = list(insp.hits.all())
    utts = list(insp.interaction.utterances.order_by("index"))
    appeals = list(insp.appeals.select_related("agent", "decided_by").order_by("id"))
    prefetch_related_objects(appeals, "hits")
    rs = services.compiled(insp.ruleset)
    items = []
    by_code = {i["code"]: i for i in insp.sheet}
    for item in rs.sheet.items if rs.sheet else ():
        row = by_code.get(item.code, {})
        items.append({"code": item.code, "name": item.name, "max": item.max_points, "manual": item.manual,
                      "veto": item.veto, "points": row.get("points"), "hits": row.get("hits", 0),
                      "given": insp.manual_points.get(item.code)})
    return {
        "insp": insp, "x": insp.interaction, "rows": transcript_rows(utts, hits),
        "contact_hits": [hit_present(h) | {"obj": h} for h in hits if h.utterance_index is None],
        "hits": [hit_present(h) | {"obj": h} for h in hits],
        "items": items, "appeals": appeals,
        "may_judge": services._may_judge(user, insp),
        "may_appeal": insp.agent_id == user.pk and insp.current and not any(a.status == "pending" for a in appeals),
    }


@login_required
def inspection_detail(request: HttpRequest, inspection_id: int) -> HttpResponse:
    return render(request, "quality/detail.html", _detail_context(_user(request), inspection_id))


@login_required
@require_POST
def inspection_action(request: HttpRequest, inspection_id: int, action: str) -> HttpResponse:
    user = _user(request)
    post = request.POST
    try:
        if action == "score":
            points: dict[str, float] = {}
            for key, value in post.items():
                if key.startswith("points.") and value.strip():
                    try:
                        points[key[7:]] = float(value)
                    except ValueError:
                        raise KefuError(_("Points must be numbers."), code="validation_error", status=422) from None
            services.inspection_score(actor=user, inspection_id=inspection_id, points=points,
                                      comment=post.get("comment", ""))
            messages.success(request, _("Score saved."))
        elif action == "appeal":
            hit_ids = [int(v) for v in post.getlist("hit_ids") if v.isdigit()]
            services.appeal_submit(actor=user, inspection_id=inspection_id, reason=post.get("reason", ""),
                                   hit_ids=hit_ids)
            messages.success(request, _("Appeal submitted."))
        elif action == "decide":
            raw = post.get("score", "").strip()
            services.appeal_decide(actor=user, appeal_id=int(post.get("appeal_id", "0") or 0),
                                   outcome=post.get("outcome", ""), note=post.get("note", ""),
                                   score=float(raw) if raw else None)
            messages.success(request, _("Appeal decided."))
        else:
            raise KefuError(_("Unknown action."), code="not_found", status=404)
    except (KefuError, ValueError) as e:
        ctx = _detail_context(user, inspection_id)
        if isinstance(e, KefuError):
            ctx["error"], ctx["field_errors"] = str(e.message), {k: str(v) for k, v in e.fields.items()}
        else:
            ctx["error"] = _("Not valid.")
        return render(request, "quality/detail.html", ctx, status=getattr(e, "status", 422))
    return redirect("quality:detail", inspection_id=inspection_id)


def _period(request: HttpRequest) -> tuple[datetime, datetime]:
    today = timezone.localdate()
    start_d = parse_date(request.GET.get("start", "") or "") or today.replace(day=1)
    end_d = parse_date(request.GET.get("end", "") or "") or today
    tz = timezone.get_current_timezone()
    start = datetime.combine(start_d, datetime.min.time(), tz)
    end = datetime.combine(end_d, datetime.min.time(), tz) + timedelta(days=1)
    return (start, end) if start < end else (end - timedelta(days=1), end)


@login_required
def scorecards(request: HttpRequest) -> HttpResponse:
    """Agent and team scorecards over a period; the Q5 cross-check for inspectors and supervisors."""
    user = _user(request)
    start, end = _period(request)
    ctx: dict[str, Any] = {"start": start.date(), "end": (end - timedelta(days=1)).date()}
    ctx["mine"] = (selectors.agent_scorecard(viewer=user, agent=user, start=start, end=end)
                   if user.role in (Role.AGENT, Role.TEAM_LEAD) else None)
    if user.role != Role.AGENT:
        teams = list(Team.objects.order_by("name")) if user.role != Role.TEAM_LEAD else \
            list(Team.objects.filter(pk=user.team_id))
        ctx["teams"] = [(t, *selectors.team_scorecard(viewer=user, team=t, start=start, end=end)) for t in teams]
    if user.is_superuser or user.role in (Role.INSPECTOR, Role.SUPERVISOR, Role.ADMIN, Role.AUDITOR):
        ctx["cross"] = selectors.cross_check(viewer=user, start=start, end=end)
    return render(request, "quality/scorecards.html", ctx)


@login_required
@require_POST
def check_reply_view(request: HttpRequest) -> JsonResponse:
    """The live hint's endpoint for pages (session + CSRF); same answer as the API's."""
    try:
        text = json.loads(request.body.decode("utf-8") or "{}").get("text", "")
    except (ValueError, UnicodeDecodeError, AttributeError):
        text = request.POST.get("text", "")
    if not isinstance(text, str):
        text = ""
    text = text[:5000]
    hits = [hit_present(h) for h in check_reply(text, services.compiled(services.ruleset_active()))]
    return JsonResponse({"ok": not hits, "hits": hits,
                         "message": _("This reply contains a forbidden phrase. Please rephrase it before sending.")
                         if hits else ""}, json_dumps_params={"ensure_ascii": False})


