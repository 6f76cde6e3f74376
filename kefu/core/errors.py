"""One error type for every broken business rule, rendered by the API as
``{"error": {"code", "message", "fields"}}`` (STYLE.md §5). Codes are stable snake_case strings;
messages are lazy translations so they come out in the caller's language."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _


class KefuError(Exception):
    status: int = 400
    code: str = "bad_request"
    default_message: Any = _("The request cannot be processed.")

    def __init__(
        self,
        message: Any = None,
        *,
        code: str | None = None,
        fields: dict[str, Any] | None = None,
        status: int | None = None,
        **params: Any,
    ) -> None:
        self.message = message if message is not None else self.default_message
        if code:
            self.code = code
        if status:
            self.status = status
        self.fields = fields or {}
        self.params = params
        super().__init__(str(self.message))

    def as_dict(self) -> dict[str, Any]:
        return {
            "error": {
                "code": self.code,
                "message": str(self.message),
                "fields": {k: str(v) for k, v in self.fields.items()},
                **({"details": self.params} if self.params else {}),
            }
        }


class ValidationFailed(KefuError):
    status = 422
    code = "validation_error"
    default_message = _("Some fields are not valid.")


class NotFound(KefuError):
    status = 404
    code = "not_found"
    default_message = _("Not found.")


class PermissionDenied(KefuError):
    status = 403
    code = "forbidden"
    default_message = _("You are not allowed to do this.")


class Conflict(KefuError):
    status = 409
    code = "conflict"
    default_message = _("The request conflicts with the current state.")


class StaleVersion(Conflict):
    code = "stale_version"
    default_message = _("This record was changed by someone else. Reload it and try again.")


class TransitionNotAllowed(Conflict):
    code = "transition_not_allowed"
