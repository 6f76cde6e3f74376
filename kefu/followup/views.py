"""The public survey page: /survey/<token>/ (F2). No login; the signed token is the credential."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from kefu.core.errors import KefuError

from . import services


@csrf_exempt  # a customer's phone has no session; the single-use signed token guards the form
@require_http_methods(["GET", "POST"])
def survey_page(request: HttpRequest, token: str) -> HttpResponse:
    ctx: dict[str, object] = {"token": token, "scores": [5, 4, 3, 2, 1]}
    try:
        inv = services.survey_open(token)
        ctx["invitation"] = inv
        if request.method == "POST":
            services.survey_answer(token=token, score=request.POST.get("score"), reason=request.POST.get("reason", ""))
            return render(request, "followup/survey.html", {**ctx, "thanks": True})
    except KefuError as e:
        if e.fields:
            ctx["error"] = " ".join(str(v) for v in e.fields.values())
            return render(request, "followup/survey.html", ctx, status=e.status)
        return render(request, "followup/survey.html", {"error": str(e.message), "closed": True}, status=e.status)
    return render(request, "followup/survey.html", ctx)
