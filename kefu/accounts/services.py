"""Account services: API tokens (created, checked, revoked)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kefu.audit.services import audit_record
from kefu.core.errors import KefuError, NotFound

from .models import ApiToken, User

TOKEN_PREFIX = "kf_"


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@transaction.atomic
def token_create(*, user: User, name: str = "", actor: User | None = None) -> tuple[ApiToken, str]:
    """Create a token for ``user``; returns the row and the clear token, which is never stored."""
    if not user.is_active:
        raise KefuError(_("User %(username)s is not active.") % {"username": user.username}, code="user_inactive")
    prefix = secrets.token_hex(4)
    secret = secrets.token_urlsafe(32)
    clear = f"{TOKEN_PREFIX}{prefix}_{secret}"
    token = ApiToken.objects.create(user=user, name=name, prefix=prefix, key_hash=_hash(clear))
    audit_record(actor=actor, action="token.create", obj=token, changes={"user": user.username, "name": name})
    return token, clear


def token_authenticate(clear: str) -> User | None:
    """The active user a clear token belongs to, or None (missing, malformed, wrong or revoked)."""
    if not clear.startswith(TOKEN_PREFIX) or clear.count("_") < 2:
        return None
    prefix = clear[len(TOKEN_PREFIX):].split("_", 1)[0]
    token = ApiToken.objects.select_related("user").filter(prefix=prefix, revoked_at__isnull=True).first()
    if token is None or not hmac.compare_digest(token.key_hash, _hash(clear)) or not token.user.is_active:
        return None
    now = timezone.now()
    # Touch last_used_at at most once a minute: no write per request under load.
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user


@transaction.atomic
def token_revoke(*, prefix: str, actor: User | None = None) -> ApiToken:
    prefix = prefix.removeprefix(TOKEN_PREFIX).split("_", 1)[0]
    token = ApiToken.objects.select_for_update().filter(prefix=prefix).first()
    if token is None:
        raise NotFound(_("No API token with prefix %(prefix)s.") % {"prefix": prefix}, code="token_not_found")
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit_record(actor=actor, action="token.revoke", obj=token, changes={"user": token.user.username})
    return token
