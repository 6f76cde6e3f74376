"""Role rules written once (STYLE.md §3)."""

from __future__ import annotations

from django.conf import settings

from .models import Role, User

ALL_TICKETS_ROLES = frozenset({Role.SUPERVISOR, Role.ADMIN, Role.INSPECTOR, Role.AUDITOR})
WRITE_ROLES = frozenset({Role.AGENT, Role.TEAM_LEAD, Role.SUPERVISOR, Role.ADMIN})


def sees_plain_pii(user: User) -> bool:
    """X1: personal data is masked unless the role is configured to see it."""
    return user.role in settings.KEFU_PII_PLAIN_ROLES


def may_reveal_pii(user: User) -> bool:
    return user.role in settings.KEFU_PII_REVEAL_ROLES or sees_plain_pii(user)


def may_write(user: User) -> bool:
    """Inspectors and auditors read; they do not handle work orders or edit customers."""
    return user.is_active and user.role in WRITE_ROLES
