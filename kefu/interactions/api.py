"""Contacts HTTP API: ``/api/v1/interactions`` — import (single or batch) and read with the
inspection. Thin: parse → service or selector → present."""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpRequest, JsonResponse
from django.utils.translation import gettext_lazy as _
from ninja import Query, Router

from kefu.accounts.models import User
from kefu.core.errors import KefuError, PermissionDenied
from kefu.quality.presenters import inspection_present, interaction_present
from kefu.quality.selectors import current_inspection

from . import selectors, services

router = Router(tags=["interactions"])


def _items(request: HttpRequest) -> tuple[list[Any], bool]:
    """The import items and whether the body was a batch (``{"items": [...]}``)."""
    try:
        text = request.body.decode("utf-8")
    except UnicodeDecodeError as e:
        raise KefuError(_("The request body is not valid UTF-8 (byte %(pos)d). Send JSON encoded as UTF-8."),
                        code="invalid_encoding", status=400, pos=e.start) from None
    try:
        data = json.loads(text or "null")
    except ValueError:
        raise KefuError(_("The request body is not valid JSON."), code="invalid_json", status=400) from None
    if isinstance(data, dict) and set(data) == {"items"}:
        items = data["items"]
        if not isinstance(items, list) or not items:
            raise KefuError(_("items must be a non-empty list."), code="invalid_batch", status=422)
        if len(items) > services.MAX_BATCH:
            raise KefuError(_("At most %(n)d items per batch.") % {"n": services.MAX_BATCH}, code="batch_too_large",
                            status=413)
        return items, True
    if not isinstance(data, dict):
        raise KefuError(_("The request body must be a JSON object."), code="invalid_json", status=400)
    return [data], False


@router.post("/interactions", summary="Import contacts with transcripts (single object or {items: [...]})",
             response={200: dict[str, Any], 201: dict[str, Any], 422: dict[str, Any]})
def import_interactions(request: HttpRequest) -> Any:
    user: User = request.user  # type: ignore[assignment]
    items, batch = _items(request)
    results = [r.as_dict() for r in services.interaction_import(actor=user, items=items)]
    summary = {s: sum(1 for r in results if r["status"] == s) for s in ("created", "duplicate", "error")}
    body = {"results": results, "summary": summary}
    if batch:
        status = 200
    else:
        status = {"created": 201, "duplicate": 200, "error": 422}[results[0]["status"]]
    return JsonResponse(body, status=status, json_dumps_params={"ensure_ascii": False})


@router.get("/interactions", response=dict[str, Any], summary="Contacts in your scope, newest first")
def list_interactions(request: HttpRequest, cursor: int | None = None, limit: int = Query(50, ge=1, le=200)) -> Any:
    user: User = request.user  # type: ignore[assignment]
    rows, nxt = selectors.interaction_list(viewer=user, cursor=cursor, limit=limit)
    return {"items": [interaction_present(x) for x in rows], "next": nxt}


@router.get("/interactions/{interaction_id}", response=dict[str, Any],
            summary="A contact with its transcript and current inspection")
def get_interaction(request: HttpRequest, interaction_id: str) -> Any:
    user: User = request.user  # type: ignore[assignment]
    x = selectors.access_interaction(viewer=user, interaction_id=interaction_id)
    out = interaction_present(x, detail=True)
    insp = current_inspection(x.pk)
    out["inspection"] = inspection_present(insp) if insp else None
    return out


@router.post("/interactions/{interaction_id}/inspect", response=dict[str, Any],
             summary="Inspect again with the active rule set (idempotent)")
def reinspect(request: HttpRequest, interaction_id: str) -> Any:
    from kefu.quality.services import RULESET_ROLES, inspect_interaction

    user: User = request.user  # type: ignore[assignment]
    x = selectors.access_interaction(viewer=user, interaction_id=interaction_id)
    if not (user.is_superuser or user.role in RULESET_ROLES or user.role == "inspector"):
        raise PermissionDenied()
    insp = inspect_interaction(x.pk)
    return inspection_present(insp)
