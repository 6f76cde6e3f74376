"""Reads of the knowledge base shared by the API and pages."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from kefu.core.errors import NotFound

from .models import Audience, FlowRun, KnowledgeItem


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
        "audience": item.audience, "tags": item.tags,
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
