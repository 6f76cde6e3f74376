"""The one table of allowed status transitions (W3). Nothing else decides them."""

from __future__ import annotations

from .models import Status

ALLOWED: dict[str, frozenset[str]] = {
    Status.NEW: frozenset({Status.IN_PROGRESS, Status.PENDING_CUSTOMER, Status.PENDING_DEPARTMENT, Status.RESOLVED}),
    Status.IN_PROGRESS: frozenset({Status.PENDING_CUSTOMER, Status.PENDING_DEPARTMENT, Status.RESOLVED}),
    Status.PENDING_CUSTOMER: frozenset({Status.IN_PROGRESS, Status.PENDING_DEPARTMENT, Status.RESOLVED}),
    Status.PENDING_DEPARTMENT: frozenset({Status.IN_PROGRESS, Status.PENDING_CUSTOMER, Status.RESOLVED}),
    # Resolved waits for the customer's confirmation (→ closed) or is reopened (→ in progress, rework).
    Status.RESOLVED: frozenset({Status.CLOSED, Status.IN_PROGRESS}),
    Status.CLOSED: frozenset({Status.IN_PROGRESS}),
}
# Merging closes an order from any open status: the work continues on the order it merged into.
MERGE_FROM = frozenset({Status.NEW, Status.IN_PROGRESS, Status.PENDING_CUSTOMER, Status.PENDING_DEPARTMENT})


def can_transition(src: str, dst: str) -> bool:
    return dst in ALLOWED.get(src, frozenset())
