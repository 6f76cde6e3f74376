"""The answering bot (K4): answer from the published public knowledge when confident, offer the top
suggestions (“您是想问：…”) when unsure, hand over to a person — with the transcript, the guessed
category and the customer — when it cannot help. Every question and outcome is kept for the
unanswered-questions report that feeds knowledge editors."""

from __future__ import annotations

import unicodedata
import uuid
from typing import Any

from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy as _

from kefu.accounts.models import Role, User
from kefu.core.errors import NotFound, ValidationFailed
from kefu.tickets.models import TicketType

from . import search
from .models import Audience, BotSession, BotTurn, HandoffRoute, KnowledgeItem
from .retrieval.engine import EmptyQuestion

MAX_QUESTION = 10000
BOT_USERNAME = "kefu-bot"  # the account the bot's orders and customers are created by
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
    mode = result.mode if result.mode in ("answer", "suggest", "handoff") else ("handoff" if result.handoff else "answer")
    # The answer and the suggested questions come from the engine's copy of the published versions
    # (what it ranked); the database is not read again on the way out.
    found = {i: v for i in [result.item_id, *result.suggestions] if i and (v := engine.get(i)) is not None}
    item = found.get(result.item_id) if result.item_id else None
    new_session = session is None

    def store() -> BotTurn:
        nonlocal session
        with transaction.atomic():  # after the engine: no write transaction is held while it ranks
            if new_session:
                session = BotSession.objects.create(id=uuid.uuid4())
            return BotTurn.objects.create(
                session=session, question=text[:2000], item_id=int(item.id) if item else None, mode=mode,
                confidence=round(result.confidence, 4), suggestions=[int(i) for i in result.suggestions if i in found],
            )

    try:
        turn = store()
    except IntegrityError:
        # An item deleted outright a moment ago that the index has not dropped yet: leave it out.
        alive = {str(pk) for pk in KnowledgeItem.objects.filter(pk__in=[int(i) for i in found]).values_list("pk", flat=True)}
        found = {i: v for i, v in found.items() if i in alive}
        if item is not None and item.id not in alive:
            item, mode = None, "suggest" if found else "handoff"
        turn = store()
    suggestions = [
        {"item_id": int(s.id), "external_id": s.external_id, "question": s.question}
        for s in (found.get(i) for i in result.suggestions) if s is not None
    ]
    answer = item.answer if item is not None else None
    if mode == "suggest" and suggestions:
        answer = str(_("Did you mean: %(list)s") % {"list": "；".join(s["question"] for s in suggestions)})
    return {
        "session_id": str(session.pk), "turn_id": turn.pk, "answer": answer,
        "item_id": int(item.id) if item else None, "external_id": item.external_id if item else None,
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
        username=BOT_USERNAME, defaults={"role": Role.AGENT, "display_name": "智能客服", "is_active": True}
    )
    if _created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    return user


# Words in a category path that tell the kind of work order when no route names one (W1).
TYPE_WORDS = (("投诉", "complaint"), ("故障", "fault"), ("报障", "fault"), ("退费", "refund"), ("赔偿", "refund"),
              ("建议", "suggestion"), ("办理", "business"), ("开通", "business"), ("变更", "business"))


def _match_score(match: str, category: str) -> int | None:
    """How specifically ``match`` names ``category``: 3 the whole path, 2 a leading part, 1 any one
    part, 0 the catch-all (blank); ``None`` when it does not name it."""
    if not match:
        return 0
    if category == match:
        return 3
    if category.startswith(match + "/"):
        return 2
    return 1 if match in category.split("/") else None


def handoff_route_for(category: str) -> HandoffRoute | None:
    """The active route that names ``category`` most specifically (ties: the longer match)."""
    best: tuple[tuple[int, int], HandoffRoute] | None = None
    for route in HandoffRoute.objects.filter(active=True).select_related("team", "ticket_category"):
        score = _match_score(route.match, category or "")
        if score is not None and (best is None or (score, len(route.match)) > best[0]):
            best = ((score, len(route.match)), route)
    return best[1] if best else None


# Words that say nothing about which work-order category of a type is meant: they are in many
# names (宽带业务, 增值业务, IPTV故障, 固话故障) or name the type itself.
GENERIC_WORDS = ("业务", "服务", "问题", "相关", "咨询", "其他", "其它", *dict.fromkeys(w for w, _k in TYPE_WORDS))


def _telling(part: str) -> str:
    for word in GENERIC_WORDS:
        part = part.replace(word, "")
    return part


def guess_ticket_category(kind: str, category: str, route: HandoffRoute | None = None):  # type: ignore[no-untyped-def]
    """The work-order category (``tickets.Category``) for a hand-over of ``kind`` whose best guess is
    in knowledge category ``category``: the route's own; else, from the deepest part of the
    knowledge path up, the active category of that type whose name shares the most characters (two
    at least, generic words such as 业务 or 故障 left out) with that part (宽带/故障 → 宽带无法上网,
    号码业务/停复机 → not 宽带业务); else the type's top category; None when the type has none."""
    from kefu.tickets.models import Category

    if route is not None and route.ticket_category_id and route.ticket_category.active:
        return route.ticket_category
    cats = list(Category.objects.filter(active=True, ticket_type=kind).order_by("position", "pk"))
    for part in reversed([p for p in (category or "").split("/") if p]):
        word = _telling(part)
        best, best_n = None, 1  # two shared characters at least: one (网, 号) says nothing
        for cat in cats:
            if cat.parent_id is None:
                continue
            n = sum(ch in _telling(cat.name) for ch in dict.fromkeys(word))
            if n > best_n:
                best, best_n = cat, n
        if best is not None:
            return best
    return next((c for c in cats if c.parent_id is None), None)


def guess_ticket_type(category: str) -> str:
    parts = (category or "").split("/")
    for word, kind in TYPE_WORDS:
        if any(word in part for part in parts):
            return kind
    return TicketType.CONSULTATION


def pick_agent(team_id: int | None) -> User | None:
    """The front-line agent of ``team_id`` (any team when ``None``) with the fewest open orders;
    team leads only when no agent is free of more work, back-office staff never."""
    from django.db.models import Case, Count, IntegerField, Q, Value, When

    from kefu.tickets.models import OPEN_STATUSES

    people = User.objects.filter(
        is_active=True, agent_id__isnull=False, department__isnull=True, role__in=[Role.AGENT, Role.TEAM_LEAD],
    )
    people = people.filter(team_id=team_id) if team_id else people.filter(team__isnull=False)
    return (
        people.annotate(
            load=Count("assigned_tickets", filter=Q(assigned_tickets__status__in=OPEN_STATUSES)),
            lead=Case(When(role=Role.TEAM_LEAD, then=Value(1)), default=Value(0), output_field=IntegerField()),
        )
        .order_by("load", "lead", "pk")
        .first()
    )


@transaction.atomic
def bot_handoff(*, session_id: str, phone: str, name: str = "") -> dict[str, Any]:
    """Hand the conversation to a person: a chat work order for the customer found by ``phone`` (or a
    new customer record), carrying the transcript and the category of the best guess, routed by that
    category (``HandoffRoute``) to the least-loaded agent of the route's team."""
    from kefu.customers.selectors import customer_find_by_phone
    from kefu.customers.services import clean_phone, customer_create
    from kefu.tickets.services import ticket_create, ticket_queue, ticket_transfer

    session = _session(session_id)
    if session.ticket_id:
        return _handoff_reply(session)
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
    category = guess.category if guess else ""
    route = handoff_route_for(category)
    kind = (route.ticket_type if route else "") or guess_ticket_type(category)
    # The transcript goes into the order's text, which everyone who may see the order reads: the
    # numbers customers typed (ID card, bank card, other phones) are masked there like the order's
    # own contact fields; the conversation's turns keep them as asked.
    from kefu.core.masking import mask_in_text

    transcript = "\n".join(f"客户：{mask_in_text(t.question)}\n机器人：{_outcome(t)}" for t in turns)
    agent = pick_agent(route.team_id if route else None)
    team = route.team if route else (agent.team if agent is not None else None)
    queue = team.name if team else "—"
    ticket_category = guess_ticket_category(kind, category, route)
    ticket = ticket_create(
        actor=bot, type=kind, priority=route.priority if route else "normal", customer_id=customer.pk,
        subject=f"智能客服转人工：{mask_in_text(turns[-1].question)[:60]}", channel="chat", contact_phone=number,
        category=ticket_category.pk if ticket_category else None,
        description=f"猜测分类：{category or '未知'}\n转入队列：{queue}\n\n{transcript}"[:20000],
    )
    # The order joins the team's queue (its lead sees it there); the least-loaded agent takes it at
    # once, or — nobody free — it waits to be claimed (待认领).
    ticket_queue(actor=bot, ticket_id=ticket.pk, team_id=team.pk if team else None, reason=f"智能客服转人工（{queue}）")
    if agent is not None:
        ticket_transfer(actor=bot, ticket_id=ticket.pk, agent=agent.agent_id, reason=f"智能客服转人工（{queue}）")
    session.ticket = ticket
    session.save(update_fields=["ticket"])
    return _handoff_reply(session)


def _handoff_reply(session: BotSession) -> dict[str, Any]:
    from kefu.tickets.models import Ticket

    ticket = Ticket.objects.select_related("assignee", "category").get(pk=session.ticket_id)
    return {"ticket_number": ticket.number, "session_id": str(session.pk), "type": ticket.type,
            "category": ticket.category.name if ticket.category_id else None,
            "queued": ticket.assignee_id is None or ticket.assignee.username == BOT_USERNAME}


def _require_route_admin(actor: User) -> None:
    from .services import REVIEWER_ROLES, _require

    _require(actor, REVIEWER_ROLES, _("Only supervisors and administrators may change hand-over routes."))


def handoff_routes(*, actor: User) -> list[HandoffRoute]:
    """The routes, for supervisors and administrators (which team gets which customers is theirs to see)."""
    _require_route_admin(actor)
    return list(HandoffRoute.objects.select_related("team", "ticket_category").order_by("match"))


@transaction.atomic
def handoff_route_set(*, actor: User, match: str, team: str | int, ticket_type: str = "", priority: str = "normal",
                      active: bool = True, ticket_category: str | int = "") -> HandoffRoute:
    """Create or change the route for ``match`` (a category path, a part of one, or blank for
    everything else); audited."""
    from kefu.accounts.models import Team
    from kefu.audit.services import audit_record
    from kefu.tickets.models import Category, Priority

    _require_route_admin(actor)
    errors: dict[str, Any] = {}
    match = "/".join(p.strip() for p in (match or "").strip().strip("/").split("/"))
    if len(match) > 100:
        errors["match"] = _("At most %(n)d characters.") % {"n": 100}
    elif match and not all(match.split("/")):
        errors["match"] = _("A category path cannot have an empty part.")
    key = str(team).strip()
    found = Team.objects.filter(pk=int(key)).first() if key.isdigit() else Team.objects.filter(name=key).first()
    if found is None:
        errors["team"] = _("No team with this name or id.")
    if ticket_type and ticket_type not in TicketType.values:
        errors["ticket_type"] = _("Unknown work order type.")
    if priority not in Priority.values:
        errors["priority"] = _("Unknown priority.")
    cat = None
    ckey = str(ticket_category or "").strip()
    if ckey:
        cat = (Category.objects.filter(pk=int(ckey)).first() if ckey.isdigit()
               else Category.objects.filter(code=ckey).first() or Category.objects.filter(name=ckey).first())
        if cat is None or not cat.active:
            errors["ticket_category"] = _("Unknown category.")
        elif ticket_type and cat.ticket_type and cat.ticket_type != ticket_type:
            errors["ticket_category"] = _("This category belongs to another work order type.")
    if errors:
        raise ValidationFailed(fields=errors)
    route = HandoffRoute.objects.select_for_update().filter(match=match).first()
    before = None if route is None else {"team": route.team_id, "ticket_type": route.ticket_type,
                                         "priority": route.priority, "active": route.active,
                                         "ticket_category": route.ticket_category_id}
    route = route or HandoffRoute(match=match)
    route.team, route.ticket_type, route.priority, route.active = found, ticket_type, priority, active
    route.ticket_category = cat
    route.save()
    audit_record(actor=actor, action="kb.handoff_route", obj=route, changes={
        "match": match, "from": before,
        "to": {"team": route.team_id, "ticket_type": ticket_type, "priority": priority, "active": active,
               "ticket_category": route.ticket_category_id}})
    return route


@transaction.atomic
def handoff_route_delete(*, actor: User, route_id: int) -> None:
    from kefu.audit.services import audit_record

    _require_route_admin(actor)
    route = HandoffRoute.objects.filter(pk=route_id).first()
    if route is None:
        raise NotFound(_("No hand-over route with this id."), code="route_not_found")
    audit_record(actor=actor, action="kb.handoff_route_delete", obj=route,
                 changes={"match": route.match, "team": route.team_id})
    route.delete()


def _outcome(turn: BotTurn) -> str:
    if turn.mode == "answer" and turn.item is not None and turn.item.published:
        return turn.item.published.answer[:200]
    return "（未能回答）" if turn.mode == "handoff" else "（给出了猜测问题）"


def unanswered_report(*, limit: int = 100, start: Any = None, end: Any = None) -> list[dict[str, Any]]:
    """Questions the bot handed over or answered unhelpfully, most frequent first (K4 feedback loop).

    Customers write their numbers into their questions (“我的号码138…停机了”); editors need the
    wording, not the number, so each question is shown with the personal numbers in it masked
    (``mask_in_text``) — and questions that differ only there are counted as one; ``wording`` is
    the question without those numbers, as an editor would add it to an item, and ``closest`` the
    published item the bot came closest to (``_closest_items``) or None. ``start`` / ``end``: only
    the turns of that period."""
    from django.db.models import Count, Q

    from kefu.core.masking import drop_personal_numbers, mask_in_text

    turns = BotTurn.objects.filter(Q(mode="handoff") | Q(helpful=False))
    if start is not None:
        turns = turns.filter(created_at__gte=start)
    if end is not None:
        turns = turns.filter(created_at__lt=end)
    rows = (
        turns.values("question").annotate(n=Count("id")).order_by("-n", "question")[:limit * 2]
    )
    counts: dict[str, int] = {}
    asked: dict[str, list[str]] = {}
    for r in rows:
        shown = mask_in_text(r["question"])
        counts[shown] = counts.get(shown, 0) + r["n"]
        asked.setdefault(shown, []).append(r["question"])
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]
    guesses = _closest_items([q for shown, _n in ranked for q in asked[shown]], turns)
    out = []
    for shown, n in ranked:
        original = asked[shown][0]
        guess = next((guesses[q] for q in asked[shown] if q in guesses), None)
        out.append({"question": shown, "count": n, "wording": " ".join(drop_personal_numbers(original).split())[:300],
                    "closest": guess})
    return out


def _closest_items(questions: list[str], turns: Any) -> dict[str, dict[str, Any]]:
    """For each question, the item the bot's latest turn on it came closest to (the item it
    answered with, or its first suggestion), if that item is still published: often the answer was
    there and only this wording was missing — the editor adds it as a similar question."""
    from django.db.models import Max

    if not questions:
        return {}
    last = turns.filter(question__in=questions).values("question").annotate(last=Max("id")).values_list("last", flat=True)
    pick: dict[str, int] = {}
    for t in BotTurn.objects.filter(pk__in=list(last)).values("question", "item_id", "suggestions"):
        item_id = t["item_id"] or next(iter(t["suggestions"] or []), None)
        if isinstance(item_id, int):
            pick[t["question"]] = item_id
    items = {i.pk: i for i in KnowledgeItem.objects.filter(pk__in=set(pick.values()), published__isnull=False, archived=False)
             .select_related("published").only("pk", "external_id", "published__question")}
    return {q: {"id": items[i].pk, "external_id": items[i].external_id, "question": items[i].published.question}
            for q, i in pick.items() if i in items}


def bot_rank(question: str, *, k: int = 10) -> list[int]:
    """The item ids the bot would consider for ``question``, best first (for evaluation and suggestions)."""
    text = _clean(question)
    return [int(c.item_id) for c in search.engine_for(Audience.PUBLIC).search(text, k=k, dense=True)]
