"""Writes of quality inspection 质检 (Q1-Q5): publishing rule-set versions, automatic inspection
of every contact, the sampled manual review queue, manual scoring and appeals 申诉.

Every write is one transaction with its audit record (X3)."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kefu.accounts.models import Role, User
from kefu.audit.services import audit_record
from kefu.core import outbox
from kefu.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from kefu.interactions.models import Interaction

from . import engine
from .models import Appeal, AppealStatus, Hit, Inspection, ReviewTask, RuleSet

log = logging.getLogger(__name__)

RULESET_ROLES = frozenset({Role.ADMIN, Role.SUPERVISOR})
REVIEW_ROLES = frozenset({Role.INSPECTOR, Role.SUPERVISOR, Role.ADMIN, Role.TEAM_LEAD})

# Compiled engine rule sets by version: immutable and keyed by the config hash, so sharing
# them between requests is safe (a new version gets a new key).
_COMPILED: dict[str, engine.RuleSet] = {}


def compiled(ruleset: RuleSet) -> engine.RuleSet:
    rs = _COMPILED.get(ruleset.version)
    if rs is None:
        rs = engine.RuleSet.from_config(ruleset.config)
        _COMPILED[ruleset.version] = rs
    return rs


def ruleset_active() -> RuleSet:
    rs = RuleSet.objects.filter(active=True).first()
    if rs is None:  # the data migration seeds one; a wiped table gets the default again
        rs = ruleset_publish(actor=None, config=engine.default_config(), note="default")
    return rs


@transaction.atomic
def ruleset_publish(*, actor: User | None, config: Mapping[str, Any], note: str = "") -> RuleSet:
    """Make ``config`` the active rule set. The same config gives the same version: publishing
    it again re-activates the stored row instead of creating a copy. Raises ValidationFailed
    when the engine cannot build rules from the config. Audited."""
    if actor is not None and not (actor.is_superuser or actor.role in RULESET_ROLES):
        raise PermissionDenied(_("Only supervisors and administrators may change inspection rules."))
    try:
        built = engine.RuleSet.from_config(config)
        resolved = engine.data.resolve(dict(config))
    except (ValueError, KeyError, TypeError, OSError) as e:
        raise ValidationFailed(fields={"config": _("The rule set is not valid: %(error)s") % {"error": str(e)[:300]}}) from None
    if built.sheet is None:
        raise ValidationFailed(fields={"config": _("The rule set needs a scoring sheet.")})
    current = RuleSet.objects.select_for_update().filter(active=True).first()
    if current is not None and current.version == built.version:
        return current
    RuleSet.objects.filter(active=True).update(active=False)
    row = RuleSet.objects.filter(version=built.version).first()
    if row is None:
        row = RuleSet.objects.create(name=built.name, version=built.version, config=resolved, active=True,
                                     note=note[:500], created_by=actor)
    else:
        row.active = True
        row.save(update_fields=["active"])
    _COMPILED[row.version] = built
    audit_record(actor=actor, action="quality.ruleset_published", obj=row,
                 changes={"version": row.version, "previous": current.version if current else None}, reason=note)
    return row


# -- automatic inspection -----------------------------------------------------------------

def _transcript(interaction: Interaction) -> engine.Transcript:
    utts = [engine.Utterance(u.speaker, u.text, u.start_ms, u.end_ms)  # type: ignore[arg-type]
            for u in interaction.utterances.order_by("index")]
    return engine.Transcript(interaction.channel, interaction.agent_code, utts,  # type: ignore[arg-type]
                             ring_seconds=interaction.ring_seconds, transcript_id=str(interaction.pk))


def sample_fraction(seed: str, key: str) -> float:
    """A number in [0, 1) fixed by ``seed`` and ``key``: sampling is random across contacts but
    the same contact always gets the same answer (re-running never changes the queue)."""
    digest = hashlib.sha256(f"{seed}:{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def review_reasons(interaction: Interaction, *, veto: bool, distress: bool) -> list[str]:
    """Q4: why this contact goes to the manual queue, from ``KEFU_QA_SAMPLING``: a random share
    per channel plus (by default) every vetoed and every distressed contact."""
    cfg: Mapping[str, Any] = settings.KEFU_QA_SAMPLING
    reasons: list[str] = []
    rate = float(dict(cfg.get("rates", {})).get(interaction.channel, 0.0))
    key = f"{interaction.source}:{interaction.external_id}" if interaction.external_id else f"id:{interaction.pk}"
    if rate > 0 and sample_fraction(str(cfg.get("seed", "kefu")), key) < rate:
        reasons.append("sampled")
    if veto and cfg.get("veto", True):
        reasons.append("veto")
    if distress and cfg.get("distress", True):
        reasons.append("distress")
    return reasons


def _sheet_json(sheet: engine.SheetScore | None) -> list[dict[str, Any]]:
    if sheet is None:
        return []
    return [{"code": i.code, "name": i.name, "max_points": i.max_points, "points": i.points, "hits": i.hits,
             "vetoed": i.vetoed} for i in sheet.items]


def inspect_interaction(interaction_id: int) -> Inspection:
    """Inspect a stored contact with the active rule set (Q1-Q4) and store the result.

    Idempotent: if this contact was already judged by the active version, that inspection is
    returned and nothing is written. A new version adds a new inspection, which becomes the
    current one. Picks the contact for manual review (Q4) and puts ``quality.inspected`` in
    the outbox. Safe to call from a background task."""
    ruleset = ruleset_active()
    rs = compiled(ruleset)
    existing = Inspection.objects.filter(interaction_id=interaction_id, ruleset=ruleset).first()
    if existing is not None:
        return existing
    try:
        interaction = Interaction.objects.get(pk=interaction_id)
    except Interaction.DoesNotExist:
        raise NotFound() from None
    result = rs.inspect(_transcript(interaction))
    try:
        with transaction.atomic():
            return _store_inspection(interaction, ruleset, result)
    except IntegrityError:
        # A concurrent run stored it first.
        return Inspection.objects.get(interaction_id=interaction_id, ruleset=ruleset)


def _store_inspection(interaction: Interaction, ruleset: RuleSet, result: engine.Result) -> Inspection:
    Inspection.objects.filter(interaction=interaction, current=True).update(current=False)
    hits = result.hits
    inspection = Inspection.objects.create(
        interaction=interaction, ruleset=ruleset, ruleset_version=ruleset.version, current=True,
        agent_id=interaction.agent_id, team_id=interaction.team_id, channel=interaction.channel,
        started_at=interaction.started_at, auto_score=result.score, score=result.score, veto=result.veto,
        distress=result.customer_distress, forbidden_count=sum(1 for h in hits if h.rule.startswith("forbidden.")),
        sheet=_sheet_json(result.sheet), pending_items=list(result.sheet.pending_items) if result.sheet else [],
    )
    Hit.objects.bulk_create(
        Hit(inspection=inspection, rule=h.rule, severity=h.severity, utterance_index=h.utterance_index,
            start=h.start, end=h.end, message=h.message[:500], evidence=h.evidence[:500])
        for h in hits
    )
    reasons = review_reasons(interaction, veto=result.veto, distress=result.customer_distress)
    if reasons:
        ReviewTask.objects.create(inspection=inspection, reasons=reasons)
    audit_record(actor=None, action="quality.inspected", obj=inspection,
                 changes={"interaction": interaction.pk, "version": ruleset.version, "score": result.score,
                          "veto": result.veto, "hits": len(hits), "review": reasons})
    outbox.put("quality.inspected", inspection_id=inspection.pk, interaction_id=interaction.pk)
    return inspection


# -- scoring --------------------------------------------------------------------------

def _rescore(inspection: Inspection) -> None:
    """Recompute the sheet from the hits that still count and the manual points; an explicit
    score set by an upheld appeal wins."""
    rs = compiled(inspection.ruleset)
    assert rs.sheet is not None
    hits = [engine.Hit(h.rule, h.severity, h.utterance_index, h.start, h.end, h.message, h.evidence)  # type: ignore[arg-type]
            for h in inspection.hits.all() if not h.waived]
    sheet = engine.score_sheet(rs.sheet, hits, inspection.manual_points or None)
    inspection.sheet = _sheet_json(sheet)
    inspection.pending_items = list(sheet.pending_items)
    inspection.veto = sheet.veto
    inspection.forbidden_count = sum(1 for h in hits if h.rule.startswith("forbidden."))
    inspection.score = inspection.score_override if inspection.score_override is not None else sheet.total


def _may_judge(actor: User, inspection: Inspection) -> bool:
    """Inspectors, supervisors and admins judge every contact; a team lead only their team's,
    never their own (Q5 is about exactly that trust)."""
    if not actor.is_active:
        return False
    if actor.is_superuser or actor.role in (Role.INSPECTOR, Role.SUPERVISOR, Role.ADMIN):
        return True
    return (actor.role == Role.TEAM_LEAD and actor.team_id is not None and inspection.team_id == actor.team_id
            and inspection.agent_id != actor.pk)


def _locked_inspection(viewer: User, inspection_id: int) -> Inspection:
    from .selectors import inspection_qs_for

    obj = inspection_qs_for(viewer).select_for_update().filter(pk=inspection_id).first()
    if obj is None:
        raise NotFound()
    return obj


@transaction.atomic
def inspection_score(*, actor: User, inspection_id: int, points: Mapping[str, float], comment: str = "") -> Inspection:
    """Q4: an inspector (or the agent's team lead) scores the sheet's items by hand: manual
    items (information entry, teamwork…) and, if they wish, corrected points for automatic
    ones. Closes the review task. Audited with the score before and after."""
    inspection = _locked_inspection(actor, inspection_id)
    if not _may_judge(actor, inspection):
        raise PermissionDenied(_("You may not score this contact."))
    rs = compiled(inspection.ruleset)
    assert rs.sheet is not None
    errors: dict[str, Any] = {}
    items = {i.code: i for i in rs.sheet.items}
    for code, value in points.items():
        item = items.get(code)
        if item is None:
            errors[f"points.{code}"] = _("Unknown item of the scoring sheet.")
        elif not 0 <= value <= item.max_points:
            errors[f"points.{code}"] = _("Must be between 0 and %(max)s.") % {"max": f"{item.max_points:g}"}
    if errors:
        raise ValidationFailed(fields=errors)
    before = inspection.score
    inspection.manual_points = {**inspection.manual_points, **{k: float(v) for k, v in points.items()}}
    _rescore(inspection)
    now = timezone.now()
    inspection.reviewed_by = actor
    inspection.reviewed_at = now
    inspection.review_comment = comment
    inspection.save()
    ReviewTask.objects.filter(inspection=inspection, done_at__isnull=True).update(done_at=now, reviewer=actor)
    audit_record(actor=actor, action="quality.scored", obj=inspection,
                 changes={"points": dict(points), "score": [before, inspection.score]}, reason=comment)
    # Issue #7: the score changed; the analytics roll-up recounts the contact.
    outbox.put("quality.scored", inspection_id=inspection.pk, interaction_id=inspection.interaction_id)
    return inspection


# -- appeals 申诉 ---------------------------------------------------------------------

@transaction.atomic
def appeal_submit(*, actor: User, inspection_id: int, reason: str, hit_ids: list[int] | None = None) -> Appeal:
    """The agent of the contact contests its inspection, optionally naming the hits. One open
    appeal per inspection. Audited."""
    inspection = _locked_inspection(actor, inspection_id)
    if inspection.agent_id != actor.pk:
        raise PermissionDenied(_("Only the agent of this contact may appeal its inspection."))
    if not inspection.current:
        raise Conflict(_("This inspection has been replaced by a newer one."), code="inspection_replaced")
    if not reason.strip():
        raise ValidationFailed(fields={"reason": _("This field is required.")})
    if Appeal.objects.filter(inspection=inspection, status=AppealStatus.PENDING).exists():
        raise Conflict(_("An appeal of this inspection is already pending."), code="appeal_pending")
    hits = list(inspection.hits.filter(pk__in=hit_ids or []))
    if hit_ids and len(hits) != len(set(hit_ids)):
        raise ValidationFailed(fields={"hit_ids": _("Some hits do not belong to this inspection.")})
    appeal = Appeal.objects.create(inspection=inspection, agent=actor, reason=reason.strip(),
                                   score_before=inspection.score)
    if hits:
        appeal.hits.set(hits)
    audit_record(actor=actor, action="quality.appeal_submitted", obj=appeal,
                 changes={"inspection": inspection.pk, "hits": [h.pk for h in hits]}, reason=reason)
    outbox.put("quality.appeal_submitted", appeal_id=appeal.pk)
    return appeal


@transaction.atomic
def appeal_decide(*, actor: User, appeal_id: int, outcome: str, note: str = "",
                  score: float | None = None) -> Appeal:
    """An inspector or the agent's team lead decides a pending appeal.

    Upheld: the contested hits are waived and the sheet rescored (a lifted veto item restores
    the score); ``score`` (0-100) sets the corrected score outright. Rejected: nothing
    changes but the record. Audited with the score before and after."""
    from .selectors import inspection_qs_for

    appeal = Appeal.objects.select_for_update().filter(pk=appeal_id).first()
    if appeal is None or not inspection_qs_for(actor).filter(pk=appeal.inspection_id).exists():
        raise NotFound()
    inspection = Inspection.objects.select_for_update().get(pk=appeal.inspection_id)
    if not _may_judge(actor, inspection):
        raise PermissionDenied(_("You may not decide this appeal."))
    if appeal.status != AppealStatus.PENDING:
        raise Conflict(_("This appeal has already been decided."), code="appeal_decided")
    if outcome not in (AppealStatus.UPHELD, AppealStatus.REJECTED):
        raise ValidationFailed(fields={"outcome": _("Must be one of: upheld, rejected.")})
    if score is not None and (outcome != AppealStatus.UPHELD or not 0 <= score <= 100):
        raise ValidationFailed(fields={"score": _("A corrected score (0-100) is only given when upholding.")})
    if outcome == AppealStatus.UPHELD and score is None and not appeal.hits.exists():
        raise ValidationFailed(fields={"score": _("The appeal names no hits: give the corrected score.")})
    before = inspection.score
    if outcome == AppealStatus.UPHELD:
        appeal.hits.update(waived=True)
        if score is not None:
            inspection.score_override = float(score)
        _rescore(inspection)
        inspection.save()
    appeal.status = outcome
    appeal.decided_by = actor
    appeal.decided_at = timezone.now()
    appeal.decision_note = note
    appeal.score_after = inspection.score
    appeal.save()
    audit_record(actor=actor, action="quality.appeal_decided", obj=appeal,
                 changes={"outcome": outcome, "score": [before, inspection.score]}, reason=note)
    outbox.put("quality.appeal_decided", appeal_id=appeal.pk, outcome=outcome)
    return appeal
