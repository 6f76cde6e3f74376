"""Two agents saving the same order at the same moment never silently overwrite each other (issue #2)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections

from kefu.core.errors import StaleVersion
from kefu.tickets import services
from kefu.tickets.models import Ticket, TicketEvent

# serialized_rollback: the flush after a transactional test must not lose the seeded SLA policies.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def _race(fn_a, fn_b):  # type: ignore[no-untyped-def]
    barrier = threading.Barrier(2)
    results: list[object] = [None, None]

    def run(i, fn):  # type: ignore[no-untyped-def]
        try:
            barrier.wait()
            results[i] = fn()
        except Exception as e:  # noqa: BLE001 — the outcome is what we assert
            results[i] = e
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(0, fn_a)), threading.Thread(target=run, args=(1, fn_b))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


@pytest.fixture
def ticket(centre, customer):  # type: ignore[no-untyped-def]
    return services.ticket_create(actor=centre["users"]["agent"], type="fault", customer_id=customer.pk, subject="宽带断网")


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks race only on PostgreSQL; SQLite serialises writers")
def test_same_version_one_wins_the_other_is_told_W10(centre, ticket):
    a, b = centre["users"]["agent"], centre["users"]["agent2"]
    results = _race(
        lambda: services.ticket_note(actor=a, ticket_id=ticket.pk, body="甲的备注", version=1),
        lambda: services.ticket_note(actor=b, ticket_id=ticket.pk, body="乙的备注", version=1),
    )
    assert sorted(type(r).__name__ for r in results) == ["StaleVersion", "Ticket"]
    assert any(isinstance(r, StaleVersion) for r in results)
    assert Ticket.objects.get(pk=ticket.pk).version == 2
    assert TicketEvent.objects.filter(ticket=ticket, kind="note").count() == 1


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks race only on PostgreSQL; SQLite serialises writers")
def test_without_versions_both_changes_are_kept(centre, ticket):
    a, b = centre["users"]["agent"], centre["users"]["agent2"]
    results = _race(
        lambda: services.ticket_note(actor=a, ticket_id=ticket.pk, body="甲"),
        lambda: services.ticket_set_priority(actor=b, ticket_id=ticket.pk, priority="urgent", reason="整栋楼断网"),
    )
    assert all(isinstance(r, Ticket) for r in results), results
    t = Ticket.objects.get(pk=ticket.pk)
    assert t.version == 3 and t.priority == "urgent"
    assert TicketEvent.objects.filter(ticket=ticket, kind__in=["note", "priority"]).count() == 2
