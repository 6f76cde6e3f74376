"""Quality inspection on the database: versions, idempotence, the Q4 queue, manual scoring,
appeals 申诉, the Q5 cross-check, scorecards and the live reply check."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from kefu.accounts.models import User
from kefu.audit.models import AuditRecord
from kefu.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from kefu.interactions.services import interaction_import
from kefu.interactions.tests.test_api import call
from kefu.quality import engine, selectors, services
from kefu.quality.models import Appeal, Inspection, ReviewTask, RuleSet

pytestmark = pytest.mark.django_db
TZ = ZoneInfo("Asia/Shanghai")
START = datetime(2026, 3, 1, tzinfo=TZ)
END = datetime(2026, 4, 1, tzinfo=TZ)


def u(centre: Any, name: str) -> User:
    return centre["users"][name]  # type: ignore[no-any-return]


def imp(centre: Any, *items: dict[str, Any]) -> list[Inspection]:
    res = interaction_import(actor=u(centre, "supervisor"), items=list(items))
    assert all(r.status == "created" for r in res), [r.as_dict() for r in res]
    return [Inspection.objects.get(interaction_id=r.id, current=True) for r in res]


def rude(agent_id: str = "1001", **kw: Any) -> dict[str, Any]:
    """Q2: arrogance (the veto item) in the third utterance."""
    item = call(agent_id, **kw)
    item["utterances"][2]["text"] = "用不起就别用！请您考虑一下，谢谢。"
    return item


def test_q1_seeded_default_ruleset_is_active_and_recorded() -> None:
    active = RuleSet.objects.get(active=True)
    assert active.version == engine.default_ruleset().version


def test_q4_reinspection_with_same_version_is_idempotent_and_new_version_adds_one(centre: Any) -> None:
    (insp,) = imp(centre, call(external_id="X1"))
    again = services.inspect_interaction(insp.interaction_id)
    assert again.pk == insp.pk and Inspection.objects.count() == 1
    config = engine.default_config()
    config["rules"] = [r for r in config["rules"] if r["type"] != "ring_time"]
    new = services.ruleset_publish(actor=u(centre, "admin"), config=config, note="no ring rule")
    assert new.version != insp.ruleset_version and RuleSet.objects.filter(active=True).get() == new
    second = services.inspect_interaction(insp.interaction_id)
    assert second.pk != insp.pk and second.ruleset_version == new.version
    assert list(Inspection.objects.filter(current=True).values_list("pk", flat=True)) == [second.pk]
    # publishing the same config again re-activates, never duplicates
    assert services.ruleset_publish(actor=u(centre, "admin"), config=config).pk == new.pk
    assert AuditRecord.objects.filter(action="quality.ruleset_published").count() == 1


def test_ruleset_publish_checks_role_and_config(centre: Any) -> None:
    with pytest.raises(PermissionDenied):
        services.ruleset_publish(actor=u(centre, "agent"), config=engine.default_config())
    with pytest.raises(ValidationFailed):
        services.ruleset_publish(actor=u(centre, "admin"), config={"rules": [{"type": "nonsense"}]})


def test_q2_veto_phrase_zeroes_score_and_queues_review(centre: Any) -> None:
    (insp,) = imp(centre, rude(external_id="V1"))
    assert insp.veto is True and insp.score == 0.0 and insp.forbidden_count == 1
    hit = insp.hits.get(rule="forbidden.arrogance")
    assert (hit.utterance_index, hit.start, hit.end, hit.evidence) == (2, 0, 6, "用不起就别用")
    assert ReviewTask.objects.get(inspection=insp).reasons == ["veto"]


def test_q4_sampling_is_deterministic_for_a_seed(centre: Any, settings: Any) -> None:
    """Q4: 5 % of calls by a seeded draw keyed on the contact, plus every vetoed one."""
    settings.KEFU_QA_SAMPLING = {"rates": {"call": 0.05}, "seed": "week-12", "veto": True, "distress": True}
    keys = [f"cti:C{i}" for i in range(2000)]
    picked = [k for k in keys if services.sample_fraction("week-12", k) < 0.05]
    assert len(picked) == sum(1 for k in keys if services.sample_fraction("week-12", k) < 0.05)  # stable
    assert 70 <= len(picked) <= 130  # ≈ 5 %
    assert picked != [k for k in keys if services.sample_fraction("other", k) < 0.05]
    items = [call(external_id=f"C{i}", source="cti") for i in range(60)]
    imp(centre, *items)
    queued = set(ReviewTask.objects.values_list("inspection__interaction__external_id", flat=True))
    expected = {f"C{i}" for i in range(60) if services.sample_fraction("week-12", f"cti:C{i}") < 0.05}
    assert queued == expected
    assert all(r == ["sampled"] for r in ReviewTask.objects.values_list("reasons", flat=True))


def test_q4_manual_scoring_fills_pending_items_and_closes_review(centre: Any) -> None:
    (insp,) = imp(centre, rude(external_id="M1"))
    assert ReviewTask.objects.filter(inspection=insp, done_at__isnull=True).exists()
    with pytest.raises(ValidationFailed) as e:
        services.inspection_score(actor=u(centre, "inspector"), inspection_id=insp.pk, points={"teamwork": 50})
    assert "points.teamwork" in e.value.fields
    good = imp(centre, call(external_id="M2"))[0]
    scored = services.inspection_score(
        actor=u(centre, "inspector"), inspection_id=good.pk,
        points={"information_entry": 5, "report_submission": 5, "manager_review": 5, "teamwork": 5,
                "business_growth": 5}, comment="录入不全")
    # 70 automatic points (all kept) + 25 of 30 manual points
    assert scored.score == 95.0 and scored.pending_items == []
    assert scored.reviewed_by == u(centre, "inspector")
    assert AuditRecord.objects.filter(action="quality.scored", object_id=str(good.pk)).count() == 1
    # agents never score; a team lead scores their team but not themselves, nor other teams
    with pytest.raises(PermissionDenied):
        services.inspection_score(actor=u(centre, "agent"), inspection_id=good.pk, points={})
    other = imp(centre, call("2001", external_id="M3"))[0]
    with pytest.raises(NotFound):
        services.inspection_score(actor=u(centre, "lead"), inspection_id=other.pk, points={})
    assert services.inspection_score(actor=u(centre, "lead"), inspection_id=good.pk, points={"teamwork": 4}).score


def test_appeal_flow_upheld_restores_score_and_rejected_changes_nothing(centre: Any) -> None:
    """申诉: the agent contests the veto hit; the inspector upholds → hit waived, score back."""
    (insp,) = imp(centre, rude(external_id="A1"))
    hit = insp.hits.get(rule="forbidden.arrogance")
    with pytest.raises(NotFound):  # another agent does not even see it
        services.appeal_submit(actor=u(centre, "agent2"), inspection_id=insp.pk, reason="不是我")
    appeal = services.appeal_submit(actor=u(centre, "agent"), inspection_id=insp.pk,
                                    reason="客户先说“用不起就别用”，我是复述。", hit_ids=[hit.pk])
    with pytest.raises(Conflict):
        services.appeal_submit(actor=u(centre, "agent"), inspection_id=insp.pk, reason="again")
    with pytest.raises(PermissionDenied):
        services.appeal_decide(actor=u(centre, "agent"), appeal_id=appeal.pk, outcome="upheld")
    decided = services.appeal_decide(actor=u(centre, "inspector"), appeal_id=appeal.pk, outcome="upheld",
                                     note="录音核实为复述")
    insp.refresh_from_db()
    assert (decided.status, decided.score_before, decided.score_after) == ("upheld", 0.0, 100.0)
    assert (insp.score, insp.veto, insp.forbidden_count) == (100.0, False, 0)
    hit.refresh_from_db()
    assert hit.waived is True
    with pytest.raises(Conflict):
        services.appeal_decide(actor=u(centre, "inspector"), appeal_id=appeal.pk, outcome="rejected")
    # a second appeal, rejected by the team lead: the score stays
    second = services.appeal_submit(actor=u(centre, "agent"), inspection_id=insp.pk, reason="再申诉")
    with pytest.raises(ValidationFailed):  # upholding without hits needs a score
        services.appeal_decide(actor=u(centre, "lead"), appeal_id=second.pk, outcome="upheld")
    rej = services.appeal_decide(actor=u(centre, "lead"), appeal_id=second.pk, outcome="rejected", note="维持")
    assert (rej.status, rej.score_after) == ("rejected", 100.0)
    actions = list(AuditRecord.objects.filter(action__startswith="quality.appeal").order_by("id").values_list("action", flat=True))
    assert actions == ["quality.appeal_submitted", "quality.appeal_decided"] * 2


def test_q5_cross_check_flags_lead_scores_far_from_complaints(centre: Any, customer: Any) -> None:
    """Q5: the lead gives agent 1001 top marks although 1001 owns 3 complaints this month;
    agent 1002 gets a low mark with no complaint at all. Both pairs are flagged."""
    from kefu.tickets.models import Ticket
    from kefu.tickets.services import ticket_create

    a1 = imp(centre, call("1001", external_id="Q5-1", started_at="2026-03-05T10:00:00+08:00"))[0]
    a2 = imp(centre, rude("1002", external_id="Q5-2", started_at="2026-03-06T10:00:00+08:00"))[0]
    full = {"information_entry": 10, "report_submission": 5, "manager_review": 5, "teamwork": 5, "business_growth": 5}
    services.inspection_score(actor=u(centre, "lead"), inspection_id=a1.pk, points=full)
    services.inspection_score(actor=u(centre, "lead"), inspection_id=a2.pk, points={"teamwork": 1})
    for i in range(3):
        t = ticket_create(actor=u(centre, "agent"), type="complaint", customer_id=customer.pk, subject=f"投诉{i}")
        Ticket.objects.filter(pk=t.pk).update(created_at=datetime(2026, 3, 10 + i, tzinfo=TZ))
    rows = selectors.cross_check(viewer=u(centre, "inspector"), start=START, end=END)
    assert [(r.agent_id, r.reviews, r.average_score, r.complaints, r.flag) for r in rows] == [
        ("1001", 1, 100.0, 3, "high_score_many_complaints"),
        ("1002", 1, 0.0, 0, "low_score_no_complaints"),
    ]
    # outside the period nothing is counted
    assert selectors.cross_check(viewer=u(centre, "inspector"), start=END, end=END + timedelta(days=30)) == []


def test_scorecards_agent_and_team(centre: Any) -> None:
    imp(centre,
        call("1001", external_id="S1", started_at="2026-03-02T09:00:00+08:00"),
        rude("1001", external_id="S2", started_at="2026-03-03T09:00:00+08:00"),
        call("1002", external_id="S3", started_at="2026-03-04T09:00:00+08:00"),
        call("1001", external_id="S4", started_at="2026-02-04T09:00:00+08:00"))  # before the period
    insp = Inspection.objects.get(interaction__external_id="S2")
    services.appeal_submit(actor=u(centre, "agent"), inspection_id=insp.pk, reason="复述")
    card = selectors.agent_scorecard(viewer=u(centre, "lead"), agent=u(centre, "agent"), start=START, end=END)
    assert (card.contacts, card.average_score, card.vetoes, card.forbidden, card.forbidden_per_100,
            card.appeals, card.appeals_upheld) == (2, 50.0, 1, 1, 50.0, 1, 0)
    total, rows = selectors.team_scorecard(viewer=u(centre, "lead"), team=centre["teams"][0], start=START, end=END)
    assert (total.contacts, total.average_score, total.vetoes) == (3, 66.67, 1)
    assert [(r.agent_id, r.contacts, r.average_score) for r in rows] == [("1001", 2, 50.0), ("1002", 1, 100.0)]
    # an agent's view is scoped to themselves
    mine = selectors.agent_scorecard(viewer=u(centre, "agent2"), agent=u(centre, "agent"), start=START, end=END)
    assert mine.contacts == 0


def test_q2_check_reply_service_matches_engine() -> None:
    rs = services.compiled(services.ruleset_active())
    hits = engine.check_reply("您好，这不是我办理的。", rs)
    assert [(h.rule, h.start, h.end) for h in hits] == [("forbidden.shirking", 3, 9)]
