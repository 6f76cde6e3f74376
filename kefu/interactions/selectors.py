"""Reads of contacts shared by the API, pages and quality: data scope built in (STYLE.md §3)."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from kefu.accounts.models import Role, User
from kefu.core.errors import NotFound

from .models import Interaction, Utterance

# Who sees every contact: the same roles that see every work order.
ALL_CONTACTS_ROLES = frozenset({Role.SUPERVISOR, Role.ADMIN, Role.INSPECTOR, Role.AUDITOR})


def interaction_scope_q(user: User, prefix: str = "") -> Q | None:
    """The contacts ``user`` may see; None means all of them.

    - supervisors, administrators, inspectors, auditors: all;
    - a team lead: the team's contacts and their own;
    - an agent: their own contacts only (their inspections are personal).
    """
    if user.role in ALL_CONTACTS_ROLES or user.is_superuser:
        return None
    mine = Q(**{f"{prefix}agent": user})
    if user.role == Role.TEAM_LEAD and user.team_id:
        return mine | Q(**{f"{prefix}team_id": user.team_id})
    return mine


def interaction_qs_for(user: User) -> QuerySet[Interaction]:
    scope = interaction_scope_q(user)
    qs = Interaction.objects.all()
    return qs if scope is None else qs.filter(scope)


def access_interaction(*, viewer: User, interaction_id: int | str) -> Interaction:
    """The contact if ``viewer`` may see it, else NotFound (never confirm that it exists)."""
    try:
        pk = int(interaction_id)
    except (TypeError, ValueError):
        raise NotFound() from None
    obj = interaction_qs_for(viewer).select_related("agent", "customer", "team").filter(pk=pk).first()
    if obj is None:
        raise NotFound()
    return obj


def interaction_utterances(interaction: Interaction) -> list[Utterance]:
    return list(interaction.utterances.order_by("index"))


def interaction_list(*, viewer: User, agent: User | None = None, cursor: int | None = None,
                     limit: int = 50) -> tuple[list[Interaction], int | None]:
    """A page of contacts newest first (by id) within scope, with the next cursor."""
    qs = interaction_qs_for(viewer).select_related("agent", "customer").order_by("-id")
    if agent is not None:
        qs = qs.filter(agent=agent)
    if cursor is not None:
        qs = qs.filter(id__lt=cursor)
    rows = list(qs[: limit + 1])
    nxt = rows[limit - 1].pk if len(rows) > limit else None
    return rows[:limit], nxt
