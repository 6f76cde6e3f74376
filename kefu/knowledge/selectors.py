"""Reads of the knowledge base shared by the API and pages."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kefu.accounts.models import User
from kefu.core.errors import NotFound, PermissionDenied, ValidationFailed

from .models import Audience, Flow, FlowRun, ItemVersion, KnowledgeItem, VersionStatus


def published_items(*, audience: str | None = None) -> QuerySet[KnowledgeItem]:
    """Items with a published version, not archived, in force now; ``audience=public`` for customers."""
    now = timezone.now()
    qs = KnowledgeItem.objects.filter(published__isnull=False, archived=False).select_related("published")
    qs = qs.exclude(effective_from__gt=now).exclude(expires_at__lte=now)
    if audience == Audience.PUBLIC:
        qs = qs.filter(audience=Audience.PUBLIC)
    return qs


def item_present(item: KnowledgeItem) -> dict[str, Any]:
    v = item.published
    return {
        "id": item.pk, "external_id": item.external_id, "kind": item.kind, "category": item.category,
        "audience": item.audience, "tags": item.tags, "products": item.products,
        "question": v.question if v else None, "answer": v.answer if v else None,
        "similar_questions": v.similar_questions if v else [], "version": v.number if v else None,
    }


def run_present(run: FlowRun) -> dict[str, Any]:
    step = run.flow.steps[run.current]
    return {
        "id": run.pk, "flow": run.flow.code, "flow_name": run.flow.name, "ticket_id": run.ticket_id,
        "finished": run.finished_at is not None, "outcome": run.outcome or None, "path": run.path,
        "current": None if run.finished_at else {
            "step": run.current, "kind": step["kind"], "text": step["text"],
            "options": [o["label"] for o in step.get("options", [])],
        },
    }


def flow_run_get(run_id: int) -> FlowRun:
    run = FlowRun.objects.select_related("flow").filter(pk=run_id).first()
    if run is None:
        raise NotFound(code="flow_run_not_found")
    return run


# --- agent search and assist (K5), shared by the API and the workspace pages ------------------------

ASSIST_LIMIT = 5
ASSIST_TEXT = 500


def kb_hits(engine: Any, q: str, k: int, where: Any = None) -> list[dict[str, Any]]:
    """The engine's top ``k`` for ``q`` (among the items ``where``, a ``SearchFilter``, matches) as
    presented items (with score, matched question and the query words found in it); two queries
    whatever ``k`` is."""
    from .retrieval.engine import EmptyQuestion

    try:
        candidates = engine.search(q, k=k, where=where)
    except EmptyQuestion:  # blank text: nothing to look up
        return []
    # Served from the index's copy of each published item — the same fields as ``item_present``, and
    # current: ``engine_for`` brought the index up to date just before. No database read (it was
    # ~2.7 of 5.2 ms of a search on the demo base).
    out = []
    for c in candidates:
        item = engine.get(c.item_id)
        if item is None:
            continue
        out.append({
            "id": int(item.id), "external_id": item.external_id or None, "kind": item.kind, "category": item.category,
            "audience": Audience.PUBLIC if item.public else Audience.INTERNAL, "tags": list(item.tags),
            "products": list(item.products), "question": item.question, "answer": item.answer,
            "similar_questions": list(item.similar_questions), "version": item.version,
            "score": round(c.score, 4), "matched_question": c.matched_question, "highlights": c.highlights,
        })
    return out


def search_filter(
    *, category: str | None = None, kind: str | None = None, audience: str | None = None,
    tag: str | None = None, product: str | None = None,
) -> Any:
    """Agents' search filters, checked (K5): ``category`` a category and the ones under it, ``kind``
    and ``audience`` one of their values, ``tag`` / ``product`` one the item carries. Raises
    ``ValidationFailed`` naming each bad filter."""
    from .models import ItemKind
    from .retrieval.engine import SearchFilter
    from .services import category_path

    def text(v: str | None) -> str:
        return (v or "").strip()

    errors: dict[str, Any] = {}
    path = category_path(category)
    if text(kind) and text(kind) not in ItemKind.values:
        errors["kind"] = _("Unknown kind: use one of %(values)s.") % {"values": ", ".join(ItemKind.values)}
    if text(audience) and text(audience) not in Audience.values:
        errors["audience"] = _("Unknown audience: use public or internal.")
    for name, value in (("category", path), ("tag", text(tag)), ("product", text(product))):
        if len(value) > 100:
            errors[name] = _("At most %(n)d characters.") % {"n": 100}
    if errors:
        raise ValidationFailed(fields=errors)
    return SearchFilter(category=path, kind=text(kind), audience=text(audience), tag=text(tag), product=text(product))


def kb_search(
    *, q: str, category: str | None = None, kind: str | None = None, audience: str | None = None,
    tag: str | None = None, product: str | None = None, limit: int = 10,
) -> list[dict[str, Any]]:
    """Agents' search over internal and public items (K5), narrowed by ``search_filter``'s filters
    inside the index: each retriever fills its candidates from the matching items only."""
    from .search import engine_for

    where = search_filter(category=category, kind=kind, audience=audience, tag=tag, product=product)
    return kb_hits(engine_for("all"), q, limit, where or None)


def kb_facets() -> dict[str, list[str]]:
    """The tags and products carried by items agents can find, for the search filters (from the
    index, not the database: no read of every row per page)."""
    from .search import engine_for

    return engine_for("all").facets()  # type: ignore[union-attr]


def ticket_suggestions(ticket: Any) -> list[dict[str, Any]]:
    """Agent assist: the top items for an order's subject and description (the caller checked scope)."""
    from .search import engine_for

    text = f"{ticket.subject} {ticket.description}"[:ASSIST_TEXT]
    return kb_hits(engine_for("all"), text, ASSIST_LIMIT)


def kb_categories() -> list[str]:
    """Top-level categories of what agents can find, for the search filter."""
    rows = published_items().order_by().values_list("category", flat=True).distinct()
    return sorted({c.split("/")[0] for c in rows if c})


def kb_category_paths() -> list[str]:
    """Every category path in use (宽带/故障 …), for the editors' category field."""
    rows = KnowledgeItem.objects.exclude(category="").order_by().values_list("category", flat=True).distinct()
    return sorted(set(rows))


# --- troubleshooting flows and the bot conversation ---------------------------------------------------


def flows_active() -> list[Flow]:
    return list(Flow.objects.filter(active=True).order_by("code").only("code", "name", "description"))


def flow_runs_of(ticket_id: int) -> list[FlowRun]:
    """The order's flow runs, the newest first."""
    return list(FlowRun.objects.filter(ticket_id=ticket_id).select_related("flow").order_by("-id")[:10])


def bot_transcript(session_id: str | None) -> dict[str, Any] | None:
    """A bot conversation as the portal shows it: each turn with its answer or suggestions; ``None``
    when the conversation does not exist (any more). Three queries whatever its length."""
    import uuid

    from .models import BotSession, BotTurn

    try:
        key = uuid.UUID(str(session_id))
    except ValueError:
        return None
    session = BotSession.objects.select_related("ticket").filter(pk=key).first()
    if session is None:
        return None
    turns = list(BotTurn.objects.filter(session=session).select_related("item__published")
                 .defer("item__published__vector").order_by("id"))
    wanted = {s for t in turns for s in t.suggestions}
    suggested = (KnowledgeItem.objects.select_related("published").defer("published__vector").in_bulk(list(wanted))
                 if wanted else {})
    rows = []
    for t in turns:
        options = [suggested[s].published.question for s in t.suggestions  # type: ignore[union-attr]
                   if s in suggested and suggested[s].published is not None]
        known = t.item is not None and t.item.published is not None and t.mode != "handoff"
        answer = t.item.published.answer if known and (t.mode == "answer" or not options) else None  # type: ignore[union-attr]
        rows.append({"id": t.pk, "question": t.question, "mode": t.mode, "answer": answer, "helpful": t.helpful,
                     "suggestions": options if answer is None else []})
    return {"id": str(session.pk), "turns": rows, "ticket_number": session.ticket.number if session.ticket else None,
            # nobody was free: the order waits in a team's queue (待认领) — the customer is told so
            "ticket_queued": bool(session.ticket and session.ticket.is_open and session.ticket.assignee_id is None
                                  and session.ticket.assignee_department_id is None)}


def run_view(run: FlowRun) -> dict[str, Any]:
    """A flow run as the order page shows it: the path so far (each step with its kind), the scripts
    just passed that the agent says now, the current step's options, and the order it created."""
    out = run_present(run)
    steps = run.flow.steps
    path = [{**p, "kind": steps.get(p["step"], {}).get("kind", p["step"])} for p in run.path]
    say: list[str] = []
    for p in reversed(path):
        if p["kind"] != "script":
            break
        say.insert(0, p["text"])
    out["say"] = [] if run.finished_at else say
    # While running, the scripts to say now are shown on their own, not also as the path's tail.
    out["path"] = path[: len(path) - len(out["say"])]
    out["created"] = next((p["text"] for p in path if p["step"] == "created"), None)
    if out["current"]:
        out["current"]["choices"] = list(enumerate(out["current"]["options"]))
    return out


# --- knowledge editors (K1): the review queue, drafts, one item's history ---------------------------


def may_edit(user: User) -> bool:
    from .services import EDITOR_ROLES, has_role

    return has_role(user, EDITOR_ROLES)


def may_review(user: User) -> bool:
    from .services import REVIEWER_ROLES, has_role

    return has_role(user, REVIEWER_ROLES)


def _require_editor(user: User) -> None:
    if not may_edit(user):
        raise PermissionDenied(_("Your role cannot edit the knowledge base."), code="role_not_allowed")


def versions_waiting(*, viewer: User, status: str, limit: int = 100) -> list[ItemVersion]:
    """Versions in review (every editor sees the queue) or drafts (a team lead their own, a
    reviewer every draft), oldest first — the longest-waiting is reviewed first."""
    _require_editor(viewer)
    if status not in (VersionStatus.IN_REVIEW, VersionStatus.DRAFT):
        raise ValidationFailed(fields={"status": _("Only “in_review” or “draft”.")})
    qs = ItemVersion.objects.filter(status=status).select_related("item", "item__published", "author", "reviewer")
    if status == VersionStatus.DRAFT and not may_review(viewer):
        qs = qs.filter(author=viewer)
    return list(qs.defer("vector", "item__published__vector").order_by("created_at", "pk")[:limit])


def version_present(v: ItemVersion) -> dict[str, Any]:
    item, live = v.item, v.item.published
    return {
        "id": v.pk, "item_id": item.pk, "external_id": item.external_id, "number": v.number, "status": v.status,
        "question": v.question, "similar_questions": v.similar_questions, "answer": v.answer,
        "category": item.category, "audience": item.audience, "kind": item.kind,
        "author": v.author.label if v.author else None, "reviewer": v.reviewer.label if v.reviewer else None,
        "review_note": v.review_note, "created_at": v.created_at.isoformat(),
        "reviewed_at": v.reviewed_at.isoformat() if v.reviewed_at else None,
        "published_version": live.number if live and live.pk != v.pk else None,
        "published_question": live.question if live and live.pk != v.pk else None,
    }


def item_history(*, viewer: User, item_id: int) -> tuple[KnowledgeItem, list[ItemVersion]]:
    """An item and every version of it, newest first: who wrote what, who reviewed it, when (K1)."""
    _require_editor(viewer)
    item = KnowledgeItem.objects.select_related("published").defer("published__vector").filter(pk=item_id).first()
    if item is None:
        raise NotFound(_("No knowledge item with this id."), code="kb_item_not_found")
    versions = list(item.versions.select_related("author", "reviewer").defer("vector").order_by("-number"))
    return item, versions


def vocabulary_present(entry: Any) -> dict[str, Any]:
    return {"id": entry.pk, "kind": entry.kind, "words": list(entry.words),
            "created_by": entry.created_by.label if entry.created_by_id else None,
            "created_at": entry.created_at}


def vocabulary(*, viewer: User) -> list[dict[str, Any]]:
    """The centre's synonym groups and corrections, for the people who change them (supervisors
    and administrators)."""
    from .models import VocabularyEntry
    from .services import REVIEWER_ROLES, _require

    _require(viewer, REVIEWER_ROLES, _("Only supervisors and administrators may change the search vocabulary."))
    return [vocabulary_present(e) for e in VocabularyEntry.objects.select_related("created_by").order_by("kind", "pk")]
