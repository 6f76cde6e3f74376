"""Writing audit records. Called by every service that writes, inside its transaction."""

from __future__ import annotations

from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
import json

from kefu.core import context

from .models import AuditRecord


def audit_record(
    *,
    actor: Any,
    action: str,
    obj: Any = None,
    object_type: str = "",
    object_id: Any = "",
    changes: dict[str, Any] | None = None,
    reason: str = "",
) -> AuditRecord:
    meta = context.current()
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or obj.pk
    label = ""
    if actor is not None:
        label = f"{actor.username}" + (f" ({actor.agent_id})" if getattr(actor, "agent_id", "") else "")
    return AuditRecord.objects.create(
        actor=actor if getattr(actor, "pk", None) else None,
        actor_label=label or meta.via,
        action=action,
        object_type=object_type,
        object_id=str(object_id or ""),
        changes=json.loads(json.dumps(changes or {}, cls=DjangoJSONEncoder)),
        reason=reason,
        ip=meta.ip,
        user_agent=meta.user_agent,
        request_id=meta.request_id,
        via=meta.via,
    )
