"""Agent workspace pages. Thin: parse → access_ticket / selectors / services → render (STYLE.md §2).
A refused action re-renders the page with the message, the fields in error and what was typed."""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib import messages
from django.contrib.auth import authenticate, login, logout
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db import transaction
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from kefu.accounts.models import Department, Role, User
from kefu.accounts.permissions import ALL_TICKETS_ROLES, may_reveal_pii, may_write
from kefu.core.context import client_ip
from kefu.core.errors import KefuError, NotFound, ValidationFailed
from kefu.customers.selectors import customer_find_by_phone, customer_get, customer_present
from kefu.customers.services import clean_phone, customer_reveal
from kefu.tickets import selectors as tsel
from kefu.tickets import services as ts
from kefu.tickets.models import (
    EventKind,
    LinkKind,
    Priority,
    Status,
    Ticket,
    TicketEvent,
    TicketLink,
    TicketType,
)
from kefu.tickets.presenters import ticket_present
from kefu.tickets.state import ALLOWED

from . import selectors as wsel
from . import services as ws
from .scripts import scripts_for

LEADS = (Role.TEAM_LEAD, Role.SUPERVISOR, Role.ADMIN)


def new_token() -> str:
    return uuid.uuid4().hex


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _error_context(e: KefuError) -> dict[str, Any]:
    return {"error": str(e.message), "field_errors": {k: str(v) for k, v in e.fields.items()}}


# --- login ------------------------------------------------------------------------------------


def login_view(request: HttpRequest) -> HttpResponse:
    nxt = request.POST.get("next") or request.GET.get("next") or reverse("web:list")
    if not url_has_allowed_host_and_scheme(nxt, allowed_hosts={request.get_host()}):
        nxt = reverse("web:list")
    ctx: dict[str, Any] = {"next": nxt, "username": ""}
    if request.session.pop("kefu_timed_out", False):
        ctx["info"] = _("You were logged out after a period of inactivity.")
    if request.method == "POST":
        username = (request.POST.get("username") or "").strip()
        password = request.POST.get("password") or ""
        ctx["username"] = username
        if not username or not password:
            ctx["error"] = _("Enter your user name and password.")
            return render(request, "web/login.html", ctx, status=422)
        if ws.login_is_locked(username=username):
            ctx["error"] = _("Too many failed logins. This account is locked; try again in %(minutes)d minutes.") % {
                "minutes": ws.settings.KEFU_LOGIN_WINDOW_MINUTES
            }
            return render(request, "web/login.html", ctx, status=429)
        user = authenticate(request, username=username, password=password)
        if user is None:
            locked = ws.login_attempt_record(username=username, ip=client_ip(request), success=False)
            ctx["error"] = (
                _("Too many failed logins. This account is locked; try again in %(minutes)d minutes.")
                % {"minutes": ws.settings.KEFU_LOGIN_WINDOW_MINUTES}
                if locked else _("Wrong user name or password.")
            )
            return render(request, "web/login.html", ctx, status=429 if locked else 401)
        login(request, user)
        ws.login_attempt_record(username=username, ip=client_ip(request), success=True, user=user)  # type: ignore[arg-type]
        return redirect(nxt)
    return render(request, "web/login.html", ctx)


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    logout(request)
    return redirect("web:login")


def home(request: HttpRequest) -> HttpResponse:
    return redirect("web:list" if request.user.is_authenticated else "web:login")


# --- list -------------------------------------------------------------------------------------


def _rows(tickets: list[Ticket], viewer: User) -> list[dict[str, Any]]:
    now = timezone.now()
    return [{"t": t, "p": ticket_present(t, viewer), "sla": wsel.sla_view(t, now)} for t in tickets]


@login_required
def ticket_list(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    query = wsel.ListQuery.parse(request.GET)
    tickets, nxt = wsel.workspace_rows(viewer=user, query=query)
    params = request.GET.copy()
    params.pop("cursor", None)
    next_url = None
    if nxt:
        params["cursor"] = nxt
        next_url = "?" + params.urlencode()
    base = request.GET.copy()
    base.pop("cursor", None)
    base.pop("tab", None)
    return render(request, "web/list.html", {
        "rows": _rows(tickets, user), "query": query, "next_url": next_url,
        "statuses": Status.choices, "types": TicketType.choices, "priorities": Priority.choices,
        "saved_views": list(user.saved_views.all()), "current_query": request.GET.urlencode(),
        "tab_base": base.urlencode(), "sees_all": user.role in ALL_TICKETS_ROLES,
        "analytics_filter": query.extra_q(user)[1] if query.analytics else "",
        "analytics_params": query.analytics, "at_risk": query.at_risk,
    })


@login_required
@require_POST
def saved_view_save(request: HttpRequest) -> HttpResponse:
    query = request.POST.get("query", "")
    try:
        ws.saved_view_save(actor=_user(request), name=request.POST.get("name", ""), query=query)
        messages.success(request, _("View saved."))
    except KefuError as e:
        messages.error(request, "; ".join(str(v) for v in e.fields.values()) or str(e.message))
    return redirect(reverse("web:list") + ("?" + query if query else ""))


@login_required
@require_POST
def saved_view_delete(request: HttpRequest, view_id: int) -> HttpResponse:
    ws.saved_view_delete(actor=_user(request), view_id=view_id)
    return redirect("web:list")


# --- detail -----------------------------------------------------------------------------------


def _access(user: User, ticket_id: str) -> Ticket:
    try:
        return tsel.access_ticket(viewer=user, ticket_id=ticket_id)
    except NotFound:
        raise Http404(_("Work order not found.")) from None


def _label(choices: Any, value: Any) -> str:
    try:
        return str(choices(value).label)
    except ValueError:
        return str(value or "")


def event_summary(ev: TicketEvent) -> str:
    """One line saying what the event did, in the reader's language (the body says why)."""
    d = ev.data or {}
    match ev.kind:
        case EventKind.STATUS | EventKind.MERGE if "to" in d and "from" in d:
            line = _("Status: %(src)s → %(dst)s") % {"src": _label(Status, d["from"]), "dst": _label(Status, d["to"])}
            if d.get("into"):
                line += " · " + _("merged into %(number)s") % {"number": d["into"]}
            return line
        case EventKind.MERGE:
            return _("%(number)s was merged into this order") % {"number": d.get("merged", "")}
        case EventKind.TRANSFER:
            if "queue" in d:
                return _("Put in the queue of %(team)s") % {"team": d.get("queue_name") or _("the supervisors")}
            target = d.get("department_name") or (f"{d.get('agent_name', '')}")
            return _("Transferred to %(target)s") % {"target": target}
        case EventKind.ESCALATE:
            return _("Escalated to level %(level)s") % {"level": d.get("level", "")}
        case EventKind.PRIORITY:
            return _("Priority: %(src)s → %(dst)s") % {"src": _label(Priority, d.get("from")), "dst": _label(Priority, d.get("to"))}
        case EventKind.LINK:
            other = d.get("target") or d.get("source") or ""
            return _("Linked (%(kind)s): %(number)s") % {"kind": _label(LinkKind, d.get("link_kind")), "number": other}
        case EventKind.ATTACHMENT:
            return _("Attached %(name)s") % {"name": d.get("name", "")}
        case EventKind.CREATED:
            return _("Created (%(type)s, %(priority)s)") % {
                "type": _label(TicketType, d.get("type")), "priority": _label(Priority, d.get("priority"))
            }
    return ""


def _actions(ticket: Ticket, user: User) -> set[str]:
    if not may_write(user):
        return set()
    s = ticket.status
    acts = {"note", "link", "attach"}
    if s != Status.CLOSED:
        acts.add("reply")
    if ticket.is_open:
        acts |= {"transfer", "escalate", "priority", "merge"}
        if ticket.assignee_id is None and ticket.assignee_department_id is None and user.agent_id and not user.department_id:
            acts.add("claim")
    if Status.PENDING_CUSTOMER in ALLOWED[s] and s != Status.PENDING_CUSTOMER:
        acts.add("pend")
    if s in (Status.PENDING_CUSTOMER, Status.PENDING_DEPARTMENT):
        acts.add("resume")
    if Status.RESOLVED in ALLOWED[s]:
        acts.add("resolve")
    if s == Status.RESOLVED:
        acts |= {"confirm", "close"}
    if s in (Status.RESOLVED, Status.CLOSED) and ticket.merged_into_id is None:
        acts.add("reopen")
    return acts


def render_detail(request: HttpRequest, ticket: Ticket, *, status: int = 200, **extra: Any) -> HttpResponse:
    user = _user(request)
    customer = customer_get(customer_id=ticket.customer_id)
    previous, _n = tsel.ticket_list(
        viewer=user, filters=tsel.TicketFilters(customer=ticket.customer_id), limit=8
    )
    timeline = tsel.ticket_timeline(ticket)
    links = [
        {"kind": _label(LinkKind, link.kind), "number": link.target.number, "id": link.target_id}
        for link in TicketLink.objects.filter(source=ticket).select_related("target").only("kind", "target__number")
    ] + [
        {"kind": _label(LinkKind, link.kind), "number": link.source.number, "id": link.source_id}
        for link in TicketLink.objects.filter(target=ticket).select_related("source").only("kind", "source__number")
    ]
    from kefu.portal.models import SatisfactionRating

    ctx: dict[str, Any] = {
        "ticket": ticket,
        "p": ticket_present(ticket, user),
        "sla": wsel.sla_view(ticket, timezone.now()),
        "timeline": [{"ev": ev, "summary": event_summary(ev)} for ev in timeline],
        "links": links,
        "attachments": list(ticket.attachments.order_by("id")),
        "customer": customer_present(customer, user, detail=True),
        "previous": [t for t in previous if t.pk != ticket.pk],
        "rating": SatisfactionRating.objects.filter(ticket=ticket).first(),
        "actions": _actions(ticket, user),
        "may_reveal": may_reveal_pii(user),
        "scripts": scripts_for(user),
        "departments": list(Department.objects.filter(active=True).order_by("id")),
        "agents": list(User.objects.filter(is_active=True, role__in=[Role.AGENT, Role.TEAM_LEAD], department__isnull=True)
                       .exclude(agent_id=None).order_by("agent_id").only("id", "agent_id", "display_name", "username")),
        "priorities": Priority.choices, "link_kinds": LinkKind.choices,
        "token": new_token(), "form": {}, "field_errors": {},
    }
    ctx.update(extra)
    return render(request, "web/detail.html", ctx, status=status)


@login_required
def ticket_detail(request: HttpRequest, ticket_id: str) -> HttpResponse:
    return render_detail(request, _access(_user(request), ticket_id))


def _version(request: HttpRequest) -> int | None:
    raw = request.POST.get("version", "")
    return int(raw) if raw.isdigit() else None


def _run(user: User, ticket: Ticket, action: str, post: Any, version: int | None) -> str:
    """Call the service for ``action``; returns the success message."""
    common: dict[str, Any] = {"actor": user, "ticket_id": ticket.pk, "version": version}
    reason = post.get("reason", "")
    match action:
        case "reply":
            ts.ticket_reply(body=post.get("body", ""), **common)
            return _("Reply sent.")
        case "note":
            ts.ticket_note(body=post.get("body", ""), **common)
            return _("Note added.")
        case "transfer":
            target = post.get("target", "")
            kind, _sep, value = target.partition(":")
            if kind not in ("agent", "department") or not value:
                raise ValidationFailed(fields={"target": _("Choose an agent or a department.")})
            ts.ticket_transfer(reason=reason, **{kind: value}, **common)
            return _("Work order transferred.")
        case "escalate":
            ts.ticket_escalate(reason=reason, **common)
            return _("Work order escalated.")
        case "priority":
            ts.ticket_set_priority(priority=post.get("priority", ""), reason=reason, **common)
            return _("Priority changed.")
        case "pend":
            ts.ticket_pend(reason=reason, **common)
            return _("Now waiting for the customer.")
        case "resume":
            ts.ticket_resume(reason=reason, **common)
            return _("Work resumed.")
        case "resolve":
            ts.ticket_resolve(resolution=post.get("resolution", ""), **common)
            return _("Resolved; waiting for the customer's confirmation.")
        case "confirm":
            ts.ticket_confirm(note=reason, **common)
            return _("The customer's confirmation is recorded; the order is closed.")
        case "close":
            ts.ticket_close(reason=reason, **common)
            return _("Work order closed.")
        case "reopen":
            ts.ticket_reopen(reason=reason, **common)
            return _("Work order reopened.")
        case "link":
            to = (post.get("to") or "").strip()
            if not to:
                raise ValidationFailed(fields={"to": _("This field is required.")})
            ts.ticket_link(to=to, kind=post.get("kind", "related"), **common)
            return _("Link added.")
        case "claim":
            ts.ticket_claim(**common)
            return _("The work order is yours now.")
        case "merge":
            into = (post.get("into") or "").strip()
            if not into:
                raise ValidationFailed(fields={"into": _("This field is required.")})
            ts.ticket_merge(into=into, reason=reason, **common)
            return _("Merged.")
    raise Http404()


ACTIONS = {"reply", "note", "transfer", "escalate", "priority", "pend", "resume", "resolve", "confirm", "close",
           "reopen", "link", "merge", "claim"}


@login_required
@require_POST
def ticket_action(request: HttpRequest, ticket_id: str, action: str) -> HttpResponse:
    user = _user(request)
    ticket = _access(user, ticket_id)  # scope first: outside it, a 404 whatever was posted
    if action not in ACTIONS:
        raise Http404()
    try:
        with transaction.atomic():
            ws.form_token_use(request.POST.get("form_token", ""))
            done = _run(user, ticket, action, request.POST, _version(request))
    except KefuError as e:
        fresh = _access(user, ticket_id)
        return render_detail(
            request, fresh, status=e.status, form=request.POST.dict(), open_form=action, **_error_context(e)
        )
    messages.success(request, done)
    return redirect("web:detail", ticket_id=ticket.pk)


@login_required
@require_POST
def ticket_attach(request: HttpRequest, ticket_id: str) -> HttpResponse:
    user = _user(request)
    ticket = _access(user, ticket_id)
    f = request.FILES.get("file")
    try:
        if f is None:
            raise ValidationFailed(fields={"file": _("Choose a file.")})
        # Refuse by declared size and type before reading the upload.
        ts.attachment_validate(name=f.name or "", size=f.size or 0, content_type=f.content_type or "")
        with transaction.atomic():
            ws.form_token_use(request.POST.get("form_token", ""))
            ts.ticket_attach(actor=user, ticket_id=ticket.pk, name=f.name or "", content=f.read(),
                             content_type=f.content_type or "", version=_version(request))
    except KefuError as e:
        return render_detail(request, _access(user, ticket_id), status=e.status, open_form="attach", **_error_context(e))
    messages.success(request, _("File attached."))
    return redirect("web:detail", ticket_id=ticket.pk)


@login_required
def attachment_download(request: HttpRequest, ticket_id: str, attachment_id: int) -> HttpResponseBase:
    ticket = _access(_user(request), ticket_id)
    att = ticket.attachments.filter(pk=attachment_id).first()
    if att is None:
        raise Http404()
    return FileResponse(att.file.open("rb"), as_attachment=True, filename=att.name, content_type=att.content_type)


@login_required
@require_POST
def reveal(request: HttpRequest, ticket_id: str) -> HttpResponse:
    """X1: show one masked field of the order's customer, for a stated reason (audited)."""
    user = _user(request)
    ticket = _access(user, ticket_id)
    try:
        out = customer_reveal(actor=user, customer_id=ticket.customer_id, field=request.POST.get("field", ""),
                              reason=request.POST.get("reason", ""))
    except KefuError as e:
        return render_detail(request, ticket, status=e.status, form=request.POST.dict(), open_form="reveal",
                             **_error_context(e))
    value = out["value"]
    return render_detail(request, ticket, revealed={"field": out["field"],
                                                    "value": "、".join(value) if isinstance(value, list) else value})


# --- taking a call ----------------------------------------------------------------------------


@login_required
def call(request: HttpRequest) -> HttpResponse:
    """W2/W4: search by the calling number → the customer's panel → a prefilled order, owned by the taker."""
    user = _user(request)
    if not may_write(user):
        raise DjangoPermissionDenied()
    data = request.POST if request.method == "POST" else request.GET
    raw = (data.get("phone") or "").strip()
    ctx: dict[str, Any] = {
        "phone": raw, "types": TicketType.choices, "priorities": Priority.choices, "token": new_token(),
        "form": data.dict() if request.method == "POST" else {}, "field_errors": {}, "searched": bool(raw),
    }
    status = 200
    customers: list[Any] = []
    if raw:
        try:
            number = clean_phone(raw, field="phone")
            customers = list(customer_find_by_phone(number)[:5])
            ctx["number"] = number
        except KefuError as e:
            ctx.update(_error_context(e))
            return render(request, "web/call.html", ctx, status=422)
    wanted = data.get("customer_id", "")
    chosen = next((c for c in customers if str(c.pk) == wanted), customers[0] if customers else None)
    if request.method == "POST":
        cust_id = chosen.pk if chosen is not None else None
        service = data.get("service_id", "")
        try:
            ticket = ws.call_take(
                actor=user, calling_number=raw, customer_id=cust_id, new_customer_name=data.get("new_customer_name", ""),
                type=data.get("type", ""), priority=data.get("priority", "normal"), subject=data.get("subject", ""),
                description=data.get("description", ""), service_id=int(service) if service.isdigit() else None,
                form_token=data.get("form_token", ""),
            )
        except KefuError as e:
            ctx.update(_error_context(e))
            status = e.status
        else:
            messages.success(request, _("Work order %(number)s created; you are its owner.") % {"number": ticket.number})
            return redirect("web:detail", ticket_id=ticket.pk)
    if chosen is not None:
        ctx["customer"] = customer_present(chosen, user, detail=True)
        ctx["customer_id"] = chosen.pk
        ctx["others"] = [{"id": c.pk, "name": customer_present(c, user, detail=False)["name"]} for c in customers if c.pk != chosen.pk]
        recent, _n = tsel.ticket_list(viewer=user, filters=tsel.TicketFilters(customer=chosen.pk), limit=5)
        ctx["recent"] = _rows(recent, user)
        ctx["service_default"] = next((sv.pk for sv in chosen.services.all() if sv.identifier == ctx.get("number")), None)
    return render(request, "web/call.html", ctx, status=status)


# --- team board -------------------------------------------------------------------------------


def _require_lead(user: User) -> None:
    if user.role not in LEADS and not user.is_superuser:
        raise DjangoPermissionDenied()


@login_required
def board(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    _require_lead(user)
    agents = wsel.board_agents(user)
    load = wsel.board_load(viewer=user, agents=agents)
    empty = {"open": 0, "pending": 0, "at_risk": 0, "breached": 0}
    rows = [{"agent": a, **load.get(a.pk, empty)} for a in agents]
    peak = max([r["open"] for r in rows] + [1])
    for r in rows:
        r["bar"] = round(100 * r["open"] / peak)
    now = timezone.now()
    at_risk = wsel.board_tickets(viewer=user, kind="at_risk")
    breached = wsel.board_tickets(viewer=user, kind="breached")
    queued = wsel.board_tickets(viewer=user, kind="queued")
    return render(request, "web/board.html", {
        "rows": rows, "agents": agents, "token": new_token(),
        "at_risk": [{"t": t, "p": ticket_present(t, user), "sla": wsel.sla_view(t, now)} for t in at_risk],
        "breached": [{"t": t, "p": ticket_present(t, user), "sla": wsel.sla_view(t, now)} for t in breached],
        "queued": [{"t": t, "p": ticket_present(t, user), "sla": wsel.sla_view(t, now)} for t in queued],
    })


@login_required
@require_POST
def board_reassign(request: HttpRequest) -> HttpResponse:
    """Bulk reassign: each order is transferred on its own (one transaction each, through the service)
    and the page says which ones were refused and why."""
    user = _user(request)
    _require_lead(user)
    ids = [i for i in request.POST.getlist("ids") if i.isdigit()][:200]
    agent = request.POST.get("agent", "")
    reason = request.POST.get("reason", "").strip()
    if not ids or not agent or not reason:
        messages.error(request, _("Choose orders, an agent and give a reason."))
        return redirect("web:board")
    done, failed = 0, []
    for tid in ids:
        try:
            ts.ticket_transfer(actor=user, ticket_id=tid, agent=agent, reason=reason)
            done += 1
        except KefuError as e:
            failed.append(f"{tid}: {e.message}")
    if done:
        messages.success(request, _("%(n)d work orders reassigned.") % {"n": done})
    for line in failed:
        messages.error(request, line)
    return redirect("web:board")
