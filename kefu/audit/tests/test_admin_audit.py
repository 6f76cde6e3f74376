"""Configuration edited in /admin/ is audited like every other write (X3)."""

from __future__ import annotations

import pytest

from kefu.audit.models import AuditRecord
from kefu.tickets.models import Holiday, SlaPolicy

pytestmark = pytest.mark.django_db


def test_admin_add_change_delete_are_audited(client, centre):
    client.force_login(centre["users"]["admin"])
    r = client.post("/admin/tickets/holiday/add/", {"date": "2031-10-01", "name": "国庆节", "is_workday": ""})
    assert r.status_code == 302, r.content[:500]
    holiday = Holiday.objects.get(date="2031-10-01")
    added = AuditRecord.objects.get(action="admin.add", object_type="tickets.holiday")
    assert added.object_id == str(holiday.pk) and added.actor == centre["users"]["admin"] and added.via == "web"

    policy = SlaPolicy.objects.get(ticket_type="fault", priority="urgent", min_star_level=None)
    data = {
        "name": policy.name, "ticket_type": "fault", "priority": "urgent", "min_star_level": "",
        "calendar": policy.calendar_id, "first_response_minutes": 20, "resolution_minutes": policy.resolution_minutes,
        "feedback_minutes": "", "active": "on",
    }
    assert client.post(f"/admin/tickets/slapolicy/{policy.pk}/change/", data).status_code == 302
    changed = AuditRecord.objects.get(action="admin.change", object_type="tickets.slapolicy")
    assert changed.changes == {"fields": ["first_response_minutes"], "after": {"first_response_minutes": 20}}

    assert client.post(f"/admin/tickets/holiday/{holiday.pk}/delete/", {"post": "yes"}).status_code == 302
    deleted = AuditRecord.objects.get(action="admin.delete")
    assert deleted.changes["before"]["name"] == "国庆节"
