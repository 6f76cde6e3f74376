"""The work-order API contract of issue #2, walked on a real database: happy paths and every
bad-input case, each refused request proven to have written nothing."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from kefu.audit.models import AuditRecord
from kefu.core.models import OutboxEvent
from kefu.tickets.models import Ticket, TicketEvent

pytestmark = pytest.mark.django_db


def new_ticket(api, customer, **over):  # type: ignore[no-untyped-def]
    body = {
        "type": "fault", "priority": "high", "customer_id": customer.pk, "subject": "宽带无法上网",
        "description": "光猫LOS灯红灯闪烁，重启无效", "channel": "phone",
    }
    body.update(over)
    r = api.post("/tickets", body)
    assert r.status_code == 201, r.content
    return r.json()


def counts() -> tuple[int, int, int, int]:
    return Ticket.objects.count(), TicketEvent.objects.count(), AuditRecord.objects.count(), OutboxEvent.objects.count()


# --- create ---------------------------------------------------------------------------------


def test_create_sets_number_owner_and_time_promises_W1_W4_W6(api_for, customer, centre):
    api = api_for("agent")
    t = new_ticket(api, customer)
    today = timezone.localdate().strftime("%Y%m%d")
    assert re.fullmatch(rf"GD{today}\d{{6}}", t["number"])
    assert t["status"] == "new" and t["version"] == 1
    assert t["owner"]["agent_id"] == "1001"
    assert t["assignee"] == {"kind": "agent", "id": centre["users"]["agent"].pk, "agent_id": "1001", "name": "agent"}
    assert t["first_response_due_at"] and t["resolution_due_at"]
    ticket = Ticket.objects.get(pk=t["id"])
    # Fault · high on the 7×24 calendar: respond within 1 h, restore within 24 h.
    assert ticket.first_response_due_at - ticket.created_at == timedelta(hours=1)
    assert ticket.resolution_due_at - ticket.created_at == timedelta(hours=24)
    assert AuditRecord.objects.filter(action="ticket.create", object_id=str(ticket.pk)).count() == 1
    assert OutboxEvent.objects.filter(topic="ticket.created", payload__ticket_id=ticket.pk).count() == 1
    # W10: the timeline starts with the creation, by whom.
    ev = ticket.events.get()
    assert ev.kind == "created" and ev.actor == centre["users"]["agent"]


def test_numbers_are_sequential_per_day(api_for, customer):
    api = api_for("agent")
    a, b = new_ticket(api, customer), new_ticket(api, customer)
    assert int(b["number"][-6:]) == int(a["number"][-6:]) + 1


@pytest.mark.parametrize("ttype", ["consultation", "fault", "complaint", "business", "suggestion", "refund"])
def test_every_type_of_W1_can_be_opened(api_for, customer, ttype):
    t = new_ticket(api_for("agent"), customer, type=ttype, priority="normal")
    assert t["type"] == ttype and t["resolution_due_at"]


def test_complaint_first_response_48h_and_feedback_24h_after_W6(api_for, customer):
    api = api_for("agent")
    t = new_ticket(api, customer, type="complaint", priority="normal")
    ticket = Ticket.objects.get(pk=t["id"])
    assert ticket.first_response_due_at - ticket.created_at == timedelta(hours=48)
    r = api.post(f"/tickets/{t['id']}/actions/reply", {"body": "您好，您的投诉已受理，我们正在核查。"})
    assert r.status_code == 200
    ticket.refresh_from_db()
    assert ticket.feedback_due_at - ticket.first_responded_at == timedelta(hours=24)
    assert r.json()["feedback_due_at"] is not None


def test_category_by_code_and_unknown_category(api_for, customer):
    api = api_for("agent")
    t = new_ticket(api, customer, category="fault-broadband-down")
    assert t["category"]["name"] == "宽带无法上网"
    before = counts()
    r = api.post("/tickets", {"type": "fault", "customer_id": customer.pk, "subject": "x", "category": "nope"})
    assert r.status_code == 422 and "category" in r.json()["error"]["fields"]
    assert counts() == before


# --- bad input on create: clear 4xx, nothing written ----------------------------------------


@pytest.mark.parametrize(
    "body,status,code,field",
    [
        (b"{not json", 400, "invalid_json", None),
        (b"[1, 2]", 400, "invalid_json", None),
        ({"type": "fault", "customer_id": 1, "subject": "a", "colour": "red"}, 422, "validation_error", "colour"),
        ({"type": "fault", "customer_id": 1}, 422, "validation_error", "subject"),
        ({"type": "fault", "customer_id": "abc", "subject": "a"}, 422, "validation_error", "customer_id"),
        ({"type": "teleport", "customer_id": 1, "subject": "a"}, 422, "validation_error", "type"),
        ({"type": "fault", "customer_id": 1, "subject": "长" * 201}, 422, "validation_error", "subject"),
        ({"type": "fault", "customer_id": 1, "subject": "a", "priority": "asap"}, 422, "validation_error", "priority"),
        ({"type": "fault", "customer_id": 999999, "subject": "a"}, 422, "validation_error", "customer_id"),
        ({"type": "fault", "customer_id": 1, "subject": "   "}, 422, "validation_error", "subject"),
        ({"type": "fault", "customer_id": 1, "subject": "a", "contact_phone": "99"}, 422, "validation_error", "contact_phone"),
    ],
)
def test_create_bad_input_is_refused_and_writes_nothing(api_for, customer, body, status, code, field):
    api = api_for("agent")
    if isinstance(body, dict) and body.get("customer_id") == 1:
        body["customer_id"] = customer.pk
    before = counts()
    r = api.post("/tickets", raw=body) if isinstance(body, bytes) else api.post("/tickets", body)
    assert r.status_code == status, r.content
    err = r.json()["error"]
    assert err["code"] == code and err["message"]
    if field:
        assert field in err["fields"], err
    assert counts() == before


def test_error_messages_follow_accept_language(api_for, customer):
    zh = api_for("agent", "zh-hans").post("/tickets", {"type": "fault", "customer_id": customer.pk})
    en = api_for("agent", "en").post("/tickets", {"type": "fault", "customer_id": customer.pk})
    assert zh.json()["error"]["fields"]["subject"] == "此字段为必填项。"
    assert en.json()["error"]["fields"]["subject"] == "This field is required."
    bad = api_for("agent", "zh-hans").post("/tickets", raw=b"{")
    assert bad.json()["error"]["message"] == "请求内容不是有效的 JSON。"


# --- authentication ---------------------------------------------------------------------------


def test_missing_wrong_and_revoked_tokens_X1(client, centre, customer):
    from conftest import Api
    from kefu.accounts.services import token_create, token_revoke

    before = counts()
    r = Api(None).post("/tickets", {"type": "fault", "customer_id": customer.pk, "subject": "a"})
    assert r.status_code == 401 and r.json()["error"]["code"] == "auth_required"
    r = Api("kf_deadbeef_nottherightsecret").get("/tickets")
    assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_token"
    api = Api(None)
    api.headers["HTTP_AUTHORIZATION"] = "Basic YWRtaW46YWRtaW4="
    assert api.get("/tickets").json()["error"]["code"] == "auth_malformed"
    token, clear = token_create(user=centre["users"]["agent"])
    assert Api(clear).get("/tickets").status_code == 200
    token_revoke(prefix=token.prefix)
    r = Api(clear).post("/tickets", {"type": "fault", "customer_id": customer.pk, "subject": "a"})
    assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_token"
    assert Ticket.objects.count() == before[0]


def test_token_is_stored_hashed(centre):
    from kefu.accounts.models import ApiToken
    from kefu.accounts.services import token_create

    token, clear = token_create(user=centre["users"]["agent"])
    row = ApiToken.objects.get(pk=token.pk)
    assert clear not in (row.key_hash, row.prefix) and len(row.key_hash) == 64


# --- list, filters, search, pagination --------------------------------------------------------


def test_list_filters_and_cursor_pagination(api_for, customer, centre):
    api = api_for("supervisor")
    agent = api_for("agent")
    made = [new_ticket(agent, customer, type="fault" if i % 2 else "complaint", priority="normal") for i in range(5)]
    r = api.get("/tickets", type="complaint")
    assert {t["number"] for t in r.json()["items"]} == {t["number"] for t in made if t["type"] == "complaint"}
    page1 = api.get("/tickets", limit=2).json()
    assert len(page1["items"]) == 2 and page1["next"]
    page2 = api.get("/tickets", limit=2, cursor=page1["next"]).json()
    page3 = api.get("/tickets", limit=2, cursor=page2["next"]).json()
    seen = [t["id"] for t in page1["items"] + page2["items"] + page3["items"]]
    assert seen == sorted((t["id"] for t in made), reverse=True) and page3["next"] is None
    assert api.get("/tickets", owner="1001").json()["items"][0]["owner"]["agent_id"] == "1001"
    assert api.get("/tickets", owner="2001").json()["items"] == []
    assert len(api.get("/tickets", assignee="1001", status="new").json()["items"]) == 5
    assert api.get("/tickets", customer=customer.pk, limit=200).json()["items"][0]["customer"]["id"] == customer.pk
    # X1: lists show masked names and numbers.
    assert api.get("/tickets").json()["items"][0]["customer"]["name"] == "张**"


@pytest.mark.parametrize(
    "params,field",
    [({"status": "open,bogus"}, "status"), ({"limit": 0}, "limit"), ({"limit": "many"}, "limit"),
     ({"cursor": "!!!"}, "cursor"), ({"created_from": "yesterday"}, "created_from"),
     ({"created_from": "2026-11-02T00:00:00+08:00", "created_to": "2026-11-01T00:00:00+08:00"}, "created_to")],
)
def test_list_bad_filters_name_the_parameter(api_for, params, field):
    r = api_for("agent").get("/tickets", **params)
    assert r.status_code in (400, 422)
    assert field in r.json()["error"]["fields"]


@pytest.mark.parametrize("rare_limit", [5000, 0])
def test_chinese_text_search(api_for, customer, monkeypatch, rare_limit):
    """Both PostgreSQL strategies (few matches: ids from the GIN index; many: walk newest) agree."""
    from kefu.tickets import selectors

    monkeypatch.setattr(selectors, "RARE_MATCHES", rare_limit)
    api = api_for("agent")
    a = new_ticket(api, customer, subject="宽带经常断网", description="晚上宽带断网很频繁")
    b = new_ticket(api, customer, type="complaint", subject="投诉话费多扣", description="上月账单多扣了58元")
    found = lambda q: {t["number"] for t in api.get("/tickets", q=q).json()["items"]}  # noqa: E731
    assert found("宽带") == {a["number"]}
    assert found("断网") == {a["number"]}
    assert found("话费多扣") == {b["number"]}
    assert found("我的宽带断网了") == {a["number"]}
    assert found("宽带很频繁") == {a["number"]}  # single characters do not have to match a token
    assert found("账单") == {b["number"]}
    assert found("漫游") == set()
    assert found(a["number"]) == {a["number"]}


def test_created_range_filter(api_for, customer):
    api = api_for("agent")
    t = new_ticket(api, customer)
    now = timezone.now()
    assert [x["id"] for x in api.get("/tickets", created_from=(now - timedelta(hours=1)).isoformat()).json()["items"]] == [t["id"]]
    assert api.get("/tickets", created_to=(now - timedelta(hours=1)).isoformat()).json()["items"] == []


# --- actions: the lifecycle of W3 ----------------------------------------------------------------


def test_full_lifecycle_reply_transfer_resolve_confirm_reopen_W3_W4_W5_W10(api_for, customer, centre):
    api = api_for("agent")
    t = new_ticket(api, customer)
    tid = t["id"]
    r = api.post(f"/tickets/{tid}/actions/reply", {"body": "您好，已为您登记，稍后安排上门。"})
    assert r.json()["status"] == "in_progress" and r.json()["first_responded_at"]
    r = api.post(f"/tickets/{tid}/actions/transfer", {"department": "网络维护部", "reason": "需要上门检修光路"})
    body = r.json()
    assert r.status_code == 200 and body["status"] == "pending_department"
    assert body["assignee"]["kind"] == "department" and body["assignee"]["code"] == "network"
    assert body["owner"]["agent_id"] == "1001"  # W4: the first-contact agent stays owner
    transfer = [e for e in body["timeline"] if e["kind"] == "transfer"][0]
    assert transfer["body"] == "需要上门检修光路" and transfer["actor"]["agent_id"] == "1001"
    # The department's worker sees the order in its queue and can act on it.
    net = api_for("network")
    assert tid in [x["id"] for x in net.get("/tickets", department="network").json()["items"]]
    assert net.post(f"/tickets/{tid}/actions/note", {"body": "已派单给装维师傅"}).status_code == 200
    r = api.post(f"/tickets/{tid}/actions/transfer", {"agent": "1002", "reason": "部门处理完毕，交回客服跟进"})
    assert r.json()["assignee"]["agent_id"] == "1002" and r.json()["status"] == "in_progress"
    # Closing before resolution is a forbidden transition.
    r = api.post(f"/tickets/{tid}/actions/close", {"reason": "结束"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "transition_not_allowed"
    r = api.post(f"/tickets/{tid}/actions/resolve", {"resolution": "更换光猫后恢复正常"})
    assert r.json()["status"] == "resolved" and r.json()["resolved_at"]
    r = api.post(f"/tickets/{tid}/actions/confirm", {})
    assert r.json()["status"] == "closed" and r.json()["closed_at"]
    r = api.post(f"/tickets/{tid}/actions/reopen", {"reason": "客户反映再次断网"})
    body = r.json()
    assert body["status"] == "in_progress" and body["reopen_count"] == 1 and body["closed_at"] is None
    kinds = [e["kind"] for e in body["timeline"]]
    assert kinds.count("status") >= 5 and "note" in kinds and kinds[0] == "created"
    audit = list(AuditRecord.objects.filter(object_id=str(tid), object_type="tickets.ticket").values_list("action", flat=True))
    assert audit == ["ticket.create", "ticket.reply", "ticket.transfer", "ticket.note", "ticket.transfer",
                     "ticket.resolve", "ticket.confirm", "ticket.reopen"]


def test_escalate_and_priority_change_recomputes_promise_W5_W6_W7(api_for, customer):
    api = api_for("agent")
    t = new_ticket(api, customer, priority="low")
    r = api.post(f"/tickets/{t['id']}/actions/escalate", {"reason": "客户要求找领导"})
    assert r.json()["escalation_level"] == 1
    r = api.post(f"/tickets/{t['id']}/actions/priority", {"priority": "urgent", "reason": "整栋楼断网"})
    ticket = Ticket.objects.get(pk=t["id"])
    assert r.json()["priority"] == "urgent"
    assert ticket.resolution_due_at - ticket.created_at == timedelta(hours=24)
    assert ticket.first_response_due_at - ticket.created_at == timedelta(minutes=30)


def test_pending_customer_pauses_the_clock_W6(api_for, customer):
    api = api_for("agent")
    t = new_ticket(api, customer)
    ticket = Ticket.objects.get(pk=t["id"])
    due = ticket.resolution_due_at
    api.post(f"/tickets/{t['id']}/actions/pend", {"reason": "等待客户提供光猫照片"})
    ticket.refresh_from_db()
    assert ticket.status == "pending_customer" and ticket.sla_paused_at is not None
    # Simulate three hours of waiting, then resume: the promise moves three hours later.
    Ticket.objects.filter(pk=ticket.pk).update(sla_paused_at=ticket.sla_paused_at - timedelta(hours=3))
    r = api.post(f"/tickets/{t['id']}/actions/resume", {})
    ticket.refresh_from_db()
    assert r.json()["sla_paused"] is False
    shift = ticket.resolution_due_at - due
    assert timedelta(hours=2, minutes=59) < shift <= timedelta(hours=3, seconds=5)


def test_stale_version_is_refused_and_writes_nothing(api_for, customer):
    api = api_for("agent")
    t = new_ticket(api, customer)
    assert api.post(f"/tickets/{t['id']}/actions/note", {"body": "第一条备注", "version": 1}).status_code == 200
    before = counts()
    r = api.post(f"/tickets/{t['id']}/actions/note", {"body": "第二条备注", "version": 1})
    assert r.status_code == 409
    err = r.json()["error"]
    assert err["code"] == "stale_version" and err["details"]["current_version"] == 2
    assert counts() == before


@pytest.mark.parametrize(
    "action,body,field",
    [
        ("reply", {}, "body"), ("reply", {"body": ""}, "body"), ("reply", {"body": "x" * 10001}, "body"),
        ("transfer", {"reason": "x"}, "department"), ("transfer", {"department": "火星部", "reason": "x"}, "department"),
        ("transfer", {"agent": "0000", "reason": "x"}, "agent"), ("transfer", {"department": "network"}, "reason"),
        ("resolve", {"reason": "x"}, "reason"), ("priority", {"priority": "max", "reason": "x"}, "priority"),
        ("merge", {"into": "GD19990101000001", "reason": "dup"}, "into"), ("link", {"to": 0}, "to"),
        ("note", {"body": 5}, "body"), ("note", {"body": "ok", "version": "one"}, "version"),
    ],
)
def test_action_bad_input_names_the_field_and_writes_nothing(api_for, customer, action, body, field):
    api = api_for("agent")
    t = new_ticket(api, customer)
    before = counts()
    r = api.post(f"/tickets/{t['id']}/actions/{action}", body)
    assert r.status_code == 422, r.content
    assert field in r.json()["error"]["fields"], r.json()
    assert counts() == before


def test_unknown_action_unknown_ticket_and_malformed_body(api_for, customer):
    api = api_for("agent")
    t = new_ticket(api, customer)
    assert api.post(f"/tickets/{t['id']}/actions/teleport", {}).json()["error"]["code"] == "unknown_action"
    r = api.post("/tickets/99999999/actions/note", {"body": "x"})
    assert r.status_code == 404 and r.json()["error"]["code"] == "ticket_not_found"
    assert api.get("/tickets/GD20200101999999").status_code == 404
    r = api.post(f"/tickets/{t['id']}/actions/note", raw=b"{oops")
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_json"


@pytest.mark.parametrize(
    "path,action,body",
    [
        ("new", "confirm", {}), ("new", "reopen", {"reason": "x"}), ("new", "resume", {}),
        ("resolved", "resolve", {"resolution": "again"}), ("resolved", "transfer", {"department": "network", "reason": "x"}),
        ("closed", "reply", {"body": "x"}), ("closed", "close", {"reason": "x"}), ("closed", "pend", {"reason": "x"}),
    ],
)
def test_forbidden_transitions_are_409_W3(api_for, customer, path, action, body):
    api = api_for("agent")
    tid = new_ticket(api, customer)["id"]
    if path in ("resolved", "closed"):
        api.post(f"/tickets/{tid}/actions/resolve", {"resolution": "已处理"})
    if path == "closed":
        api.post(f"/tickets/{tid}/actions/close", {"reason": "客户未接电话，超期关闭"})
    before = counts()
    r = api.post(f"/tickets/{tid}/actions/{action}", body)
    assert r.status_code == 409, r.content
    assert counts() == before


def test_merge_closes_the_duplicate_and_links_it(api_for, customer):
    api = api_for("agent")
    a, b = new_ticket(api, customer), new_ticket(api, customer)
    r = api.post(f"/tickets/{b['id']}/actions/merge", {"into": a["number"], "reason": "同一故障重复报修"})
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "closed" and body["merged_into"] == a["number"]
    assert body["links"] == [{"kind": "duplicate", "direction": "out", "number": a["number"]}]
    survivor = api.get(f"/tickets/{a['id']}").json()
    assert survivor["timeline"][-1]["kind"] == "merge" and survivor["timeline"][-1]["data"]["merged"] == b["number"]
    # A merged order cannot be reopened by itself.
    assert api.post(f"/tickets/{b['id']}/actions/reopen", {"reason": "x"}).status_code == 409
    # Nor merged into itself.
    assert api.post(f"/tickets/{a['id']}/actions/merge", {"into": a["id"], "reason": "x"}).status_code == 422


def test_link_parent_child(api_for, customer):
    api = api_for("agent")
    a, b = new_ticket(api, customer), new_ticket(api, customer)
    assert api.post(f"/tickets/{a['id']}/actions/link", {"to": b["number"], "kind": "parent"}).status_code == 200
    assert api.get(f"/tickets/{b['id']}").json()["links"] == [{"kind": "parent", "direction": "in", "number": a["number"]}]


# --- data scope --------------------------------------------------------------------------------


def test_agent_outside_scope_gets_404_not_a_leak_X1(api_for, customer):
    mine = new_ticket(api_for("agent"), customer)
    other = api_for("other")
    before = counts()
    r = other.get(f"/tickets/{mine['id']}")
    assert r.status_code == 404 and r.json()["error"]["code"] == "ticket_not_found"
    assert other.post(f"/tickets/{mine['id']}/actions/note", {"body": "偷看"}).status_code == 404
    assert other.get("/tickets").json()["items"] == []
    assert counts() == before
    # Same team and supervisors see it; inspectors see it but cannot write.
    assert api_for("agent2").get(f"/tickets/{mine['id']}").status_code == 200
    assert api_for("lead").get(f"/tickets/{mine['id']}").status_code == 200
    insp = api_for("inspector")
    assert insp.get(f"/tickets/{mine['id']}").status_code == 200
    r = insp.post(f"/tickets/{mine['id']}/actions/note", {"body": "质检备注"})
    assert r.status_code == 403 and r.json()["error"]["code"] == "role_read_only"


def test_breached_now_lists_only_broken_promises_W6(api_for, customer):
    api = api_for("supervisor")
    agent = api_for("agent")
    late, fine = new_ticket(agent, customer), new_ticket(agent, customer)
    paused = new_ticket(agent, customer)
    # The clock has run past the promise of two orders; one of them then waits for the customer.
    past = timezone.now() - timedelta(minutes=5)
    Ticket.objects.filter(pk__in=[late["id"], paused["id"]]).update(resolution_due_at=past, sla_breach_at=past)
    agent.post(f"/tickets/{paused['id']}/actions/pend", {"reason": "等客户"})
    assert Ticket.objects.get(pk=paused["id"]).sla_breach_at is None
    ids = [t["id"] for t in api.get("/tickets/breached").json()["items"]]
    assert ids == [late["id"]]
    assert [t["id"] for t in api.get("/tickets", breached="true").json()["items"]] == [late["id"]]
    assert api.get(f"/tickets/{late['id']}").json()["breached"]["now"] is True
    assert api.get(f"/tickets/{fine['id']}").json()["breached"]["now"] is False


# --- attachments --------------------------------------------------------------------------------


def test_attachments_limits(api_for, customer, settings):
    settings.KEFU_ATTACHMENT_MAX_BYTES = 1024
    api = api_for("agent")
    t = new_ticket(api, customer)
    r = api.upload(f"/tickets/{t['id']}/attachments", "光猫.png", b"\x89PNG....", "image/png")
    assert r.status_code == 201 and r.json()["size"] == 8
    before = counts()
    r = api.upload(f"/tickets/{t['id']}/attachments", "big.png", b"x" * 2048, "image/png")
    assert r.status_code == 422 and r.json()["error"]["code"] == "file_too_large"
    r = api.upload(f"/tickets/{t['id']}/attachments", "virus.exe", b"MZ...", "application/x-msdownload")
    assert r.status_code == 422 and r.json()["error"]["code"] == "file_type_not_allowed"
    r = api.upload(f"/tickets/{t['id']}/attachments", "fake.png", b"MZ...", "application/pdf")
    assert r.status_code == 422
    assert counts() == before
    detail = api.get(f"/tickets/{t['id']}").json()
    assert [a["name"] for a in detail["attachments"]] == ["光猫.png"]
    dl = api.client.get(detail["attachments"][0]["url"], **api.headers)
    assert dl.status_code == 200 and b"".join(dl.streaming_content) == b"\x89PNG...."
    assert api_for("other").client.get(detail["attachments"][0]["url"], **api_for("other").headers).status_code == 404


# --- the rest of the surface --------------------------------------------------------------------


def test_openapi_and_health(client, api_for):
    spec = client.get("/api/v1/openapi.json").json()
    for p in ("/api/v1/tickets", "/api/v1/tickets/{ticket_id}", "/api/v1/tickets/{ticket_id}/actions/{action}",
              "/api/v1/customers", "/api/v1/customers/{customer_id}"):
        assert p in spec["paths"], p
    r = client.get("/healthz")
    assert r.status_code == 200 and r.json()["status"] == "ok"


def test_list_query_count_does_not_grow_with_rows(api_for, customer, django_assert_max_num_queries):
    api = api_for("supervisor")
    agent = api_for("agent")
    for _ in range(3):
        new_ticket(agent, customer)
    with django_assert_max_num_queries(4) as ctx:
        api.get("/tickets")
    few = len(ctx.captured_queries)
    for _ in range(10):
        new_ticket(agent, customer)
    with django_assert_max_num_queries(few) as ctx:
        assert len(api.get("/tickets").json()["items"]) == 13
