"""Maintaining the daily roll-ups (issue #7): incrementally from outbox events, or rebuilt from raw data.

One definition of what a source record counts: ``_ticket_rows``, ``_interaction_rows``, ``_visit_rows``
and ``_customer_rows`` compute an entity's contribution — rows of ``(key, {measure: n})`` — from raw
data. An event names the entities it touched; ``recount`` computes their contributions again, adds the
difference to ``DailyRollup`` and stores the new contribution. So:

- a replayed event changes nothing (the ledger ``RollupAppliedEvent`` skips it; even without it the
  difference would be zero);
- the incremental and the rebuilt tables are identical by construction, which a test checks;
- a missed event is repaired by the next event about the same record, or by ``kefu analytics rebuild``.

With ``now`` the same functions count only what has fallen due by then (the part of today the roll-up
cannot know yet); the roll-up itself is stored without ``now``.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from .indicators import service_level_seconds
from .models import (
    BREAKDOWN_DIMENSIONS, DIMENSIONS, GRAINS, MEASURES, DailyBreakdown, DailyRollup, RollupAppliedEvent,
    RollupContribution,
)

Key = tuple[str, int, int, str, int, str, str]  # day ISO, team, agent, type, category, region, channel
Rows = dict[Key, dict[str, int]]
MEASURE_INDEX = {m: i for i, m in enumerate(MEASURES)}
# Contact channels as work-order channels, so that one channel dimension serves both.
CONTACT_CHANNEL = {"call": "phone", "chat": "chat", "email": "email", "sms": "sms"}
CHUNK = 2000


_DAYS: dict[int, str] = {}


def day_of(at: datetime) -> str:
    """The local day (settings.TIME_ZONE) of ``at``, ISO. Cached per quarter hour: every time zone's
    offset is a multiple of 15 minutes, so a quarter hour never straddles a local midnight."""
    slot = int(at.timestamp()) // 900
    day = _DAYS.get(slot)
    if day is None:
        if len(_DAYS) > 200_000:
            _DAYS.clear()
        day = _DAYS[slot] = timezone.localtime(at, timezone.get_default_timezone()).date().isoformat()
    return day


def _ms(seconds: float | None) -> int:
    return int(round((seconds or 0) * 1000))


def _add(rows: Rows, key: Key, **measures: int) -> None:
    slot = rows.setdefault(key, {})
    for name, n in measures.items():
        if n:
            slot[name] = slot.get(name, 0) + n


# --- contributions ------------------------------------------------------------------------------


def _ticket_rows(rows: Rows, t: dict[str, Any], events: list[tuple[str, datetime, str | None]],
                 surveys: list[tuple[int | None, int, datetime]], visits: list[dict[str, Any]],
                 now: datetime | None) -> None:
    dims = (t["team_id"] or 0, t["owner_id"] or 0, t["type"], t["category_id"] or 0, t["region"] or "", t["channel"])

    def key(at: datetime, agent: int | None = None) -> Key:
        return (day_of(at), dims[0], dims[1] if agent is None else agent, *dims[2:])  # type: ignore[return-value]

    _add(rows, key(t["created_at"]), opened=1, opened_escalated=int(t["escalation_level"] > 0),
         complaints_opened=int(t["type"] == "complaint"))
    fr_due, responded = t["first_response_due_at"], t["first_responded_at"]
    res_due, resolved = t["resolution_due_at"], t["resolved_at"]
    # An order merged into another is a duplicate, not a broken promise: not counted for SLA.
    merged = t["merged_into_id"] is not None
    if fr_due is not None and not merged and (now is None or responded is not None or fr_due < now):
        _add(rows, key(fr_due), fr_due=1, fr_met=int(responded is not None and responded <= fr_due))
    if res_due is not None and not merged and (now is None or resolved is not None or res_due < now):
        _add(rows, key(res_due), res_due=1, res_met=int(resolved is not None and resolved <= res_due))
    resolves = sorted(at for kind, at, action in events if kind == "status" and action == "resolve")
    reopens = [at for kind, at, action in events if kind == "status" and action == "reopen"]
    transferred = any(kind == "transfer" for kind, _at, _a in events)
    for at in resolves:
        _add(rows, key(at), resolutions=1)
    for at in reopens:
        _add(rows, key(at), reopenings=1)
    if resolves:
        _add(rows, key(resolves[0]), first_resolved=1, first_resolved_clean=int(not transferred and not reopens))
    if resolved is not None:
        _add(rows, key(resolved), resolved=1, resolved_ms=(resolved - t["created_at"]) // timedelta(milliseconds=1))
    if t["closed_at"] is not None:
        _add(rows, key(t["closed_at"]), closed=1)
    for agent, score, at in surveys:
        _add(rows, key(at, agent or 0), csat_n=1, csat_sum=score, csat_top2=int(score >= 4))
    for v in visits:
        _visit(rows, v, (dims[0], v["assignee_id"] or 0, *dims[2:5], dims[5]), now)


def _visit(rows: Rows, v: dict[str, Any], dims: tuple[Any, ...], now: datetime | None) -> None:
    if v["status"] == "cancelled":
        return
    done = v["status"] == "done" and v["outcome"] in ("satisfied", "unsatisfied")
    if now is None or v["status"] == "done" or v["due_at"] < now:
        _add(rows, (day_of(v["due_at"]), *dims), rv_due=1, rv_done=int(done))  # type: ignore[arg-type]


def _interaction_rows(rows: Rows, i: dict[str, Any], inspection: dict[str, Any] | None, sl_ms: int) -> None:
    key: Key = (day_of(i["started_at"]), i["team_id"] or 0, i["agent_id"] or 0, "", 0, i["region"] or "",
                CONTACT_CHANNEL.get(i["channel"], i["channel"]))
    m = {"contacts": 1}
    if i["channel"] == "call":
        m["calls_offered"] = 1
        if (i["talk_seconds"] or 0) > 0:
            wait = _ms(i["wait_seconds"])
            m.update(calls_answered=1, calls_answered_sl=int(wait <= sl_ms), answered_wait_ms=wait, handled=1,
                     talk_ms=_ms(i["talk_seconds"]), hold_ms=_ms(i["hold_seconds"]), wrap_ms=_ms(i["wrap_up_seconds"]))
        else:
            m["calls_abandoned"] = 1
    if inspection is not None:
        if inspection["score"] is not None:
            m.update(inspected=1, inspection_score_c=int(round(inspection["score"] * 100)))
        m.update(inspection_vetoes=int(inspection["veto"]), forbidden_hits=inspection["forbidden_count"])
    _add(rows, key, **m)


TICKET_FIELDS = ("id", "team_id", "owner_id", "type", "category_id", "channel", "escalation_level", "merged_into_id",
                 "created_at",
                 "first_response_due_at", "first_responded_at", "resolution_due_at", "resolved_at", "closed_at")


def _tickets(ids: Sequence[int], now: datetime | None = None) -> dict[int, Rows]:
    from kefu.followup.models import ReturnVisit, SurveyResponse
    from kefu.tickets.models import Ticket, TicketEvent

    out: dict[int, Rows] = {}
    if not ids:
        return out
    tickets = list(Ticket.objects.filter(pk__in=ids).values(*TICKET_FIELDS, region=F("customer__province")))
    events: dict[int, list[Any]] = defaultdict(list)
    for tid, kind, at, action in TicketEvent.objects.filter(ticket_id__in=ids, kind__in=("status", "transfer")) \
            .values_list("ticket_id", "kind", "created_at", "data__action"):
        events[tid].append((kind, at, action))
    surveys: dict[int, list[Any]] = defaultdict(list)
    for tid, agent, score, at in SurveyResponse.objects.filter(ticket_id__in=ids) \
            .values_list("ticket_id", "agent_id", "score", "created_at"):
        surveys[tid].append((agent, score, at))
    visits: dict[int, list[Any]] = defaultdict(list)
    for v in ReturnVisit.objects.filter(ticket_id__in=ids).values("ticket_id", "assignee_id", "status", "outcome", "due_at"):
        visits[v["ticket_id"]].append(v)
    for t in tickets:
        rows: Rows = {}
        _ticket_rows(rows, t, events[t["id"]], surveys[t["id"]], visits[t["id"]], now)
        out[t["id"]] = rows
    return out


def _interactions(ids: Sequence[int]) -> dict[int, Rows]:
    from kefu.interactions.models import Interaction
    from kefu.quality.models import Inspection

    out: dict[int, Rows] = {}
    if not ids:
        return out
    inspections = {
        r["interaction_id"]: r
        for r in Inspection.objects.filter(interaction_id__in=ids, current=True)
        .values("interaction_id", "score", "veto", "forbidden_count")
    }
    sl_ms = service_level_seconds() * 1000
    for i in Interaction.objects.filter(pk__in=ids).values(
        "id", "channel", "team_id", "agent_id", "started_at", "wait_seconds", "talk_seconds", "hold_seconds",
        "wrap_up_seconds", region=F("customer__province"),
    ):
        rows: Rows = {}
        _interaction_rows(rows, i, inspections.get(i["id"]), sl_ms)
        out[i["id"]] = rows
    return out


def _visits(ids: Sequence[int], now: datetime | None = None) -> dict[int, Rows]:
    """Return visits without a work order (cyclical ones); those of an order count with the order."""
    from kefu.followup.models import ReturnVisit

    out: dict[int, Rows] = {}
    for v in ReturnVisit.objects.filter(pk__in=ids, ticket__isnull=True).values(
        "id", "assignee_id", "status", "outcome", "due_at", team_id=F("assignee__team_id"),
        region=F("customer__province"),
    ):
        rows: Rows = {}
        _visit(rows, v, (v["team_id"] or 0, v["assignee_id"] or 0, "", 0, v["region"] or "", "phone"), now)
        out[v["id"]] = rows
    return out


def _customers(ids: Sequence[int]) -> dict[int, Rows]:
    from kefu.customers.models import Customer

    out: dict[int, Rows] = {}
    for c in Customer.objects.filter(pk__in=ids).values("id", "province", "created_at"):
        rows: Rows = {}
        _add(rows, (day_of(c["created_at"]), 0, 0, "", 0, c["province"] or "", ""), customers_new=1)
        out[c["id"]] = rows
    return out


LOADERS = {"t": _tickets, "i": _interactions, "v": _visits, "c": _customers}


def contributions(entities: Iterable[str]) -> dict[str, Rows]:
    """The current contribution of each entity (``t:12``, ``i:7`` …); an entity gone from the
    database contributes nothing."""
    by_kind: dict[str, list[int]] = defaultdict(list)
    for e in entities:
        kind, _sep, pk = e.partition(":")
        by_kind[kind].append(int(pk))
    out: dict[str, Rows] = {}
    for kind, ids in by_kind.items():
        found = LOADERS[kind](ids)
        for pk in ids:
            out[f"{kind}:{pk}"] = found.get(pk, {})
    return out


# --- storing --------------------------------------------------------------------------------------


def _encode(rows: Rows) -> list[Any]:
    return [[*key, {str(MEASURE_INDEX[m]): n for m, n in sorted(ms.items())}] for key, ms in sorted(rows.items()) if ms]


def _decode(stored: list[Any]) -> Rows:
    return {tuple(r[:7]): {MEASURES[int(i)]: n for i, n in r[7].items()} for r in stored}  # type: ignore[misc]


def _lock(entities: Sequence[str]) -> None:
    """Serialise concurrent recounts of one entity (two workers applying events about the same order)
    on PostgreSQL; SQLite has one writer anyway."""
    if connection.vendor != "postgresql" or not entities:
        return
    keys = sorted({int.from_bytes(hashlib.blake2b(e.encode(), digest_size=8).digest(), "big", signed=True)
                   for e in entities})
    with connection.cursor() as cur:
        cur.execute("SELECT pg_advisory_xact_lock(k) FROM unnest(%s::bigint[]) AS k", [keys])


KEY_POS = {d: i + 1 for i, d in enumerate(DIMENSIONS)}


def _project(delta: Rows, dims: tuple[str, ...]) -> dict[tuple[Any, ...], dict[str, int]]:
    """``delta`` summed onto the coarser key (day, *dims)."""
    if dims == DIMENSIONS:
        return dict(delta)  # type: ignore[arg-type]
    pos = [KEY_POS[d] for d in dims]
    out: dict[tuple[Any, ...], dict[str, int]] = {}
    for key, ms in delta.items():
        slot = out.setdefault((key[0], *(key[p] for p in pos)), {})
        for m, n in ms.items():
            slot[m] = slot.get(m, 0) + n
    return out


def _apply_delta(delta: Rows) -> None:
    """Add ``delta`` to every grain (insert or increment), keys in a fixed order so that concurrent
    transactions cannot deadlock, then drop rows that became all zero."""
    for model, dims in GRAINS:
        items = [(k, v) for k, v in sorted(_project(delta, dims).items()) if any(v.values())]
        if items:
            _upsert(model, dims, items)
    items = [(k, v) for k, v in sorted(_by_dimension(delta).items()) if any(v.values())]
    if items:
        _upsert(DailyBreakdown, ("team_id", "dimension", "value"), items)


def _by_dimension(delta: Rows) -> dict[tuple[Any, ...], dict[str, int]]:
    """``delta`` onto (day, team, dimension, value) for each breakdown dimension."""
    out: dict[tuple[Any, ...], dict[str, int]] = {}
    for key, ms in delta.items():
        for d in BREAKDOWN_DIMENSIONS:
            slot = out.setdefault((key[0], key[1], d, str(key[KEY_POS[d]])), {})
            for m, n in ms.items():
                slot[m] = slot.get(m, 0) + n
    return out


def _upsert(model: Any, dims: tuple[str, ...], items: list[tuple[tuple[Any, ...], dict[str, int]]]) -> None:
    table = model._meta.db_table
    cols = ["day", *dims, *MEASURES]
    updates = ", ".join(f"{m} = {table}.{m} + excluded.{m}" for m in MEASURES)
    row_sql = "(" + ", ".join(["%s"] * len(cols)) + ")"
    # PostgreSQL takes up to 65,535 parameters a statement; SQLite builds may stop at 999.
    per = max(1, (30000 if connection.vendor == "postgresql" else 900) // len(cols))
    with connection.cursor() as cur:
        for i in range(0, len(items), per):
            chunk = items[i:i + per]
            params: list[Any] = []
            for key, ms in chunk:
                params += [date.fromisoformat(key[0]), *key[1:], *(ms.get(m, 0) for m in MEASURES)]
            cur.execute(
                f"INSERT INTO {table} ({', '.join(cols)}) VALUES {', '.join([row_sql] * len(chunk))} "
                f"ON CONFLICT (day, {', '.join(dims)}) DO UPDATE SET {updates}",
                params,
            )
    if any(n < 0 for _k, ms in items for n in ms.values()):
        days = sorted({date.fromisoformat(k[0]) for k, _ms in items})
        model.objects.filter(day__in=days, **{m: 0 for m in MEASURES}).delete()


def _diff(old: Rows, new: Rows) -> Rows:
    delta: Rows = {}
    for key in old.keys() | new.keys():
        a, b = old.get(key, {}), new.get(key, {})
        d = {m: b.get(m, 0) - a.get(m, 0) for m in a.keys() | b.keys()}
        if any(d.values()):
            delta[key] = d
    return delta


def recount(entities: Iterable[str]) -> int:
    """Compute the entities' contributions again and add the difference to the roll-up, in the
    caller's transaction. Returns how many roll-up keys changed."""
    ents = sorted(set(entities))
    if not ents:
        return 0
    with transaction.atomic():
        _lock(ents)
        stored = dict(RollupContribution.objects.filter(entity__in=ents).values_list("entity", "rows"))
        new = contributions(ents)
        delta: Rows = {}
        changed, gone = [], []
        for e in ents:
            old_rows = _decode(stored.get(e, []))
            d = _diff(old_rows, new[e])
            if not d:
                continue
            for key, ms in d.items():
                slot = delta.setdefault(key, {})
                for m, n in ms.items():
                    slot[m] = slot.get(m, 0) + n
            if new[e]:
                changed.append(RollupContribution(entity=e, rows=_encode(new[e])))
            else:
                gone.append(e)
        _apply_delta(delta)
        if changed:
            RollupContribution.objects.bulk_create(
                changed, update_conflicts=True, update_fields=["rows"], unique_fields=["entity"]
            )
        if gone:
            RollupContribution.objects.filter(entity__in=gone).delete()
    return len(delta)


# --- events -----------------------------------------------------------------------------------------


def entities_of(topic: str, payload: dict[str, Any]) -> list[str]:
    """The records an event touched."""
    if topic.startswith(("ticket.", "sla.", "survey.")) and payload.get("ticket_id"):
        return [f"t:{payload['ticket_id']}"]
    if topic.startswith("return_visit."):
        if payload.get("ticket_id"):
            return [f"t:{payload['ticket_id']}"]
        return [f"v:{payload['visit_id']}"] if payload.get("visit_id") else []
    if topic in ("interaction.created", "quality.inspected", "quality.scored") and payload.get("interaction_id"):
        return [f"i:{payload['interaction_id']}"]
    if topic == "quality.appeal_decided" and payload.get("appeal_id"):
        from kefu.quality.models import Appeal

        iid = Appeal.objects.filter(pk=payload["appeal_id"]).values_list("inspection__interaction_id", flat=True).first()
        return [f"i:{iid}"] if iid else []
    if topic in ("customer.created", "customer.updated") and payload.get("customer_id"):
        cid = payload["customer_id"]
        out = [f"c:{cid}"]
        if topic == "customer.updated" and "province" in (payload.get("fields") or []):
            # The region of the customer's orders and contacts moved with them.
            from kefu.interactions.models import Interaction
            from kefu.tickets.models import Ticket

            out += [f"t:{pk}" for pk in Ticket.objects.filter(customer_id=cid).values_list("id", flat=True)]
            out += [f"i:{pk}" for pk in Interaction.objects.filter(customer_id=cid).values_list("id", flat=True)]
        return out
    return []


def apply_events(events: Sequence[tuple[int, str, dict[str, Any]]]) -> int:
    """Apply a batch of outbox events ``(id, topic, payload)`` in one transaction; events already
    applied are skipped. Returns how many were new."""
    if not events:
        return 0
    with transaction.atomic():
        ids = [e[0] for e in events]
        seen = set(RollupAppliedEvent.objects.filter(event_id__in=ids).values_list("event_id", flat=True))
        fresh = {e[0]: e for e in events if e[0] not in seen}
        if not fresh:
            return 0
        RollupAppliedEvent.objects.bulk_create([RollupAppliedEvent(event_id=i, topic=t[:64]) for i, t, _p in fresh.values()])
        touched: set[str] = set()
        for _i, topic, payload in fresh.values():
            touched.update(entities_of(topic, payload))
        recount(touched)
    return len(fresh)




# --- rebuild ------------------------------------------------------------------------------------------


def _chunks(qs: Any, size: int = CHUNK) -> Iterator[list[int]]:
    last = 0
    while True:
        ids = list(qs.filter(pk__gt=last).order_by("pk").values_list("pk", flat=True)[:size])
        if not ids:
            return
        yield ids
        last = ids[-1]


def _sources(first: date | None, last: date | None) -> list[tuple[str, Any]]:
    from kefu.customers.models import Customer
    from kefu.followup.models import ReturnVisit
    from kefu.interactions.models import Interaction
    from kefu.tickets.models import Ticket

    def rng(field: str) -> Q:
        q = Q()
        tz = timezone.get_current_timezone()
        if first is not None:
            q &= Q(**{f"{field}__gte": datetime.combine(first, datetime.min.time(), tz)})
        if last is not None:
            q &= Q(**{f"{field}__lt": datetime.combine(last + timedelta(days=1), datetime.min.time(), tz)})
        return q

    return [
        ("t", Ticket.objects.filter(rng("created_at"))),
        ("i", Interaction.objects.filter(rng("started_at"))),
        ("v", ReturnVisit.objects.filter(rng("due_at"), ticket__isnull=True)),
        ("c", Customer.objects.filter(rng("created_at"))),
    ]


def rebuild(*, first: date | None = None, last: date | None = None, progress: Any = None) -> dict[str, int]:
    """Recompute the roll-up from raw data. Without a range: empty both tables and count every
    record again. With one: count again the orders and customers created, contacts started and
    ticket-less return visits due in the range (by difference, so the rest stays consistent)."""
    counts: dict[str, int] = {}
    if first is None and last is None:
        if connection.vendor == "postgresql":
            return _rebuild_postgresql(progress)
        with transaction.atomic():
            for model, _dims in GRAINS:
                model.objects.all().delete()
            DailyBreakdown.objects.all().delete()
            RollupContribution.objects.all().delete()
        for kind, qs in _sources(None, None):
            n = 0
            for ids in _chunks(qs):
                _insert_fresh(kind, ids)
                n += len(ids)
                if progress:
                    progress(kind, n)
            counts[kind] = n
        return counts
    for kind, qs in _sources(first, last):
        n = 0
        for ids in _chunks(qs):
            recount(f"{kind}:{pk}" for pk in ids)
            n += len(ids)
            if progress:
                progress(kind, n)
        counts[kind] = n
    return counts


def _insert_fresh(kind: str, ids: list[int]) -> None:
    """Rebuild step on empty tables: no old contributions to read."""
    found = LOADERS[kind](ids)
    total: Rows = {}
    stored = []
    for pk, rows in found.items():
        if not rows:
            continue
        stored.append(RollupContribution(entity=f"{kind}:{pk}", rows=_encode(rows)))
        for key, ms in rows.items():
            slot = total.setdefault(key, {})
            for m, n in ms.items():
                slot[m] = slot.get(m, 0) + n
    with transaction.atomic():
        _apply_delta(total)
        RollupContribution.objects.bulk_create(stored, batch_size=1000)


def _rebuild_postgresql(progress: Any) -> dict[str, int]:
    """The full rebuild on PostgreSQL, same contributions as everywhere, written fast: every chunk's
    contributions are COPied into the ledger and its summed rows into an unlogged staging table, which
    one INSERT … SELECT … GROUP BY turns into the roll-up at the end. One transaction: readers see the
    old roll-up until it commits."""
    table, stage = DailyRollup._meta.db_table, "analytics_rebuild_stage"
    cols = ["day", *DIMENSIONS, *MEASURES]
    counts: dict[str, int] = {}
    with transaction.atomic(), connection.cursor() as cur:
        grains = ", ".join([*(m._meta.db_table for m, _d in GRAINS), DailyBreakdown._meta.db_table])
        cur.execute(f"TRUNCATE {grains}, {RollupContribution._meta.db_table}")
        cur.execute(f"DROP TABLE IF EXISTS {stage}")
        cur.execute(f"CREATE TEMP TABLE {stage} (LIKE {table} INCLUDING DEFAULTS)")
        cur.execute(f"ALTER TABLE {stage} DROP COLUMN id")
        raw = cur.cursor  # psycopg's own cursor, for COPY
        for kind, qs in _sources(None, None):
            n = 0
            for ids in _chunks(qs, 5000):
                found = LOADERS[kind](ids)
                total: Rows = {}
                with raw.copy(f"COPY {RollupContribution._meta.db_table} (entity, rows) FROM STDIN") as cp:
                    for pk, rows in found.items():
                        if not rows:
                            continue
                        cp.write_row((f"{kind}:{pk}", json.dumps(_encode(rows), ensure_ascii=False)))
                        for key, ms in rows.items():
                            slot = total.setdefault(key, {})
                            for m, v in ms.items():
                                slot[m] = slot.get(m, 0) + v
                with raw.copy(f"COPY {stage} ({', '.join(cols)}) FROM STDIN") as cp:
                    for key, ms in total.items():
                        cp.write_row((key[0], *key[1:], *(ms.get(m, 0) for m in MEASURES)))
                n += len(ids)
                if progress:
                    progress(kind, n)
            counts[kind] = n
        sums = ", ".join(f"SUM({m})" for m in MEASURES)
        for model, dims in GRAINS:
            keys = ", ".join(["day", *dims])
            cur.execute(f"INSERT INTO {model._meta.db_table} ({keys}, {', '.join(MEASURES)})"
                        f" SELECT {keys}, {sums} FROM {stage} GROUP BY {keys}")
        cur.execute(breakdown_fill_sql(stage, sums))
        cur.execute(f"DROP TABLE {stage}")
    return counts


def snapshot_columns() -> list[str]:
    return ["day", *DIMENSIONS, *MEASURES]


def table_snapshot(model: Any = DailyRollup) -> list[tuple[Any, ...]]:
    """Every row of a roll-up grain as a plain tuple, ordered: what the equality test compares."""
    dims = dict(GRAINS)[model]
    cols = ["day", *dims, *MEASURES]
    return [tuple(r) for r in model.objects.order_by(*cols[:len(dims) + 1]).values_list(*cols)]


def grains_snapshot() -> list[list[tuple[Any, ...]]]:
    cols = ["day", "team_id", "dimension", "value", *MEASURES]
    breakdown = [tuple(r) for r in DailyBreakdown.objects.order_by(*cols[:4]).values_list(*cols)]
    return [*(table_snapshot(model) for model, _dims in GRAINS), breakdown]


def breakdown_fill_sql(source: str, sums: str) -> str:
    """DailyBreakdown from a full-grain table (the rebuild's staging table, or DailyRollup in the
    migration that adds it): one SELECT per dimension."""
    parts = [f"SELECT day, team_id, '{d}', CAST({d} AS TEXT), {sums} FROM {source} GROUP BY day, team_id, {d}"
             for d in BREAKDOWN_DIMENSIONS]
    return (f"INSERT INTO {DailyBreakdown._meta.db_table} (day, team_id, dimension, value, {', '.join(MEASURES)}) "
            + " UNION ALL ".join(parts))


def dumps(rows: Rows) -> str:
    return json.dumps(_encode(rows), ensure_ascii=False)
