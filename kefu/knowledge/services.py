"""Writes to the knowledge base: items and their versions through review (K1), bulk import, and
walking a troubleshooting flow inside a work order (K3). Every write is audited."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Iterable, Iterator

from django.db import models, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext_lazy as _

from kefu.accounts.models import Role, User
from kefu.audit.services import audit_record
from kefu.core import outbox
from kefu.core.errors import KefuError, NotFound, PermissionDenied, TransitionNotAllowed, ValidationFailed

from .models import (
    Audience,
    Flow,
    FlowRun,
    ItemKind,
    ItemVersion,
    KnowledgeItem,
    VersionStatus,
    VocabularyEntry,
    VocabularyKind,
)

EDITOR_ROLES = frozenset({Role.TEAM_LEAD, Role.SUPERVISOR, Role.ADMIN})
REVIEWER_ROLES = frozenset({Role.SUPERVISOR, Role.ADMIN})
MAX_QUESTION = 300
MAX_ANSWER = 20000
#: similar questions an item may carry: FAQ exports of a contact centre cluster customers' own
#: wordings under a standard question, often by the hundred — and, taken from chat logs, some of
#: them long (a customer's whole first message), so they may be longer than a standard question
MAX_SIMILAR = 2000
MAX_SIMILAR_CHARS = 1000


def has_role(actor: User, roles: frozenset[str]) -> bool:
    """An active user of one of ``roles`` (or a superuser): the one role test of the knowledge base."""
    return bool(actor.is_active and (actor.role in roles or actor.is_superuser))


def _require(actor: User, roles: frozenset[str], message: Any) -> None:
    if not has_role(actor, roles):
        raise PermissionDenied(message, code="role_not_allowed")


def _clean_content(question: Any, answer: Any, similar: Any, *, prefix: str = "") -> tuple[str, str, list[str]]:
    errors: dict[str, Any] = {}
    q = question.strip() if isinstance(question, str) else ""
    a = answer.strip() if isinstance(answer, str) else ""
    if not q:
        errors[f"{prefix}question"] = _("This field is required.")
    elif len(q) > MAX_QUESTION:
        errors[f"{prefix}question"] = _("At most %(n)d characters.") % {"n": MAX_QUESTION}
    if not a:
        errors[f"{prefix}answer"] = _("This field is required.")
    elif len(a) > MAX_ANSWER:
        errors[f"{prefix}answer"] = _("At most %(n)d characters.") % {"n": MAX_ANSWER}
    sims: list[str] = []
    if isinstance(similar, str):  # one similar question given as text rather than a list of one
        similar = [similar]
    if similar is not None:
        if not isinstance(similar, list) or not all(isinstance(x, str) for x in similar):
            errors[f"{prefix}similar_questions"] = _("Must be a list of texts.")
        else:
            sims = list(dict.fromkeys(x.strip() for x in similar if x.strip()))
            if len(sims) > MAX_SIMILAR or any(len(x) > MAX_SIMILAR_CHARS for x in sims):
                errors[f"{prefix}similar_questions"] = _("At most %(n)d similar questions of %(m)d characters.") % {
                    "n": MAX_SIMILAR, "m": MAX_SIMILAR_CHARS}
    if errors:
        raise ValidationFailed(fields=errors)
    return q, a, sims


def category_path(text: str | None) -> str:
    """A category path with its parts trimmed and empty parts dropped: `` 宽带 / 故障/`` → ``宽带/故障``."""
    return "/".join(p.strip() for p in (text or "").split("/") if p.strip())


MAX_LABELS = 20
MAX_LABEL = 40
_LABEL_SPLIT = re.compile(r"[,，、;；\s]+")


def clean_labels(raw: Any, *, field: str) -> list[str]:
    """Tags or products: a list of texts, or one text separated by commas, 、 or spaces (a form
    field); trimmed, repeats dropped, at most 20 of 40 characters each."""
    if raw is None or raw == "":
        return []
    if isinstance(raw, str):
        raw = _LABEL_SPLIT.split(raw)
    if not isinstance(raw, list) or not all(isinstance(x, (str, int)) and not isinstance(x, bool) for x in raw):
        raise ValidationFailed(fields={field: _("Must be a list of texts.")})
    labels = list(dict.fromkeys(str(x).strip() for x in raw if str(x).strip()))
    if len(labels) > MAX_LABELS or any(len(x) > MAX_LABEL for x in labels):
        raise ValidationFailed(fields={field: _("At most %(n)d labels of %(m)d characters.") % {"n": MAX_LABELS, "m": MAX_LABEL}})
    return labels


def clean_validity(
    effective_from: Any, expires_at: Any, *, now: datetime | None = None, past_expiry: bool = False,
) -> tuple[datetime | None, datetime | None]:
    """When an item comes into force and when it expires (K1): each a datetime, an ISO text
    (``2026-12-05T09:00``, local time when no offset is given) or empty for "no limit". The expiry
    must be after the start and — unless ``past_expiry`` (an import carrying an expired item:
    kept, out of force) — in the future."""
    now = now or timezone.now()
    errors: dict[str, Any] = {}
    out: list[datetime | None] = []
    for name, raw in (("effective_from", effective_from), ("expires_at", expires_at)):
        if raw in (None, ""):
            out.append(None)
            continue
        try:
            # text or a datetime only: a number (20261205) is not a date, whatever ISO's basic form allows
            value = raw if isinstance(raw, datetime) else parse_datetime(raw.strip()) if isinstance(raw, str) else None
        except ValueError:  # well formed but impossible: 2026-13-40
            value = None
        if value is None:
            errors[name] = _("Not a date and time, e.g. 2026-12-05 09:00.")
            out.append(None)
            continue
        out.append(value if timezone.is_aware(value) else timezone.make_aware(value))
    start, end = out
    if not errors and end is not None:
        if start is not None and end <= start:
            errors["expires_at"] = _("The expiry must be after the start.")
        elif end <= now and not past_expiry:
            errors["expires_at"] = _("The expiry must be in the future.")
    if errors:
        raise ValidationFailed(fields=errors)
    return start, end


def _next_number(item: KnowledgeItem) -> int:
    return (item.versions.aggregate(n=Max("number"))["n"] or 0) + 1


@transaction.atomic
def item_create(
    *,
    actor: User,
    question: str,
    answer: str,
    similar_questions: list[str] | None = None,
    kind: str = ItemKind.FAQ,
    category: str = "",
    tags: list[str] | str | None = None,
    products: list[str] | str | None = None,
    audience: str = Audience.PUBLIC,
    external_id: str | None = None,
    effective_from: Any = None,
    expires_at: Any = None,
) -> KnowledgeItem:
    """A new item with its first version as a draft: nothing is visible until a reviewer publishes it
    (and then only between ``effective_from`` and ``expires_at`` when given)."""
    _require(actor, EDITOR_ROLES, _("Your role cannot edit the knowledge base."))
    q, a, sims = _clean_content(question, answer, similar_questions)
    start, end = clean_validity(effective_from, expires_at)
    tags, products = clean_labels(tags, field="tags"), clean_labels(products, field="products")
    if kind not in ItemKind.values:
        raise ValidationFailed(fields={"kind": _("Unknown kind.")})
    if audience not in Audience.values:
        raise ValidationFailed(fields={"audience": _("Unknown audience.")})
    if external_id and KnowledgeItem.objects.filter(external_id=external_id).exists():
        raise ValidationFailed(fields={"external_id": _("An item with this id exists already.")})
    item = KnowledgeItem.objects.create(
        kind=kind, category=category.strip()[:100], tags=tags, products=products, audience=audience,
        external_id=external_id or None,
        effective_from=start, expires_at=end,
    )
    ItemVersion.objects.create(item=item, number=1, question=q, answer=a, similar_questions=sims, author=actor)
    audit_record(actor=actor, action="kb.create", obj=item, changes={"question": q})
    return item


@transaction.atomic
def item_revise(
    *, actor: User, item_id: int, question: str, answer: str, similar_questions: list[str] | None = None
) -> ItemVersion:
    """A new draft version; the published one stays visible until the draft is approved."""
    _require(actor, EDITOR_ROLES, _("Your role cannot edit the knowledge base."))
    item = KnowledgeItem.objects.select_for_update().filter(pk=item_id).first()
    if item is None:
        raise NotFound(code="kb_item_not_found")
    q, a, sims = _clean_content(question, answer, similar_questions)
    version = ItemVersion.objects.create(
        item=item, number=_next_number(item), question=q, answer=a, similar_questions=sims, author=actor
    )
    audit_record(actor=actor, action="kb.revise", obj=item, changes={"version": version.number})
    return version


def _lock_version(version_id: int) -> ItemVersion:
    version = ItemVersion.objects.select_for_update().select_related("item").filter(pk=version_id).first()
    if version is None:
        raise NotFound(code="kb_version_not_found")
    return version


@transaction.atomic
def version_submit(*, actor: User, version_id: int) -> ItemVersion:
    _require(actor, EDITOR_ROLES, _("Your role cannot edit the knowledge base."))
    version = _lock_version(version_id)
    if version.status != VersionStatus.DRAFT:
        raise TransitionNotAllowed(_("Only a draft can be sent for review."), code="kb_not_draft")
    version.status = VersionStatus.IN_REVIEW
    version.save(update_fields=["status"])
    audit_record(actor=actor, action="kb.submit", obj=version.item, changes={"version": version.number})
    return version


def _publish(version: ItemVersion, *, reviewer: User, note: str) -> None:
    item = version.item
    ItemVersion.objects.filter(item=item, status=VersionStatus.PUBLISHED).update(status=VersionStatus.ARCHIVED)
    version.status = VersionStatus.PUBLISHED
    version.reviewer = reviewer
    version.reviewed_at = timezone.now()
    version.review_note = note[:500]
    version.save(update_fields=["status", "reviewer", "reviewed_at", "review_note"])
    item.published = version
    item.archived = False
    item.save(update_fields=["published", "archived", "updated_at"])
    # The search index and the vector job pick this up after commit (never lost: it is in the outbox).
    outbox.put("kb.published", item_id=item.pk, version_id=version.pk)


@transaction.atomic
def version_review(*, actor: User, version_id: int, approve: bool, note: str = "") -> ItemVersion:
    """Approve (publish, archiving the previous published version) or send back to draft. The author
    may not approve their own version (four eyes)."""
    _require(actor, REVIEWER_ROLES, _("Your role cannot review knowledge."))
    version = _lock_version(version_id)
    if version.status != VersionStatus.IN_REVIEW:
        raise TransitionNotAllowed(_("Only a version in review can be approved or sent back."), code="kb_not_in_review")
    if approve and version.author_id == actor.pk:
        raise PermissionDenied(_("You cannot approve your own change."), code="kb_self_review")
    if approve:
        _publish(version, reviewer=actor, note=note)
    else:
        if not note.strip():
            raise ValidationFailed(fields={"note": _("Say what must change.")})
        version.status = VersionStatus.DRAFT
        version.reviewer = actor
        version.review_note = note.strip()[:500]
        version.save(update_fields=["status", "reviewer", "review_note"])
    audit_record(actor=actor, action="kb.approve" if approve else "kb.reject", obj=version.item,
                 changes={"version": version.number}, reason=note)
    return version


@transaction.atomic
def item_set_validity(*, actor: User, item_id: int, effective_from: Any, expires_at: Any) -> KnowledgeItem:
    """Change when an item is in force (reviewers: it changes what customers see at once). The index
    picks the new moments up like an edit (``updated_at``); audited with the old and new values."""
    _require(actor, REVIEWER_ROLES, _("Your role cannot review knowledge."))
    item = KnowledgeItem.objects.select_for_update().filter(pk=item_id).first()
    if item is None:
        raise NotFound(_("No knowledge item with this id."), code="kb_item_not_found")
    start, end = clean_validity(effective_from, expires_at)
    before = {"effective_from": item.effective_from, "expires_at": item.expires_at}
    item.effective_from, item.expires_at = start, end
    item.save(update_fields=["effective_from", "expires_at", "updated_at"])
    audit_record(actor=actor, action="kb.validity", obj=item,
                 changes={"from": {k: v.isoformat() if v else None for k, v in before.items()},
                          "to": {"effective_from": start.isoformat() if start else None,
                                 "expires_at": end.isoformat() if end else None}})
    return item


@transaction.atomic
def item_set_properties(
    *, actor: User, item_id: int, category: Any = "", kind: Any = ItemKind.FAQ, audience: Any = Audience.PUBLIC,
    tags: Any = None, products: Any = None,
) -> KnowledgeItem:
    """Change what an item is filed under — category, kind, audience, tags, products — without a new
    version of its text (reviewers: the audience decides what customers see, the category where
    the bot hands over). Audited with the old and new value of each field that changed; nothing is
    written when nothing changed."""
    _require(actor, REVIEWER_ROLES, _("Your role cannot review knowledge."))
    item = KnowledgeItem.objects.select_for_update().filter(pk=item_id).first()
    if item is None:
        raise NotFound(_("No knowledge item with this id."), code="kb_item_not_found")
    errors: dict[str, Any] = {}
    path = category_path(category) if isinstance(category, str) else None
    if path is None or len(path) > 100:
        errors["category"] = _("“category” must be text of at most 100 characters")
    if kind not in ItemKind.values:
        errors["kind"] = _("Unknown kind.")
    if audience not in Audience.values:
        errors["audience"] = _("Unknown audience.")
    labels: dict[str, list[str]] = {}
    for name, raw in (("tags", tags), ("products", products)):
        try:
            labels[name] = clean_labels(raw, field=name)
        except ValidationFailed as e:
            errors.update(e.fields)
    if errors:
        raise ValidationFailed(fields=errors)
    wanted = {"category": path, "kind": kind, "audience": audience, **labels}
    changed = {k: v for k, v in wanted.items() if getattr(item, k) != v}
    if not changed:
        return item
    before = {k: getattr(item, k) for k in changed}
    for k, v in changed.items():
        setattr(item, k, v)
    item.save(update_fields=[*changed, "updated_at"])
    audit_record(actor=actor, action="kb.properties", obj=item, changes={"from": before, "to": changed})
    return item


@transaction.atomic
def item_archive(*, actor: User, item_id: int, reason: str) -> KnowledgeItem:
    _require(actor, REVIEWER_ROLES, _("Your role cannot review knowledge."))
    if not (reason or "").strip():
        raise ValidationFailed(fields={"reason": _("Say why it is taken out of service.")})
    item = KnowledgeItem.objects.select_for_update().filter(pk=item_id).first()
    if item is None:
        raise NotFound(code="kb_item_not_found")
    item.archived = True
    item.save(update_fields=["archived", "updated_at"])
    ItemVersion.objects.filter(item=item, status=VersionStatus.PUBLISHED).update(status=VersionStatus.ARCHIVED)
    outbox.put("kb.archived", item_id=item.pk)
    audit_record(actor=actor, action="kb.archive", obj=item, reason=reason)
    return item


# --- the centre's own search vocabulary (K5) ------------------------------------------------------

MAX_GROUP_WORDS = 20
MAX_WORD = 20


def _text_lines(lines: Iterable[str | bytes], bad: list[tuple[int, str]]) -> Iterator[tuple[int, str]]:
    """(line number, text) of each non-blank line of an uploaded file, trimmed, a BOM dropped;
    a line that is not UTF-8 goes to ``bad`` (number, reason) instead."""
    for n, raw in enumerate(lines, start=1):
        if isinstance(raw, bytes):
            try:
                raw = raw.decode("utf-8")
            except UnicodeDecodeError:
                bad.append((n, str(_("not UTF-8 text"))))
                continue
        text = raw.strip().lstrip("\ufeff").strip()
        if text:
            yield n, text


def _vocabulary_words(raw: Any) -> list[str]:
    """Words as a list, or one text separated by spaces, commas or 、; each folded (full-width,
    traditional characters, case) as the search folds the questions, repeats dropped."""
    from .retrieval.text import content_chars, fold

    if isinstance(raw, str):
        raw = _LABEL_SPLIT.split(raw)
    if not isinstance(raw, list) or not all(isinstance(x, str) for x in raw):
        raise ValidationFailed(fields={"words": _("Must be a list of words.")})
    words = list(dict.fromkeys(fold(x) for x in raw if fold(x)))
    for w in words:
        if len(w) > MAX_WORD:
            raise ValidationFailed(fields={"words": _("“%(word)s” is longer than %(n)d characters.") % {"word": w[:30], "n": MAX_WORD}})
        if content_chars(w) != w:
            raise ValidationFailed(fields={"words": _("“%(word)s”: a word is made of Chinese characters, letters and digits.")
                                           % {"word": w[:30]}})
    return words


def _vocabulary_clean(kind: str, words: Any) -> list[str]:
    """The entry's words, checked (not yet against the other entries)."""
    if kind not in VocabularyKind.values:
        raise ValidationFailed(fields={"kind": _("Choose a synonym group, a correction or ignorable words.")})
    clean = _vocabulary_words(words)
    if kind == VocabularyKind.IGNORE:
        if not clean:
            raise ValidationFailed(fields={"words": _("Give at least one word to leave out of the questions.")})
        if len(clean) > MAX_GROUP_WORDS:
            raise ValidationFailed(fields={"words": _("At most %(n)d words in a group.") % {"n": MAX_GROUP_WORDS}})
        short = next((w for w in clean if len(w) < 2), None)
        if short is not None:
            raise ValidationFailed(fields={"words": _(
                "“%(word)s”: a word to leave out needs at least two characters — a single character carries meaning in too many words.")
                % {"word": short}})
    elif kind == VocabularyKind.SYNONYM:
        if len(clean) < 2:
            raise ValidationFailed(fields={"words": _("A synonym group needs at least two different words.")})
        if len(clean) > MAX_GROUP_WORDS:
            raise ValidationFailed(fields={"words": _("At most %(n)d words in a group.") % {"n": MAX_GROUP_WORDS}})
    else:
        if len(clean) != 2:
            raise ValidationFailed(fields={"words": _(
                "A correction is two words: what customers write, then what they mean (宽代 宽带).")})
        if len(clean[0]) < 2:
            raise ValidationFailed(fields={"words": _(
                "The word to correct needs at least two characters: a single character would be rewritten in every word.")})
    return clean


def _vocabulary_clash(kind: str, clean: list[str], entries: Iterable[tuple[str, list[str]]]) -> tuple[bool, Any]:
    """(the same entry exists, why it cannot be added) against ``entries`` (kind, words)."""
    for other_kind, words in entries:
        if VocabularyKind.IGNORE in (kind, other_kind) and kind != other_kind:
            # A word left out of the questions cannot also mean something (a synonym, a correction's
            # target): one of the two entries would silently undo the other.
            both = set(clean) & set(words)
            if both:
                word = sorted(both)[0]
                return False, _("“%(word)s” is in another entry of the vocabulary (%(kind)s); remove that one first.") % {
                    "word": word, "kind": VocabularyKind(other_kind).label}
            continue
        if other_kind != kind:
            continue
        if kind == VocabularyKind.IGNORE:
            both = set(clean) & set(words)
            if both:
                return frozenset(words) == frozenset(clean), _("“%(word)s” is left out already.") % {"word": sorted(both)[0]}
            continue
        if kind == VocabularyKind.SYNONYM and frozenset(words) == frozenset(clean):
            return True, _("This synonym group exists already.")
        if kind == VocabularyKind.REWRITE and words and words[0] == clean[0]:
            return words == clean, _("“%(word)s” is corrected already (to “%(to)s”).") % {"word": clean[0], "to": words[1]}
    return False, None


@transaction.atomic
def vocabulary_add(*, actor: User, kind: str, words: Any) -> VocabularyEntry:
    """Add a synonym group (2–20 words that mean the same to customers) or a correction
    (``[what customers write, what they mean]``, the first of at least two characters — a single
    character would be rewritten inside every word) or ignorable words (each of at least two
    characters, left out of every question: the operator's own name). Supervisors and
    administrators; audited."""
    _require(actor, REVIEWER_ROLES, _("Only supervisors and administrators may change the search vocabulary."))
    clean = _vocabulary_clean(kind, words)
    _same, clash = _vocabulary_clash(kind, clean, VocabularyEntry.objects.values_list("kind", "words"))
    if clash is not None:
        raise ValidationFailed(fields={"words": clash})
    entry = VocabularyEntry.objects.create(kind=kind, words=clean, created_by=actor)
    audit_record(actor=actor, action="kb.vocabulary", obj=entry, changes={"kind": kind, "words": clean})
    return entry


@transaction.atomic
def vocabulary_import(*, actor: User, lines: Iterable[str | bytes]) -> tuple[int, int]:
    """A vocabulary file in the format of the shipped ``synonyms.txt``: one synonym group a line
    (words separated by spaces), ``A -> B`` a correction, ``! A B`` words to leave out of the
    questions, ``#`` comments and blank lines skipped.
    All or nothing: every bad line is reported (``ImportFailed``) and nothing is added; an entry
    that exists already is left as it is, so a file can be loaded again. Returns (added,
    unchanged); audited as one ``kb.vocabulary_import``."""
    _require(actor, REVIEWER_ROLES, _("Only supervisors and administrators may change the search vocabulary."))
    known: list[tuple[str, list[str]]] = [(k, list(w)) for k, w in VocabularyEntry.objects.values_list("kind", "words")]
    todo: list[tuple[str, list[str]]] = []
    bad: list[tuple[int, str]] = []
    unchanged = 0
    for n, text in _text_lines(lines, bad):
        if text.startswith("#"):
            continue
        if text.startswith(("!", "！")):
            kind, words = VocabularyKind.IGNORE, text[1:]
        elif "->" in text:
            kind, words = VocabularyKind.REWRITE, text.split("->")
        else:
            kind, words = VocabularyKind.SYNONYM, text
        if kind == VocabularyKind.REWRITE and len(words) != 2:
            bad.append((n, str(_("A correction is two words: what customers write, then what they mean (宽代 宽带)."))))
            continue
        try:
            clean = _vocabulary_clean(kind, [w.strip() for w in words] if isinstance(words, list) else words)
        except ValidationFailed as e:
            bad.append((n, "; ".join(str(v) for v in e.fields.values())))
            continue
        same, clash = _vocabulary_clash(kind, clean, known)
        if same:
            unchanged += 1
        elif clash is not None:
            bad.append((n, str(clash)))
        else:
            todo.append((kind, clean))
            known.append((kind, clean))
    if bad:
        raise ImportFailed(lines=bad)
    VocabularyEntry.objects.bulk_create(VocabularyEntry(kind=k, words=w, created_by=actor) for k, w in todo)
    audit_record(actor=actor, action="kb.vocabulary_import", object_type="knowledge.vocabularyentry",
                 changes={"added": len(todo), "unchanged": unchanged})
    return len(todo), unchanged


@transaction.atomic
def vocabulary_delete(*, actor: User, entry_id: int) -> None:
    _require(actor, REVIEWER_ROLES, _("Only supervisors and administrators may change the search vocabulary."))
    entry = VocabularyEntry.objects.filter(pk=entry_id).first()
    if entry is None:
        raise NotFound(_("No vocabulary entry with this id."), code="vocabulary_not_found")
    audit_record(actor=actor, action="kb.vocabulary_delete", obj=entry, changes={"kind": entry.kind, "words": entry.words})
    entry.delete()


# --- import -------------------------------------------------------------------------------------


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    #: fields kefu does not know, left out: field name → the numbers of the lines that had it
    ignored: dict[str, list[int]] = field(default_factory=dict)

    def ignored_notes(self) -> list[str]:
        """One line of text per ignored field, for the CLI and the API."""
        out = []
        for name, lines in sorted(self.ignored.items()):
            shown = ", ".join(str(n) for n in lines[:5]) + (" …" if len(lines) > 5 else "")
            out.append(str(_("field “%(field)s” is not a knowledge field and was left out (%(count)d lines: %(lines)s)")
                           % {"field": name, "count": len(lines), "lines": shown}))
        return out


class ImportFailed(KefuError):
    """Some lines are bad: nothing was imported. ``lines`` holds (line number, reason) pairs."""

    def __init__(self, lines: list[tuple[int, str]]) -> None:
        self.lines = lines
        super().__init__(
            _("The import was refused: %(n)d bad lines; nothing was changed.") % {"n": len(lines)},
            code="import_failed", status=422, fields={f"line {n}": reason for n, reason in lines[:100]},
        )


ALLOWED_KEYS = {"id", "question", "answer", "category", "similar_questions", "tags", "products", "audience", "kind",
                "effective_from", "expires_at"}
VALIDITY_KEYS = ("effective_from", "expires_at")


def _category_text(raw: Any) -> str | None:
    """A category as text: a path ``宽带/故障``, also given as a list of its parts
    (``["宽带", "故障"]``) or as a number (a code); None when it is neither."""
    if raw is None:
        return ""
    if isinstance(raw, list) and all(isinstance(x, (str, int)) and not isinstance(x, bool) for x in raw):
        return "/".join(str(x).strip() for x in raw if str(x).strip())
    if isinstance(raw, int) and not isinstance(raw, bool):
        return str(raw)
    return raw.strip() if isinstance(raw, str) else None


def _parse_lines(
    lines: Iterable[str | bytes], ignored: dict[str, list[int]] | None = None
) -> tuple[list[tuple[int, dict[str, Any]]], list[tuple[int, str]]]:
    """Good rows and bad lines (number, reason). Fields kefu does not know (an export's ``url``,
    ``source``, ``updated_at`` …) are left out, not refused: their names and lines go to
    ``ignored``, which the import reports."""
    good: list[tuple[int, dict[str, Any]]] = []
    bad: list[tuple[int, str]] = []
    ignored = {} if ignored is None else ignored
    seen: dict[str, int] = {}
    for n, text in _text_lines(lines, bad):
        try:
            obj = json.loads(text)
        except ValueError as e:
            # where, not json's English wording (“Expecting property name enclosed in double quotes”)
            bad.append((n, str(_("not valid JSON (the error is near character %(col)d)") % {"col": e.colno})))
            continue
        if not isinstance(obj, dict):
            bad.append((n, str(_("a line must be a JSON object"))))
            continue
        for name in sorted(set(obj) - ALLOWED_KEYS):
            ignored.setdefault(name, []).append(n)
        ext = obj.get("id")
        if isinstance(ext, bool) or not isinstance(ext, (str, int)) or not str(ext).strip() or len(str(ext)) > 64:
            bad.append((n, str(_("“id” is required (text of at most 64 characters)"))))
            continue
        ext = str(ext).strip()
        if ext in seen:
            bad.append((n, str(_("id %(id)s repeats line %(line)d") % {"id": ext, "line": seen[ext]})))
            continue
        seen[ext] = n
        try:
            q, a, sims = _clean_content(obj.get("question"), obj.get("answer"), obj.get("similar_questions"))
        except ValidationFailed as e:
            bad.append((n, "; ".join(f"{k}: {v}" for k, v in e.fields.items())))
            continue
        category = _category_text(obj.get("category"))
        if category is None or len(category) > 100:
            bad.append((n, str(_("“category” must be text of at most 100 characters"))))
            continue
        audience = obj.get("audience") or Audience.PUBLIC
        kind = obj.get("kind") or ItemKind.FAQ
        if audience not in Audience.values or kind not in ItemKind.values:
            bad.append((n, str(_("unknown audience or kind"))))
            continue
        try:
            labels = {f: clean_labels(obj.get(f), field=f) for f in ("tags", "products")}
        except ValidationFailed as e:
            bad.append((n, "; ".join(f"{k}: {v}" for k, v in e.fields.items())))
            continue
        # Validity (K1): a line giving either date sets both (the other one absent or null = no limit);
        # a line giving neither leaves an existing item's dates alone. An expired item is taken (an
        # export carries them): it stays out of force.
        validity: dict[str, Any] = {}
        if any(f in obj for f in VALIDITY_KEYS):
            try:
                start, end = clean_validity(obj.get("effective_from"), obj.get("expires_at"), past_expiry=True)
            except ValidationFailed as e:
                bad.append((n, "; ".join(f"{k}: {v}" for k, v in e.fields.items())))
                continue
            validity = {"effective_from": start, "expires_at": end}
        good.append((n, {"id": ext, "question": q, "answer": a, "similar_questions": sims, "category": category,
                         **labels, "audience": audience, "kind": kind, "validity": validity}))
    return good, bad


def kb_import(*, actor: User, lines: Iterable[str | bytes]) -> ImportResult:
    """Import FAQ items, one JSON object per line (``id`` kept as external id). All or nothing: any bad
    line refuses the whole file, reporting every bad line with its number and reason. Imported
    content is published at once (an administrator's bulk load, recorded as reviewed by the importer);
    an existing id gets a new version only when its content changed."""
    _require(actor, REVIEWER_ROLES, _("Your role cannot import knowledge."))
    result = ImportResult()
    good, bad = _parse_lines(lines, result.ignored)
    if bad:
        raise ImportFailed(lines=bad)
    with transaction.atomic():
        existing = {i.external_id: i for i in KnowledgeItem.objects.filter(external_id__in=[r["id"] for _, r in good])
                    .select_related("published")}
        for _n, row in good:
            item = existing.get(row["id"])
            props = {"kind": row["kind"], "tags": row["tags"], "products": row["products"], "audience": row["audience"],
                     **row["validity"]}
            if item is None:
                item = KnowledgeItem.objects.create(external_id=row["id"], category=row["category"][:100], **props)
                number = 1
                result.created += 1
            else:
                pub = item.published
                same_content = pub is not None and (pub.question, pub.answer, pub.similar_questions) == (
                    row["question"], row["answer"], row["similar_questions"]) and item.category == row["category"]
                changed_props = [k for k, v in props.items() if getattr(item, k) != v]
                if same_content and not changed_props:
                    result.unchanged += 1
                    continue
                for k in changed_props:
                    setattr(item, k, props[k])
                item.category = row["category"][:100]
                item.save(update_fields=["category", *changed_props, "updated_at"])
                result.updated += 1
                if same_content:  # labels, kind, audience or validity only: the published version serves on
                    continue
                number = _next_number(item)
            version = ItemVersion.objects.create(
                item=item, number=number, question=row["question"], answer=row["answer"],
                similar_questions=row["similar_questions"], author=actor, status=VersionStatus.IN_REVIEW,
            )
            _publish(version, reviewer=actor, note="import")
        audit_record(actor=actor, action="kb.import", object_type="knowledge.knowledgeitem",
                     changes={"created": result.created, "updated": result.updated, "unchanged": result.unchanged,
                              **({"ignored_fields": sorted(result.ignored)} if result.ignored else {})})
    return result


def _give_external_ids(items: list[KnowledgeItem]) -> int:
    """Items made in kefu have no external id; an export gives each one (``kefu-<pk>``, or with a
    suffix when an imported item holds that already), so that importing the file again updates
    these items instead of adding copies. Returns how many were given."""
    given = 0
    for item in items:
        if item.external_id:
            continue
        base = f"kefu-{item.pk}"
        candidate, n = base, 1
        while KnowledgeItem.objects.filter(external_id=candidate).exists():
            n += 1
            candidate = f"{base}-{n}"
        item.external_id = candidate
        KnowledgeItem.objects.filter(pk=item.pk).update(external_id=candidate)
        given += 1
    return given


def _export_line(item: KnowledgeItem) -> str:
    pub = item.published
    assert pub is not None
    row: dict[str, Any] = {
        "id": item.external_id, "question": pub.question, "answer": pub.answer, "category": item.category,
        "similar_questions": list(pub.similar_questions or []), "tags": list(item.tags or []),
        "products": list(item.products or []), "audience": item.audience, "kind": item.kind,
    }
    for name in VALIDITY_KEYS:  # only when set: local time with its offset, as the import reads it
        if (value := getattr(item, name)) is not None:
            row[name] = timezone.localtime(value).isoformat(timespec="seconds")
    return json.dumps(row, ensure_ascii=False)


def kb_export(*, actor: User, audience: str | None = None, category: str | None = None) -> list[str]:
    """The published, not archived items as JSON lines in the import format (``id``, ``question``,
    ``answer``, ``category``, ``similar_questions``, ``tags``, ``products``, ``audience``, ``kind``, and
    ``effective_from`` / ``expires_at`` when the item has them), oldest first:
    importing the file back changes nothing. ``audience``: only public or only internal items;
    ``category``: that category and the ones under it (``宽带`` takes ``宽带/故障``). Reviewers only
    (the same roles as import) — the whole base, internal knowledge included, leaves with it — and
    audited."""
    _require(actor, REVIEWER_ROLES, _("Your role cannot export knowledge."))
    audience = (audience or "").strip()
    if audience and audience not in Audience.values:
        raise ValidationFailed(fields={"audience": _("Unknown audience: use public or internal.")})
    path = category_path(category)
    qs = KnowledgeItem.objects.filter(published__isnull=False, archived=False).select_related("published").order_by("pk")
    if audience:
        qs = qs.filter(audience=audience)
    if path:
        qs = qs.filter(models.Q(category=path) | models.Q(category__startswith=path + "/"))
    with transaction.atomic():
        items = list(qs.select_for_update(of=("self",)))
        given = _give_external_ids(items)
        lines = [_export_line(i) for i in items]
        audit_record(actor=actor, action="kb.export", object_type="knowledge.knowledgeitem",
                     changes={"items": len(lines), "audience": audience, "category": path, "ids_given": given})
    return lines


# --- troubleshooting flows inside a work order (K3) ---------------------------------------------------


def flows_ensure() -> int:
    """Put in the flows kefu ships (kefu/knowledge/flows.py) that are missing — as migration 0002 does —
    leaving existing ones, which an administrator may have edited, alone. Returns how many were added."""
    from .flows import FLOWS

    added = 0
    for f in FLOWS:
        _flow, created = Flow.objects.get_or_create(code=f["code"], defaults={
            "name": f["name"], "description": f["description"], "start": f["start"], "steps": f["steps"]})
        added += created
    return added


def _step(flow: Flow, code: str) -> dict[str, Any]:
    return flow.steps[code]


@transaction.atomic
def flow_start(*, actor: User, ticket_id: int | str, flow_code: str) -> FlowRun:
    from kefu.tickets.selectors import access_ticket

    ticket = access_ticket(viewer=actor, ticket_id=ticket_id)
    flow = Flow.objects.filter(code=flow_code, active=True).first()
    if flow is None:
        raise ValidationFailed(fields={"flow": _("Unknown troubleshooting flow.")})
    run = FlowRun.objects.create(flow=flow, ticket=ticket, actor=actor, current=flow.start, path=[])
    audit_record(actor=actor, action="kb.flow_start", obj=ticket, changes={"flow": flow.code})
    return _advance_scripts(run)


def _advance_scripts(run: FlowRun) -> FlowRun:
    """Script steps are said and passed; the run stops at the next question, check or end."""
    step = _step(run.flow, run.current)
    while step["kind"] == "script":
        run.path.append({"step": run.current, "text": step["text"], "answer": None})
        run.current = step["next"]
        step = _step(run.flow, run.current)
    if step["kind"] == "end" and run.finished_at is None:
        _finish(run, step)
    run.save()
    return run


def _finish(run: FlowRun, step: dict[str, Any]) -> None:
    from kefu.tickets import services as ts
    from kefu.tickets.models import LinkKind

    run.path.append({"step": run.current, "text": step["text"], "answer": None})
    run.outcome = step["outcome"]
    run.finished_at = timezone.now()
    lines = [f"【{run.flow.name}】"] + [
        f"{i + 1}. {p['text']}" + (f" → {p['answer']}" if p["answer"] else "") for i, p in enumerate(run.path)
    ]
    ts.ticket_note(actor=run.actor, ticket_id=run.ticket_id, body="\n".join(lines)[:10000])
    if step["outcome"] == "create_order":
        spec = step["order"]
        ticket = run.ticket
        new = ts.ticket_create(
            actor=run.actor, type=spec["type"], priority=spec.get("priority", "normal"), customer_id=ticket.customer_id,
            service_id=ticket.service_id, category=spec.get("category"), subject=spec["subject"],
            description="\n".join(lines), channel=ticket.channel, contact_phone=ticket.contact_phone,
        )
        ts.ticket_link(actor=run.actor, ticket_id=ticket.pk, to=new.pk, kind=LinkKind.RELATED)
        run.path.append({"step": "created", "text": new.number, "answer": None})


@transaction.atomic
def flow_answer(*, actor: User, run_id: int, option: int) -> FlowRun:
    """Take branch ``option`` (0-based) of the current step."""
    from kefu.tickets.selectors import access_ticket

    run = FlowRun.objects.select_for_update().select_related("flow").filter(pk=run_id).first()
    if run is None:
        raise NotFound(code="flow_run_not_found")
    access_ticket(viewer=actor, ticket_id=run.ticket_id)
    if run.finished_at is not None:
        raise TransitionNotAllowed(_("This troubleshooting run is finished."), code="flow_finished")
    step = _step(run.flow, run.current)
    options = step.get("options", [])
    if not isinstance(option, int) or not 0 <= option < len(options):
        raise ValidationFailed(fields={"option": _("Choose one of the %(n)d answers.") % {"n": len(options)}})
    chosen = options[option]
    run.path.append({"step": run.current, "text": step["text"], "answer": chosen["label"]})
    run.current = chosen["next"]
    return _advance_scripts(run)
