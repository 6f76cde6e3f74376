"""The knowledge index each process keeps (K4, K5): built once from the published items and their
stored vectors, then refreshed incrementally — a cheap stamp query per search notices a publish, so an
edited item is found by lexical search at once and by dense retrieval as soon as its vector is stored."""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
from django.db.models import Count, Max

from .models import Audience, ItemVersion, KnowledgeItem
from .retrieval.dense import load_encoder, pack_vectors, unpack_vectors
from .retrieval.engine import Engine, KBItem

_lock = threading.Lock()
_engines: dict[str, dict[str, Any]] = {}


def vector_load(raw: bytes | memoryview | None) -> np.ndarray | None:
    return unpack_vectors(bytes(raw)) if raw else None


def encoder_name() -> str:
    encoder = load_encoder("e5")
    return encoder.name if encoder is not None else ""


def _items(audience: str) -> list[tuple[int, int, KBItem, bytes | None, str]]:
    from .selectors import published_items

    rows = []
    for item in published_items(audience=audience if audience == Audience.PUBLIC else None):
        v = item.published
        assert v is not None
        rows.append((item.pk, v.pk, KBItem(id=str(item.pk), question=v.question, answer=v.answer,
                                           similar_questions=tuple(v.similar_questions), category=item.category),
                     v.vector, v.vector_model))
    return rows


def _stamp() -> tuple[Any, ...]:
    agg = KnowledgeItem.objects.aggregate(n=Count("id"), m=Max("updated_at"))
    vec = ItemVersion.objects.filter(vector__isnull=False).count()
    return (agg["n"], agg["m"], vec)


def engine_for(audience: str = Audience.PUBLIC) -> Engine:
    """The process's engine for ``public`` (bot) or ``all`` (agents), current with the database."""
    stamp = _stamp()
    with _lock:
        state = _engines.get(audience)
        if state is not None and state["stamp"] == stamp:
            return state["engine"]
        rows = _items(audience)
        if state is None:
            model = encoder_name()
            vectors = {str(pk): vector_load(raw) for pk, _v, _i, raw, m in rows if raw and m == model}
            engine = Engine.build([r[2] for r in rows], vectors=vectors)
            state = {"engine": engine, "versions": {pk: vpk for pk, vpk, *_ in rows}, "model": model}
        else:
            engine = state["engine"]
            current = {pk: vpk for pk, vpk, *_ in rows}
            for pk in set(state["versions"]) - set(current):
                engine.remove(str(pk))
            for pk, vpk, kb_item, raw, m in rows:
                if state["versions"].get(pk) != vpk or (raw and m == state["model"] and engine.item_vectors(str(pk)) is None):
                    engine.upsert(kb_item, vectors=vector_load(raw) if m == state["model"] else None)
            state["versions"] = current
        state["stamp"] = stamp
        _engines[audience] = state
        return state["engine"]


def reset() -> None:
    with _lock:
        _engines.clear()


def compute_vectors(*, limit: int | None = None) -> int:
    """Encode published versions that have no stored vector (a background job; also run after an
    import). Returns how many were computed."""
    encoder = load_encoder("e5")
    if encoder is None:
        return 0
    todo = ItemVersion.objects.filter(status="published", vector__isnull=True).select_related("item")
    if limit:
        todo = todo[:limit]
    done = 0
    for v in todo:
        questions = list(KBItem(id=str(v.item_id), question=v.question, similar_questions=tuple(v.similar_questions)).questions)
        matrix = encoder.encode_passages(questions)
        ItemVersion.objects.filter(pk=v.pk).update(vector=pack_vectors(matrix), vector_model=encoder.name)
        done += 1
    return done
