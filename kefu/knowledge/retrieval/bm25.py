"""Okapi BM25 over an inverted index, with incremental add / remove / update (K5).

Each term keeps its postings as two numpy arrays (slot ids, term frequencies) that grow by
doubling; a query touches only the postings of its own terms and sums their contributions with
one ``np.bincount``, so its cost follows the query's postings, not the number of documents.
Removing a document deletes its postings at once (swap with the last posting), so document
frequencies stay exact and the freed slot can be reused without stale postings.

score(d, q) = Σ_t w_t · idf(t) · tf·(k1+1) / (tf + k1·(1 − b + b·|d|/avgdl))
idf(t) = ln(1 + (N − df + 0.5) / (df + 0.5))   (never negative)

``PlainBM25`` is the untuned comparison baseline: jieba default dictionary, one document per
item (standard + similar questions together), default k1/b, no synonyms.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Hashable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from .text import plain_tokens

_INITIAL = 4


class _Postings:
    """A term's postings: slot, term frequency and the document's length (kept beside each
    posting so that scoring reads three sequential arrays, not the length table at random)."""

    __slots__ = ("ids", "tfs", "lens", "n")

    def __init__(self) -> None:
        self.ids = np.empty(_INITIAL, dtype=np.int32)
        self.tfs = np.empty(_INITIAL, dtype=np.float32)
        self.lens = np.empty(_INITIAL, dtype=np.float32)
        self.n = 0

    def append(self, slot: int, tf: int, length: int) -> None:
        if self.n == len(self.ids):
            self.ids = np.concatenate([self.ids, np.empty(self.n, dtype=np.int32)])
            self.tfs = np.concatenate([self.tfs, np.empty(self.n, dtype=np.float32)])
            self.lens = np.concatenate([self.lens, np.empty(self.n, dtype=np.float32)])
        self.ids[self.n] = slot
        self.tfs[self.n] = tf
        self.lens[self.n] = length
        self.n += 1

    def discard(self, slot: int) -> None:
        hits = np.flatnonzero(self.ids[: self.n] == slot)
        if not len(hits):
            return
        i, last = int(hits[0]), self.n - 1
        self.ids[i] = self.ids[last]
        self.tfs[i] = self.tfs[last]
        self.lens[i] = self.lens[last]
        self.n = last


class BM25Index:
    """An inverted index of token lists, each under a caller's key and an optional integer group
    (the engine groups the questions of one item and keeps the best)."""

    def __init__(self, *, k1: float = 1.2, b: float = 0.75, max_df_ratio: float = 1.0) -> None:
        self.k1 = k1
        self.b = b
        # Terms in more than this share of the documents are skipped at query time (and in
        # ``self_score``): their idf is near zero and their postings are the longest.
        self.max_df_ratio = max_df_ratio
        self._postings: dict[str, _Postings] = {}
        self._slot_of: dict[Hashable, int] = {}
        self._keys: list[Hashable | None] = []
        self._terms: list[dict[str, int] | None] = []
        self._free: list[int] = []
        self._len = np.zeros(_INITIAL, dtype=np.float32)
        self._group = np.full(_INITIAL, -1, dtype=np.int64)
        self._total_len = 0.0

    # -- maintenance -------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._slot_of)

    def __contains__(self, key: Hashable) -> bool:
        return key in self._slot_of

    def add(self, key: Hashable, tokens: Sequence[str], group: int = -1) -> None:
        """Index ``tokens`` under ``key`` (replacing what the key had)."""
        if key in self._slot_of:
            self.remove(key)
        if self._free:
            slot = self._free.pop()
        else:
            slot = len(self._keys)
            self._keys.append(None)
            self._terms.append(None)
            if slot >= len(self._len):
                grow = len(self._len)
                self._len = np.concatenate([self._len, np.zeros(grow, dtype=np.float32)])
                self._group = np.concatenate([self._group, np.full(grow, -1, dtype=np.int64)])
        counts = dict(Counter(tokens))
        for term, tf in counts.items():
            post = self._postings.get(term)
            if post is None:
                post = self._postings[term] = _Postings()
            post.append(slot, tf, len(tokens))
        self._keys[slot] = key
        self._terms[slot] = counts
        self._slot_of[key] = slot
        self._len[slot] = len(tokens)
        self._group[slot] = group
        self._total_len += len(tokens)

    def add_many(self, docs: Sequence[tuple[Hashable, Sequence[str], int]]) -> None:
        """Index many (key, tokens, group) at once — the full rebuild: into an empty index the
        postings are collected in lists and turned into arrays once per term."""
        if self._slot_of or self._keys:
            for key, tokens, group in docs:
                self.add(key, tokens, group)
            return
        n = len(docs)
        size = max(_INITIAL, n)
        self._len = np.zeros(size, dtype=np.float32)
        self._group = np.full(size, -1, dtype=np.int64)
        ids: dict[str, list[int]] = {}
        tfs: dict[str, list[int]] = {}
        total = 0
        for slot, (key, tokens, group) in enumerate(docs):
            counts = dict(Counter(tokens))
            for term, tf in counts.items():
                if term in ids:
                    ids[term].append(slot)
                    tfs[term].append(tf)
                else:
                    ids[term] = [slot]
                    tfs[term] = [tf]
            self._keys.append(key)
            self._terms.append(counts)
            self._slot_of[key] = slot
            self._len[slot] = len(tokens)
            self._group[slot] = group
            total += len(tokens)
        self._total_len = float(total)
        for term, slots in ids.items():
            post = _Postings()
            post.ids = np.array(slots, dtype=np.int32)
            post.tfs = np.array(tfs[term], dtype=np.float32)
            post.lens = self._len[post.ids]
            post.n = len(slots)
            self._postings[term] = post

    def remove(self, key: Hashable) -> bool:
        """Drop ``key``'s postings; False if it was not indexed."""
        slot = self._slot_of.pop(key, None)
        if slot is None:
            return False
        for term in self._terms[slot] or ():
            post = self._postings[term]
            post.discard(slot)
            if post.n == 0:
                del self._postings[term]
        self._total_len -= float(self._len[slot])
        self._keys[slot] = None
        self._terms[slot] = None
        self._len[slot] = 0
        self._group[slot] = -1
        self._free.append(slot)
        return True

    update = add

    # -- statistics ---------------------------------------------------------------------------
    @property
    def avgdl(self) -> float:
        n = len(self._slot_of)
        return self._total_len / n if n else 0.0

    def df(self, term: str) -> int:
        post = self._postings.get(term)
        return post.n if post is not None else 0

    def idf(self, term: str) -> float:
        n, df = len(self._slot_of), self.df(term)
        return math.log(1.0 + (n - df + 0.5) / (df + 0.5))

    def key_of(self, slot: int) -> Hashable | None:
        return self._keys[slot]

    def groups(self, size: int) -> np.ndarray:
        """The group of each of the first ``size`` slots (-1: a free slot)."""
        g = self._group[:size]
        return g if len(g) == size else np.concatenate([g, np.full(size - len(g), -1, dtype=np.int64)])

    def group_of(self, slot: int) -> int:
        return int(self._group[slot])

    def self_score(self, weights: Mapping[str, float]) -> float:
        """BM25 of a document made of exactly the query terms: the normaliser that makes scores
        comparable across queries and collections (≈1.0 for a perfect match)."""
        avgdl = self.avgdl or 1.0
        dl = float(len(weights))
        k1, b = self.k1, self.b
        norm = k1 * (1.0 - b + b * dl / avgdl)
        return sum(
            w * self.idf(t) * (k1 + 1.0) / (1.0 + norm)
            for t, w in weights.items()
            if w >= 1.0 and not self._too_common(t)
        )

    def _too_common(self, term: str) -> bool:
        n = len(self._slot_of)
        return self.max_df_ratio < 1.0 and n >= 50 and self.df(term) > self.max_df_ratio * n

    # -- querying -----------------------------------------------------------------------------
    def score_all(self, weights: Mapping[str, float]) -> np.ndarray:
        """Scores indexed by slot (0 where nothing matched); ``slot_of`` maps keys to slots."""
        if not self._slot_of:
            return np.zeros(len(self._keys), dtype=np.float64)
        avgdl = self.avgdl or 1.0
        k1, b = self.k1, self.b
        const, per_len = k1 * (1.0 - b), k1 * b / avgdl
        ids_parts: list[np.ndarray] = []
        contrib_parts: list[np.ndarray] = []
        for term, w in weights.items():
            post = self._postings.get(term)
            if post is None or w <= 0 or self._too_common(term):
                continue
            ids = post.ids[: post.n]
            tfs = post.tfs[: post.n]
            denom = tfs + (const + per_len * post.lens[: post.n])
            ids_parts.append(ids)
            contrib_parts.append((w * self.idf(term) * (k1 + 1.0)) * tfs / denom)
        if not ids_parts:
            return np.zeros(len(self._keys), dtype=np.float64)
        ids = np.concatenate(ids_parts)
        return np.bincount(ids, weights=np.concatenate(contrib_parts), minlength=len(self._keys))

    def slot_of(self, key: Hashable) -> int:
        return self._slot_of[key]

    def score_slots(self, weights: Mapping[str, float]) -> tuple[np.ndarray, np.ndarray]:
        """(slots, scores) of every document matching at least one query term."""
        sums = self.score_all(weights)
        slots = _matched(sums)
        return slots, sums[slots]

    def search(self, weights: Mapping[str, float] | Iterable[str], k: int = 10) -> list[tuple[Hashable, float]]:
        """Top ``k`` (key, score), best first."""
        w = weights if isinstance(weights, Mapping) else dict.fromkeys(weights, 1.0)
        slots, scores = self.score_slots(w)
        order = _top(scores, k)
        return [(self._keys[int(slots[i])], float(scores[i])) for i in order]

    def top_groups(self, weights: Mapping[str, float], k: int, *, fan_out: int = 8) -> list[tuple[int, float, int]]:
        """Top ``k`` groups as (group, best score, best slot): each group scores its best document."""
        return self.top_groups_of(self.score_all(weights), k, fan_out=fan_out)

    def top_groups_of(
        self, sums: np.ndarray, k: int, *, fan_out: int = 8, mask: np.ndarray | None = None
    ) -> list[tuple[int, float, int]]:
        """``top_groups`` over scores already computed by ``score_all``; ``mask``: a flag per
        slot, only flagged slots are considered."""
        slots = _matched(sums)
        if mask is not None:
            slots = slots[mask[slots]]
        scores = sums[slots]
        order = _top(scores, k * fan_out)
        if not len(order):
            return []
        top_slots = slots[order]
        groups = self._group[top_slots]
        # each group at its best slot: its first place in the ranked order; the k best of those
        _, first = np.unique(groups, return_index=True)
        first = np.sort(first)[:k]
        return list(zip(groups[first].tolist(), scores[order[first]].tolist(), top_slots[first].tolist()))


def _matched(sums: np.ndarray) -> np.ndarray:
    """The slots with a non-zero score (found on a bool array: ~4× faster than on the floats)."""
    return np.flatnonzero(sums != 0)


def _top(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the ``k`` largest scores, best first (ties: lower index first)."""
    if k <= 0 or not len(scores):
        return np.empty(0, dtype=np.int64)
    if len(scores) > k:
        part = np.argpartition(-scores, k - 1)[:k]
        return part[np.lexsort((part, -scores[part]))]
    return np.lexsort((np.arange(len(scores)), -scores))


class PlainBM25:
    """The comparison baseline: plain jieba + BM25 (K4 evaluation), nothing tuned."""

    def __init__(self, items: Iterable[Mapping[str, Any]], *, k1: float = 1.2, b: float = 0.75) -> None:
        self.index = BM25Index(k1=k1, b=b)
        for item in items:
            similar = item.get("similar_questions") or []
            text = " ".join([item["question"], *([similar] if isinstance(similar, str) else similar)])
            self.index.add(item["id"], plain_tokens(text))

    def search(self, query: str, k: int = 10) -> list[tuple[str, float]]:
        return [(str(key), s) for key, s in self.index.search(plain_tokens(query), k)]
