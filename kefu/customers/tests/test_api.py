"""Customers through the API: normalised numbers, lookup by any number, masking, audited reveal
(C1, C3, X1, X3)."""

from __future__ import annotations

import pytest

from kefu.audit.models import AuditRecord
from kefu.customers.models import Customer, CustomerPhone, Service

pytestmark = pytest.mark.django_db

BODY = {
    "name": "李四", "phones": ["+86 139-0013-9000", "020-87654321"], "id_number": "44010619900307123X",
    "province": "广东", "city": "广州", "address": "广东省广州市天河区体育西路1号", "star_level": 5,
    "tags": ["高价值", "融合套餐"], "special_mark": True, "special_note": "老年用户，请放慢语速",
    "do_not_disturb": True,
    "services": [
        {"kind": "mobile", "identifier": "139 0013 9000", "plan": "5G畅享199元套餐"},
        {"kind": "broadband", "identifier": "AD2026000001", "plan": "千兆宽带", "address": "天河区体育西路1号"},
    ],
}


def test_create_normalises_numbers_and_masks_output_C1_C3(api_for):
    r = api_for("agent").post("/customers", BODY)
    assert r.status_code == 201, r.content
    c = r.json()
    assert c["phones"] == ["139****9000", "020****4321"]
    assert c["id_number"] == "440106********123X"
    assert c["masked"] is True and c["special_mark"] is True and c["do_not_disturb"] is True
    assert c["star_level"] == 5 and c["tags"] == ["融合套餐", "高价值"]
    assert [s["identifier"] for s in c["services"]] == ["139****9000", "AD2026000001"]
    stored = Customer.objects.get(pk=c["id"])
    assert sorted(CustomerPhone.objects.filter(customer=stored).values_list("number", flat=True)) == ["02087654321", "13900139000"]
    assert Service.objects.get(customer=stored, kind="mobile").identifier == "13900139000"
    assert AuditRecord.objects.filter(action="customer.create", object_id=str(stored.pk)).exists()


@pytest.mark.parametrize("raw", ["+86 139-0013-9000", "13900139000", "0086 139 0013 9000", "８６１３９００１３９０００"])
def test_lookup_by_any_format_of_the_number_C1(api_for, raw):
    api = api_for("agent")
    cid = api.post("/customers", BODY).json()["id"]
    items = api.get("/customers", phone=raw).json()["items"]
    assert [c["id"] for c in items] == [cid]


def test_lookup_by_service_number_and_by_landline(api_for, customer):
    api = api_for("agent")
    assert [c["id"] for c in api.get("/customers", phone="138 0013 8000").json()["items"]] == [customer.pk]
    cid = api.post("/customers", BODY).json()["id"]
    assert [c["id"] for c in api.get("/customers", phone="(020) 8765-4321").json()["items"]] == [cid]
    assert api.get("/customers", phone="13700000000").json()["items"] == []


@pytest.mark.parametrize(
    "change,field",
    [
        ({"phones": ["1234"]}, "phones[0]"),
        ({"phones": ["138abc00000"]}, "phones[0]"),
        ({"phones": []}, "phones"),
        ({"name": ""}, "name"),
        ({"star_level": 9}, "star_level"),
        ({"id_number": "12345"}, "id_number"),
        ({"services": [{"kind": "satellite", "identifier": "x"}]}, "services[0].kind"),
        ({"services": [{"kind": "mobile", "identifier": "999"}]}, "services[0].identifier"),
        ({"nickname": "小李"}, "nickname"),
    ],
)
def test_bad_customer_input_names_the_field_and_writes_nothing(api_for, change, field):
    api = api_for("agent")
    before = (Customer.objects.count(), CustomerPhone.objects.count(), Service.objects.count(), AuditRecord.objects.count())
    r = api.post("/customers", {**BODY, **change})
    assert r.status_code == 422, r.content
    assert field in r.json()["error"]["fields"], r.json()
    after = (Customer.objects.count(), CustomerPhone.objects.count(), Service.objects.count(), AuditRecord.objects.count())
    assert after == before


def test_invalid_lookup_number_is_a_clear_error(api_for):
    r = api_for("agent").get("/customers", phone="abc")
    assert r.status_code == 422 and r.json()["error"]["fields"]["phone"] == "电话号码中含有非数字字符。"
    r = api_for("agent", "en").get("/customers", phone="12")
    assert r.json()["error"]["fields"]["phone"] == "This is not a valid Chinese phone number."


def test_reveal_is_audited_with_reason_X1_X3(api_for, customer):
    api = api_for("agent")
    r = api.post(f"/customers/{customer.pk}/reveal", {"field": "phones", "reason": "客户要求回拨确认"})
    assert r.status_code == 200 and r.json() == {"field": "phones", "value": ["13800138000"]}
    rec = AuditRecord.objects.get(action="customer.reveal")
    assert rec.reason == "客户要求回拨确认" and rec.actor.username == "agent" and rec.changes == {"field": "phones"}
    assert rec.via == "api" and rec.ip == "127.0.0.1"
    # No reason, unknown field, a role that may not reveal: refused, nothing recorded.
    assert api.post(f"/customers/{customer.pk}/reveal", {"field": "phones", "reason": ""}).status_code == 422
    assert api.post(f"/customers/{customer.pk}/reveal", {"field": "salary", "reason": "想看"}).status_code == 422
    r = api_for("inspector").post(f"/customers/{customer.pk}/reveal", {"field": "id_number", "reason": "质检"})
    assert r.status_code == 403 and r.json()["error"]["code"] == "pii_forbidden"
    assert api.post("/customers/999999/reveal", {"field": "phones", "reason": "回拨"}).status_code == 404
    assert AuditRecord.objects.filter(action="customer.reveal").count() == 1


def test_plain_roles_see_unmasked(api_for, customer, settings):
    settings.KEFU_PII_PLAIN_ROLES = ["supervisor"]
    assert api_for("supervisor").get(f"/customers/{customer.pk}").json()["phones"] == ["13800138000"]
    assert api_for("agent").get(f"/customers/{customer.pk}").json()["phones"] == ["138****8000"]


def test_unknown_customer_is_404(api_for):
    r = api_for("agent").get("/customers/424242")
    assert r.status_code == 404 and r.json()["error"]["code"] == "customer_not_found"


def test_audit_records_are_append_only_X3(customer):
    from kefu.audit.models import AppendOnlyError

    rec = AuditRecord.objects.first()
    with pytest.raises(AppendOnlyError):
        rec.delete()
    rec.reason = "tampered"
    with pytest.raises(AppendOnlyError):
        rec.save()


def test_customer_history_summarises_every_order_C1_W4(api_for, customer):
    other = api_for("other")
    t = other.post("/tickets", {"type": "complaint", "customer_id": customer.pk, "subject": "投诉网络差"}).json()
    # An agent of another team sees the summary of the caller's orders, not the order itself.
    h = api_for("agent").get(f"/customers/{customer.pk}/history").json()
    assert h["counts"] == {"total": 1, "open": 1, "complaints_90d": 1, "reopened": 0}
    assert [x["number"] for x in h["tickets"]] == [t["number"]]
    assert api_for("agent").get(f"/tickets/{t['id']}").status_code == 404
    assert api_for("agent").get("/customers/987654/history").status_code == 404


def test_update_customer_fields_is_audited_without_values_C3_C6_W7(api_for, customer):
    api = api_for("agent")
    client = api.client
    r = client.patch(f"/api/v1/customers/{customer.pk}", '{"do_not_disturb": true, "special_mark": true, "special_note": "重复投诉", "phones": ["139 0000 1111", "13800138000"]}',
                     content_type="application/json", **api.headers)
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["do_not_disturb"] is True and body["special_note"] == "重复投诉"
    assert body["phones"] == ["139****1111", "138****8000"]
    rec = AuditRecord.objects.get(action="customer.update")
    assert rec.changes == {"fields": ["special_mark", "special_note", "do_not_disturb", "phones"]}
    assert "13900001111" not in str(rec.changes)
    before = AuditRecord.objects.count()
    for bad, field in [('{"phones": ["12"]}', "phones[0]"), ('{"star_level": 8}', "star_level"), ('{"nick": "x"}', "nick"),
                       ('{"name": ""}', "name")]:
        r = client.patch(f"/api/v1/customers/{customer.pk}", bad, content_type="application/json", **api.headers)
        assert r.status_code == 422 and field in r.json()["error"]["fields"], (bad, r.content)
    assert AuditRecord.objects.count() == before
    assert CustomerPhone.objects.filter(customer=customer).count() == 2
    r = api_for("inspector").client.patch(f"/api/v1/customers/{customer.pk}", '{"city": "深圳"}', content_type="application/json",
                                          **api_for("inspector").headers)
    assert r.status_code == 403
