"""The customer portal's writes (C1, F2, W3): submit a request, verify the phone with a one-time
code sent through the SMS gateway, confirm or reopen a resolved order, rate it. Customers have no
staff account: the portal acts through its own service account, so every audit record and timeline
entry says the change came from the portal."""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext_lazy as _

from kefu.accounts.models import Role, Team, User
from kefu.audit.services import audit_record
from kefu.core.errors import Conflict, KefuError, ValidationFailed
from kefu.customers.models import CustomerPhone
from kefu.customers.selectors import customer_find_by_phone
from kefu.customers.services import clean_phone, customer_create
from kefu.tickets import services as ts
from kefu.tickets.models import Status, Ticket, TicketType

from .models import OneTimeCode, SatisfactionRating, SmsOutbox

PORTAL_USERNAME = "portal"


class RateLimited(KefuError):
    status = 429
    code = "rate_limited"
    default_message = _("Too many requests. Please try again later.")


class CodeRejected(KefuError):
    status = 422
    code = "code_rejected"


def portal_actor() -> User:
    """The portal's service account: it cannot log in (no usable password) and sees every order,
    because a customer proves ownership with a one-time code, not with a staff scope."""
    user = User.objects.filter(username=PORTAL_USERNAME).first()
    if user is None:
        team = Team.objects.filter(name=settings.KEFU_PORTAL_TEAM).first() if settings.KEFU_PORTAL_TEAM else None
        team = team or Team.objects.order_by("id").first()
        user = User.objects.create(
            username=PORTAL_USERNAME, password=make_password(None), role=Role.SUPERVISOR, display_name="网上营业厅",
            team=team,
        )
    return user


def rate_limit(*, key: str, limit: int, seconds: int = 3600) -> None:
    """Count one use of ``key``; refuse past ``limit`` in the window (shared cache in production)."""
    full = f"kefu:rl:{key}"
    cache.add(full, 0, seconds)
    try:
        used = cache.incr(full)
    except ValueError:  # expired between add and incr
        cache.set(full, 1, seconds)
        used = 1
    if used > limit:
        raise RateLimited()


def _phones_of(ticket: Ticket) -> set[str]:
    phones = set(CustomerPhone.objects.filter(customer_id=ticket.customer_id).values_list("number", flat=True))
    if ticket.contact_phone:
        phones.add(ticket.contact_phone)
    return phones


@transaction.atomic
def portal_submit(
    *, name: str, type: str, description: str, contact_phone: str, attachment: tuple[str, bytes, str] | None = None,
) -> Ticket:
    """A customer's request from the portal becomes a work order in the portal team's queue, for the
    customer found by the contact number (or a new record). With its attachment, all or nothing."""
    errors: dict[str, Any] = {}
    name = (name or "").strip()
    if not name:
        errors["name"] = _("This field is required.")
    elif len(name) > 64:
        errors["name"] = _("At most %(n)d characters.") % {"n": 64}
    if type not in TicketType.values:
        errors["type"] = _("Choose the kind of request.")
    description = (description or "").strip()
    if len(description) < 5:
        errors["description"] = _("Describe the problem in at least 5 characters.")
    elif len(description) > 2000:
        errors["description"] = _("At most %(n)d characters.") % {"n": 2000}
    phone = ""
    try:
        phone = clean_phone(contact_phone, field="contact_phone")
    except ValidationFailed as e:
        errors.update(e.fields)
    if attachment is not None:
        try:
            ts.attachment_validate(name=attachment[0], size=len(attachment[1]), content_type=attachment[2])
        except ValidationFailed as e:
            errors.update(e.fields)
    if errors:
        raise ValidationFailed(fields=errors)
    actor = portal_actor()
    customer = customer_find_by_phone(phone).first() or customer_create(actor=actor, name=name, phones=[phone])
    subject = description.splitlines()[0][:60]
    ticket = ts.ticket_create(
        actor=actor, type=type, customer_id=customer.pk, subject=subject, description=description,
        channel="web", contact_phone=phone,
    )
    if attachment is not None:
        ts.ticket_attach(actor=actor, ticket_id=ticket.pk, name=attachment[0], content=attachment[1], content_type=attachment[2])
    SmsOutbox.objects.create(
        to=phone, body=f"【kefu】您的工单{ticket.number}已受理，我们会尽快处理。可凭手机号在网上服务大厅查询进度。"
    )
    return ticket


def _code_hash(code: str, ticket_id: int) -> str:
    return salted_hmac("kefu.portal.code", f"{ticket_id}:{code}", algorithm="sha256").hexdigest()


def _find_ticket(number: str) -> Ticket | None:
    key = (number or "").strip().upper()
    if not key:
        return None
    return Ticket.objects.select_related("customer").filter(number=key).first()


@transaction.atomic
def portal_code_send(*, number: str, phone: str) -> None:
    """Send a one-time code to ``phone`` if it is a number on order ``number``. Says nothing about
    whether the order exists or the phone matches (X1): the answer is the same either way."""
    clean = clean_phone(phone, field="phone")
    if not (number or "").strip():
        raise ValidationFailed(fields={"number": _("This field is required.")})
    rate_limit(key=f"code:{clean}", limit=settings.KEFU_PORTAL_CODES_PER_HOUR)
    ticket = _find_ticket(number)
    if ticket is None or clean not in _phones_of(ticket):
        return
    code = f"{secrets.randbelow(1_000_000):06d}"
    now = timezone.now()
    # A new code replaces any earlier one.
    OneTimeCode.objects.filter(ticket=ticket, phone=clean, used_at__isnull=True).update(used_at=now)
    OneTimeCode.objects.create(
        ticket=ticket, phone=clean, code_hash=_code_hash(code, ticket.pk), created_at=now,
        expires_at=now + timedelta(minutes=settings.KEFU_PORTAL_CODE_MINUTES),
    )
    SmsOutbox.objects.create(
        to=clean,
        body=f"【kefu】验证码{code}，用于查询工单{ticket.number}，{settings.KEFU_PORTAL_CODE_MINUTES}分钟内有效。请勿告诉他人。",
    )
    audit_record(actor=None, action="portal.code_sent", obj=ticket, changes={"phone_tail": clean[-4:]})


def portal_code_verify(*, number: str, phone: str, code: str) -> Ticket:
    """The order when ``code`` is the live code for it and ``phone``; each wrong try counts, and a code
    stops working after its tries or its minutes."""
    clean = clean_phone(phone, field="phone")
    code = (code or "").strip()
    if not (code.isdigit() and len(code) == 6):
        raise ValidationFailed(fields={"code": _("The code has 6 digits.")})
    error: CodeRejected | None = None
    # The wrong try is counted in its own transaction, committed before the refusal is raised.
    with transaction.atomic():
        ticket = _find_ticket(number)
        row = (
            OneTimeCode.objects.select_for_update().filter(ticket=ticket, phone=clean, used_at__isnull=True).order_by("-id").first()
            if ticket is not None else None
        )
        if row is None:
            error = CodeRejected(_("The code is wrong or has expired. Ask for a new one."), fields={"code": _("Not valid.")})
        elif row.expires_at <= timezone.now():
            error = CodeRejected(_("The code has expired. Ask for a new one."), fields={"code": _("Expired.")})
        elif row.attempts >= settings.KEFU_PORTAL_CODE_ATTEMPTS:
            error = CodeRejected(_("Too many wrong tries. Ask for a new code."), fields={"code": _("Locked.")})
        elif not constant_time_compare(row.code_hash, _code_hash(code, row.ticket_id)):
            row.attempts += 1
            row.save(update_fields=["attempts"])
            audit_record(actor=None, action="portal.code_wrong", obj=ticket, changes={"attempts": row.attempts})
            left = settings.KEFU_PORTAL_CODE_ATTEMPTS - row.attempts
            error = CodeRejected(
                _("The code is wrong. %(left)d tries left.") % {"left": left}, fields={"code": _("Not valid.")}
            )
        else:
            row.used_at = timezone.now()
            row.save(update_fields=["used_at"])
            audit_record(actor=None, action="portal.code_verified", obj=ticket)
    if error is not None:
        raise error
    assert ticket is not None
    return ticket


@transaction.atomic
def portal_confirm(*, ticket_id: int, version: int | None) -> Ticket:
    """The customer confirms the solution: the order closes (W3)."""
    return ts.ticket_confirm(actor=portal_actor(), ticket_id=ticket_id, version=version, note="客户在网上服务大厅确认已解决")


@transaction.atomic
def portal_reopen(*, ticket_id: int, reason: str, version: int | None) -> Ticket:
    """The customer says it is not solved: the order is reopened as rework (W3)."""
    reason = (reason or "").strip()
    if len(reason) < 2:
        raise ValidationFailed(fields={"reason": _("Tell us what is still wrong (at least 2 characters).")})
    if len(reason) > 1000:
        raise ValidationFailed(fields={"reason": _("At most %(n)d characters.") % {"n": 1000}})
    return ts.ticket_reopen(actor=portal_actor(), ticket_id=ticket_id, reason=f"客户反馈未解决：{reason}", version=version)


@transaction.atomic
def ticket_rate(*, ticket_id: int, score: int | str, comment: str = "") -> SatisfactionRating:
    """The customer's satisfaction 1–5 with a resolved or closed order (F2); once per order."""
    try:
        value = int(score)
    except (TypeError, ValueError):
        value = 0
    if not 1 <= value <= 5:
        raise ValidationFailed(fields={"score": _("Choose from 1 to 5 stars.")})
    comment = (comment or "").strip()
    if len(comment) > 500:
        raise ValidationFailed(fields={"comment": _("At most %(n)d characters.") % {"n": 500}})
    ticket = Ticket.objects.select_for_update().get(pk=ticket_id)
    if ticket.status not in (Status.RESOLVED, Status.CLOSED):
        raise Conflict(_("An order can be rated once it is resolved."), code="not_resolved")
    if SatisfactionRating.objects.filter(ticket=ticket).exists():
        raise Conflict(_("This order was already rated. Thank you!"), code="already_rated")
    rating = SatisfactionRating.objects.create(ticket=ticket, score=value, comment=comment)
    audit_record(actor=None, action="portal.rate", obj=ticket, changes={"score": value})
    return rating
