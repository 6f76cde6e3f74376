"""Work-order HTTP API: ``/api/v1/tickets`` (contract in issue #2). Thin: parse → service or
selector → present."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from django.http import FileResponse, HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from ninja import File, Query, Router, Schema
from ninja import Status as Reply
from ninja.files import UploadedFile
from pydantic import ConfigDict, Field

from kefu.accounts.models import User
from kefu.core.api import parse_body
from kefu.core.errors import KefuError, NotFound, ValidationFailed

from . import selectors, services
from .models import Attachment, Category, Status
from .presenters import attachment_present, ticket_present

router = Router(tags=["tickets"])

TicketTypeLit = Literal["consultation", "fault", "complaint", "business", "suggestion", "refund"]
PriorityLit = Literal["urgent", "high", "normal", "low"]
ChannelLit = Literal["phone", "chat", "email", "sms", "web", "api", "walk_in"]


class Strict(Schema):
    model_config = ConfigDict(extra="forbid")


class TicketIn(Strict):
    type: TicketTypeLit
    priority: PriorityLit = "normal"
    customer_id: int = Field(ge=1)
    service_id: int | None = Field(default=None, ge=1)
    category: str | int | None = None
    subject: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=20000)
    channel: ChannelLit = "api"
    contact_phone: str | None = Field(default=None, max_length=40)


class BodyIn(Strict):
    body: str = Field(min_length=1, max_length=10000)
    version: int | None = Field(default=None, ge=1)


class TransferIn(Strict):
    department: str | int | None = None
    agent: str | None = Field(default=None, max_length=16)
    reason: str = Field(min_length=1, max_length=1000)
    version: int | None = Field(default=None, ge=1)


class ReasonIn(Strict):
    reason: str = Field(min_length=1, max_length=1000)
    version: int | None = Field(default=None, ge=1)


class OptionalReasonIn(Strict):
    reason: str = Field(default="", max_length=1000)
    version: int | None = Field(default=None, ge=1)


class VersionIn(Strict):
    version: int | None = Field(default=None, ge=1)


class ResolveIn(Strict):
    resolution: str = Field(min_length=1, max_length=10000)
    version: int | None = Field(default=None, ge=1)


class PriorityIn(Strict):
    priority: PriorityLit
    reason: str = Field(min_length=1, max_length=1000)
    version: int | None = Field(default=None, ge=1)


class LinkIn(Strict):
    to: str | int
    kind: Literal["duplicate", "parent", "related"] = "related"
    version: int | None = Field(default=None, ge=1)


class MergeIn(Strict):
    into: str | int
    reason: str = Field(min_length=1, max_length=1000)
    version: int | None = Field(default=None, ge=1)


def _contact_phone(raw: str | None) -> str:
    if not raw:
        return ""
    from kefu.customers.services import clean_phone

    return clean_phone(raw, field="contact_phone")


@router.post("/tickets", response={201: dict[str, Any]}, summary="Open a work order")
def create_ticket(request: HttpRequest, payload: TicketIn) -> Any:
    ticket = services.ticket_create(
        actor=request.user,  # type: ignore[arg-type]
        type=payload.type, priority=payload.priority, customer_id=payload.customer_id,
        service_id=payload.service_id, category=payload.category, subject=payload.subject,
        description=payload.description, channel=payload.channel, contact_phone=_contact_phone(payload.contact_phone),
    )
    return Reply(201, ticket_present(ticket, request.user))  # type: ignore[arg-type]


def _csv(value: str | None, allowed: set[str], field: str) -> list[str] | None:
    if not value:
        return None
    items = [v.strip() for v in value.split(",") if v.strip()]
    bad = [v for v in items if v not in allowed]
    if bad:
        raise ValidationFailed(fields={field: _("Unknown value: %(values)s.") % {"values": ", ".join(bad)}})
    return items


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and timezone.is_naive(value):
        return timezone.make_aware(value)
    return value


@router.get("/tickets", response=dict[str, Any], summary="List work orders (cursor pagination)")
def list_tickets(
    request: HttpRequest,
    status: str | None = None,
    type: str | None = None,
    priority: str | None = None,
    assignee: str | None = None,
    department: str | None = None,
    owner: str | None = None,
    customer: int | None = None,
    breached: bool | None = None,
    created_from: datetime | None = None,
    created_to: datetime | None = None,
    q: str | None = Query(None, max_length=200),
    cursor: str | None = None,
    limit: int = Query(50, ge=1, le=200),
) -> dict[str, Any]:
    from .models import Priority, TicketType

    if q is not None and len(q) > 200:
        raise ValidationFailed(fields={"q": _("At most %(n)d characters.") % {"n": 200}})
    if created_from and created_to and _aware(created_from) >= _aware(created_to):  # type: ignore[operator]
        raise ValidationFailed(fields={"created_to": _("The end of the range must be after its start.")})
    filters = selectors.TicketFilters(
        status=_csv(status, set(Status.values), "status"),
        type=_csv(type, set(TicketType.values), "type"),
        priority=_csv(priority, set(Priority.values), "priority"),
        assignee=assignee, department=department, owner=owner, customer=customer, breached=breached,
        created_from=_aware(created_from), created_to=_aware(created_to), q=q,
    )
    user: User = request.user  # type: ignore[assignment]
    rows, nxt = selectors.ticket_list(viewer=user, filters=filters, cursor=cursor, limit=limit)
    return {"items": [ticket_present(t, user) for t in rows], "next": nxt}


@router.get("/tickets/breached", response=dict[str, Any], summary="Open orders whose time promise is broken now")
def breached_tickets(request: HttpRequest, limit: int = Query(100, ge=1, le=500)) -> dict[str, Any]:
    user: User = request.user  # type: ignore[assignment]
    rows = selectors.attach_refs(list(
        selectors.breached_now(viewer=user).select_related(*selectors.LIST_RELATED).defer(*selectors.LIST_DEFERRED)[:limit]
    ))
    return {"items": [ticket_present(t, user) for t in rows], "next": None}


@router.get("/tickets/{ticket_id}", response=dict[str, Any], summary="A work order with its timeline")
def get_ticket(request: HttpRequest, ticket_id: str) -> dict[str, Any]:
    user: User = request.user  # type: ignore[assignment]
    ticket = selectors.access_ticket(viewer=user, ticket_id=ticket_id)
    return ticket_present(ticket, user, detail=True)


ACTIONS: dict[str, type[Schema]] = {
    "reply": BodyIn, "note": BodyIn, "transfer": TransferIn, "escalate": ReasonIn, "pend": ReasonIn,
    "resume": OptionalReasonIn, "resolve": ResolveIn, "confirm": OptionalReasonIn, "close": ReasonIn,
    "reopen": ReasonIn, "priority": PriorityIn, "link": LinkIn, "merge": MergeIn, "claim": VersionIn,
}


def _run_action(user: User, ticket_id: str, action: str, p: Any) -> None:
    common = {"actor": user, "ticket_id": ticket_id, "version": p.version}
    match action:
        case "reply":
            services.ticket_reply(body=p.body, **common)
        case "note":
            services.ticket_note(body=p.body, **common)
        case "transfer":
            services.ticket_transfer(department=p.department, agent=p.agent, reason=p.reason, **common)
        case "escalate":
            services.ticket_escalate(reason=p.reason, **common)
        case "pend":
            services.ticket_pend(reason=p.reason, **common)
        case "resume":
            services.ticket_resume(reason=p.reason, **common)
        case "resolve":
            services.ticket_resolve(resolution=p.resolution, **common)
        case "confirm":
            services.ticket_confirm(note=p.reason, **common)
        case "close":
            services.ticket_close(reason=p.reason, **common)
        case "reopen":
            services.ticket_reopen(reason=p.reason, **common)
        case "priority":
            services.ticket_set_priority(priority=p.priority, reason=p.reason, **common)
        case "link":
            services.ticket_link(to=p.to, kind=p.kind, **common)
        case "merge":
            services.ticket_merge(into=p.into, reason=p.reason, **common)
        case "claim":
            services.ticket_claim(**common)


@router.post(
    "/tickets/{ticket_id}/actions/{action}",
    response=dict[str, Any],
    summary="Act on a work order",
    description=(
        "Actions and their bodies: reply/note {body}; transfer {department | agent, reason}; "
        "escalate/pend/close/reopen {reason}; resume/confirm {reason?}; resolve {resolution}; "
        "priority {priority, reason}; link {to, kind}; merge {into, reason}; claim {} (take an order nobody "
        "holds, from a queue: `GET /tickets?assignee=none`). "
        "Every body takes an optional `version` for optimistic locking (409 stale_version)."
    ),
    openapi_extra={
        "requestBody": {
            "content": {"application/json": {"schema": {"oneOf": [s.model_json_schema() for s in {id(v): v for v in ACTIONS.values()}.values()]}}},
            "required": True,
        }
    },
)
def act_on_ticket(request: HttpRequest, ticket_id: str, action: str) -> dict[str, Any]:
    user: User = request.user  # type: ignore[assignment]
    schema = ACTIONS.get(action)
    if schema is None:
        raise KefuError(
            _("Unknown action %(action)s; one of: %(actions)s.") % {"action": action, "actions": ", ".join(ACTIONS)},
            code="unknown_action", status=404,
        )
    # Existence and scope first, so that an order outside the caller's scope is a 404 whatever the body.
    selectors.access_ticket(viewer=user, ticket_id=ticket_id)
    payload = parse_body(request, schema)
    _run_action(user, ticket_id, action, payload)
    ticket = selectors.access_ticket(viewer=user, ticket_id=ticket_id)
    return ticket_present(ticket, user, detail=True)


@router.post("/tickets/{ticket_id}/attachments", response={201: dict[str, Any]}, summary="Attach a file")
def attach(request: HttpRequest, ticket_id: str, file: File[UploadedFile]) -> Any:
    user: User = request.user  # type: ignore[assignment]
    selectors.access_ticket(viewer=user, ticket_id=ticket_id)
    # Refuse by declared size before reading a huge upload into memory.
    services.attachment_validate(name=file.name or "", size=file.size or 0, content_type=file.content_type or "")
    content = file.read()
    att = services.ticket_attach(
        actor=user, ticket_id=ticket_id, name=file.name or "", content=content, content_type=file.content_type or ""
    )
    return Reply(201, attachment_present(att))


@router.get("/tickets/{ticket_id}/attachments/{attachment_id}", summary="Download an attachment")
def download(request: HttpRequest, ticket_id: str, attachment_id: int) -> FileResponse:
    user: User = request.user  # type: ignore[assignment]
    ticket = selectors.access_ticket(viewer=user, ticket_id=ticket_id)
    att = Attachment.objects.filter(ticket=ticket, pk=attachment_id).first()
    if att is None:
        raise NotFound(code="attachment_not_found")
    return FileResponse(att.file.open("rb"), as_attachment=True, filename=att.name, content_type=att.content_type)


@router.get("/categories", response=dict[str, Any], summary="The work-order category tree")
def categories(request: HttpRequest) -> dict[str, Any]:
    rows = list(Category.objects.filter(active=True).order_by("position", "id"))
    return {
        "items": [
            {"id": c.pk, "code": c.code, "name": c.name, "parent_id": c.parent_id, "type": c.ticket_type or None}
            for c in rows
        ],
        "next": None,
    }
