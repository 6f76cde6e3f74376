"""Customer portal pages (no staff login): submit a request, track it after a one-time code,
confirm or reopen, rate. Rate-limited per client address."""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from kefu.core.context import client_ip
from kefu.core.errors import KefuError
from kefu.tickets.models import Status, Ticket, TicketEvent, TicketType
from kefu.web.services import form_token_use
from kefu.web.views import new_token

from . import services as ps
from .models import SatisfactionRating

SESSION_KEY = "portal_ticket"
SESSION_MINUTES = 30


def _err(e: KefuError) -> dict[str, Any]:
    return {"error": str(e.message), "field_errors": {k: str(v) for k, v in e.fields.items()}}


def submit(request: HttpRequest) -> HttpResponse:
    ctx: dict[str, Any] = {"types": TicketType.choices, "form": {}, "field_errors": {}, "token": new_token(),
                           "max_mb": settings.KEFU_ATTACHMENT_MAX_BYTES // (1024 * 1024)}
    if request.method != "POST":
        return render(request, "portal/submit.html", ctx)
    ctx["form"] = request.POST.dict()
    f = request.FILES.get("attachment")
    try:
        ps.rate_limit(key=f"submit:{client_ip(request)}", limit=settings.KEFU_PORTAL_SUBMITS_PER_HOUR)
        if f is not None and f.size and f.size > settings.KEFU_ATTACHMENT_MAX_BYTES:
            # Refuse a too-large upload before reading it.
            from kefu.tickets.services import attachment_validate

            attachment_validate(name=f.name or "", size=f.size, content_type=f.content_type or "")
        with transaction.atomic():
            form_token_use(request.POST.get("form_token", ""))
            ticket = ps.portal_submit(
                name=request.POST.get("name", ""), type=request.POST.get("type", ""),
                description=request.POST.get("description", ""), contact_phone=request.POST.get("contact_phone", ""),
                attachment=(f.name or "", f.read(), f.content_type or "") if f is not None else None,
            )
    except KefuError as e:
        ctx.update(_err(e))
        return render(request, "portal/submit.html", ctx, status=e.status)
    request.session["portal_submitted"] = ticket.number
    return redirect("portal:submitted")


def submitted(request: HttpRequest) -> HttpResponse:
    number = request.session.get("portal_submitted")
    if not number:
        return redirect("portal:submit")
    return render(request, "portal/submitted.html", {"number": number})


def track(request: HttpRequest) -> HttpResponse:
    ctx: dict[str, Any] = {"form": request.POST.dict() if request.method == "POST" else {}, "field_errors": {}, "step": "ask"}
    if request.method != "POST":
        return render(request, "portal/track.html", ctx)
    number = request.POST.get("number", "").strip()
    phone = request.POST.get("phone", "").strip()
    try:
        if request.POST.get("step") == "verify":
            ctx["step"] = "verify"
            ps.rate_limit(key=f"verify:{client_ip(request)}", limit=30)
            ticket = ps.portal_code_verify(number=number, phone=phone, code=request.POST.get("code", ""))
            request.session[SESSION_KEY] = {"id": ticket.pk, "until": int(time.time()) + SESSION_MINUTES * 60}
            return redirect("portal:order")
        ps.rate_limit(key=f"code-ip:{client_ip(request)}", limit=settings.KEFU_PORTAL_CODES_PER_HOUR * 4)
        ps.portal_code_send(number=number, phone=phone)
        ctx["step"] = "verify"
        ctx["info"] = _("If the order number and phone number match, a verification code has been sent by SMS.")
    except KefuError as e:
        ctx.update(_err(e))
        return render(request, "portal/track.html", ctx, status=e.status)
    return render(request, "portal/track.html", ctx)


def _session_ticket(request: HttpRequest) -> Ticket | None:
    data = request.session.get(SESSION_KEY)
    if not data or int(data.get("until", 0)) < time.time():
        return None
    return Ticket.objects.select_related("customer").filter(pk=data["id"]).first()


def _render_order(request: HttpRequest, ticket: Ticket, status: int = 200, **extra: Any) -> HttpResponse:
    events = list(TicketEvent.objects.filter(ticket=ticket, public=True).order_by("id"))
    ctx = {
        "ticket": ticket, "events": events, "status_label": Status(ticket.status).label,
        "type_label": TicketType(ticket.type).label,
        "rating": SatisfactionRating.objects.filter(ticket=ticket).first(),
        "token": new_token(), "form": {}, "field_errors": {},
    }
    ctx.update(extra)
    return render(request, "portal/order.html", ctx, status=status)


def order(request: HttpRequest) -> HttpResponse:
    ticket = _session_ticket(request)
    if ticket is None:
        return redirect("portal:track")
    return _render_order(request, ticket)


@require_POST
def order_action(request: HttpRequest, action: str) -> HttpResponse:
    ticket = _session_ticket(request)
    if ticket is None:
        return redirect("portal:track")
    version = request.POST.get("version", "")
    v = int(version) if version.isdigit() else None
    try:
        with transaction.atomic():
            form_token_use(request.POST.get("form_token", ""))
            if action == "confirm":
                ps.portal_confirm(ticket_id=ticket.pk, version=v)
                msg = _("Thank you for confirming. Your order is closed.")
            elif action == "reopen":
                ps.portal_reopen(ticket_id=ticket.pk, reason=request.POST.get("reason", ""), version=v)
                msg = _("Your order has been reopened; we will contact you soon.")
            elif action == "rate":
                ps.ticket_rate(ticket_id=ticket.pk, score=request.POST.get("score", ""), comment=request.POST.get("comment", ""))
                msg = _("Thank you for your rating.")
            else:
                return redirect("portal:order")
    except KefuError as e:
        fresh = Ticket.objects.get(pk=ticket.pk)
        return _render_order(request, fresh, status=e.status, form=request.POST.dict(), **_err(e))
    from django.contrib import messages

    messages.success(request, msg)
    return redirect("portal:order")


@require_POST
def leave(request: HttpRequest) -> HttpResponse:
    request.session.pop(SESSION_KEY, None)
    return redirect("portal:track")
