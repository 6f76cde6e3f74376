"""Turning inspections into API dicts and highlighted HTML (Q1-Q3 shown to people)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext_lazy as _

from kefu.interactions.models import Interaction, Utterance

from .models import Appeal, Hit, Inspection

# The engine speaks English; people read these, by rule code (most specific first).
RULE_MESSAGES: dict[str, Any] = {
    "forbidden.rude_address": _("Forbidden phrase (rude address): “%(evidence)s”"),
    "forbidden.questioning": _("Forbidden phrase (questioning or blaming): “%(evidence)s”"),
    "forbidden.arrogance": _("Forbidden phrase (arrogance or impatience): “%(evidence)s”"),
    "forbidden.shirking": _("Forbidden phrase (shirking): “%(evidence)s”"),
    "forbidden": _("Forbidden phrase: “%(evidence)s”"),
    "opening.missing_greeting": _("The opening lacks the standard greeting."),
    "opening.missing_agent_id": _("The opening does not state the agent id."),
    "opening.wrong_agent_id": _("The opening states another agent id: %(evidence)s."),
    "opening.no_agent_turn": _("The agent never spoke."),
    "closing.missing_phrase": _("The closing lacks the standard closing phrase."),
    "closing.missing_agent_id": _("The closing does not state the agent id."),
    "closing.wrong_agent_id": _("The closing states another agent id: %(evidence)s."),
    "closing.no_agent_turn": _("The agent never spoke."),
    "courtesy": _("A courtesy phrase was never said."),
    "hold.no_wait_phrase": _("Silence without asking the customer to wait (请稍等) first."),
    "hold.no_thanks": _("No thanks to the customer after the wait."),
    "ring_time": _("Answered after more than three rings."),
    "response_time.first": _("First reply too slow."),
    "response_time.reply": _("Reply too slow."),
    "response_time": _("Reply too slow."),
    "talk_over": _("The agent talked over the customer."),
    "customer_distress.keyword": _("The customer is angry or distressed: “%(evidence)s”"),
    "customer_distress.sentiment": _("The customer sounds angry or distressed."),
}


def hit_message(rule: str, evidence: str, fallback: str) -> str:
    parts = rule.split(".")
    for n in range(len(parts), 0, -1):
        msg = RULE_MESSAGES.get(".".join(parts[:n]))
        if msg is not None:
            text = str(msg)
            return text % {"evidence": evidence} if "%(evidence)s" in text else text
    return fallback


def hit_present(h: Any) -> dict[str, Any]:
    """``h`` is a stored Hit or an engine Hit."""
    out = {
        "rule": h.rule, "severity": h.severity, "utterance_index": h.utterance_index, "start": h.start,
        "end": h.end, "evidence": h.evidence, "message": hit_message(h.rule, h.evidence, h.message),
    }
    if isinstance(h, Hit):
        out["id"] = h.pk
        out["waived"] = h.waived
    return out


def highlight(text: str, spans: Iterable[tuple[int, int, str]]) -> SafeString:
    """``text`` HTML-escaped with every (start, end, title) span wrapped in ``<mark>``.

    Offsets are into the original text. Overlapping spans are merged into one mark per
    stretch (titles joined); spans outside the text are clipped or dropped."""
    n = len(text)
    cuts: list[tuple[int, int, str]] = []
    for start, end, title in spans:
        s, e = max(0, start), min(n, end)
        if s < e:
            cuts.append((s, e, title))
    if not cuts:
        return mark_safe(escape(text))  # noqa: S308 — escaped above
    bounds = sorted({0, n, *(c[0] for c in cuts), *(c[1] for c in cuts)})
    out: list[str] = []
    open_title: str | None = None
    buf: list[str] = []

    def flush() -> None:
        if not buf:
            return
        chunk = escape("".join(buf))
        out.append(chunk if open_title is None else f'<mark title="{escape(open_title)}">{chunk}</mark>')
        buf.clear()

    for a, b in zip(bounds, bounds[1:], strict=False):
        titles = [t for s, e, t in cuts if s <= a and b <= e]
        title = "；".join(dict.fromkeys(titles)) if titles else None
        if title != open_title:
            flush()
            open_title = title
        buf.append(text[a:b])
    flush()
    return mark_safe("".join(out))  # noqa: S308 — every piece escaped above


def transcript_rows(utterances: Sequence[Utterance], hits: Sequence[Hit]) -> list[dict[str, Any]]:
    """Each utterance with its HTML (hits marked) and the hits about the whole turn."""
    by_index: dict[int, list[Hit]] = {}
    for h in hits:
        if h.utterance_index is not None:
            by_index.setdefault(h.utterance_index, []).append(h)
    rows = []
    for u in utterances:
        mine = by_index.get(u.index, [])
        spans = [(h.start, h.end, hit_message(h.rule, h.evidence, h.message)) for h in mine
                 if h.start is not None and h.end is not None and not h.waived]
        rows.append({"utterance": u, "html": highlight(u.text, spans), "hits": mine})
    return rows


def inspection_present(i: Inspection, *, hits: Sequence[Hit] | None = None) -> dict[str, Any]:
    hits = list(i.hits.all()) if hits is None else hits
    return {
        "id": i.pk, "interaction_id": i.interaction_id, "ruleset_version": i.ruleset_version,
        "current": i.current, "auto_score": i.auto_score, "score": i.score, "veto": i.veto,
        "customer_distress": i.distress, "forbidden_count": i.forbidden_count, "sheet": i.sheet,
        "pending_items": i.pending_items, "manual_points": i.manual_points,
        "reviewed_by": i.reviewed_by.label if i.reviewed_by_id and i.reviewed_by else None,
        "reviewed_at": i.reviewed_at, "created_at": i.created_at,
        "hits": [hit_present(h) for h in hits],
    }


def interaction_present(x: Interaction, *, detail: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": x.pk, "channel": x.channel, "source": x.source, "external_id": x.external_id,
        "agent_id": x.agent_code, "agent": x.agent.label if x.agent_id and x.agent else None,
        "customer_id": x.customer_id, "started_at": x.started_at, "ring_seconds": x.ring_seconds,
        "wait_seconds": x.wait_seconds, "talk_seconds": x.talk_seconds, "hold_seconds": x.hold_seconds,
        "wrap_up_seconds": x.wrap_up_seconds, "created_at": x.created_at,
    }
    if detail:
        out["ticket_ids"] = list(x.tickets.values_list("pk", flat=True))
        out["utterances"] = [
            {"index": u.index, "speaker": u.speaker, "text": u.text, "start_ms": u.start_ms, "end_ms": u.end_ms}
            for u in x.utterances.order_by("index")
        ]
    return out


def appeal_present(a: Appeal) -> dict[str, Any]:
    return {
        "id": a.pk, "inspection_id": a.inspection_id, "interaction_id": a.inspection.interaction_id,
        "agent": a.agent.label, "reason": a.reason, "status": a.status,
        "hit_ids": [h.pk for h in a.hits.all()], "created_at": a.created_at,
        "decided_by": a.decided_by.label if a.decided_by else None, "decided_at": a.decided_at,
        "decision_note": a.decision_note, "score_before": a.score_before, "score_after": a.score_after,
    }


