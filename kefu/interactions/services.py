"""Importing contacts from a CTI, chat store or speech-recognition system (S4, Q1-Q3).

Each item of a batch is validated on its own and written in its own transaction: good items
are kept, a bad item writes nothing and gets a list of ``{code, field, message}`` errors,
and an item whose ``(source, external_id)`` was already imported is reported as a duplicate
(retrying an import is safe). Every stored contact is inspected automatically (Q1-Q4).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from kefu.accounts.models import Role, User
from kefu.audit.services import audit_record
from kefu.core import outbox
from kefu.core.errors import PermissionDenied
from kefu.quality.engine import Transcript, TranscriptError, validate_transcript
from kefu.quality.engine import validation as v

from .models import Interaction, Utterance

log = logging.getLogger(__name__)

IMPORT_ROLES = frozenset({Role.ADMIN, Role.SUPERVISOR})
MAX_BATCH = 500
# Fields of an import item that are about the contact, not the transcript the engine checks.
CONTACT_FIELDS = frozenset({
    "source", "external_id", "customer_id", "started_at", "wait_seconds", "talk_seconds", "hold_seconds",
    "wrap_up_seconds", "ticket_ids",
})
DURATION_FIELDS = ("wait_seconds", "talk_seconds", "hold_seconds", "wrap_up_seconds")


@dataclass
class ItemError:
    code: str
    field: str
    message: str


@dataclass
class ItemResult:
    index: int
    status: str  # created | duplicate | error
    id: int | None = None
    errors: list[ItemError] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"index": self.index, "status": self.status}
        if self.id is not None:
            out["id"] = self.id
        if self.errors:
            out["errors"] = [{"code": e.code, "field": e.field, "message": e.message} for e in self.errors]
        return out


def problem_message(code: str, path: str, fallback: str = "") -> str:
    """A translated message for an engine validation problem (the engine speaks English)."""
    if code == "too_long":
        limit = v.MAX_AGENT_ID_CHARS if path == "agent_id" else v.MAX_TEXT_CHARS
        return gettext("Too long: at most %(n)d characters.") % {"n": limit}
    if code == "too_many":
        return gettext("Too many utterances: at most %(n)d.") % {"n": v.MAX_UTTERANCES}
    if code == "too_large":
        return gettext("Too large: at most %(n)d milliseconds (one day).") % {"n": v.MAX_OFFSET_MS}
    messages = {
        "required": _("This field is required."),
        "unknown_field": _("Unknown field."),
        "invalid_choice": _("Must be one of: call, chat, email, sms."),
        "not_a_string": _("Must be text."),
        "empty_text": _("Must not be empty."),
        "control_character": _("Contains a control character or an invalid character."),
        "not_an_integer": _("Must be a whole number of milliseconds."),
        "negative": _("Must not be negative."),
        "not_a_number": _("Must be a number."),
        "not_an_object": _("Must be a JSON object."),
        "not_a_list": _("Must be a list."),
        "empty": _("Must contain at least one utterance."),
        "unknown_speaker": _("Unknown speaker: must be agent, customer or bot."),
        "end_before_start": _("The end must not be before the start."),
        "out_of_order": _("Utterances must be sorted by start time."),
        "overlap_same_speaker": _("Overlaps the previous utterance of the same speaker."),
    }
    msg = messages.get(code)
    return str(msg) if msg is not None else (fallback or gettext("Not valid."))


def _require_importer(actor: User) -> None:
    if not (actor.is_active and (actor.is_superuser or actor.role in IMPORT_ROLES)):
        raise PermissionDenied(_("Only supervisors and administrators may import contacts."))


def _short_text(raw: Mapping[str, Any], key: str, limit: int, errors: list[ItemError], default: str = "") -> str:
    value = raw.get(key, default)
    if value is None:
        return default
    if not isinstance(value, str):
        errors.append(ItemError("not_a_string", key, gettext("Must be text.")))
        return default
    if len(value) > limit:
        errors.append(ItemError("too_long", key, gettext("Too long: at most %(n)d characters.") % {"n": limit}))
        return default
    return value.strip()


def _check_contact_fields(raw: Mapping[str, Any], errors: list[ItemError]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "source": _short_text(raw, "source", 32, errors, "api") or "api",
        "external_id": _short_text(raw, "external_id", 64, errors),
    }
    started = raw.get("started_at")
    out["started_at"] = None
    if started is not None:
        parsed: datetime | None = None
        if isinstance(started, str):
            try:
                parsed = parse_datetime(started)
            except ValueError:
                parsed = None
        if parsed is None:
            errors.append(ItemError("invalid_datetime", "started_at",
                                    gettext("Must be a date and time such as 2026-11-22T09:30:00+08:00.")))
        else:
            out["started_at"] = timezone.make_aware(parsed) if timezone.is_naive(parsed) else parsed
    for name in DURATION_FIELDS:
        value = raw.get(name)
        if value is None:
            out[name] = None
        elif isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            errors.append(ItemError("not_a_number", name, gettext("Must be a number.")))
        elif value < 0:
            errors.append(ItemError("negative", name, gettext("Must not be negative.")))
        else:
            out[name] = float(value)
    customer_id = raw.get("customer_id")
    out["customer"] = None
    if customer_id is not None:
        from kefu.customers.models import Customer

        if isinstance(customer_id, bool) or not isinstance(customer_id, int):
            errors.append(ItemError("not_an_integer", "customer_id", gettext("Must be a number.")))
        else:
            out["customer"] = Customer.objects.filter(pk=customer_id).first()
            if out["customer"] is None:
                errors.append(ItemError("unknown_customer", "customer_id", gettext("No customer has this id.")))
    refs = raw.get("ticket_ids", [])
    out["tickets"] = []
    if refs:
        from kefu.tickets.models import Ticket

        if not isinstance(refs, list) or len(refs) > 50:
            errors.append(ItemError("not_a_list", "ticket_ids", gettext("Must be a list of at most 50 work orders.")))
        else:
            for i, ref in enumerate(refs):
                t = None
                if isinstance(ref, int) and not isinstance(ref, bool):
                    t = Ticket.objects.filter(pk=ref).first()
                elif isinstance(ref, str):
                    t = Ticket.objects.filter(number=ref.strip()).first()
                if t is None:
                    errors.append(ItemError("unknown_ticket", f"ticket_ids[{i}]",
                                            gettext("No work order %(ref)s.") % {"ref": str(ref)[:40]}))
                else:
                    out["tickets"].append(t)
    return out


def _import_one(actor: User, index: int, raw: Any) -> ItemResult:
    if not isinstance(raw, Mapping):
        return ItemResult(index, "error", errors=[ItemError("not_an_object", "", gettext("Must be a JSON object."))])
    errors: list[ItemError] = []
    transcript: Transcript | None = None
    try:
        transcript = validate_transcript({k: val for k, val in raw.items() if k not in CONTACT_FIELDS})
    except TranscriptError as e:
        errors.extend(ItemError(p.code, p.field, problem_message(p.code, p.field, p.message)) for p in e.problems)
    contact = _check_contact_fields(raw, errors)
    agent: User | None = None
    if transcript is not None:
        agent = User.objects.filter(agent_id=transcript.agent_id).select_related("team").first()
        if agent is None:
            errors.append(ItemError("unknown_agent", "agent_id",
                                    gettext("No agent has the id %(agent_id)s.") % {"agent_id": transcript.agent_id}))
    if errors or transcript is None:
        return ItemResult(index, "error", errors=errors)
    external_id = contact["external_id"]
    if external_id:
        existing = Interaction.objects.filter(source=contact["source"], external_id=external_id).values_list(
            "pk", flat=True).first()
        if existing is not None:
            return ItemResult(index, "duplicate", id=existing)
    try:
        interaction = _store(actor, transcript, contact, agent)
    except IntegrityError:
        # A concurrent import of the same (source, external_id) won the race.
        existing = Interaction.objects.filter(source=contact["source"], external_id=external_id).values_list(
            "pk", flat=True).first()
        if existing is None:
            raise
        return ItemResult(index, "duplicate", id=existing)
    dispatch_inspection(interaction.pk)
    return ItemResult(index, "created", id=interaction.pk)


@transaction.atomic
def _store(actor: User, transcript: Transcript, contact: dict[str, Any], agent: User | None) -> Interaction:
    interaction = Interaction.objects.create(
        channel=transcript.channel,
        source=contact["source"],
        external_id=contact["external_id"],
        customer=contact["customer"],
        agent=agent,
        agent_code=transcript.agent_id,
        team_id=agent.team_id if agent is not None else None,
        started_at=contact["started_at"] or timezone.now(),
        ring_seconds=transcript.ring_seconds,
        wait_seconds=contact["wait_seconds"],
        talk_seconds=contact["talk_seconds"],
        hold_seconds=contact["hold_seconds"],
        wrap_up_seconds=contact["wrap_up_seconds"],
        metadata=dict(transcript.metadata),
    )
    Utterance.objects.bulk_create(
        Utterance(interaction=interaction, index=i, speaker=u.speaker, text=u.text, start_ms=u.start_ms, end_ms=u.end_ms)
        for i, u in enumerate(transcript.utterances)
    )
    if contact["tickets"]:
        interaction.tickets.set(contact["tickets"])
    audit_record(actor=actor, action="interaction.imported", obj=interaction,
                 changes={"source": interaction.source, "external_id": interaction.external_id,
                          "utterances": len(transcript.utterances)})
    outbox.put("interaction.created", interaction_id=interaction.pk)
    return interaction


def dispatch_inspection(interaction_id: int) -> None:
    """Q1-Q4: inspect a stored contact, after its transaction (a failed inspection never loses
    the contact). ``KEFU_QA_INSPECT_ASYNC`` on: a Celery task on commit; off (default): right
    here, so the import's answer already has the score. ``inspect_interaction`` is idempotent,
    so a retry or a second delivery does nothing twice."""
    from django.conf import settings

    if getattr(settings, "KEFU_QA_INSPECT_ASYNC", False):
        from kefu.quality.tasks import inspect_interaction_task

        transaction.on_commit(lambda: inspect_interaction_task.delay(interaction_id))
        return
    from kefu.quality.services import inspect_interaction

    try:
        inspect_interaction(interaction_id)
    except Exception:  # noqa: BLE001 — the contact is stored; POST /interactions/{id}/inspect re-runs it
        log.exception("inspection of interaction %s failed", interaction_id)


def interaction_import(*, actor: User, items: list[Any]) -> list[ItemResult]:
    """Import ``items`` one by one (see module docstring). Raises PermissionDenied unless the
    actor may import; per-item problems never raise."""
    _require_importer(actor)
    return [_import_one(actor, i, raw) for i, raw in enumerate(items)]
