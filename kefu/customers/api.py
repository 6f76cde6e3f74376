"""Customer HTTP API: ``/api/v1/customers`` (C1, C3)."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from django.http import HttpRequest
from ninja import Query, Router, Schema
from ninja import Status as Reply
from pydantic import ConfigDict, Field

from kefu.accounts.models import User
from kefu.tickets.selectors import decode_cursor, encode_cursor

from . import selectors, services

router = Router(tags=["customers"])


class Strict(Schema):
    model_config = ConfigDict(extra="forbid")


class ServiceIn(Strict):
    kind: Literal["mobile", "broadband", "fixed", "iptv", "enterprise_line"]
    identifier: str = Field(min_length=1, max_length=40)
    plan: str = Field(default="", max_length=64)
    status: Literal["active", "suspended", "cancelled"] = "active"
    address: str = Field(default="", max_length=200)
    opened_at: date | None = None


class CustomerIn(Strict):
    name: str = Field(min_length=1, max_length=64)
    phones: list[str] = Field(min_length=1, max_length=10)
    id_number: str = Field(default="", max_length=32)
    province: str = Field(default="", max_length=16)
    city: str = Field(default="", max_length=32)
    address: str = Field(default="", max_length=200)
    star_level: int = Field(default=0, ge=0, le=7)
    tags: list[str] = Field(default_factory=list, max_length=20)
    special_mark: bool = False
    special_note: str = Field(default="", max_length=200)
    do_not_disturb: bool = False
    services: list[ServiceIn] = Field(default_factory=list, max_length=50)


class CustomerPatch(Strict):
    name: str | None = Field(default=None, min_length=1, max_length=64)
    phones: list[str] | None = Field(default=None, min_length=1, max_length=10)
    id_number: str | None = Field(default=None, max_length=32)
    province: str | None = Field(default=None, max_length=16)
    city: str | None = Field(default=None, max_length=32)
    address: str | None = Field(default=None, max_length=200)
    star_level: int | None = Field(default=None, ge=0, le=7)
    tags: list[str] | None = Field(default=None, max_length=20)
    special_mark: bool | None = None
    special_note: str | None = Field(default=None, max_length=200)
    do_not_disturb: bool | None = None


class RevealIn(Strict):
    field: Literal["phones", "id_number", "address", "name"]
    reason: str = Field(min_length=2, max_length=500)


@router.post("/customers", response={201: dict[str, Any]}, summary="Create a customer")
def create_customer(request: HttpRequest, payload: CustomerIn) -> Any:
    user: User = request.user  # type: ignore[assignment]
    data = payload.model_dump()
    customer = services.customer_create(actor=user, **data)
    return Reply(201, selectors.customer_present(selectors.customer_get(customer_id=customer.pk), user))


@router.get("/customers", response=dict[str, Any], summary="Find customers by phone number or name")
def list_customers(
    request: HttpRequest,
    phone: str | None = None,
    q: str | None = Query(None, max_length=64),
    cursor: str | None = None,
    limit: int = Query(50, ge=1, le=200),
) -> dict[str, Any]:
    user: User = request.user  # type: ignore[assignment]
    number = services.clean_phone(phone, field="phone") if phone is not None else None
    after = decode_cursor(cursor) if cursor else None
    rows = selectors.customer_list(q=q or "", phone=number, after_id=after, limit=limit)
    nxt = encode_cursor(rows[limit - 1].pk) if len(rows) > limit else None
    return {"items": [selectors.customer_present(c, user) for c in rows[:limit]], "next": nxt}


@router.get("/customers/{customer_id}", response=dict[str, Any], summary="A customer with services")
def get_customer(request: HttpRequest, customer_id: int) -> dict[str, Any]:
    user: User = request.user  # type: ignore[assignment]
    return selectors.customer_present(selectors.customer_get(customer_id=customer_id), user)


@router.patch("/customers/{customer_id}", response=dict[str, Any], summary="Change some fields of a customer")
def update_customer(request: HttpRequest, customer_id: int, payload: CustomerPatch) -> dict[str, Any]:
    user: User = request.user  # type: ignore[assignment]
    services.customer_update(actor=user, customer_id=customer_id, changes=payload.model_dump(exclude_unset=True))
    return selectors.customer_present(selectors.customer_get(customer_id=customer_id), user)


@router.get("/customers/{customer_id}/history", response=dict[str, Any], summary="Customer 360: order counts and latest orders")
def history(request: HttpRequest, customer_id: int, limit: int = Query(10, ge=1, le=50)) -> dict[str, Any]:
    return selectors.customer_history(customer_id=customer_id, limit=limit)


@router.post("/customers/{customer_id}/reveal", response=dict[str, Any], summary="Reveal a masked field (audited)")
def reveal(request: HttpRequest, customer_id: int, payload: RevealIn) -> dict[str, Any]:
    user: User = request.user  # type: ignore[assignment]
    return services.customer_reveal(actor=user, customer_id=customer_id, field=payload.field, reason=payload.reason)
