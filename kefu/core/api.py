"""What every API router shares: token authentication, the one error shape, JSON body parsing
and translated validation messages (STYLE.md §5)."""

from __future__ import annotations

import json
from typing import Any, TypeVar

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError

from .errors import KefuError, ValidationFailed

M = TypeVar("M", bound=BaseModel)


def bearer_auth(request: HttpRequest) -> Any:
    """``Authorization: Bearer <token>``; a missing, wrong or revoked token is a 401 naming which."""
    from kefu.accounts.services import token_authenticate

    header = request.headers.get("Authorization", "")
    if not header:
        raise KefuError(_("Authentication required: send Authorization: Bearer <token>."), code="auth_required", status=401)
    scheme, _sep, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise KefuError(_("The Authorization header must be: Bearer <token>."), code="auth_malformed", status=401)
    user = token_authenticate(token.strip())
    if user is None:
        raise KefuError(_("The API token is not valid or has been revoked."), code="invalid_token", status=401)
    request.user = user
    return user


def _message(err: dict[str, Any]) -> str:
    kind = err.get("type", "")
    ctx = err.get("ctx") or {}
    if kind == "missing":
        return gettext("This field is required.")
    if kind == "extra_forbidden":
        return gettext("Unknown field.")
    if kind == "string_too_long":
        return gettext("At most %(n)d characters.") % {"n": ctx.get("max_length", 0)}
    if kind == "string_too_short":
        return gettext("At least %(n)d characters.") % {"n": ctx.get("min_length", 0)}
    if kind in ("literal_error", "enum"):
        expected = str(ctx.get("expected", "")).replace(" or ", ", ").replace("'", "")
        return gettext("Must be one of: %(values)s.") % {"values": expected}
    if kind in ("greater_than_equal", "greater_than"):
        return gettext("Must be at least %(n)s.") % {"n": ctx.get("ge", ctx.get("gt", ""))}
    if kind in ("less_than_equal", "less_than"):
        return gettext("Must be at most %(n)s.") % {"n": ctx.get("le", ctx.get("lt", ""))}
    if kind.startswith("int_") or kind.startswith("float_"):
        return gettext("Must be a number.")
    if kind.startswith("bool_"):
        return gettext("Must be true or false.")
    if kind.startswith("string_") or kind == "str_type":
        return gettext("Must be text.")
    if kind.startswith("list_"):
        return gettext("Must be a list.")
    if kind.startswith("datetime_") or kind.startswith("date_"):
        return gettext("Must be a date and time such as 2026-11-22T09:30:00+08:00.")
    if kind in ("model_type", "dict_type", "model_attributes_type"):
        return gettext("Must be a JSON object.")
    if kind == "json_invalid":
        return gettext("The request body is not valid JSON.")
    if kind == "value_error":
        return str(ctx.get("error", "")) or gettext("Not valid.")
    return gettext("Not valid.")


SKIP_LOC = {"body", "query", "path", "form", "file", "payload", "filters", "data"}


def _field(loc: list[Any] | tuple[Any, ...]) -> str:
    parts = [p for p in loc if p not in SKIP_LOC]
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out or "body"


def validation_fields(errors: list[dict[str, Any]]) -> dict[str, str]:
    fields: dict[str, str] = {}
    for err in errors:
        fields.setdefault(_field(err.get("loc", ())), _message(err))
    return fields


def parse_body(request: HttpRequest, model: type[M]) -> M:
    """Parse a JSON body into ``model``: 400 for malformed JSON, 422 naming each bad field."""
    raw = request.body or b"{}"
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise KefuError(_("The request body is not valid JSON."), code="invalid_json", status=400) from None
    if not isinstance(data, dict):
        raise KefuError(_("The request body must be a JSON object."), code="invalid_json", status=400)
    try:
        return model.model_validate(data)
    except PydanticValidationError as e:
        raise ValidationFailed(fields=validation_fields(e.errors())) from None


def error_response(request: HttpRequest, exc: KefuError) -> HttpResponse:
    return JsonResponse(exc.as_dict(), status=exc.status, json_dumps_params={"ensure_ascii": False})


def install_handlers(api: NinjaAPI) -> None:
    @api.exception_handler(KefuError)
    def _kefu(request: HttpRequest, exc: KefuError) -> HttpResponse:
        return error_response(request, exc)

    @api.exception_handler(NinjaValidationError)
    def _validation(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
        errors = list(exc.errors)
        if any(e.get("type") == "json_invalid" for e in errors) or any(
            "json" in str(e.get("msg", "")).lower() and "body" in e.get("loc", ()) for e in errors
        ):
            return error_response(request, KefuError(_("The request body is not valid JSON."), code="invalid_json", status=400))
        # The whole body is of the wrong shape (a list, a string): a malformed request, not a field error.
        if any(tuple(e.get("loc", ()))[:1] == ("body",) and len(e.get("loc", ())) <= 2
               and e.get("type") in ("model_attributes_type", "dict_type", "model_type") for e in errors):
            return error_response(request, KefuError(_("The request body must be a JSON object."), code="invalid_json", status=400))
        return error_response(request, ValidationFailed(fields=validation_fields(errors)))

    @api.exception_handler(AuthenticationError)
    def _auth(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
        return error_response(request, KefuError(_("Authentication required."), code="auth_required", status=401))

    @api.exception_handler(HttpError)
    def _http(request: HttpRequest, exc: HttpError) -> HttpResponse:
        if exc.status_code == 400 and "parse" in str(exc).lower():
            return error_response(request, KefuError(_("The request body is not valid JSON."), code="invalid_json", status=400))
        code = {400: "bad_request", 404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "error")
        return error_response(request, KefuError(str(exc), code=code, status=exc.status_code))
