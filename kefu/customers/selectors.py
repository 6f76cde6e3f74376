"""Reads of customer records, with personal data masked unless the viewer's role allows it (X1)."""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch, Q, QuerySet
from django.utils.translation import gettext_lazy as _

from kefu.accounts.models import User
from kefu.accounts.permissions import sees_plain_pii
from kefu.core.errors import NotFound
from kefu.core.masking import mask_address, mask_id_number, mask_name, mask_phone

from .models import Customer, CustomerPhone, Service


def customer_qs() -> QuerySet[Customer]:
    return Customer.objects.prefetch_related(
        Prefetch("phones", queryset=CustomerPhone.objects.order_by("-is_primary", "id")),
        Prefetch("services", queryset=Service.objects.order_by("id")),
        "tags",
    )


def customer_get(*, customer_id: int) -> Customer:
    customer = customer_qs().filter(pk=customer_id).first()
    if customer is None:
        raise NotFound(_("Customer %(id)s was not found.") % {"id": customer_id}, code="customer_not_found")
    return customer


def customer_find_by_phone(number: str) -> QuerySet[Customer]:
    """Customers reachable at a normalised number: a contact phone or a mobile/fixed service."""
    ids = CustomerPhone.objects.filter(number=number).values("customer_id")
    svc_ids = Service.objects.filter(identifier=number).values("customer_id")
    return customer_qs().filter(Q(pk__in=ids) | Q(pk__in=svc_ids)).order_by("-pk")


def customer_list(*, q: str = "", phone: str | None = None, after_id: int | None = None, limit: int = 50) -> list[Customer]:
    if phone is not None:
        qs = customer_find_by_phone(phone)
    else:
        qs = customer_qs().order_by("-pk")
        if q:
            qs = qs.filter(name__contains=q.strip())
    if after_id is not None:
        qs = qs.filter(pk__lt=after_id)
    return list(qs[: limit + 1])


def present_phone(number: str, viewer: User) -> str:
    return number if sees_plain_pii(viewer) else mask_phone(number)


def customer_present(customer: Customer, viewer: User, *, detail: bool = True) -> dict[str, Any]:
    """The customer as the viewer may see it: phone, ID number, address masked unless allowed."""
    plain = sees_plain_pii(viewer)
    data: dict[str, Any] = {
        "id": customer.pk,
        "name": customer.name if plain or detail else mask_name(customer.name),
        "phones": [p.number if plain else mask_phone(p.number) for p in customer.phones.all()],
        "province": customer.province,
        "city": customer.city,
        "star_level": customer.star_level,
        "special_mark": customer.special_mark,
        "special_note": customer.special_note,
        "do_not_disturb": customer.do_not_disturb,
        "tags": sorted(t.name for t in customer.tags.all()),
        "masked": not plain,
    }
    if detail:
        data["id_number"] = customer.id_number if plain else mask_id_number(customer.id_number)
        data["address"] = customer.address if plain else mask_address(customer.address)
        data["services"] = [
            {
                "id": s.pk, "kind": s.kind,
                "identifier": s.identifier if plain or s.kind not in ("mobile", "fixed") else mask_phone(s.identifier),
                "plan": s.plan, "status": s.status,
                "address": s.address if plain else mask_address(s.address),
                "opened_at": s.opened_at,
            }
            for s in customer.services.all()
        ]
        data["created_at"] = customer.created_at
    return data


def customer_history(*, customer_id: int, limit: int = 10) -> dict[str, Any]:
    """The customer-360 summary an agent needs on the phone (C1, W4): counts and the latest orders.

    Every order of the customer is summarised (number, type, status, subject, dates) whatever team
    handled it, so the first-contact agent knows the history; opening one still goes through
    ``access_ticket`` and its data scope.
    """
    from datetime import timedelta

    from django.db.models import Count
    from django.utils import timezone

    from kefu.tickets.models import OPEN_STATUSES, Ticket

    customer_get(customer_id=customer_id)  # 404 for unknown ids
    qs = Ticket.objects.filter(customer_id=customer_id)
    since = timezone.now() - timedelta(days=90)
    counts = qs.aggregate(
        total=Count("id"),
        open=Count("id", filter=Q(status__in=OPEN_STATUSES)),
        complaints_90d=Count("id", filter=Q(type="complaint", created_at__gte=since)),
        reopened=Count("id", filter=Q(reopen_count__gt=0)),
    )
    latest = list(
        qs.order_by("-pk").values("id", "number", "type", "status", "priority", "subject", "created_at", "resolved_at")[:limit]
    )
    return {"counts": counts, "tickets": latest}
