"""The answering bot (K4): answer from the published public knowledge when confident, offer the top
suggestions (“您是想问：…”) when unsure, hand over to a person — with the transcript, the guessed
category and the customer — when it cannot help. Every question and outcome is kept for the
unanswered-questions report that feeds knowledge editors."""

from __future__ import annotations

import unicodedata
import uuid
from typing import Any

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from kefu.accounts.models import Role, User
from kefu.core.errors import NotFound, ValidationFailed

from . import search
from .models import Audience, BotSession, BotTurn, KnowledgeItem
from .retrieval.engine import EmptyQuestion

MAX_QUESTION = 10000
CONTEXT_TURNS = 3


def _clean(question: Any) -> str:
    if not isinstance(question, str):
        raise ValidationFailed(fields={"question": _("Must be text.")})
    # Control characters are dropped (they carry no meaning and break logs); the rest is kept.
    text = "".join(ch for ch in question if unicodedata.category(ch)[0] != "C" or ch in "\n\t")
    if not text.strip():
        raise ValidationFailed(fields={"question": _("Ask a question.")}, code="empty_question")
    return text[:MAX_QUESTION]


def _session(session_id: str | None) -> BotSession:
    if not session_id:
        return BotSession.objects.create(id=uuid.uuid4())
    try:
        key = uuid.UUID(str(session_id))
    except ValueError:
        raise NotFound(_("This conversation does not exist; start a new one."), code="bot_session_not_found") from None
    session = BotSession.objects.filter(pk=key).first()
    if session is None:
        raise NotFound(_("This conversation does not exist; start a new one."), code="bot_session_not_found")
    return session


def bot_ask(*, question: Any, session_id: str | None = None) -> dict[str, Any]:
    text = _clean(question)
    session = _session(session_id) if session_id else None  # a new conversation is stored with its first turn
    context = list(session.turns.order_by("-id").values_list("question", flat=True)[:CONTEXT_TURNS])[::-1] if session else []
    engine = search.engine_for(Audience.PUBLIC)
    try:
        result = engine.answer(text, context=context)
    except EmptyQuestion:
        raise ValidationFailed(fields={"question": _("Ask a question.")}, code="empty_question") from None
    ids = [int(result.item_id)] if result.item_id else []
    ids += [int(s) for s in result.suggestions]
    items = KnowledgeItem.objects.select_related("published").defer("published__vector").in_bulk(ids)
    item = items.get(int(result.item_id)) if result.item_id else None
    mode = result.mode if result.mode in ("answer", "suggest", "handoff") else ("handoff" if result.handoff else "answer")
    with transaction.atomic():  # after the engine: no write transaction is held while it ranks
        if session is None:
            session = BotSession.objects.create(id=uuid.uuid4())
        turn = BotTurn.objects.create(
            session=session, question=text[:2000], item=item, mode=mode, confidence=round(result.confidence, 4),
            suggestions=[int(s) for s in result.suggestions],
        )
    suggestions = [
        {"item_id": items[int(s)].pk, "external_id": items[int(s)].external_id, "question": items[int(s)].published.question}
        for s in result.suggestions if int(s) in items and items[int(s)].published
    ]
    answer = item.published.answer if item is not None and item.published else None
    if mode == "suggest" and suggestions:
        answer = str(_("Did you mean: %(list)s") % {"list": "；".join(s["question"] for s in suggestions)})
    return {
        "session_id": str(session.pk), "turn_id": turn.pk, "answer": answer,
        "item_id": item.pk if item else None, "external_id": item.external_id if item else None,
        "confidence": round(result.confidence, 4), "suggestions": suggestions, "handoff": mode == "handoff",
    }


def bot_feedback(*, turn_id: int, helpful: bool, session_id: str | None = None) -> BotTurn:
    """Record whether an answer helped; with ``session_id`` (the portal page) only a turn of that
    conversation can be rated."""
    turn = BotTurn.objects.filter(pk=turn_id).first()
    if turn is None or (session_id is not None and str(turn.session_id) != str(session_id)):
        raise NotFound(code="bot_turn_not_found")
    turn.helpful = helpful
    turn.save(update_fields=["helpful"])
    return turn


def _bot_user() -> User:
    user, _created = User.objects.get_or_create(
        username="kefu-bot", defaults={"role": Role.AGENT, "display_name": "智能客服", "is_active": True}
    )
    if _created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    return user


@transaction.atomic
def bot_handoff(*, session_id: str, phone: str, name: str = "") -> dict[str, Any]:
    """Hand the conversation to a person: a chat work order for the customer found by ``phone`` (or a
    new customer record), carrying the transcript and the category of the best guess."""
    from kefu.customers.selectors import customer_find_by_phone
    from kefu.customers.services import clean_phone, customer_create
    from kefu.tickets.services import ticket_create, ticket_transfer

    session = _session(session_id)
    if session.ticket_id:
        return {"ticket_number": session.ticket.number, "session_id": str(session.pk)}  # type: ignore[union-attr]
    number = clean_phone(phone, field="phone")
    bot = _bot_user()
    customer = customer_find_by_phone(number).first()
    if customer is None:
        if not (name or "").strip():
            raise ValidationFailed(fields={"name": _("Tell us your name so that we can help you.")})
        customer = customer_create(actor=bot, name=name.strip()[:64], phones=[number])
    turns = list(session.turns.select_related("item").order_by("id"))
    if not turns:
        raise ValidationFailed(fields={"session_id": _("Ask a question first.")})
    guess = next((t.item for t in reversed(turns) if t.item is not None), None)
    if guess is None:
        suggested = next((t.suggestions[0] for t in reversed(turns) if t.suggestions), None)
        guess = KnowledgeItem.objects.filter(pk=suggested).first() if suggested else None
    transcript = "\n".join(f"客户：{t.question}\n机器人：{_outcome(t)}" for t in turns)
    ticket = ticket_create(
        actor=bot, type="consultation", priority="normal", customer_id=customer.pk,
        subject=f"智能客服转人工：{turns[-1].question[:60]}", channel="chat", contact_phone=number,
        description=f"猜测分类：{guess.category if guess else '未知'}\n\n{transcript}"[:20000],
    )
    from kefu.accounts.models import Team

    team = Team.objects.order_by("pk").first()
    lead = team.lead if team else None
    if lead is not None and lead.agent_id:
        ticket_transfer(actor=bot, ticket_id=ticket.pk, agent=lead.agent_id, reason="智能客服转人工")
    session.ticket = ticket
    session.save(update_fields=["ticket"])
    return {"ticket_number": ticket.number, "session_id": str(session.pk)}


def _outcome(turn: BotTurn) -> str:
    if turn.mode == "answer" and turn.item is not None and turn.item.published:
        return turn.item.published.answer[:200]
    return "（未能回答）" if turn.mode == "handoff" else "（给出了猜测问题）"


def unanswered_report(*, limit: int = 100) -> list[dict[str, Any]]:
    """Questions the bot handed over or answered unhelpfully, most frequent first (K4 feedback loop)."""
    from django.db.models import Count, Q

    rows = (
        BotTurn.objects.filter(Q(mode="handoff") | Q(helpful=False))
        .values("question").annotate(n=Count("id")).order_by("-n", "question")[:limit]
    )
    return [{"question": r["question"], "count": r["n"]} for r in rows]


def bot_rank(question: str, *, k: int = 10) -> list[int]:
    """The item ids the bot would consider for ``question``, best first (for evaluation and suggestions)."""
    text = _clean(question)
    return [int(c.item_id) for c in search.engine_for(Audience.PUBLIC).search(text, k=k, dense=True)]
