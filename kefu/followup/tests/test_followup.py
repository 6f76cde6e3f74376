"""Return visits (F1, F3) and satisfaction surveys (F2): scheduled on resolution in the same
transaction, outcomes, retries, cyclical visits, signed single-use expiring survey links, stats."""

from __future__ import annotations

from datetime import datetime, timedelta
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
from django.core import signing
from django.test import Client
from django.utils import timezone

from kefu.core.errors import Conflict, NotFound, ValidationFailed
from kefu.core.models import OutboxEvent
from kefu.followup import services as fs
from kefu.followup.models import ReturnVisit, SurveyInvitation
from kefu.notifications.models import Message
from kefu.tickets import services as ts
from kefu.tickets.models import Ticket

pytestmark = pytest.mark.django_db
SH = ZoneInfo("Asia/Shanghai")


def resolved(centre, customer, type_: str = "complaint") -> Ticket:  # type: ignore[no-untyped-def]
    agent = centre["users"]["agent"]
    t = ts.ticket_create(actor=agent, type=type_, customer_id=customer.pk, subject="投诉话费多扣")
    return ts.ticket_resolve(actor=agent, ticket_id=t.pk, resolution="已退费58元")


def test_call_windows():
    assert fs.in_call_window(datetime(2026, 5, 6, 10, 0, tzinfo=SH)) == datetime(2026, 5, 6, 10, 0, tzinfo=SH)
    assert fs.in_call_window(datetime(2026, 5, 6, 12, 30, tzinfo=SH)) == datetime(2026, 5, 6, 14, 0, tzinfo=SH)
    assert fs.in_call_window(datetime(2026, 5, 6, 21, 0, tzinfo=SH)) == datetime(2026, 5, 7, 9, 0, tzinfo=SH)
    assert fs.in_call_window(datetime(2026, 5, 6, 7, 0, tzinfo=SH)) == datetime(2026, 5, 6, 9, 0, tzinfo=SH)


def test_complaint_gets_a_call_by_its_owner_within_the_configured_time_F1(centre, customer):
    t = resolved(centre, customer)
    v = ReturnVisit.objects.get(ticket=t)
    assert (v.kind, v.reason, v.status, v.assignee) == ("call", "resolution", "scheduled", centre["users"]["agent"])
    assert v.due_at == t.resolved_at + timedelta(hours=72)
    assert v.scheduled_at >= t.resolved_at + timedelta(hours=24)
    assert t.events.filter(data__return_visit=True).count() == 1


def test_resolve_rolled_back_leaves_no_visit(centre, customer):
    agent = centre["users"]["agent"]
    t = ts.ticket_create(actor=agent, type="complaint", customer_id=customer.pk, subject="x")
    with mock.patch("kefu.followup.services.ReturnVisit.objects.create", side_effect=RuntimeError("boom")):
        with pytest.raises(RuntimeError):
            ts.ticket_resolve(actor=agent, ticket_id=t.pk, resolution="y")
    assert Ticket.objects.get(pk=t.pk).status == "new"  # same transaction: nothing half-written


def test_other_types_get_a_survey_sms(centre, customer, settings):
    settings.KEFU_RETURN_VISIT_SAMPLE_PERCENT = 0
    t = resolved(centre, customer, "consultation")
    v = ReturnVisit.objects.get(ticket=t)
    assert v.kind == "survey" and v.assignee is None
    msg = Message.objects.get(template="survey_invite")
    assert "/survey/" in msg.body and msg.recipient == "13800138000" and "7天" in msg.body


def test_sample_gets_a_call(centre, customer, settings):
    settings.KEFU_RETURN_VISIT_SAMPLE_PERCENT = 100
    t = resolved(centre, customer, "consultation")
    v = ReturnVisit.objects.get(ticket=t)
    assert (v.kind, v.reason) == ("call", "sample")


def test_unsatisfied_reopens_and_counts_rework_F3(centre, customer):
    t = resolved(centre, customer)
    v = ReturnVisit.objects.get(ticket=t)
    fs.return_visit_complete(actor=centre["users"]["agent"], visit_id=v.pk, outcome="unsatisfied", note="仍有扣费")
    t.refresh_from_db()
    assert (t.status, t.reopen_count) == ("in_progress", 1)
    assert OutboxEvent.objects.filter(topic="return_visit.completed", payload__outcome="unsatisfied").count() == 1
    with pytest.raises(Conflict):
        fs.return_visit_complete(actor=centre["users"]["agent"], visit_id=v.pk, outcome="satisfied")
    # Resolving again schedules a new visit.
    ts.ticket_resolve(actor=centre["users"]["agent"], ticket_id=t.pk, resolution="再次退费")
    assert ReturnVisit.objects.filter(ticket=t, status="scheduled").count() == 1


def test_satisfied_closes_the_order(centre, customer):
    t = resolved(centre, customer)
    v = ReturnVisit.objects.get(ticket=t)
    fs.return_visit_complete(actor=centre["users"]["agent"], visit_id=v.pk, outcome="satisfied")
    t.refresh_from_db()
    assert t.status == "closed" and t.confirmed_at is not None


def test_unreachable_retries_then_falls_back_to_a_survey(centre, customer, settings):
    settings.KEFU_RETURN_VISIT_ATTEMPTS = 3
    t = resolved(centre, customer)
    v = ReturnVisit.objects.get(ticket=t)
    agent = centre["users"]["agent"]
    for n in (1, 2):
        v = fs.return_visit_complete(actor=agent, visit_id=v.pk, outcome="unreachable")
        assert (v.status, v.attempts) == ("scheduled", n)
        assert v.scheduled_at >= timezone.now() + timedelta(hours=4) - timedelta(seconds=5)
    v = fs.return_visit_complete(actor=agent, visit_id=v.pk, outcome="unreachable")
    assert (v.status, v.outcome, v.attempts) == ("done", "unreachable", 3)
    assert Message.objects.filter(template="survey_invite", ticket=t).count() == 1


def test_outcome_bad_input_and_scope(centre, customer):
    t = resolved(centre, customer)
    v = ReturnVisit.objects.get(ticket=t)
    with pytest.raises(ValidationFailed):
        fs.return_visit_complete(actor=centre["users"]["agent"], visit_id=v.pk, outcome="maybe")
    with pytest.raises(NotFound):  # another team's agent does not see the order
        fs.return_visit_complete(actor=centre["users"]["other"], visit_id=v.pk, outcome="satisfied")
    with pytest.raises(NotFound):
        fs.return_visit_complete(actor=centre["users"]["agent"], visit_id=99999, outcome="satisfied")


def test_cyclical_visits_for_marked_customers_not_dnd(centre, customer):
    from kefu.customers.models import Customer

    Customer.objects.filter(pk=customer.pk).update(special_mark=True)
    dnd = Customer.objects.create(name="李四", special_mark=True, do_not_disturb=True)
    assert fs.cyclical_visits_schedule() == 1
    assert fs.cyclical_visits_schedule() == 0  # not again within the cycle
    assert not ReturnVisit.objects.filter(customer=dnd).exists()
    later = timezone.now() + timedelta(days=31)
    with mock.patch("django.utils.timezone.now", return_value=later):
        assert fs.cyclical_visits_schedule(now=later) == 1


# --- surveys ---------------------------------------------------------------------------------------


@pytest.fixture
def invitation(centre, customer, settings):  # type: ignore[no-untyped-def]
    settings.KEFU_RETURN_VISIT_SAMPLE_PERCENT = 0
    t = resolved(centre, customer, "consultation")
    inv = SurveyInvitation.objects.get(ticket=t)
    return inv, fs.survey_token(inv)


def test_survey_answer_stored_on_the_order_and_high_score_confirms_F2(invitation):
    inv, token = invitation
    resp = fs.survey_answer(token=token, score=5, reason="处理很快")
    t = Ticket.objects.get(pk=inv.ticket_id)
    assert t.satisfaction == 5 and t.status == "closed"
    assert resp.agent.username == "agent"
    assert ReturnVisit.objects.get(ticket=t).outcome == "satisfied"
    assert OutboxEvent.objects.filter(topic="survey.completed").count() == 1


def test_low_score_reopens_F3(invitation):
    inv, token = invitation
    fs.survey_answer(token=token, score="1", reason="问题没解决")
    t = Ticket.objects.get(pk=inv.ticket_id)
    assert (t.status, t.reopen_count, t.satisfaction) == ("in_progress", 1, 1)


def test_survey_tokens_tampered_expired_reused(invitation, settings):
    inv, token = invitation
    with pytest.raises(fs.SurveyError) as e:
        fs.survey_answer(token=token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1], score=4)
    assert e.value.code == "survey_invalid"
    forged = signing.dumps({"i": inv.pk, "n": "guess"}, salt=fs.SURVEY_SALT, compress=True)
    with pytest.raises(fs.SurveyError) as e:
        fs.survey_open(forged)
    assert e.value.code == "survey_invalid"
    with pytest.raises(ValidationFailed):
        fs.survey_answer(token=token, score=6)
    with pytest.raises(ValidationFailed):
        fs.survey_answer(token=token, score=True)
    fs.survey_answer(token=token, score=4)
    with pytest.raises(fs.SurveyError) as e:
        fs.survey_answer(token=token, score=4)
    assert (e.value.code, e.value.status) == ("survey_used", 409)
    # Expired: a fresh invitation seen 8 days later.
    inv2, token2 = fs.survey_invite(ticket=inv.ticket, channel="portal")
    with mock.patch("django.core.signing.time.time", return_value=timezone.now().timestamp() + 8 * 86400):
        with pytest.raises(fs.SurveyError) as e:
            fs.survey_open(token2)
    assert (e.value.code, e.value.status) == ("survey_expired", 410)


def test_survey_api_and_public_page(invitation, api_for):
    inv, token = invitation
    anon = Client()
    r = anon.get(f"/api/v1/surveys/{token}")
    assert r.status_code == 200 and r.json()["ticket"] == inv.ticket.number
    r = anon.post(f"/api/v1/surveys/{token}", {"score": 9}, content_type="application/json")
    assert r.status_code == 422 and "score" in r.json()["error"]["fields"]
    r = anon.get(f"/survey/{token}/")
    assert r.status_code == 200 and inv.ticket.number in r.content.decode()
    r = anon.post(f"/survey/{token}/", {"score": "4", "reason": "不错"})
    assert r.status_code == 200
    r = anon.post(f"/api/v1/surveys/{token}", {"score": 3}, content_type="application/json")
    assert r.status_code == 409 and r.json()["error"]["code"] == "survey_used"
    assert anon.get("/survey/garbage/").status_code == 400
    # Stats per agent and month.
    month = timezone.localdate().strftime("%Y-%m")
    r = api_for("lead").get("/surveys/stats", month=month)
    assert r.status_code == 200
    assert r.json() == [{"agent_id": "1001", "agent_name": "agent", "answers": 1, "average": 4.0, "satisfied_share": 1.0}]
    assert api_for("agent").get("/surveys/stats", month=month).status_code == 403
    assert api_for("lead").get("/surveys/stats", month="2026-13").status_code == 422


def test_return_visit_api(centre, customer, api_for):
    t = resolved(centre, customer)
    api = api_for("agent")
    r = api.get("/return-visits")
    assert r.status_code == 200 and [v["ticket"] for v in r.json()] == [t.number]
    vid = r.json()[0]["id"]
    r = api.post(f"/return-visits/{vid}/outcome", {"outcome": "nope"})
    assert r.status_code == 422
    r = api.post(f"/return-visits/{vid}/outcome", {"outcome": "satisfied", "note": "客户满意"})
    assert r.status_code == 200 and r.json()["status"] == "done"
    assert api_for("other").get("/return-visits").json() == []
