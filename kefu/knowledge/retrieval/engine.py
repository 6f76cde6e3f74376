"""The answering engine: hybrid retrieval, a learned reranker and a calibrated confidence (K4, K5).

Pipeline for one question::

    fold + truncate ─► jieba words (+ synonyms) ─► BM25 over questions   ┐
                    └► character bigrams        ─► BM25 over questions   ├─► candidate items
                    └► jieba words              ─► BM25 over answers     │   (union of each
                    └► sentence encoder         ─► cosine over questions ┘    retriever's top 20)
    candidates ─► features (normalised BM25, cosine, rank in each retriever, idf-weighted
                  coverage of the query words, bigram overlap, length ratio, exact match)
               ─► reranker (logistic regression) ─► ranked candidates
    ranked     ─► confidence model (logistic regression on the top of the list: reranker
                  probability, margin to the second, cosine, coverage, edit similarity, share of
                  query words unknown to the base, length) ─► p(top-1 is right)
    ranked     ─► in-base model (same features, trained on "the base holds an answer")
                  ─► q = p(the question is answerable here)
    q < T_suggest: hand over · else p ≥ T_answer: answer · else: suggest top 3

An item scores by its best question (standard or similar). Both models and both thresholds are
read from ``data/fusion_model.json``, trained by ``train.py`` on the train split of the
development set only; there is one profile for the default encoder and one lexical-only profile
used when no encoder package is installed.

Follow-ups: with ``context`` (the session's earlier customer turns), a short question that is
not confident on its own ("那国际的呢？", "怎么收费") is retried with the topic words of the latest
earlier turn, and the more confident reading wins.
"""

from __future__ import annotations

import gc
import json
import logging
import math
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from kefu.core.masking import drop_personal_numbers

from .bm25 import BM25Index
from .dense import DenseIndex, Encoder, load_encoder
from .text import DATA_DIR, MAX_QUERY_CHARS, TextPipeline, bigrams, content_chars, default_pipeline, fold, truncate

_SPACES = re.compile(r"\s+")
log = logging.getLogger(__name__)

MODEL_PATH = DATA_DIR / "fusion_model.json"

# Per candidate. Scores are normalised by what a perfect match would score (BM25 of the query
# against itself, cosine 1) so that the weights carry over to another base; gaps to the best
# candidate are not needed, the listwise reranker only compares candidates of one query.
RANK_FEATURES = (
    "w_norm", "b_norm", "a_norm", "cos", "cos2",
    "cov", "bcov", "dice", "len_ratio", "exact", "rr_words", "rr_chars", "rr_dense",
    "cos_a", "cos_b", "i_norm", "rr_item", "cos_ans",
)
CONF_FEATURES = (
    "p1", "margin", "cos1", "w1", "cov1", "bcov1", "edit1", "oov", "log_len", "cosa1", "cosb1", "miss_idf", "cosans1",
)
_COSINES = ("cos", "cos2", "cos_a", "cos_b", "cos_ans")
_DENSE_ONLY = {"cos", "cos2", "rr_dense", "cos1", "cos_a", "cos_b", "cosa1", "cosb1", "cos_ans", "cosans1"}

#: the part of an answer the answer index reads
ANSWER_INDEX_CHARS = 400

#: the part of an answer its vector is made of: what the answer is about is said first (measured
#: on the development set: 120 characters give the same top-1 as 400; an article's tail would only
#: make the background job slower)
ANSWER_VECTOR_CHARS = 160

#: the rows of an item's stored vectors: its questions, then its answer (see ``KBItem.texts``);
#: part of the stored model name, so that vectors of another layout are computed again
VECTOR_LAYOUT = "qa"

#: agents' searches at least this long (content characters) use the encoder too
SEARCH_DENSE_MIN_CHARS = 12

#: a follow-up shorter than this (content characters) may inherit the previous turn's topic
FOLLOW_UP_MAX_CHARS = 12


class EmptyQuestion(ValueError):
    """The question is empty or only whitespace."""


@dataclass(frozen=True)
class KBItem:
    id: str
    question: str
    answer: str = ""
    similar_questions: tuple[str, ...] = ()
    category: str = ""
    public: bool = True  # customers may see it (the bot); False: agents only
    external_id: str = ""  # the id in the system it was imported from (the bot's answer names it)
    kind: str = "faq"  # faq | article | script | quick_reply: for agents' search filters
    tags: tuple[str, ...] = ()
    products: tuple[str, ...] = ()
    version: int = 0  # the published version's number: agents' hits are served from this copy

    @classmethod
    def of(cls, obj: KBItem | Mapping[str, Any]) -> KBItem:
        if isinstance(obj, KBItem):
            return obj
        return cls(
            id=str(obj["id"]),
            question=str(obj["question"]),
            answer=str(obj.get("answer") or ""),
            similar_questions=tuple(str(s) for s in (obj.get("similar_questions") or ()) if str(s).strip()),
            category=str(obj.get("category") or ""),
            public=bool(obj.get("public", True)),
            external_id=str(obj.get("external_id") or ""),
            kind=str(obj.get("kind") or "faq"),
            tags=tuple(str(t) for t in (obj.get("tags") or ())),
            products=tuple(str(p) for p in (obj.get("products") or ())),
            version=int(obj.get("version") or 0),
        )

    @property
    def questions(self) -> tuple[str, ...]:
        """The texts matched against customer questions: the standard one first."""
        return (self.question, *self.similar_questions)

    @property
    def texts(self) -> tuple[str, ...]:
        """What the encoder turns into the item's vectors: every question, then the head of the
        answer (the question again if there is none) — one row each, stored per version."""
        return (*self.questions, self.answer[:ANSWER_VECTOR_CHARS].strip() or self.question)


@dataclass(frozen=True)
class SearchFilter:
    """What agents narrow a search to (K5); empty fields do not filter. ``category`` takes that
    category and the ones under it (``宽带`` takes ``宽带/故障``); ``audience`` is ``public`` or
    ``internal``; ``tag`` and ``product`` must be among the item's."""

    category: str = ""
    kind: str = ""
    audience: str = ""
    tag: str = ""
    product: str = ""

    def __bool__(self) -> bool:
        return any((self.category, self.kind, self.audience, self.tag, self.product))

    def matches(self, item: KBItem) -> bool:
        c = self.category
        return (
            (not c or item.category == c or item.category.startswith(c + "/"))
            and (not self.kind or item.kind == self.kind)
            and (not self.audience or item.public == (self.audience == "public"))
            and (not self.tag or self.tag in item.tags)
            and (not self.product or self.product in item.products)
        )


@dataclass(frozen=True)
class _Scope:
    """The items a query may return: a flag per item number, and a key naming it for the caches."""

    key: tuple[Any, ...]
    groups: np.ndarray


@dataclass(frozen=True)
class Candidate:
    item_id: str
    score: float  # reranker share: p(this item is the answer | the answer is a candidate), in [0, 1]
    matched_question: str
    highlights: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Answer:
    item_id: str | None  # set only when the bot answers
    confidence: float  # calibrated p(top-1 is right), in [0, 1]
    suggestions: list[str]  # item ids to offer as "您是想问：…" (top 3 when unsure)
    handoff: bool  # hand the conversation to a human
    mode: str = "handoff"  # "answer" | "suggest" | "handoff"
    query_used: str = ""  # the question as retrieved (after follow-up expansion)
    candidates: list[Candidate] = field(default_factory=list)


@dataclass
class _Entry:
    item: KBItem
    q_tokens: list[frozenset[str]]
    q_bigrams: list[frozenset[str]]
    q_content: list[str]
    #: int64 [4, questions]: each question's slot in the word index and in the bigram index, its
    #: number of distinct bigrams, its length in content characters (filled once it is indexed)
    pairs: np.ndarray = field(default_factory=lambda: np.zeros((4, 0), dtype=np.int64))


@dataclass
class _Query:
    text: str
    folded: str
    content: str
    tokens: list[str]
    weights: dict[str, float]
    bigram_weights: dict[str, float]
    bigram_set: frozenset[str]
    qvec: np.ndarray | None
    #: the query vector still being finished (``Engine._query_vector_begin``); ``vector()`` waits
    pending: Callable[[], np.ndarray] | None = None

    def vector(self) -> np.ndarray | None:
        if self.pending is not None:
            self.qvec, self.pending = self.pending(), None
        return self.qvec


@dataclass
class Profile:
    """One trained model set: reranker, confidence model and thresholds."""

    rank_features: tuple[str, ...]
    rank_mean: np.ndarray
    rank_std: np.ndarray
    rank_coef: np.ndarray
    rank_bias: float
    conf_features: tuple[str, ...]
    conf_mean: np.ndarray
    conf_std: np.ndarray
    conf_coef: np.ndarray
    conf_bias: float
    t_answer: float
    t_suggest: float
    # p(the base holds an answer) on the same standardised features: the hand-over decision.
    # Without it the hand-over threshold applies to ``confidence``.
    base_coef: np.ndarray | None = None
    base_bias: float = 0.0

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> Profile:
        r, c, t = d["rank"], d["confidence"], d["thresholds"]
        b = d.get("in_base")
        return cls(
            tuple(r["features"]), np.array(r["mean"]), np.array(r["std"]), np.array(r["coef"]), float(r["bias"]),
            tuple(c["features"]), np.array(c["mean"]), np.array(c["std"]), np.array(c["coef"]), float(c["bias"]),
            float(t["answer"]), float(t["suggest"]),
            np.array(b["coef"]) if b else None, float(b["bias"]) if b else 0.0,
        )

    @classmethod
    def untrained(cls, dense: bool) -> Profile:
        """Hand-set weights used only to bootstrap training (and if no model file is shipped)."""
        rf = tuple(f for f in RANK_FEATURES if dense or f not in _DENSE_ONLY)
        hand = {"w_norm": 2.0, "b_norm": 2.0, "cos": 8.0, "cov": 1.0, "dice": 1.0, "exact": 1.0}
        cf = tuple(f for f in CONF_FEATURES if dense or f not in _DENSE_ONLY)
        chand = {"p1": 2.0, "margin": 1.0, "cov1": 1.0, "oov": -1.0}
        return cls(
            rf, np.zeros(len(rf)), np.ones(len(rf)), np.array([hand.get(f, 0.0) for f in rf]), -3.0,
            cf, np.zeros(len(cf)), np.ones(len(cf)), np.array([chand.get(f, 0.0) for f in cf]), -1.5,
            0.6, 0.3,
        )

    def rank_logits(self, x: np.ndarray) -> np.ndarray:
        return ((x - self.rank_mean) / self.rank_std) @ self.rank_coef + self.rank_bias

    def confidence(self, x: np.ndarray) -> float:
        z = float(((x - self.conf_mean) / self.conf_std) @ self.conf_coef + self.conf_bias)
        return _sigmoid(z)

    def in_base(self, x: np.ndarray) -> float:
        if self.base_coef is None:
            return self.confidence(x)
        return _sigmoid(float(((x - self.conf_mean) / self.conf_std) @ self.base_coef + self.base_bias))


def _sigmoid(z: float) -> float:
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


def _levenshtein_ratio(a: str, b: str) -> float:
    """1 − edit distance / longer length (both cut to 60 characters)."""
    a, b = a[:60], b[:60]
    if not a and not b:
        return 1.0
    if not a or not b:
        return 0.0
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return 1.0 - prev[-1] / max(len(a), len(b))


def load_profiles(path: Path = MODEL_PATH) -> dict[str, Any]:
    if not path.exists():
        return {}
    return json.loads(path.read_text(encoding="utf-8"))


class Engine:
    """In-process index of the published FAQ items; thread-safe.

    ``encoder``: ``"default"`` loads the e5 encoder if its package is installed (lexical-only
    otherwise); ``None`` forces lexical-only; or pass an ``Encoder``.
    """

    POOL = 20  # candidates taken from each retriever

    def __init__(
        self,
        *,
        encoder: Encoder | str | None = "default",
        pipeline: TextPipeline | None = None,
        profile: Profile | None = None,
        model_path: Path = MODEL_PATH,
        k1: float = 1.2,
        b: float = 0.75,
        max_query_chars: int = MAX_QUERY_CHARS,
    ) -> None:
        if encoder == "default":
            encoder = load_encoder()
        elif isinstance(encoder, str):
            encoder = load_encoder(encoder)
        self.encoder: Encoder | None = encoder
        self.pipeline = pipeline or default_pipeline()
        self.max_query_chars = max_query_chars
        self._words = BM25Index(k1=k1, b=b, max_df_ratio=0.25)
        self._chars = BM25Index(k1=k1, b=b, max_df_ratio=0.25)
        self._answers = BM25Index(k1=k1, b=b, max_df_ratio=0.25)
        # All of an item's questions as one document: evidence spread over several paraphrases
        # adds up here, where the per-question index only sees the best one.
        self._itemq = BM25Index(k1=k1, b=b, max_df_ratio=0.25)
        slices = getattr(encoder, "slices", None)
        self._dense = DenseIndex(encoder.dim, prefilter_dims=slices[0].stop if slices else None) if encoder is not None else None
        self._entries: list[_Entry | None] = []
        self._num_of: dict[str, int] = {}
        # per item number: may customers see it; one index serves agents (all) and the bot (public)
        self._public = np.zeros(16, dtype=bool)
        self._audience_version = 0
        self._content_version = 0  # every add, replace and removal: filter masks are computed again
        self._masks: dict[tuple[Any, ...], tuple[tuple[int, int], np.ndarray]] = {}
        self._facets: tuple[tuple[int, int], dict[str, list[str]]] | None = None
        self._free: list[int] = []
        self._lock = threading.RLock()
        self._qcache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._qcache_lock = threading.Lock()
        profiles = load_profiles(model_path).get("profiles", {})
        if profile is None:
            key = "dense" if encoder is not None else "lexical"
            stored = profiles.get(key)
            if stored is not None and (key == "lexical" or stored.get("encoder") == encoder.name):
                profile = Profile.from_json(stored)
            else:
                profile = Profile.untrained(encoder is not None)
        self.profile = profile
        lexical = profiles.get("lexical") if encoder is not None else None
        self.lexical_profile = Profile.from_json(lexical) if lexical else (
            profile if encoder is None else Profile.untrained(False))

    # -- building -----------------------------------------------------------------------------
    @classmethod
    def build(
        cls,
        items: Iterable[KBItem | Mapping[str, Any]],
        *,
        vectors: Mapping[str, np.ndarray] | None = None,
        encode_missing: bool = True,
        **kwargs: Any,
    ) -> Engine:
        """An engine over ``items``. ``vectors`` (item id → one row per question, as returned
        by ``item_vectors``) skips encoding for the items it covers; the rest are encoded in one
        batch — or, with ``encode_missing=False`` (the server: vectors are computed in the
        background, never at request time), left lexical-only until ``upsert`` gives them."""
        engine = cls(**kwargs)
        with collector_paused():
            items = [KBItem.of(i) for i in items]
            vectors = dict(vectors or {})
            if engine.encoder is not None and encode_missing:
                missing = [i for i in items if not _fits(vectors.get(i.id), i, engine.encoder.dim)]
                if missing:
                    texts = [t for i in missing for t in i.texts]
                    mat = engine.encoder.encode_passages(texts)
                    pos = 0
                    for i in missing:
                        vectors[i.id] = mat[pos : pos + len(i.texts)]
                        pos += len(i.texts)
            engine._bulk_add(items, vectors)
        return engine

    # -- snapshots ----------------------------------------------------------------------------
    #: what belongs to the process rather than to the index: left out of a snapshot, made anew
    _PROCESS_PARTS = ("encoder", "pipeline", "_lock", "_qcache", "_qcache_lock", "_masks", "_facets")

    def snapshot_state(self) -> dict[str, Any]:
        """The index as plain data (postings, entries, vectors, profiles) for ``restore`` in another
        process — without the encoder, the text pipeline, locks and caches. The caller keeps the
        engine from changing meanwhile."""
        with self._lock:
            state = {k: v for k, v in self.__dict__.items() if k not in self._PROCESS_PARTS}
            state["encoder_name"] = self.encoder.name if self.encoder is not None else None
            return state

    @classmethod
    def restore(cls, state: Mapping[str, Any], *, encoder: Encoder | None, pipeline: TextPipeline | None = None) -> Engine:
        """An engine from ``snapshot_state`` with this process's ``encoder`` (the one the snapshot's
        vectors were made with) and text pipeline."""
        state = dict(state)
        made_with = state.pop("encoder_name", None)
        if made_with != (encoder.name if encoder is not None else None):
            raise ValueError(f"snapshot made with encoder {made_with!r}, not {getattr(encoder, 'name', None)!r}")
        engine = cls.__new__(cls)
        engine.__dict__.update(state)
        engine.encoder = encoder
        engine.pipeline = pipeline or default_pipeline()
        engine._lock = threading.RLock()
        engine._qcache = OrderedDict()
        engine._qcache_lock = threading.Lock()
        engine._masks = {}
        engine._facets = None
        return engine

    def _tokenize(self, item: KBItem) -> tuple[list[str], list[list[str]], list[list[str]], list[str]]:
        p = self.pipeline
        folded = [fold(q) for q in item.questions]
        toks = [p.tokens(f, folded=True) for f in folded]
        bgs = [bigrams(f) for f in folded]
        # The head of the answer is what it is about; a long article's tail only slows indexing.
        answer_tokens = p.tokens(item.answer[:ANSWER_INDEX_CHARS])
        return folded, toks, bgs, answer_tokens

    def _tokenize_many(self, items: Sequence[KBItem]) -> list[tuple[list[str], list[list[str]], list[list[str]], list[str]]]:
        """Every item's tokens — three quarters of a full build's time (jieba). A large build
        tokenizes the second half of the items in a forked process while this one does the first:
        the fork inherits the loaded dictionary, so nothing is loaded twice (worker processes that
        loaded jieba again did not pay off), and the halves come back in order. Measured on 10,000
        items (2 cores): 8.8–9.3 s in-process, 5.9–6.1 s with the fork, the same tokens. Anything in
        the way of a fork (no second core, a daemonic process, ``KEFU_KB_BUILD_PROCESSES=1``)
        tokenizes in-process."""
        if len(items) >= PARALLEL_TOKENIZE_MIN and _may_fork():
            try:
                return self._tokenize_forked(items)
            except Exception:  # noqa: BLE001 — the fork is only a speed-up: do it here instead
                log.warning("tokenizing in a forked process failed; tokenizing in-process", exc_info=True)
        return [self._tokenize(i) for i in items]

    def _tokenize_forked(self, items: Sequence[KBItem]) -> list[tuple[list[str], list[list[str]], list[list[str]], list[str]]]:
        # One plain child process and a pipe, no Pool: a Pool is stopped with SIGTERM, and a child
        # of a server worker (gunicorn) inherits handlers that only note the signal — joining it
        # would wait for ever. The child sends its half and returns (multiprocessing then ends it
        # with os._exit: none of the parent's connections is closed from the child).
        import multiprocessing

        global _FORK_JOB
        half = len(items) // 2
        ctx = multiprocessing.get_context("fork")
        receive, send = ctx.Pipe(duplex=False)
        _FORK_JOB = (self, items)  # set before the fork: the child reads it from its copy of this module
        try:
            child = ctx.Process(target=_tokenize_slice, args=(half, len(items), send, receive), daemon=True)
            child.start()
        finally:
            _FORK_JOB = None
        send.close()
        try:
            first = [self._tokenize(i) for i in items[:half]]
            if not receive.poll(FORK_TIMEOUT):
                raise TimeoutError("the forked half of the build did not come back")
            second = receive.recv()
        finally:
            receive.close()
            child.join(5)
            if child.is_alive():
                child.kill()
                child.join()
        if len(second) != len(items) - half:
            raise RuntimeError("the forked half of the build is incomplete")
        return first + second

    def _entry(self, item: KBItem, folded: list[str], toks: list[list[str]], bgs: list[list[str]]) -> _Entry:
        return _Entry(
            item=item,
            q_tokens=[frozenset(t) for t in toks],
            q_bigrams=[frozenset(b) for b in bgs],
            q_content=[content_chars(f) for f in folded],
        )

    def _index_pairs(self, num: int, e: _Entry) -> None:
        n = len(e.q_content)
        e.pairs = np.array(
            [
                [self._words.slot_of((num, i)) for i in range(n)],
                [self._chars.slot_of((num, i)) for i in range(n)],
                [len(b) for b in e.q_bigrams],
                [len(c) for c in e.q_content],
            ],
            dtype=np.int64,
        ).reshape(4, n)

    def _bulk_add(self, items: Sequence[KBItem], vectors: Mapping[str, np.ndarray]) -> None:
        """The full build: every item tokenized, then each index filled in one pass."""
        if len(self):
            for item in items:
                self.upsert(item, vectors=vectors.get(item.id), encode_missing=False)
            return
        latest = {item.id: item for item in items}  # an id given twice: the last one counts
        words: list[tuple[Any, list[str], int]] = []
        chars: list[tuple[Any, list[str], int]] = []
        answers: list[tuple[Any, list[str], int]] = []
        itemq: list[tuple[Any, list[str], int]] = []
        todo = list(latest.values())
        if self._dense is not None:
            self._dense.reserve(sum(len(i.questions) for i in todo), len(todo))
        tokenized = self._tokenize_many(todo)
        with self._lock:
            for num, item in enumerate(todo):
                folded, toks, bgs, answer_tokens = tokenized[num]
                for qi in range(len(folded)):
                    words.append(((num, qi), toks[qi], num))
                    chars.append(((num, qi), bgs[qi], num))
                answers.append((num, answer_tokens, num))
                itemq.append((num, [t for tt in toks for t in tt], num))
                vec = vectors.get(item.id)
                if self._dense is not None and self.encoder is not None and _fits(vec, item, self.encoder.dim):
                    self._dense.add(num, vec[:-1], answer=vec[-1], train=False)
                self._entries.append(self._entry(item, folded, toks, bgs))
                self._num_of[item.id] = num
                self._mark(num, item.public)
            self._words.add_many(words)
            self._chars.add_many(chars)
            self._answers.add_many(answers)
            self._itemq.add_many(itemq)
            self._content_version += 1
            for num, entry in enumerate(self._entries):
                if entry is not None:
                    self._index_pairs(num, entry)
            if self._dense is not None:
                self._dense.optimize()

    def encode_item(self, item: KBItem | Mapping[str, Any]) -> np.ndarray | None:
        """The item's vectors (one row per question, then one of its answer; see ``KBItem.texts``),
        or None without an encoder.
        Compute once per item version in the background and pass to ``upsert``/``build``."""
        item = KBItem.of(item)
        if self.encoder is None:
            return None
        return self.encoder.encode_passages(list(item.texts))

    def item_vectors(self, item_id: str) -> np.ndarray | None:
        with self._lock:
            num = self._num_of.get(item_id)
            if num is None or self._dense is None or num not in self._dense:
                return None
            return np.vstack([self._dense.vectors(num), self._dense.answer_vector(num)[None, :]])

    def upsert(
        self, item: KBItem | Mapping[str, Any], *, vectors: np.ndarray | None = None, encode_missing: bool = True
    ) -> None:
        """Add or replace an item; it is searchable as soon as this returns. Without fitting
        ``vectors`` the item is encoded here, or with ``encode_missing=False`` found by the lexical
        retrievers only (its dense features are imputed) until it is upserted with vectors."""
        item = KBItem.of(item)
        if self.encoder is not None and not _fits(vectors, item, self.encoder.dim):
            vectors = self.encoder.encode_passages(list(item.texts)) if encode_missing else None
        folded, toks, bgs, answer_tokens = self._tokenize(item)
        with self._lock:
            self._remove_locked(item.id)
            num = self._free.pop() if self._free else len(self._entries)
            if num == len(self._entries):
                self._entries.append(None)
            for qi in range(len(folded)):
                self._words.add((num, qi), toks[qi], group=num)
                self._chars.add((num, qi), bgs[qi], group=num)
            self._answers.add(num, answer_tokens, group=num)
            self._itemq.add(num, [t for tt in toks for t in tt], group=num)
            if self._dense is not None and vectors is not None:
                self._dense.add(num, vectors[:-1], answer=vectors[-1])
            entry = self._entries[num] = self._entry(item, folded, toks, bgs)
            self._index_pairs(num, entry)
            self._num_of[item.id] = num
            self._mark(num, item.public)
            self._content_version += 1

    def remove(self, item_id: str) -> bool:
        """Take an item out of the index; False if it was not there."""
        with self._lock:
            return self._remove_locked(item_id)

    def _remove_locked(self, item_id: str) -> bool:
        num = self._num_of.pop(item_id, None)
        if num is None:
            return False
        entry = self._entries[num]
        assert entry is not None
        for qi in range(len(entry.q_content)):
            self._words.remove((num, qi))
            self._chars.remove((num, qi))
        self._answers.remove(num)
        self._itemq.remove(num)
        if self._dense is not None:
            self._dense.remove(num)
        self._entries[num] = None
        self._free.append(num)
        self._mark(num, False)
        self._content_version += 1
        return True

    # -- audiences ----------------------------------------------------------------------------
    def _mark(self, num: int, public: bool) -> None:
        if num >= len(self._public):
            self._public = np.concatenate([self._public, np.zeros(max(num + 1, 2 * len(self._public)) - len(self._public), dtype=bool)])
        if bool(self._public[num]) != public:
            self._public[num] = public
            self._audience_version += 1

    def is_public(self, item_id: str) -> bool:
        num = self._num_of.get(item_id)
        return num is not None and bool(self._public[num])

    def set_public(self, item_id: str, public: bool) -> None:
        """Change who may see an item without re-indexing it."""
        with self._lock:
            num = self._num_of.get(item_id)
            if num is not None:
                self._mark(num, public)

    def public_view(self) -> PublicView:
        """The same index as customers see it: only public items are ever returned. A new view
        each call (it holds nothing else): a cached one would make engine and view a reference
        cycle, which only the cyclic collector could free (see ``collector_paused``)."""
        return PublicView(self)

    #: filter masks kept (agents use a handful of filters again and again)
    MASK_CACHE = 64

    def _versions(self) -> tuple[int, int]:
        return self._audience_version, self._content_version

    def _cached_mask(self, key: tuple[Any, ...], size: int, make: Callable[[], np.ndarray]) -> np.ndarray:
        hit = self._masks.get(key)
        if hit is not None and hit[0] == self._versions() and len(hit[1]) == size:
            return hit[1]
        mask = make()
        if len(self._masks) >= self.MASK_CACHE:
            self._masks.pop(next(iter(self._masks)))
        self._masks[key] = (self._versions(), mask)
        return mask

    def _scope(self, public_only: bool, where: SearchFilter | None) -> _Scope | None:
        """The items a query may return: public ones for the bot, those ``where`` matches for a
        filtered search, both, or None (all)."""
        if not where:
            return _Scope(("public",), self._public) if public_only else None
        key = ("where", where, public_only)

        def make() -> np.ndarray:
            flags = np.fromiter(
                (e is not None and where.matches(e.item) for e in self._entries), dtype=bool, count=len(self._entries))
            if public_only:
                flags &= self._public[: len(flags)]
            return flags

        return _Scope(key, self._cached_mask(key, len(self._entries), make))

    def _slot_mask(self, name: str, index: BM25Index, size: int, scope: _Scope) -> np.ndarray:
        """Which of ``index``'s slots belong to items in ``scope`` (cached until the index or an
        audience changes)."""

        def make() -> np.ndarray:
            groups = index.groups(size)
            flags = np.concatenate([scope.groups, [False]])  # group -1 (a free slot) reads the False
            return flags[np.where((groups >= 0) & (groups < len(scope.groups)), groups, len(scope.groups))]

        return self._cached_mask((name, *scope.key), size, make)

    def facets(self) -> dict[str, list[str]]:
        """Every tag and product of the indexed items, sorted (for search filters); cached until
        the index changes."""
        with self._lock:
            hit = self._facets
            if hit is None or hit[0] != self._versions():
                tags: set[str] = set()
                products: set[str] = set()
                for e in self._entries:
                    if e is not None:
                        tags.update(t for t in e.item.tags if t.strip())
                        products.update(p for p in e.item.products if p.strip())
                hit = self._facets = (self._versions(), {"tags": sorted(tags), "products": sorted(products)})
            return hit[1]

    def __len__(self) -> int:
        return len(self._num_of)

    def __contains__(self, item_id: str) -> bool:
        return item_id in self._num_of

    def get(self, item_id: str) -> KBItem | None:
        num = self._num_of.get(item_id)
        entry = self._entries[num] if num is not None else None
        return entry.item if entry else None

    # -- querying -----------------------------------------------------------------------------
    QUERY_CACHE = 4096  # customers ask the same short questions again and again ("查话费")

    def _query_vector_begin(self, folded: str) -> Callable[[], np.ndarray]:
        """Start encoding the query; returns what finishes it (and caches the vector).

        A fused encoder gives its main part (e5, on the idle cores) at once and its small second part
        (USE, one core, ~2.5 ms) in a short-lived thread, which runs while this thread segments the
        question and scores the lexical indexes (numpy releases the interpreter lock) — measured with
        50,000 items: p95 of encoding + lexical scoring 27.0 → 24.7 ms. The thread is started only
        after e5 has finished, so e5 still finds no other thread (``ThreadBudget``)."""
        with self._qcache_lock:
            hit = self._qcache.get(folded)
            if hit is not None:
                self._qcache.move_to_end(folded)
                return lambda: hit
        assert self.encoder is not None
        begin = getattr(self.encoder, "begin_query", None)
        finish = begin(folded) if begin is not None else (lambda vec=self.encoder.encode_queries([folded])[0]: vec)

        def done() -> np.ndarray:
            vec = finish()
            with self._qcache_lock:
                self._qcache[folded] = vec
                while len(self._qcache) > self.QUERY_CACHE:
                    self._qcache.popitem(last=False)
            return vec

        return done

    def _query_vector(self, folded: str) -> np.ndarray:
        return self._query_vector_begin(folded)()

    def _prepare(self, query: str, *, encode: bool = True) -> _Query:
        if query is None or not str(query).strip():
            raise EmptyQuestion("empty question")
        text = truncate(str(query), self.max_query_chars)
        folded = fold(text)
        # Customers write their own numbers into the question (“我的号码138…停机了”): a number no
        # item can contain, which only pulls the encoder and the coverage features away from the
        # words. Left out of the match unless it is all the question has.
        bare = drop_personal_numbers(folded)
        if bare != folded and content_chars(bare):
            folded = _SPACES.sub(" ", bare).strip()
        folded = self.pipeline.correct(folded)
        # The centre's ignorable words (its own name: “电信怎么查话费”) say nothing about what is
        # asked and, in no item's questions, count against every candidate; left out unless
        # they are all the question has.
        stripped = self.pipeline.strip_ignorable(folded)
        if stripped != folded and content_chars(stripped):
            folded = _SPACES.sub(" ", stripped).strip()
        content = content_chars(folded)
        pending = None
        if self.encoder is not None and content and encode:
            pending = self._query_vector_begin(folded)
        tokens = self.pipeline.tokens(folded, folded=True)
        bg = bigrams(folded)
        return _Query(
            text=text,
            folded=folded,
            content=content,
            tokens=tokens,
            weights=self.pipeline.expand(tokens),
            bigram_weights=dict.fromkeys(bg, 1.0),
            bigram_set=frozenset(bg),
            qvec=None,
            pending=pending,
        )

    def _features(
        self, q: _Query, public_only: bool = False, where: SearchFilter | None = None
    ) -> tuple[list[int], np.ndarray, list[int], dict[str, float]]:
        """Candidate item numbers, their feature rows (RANK_FEATURES order), the index of each
        one's matched question, and query-level values for the confidence model. ``public_only``:
        candidates are public items only (the bot); ``where``: only items it matches."""
        w_all = self._words.score_all(q.weights)
        b_all = self._chars.score_all(q.bigram_weights)
        a_all = self._answers.score_all(q.weights)
        i_all = self._itemq.score_all(q.weights)
        # The bot sees public items only, a filtered search the matching ones: the masks pick the
        # slots the retrievers may return (the candidates' own scores are read by slot later) —
        # each retriever still fills its pool from the allowed items, however far down they rank.
        scope = self._scope(public_only, where)
        w_mask = self._slot_mask("words", self._words, len(w_all), scope) if scope else None
        b_mask = self._slot_mask("chars", self._chars, len(b_all), scope) if scope else None
        i_mask = self._slot_mask("itemq", self._itemq, len(i_all), scope) if scope else None
        pool: dict[int, None] = {}
        rank_w: dict[int, int] = {}
        rank_c: dict[int, int] = {}
        rank_d: dict[int, int] = {}
        for r, (g, _, _) in enumerate(self._words.top_groups_of(w_all, self.POOL, mask=w_mask)):
            pool[g] = None
            rank_w[g] = r
        for r, (g, _, _) in enumerate(self._chars.top_groups_of(b_all, self.POOL, mask=b_mask)):
            pool[g] = None
            rank_c[g] = r
        rank_i: dict[int, int] = {}
        for r, (g, _, _) in enumerate(self._itemq.top_groups_of(i_all, self.POOL, mask=i_mask)):
            pool[g] = None
            rank_i[g] = r
        allowed = scope.groups if scope else None
        if self._dense is not None and q.vector() is not None:
            for r, (g, _, _) in enumerate(self._dense.top_groups(q.qvec, self.POOL, allowed=allowed)):
                pool[g] = None
                rank_d[g] = r
        nums = [g for g in pool if g >= 0 and self._entries[g] is not None
                and (allowed is None or (g < len(allowed) and allowed[g]))]
        w_self = self._words.self_score(q.weights) or 1.0
        b_self = self._chars.self_score(q.bigram_weights) or 1.0
        a_self = self._answers.self_score(q.weights) or 1.0
        i_self = self._itemq.self_score(q.weights) or 1.0
        orig = [t for t, w in q.weights.items() if w >= 1.0]
        idf = {t: self._words.idf(t) for t in orig}
        idf_total = sum(idf.values()) or 1.0
        oov = (sum(1 for t in orig if self._words.df(t) == 0) / len(orig)) if orig else 1.0
        qlen = max(len(q.content), 1)
        qinfo = {"oov": oov, "log_len": math.log(qlen)}
        if not nums:
            return [], np.zeros((0, len(RANK_FEATURES))), [], qinfo
        split = getattr(self.encoder, "part_cosines", None)
        use_dense = self._dense is not None and q.qvec is not None
        # Every (candidate, question) pair on one flat axis; the per-item features are
        # segment reductions over it (an item is as good as its best question).
        ents = [self._entries[g] for g in nums]
        counts = np.fromiter((len(e.q_content) for e in ents), dtype=np.int64, count=len(ents))  # type: ignore[union-attr]
        pairs = np.concatenate([e.pairs for e in ents], axis=1)  # type: ignore[union-attr]
        seg = np.repeat(np.arange(len(nums), dtype=np.int64), counts)
        starts = np.concatenate(([0], np.cumsum(counts)[:-1])).astype(np.int64)
        qbg = q.bigram_set
        origset = frozenset(orig)
        idf_of = idf.__getitem__
        cov_l = [sum(map(idf_of, toks & origset)) for e in ents for toks in e.q_tokens]  # type: ignore[union-attr]
        inter_l = [len(qbg & bg) for e in ents for bg in e.q_bigrams]  # type: ignore[union-attr]
        exact = np.fromiter((q.content in e.q_content for e in ents), dtype=np.float64, count=len(ents))  # type: ignore[union-attr]
        has_vec = np.zeros(len(nums), dtype=bool)
        vec_rows = np.zeros(0, dtype=np.int64)
        if use_dense:
            vec_rows, vec_lens = self._dense.rows_for(np.array(nums, dtype=np.int64))  # type: ignore[union-attr]
            has_vec = vec_lens > 0
        w_q = w_all[pairs[0]] / w_self
        b_q = b_all[pairs[1]] / b_self
        cov_q = np.array(cov_l) / idf_total
        inter = np.array(inter_l, dtype=np.float64)
        blen = pairs[2].astype(np.float64)
        nq = len(qbg)
        bcov_q = inter / nq if nq else np.zeros(len(seg))
        denom = nq + blen
        dice_q = np.divide(2 * inter, denom, out=np.zeros(len(seg)), where=denom > 0)
        lens = pairs[3].astype(np.float64)
        len_ratio_q = np.minimum(lens, qlen) / np.maximum(np.maximum(lens, qlen), 1)
        c_q = np.zeros(len(seg))
        ca = np.zeros(len(nums))
        cb = np.zeros(len(nums))
        cans = np.zeros(len(nums))
        if len(vec_rows):
            cans[has_vec] = self._dense.answer_scores(  # type: ignore[union-attr]
                np.array(nums, dtype=np.int64)[has_vec], q.qvec)
            on = has_vec[seg]  # the pairs whose item has vectors, in the same order as vec_rows
            mat = self._dense.matrix_rows(vec_rows)  # type: ignore[union-attr]
            c_q[on] = (mat @ q.qvec).astype(np.float64)
            vstarts = np.concatenate(([0], np.cumsum(counts[has_vec])[:-1])).astype(np.int64)
            if split is not None:
                parts = split(mat, q.qvec)
                ca[has_vec] = np.maximum.reduceat(parts[0], vstarts)
                cb[has_vec] = np.maximum.reduceat(parts[-1], vstarts)
            else:
                ca[has_vec] = cb[has_vec] = np.maximum.reduceat(c_q[on], vstarts)
        no_vectors = np.flatnonzero(~has_vec).tolist() if use_dense else []
        # the matched question: the first best of cosine + both BM25 + dice within each item
        score = c_q + w_q + b_q + dice_q
        seg_best = np.maximum.reduceat(score, starts)
        first = np.flatnonzero(score == seg_best[seg])
        best_pos = first[np.unique(seg[first], return_index=True)[1]]
        matched = (best_pos - starts).tolist()
        # mean of the two highest cosines of each item (the one, if it has one question)
        order = np.lexsort((c_q, seg))
        c_sorted = c_q[order]
        ends = starts + counts
        top1 = c_sorted[ends - 1]
        second = np.where(counts > 1, c_sorted[np.maximum(ends - 2, 0)], top1)
        a_slots = np.array([self._answers.slot_of(g) for g in nums], dtype=np.int64)
        i_slots = np.array([self._itemq.slot_of(g) for g in nums], dtype=np.int64)
        x = np.column_stack(
            [
                np.minimum(np.maximum.reduceat(w_q, starts), 1.5),
                np.minimum(np.maximum.reduceat(b_q, starts), 1.5),
                np.minimum(a_all[a_slots] / a_self, 1.5),
                np.maximum.reduceat(c_q, starts),
                (top1 + second) / 2,
                np.maximum.reduceat(cov_q, starts),
                np.maximum.reduceat(bcov_q, starts),
                np.maximum.reduceat(dice_q, starts),
                len_ratio_q[best_pos],
                exact,
                np.array([1.0 / (1 + rank_w[g]) if g in rank_w else 0.0 for g in nums]),
                np.array([1.0 / (1 + rank_c[g]) if g in rank_c else 0.0 for g in nums]),
                np.array([1.0 / (1 + rank_d[g]) if g in rank_d else 0.0 for g in nums]),
                ca,
                cb,
                np.minimum(i_all[i_slots] / i_self, 3.0),
                np.array([1.0 / (1 + rank_i[g]) if g in rank_i else 0.0 for g in nums]),
                cans,
            ]
        )
        if no_vectors:
            # An item published a moment ago whose vector the background job has not stored yet:
            # its cosines are unknown, not zero — give it the pool's median so that the lexical
            # evidence decides (a zero would bury a brand-new item under every old one).
            have = np.setdiff1d(np.arange(len(x)), no_vectors)
            for name in _COSINES:
                col = RANK_FEATURES.index(name)
                x[no_vectors, col] = float(np.median(x[have, col])) if len(have) else 0.0
        return nums, x, matched, {"oov": oov, "log_len": math.log(qlen)}

    def _select(self, names: Sequence[str], x: np.ndarray) -> np.ndarray:
        idx = [RANK_FEATURES.index(n) for n in names]
        return x[:, idx]

    def _rank(
        self, q: _Query, profile: Profile | None = None, public_only: bool = False, where: SearchFilter | None = None
    ) -> tuple[list[tuple[int, float, int, np.ndarray]], dict[str, float]]:
        profile = profile or self.profile
        nums, x, matched, qinfo = self._features(q, public_only, where)
        if not nums:
            return [], qinfo
        logits = profile.rank_logits(self._select(profile.rank_features, x))
        # Listwise model: a softmax over the candidates gives p(candidate is the answer | the
        # answer is among them); the confidence model decides whether it is among them at all.
        probs = np.exp(logits - logits.max())
        probs /= probs.sum()
        order = np.lexsort((np.array(nums), -probs))
        return [(nums[i], float(probs[i]), matched[i], x[i]) for i in order], qinfo

    def _conf_row(self, q: _Query, ranked: list[tuple[int, float, int, np.ndarray]], qinfo: dict[str, float]) -> dict[str, float]:
        g, p1, mi, x1 = ranked[0]
        e = self._entries[g]
        assert e is not None
        p2 = ranked[1][1] if len(ranked) > 1 else 0.0
        f = dict(zip(RANK_FEATURES, x1))
        return {
            "p1": p1,
            "margin": p1 - p2,
            "cos1": f["cos"],
            "w1": f["w_norm"],
            "cov1": f["cov"],
            "bcov1": f["bcov"],
            "edit1": _levenshtein_ratio(q.content, e.q_content[mi]),
            "oov": qinfo["oov"],
            "log_len": qinfo["log_len"],
            "cosa1": f["cos_a"],
            "cosb1": f["cos_b"],
            "miss_idf": self._missing_idf(q, e),
            "cosans1": f["cos_ans"],
        }

    def _missing_idf(self, q: _Query, e: _Entry) -> float:
        """The rarest query word that none of the item's questions has (nor a synonym of it),
        as a share of the largest possible idf: "医保卡丢了怎么补" against "手机卡丢了怎么补办"
        leaves 医保 unexplained, a sign that the question is about something else."""
        have = frozenset().union(*e.q_tokens)
        top = math.log(1.0 + (len(self._words) + 0.5) / 0.5) or 1.0
        worst = 0.0
        for t, w in q.weights.items():
            if w < 1.0 or t in have or any(s in have for s in self.pipeline.synonyms.get(t, ())):
                continue
            worst = max(worst, self._words.idf(t) / top)
        return worst

    def _candidates(self, q: _Query, ranked: list[tuple[int, float, int, np.ndarray]], k: int) -> list[Candidate]:
        out = []
        for g, p, mi, _ in ranked[:k]:
            e = self._entries[g]
            assert e is not None
            hl = [t for t in dict.fromkeys(q.tokens) if t in e.q_tokens[mi]]
            out.append(Candidate(item_id=e.item.id, score=p, matched_question=e.item.questions[mi], highlights=hl))
        return out

    def search(
        self, query: str, k: int = 10, *, dense: bool | None = None, public_only: bool = False,
        where: SearchFilter | None = None,
    ) -> list[Candidate]:
        """The ``k`` best items for ``query``, best first, among those ``where`` matches (all when
        None). Raises ``EmptyQuestion``.

        ``dense``: True ranks with the hybrid model (as the bot does), False with the lexical
        retrievers and the lexical model only; None (agents' search) chooses by length — the
        keywords an agent types while the customer waits ("光猫 红灯", "副卡") are served by the
        lexical side in a few milliseconds (K5), a sentence (a work order's text, a customer's
        question) is worth the encoder's ~25 ms."""
        if dense is None:
            dense = len(content_chars(fold(str(query or "")))) >= SEARCH_DENSE_MIN_CHARS
        use_dense = bool(dense) and self.encoder is not None
        q = self._prepare(query, encode=use_dense)
        if not q.content:
            return []
        with self._lock:
            ranked, _ = self._rank(q, self.profile if use_dense else self.lexical_profile, public_only, where)
            return self._candidates(q, ranked, k)

    def _answer_one(self, query: str, public_only: bool = False) -> tuple[Answer, dict[str, float] | None]:
        q = self._prepare(query)
        if not q.content:  # emoji only, punctuation, control characters: nothing to look up
            return Answer(None, 0.0, [], True, "handoff", q.text, []), None
        with self._lock:
            ranked, qinfo = self._rank(q, public_only=public_only)
            if not ranked:
                return Answer(None, 0.0, [], True, "handoff", q.text, []), None
            conf_row = self._conf_row(q, ranked, qinfo)
            cands = self._candidates(q, ranked, 10)
        prof = self.profile
        x = np.array([conf_row[f] for f in prof.conf_features])
        p = prof.confidence(x)
        conf_row["in_base"] = prof.in_base(x)
        top3 = [c.item_id for c in cands[:3]]
        if conf_row["in_base"] < prof.t_suggest:
            return Answer(None, p, top3, True, "handoff", q.text, cands), conf_row
        if p >= prof.t_answer:
            return Answer(cands[0].item_id, p, top3[1:], False, "answer", q.text, cands), conf_row
        return Answer(None, p, top3, False, "suggest", q.text, cands), conf_row

    def answer(
        self, query: str, context: Sequence[str | Mapping[str, Any]] | None = None, *, public_only: bool = False
    ) -> Answer:
        """Answer, suggest or hand over. ``context``: the session's earlier turns, oldest first
        (strings, or ``{"role", "text"}`` dicts whose customer turns are used). Raises
        ``EmptyQuestion`` for an empty question; any other input gets an ``Answer``."""
        ans, _ = self._answer_one(query, public_only)
        if ans.mode == "answer" or not context:
            return ans
        if len(content_chars(fold(query))) > FOLLOW_UP_MAX_CHARS:
            return ans
        for turn in reversed(list(context)):
            text = _turn_text(turn)
            if not text:
                continue
            topic = [w for w in self.pipeline.topic_words(text) if w not in query]
            if not topic:
                continue
            expanded, _ = self._answer_one(" ".join(dict.fromkeys(topic)) + " " + str(query).strip(), public_only)
            if ans.mode == "handoff" and expanded.mode != "answer":
                # A new question the base cannot answer is handed over, not met with the earlier
                # topic's suggestions ("停机了怎么复机？" … after "你们公司的股票代码是多少").
                return ans
            return expanded if expanded.confidence > ans.confidence else ans
        return ans

    # -- for training -------------------------------------------------------------------------
    def features_for_training(self, query: str) -> tuple[list[str], np.ndarray, list[int]]:
        """Candidate item ids and their full feature rows (RANK_FEATURES), for ``train.py``."""
        q = self._prepare(query)
        if not q.content:
            return [], np.zeros((0, len(RANK_FEATURES))), []
        with self._lock:
            nums, x, matched, _ = self._features(q)
            return [self._entries[g].item.id for g in nums], x, matched  # type: ignore[union-attr]

    def confidence_row(self, query: str) -> tuple[str | None, dict[str, float] | None]:
        """(top-1 item id, CONF_FEATURES values) under the current reranker, for ``train.py``."""
        ans, row = self._answer_one(query)
        top = ans.candidates[0].item_id if ans.candidates else None
        return top, row


class PublicView:
    """An engine as customers see it (``Engine.public_view``): the same index, but only public
    items are ever candidates — one index per process serves agents and the bot."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def answer(self, query: str, context: Sequence[str | Mapping[str, Any]] | None = None) -> Answer:
        return self.engine.answer(query, context, public_only=True)

    def search(self, query: str, k: int = 10, *, dense: bool | None = None, where: SearchFilter | None = None) -> list[Candidate]:
        return self.engine.search(query, k, dense=dense, public_only=True, where=where)

    def get(self, item_id: str) -> KBItem | None:
        return self.engine.get(item_id) if self.engine.is_public(item_id) else None

    def __contains__(self, item_id: str) -> bool:
        return self.engine.is_public(item_id)

    def __len__(self) -> int:
        return int(self.engine._public.sum())

    def item_vectors(self, item_id: str) -> np.ndarray | None:
        return self.engine.item_vectors(item_id) if self.engine.is_public(item_id) else None

    def __getattr__(self, name: str) -> Any:
        return getattr(self.engine, name)


#: a build of at least this many items tokenizes half of them in a forked process
PARALLEL_TOKENIZE_MIN = 5000
#: the forked half of a build must be back within this many seconds, or the build does it itself
FORK_TIMEOUT = 600.0
_FORK_JOB: tuple[Engine, Sequence[KBItem]] | None = None


def _may_fork() -> bool:
    import multiprocessing
    import os

    if os.environ.get("KEFU_KB_BUILD_PROCESSES", "").strip() == "1" or (os.cpu_count() or 1) < 2:
        return False
    return "fork" in multiprocessing.get_all_start_methods() and not multiprocessing.current_process().daemon


def _tokenize_slice(lo: int, hi: int, send: Any, receive: Any = None) -> None:
    """In the forked child: tokenize the items ``lo:hi`` of the build that forked it and send them."""
    import signal

    # The pipe's reading end is the parent's: held here too, a parent that died (a web server
    # worker killed mid-build) would leave this process blocked on a full pipe for ever — and with
    # it every socket it inherited, a customer's request among them. Closed, the send fails and
    # the child ends.
    if receive is not None:
        receive.close()
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGQUIT, signal.SIGHUP):  # not the server's handlers
        signal.signal(sig, signal.SIG_DFL)
    assert _FORK_JOB is not None
    engine, items = _FORK_JOB
    # A lock another thread of the parent held at the fork would stay held here for ever.
    engine.pipeline._lock = threading.Lock()
    send.send([engine._tokenize(i) for i in items[lo:hi]])
    send.close()


@contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off while a block runs, back on after (if it was on).

    An index build is a burst of long-lived objects (about a million tracked ones for 50,000 items)
    and no garbage: with the collector on, the full collections that burst triggers took 18 of 89 s
    of a 50,000-item lexical build here (63 s without). Nothing is lost: garbage cycles made in the
    block are found by the next collection after it."""
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()


def _turn_text(turn: str | Mapping[str, Any]) -> str:
    if isinstance(turn, str):
        return turn.strip()
    role = str(turn.get("role", "customer"))
    if role in ("bot", "agent", "assistant", "system"):
        return ""
    return str(turn.get("text") or turn.get("content") or "").strip()


def _fits(vectors: np.ndarray | None, item: KBItem, dim: int) -> bool:
    return vectors is not None and vectors.ndim == 2 and vectors.shape == (len(item.texts), dim)
