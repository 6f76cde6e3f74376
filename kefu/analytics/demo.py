"""Demo contacts and satisfaction answers for the dashboards (issue #7), called by ``kefu demo`` after
the work orders: calls and chats over the last 30 days (some abandoned, some waiting long), a share of
them imported with transcripts through the import service so that they are inspected (scores,
forbidden phrases), surveys on resolved orders, believable resolution times and return visits done;
then the roll-ups are rebuilt from it all."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

from django.utils import timezone

GOOD = [
    ("agent", "您好，短信通，{id}号客服为您服务！"), ("customer", "你好，我家宽带从早上开始就连不上了。"),
    ("agent", "很抱歉给您带来不便，请稍等，我为您查询一下线路状态。"), ("customer", "好的。"),
    ("agent", "谢谢您的耐心等待，您所在小区的光缆正在抢修，预计今天下午恢复。"), ("customer", "那好吧，谢谢。"),
    ("agent", "感谢来电，{id}号客服，再见！"),
]
RUDE = [
    ("agent", "您好，短信通，{id}号客服为您服务！"), ("customer", "我的话费怎么又多扣了二十块？"),
    ("agent", "这不是我办理的，你去营业厅问吧。"), ("customer", "你这是什么态度！"),
    ("agent", "感谢来电，{id}号客服，再见！"),
]


def _utterances(script: list[tuple[str, str]], agent_id: str) -> list[dict[str, Any]]:
    out, t = [], 0
    for speaker, text in script:
        out.append({"speaker": speaker, "text": text.format(id=agent_id), "start_ms": t, "end_ms": t + 2500})
        t += 3000
    return out


def load_contacts(rng: random.Random, people: dict[str, Any], customers: list[Any], *, n: int = 900,
                  transcripts: int = 120) -> int:
    """``n`` contacts over the last 30 days; the first ``transcripts`` go through the import service
    (inspected), the rest are stored as CTI call records without a transcript."""
    from kefu.interactions.models import Interaction
    from kefu.interactions.services import interaction_import

    agents = people["agents"]
    now = timezone.now()
    items, rows = [], []
    for i in range(n):
        agent = rng.choice(agents)
        customer = rng.choice(customers)
        started = now - timedelta(days=rng.random() * 30, minutes=rng.randint(0, 600))
        busy = started.hour in (9, 10, 14, 15, 20)
        wait = round(rng.expovariate(1 / (25 if busy else 10)), 1)
        abandoned = wait > 40 and rng.random() < 0.6 or rng.random() < 0.03
        channel = rng.choices(["call", "chat"], weights=[85, 15])[0]
        talk = 0.0 if abandoned and channel == "call" else round(rng.uniform(60, 420), 1)
        hold = round(rng.uniform(0, 60), 1) if talk and rng.random() < 0.4 else 0.0
        wrap = round(rng.uniform(10, 90), 1) if talk else 0.0
        contact = {"channel": channel, "agent_id": agent.agent_id, "customer_id": customer.pk,
                   "started_at": started.isoformat(), "wait_seconds": wait, "talk_seconds": talk,
                   "hold_seconds": hold, "wrap_up_seconds": wrap, "external_id": f"DEMO-{i:05d}", "source": "demo"}
        if i < transcripts and talk:
            script = RUDE if rng.random() < 0.15 else GOOD
            items.append({**contact, "utterances": _utterances(script, agent.agent_id)})
        else:
            rows.append(Interaction(
                channel=channel, source="demo", external_id=contact["external_id"], customer=customer, agent=agent,
                agent_code=agent.agent_id, team_id=agent.team_id, started_at=started, wait_seconds=wait,
                talk_seconds=talk, hold_seconds=hold, wrap_up_seconds=wrap,
            ))
    for i in range(0, len(items), 100):
        interaction_import(actor=people["supervisor"], items=items[i:i + 100])
    Interaction.objects.bulk_create(rows, batch_size=500)
    return len(items) + len(rows)


def load_surveys(rng: random.Random) -> int:
    """A satisfaction answer on about 60 % of the resolved orders, a day after resolution."""
    import secrets

    from kefu.followup.models import SurveyInvitation, SurveyResponse
    from kefu.tickets.models import Ticket

    made = 0
    for t in Ticket.objects.filter(resolved_at__isnull=False).select_related("owner").order_by("id"):
        if rng.random() > 0.6:
            continue
        at = t.resolved_at + timedelta(hours=rng.randint(2, 30))
        if at > timezone.now():
            at = timezone.now()
        score = rng.choices([5, 4, 3, 2, 1], weights=[55, 25, 10, 6, 4])[0]
        inv = SurveyInvitation.objects.create(ticket=t, nonce=secrets.token_hex(8), expires_at=at + timedelta(days=7),
                                              answered_at=at)
        SurveyResponse.objects.create(invitation=inv, ticket=t, agent_id=t.assignee_id or t.owner_id, score=score,
                                      created_at=at)
        Ticket.objects.filter(pk=t.pk).update(satisfaction=score)
        made += 1
    return made


def load_followups(rng: random.Random) -> int:
    """The demo resolves orders in the instant it creates them and its return visits are all still
    scheduled: give resolutions a believable duration (1–72 h, never in the future) and complete about
    three quarters of the visits already due."""
    from django.db.models import F

    from kefu.followup.models import ReturnVisit
    from kefu.tickets.models import Ticket

    now = timezone.now()
    for t in Ticket.objects.filter(resolved_at__isnull=False, resolved_at__lt=F("created_at") + timedelta(minutes=1)):
        resolved = min(t.created_at + timedelta(hours=rng.uniform(1, 72)), now)
        Ticket.objects.filter(pk=t.pk).update(resolved_at=resolved)
    done = 0
    for v in ReturnVisit.objects.filter(status="scheduled", due_at__lt=now):
        if rng.random() < 0.75:
            outcome = rng.choices(["satisfied", "unsatisfied", "unreachable"], weights=[85, 10, 5])[0]
            ReturnVisit.objects.filter(pk=v.pk).update(status="done", outcome=outcome, attempts=1,
                                                       completed_at=v.due_at - timedelta(hours=rng.uniform(1, 40)))
            done += 1
    return done


def load_analytics_demo(rng: random.Random, people: dict[str, Any], customers: list[Any], *,
                        tickets: int = 600) -> dict[str, int]:
    """Contacts in proportion to the orders (1.5 per order), surveys, customers on record for the last
    90 days (so that complaint rates have a denominator on past days), then the roll-ups rebuilt."""
    from django.db.models import F

    from kefu.customers.models import Customer

    from .rollup import rebuild

    Customer.objects.filter(pk__in=[c.pk for c in customers]).update(created_at=F("created_at") - timedelta(days=90))
    n = max(10, int(tickets * 1.5))
    contacts = load_contacts(rng, people, customers, n=n, transcripts=min(120, n // 6))
    surveys = load_surveys(rng)
    visits = load_followups(rng)
    counts = rebuild()
    return {"contacts": contacts, "surveys": surveys, "visits_done": visits, **counts}
