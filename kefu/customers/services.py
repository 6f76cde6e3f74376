"""Writes to customer records (C1–C3, C6) and the audited reveal of personal data (X1)."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from kefu.accounts.models import User
from kefu.accounts.permissions import may_reveal_pii, may_write
from kefu.audit.services import audit_record
from kefu.core import outbox
from kefu.core.errors import NotFound, PermissionDenied, ValidationFailed
from kefu.core.phone import PhoneError, normalize_phone, phone_kind

from .models import Customer, CustomerPhone, Service, ServiceKind, ServiceStatus, Tag

PHONE_MESSAGES = {
    "phone_empty": _("The phone number is empty."),
    "phone_invalid_chars": _("The phone number contains characters that are not digits."),
    "phone_invalid": _("This is not a valid Chinese phone number."),
}


def phone_error_message(code: str) -> Any:
    return PHONE_MESSAGES.get(code, PHONE_MESSAGES["phone_invalid"])


def clean_phone(raw: str, *, field: str) -> str:
    """Normalise a phone number or raise a field error naming the problem."""
    try:
        return normalize_phone(raw)
    except PhoneError as e:
        raise ValidationFailed(fields={field: phone_error_message(getattr(e, "code", "phone_invalid"))}) from None


def _clean_id_number(raw: str) -> str:
    value = (raw or "").strip().upper()
    if value and not (len(value) == 18 and value[:17].isdigit() and (value[17].isdigit() or value[17] == "X")):
        raise ValidationFailed(fields={"id_number": _("An ID number has 18 characters: 17 digits and a digit or X.")})
    return value


@transaction.atomic
def customer_create(
    *,
    actor: User,
    name: str,
    phones: list[str],
    id_number: str = "",
    province: str = "",
    city: str = "",
    address: str = "",
    star_level: int = 0,
    tags: list[str] | None = None,
    special_mark: bool = False,
    special_note: str = "",
    do_not_disturb: bool = False,
    services: list[dict[str, Any]] | None = None,
) -> Customer:
    """Create a customer with their numbers and services. All or nothing: a bad phone or service
    leaves no row behind."""
    if not may_write(actor):
        raise PermissionDenied(_("Your role cannot change customer records."), code="role_read_only")
    errors: dict[str, Any] = {}
    name = (name or "").strip()
    if not name:
        errors["name"] = _("This field is required.")
    if not phones:
        errors["phones"] = _("At least one phone number is required.")
    normalised: list[str] = []
    for i, raw in enumerate(phones or []):
        try:
            number = clean_phone(raw, field=f"phones[{i}]")
        except ValidationFailed as e:
            errors.update(e.fields)
            continue
        if number not in normalised:
            normalised.append(number)
    try:
        id_number = _clean_id_number(id_number)
    except ValidationFailed as e:
        errors.update(e.fields)
    if not 0 <= int(star_level) <= 7:
        errors["star_level"] = _("The star level is from 0 to 7.")
    clean_services: list[Service] = []
    for i, svc in enumerate(services or []):
        kind = svc.get("kind", "")
        if kind not in ServiceKind.values:
            errors[f"services[{i}].kind"] = _("Unknown service kind.")
            continue
        identifier = str(svc.get("identifier", "")).strip()
        if kind in (ServiceKind.MOBILE, ServiceKind.FIXED):
            try:
                identifier = clean_phone(identifier, field=f"services[{i}].identifier")
            except ValidationFailed as e:
                errors.update(e.fields)
                continue
        elif not identifier:
            errors[f"services[{i}].identifier"] = _("This field is required.")
            continue
        status = svc.get("status") or ServiceStatus.ACTIVE
        if status not in ServiceStatus.values:
            errors[f"services[{i}].status"] = _("Unknown service status.")
            continue
        clean_services.append(
            Service(kind=kind, identifier=identifier, plan=str(svc.get("plan", ""))[:64], status=status,
                    address=str(svc.get("address", ""))[:200], opened_at=svc.get("opened_at"))
        )
    if errors:
        raise ValidationFailed(fields=errors)

    customer = Customer.objects.create(
        name=name, id_number=id_number, province=province.strip(), city=city.strip(), address=address.strip(),
        star_level=star_level, special_mark=special_mark, special_note=special_note.strip(),
        do_not_disturb=do_not_disturb,
    )
    CustomerPhone.objects.bulk_create(
        [CustomerPhone(customer=customer, number=n, kind=phone_kind(n), is_primary=(i == 0)) for i, n in enumerate(normalised)]
    )
    for svc in clean_services:
        svc.customer = customer
    Service.objects.bulk_create(clean_services)
    if tags:
        customer.tags.set([Tag.objects.get_or_create(name=t.strip()[:32])[0] for t in tags if t.strip()])
    audit_record(
        actor=actor, action="customer.create", obj=customer,
        changes={"phones": len(normalised), "services": len(clean_services), "star_level": star_level},
    )
    outbox.put("customer.created", customer_id=customer.pk)
    return customer


UPDATABLE = {"name", "phones", "province", "city", "address", "star_level", "tags", "special_mark", "special_note",
             "do_not_disturb", "id_number"}


@transaction.atomic
def customer_update(*, actor: User, customer_id: int, changes: dict[str, Any]) -> Customer:
    """Change some fields of a customer (C3, W7, C6). All or nothing; the audit record names the
    fields changed, never the personal values themselves."""
    if not may_write(actor):
        raise PermissionDenied(_("Your role cannot change customer records."), code="role_read_only")
    unknown = sorted(set(changes) - UPDATABLE)
    if unknown:
        raise ValidationFailed(fields={k: _("Unknown field.") for k in unknown})
    customer = Customer.objects.select_for_update().filter(pk=customer_id).first()
    if customer is None:
        raise NotFound(_("Customer %(id)s was not found.") % {"id": customer_id}, code="customer_not_found")
    errors: dict[str, Any] = {}
    phones: list[str] | None = None
    if "phones" in changes:
        raw = changes["phones"] or []
        if not raw:
            errors["phones"] = _("At least one phone number is required.")
        phones = []
        for i, value in enumerate(raw):
            try:
                number = clean_phone(value, field=f"phones[{i}]")
            except ValidationFailed as e:
                errors.update(e.fields)
                continue
            if number not in phones:
                phones.append(number)
    if "name" in changes and not str(changes["name"] or "").strip():
        errors["name"] = _("This field is required.")
    if "star_level" in changes and not 0 <= int(changes["star_level"]) <= 7:
        errors["star_level"] = _("The star level is from 0 to 7.")
    if "id_number" in changes:
        try:
            changes["id_number"] = _clean_id_number(changes["id_number"] or "")
        except ValidationFailed as e:
            errors.update(e.fields)
    if errors:
        raise ValidationFailed(fields=errors)
    changed: list[str] = []
    for key in ("name", "province", "city", "address", "star_level", "special_mark", "special_note",
                "do_not_disturb", "id_number"):
        if key in changes:
            value = changes[key].strip() if isinstance(changes[key], str) else changes[key]
            if getattr(customer, key) != value:
                setattr(customer, key, value)
                changed.append(key)
    customer.save()
    if phones is not None and phones != list(customer.phones.order_by("-is_primary", "id").values_list("number", flat=True)):
        customer.phones.all().delete()
        CustomerPhone.objects.bulk_create(
            [CustomerPhone(customer=customer, number=n, kind=phone_kind(n), is_primary=(i == 0)) for i, n in enumerate(phones)]
        )
        changed.append("phones")
    if "tags" in changes:
        wanted = sorted({t.strip()[:32] for t in changes["tags"] or [] if t.strip()})
        if wanted != sorted(customer.tags.values_list("name", flat=True)):
            customer.tags.set([Tag.objects.get_or_create(name=t)[0] for t in wanted])
            changed.append("tags")
    if changed:
        audit_record(actor=actor, action="customer.update", obj=customer, changes={"fields": changed})
        outbox.put("customer.updated", customer_id=customer.pk, fields=changed)
    return customer


REVEALABLE = {"phones", "id_number", "address", "name"}


@transaction.atomic
def customer_reveal(*, actor: User, customer_id: int, field: str, reason: str) -> dict[str, Any]:
    """Show one masked field in clear, for a stated reason; every reveal is audited (X1, C3)."""
    if not may_reveal_pii(actor):
        raise PermissionDenied(_("Your role may not see customers' personal data."), code="pii_forbidden")
    if field not in REVEALABLE:
        raise ValidationFailed(fields={"field": _("Unknown field; one of: %(fields)s.") % {"fields": ", ".join(sorted(REVEALABLE))}})
    reason = (reason or "").strip()
    if len(reason) < 2:
        raise ValidationFailed(fields={"reason": _("Say why you need to see this (at least 2 characters).")})
    if len(reason) > 500:
        raise ValidationFailed(fields={"reason": _("At most %(n)d characters.") % {"n": 500}})
    customer = Customer.objects.filter(pk=customer_id).first()
    if customer is None:
        raise NotFound(_("Customer %(id)s was not found.") % {"id": customer_id}, code="customer_not_found")
    if field == "phones":
        value: Any = list(customer.phones.order_by("-is_primary", "id").values_list("number", flat=True))
    else:
        value = getattr(customer, field)
    audit_record(actor=actor, action="customer.reveal", obj=customer, changes={"field": field}, reason=reason)
    return {"field": field, "value": value}
