"""Knowledge pages: the portal's answering bot 智能客服 (K4, no login), the agents' knowledge search
(K5), and on the order page the assist panel 知识推荐 and the troubleshooting flows 排障流程 (K3).
Thin: parse → access_ticket / selectors / services → render. HTMX requests get the partial (with
status 200 even for a refused input, because htmx swaps only 2xx answers); plain posts get the whole
page with the real status, or a redirect after success."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from kefu.accounts.models import User
from kefu.accounts.permissions import may_write
from kefu.core.errors import KefuError, NotFound, ValidationFailed
from kefu.core.ratelimit import throttle
from kefu.tickets.models import Ticket
from kefu.tickets.selectors import access_ticket

from . import bot, selectors, services
from .models import Audience, ItemKind, VocabularyKind
from .search import IndexLoading

BOT_SESSION = "kb_bot_session"  # the bot conversation's id, so that follow-ups keep their context
BOT_PERSON = "kb_bot_person"  # the customer asked for a person: show the hand-over form
PAGE_QUESTION_MAX = 500  # a chat box, not a letter: longer text is refused with a clear message
SEARCH_MAX = 200


def _htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def _err(e: KefuError) -> dict[str, Any]:
    return {"error": str(e.message), "field_errors": {k: str(v) for k, v in e.fields.items()}}


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


# --- the portal bot (K4) --------------------------------------------------------------------------


def _bot_render(request: HttpRequest, *, status: int = 200, **extra: Any) -> HttpResponse:
    chat = selectors.bot_transcript(request.session.get(BOT_SESSION))
    turns = chat["turns"] if chat else []
    ctx: dict[str, Any] = {
        "chat": chat, "turns": turns, "form": {}, "field_errors": {},
        "ticket_number": chat["ticket_number"] if chat else None, "ticket_queued": bool(chat and chat["ticket_queued"]),
        "want_person": bool(request.session.get(BOT_PERSON)) or bool(turns and turns[-1]["mode"] == "handoff"),
        "question_max": PAGE_QUESTION_MAX, "partial": _htmx(request), "where": "",
        "feedback_choices": [("1", _("Helpful")), ("0", _("Not helpful"))],
    }
    ctx.update(extra)
    if _htmx(request):
        return render(request, "knowledge/_bot_chat.html", ctx)
    return render(request, "knowledge/bot.html", ctx, status=status)


def _bot_done(request: HttpRequest) -> HttpResponse:
    if _htmx(request):
        return _bot_render(request)
    return redirect(reverse("kb:bot") + "#bot-end")


def bot_page(request: HttpRequest) -> HttpResponse:
    return _bot_render(request)


def _ask(request: HttpRequest, question: Any) -> dict[str, Any]:
    if isinstance(question, str) and len(question) > PAGE_QUESTION_MAX:
        raise ValidationFailed(fields={"question": _("Please keep your question within %(n)d characters.")
                                       % {"n": PAGE_QUESTION_MAX}}, code="question_too_long")
    try:
        out = bot.bot_ask(question=question, session_id=request.session.get(BOT_SESSION))
    except NotFound:  # the stored conversation is gone (cleaned up): start a new one
        out = bot.bot_ask(question=question, session_id=None)
    request.session[BOT_SESSION] = out["session_id"]
    return out


@require_POST
def bot_ask(request: HttpRequest) -> HttpResponse:
    question = request.POST.get("question", "")
    try:
        throttle(request, "bot", 120)  # one budget with POST /api/v1/bot/ask
        _ask(request, question)
    except KefuError as e:
        return _bot_render(request, status=e.status, where="ask", form={"question": question[:PAGE_QUESTION_MAX]},
                           **_err(e))
    return _bot_done(request)


@require_POST
def bot_feedback(request: HttpRequest) -> HttpResponse:
    raw = request.POST.get("turn_id", "")
    try:
        throttle(request, "bot-feedback", 60)
        if not raw.isdigit():
            raise NotFound(code="bot_turn_not_found")
        sid = request.session.get(BOT_SESSION) or "-"
        bot.bot_feedback(turn_id=int(raw), helpful=request.POST.get("helpful") == "1", session_id=sid)
    except KefuError as e:
        return _bot_render(request, status=e.status, **_err(e))
    return _bot_done(request)


@require_POST
def bot_person(request: HttpRequest) -> HttpResponse:
    """The customer asks for a person: show the hand-over form (nothing is written yet)."""
    request.session[BOT_PERSON] = True
    return _bot_done(request)


@require_POST
def bot_handoff(request: HttpRequest) -> HttpResponse:
    """Hand the conversation to a person: a work order carrying the transcript; its number is shown.
    Without a conversation yet, the customer's short description is asked to the bot first, so the
    order still carries what they need."""
    form = {k: request.POST.get(k, "") for k in ("phone", "name", "question")}
    try:
        throttle(request, "bot-handoff", 10)  # one budget with POST /api/v1/bot/handoff
        chat = selectors.bot_transcript(request.session.get(BOT_SESSION))
        if chat is None or not chat["turns"]:
            if not form["question"].strip():
                raise ValidationFailed(fields={"question": _("Tell us briefly what you need.")})
            _ask(request, form["question"])
        bot.bot_handoff(session_id=request.session[BOT_SESSION], phone=form["phone"], name=form["name"])
    except KefuError as e:
        return _bot_render(request, status=e.status, want_person=True, where="handoff", form=form, **_err(e))
    request.session.pop(BOT_PERSON, None)
    return _bot_done(request)


@require_POST
def bot_restart(request: HttpRequest) -> HttpResponse:
    request.session.pop(BOT_SESSION, None)
    request.session.pop(BOT_PERSON, None)
    return redirect("kb:bot")


# --- agents' knowledge search (K5) ----------------------------------------------------------------


@login_required
def kb_search(request: HttpRequest) -> HttpResponse:
    q = (request.GET.get("q") or "").strip()
    category = (request.GET.get("category") or "").strip()
    filters = {k: (request.GET.get(k) or "").strip() for k in ("kind", "audience", "tag", "product")}
    ctx: dict[str, Any] = {"q": q, "category": category, "categories": selectors.kb_categories(), "hits": None,
                           "field_errors": {}, "may_edit": selectors.may_edit(_user(request)), "filters": filters,
                           "kinds": ItemKind.choices, "audiences": Audience.choices, "facets": {}}
    status = 200
    try:
        ctx["facets"] = selectors.kb_facets()
    except IndexLoading as e:  # a server process that has just started: the page, without the index
        ctx.update(_err(e))
        return render(request, "knowledge/search.html", ctx, status=200 if _htmx(request) else e.status)
    if q:
        try:
            if len(q) > SEARCH_MAX:
                raise ValidationFailed(fields={"q": _("Search with at most %(n)d characters.") % {"n": SEARCH_MAX}})
            ctx["hits"] = selectors.kb_search(q=q, category=category or None, limit=10, **filters)
            labels = dict(ItemKind.choices)
            for h in ctx["hits"]:
                h["kind_label"] = labels.get(h["kind"], h["kind"]) if h["kind"] != ItemKind.FAQ else ""
        except KefuError as e:
            ctx.update(_err(e))
            status = e.status
    return render(request, "knowledge/search.html", ctx, status=200 if _htmx(request) else status)


# --- on the order page: assist (K5) and troubleshooting flows (K3) --------------------------------


def _ticket(request: HttpRequest, ticket_id: str) -> Ticket:
    try:
        return access_ticket(viewer=_user(request), ticket_id=ticket_id)
    except NotFound:
        raise Http404(_("Work order not found.")) from None


@login_required
def assist(request: HttpRequest, ticket_id: str) -> HttpResponse:
    """The 知识推荐 panel, loaded after the page (hx-trigger=load): the same top 5 as the API."""
    ticket = _ticket(request, ticket_id)
    try:
        hits, error = selectors.ticket_suggestions(ticket), ""
    except IndexLoading as e:  # the panel says so; the order page around it is unaffected
        hits, error = [], str(e.message)
    return render(request, "knowledge/_assist.html", {
        "ticket": ticket, "hits": hits, "error": error, "can_insert": may_write(_user(request)),
    })


def _flow_render(request: HttpRequest, ticket: Ticket, *, status: int = 200, **extra: Any) -> HttpResponse:
    runs = selectors.flow_runs_of(ticket.pk)
    running = next((r for r in runs if r.finished_at is None), None)
    last = runs[0] if runs and running is None else None
    ctx: dict[str, Any] = {
        "ticket": ticket, "flows": selectors.flows_active(), "may_write": may_write(_user(request)),
        "run": selectors.run_view(running) if running else None,
        "last": selectors.run_view(last) if last else None, "field_errors": {},
    }
    ctx.update(extra)
    return render(request, "knowledge/_flow.html", ctx, status=200 if _htmx(request) else status)


@login_required
def flow_panel(request: HttpRequest, ticket_id: str) -> HttpResponse:
    return _flow_render(request, _ticket(request, ticket_id))


def _flow_done(request: HttpRequest, ticket: Ticket, finished: bool) -> HttpResponse:
    if not finished and _htmx(request):
        return _flow_render(request, ticket)
    if finished:
        # The path is now a note on the timeline (and the order's version moved): reload the page.
        messages.success(request, _("The troubleshooting flow is finished; its path is on the timeline."))
    if _htmx(request):
        # The page reloads itself on this event, keeping the reply being typed (knowledge/_order.html).
        response = HttpResponse(status=204)
        response["HX-Trigger"] = "kbFlowFinished"
        return response
    return redirect(reverse("web:detail", kwargs={"ticket_id": ticket.pk}) + "#kb-flow")


@login_required
@require_POST
def flow_start(request: HttpRequest, ticket_id: str) -> HttpResponse:
    ticket = _ticket(request, ticket_id)  # scope first: outside it, a 404 whatever was posted
    try:
        run = services.flow_start(actor=_user(request), ticket_id=ticket.pk, flow_code=request.POST.get("flow", ""))
    except KefuError as e:
        return _flow_render(request, ticket, status=e.status, **_err(e))
    return _flow_done(request, ticket, run.finished_at is not None)


@login_required
@require_POST
def flow_answer(request: HttpRequest, ticket_id: str, run_id: int) -> HttpResponse:
    ticket = _ticket(request, ticket_id)
    try:
        run = selectors.flow_run_get(run_id)
    except NotFound:
        raise Http404() from None
    if run.ticket_id != ticket.pk:  # a run of another order is not found from this one
        raise Http404()
    raw = request.POST.get("option", "")
    try:
        if not raw.isdigit():
            raise ValidationFailed(fields={"option": _("Choose one of the answers.")})
        done = services.flow_answer(actor=_user(request), run_id=run_id, option=int(raw))
    except KefuError as e:
        return _flow_render(request, ticket, status=e.status, **_err(e))
    return _flow_done(request, ticket, done.finished_at is not None)


# --- knowledge editors (K1): 知识管理 — the review queue, drafts, the bot's unanswered questions -------


def _require_editor(user: User) -> None:
    if not selectors.may_edit(user):
        raise DjangoPermissionDenied()


def _lines(raw: str) -> list[str]:
    return [s.strip() for s in (raw or "").splitlines() if s.strip()]


def _manage_render(request: HttpRequest, *, status: int = 200, **extra: Any) -> HttpResponse:
    user = _user(request)
    new_q = (request.GET.get("new") or "").strip()[:services.MAX_QUESTION]
    ctx: dict[str, Any] = {
        "review": [selectors.version_present(v) for v in selectors.versions_waiting(viewer=user, status="in_review")],
        "drafts": [selectors.version_present(v) for v in selectors.versions_waiting(viewer=user, status="draft")],
        "unanswered": bot.unanswered_report(limit=20),
        "may_review": selectors.may_review(user), "me": user.label,
        "form": {"question": new_q} if new_q else {}, "field_errors": {}, "error": "", "open_new": bool(new_q),
        "kinds": ItemKind.choices, "audiences": Audience.choices, "categories": selectors.kb_category_paths(),
        "route_form": {}, "route_errors": {},
    }
    if ctx["may_review"]:  # where hand-overs go: the supervisors' business (K4)
        from kefu.accounts.models import Team
        from kefu.tickets.models import Category, Priority, TicketType

        ctx.update(vocabulary=selectors.vocabulary(viewer=user), vocabulary_kinds=VocabularyKind.choices,
                   vocabulary_form={}, vocabulary_errors={})
        ctx.update(routes=bot.handoff_routes(actor=user), teams=list(Team.objects.order_by("name")),
                   ticket_types=TicketType.choices, priorities=Priority.choices,
                   ticket_categories=list(Category.objects.filter(active=True, parent__isnull=False).order_by("position")))
    ctx.update(extra)
    return render(request, "knowledge/manage.html", ctx, status=status)


@login_required
def manage(request: HttpRequest) -> HttpResponse:
    _require_editor(_user(request))
    return _manage_render(request)


@login_required
@require_POST
def manage_new(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    _require_editor(user)
    post = request.POST
    try:
        with transaction.atomic():  # created and, when asked, sent for review — or nothing at all
            item = services.item_create(
                actor=user, question=post.get("question", ""), answer=post.get("answer", ""),
                similar_questions=_lines(post.get("similar_questions", "")), kind=post.get("kind", "faq"),
                category=post.get("category", ""), audience=post.get("audience", "public"),
                tags=post.get("tags", ""), products=post.get("products", ""),
                effective_from=post.get("effective_from", ""), expires_at=post.get("expires_at", ""),
            )
            if post.get("then") == "submit":
                services.version_submit(actor=user, version_id=item.versions.get().pk)
    except KefuError as e:
        return _manage_render(request, status=e.status, form=post.dict(), open_new=True, **_err(e))
    messages.success(request, _("Sent for review.") if post.get("then") == "submit" else _("Draft saved."))
    return redirect("kb:item", item_id=item.pk)


@login_required
@require_POST
def version_submit(request: HttpRequest, version_id: int) -> HttpResponse:
    user = _user(request)
    _require_editor(user)
    try:
        v = services.version_submit(actor=user, version_id=version_id)
    except KefuError as e:
        return _manage_render(request, status=e.status, **_err(e))
    messages.success(request, _("Sent for review."))
    return redirect("kb:item", item_id=v.item_id)


@login_required
@require_POST
def version_review(request: HttpRequest, version_id: int) -> HttpResponse:
    user = _user(request)
    _require_editor(user)
    approve = request.POST.get("approve") == "1"
    try:
        services.version_review(actor=user, version_id=version_id, approve=approve, note=request.POST.get("note", ""))
    except KefuError as e:
        return _manage_render(request, status=e.status, review_error=version_id, **_err(e))
    messages.success(request, _("Published.") if approve else _("Sent back to its author."))
    return redirect("kb:manage")


def _local(moment: Any) -> str:
    """A moment as a datetime-local field shows it (local time, minutes)."""
    from django.utils import timezone

    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M") if moment else ""


def _item_render(request: HttpRequest, item_id: int, *, status: int = 200, add_similar: str = "", **extra: Any) -> HttpResponse:
    user = _user(request)
    item, history = selectors.item_history(viewer=user, item_id=item_id)
    latest = history[0] if history else None
    similar = list(latest.similar_questions) if latest else []
    adding = " ".join(str(add_similar or "").split())[:300]
    if adding and adding not in similar and (not latest or adding != latest.question):
        similar.append(adding)
    else:
        adding = ""
    ctx: dict[str, Any] = {
        "item": item,
        "versions": [{**selectors.version_present(v), "created": v.created_at, "reviewed": v.reviewed_at} for v in history],
        "form": {"question": latest.question, "answer": latest.answer,
                 "similar_questions": "\n".join(similar)} if latest else {},
        "field_errors": {}, "error": "", "may_review": selectors.may_review(user), "adding_similar": adding,
        "similar_rows": min(max(4, len(similar) + 1), 14),
        "validity_form": {"effective_from": _local(item.effective_from), "expires_at": _local(item.expires_at)},
        "validity_errors": {},
        "props_form": {"category": item.category, "kind": item.kind, "audience": item.audience,
                       "tags": " ".join(item.tags or []), "products": " ".join(item.products or [])},
        "props_errors": {}, "kinds": ItemKind.choices, "audiences": Audience.choices,
        "categories": selectors.kb_category_paths(),
    }
    ctx.update(extra)
    return render(request, "knowledge/item.html", ctx, status=status)


@login_required
def item_page(request: HttpRequest, item_id: int) -> HttpResponse:
    """The item, its history and its forms. ``?similar=`` (from 知识管理's unanswered questions)
    puts a customer's wording into the revision's similar questions, to be saved as a draft."""
    _require_editor(_user(request))
    try:
        return _item_render(request, item_id, add_similar=request.GET.get("similar", ""))
    except NotFound:
        raise Http404() from None


def _item_change(request: HttpRequest, item_id: int, change: Callable[[User], Any], *, done: Any,
                 slot: str = "", **on_error: Any) -> HttpResponse:
    """One editor's change to an item from its page: the role checked, ``change(user)`` run (the
    service), and then either back to the page with a success message, or the page again with the
    error — in the form ``slot`` (its fields kept in ``<slot>_form``, the fields' errors in
    ``<slot>_errors``) or, without a slot, at the top with the fields marked; an unknown item is a 404."""
    user = _user(request)
    _require_editor(user)
    try:
        change(user)
    except NotFound:
        raise Http404() from None
    except KefuError as e:
        if slot:
            on_error.update({f"{slot}_form": request.POST.dict(), f"{slot}_errors": {k: str(v) for k, v in e.fields.items()},
                             "error": str(e.message)})
        else:
            on_error.update(_err(e))
        return _item_render(request, item_id, status=e.status, **on_error)
    messages.success(request, done)
    return redirect("kb:item", item_id=item_id)


@login_required
@require_POST
def item_revise(request: HttpRequest, item_id: int) -> HttpResponse:
    post = request.POST
    submit = post.get("then") == "submit"

    @transaction.atomic
    def change(user: User) -> None:
        v = services.item_revise(actor=user, item_id=item_id, question=post.get("question", ""),
                                 answer=post.get("answer", ""), similar_questions=_lines(post.get("similar_questions", "")))
        if submit:
            services.version_submit(actor=user, version_id=v.pk)

    return _item_change(request, item_id, change, done=_("Sent for review.") if submit else _("Draft saved."),
                        form=post.dict())


@login_required
@require_POST
def item_archive(request: HttpRequest, item_id: int) -> HttpResponse:
    return _item_change(
        request, item_id,
        lambda user: services.item_archive(actor=user, item_id=item_id, reason=request.POST.get("reason", "").strip()),
        done=_("Taken out of service: customers and agents no longer find it."), open_archive=True)


def _manage_change(request: HttpRequest, change: Callable[[User], Any], *, done: Any, anchor: str,
                   slot: str = "") -> HttpResponse:
    """One change from the 知识管理 page (a route, a vocabulary entry): the role checked, the
    service run, then back to the page's section with a message, or the page again with the error
    — in form ``slot`` (fields kept in ``<slot>_form``, their errors in ``<slot>_errors``) or at the top."""
    user = _user(request)
    _require_editor(user)
    try:
        change(user)
    except KefuError as e:
        extra: dict[str, Any] = {"error": str(e.message)}
        if slot:
            extra.update({f"{slot}_form": request.POST.dict(), f"{slot}_errors": {k: str(v) for k, v in e.fields.items()},
                          "field_errors": {}})
        return _manage_render(request, status=e.status, **extra)
    messages.success(request, done)
    return redirect(reverse("kb:manage") + anchor)


@login_required
@require_POST
def route_save(request: HttpRequest) -> HttpResponse:
    post = request.POST
    return _manage_change(
        request,
        lambda user: bot.handoff_route_set(
            actor=user, match=post.get("match", ""), team=post.get("team", ""), ticket_type=post.get("ticket_type", ""),
            priority=post.get("priority", "normal"), ticket_category=post.get("ticket_category", ""),
            active=post.get("active") == "on"),
        done=_("Hand-over route saved."), anchor="#kb-routes", slot="route")


@login_required
@require_POST
def route_delete(request: HttpRequest, route_id: int) -> HttpResponse:
    return _manage_change(request, lambda user: bot.handoff_route_delete(actor=user, route_id=route_id),
                          done=_("Hand-over route removed."), anchor="#kb-routes")


@login_required
@require_POST
def vocabulary_add(request: HttpRequest) -> HttpResponse:
    post = request.POST
    return _manage_change(
        request,
        lambda user: services.vocabulary_add(actor=user, kind=post.get("kind", ""), words=post.get("words", "")[:500]),
        done=_("Added to the search vocabulary: the next search uses it."), anchor="#kb-vocabulary", slot="vocabulary")


@login_required
@require_POST
def vocabulary_delete(request: HttpRequest, entry_id: int) -> HttpResponse:
    return _manage_change(request, lambda user: services.vocabulary_delete(actor=user, entry_id=entry_id),
                          done=_("Removed from the search vocabulary."), anchor="#kb-vocabulary")


@login_required
@require_POST
def item_validity(request: HttpRequest, item_id: int) -> HttpResponse:
    post = request.POST
    return _item_change(
        request, item_id,
        lambda user: services.item_set_validity(actor=user, item_id=item_id, effective_from=post.get("effective_from", ""),
                                                expires_at=post.get("expires_at", "")),
        done=_("Validity saved."), slot="validity")


@login_required
@require_POST
def item_properties(request: HttpRequest, item_id: int) -> HttpResponse:
    post = request.POST
    return _item_change(
        request, item_id,
        lambda user: services.item_set_properties(actor=user, item_id=item_id, category=post.get("category", ""),
                                                  kind=post.get("kind", ""), audience=post.get("audience", ""),
                                                  tags=post.get("tags", ""), products=post.get("products", "")),
        done=_("Properties saved."), slot="props")


#: the largest file the page takes (the CLI and the API take any size)
IMPORT_MAX_BYTES = 50 * 1024 * 1024


@login_required
@require_POST
def kb_import(request: HttpRequest) -> HttpResponse:
    """知识管理 › 导入: the same all-or-nothing import as ``kefu kb import`` (K1)."""
    user = _user(request)
    _require_editor(user)
    upload = request.FILES.get("file")
    if upload is None or upload.size == 0:
        return _manage_render(request, status=422, error=_("Choose a file to import."), field_errors={})
    if upload.size > IMPORT_MAX_BYTES:
        return _manage_render(request, status=422, field_errors={}, error=_(
            "The file is larger than %(mb)d MB: import it with “kefu kb import” or the API instead.") % {"mb": IMPORT_MAX_BYTES // 2**20})
    try:
        result = services.kb_import(actor=user, lines=upload.read().splitlines())
    except services.ImportFailed as e:
        return _manage_render(request, status=e.status, import_error=str(e.message), import_errors=e.lines[:100],
                              import_more=max(0, len(e.lines) - 100), field_errors={})
    except KefuError as e:
        return _manage_render(request, status=e.status, error=str(e.message), field_errors={})
    messages.success(request, _("Imported %(name)s: %(created)d new, %(updated)d updated, %(unchanged)d unchanged.") % {
        "name": upload.name, "created": result.created, "updated": result.updated, "unchanged": result.unchanged})
    for note in result.ignored_notes():
        messages.info(request, note)
    return redirect(reverse("kb:manage") + "#kb-transfer")


@login_required
def kb_export(request: HttpRequest) -> HttpResponse:
    """知识管理 › 导出: the published items as a JSON-lines download (K1)."""
    from .api import export_response

    user = _user(request)
    _require_editor(user)
    try:
        lines = services.kb_export(actor=user, audience=request.GET.get("audience"), category=request.GET.get("category"))
    except KefuError as e:
        return _manage_render(request, status=e.status, error=str(e.message), field_errors={})
    return export_response(lines)
