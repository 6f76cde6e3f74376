"""Admin edits are writes too (X3): every add, change and delete made in /admin/ leaves an audit record."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db import transaction
from django.forms.models import model_to_dict

from .services import audit_record


def _snapshot(obj: Any) -> dict[str, Any]:
    data = model_to_dict(obj)
    data.pop("password", None)
    return {k: (str(v) if not isinstance(v, (int, float, bool, type(None))) else v) for k, v in data.items()}


class AuditedAdmin(admin.ModelAdmin):
    @transaction.atomic
    def save_model(self, request: Any, obj: Any, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        changed = list(form.changed_data) if form is not None else []
        after = _snapshot(obj)
        audit_record(
            actor=request.user, action=f"admin.{'change' if change else 'add'}", obj=obj,
            changes={"fields": changed, "after": {k: after.get(k) for k in changed} if change else after},
        )

    @transaction.atomic
    def delete_model(self, request: Any, obj: Any) -> None:
        snapshot, label, pk = _snapshot(obj), obj._meta.label_lower, obj.pk
        super().delete_model(request, obj)
        audit_record(actor=request.user, action="admin.delete", object_type=label, object_id=pk, changes={"before": snapshot})

    def delete_queryset(self, request: Any, queryset: Any) -> None:
        for obj in queryset:
            self.delete_model(request, obj)
