"""Knowledge-base HTTP API: items, import, troubleshooting flows (K1, K3)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _
from ninja import Query, Router, Schema
from ninja import Status as Reply
from pydantic import ConfigDict, Field

from kefu.accounts.models import User
from kefu.core.api import parse_body
from kefu.core.ratelimit import throttle
from kefu.tickets.selectors import access_ticket

from . import selectors, services
from .models import Flow

router = Router(tags=["knowledge"])


class Strict(Schema):
    model_config = ConfigDict(extra="forbid")


class ItemIn(Strict):
    question: str = Field(min_length=1, max_length=300)
    answer: str = Field(min_length=1, max_length=20000)
    similar_questions: list[str] = Field(default_factory=list, max_length=500)
    kind: str = "faq"
    category: str = Field(default="", max_length=100)
    tags: list[str] = Field(default_factory=list, max_length=20)
    products: list[str] = Field(default_factory=list, max_length=20)
    audience: str = "public"
    external_id: str | None = Field(default=None, max_length=64)
    effective_from: str | None = Field(default=None, max_length=40)
    expires_at: str | None = Field(default=None, max_length=40)


class ValidityIn(Strict):
    effective_from: str | None = Field(default=None, max_length=40)
    expires_at: str | None = Field(default=None, max_length=40)


class ReviewIn(Strict):
    approve: bool
    note: str = Field(default="", max_length=500)


class ReviseIn(Strict):
    question: str = Field(min_length=1, max_length=300)
    answer: str = Field(min_length=1, max_length=20000)
    similar_questions: list[str] = Field(default_factory=list, max_length=500)


class ArchiveIn(Strict):
    reason: str = Field(min_length=1, max_length=500)


class FlowStartIn(Strict):
    flow: str = Field(min_length=1, max_length=64)


class AnswerIn(Strict):
    option: int = Field(ge=0, le=50)


@router.post("/kb/items", response={201: dict[str, Any]}, summary="Create an item (its first version is a draft)")
def create_item(request: HttpRequest, payload: ItemIn) -> Any:
    user: User = request.user  # type: ignore[assignment]
    item = services.item_create(actor=user, **payload.model_dump())
    version = item.versions.get()
    return Reply(201, {"id": item.pk, "version_id": version.pk, "status": version.status})


@router.post("/kb/versions/{version_id}/submit", response=dict[str, Any], summary="Send a draft for review")
def submit(request: HttpRequest, version_id: int) -> dict[str, Any]:
    v = services.version_submit(actor=request.user, version_id=version_id)  # type: ignore[arg-type]
    return {"id": v.pk, "status": v.status}


@router.post("/kb/versions/{version_id}/review", response=dict[str, Any], summary="Approve (publish) or send back")
def review(request: HttpRequest, version_id: int, payload: ReviewIn) -> dict[str, Any]:
    v = services.version_review(actor=request.user, version_id=version_id, approve=payload.approve, note=payload.note)  # type: ignore[arg-type]
    return {"id": v.pk, "status": v.status}


@router.get("/kb/versions", response=dict[str, Any], summary="The review queue (status=in_review) or the drafts (status=draft)")
def versions(request: HttpRequest, status: str = "in_review") -> dict[str, Any]:
    rows = selectors.versions_waiting(viewer=request.user, status=status)  # type: ignore[arg-type]
    return {"items": [selectors.version_present(v) for v in rows], "next": None}


@router.get("/kb/items/{item_id}", response=dict[str, Any], summary="An item with every version: who changed what")
def item_detail(request: HttpRequest, item_id: int) -> dict[str, Any]:
    item, history = selectors.item_history(viewer=request.user, item_id=item_id)  # type: ignore[arg-type]
    return {**selectors.item_present(item), "archived": item.archived,
            "effective_from": item.effective_from.isoformat() if item.effective_from else None,
            "expires_at": item.expires_at.isoformat() if item.expires_at else None,
            "versions": [selectors.version_present(v) for v in history]}


@router.post("/kb/items/{item_id}/versions", response={201: dict[str, Any]}, summary="Revise an item: a new draft version")
def revise(request: HttpRequest, item_id: int, payload: ReviseIn) -> Any:
    v = services.item_revise(actor=request.user, item_id=item_id, **payload.model_dump())  # type: ignore[arg-type]
    return Reply(201, {"id": v.pk, "number": v.number, "status": v.status})


class PropertiesIn(Strict):
    category: str = Field(default="", max_length=100)
    kind: str = "faq"
    audience: str = "public"
    tags: list[str] = Field(default_factory=list, max_length=20)
    products: list[str] = Field(default_factory=list, max_length=20)


@router.put("/kb/items/{item_id}/properties", response=dict[str, Any], summary="Category, kind, audience, tags, products")
def properties(request: HttpRequest, item_id: int, payload: PropertiesIn) -> dict[str, Any]:
    item = services.item_set_properties(actor=request.user, item_id=item_id, **payload.model_dump())  # type: ignore[arg-type]
    return {"id": item.pk, "category": item.category, "kind": item.kind, "audience": item.audience,
            "tags": item.tags, "products": item.products}


@router.put("/kb/items/{item_id}/validity", response=dict[str, Any], summary="When the item is in force (null: no limit)")
def validity(request: HttpRequest, item_id: int, payload: ValidityIn) -> dict[str, Any]:
    item = services.item_set_validity(actor=request.user, item_id=item_id, **payload.model_dump())  # type: ignore[arg-type]
    return {"id": item.pk, "effective_from": item.effective_from.isoformat() if item.effective_from else None,
            "expires_at": item.expires_at.isoformat() if item.expires_at else None}


@router.post("/kb/items/{item_id}/archive", response=dict[str, Any], summary="Take an item out of service")
def archive(request: HttpRequest, item_id: int, payload: ArchiveIn) -> dict[str, Any]:
    item = services.item_archive(actor=request.user, item_id=item_id, reason=payload.reason)  # type: ignore[arg-type]
    return {"id": item.pk, "archived": item.archived}


@router.post("/kb/import", response=dict[str, Any], summary="Import JSON lines (all or nothing)",
             openapi_extra={"requestBody": {"content": {"text/plain": {"schema": {"type": "string", "description": "one JSON object a line"}}}}})
def import_items(request: HttpRequest) -> dict[str, Any]:
    result = services.kb_import(actor=request.user, lines=request.body.splitlines())  # type: ignore[arg-type]
    out: dict[str, Any] = {"created": result.created, "updated": result.updated, "unchanged": result.unchanged}
    if result.ignored:
        out["ignored_fields"] = [{"field": name, "lines": lines[:100], "message": note}
                                 for (name, lines), note in zip(sorted(result.ignored.items()), result.ignored_notes())]
    return out


def export_response(lines: list[str]) -> HttpResponse:
    """JSON lines as a download named after today (``kefu-kb-20261203.jsonl``)."""
    from django.utils import timezone

    response = HttpResponse("".join(line + "\n" for line in lines).encode("utf-8"),
                            content_type="application/x-ndjson; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="kefu-kb-{timezone.localdate():%Y%m%d}.jsonl"'
    return response


@router.get("/kb/export", summary="Published items as JSON lines, the import format",
            openapi_extra={"responses": {"200": {"description": "one JSON object a line",
                                                 "content": {"application/x-ndjson": {"schema": {"type": "string"}}}}}})
def export_items(request: HttpRequest, audience: str | None = Query(None, max_length=16),
                 category: str | None = Query(None, max_length=100)) -> HttpResponse:
    return export_response(services.kb_export(actor=request.user, audience=audience, category=category))  # type: ignore[arg-type]


@router.get("/kb/flows", response=dict[str, Any], summary="Troubleshooting flows")
def flows(request: HttpRequest) -> dict[str, Any]:
    return {"items": [{"code": f.code, "name": f.name, "description": f.description}
                      for f in Flow.objects.filter(active=True).order_by("code")], "next": None}


@router.post("/tickets/{ticket_id}/flows", response={201: dict[str, Any]}, summary="Walk a troubleshooting flow in an order")
def start_flow(request: HttpRequest, ticket_id: str) -> Any:
    user: User = request.user  # type: ignore[assignment]
    access_ticket(viewer=user, ticket_id=ticket_id)
    payload = parse_body(request, FlowStartIn)
    run = services.flow_start(actor=user, ticket_id=ticket_id, flow_code=payload.flow)
    return Reply(201, selectors.run_present(run))


@router.post("/flow-runs/{run_id}/answer", response=dict[str, Any], summary="Answer the current step of a flow")
def answer_flow(request: HttpRequest, run_id: int) -> dict[str, Any]:
    user: User = request.user  # type: ignore[assignment]
    run = selectors.flow_run_get(run_id)
    access_ticket(viewer=user, ticket_id=run.ticket_id)
    payload = parse_body(request, AnswerIn)
    return selectors.run_present(services.flow_answer(actor=user, run_id=run_id, option=payload.option))


# --- the bot (public) and agent search/assist (K4, K5) -----------------------------------------------


class AskIn(Schema):
    question: Any = None
    session_id: str | None = Field(default=None, max_length=64)


class FeedbackIn(Strict):
    turn_id: int
    helpful: bool


class HandoffIn(Strict):
    session_id: str = Field(min_length=1, max_length=64)
    phone: str = Field(min_length=1, max_length=40)
    name: str = Field(default="", max_length=64)


@router.post("/bot/ask", auth=None, response=dict[str, Any], summary="Ask the answering bot (public)")
def bot_ask(request: HttpRequest) -> dict[str, Any]:
    from .bot import bot_ask as ask

    throttle(request, "bot", 120)
    payload = parse_body(request, AskIn)
    return ask(question=payload.question, session_id=payload.session_id)


@router.post("/bot/feedback", auth=None, response=dict[str, Any], summary="Was the answer helpful?")
def bot_feedback(request: HttpRequest, payload: FeedbackIn) -> dict[str, Any]:
    from .bot import bot_feedback as feedback

    throttle(request, "bot-feedback", 60)
    turn = feedback(turn_id=payload.turn_id, helpful=payload.helpful)
    return {"turn_id": turn.pk, "helpful": turn.helpful}


@router.post("/bot/handoff", auth=None, response=dict[str, Any], summary="Hand the conversation to a person")
def bot_handoff(request: HttpRequest, payload: HandoffIn) -> dict[str, Any]:
    from .bot import bot_handoff as handoff

    throttle(request, "bot-handoff", 10)
    return handoff(session_id=payload.session_id, phone=payload.phone, name=payload.name)


class RouteIn(Strict):
    match: str = Field(default="", max_length=100)
    team: str = Field(min_length=1, max_length=64)
    ticket_type: str = Field(default="", max_length=16)
    priority: str = Field(default="normal", max_length=8)
    ticket_category: str = Field(default="", max_length=64)
    active: bool = True


def _route(r: Any) -> dict[str, Any]:
    return {"id": r.pk, "match": r.match, "team": r.team.name, "team_id": r.team_id,
            "ticket_type": r.ticket_type, "priority": r.priority, "active": r.active,
            "ticket_category": r.ticket_category.code if r.ticket_category_id else None}


@router.get("/bot/routes", response=dict[str, Any], summary="Where hand-overs go, by the guessed category")
def bot_routes(request: HttpRequest) -> dict[str, Any]:
    from .bot import handoff_routes

    return {"items": [_route(r) for r in handoff_routes(actor=request.user)], "next": None}  # type: ignore[arg-type]


@router.post("/bot/routes", response=dict[str, Any], summary="Create or change the hand-over route of a category")
def bot_route_set(request: HttpRequest, payload: RouteIn) -> dict[str, Any]:
    from .bot import handoff_route_set

    return _route(handoff_route_set(actor=request.user, **payload.model_dump()))  # type: ignore[arg-type]


@router.delete("/bot/routes/{route_id}", response={204: None}, summary="Remove a hand-over route")
def bot_route_delete(request: HttpRequest, route_id: int) -> Any:
    from .bot import handoff_route_delete

    handoff_route_delete(actor=request.user, route_id=route_id)  # type: ignore[arg-type]
    return Reply(204, None)


class VocabularyIn(Schema):
    model_config = ConfigDict(extra="forbid")
    kind: str = Field(..., max_length=16)
    words: list[str] | str


@router.get("/kb/vocabulary", response=dict[str, Any], summary="The centre's own synonym groups, corrections and ignorable words")
def vocabulary(request: HttpRequest) -> dict[str, Any]:
    return {"items": selectors.vocabulary(viewer=request.user), "next": None}  # type: ignore[arg-type]


@router.post("/kb/vocabulary", response={201: dict[str, Any]}, summary="Add a synonym group, a correction or ignorable words")
def vocabulary_add(request: HttpRequest, payload: VocabularyIn) -> Any:
    entry = services.vocabulary_add(actor=request.user, kind=payload.kind, words=payload.words)  # type: ignore[arg-type]
    return Reply(201, selectors.vocabulary_present(entry))


@router.delete("/kb/vocabulary/{entry_id}", response={204: None}, summary="Remove a vocabulary entry")
def vocabulary_delete(request: HttpRequest, entry_id: int) -> Any:
    services.vocabulary_delete(actor=request.user, entry_id=entry_id)  # type: ignore[arg-type]
    return Reply(204, None)


@router.get("/kb/unanswered", response=dict[str, Any], summary="Questions the bot could not answer, most frequent first")
def unanswered(request: HttpRequest) -> dict[str, Any]:
    from kefu.core.errors import PermissionDenied

    from .bot import unanswered_report

    if not selectors.may_edit(request.user):  # type: ignore[arg-type]
        raise PermissionDenied(_("Only knowledge editors (team leads, supervisors, administrators) see this report."))
    return {"items": unanswered_report(), "next": None}


@router.get("/kb/search", response=dict[str, Any], summary="Agents' knowledge search (Chinese, synonyms, highlights)")
def kb_search(request: HttpRequest, q: str = Query(..., min_length=1, max_length=200), category: str | None = None,
              kind: str | None = None, audience: str | None = None, tag: str | None = None, product: str | None = None,
              limit: int = Query(10, ge=1, le=50)) -> dict[str, Any]:
    return {"items": selectors.kb_search(q=q, category=category, kind=kind, audience=audience, tag=tag, product=product,
                                         limit=limit), "next": None}


@router.get("/tickets/{ticket_id}/kb-suggestions", response=dict[str, Any], summary="Agent assist: top 5 items for an order")
def assist(request: HttpRequest, ticket_id: str) -> dict[str, Any]:
    ticket = access_ticket(viewer=request.user, ticket_id=ticket_id)  # type: ignore[arg-type]
    return {"items": selectors.ticket_suggestions(ticket), "next": None}
