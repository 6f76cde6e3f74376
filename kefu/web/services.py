"""Writes the agent workspace owns: login attempts and lock-out, saved views, one-time form tokens,
and taking a call (customer + work order in one transaction). Each is audited (X3)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kefu.accounts.models import User
from kefu.audit.services import audit_record
from kefu.core.errors import Conflict, ValidationFailed
from kefu.customers.services import clean_phone, customer_create
from kefu.tickets.models import Ticket
from kefu.tickets.services import ticket_create

from .models import FormToken, LoginAttempt, SavedView


class AlreadySubmitted(Conflict):
    code = "already_submitted"
    default_message = _("This form was already submitted; it was not done twice.")


def _window() -> timedelta:
    return timedelta(minutes=settings.KEFU_LOGIN_WINDOW_MINUTES)


def login_is_locked(*, username: str) -> bool:
    """Locked while the last N attempts within the window all failed (X2)."""
    since = timezone.now() - _window()
    recent = list(
        LoginAttempt.objects.filter(username=username.lower(), at__gte=since)
        .order_by("-at").values_list("success", flat=True)[: settings.KEFU_LOGIN_MAX_FAILURES]
    )
    return len(recent) >= settings.KEFU_LOGIN_MAX_FAILURES and not any(recent)


@transaction.atomic
def login_attempt_record(*, username: str, ip: str, success: bool, user: User | None = None) -> bool:
    """Record an attempt; returns True when this failure has just locked the user name. Failures and
    lock-outs are audited; successes too (who logged in from where)."""
    name = username.strip().lower()[:150]
    LoginAttempt.objects.create(username=name, ip=ip[:64], success=success, at=timezone.now())
    if success:
        audit_record(actor=user, action="auth.login", obj=user)
        return False
    locked = login_is_locked(username=name)
    audit_record(
        actor=None, action="auth.locked" if locked else "auth.login_failed", object_type="accounts.user",
        object_id=name, changes={"ip": ip},
    )
    return locked


@transaction.atomic
def form_token_use(token: str) -> None:
    """Mark a form's token used, inside the caller's transaction: a second use raises
    AlreadySubmitted, and if the caller's work fails the token stays unused."""
    token = (token or "").strip()[:64]
    if not token:
        return
    try:
        with transaction.atomic():
            FormToken.objects.create(token=token)
    except IntegrityError:
        raise AlreadySubmitted() from None


@transaction.atomic
def saved_view_save(*, actor: User, name: str, query: str) -> SavedView:
    name = (name or "").strip()
    if not name:
        raise ValidationFailed(fields={"name": _("This field is required.")})
    if len(name) > 40:
        raise ValidationFailed(fields={"name": _("At most %(n)d characters.") % {"n": 40}})
    view, _created = SavedView.objects.update_or_create(user=actor, name=name, defaults={"query": query[:500]})
    audit_record(actor=actor, action="web.saved_view", obj=view, changes={"name": name, "query": view.query})
    return view


@transaction.atomic
def saved_view_delete(*, actor: User, view_id: int) -> None:
    deleted, _x = SavedView.objects.filter(user=actor, pk=view_id).delete()
    if deleted:
        audit_record(actor=actor, action="web.saved_view_delete", object_type="web.savedview", object_id=view_id)


@transaction.atomic
def call_take(
    *,
    actor: User,
    calling_number: str,
    customer_id: int | None,
    new_customer_name: str = "",
    type: str,
    priority: str,
    subject: str,
    description: str = "",
    service_id: int | None = None,
    form_token: str = "",
) -> Ticket:
    """Take a call (W2, W4): the work order is opened for the caller's customer record — created here
    from the calling number when there is none — with the taker as owner. All or nothing."""
    form_token_use(form_token)
    phone = clean_phone(calling_number, field="phone")
    errors: dict[str, Any] = {}
    if customer_id is None:
        name = (new_customer_name or "").strip()
        if not name:
            errors["new_customer_name"] = _("Give the caller's name to create the customer record.")
        elif len(name) > 64:
            errors["new_customer_name"] = _("At most %(n)d characters.") % {"n": 64}
        if not subject.strip():
            errors["subject"] = _("This field is required.")
        if errors:
            raise ValidationFailed(fields=errors)
        customer_id = customer_create(actor=actor, name=name, phones=[phone]).pk
    return ticket_create(
        actor=actor, type=type, priority=priority, customer_id=customer_id, subject=subject,
        description=description, channel="phone", service_id=service_id, contact_phone=phone,
    )
