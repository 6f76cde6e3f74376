"""The knowledge index each process keeps (K4, K5).

One index per process over every published item in force: agents search all of it, the bot a view
of it that only ever offers public items (``Engine.public_view``) — one copy of the vectors and
postings instead of one per audience. Built once per process from the published items and their
stored vectors, then kept current by
deltas: every search first reads one stamp — ``max(updated_at)`` of the items (an indexed column) and
their count — and when it moved, loads only the items changed since the last look. Publishing,
archiving and storing an item's vector all touch ``updated_at``, so an edited item is found by the
lexical retrievers on the first search after the publish commits, and by the dense retriever on the
first search after the background job (``compute_vectors``, task ``kefu.knowledge.compute_vectors_task``)
stores its vector. Vectors are never computed at request time: an item without one is lexical-only
until then. Items that come into force or expire without being edited are picked up by the same
check (the next such moment is kept).
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import gc
import hashlib
import logging
import mmap
import os
import pickle
import struct
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from django.db.models import Count, Max, Min, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kefu.core.env import env_float, env_int
from kefu.core.errors import KefuError

from .models import Audience, ItemVersion, KnowledgeItem, VersionStatus, VocabularyEntry, VocabularyKind
from .retrieval.dense import load_encoder, pack_vectors, unpack_vectors, waiting
from .retrieval.engine import VECTOR_LAYOUT, Engine, KBItem, PublicView, collector_paused

log = logging.getLogger(__name__)
_lock = threading.Lock()
_engines: dict[str, _State] = {}

#: Changes committed within this margin before the newest ``updated_at`` seen are read again at the
#: next delta: two transactions can commit out of the order of their timestamps.
_OVERLAP = timedelta(seconds=5)
_CHUNK = 500
# Below this the collector's walk of the index is short enough to leave it alone (and tests keep
# their usual garbage collection).
FREEZE_MIN_ITEMS = 5000
COUNT_SECONDS = 5.0


@dataclass
class _State:
    engine: Engine
    model: str
    versions: dict[int, int] = field(default_factory=dict)  # item pk → version pk in the engine
    with_vectors: set[int] = field(default_factory=set)  # item pks whose vectors are in the engine
    expires: dict[int, datetime] = field(default_factory=dict)  # items in the engine that expire
    applied: dict[int, datetime] = field(default_factory=dict)  # item pk → updated_at last applied
    stamp: tuple[Any, ...] = ()
    vocabulary: tuple[Any, ...] | None = None  # the stamp of the centre's vocabulary in the pipeline
    seen: datetime | None = None  # newest updated_at loaded
    next_moment: datetime | None = None  # next effective_from / expires_at to act on


def vector_load(raw: bytes | memoryview | None) -> np.ndarray | None:
    return unpack_vectors(bytes(raw)) if raw else None


def encoder_name() -> str:
    """What stored vectors must have been made by to be used: the encoder and the row layout
    (questions, then the answer); another value is recomputed by the background job."""
    encoder = load_encoder()
    return f"{encoder.name}|{VECTOR_LAYOUT}" if encoder is not None else ""


def _kb_item(item: KnowledgeItem) -> KBItem:
    v = item.published
    assert v is not None
    return KBItem(id=str(item.pk), question=v.question, answer=v.answer,
                  similar_questions=tuple(v.similar_questions), category=item.category,
                  public=item.audience == Audience.PUBLIC, external_id=item.external_id, kind=item.kind,
                  tags=tuple(str(t) for t in item.tags or ()), products=tuple(str(p) for p in item.products or ()),
                  version=v.number)


def _in_force(item: KnowledgeItem, now: datetime) -> bool:
    return (
        item.published_id is not None and not item.archived
        and not (item.effective_from and item.effective_from > now)
        and not (item.expires_at and item.expires_at <= now)
    )


_count_cache: dict[str, Any] = {"n": None, "at": 0.0}


def _stamp() -> tuple[Any, ...]:
    """(row count, newest ``updated_at``, the vocabulary's (count, newest ``updated_at``)). The
    newest stamp is one step down the index, read before every search; counting rows (which
    notices rows deleted outright, a rare admin action) costs a scan — ~10 ms at 50,000 items on
    SQLite — so the count is refreshed at most every ``COUNT_SECONDS``. The vocabulary is a few
    hundred rows at most: counted every time, so that a removed entry stops at once."""
    newest = KnowledgeItem.objects.order_by("-updated_at").values_list("updated_at", flat=True).first()
    clock = time.monotonic()
    if _count_cache["n"] is None or clock - _count_cache["at"] >= COUNT_SECONDS:
        _count_cache.update(n=KnowledgeItem.objects.count(), at=clock)
    vocab = VocabularyEntry.objects.aggregate(n=Count("id"), m=Max("updated_at"))
    return (_count_cache["n"], newest, (vocab["n"], vocab["m"]))


def _apply_vocabulary(engine: Engine) -> None:
    """The centre's synonym groups, corrections and ignorable words into the engine's text
    pipeline (queries only: no re-indexing)."""
    entries = list(VocabularyEntry.objects.values_list("kind", "words"))
    engine.pipeline.set_extra(
        [w for k, w in entries if k == VocabularyKind.SYNONYM],
        [(w[0], w[1]) for k, w in entries if k == VocabularyKind.REWRITE and len(w) == 2],
        [x for k, w in entries if k == VocabularyKind.IGNORE for x in w],
    )


def _next_moment(now: datetime) -> datetime | None:
    """The next instant at which an unedited item comes into force or expires."""
    base = KnowledgeItem.objects.filter(published__isnull=False, archived=False)
    a = base.filter(effective_from__gt=now).aggregate(m=Min("effective_from"))["m"]
    b = base.filter(expires_at__gt=now).aggregate(m=Min("expires_at"))["m"]
    moments = [m for m in (a, b) if m is not None]
    return min(moments) if moments else None


def _apply(state: _State, items: list[KnowledgeItem], now: datetime) -> None:
    engine = state.engine
    for item in items:
        state.applied[item.pk] = item.updated_at
        if not _in_force(item, now):
            if state.versions.pop(item.pk, None) is not None:
                engine.remove(str(item.pk))
            state.with_vectors.discard(item.pk)
            state.expires.pop(item.pk, None)
            continue
        v = item.published
        assert v is not None
        vectors = vector_load(v.vector) if v.vector and v.vector_model == state.model else None
        has = vectors is not None
        if state.versions.get(item.pk) != v.pk or (has and item.pk not in state.with_vectors):
            engine.upsert(_kb_item(item), vectors=vectors, encode_missing=False)
            state.versions[item.pk] = v.pk
            if has:
                state.with_vectors.add(item.pk)
            else:
                state.with_vectors.discard(item.pk)
        elif engine.is_public(str(item.pk)) != (item.audience == Audience.PUBLIC):
            engine.set_public(str(item.pk), item.audience == Audience.PUBLIC)
        if item.expires_at:
            state.expires[item.pk] = item.expires_at


def _load(qs: Any) -> list[KnowledgeItem]:
    return list(qs.select_related("published").order_by("pk"))


def _load_pks(pks: list[int]) -> list[KnowledgeItem]:
    """The items ``pks``, with their published versions, read in chunks: the vector blobs of
    50,000 items are large."""
    rows: list[KnowledgeItem] = []
    for i in range(0, len(pks), _CHUNK):
        rows += _load(KnowledgeItem.objects.filter(pk__in=pks[i:i + _CHUNK]))
    return rows


def _drop(state: _State, pks: set[int]) -> None:
    """Take items deleted from the database (an administrator's action) out of the index."""
    for pk in pks:
        state.engine.remove(str(pk))
        state.versions.pop(pk, None)
        state.with_vectors.discard(pk)
        state.expires.pop(pk, None)


def _full(now: datetime) -> _State:
    from .selectors import published_items

    model = encoder_name()

    pks = list(published_items(audience=None).order_by("pk").values_list("pk", flat=True))
    rows = _load_pks(pks)
    items = [r for r in rows if _in_force(r, now)]
    vectors = {}
    for r in items:
        v = r.published
        if v is not None and v.vector and v.vector_model == model:
            vectors[str(r.pk)] = vector_load(v.vector)
    # Items whose vector is not stored yet are lexical-only until the background job stores it:
    # vectors are never computed at request time.
    state = _State(engine=Engine.build([_kb_item(r) for r in items], vectors=vectors, encode_missing=False), model=model)
    for r in items:
        assert r.published_id is not None
        state.versions[r.pk] = r.published_id
        if str(r.pk) in vectors:
            state.with_vectors.add(r.pk)
        if r.expires_at:
            state.expires[r.pk] = r.expires_at
    state.applied = {r.pk: r.updated_at for r in rows}
    state.seen = max((r.updated_at for r in rows), default=None)
    return state


def _freeze_long_lived() -> None:
    """Move what is alive now — above all the new index, about a million objects for 50,000 items —
    out of the cyclic collector's sight (``gc.freeze``). Unfrozen, every full collection walks them:
    2 s each here with 50,000 items, a stalled request whenever one runs. Unfreeze and collect
    first, so that garbage cycles (the rows just loaded, anything frozen by an earlier load) are
    freed rather than frozen; the engine itself holds no reference cycle (tested), so when a later
    load replaces it, reference counting frees it although it is frozen. Then what the load freed
    is handed back to the system (``_release_free_memory``)."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()
    _release_free_memory()


def _release_free_memory() -> None:
    """Hand back to the system what a load has freed. glibc keeps freed heap memory for the process
    unless asked (``malloc_trim``): after a full load of 50,000 items a worker held ~5.8 GB where its
    index needs ~3.4 GB — the rows read, the build's intermediate lists, an index replaced. Elsewhere
    (no glibc) nothing happens."""
    try:
        trim = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):
        return
    trim(0)


def _install(state: _State) -> None:
    """Make ``state`` the process's index (the caller holds ``_lock``); the one it replaces is freed."""
    _engines["all"] = state
    if len(state.versions) >= FREEZE_MIN_ITEMS:
        _freeze_long_lived()


def engine_for(audience: str = Audience.PUBLIC) -> Engine | PublicView:
    """The process's engine for ``public`` (the bot: only public items) or ``all`` (agents),
    current with the database. Both are one index: the bot's is a view that filters candidates."""
    engine = _current()
    return engine.public_view() if audience == Audience.PUBLIC else engine


def _current() -> Engine:
    stamp = _stamp()
    now = timezone.now()
    state = _engines.get("all")
    if state is not None and _fresh(state, stamp, now):
        return state.engine
    loader = _loader
    if loader is not None and (state is None or state.model != encoder_name() or _big_change(state)):
        # A server process: what takes long (the first load, a new encoder, a bulk import's delta)
        # is done by its loader thread, never in a request, which would outlast the web server's
        # worker timeout (gunicorn kills a worker silent for 30 s; 50,000 items load in 75–97 s)
        # and leave the next request to start over. Before the first load the request waits a
        # little, then is told to try again shortly; afterwards it is served at once by the index
        # as it was while the loader works.
        loader.refresh(wait=LOAD_WAIT_SECONDS if state is None else 0.0)
        state = _engines.get("all")
        if state is None:
            raise IndexLoading()
        return state.engine
    wait = -1 if loader is None else LOAD_WAIT_SECONDS if state is None else BUSY_WAIT_SECONDS
    if not _lock.acquire(timeout=wait):
        # another thread is bringing the index up to date: serve this question from the index as it is
        if state is None:
            raise IndexLoading()
        return state.engine
    try:
        return _refresh(stamp, now).engine
    finally:
        _lock.release()


def _fresh(state: _State, stamp: tuple[Any, ...], now: datetime) -> bool:
    return state.stamp == stamp and (state.next_moment is None or now < state.next_moment)


def _big_change(state: _State) -> bool:
    """Whether more items changed since the index was last brought up to date than a request
    should load itself (``BACKGROUND_DELTA``) — an import, a bulk archive."""
    qs = KnowledgeItem.objects.all()
    if state.seen is not None:  # None: the index was built over an empty base
        qs = qs.filter(updated_at__gte=state.seen - _OVERLAP)
    return qs.values("pk")[:BACKGROUND_DELTA + 1].count() > BACKGROUND_DELTA


def _refresh(stamp: tuple[Any, ...], now: datetime) -> _State:
    """Bring the process's index up to date with ``stamp`` (read just before); the caller holds
    ``_lock``."""
    state = _engines.get("all")
    if state is not None and _fresh(state, stamp, now):
        return state
    if state is None or state.model != encoder_name():
        state = _full(now)  # its Engine.build runs without the cyclic collector (collector_paused)
        if len(state.versions) >= FREEZE_MIN_ITEMS:
            _freeze_long_lived()
    else:
        qs = KnowledgeItem.objects.all()
        if state.seen is not None:
            qs = qs.filter(updated_at__gte=state.seen - _OVERLAP)
        # Ids and stamps first (no vector blobs), then the full rows of what really changed.
        fresh = [pk for pk, at in qs.values_list("pk", "updated_at") if state.applied.get(pk) != at]
        changed = _load_pks(fresh)
        if state.next_moment is not None and now >= state.next_moment:
            moved = Q(effective_from__lte=now) | Q(expires_at__lte=now)
            changed += _load(KnowledgeItem.objects.filter(moved, published__isnull=False)
                             .exclude(pk__in=[c.pk for c in changed]))
        _apply(state, changed, now)
        if state.stamp and stamp[0] != state.stamp[0]:
            # The number of rows changed: some may have been deleted (admin) — drop them.
            alive = set(KnowledgeItem.objects.values_list("pk", flat=True))
            _drop(state, set(state.versions) - alive)
        if changed:
            state.seen = max([state.seen or changed[0].updated_at, *(c.updated_at for c in changed)])
    if state.vocabulary != stamp[2]:
        _apply_vocabulary(state.engine)
        state.vocabulary = stamp[2]
    state.stamp = stamp
    state.next_moment = _next_moment(now)
    _engines["all"] = state
    return state


# -- snapshots: a restarted web worker starts from the index as it was -----------------------------

#: a server process keeps a snapshot of its index from this many items up (``KEFU_KB_SNAPSHOT_MIN``;
#: 0 = never): at 50,000 items a full load takes a minute or more, the snapshot a few seconds
SNAPSHOT_MIN_ITEMS = env_int("KEFU_KB_SNAPSHOT_MIN", 5000, minimum=0)
_SNAPSHOT_FORMAT = 2
#: arrays of at least this many bytes (the question vectors, the answer vectors, the larger
#: postings) are written after the pickle, page-aligned, and mapped copy-on-write when loaded:
#: not read and copied, and shared through the page cache by every worker started from the
#: same snapshot until one of them changes a page
SNAPSHOT_MAPPED_MIN_BYTES = 1 << 16


def _snapshot_file() -> Path:
    from django.conf import settings

    return Path(settings.VAR_DIR) / "kb-index.snapshot"


def _snapshot_key() -> dict[str, Any]:
    """What a snapshot must have been made with to be used: the same retrieval code, trained model
    and text data — dictionary, synonyms, stop words, character folding (a digest of their files) —,
    encoder, Python, numpy and jieba, and database."""
    from importlib.metadata import version

    from django.conf import settings
    from django.db import connection

    here = Path(__file__).resolve().parent
    digest = hashlib.sha256()
    data = [p for p in here.glob("data/*") if p.is_file() and p.name != "demo_kb.jsonl"]
    for path in sorted([*here.glob("retrieval/*.py"), here / "search.py", *data]):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    db = settings.DATABASES["default"]
    return {"format": _SNAPSHOT_FORMAT, "code": digest.hexdigest(), "encoder": encoder_name(),
            "python": sys.version, "numpy": np.__version__, "jieba": version("jieba"),
            "db": [connection.vendor, str(db.get("NAME")), str(db.get("HOST") or ""), str(db.get("PORT") or "")]}


def _snapshot_write(state: _State) -> bool:
    """Write the index (the caller holds ``_lock``) next to the database, atomically: the key first,
    so that a reader can refuse a snapshot of other code or another base without reading the rest.

    Layout: the key (a pickle), the index (a pickle, protocol 5, its large arrays left out of band),
    those arrays one after the other each at a page boundary, the table of their (offset, size)
    (a pickle) and, in the last 8 bytes, where that table starts."""
    path = _snapshot_file()
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    t0 = time.perf_counter()
    mapped: list[pickle.PickleBuffer] = []

    def out_of_band(buf: pickle.PickleBuffer) -> bool:
        if buf.raw().nbytes < SNAPSHOT_MAPPED_MIN_BYTES:
            return True  # small: inside the pickle
        mapped.append(buf)
        return False

    try:
        with open(tmp, "wb") as fh:
            pickle.dump(_snapshot_key(), fh, protocol=5)
            pickle.dump({"engine": state.engine.snapshot_state(), "model": state.model, "versions": state.versions,
                         "with_vectors": state.with_vectors, "expires": state.expires, "applied": state.applied,
                         "seen": state.seen}, fh, protocol=5, buffer_callback=out_of_band)
            table = []
            for buf in mapped:
                raw = buf.raw()
                fh.write(b"\0" * (-fh.tell() % mmap.PAGESIZE))
                table.append((fh.tell(), raw.nbytes))
                fh.write(raw)
            at = fh.tell()
            pickle.dump(table, fh, protocol=5)
            fh.write(struct.pack("<Q", at))
        os.replace(tmp, path)
    except Exception:  # noqa: BLE001 — a disk full, say: the index itself is loaded and serves
        log.exception("knowledge index snapshot not written")
        tmp.unlink(missing_ok=True)
        return False
    finally:
        for buf in mapped:
            buf.release()
    log.info("knowledge index snapshot written: %d items in %.1f s", len(state.versions), time.perf_counter() - t0)
    return True


def _snapshot_read(path: Path) -> dict[str, Any] | None:
    """The snapshot's content, its large arrays mapped from the file copy-on-write (a change stays
    in this process; the file and other workers' views are untouched); None if its key is not
    this process's. Raises if the file is broken."""
    with open(path, "rb") as fh:
        if pickle.load(fh) != _snapshot_key():
            return None
        start = fh.tell()
        mm = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_COPY)
    (at,) = struct.unpack("<Q", mm[-8:])
    if not start <= at <= len(mm) - 8:
        raise ValueError(f"snapshot table offset {at} outside the file")
    table = pickle.loads(mm[at:-8])
    if any(not (start <= off and off + size <= at) for off, size in table):
        raise ValueError("snapshot array outside the file")
    if hasattr(mmap, "MADV_WILLNEED"):
        mm.madvise(mmap.MADV_WILLNEED)  # read ahead now rather than page by page at the first questions
    view = memoryview(mm)
    with collector_paused():
        return pickle.loads(view[start:at], buffers=[view[off : off + size] for off, size in table])


def _snapshot_load(now: datetime) -> tuple[_State, int] | None:
    """The index from the snapshot, reconciled with the database item by item, and how many items
    were edited since it was written; or None (no snapshot, another key, unreadable, or so much changed that a
    full load is as quick).

    Reconciling does not trust time: every item's ``updated_at`` is compared with the one the
    snapshot applied (a database restored from a backup has older stamps, not newer), items gone
    from the database are removed, and items with validity dates are read again (they may have
    come into force or expired meanwhile)."""
    path = _snapshot_file()
    if SNAPSHOT_MIN_ITEMS <= 0 or not path.exists():
        return None
    t0 = time.perf_counter()
    try:
        data = _snapshot_read(path)
        if data is None:
            return None
        engine = Engine.restore(data.pop("engine"), encoder=load_encoder())
    except Exception:  # noqa: BLE001 — a broken snapshot only costs the full load
        log.exception("knowledge index snapshot unreadable; loading from the database")
        return None
    state = _State(engine=engine, **data)
    rows = dict(KnowledgeItem.objects.values_list("pk", "updated_at"))
    dated = set(KnowledgeItem.objects.filter(Q(effective_from__isnull=False) | Q(expires_at__isnull=False))
                .values_list("pk", flat=True))
    edited = [pk for pk, at in rows.items() if state.applied.get(pk) != at]
    if len(edited) > max(BACKGROUND_DELTA, len(rows) // 2):
        return None
    changed = [*edited, *(dated - set(edited))]
    fresh = _load_pks(changed)
    _apply(state, fresh, now)
    _drop(state, set(state.versions) - set(rows))
    state.applied = {pk: at for pk, at in state.applied.items() if pk in rows}
    state.seen = max(rows.values(), default=None)
    log.info("knowledge index from its snapshot: %d items, %d read again, in %.1f s",
             len(state.versions), len(fresh), time.perf_counter() - t0)
    return state, len(edited)


#: items edited since the snapshot above which it is written anew when loaded (every later start
#: would read them again)
SNAPSHOT_STALE = 500


@contextlib.contextmanager
def _snapshot_turn() -> Iterator[None]:
    """One process at a time loads its index for the first time (an exclusive ``flock`` on
    ``kb-index.snapshot.lock`` next to the snapshot): when the web workers start together, the first
    loads in full and writes the snapshot while the others wait, then start from it — one full load
    on the machine's cores instead of one per worker, and every worker maps the same file."""
    if SNAPSHOT_MIN_ITEMS <= 0:
        yield
        return
    path = _snapshot_file().with_name(_snapshot_file().name + ".lock")
    try:
        fh = open(path, "a+b")  # noqa: SIM115 — held for the whole load
    except OSError:  # var/ not writable: every worker on its own, as before
        log.warning("knowledge index: %s cannot be opened; workers load without taking turns", path)
        yield
        return
    try:
        with waiting():  # blocked here, the thread wants no core (``ThreadBudget``)
            fcntl.flock(fh, fcntl.LOCK_EX)
        yield
    finally:
        fh.close()  # releases the lock


def _first_load() -> str:
    """The loader thread's first load (the caller holds ``_lock``), one process at a time: from the
    snapshot when there is a usable one, else in full — and then a snapshot is written for the next
    start, and this process too switches to the index mapped from it (the pages it shares with the
    other workers). Returns which: "snapshot" or "full"."""
    remap = False
    with _snapshot_turn():
        now = timezone.now()
        how, stale = "full", 0
        if _engines.get("all") is None:
            loaded = _snapshot_load(now)
            if loaded is not None:
                state, stale = loaded
                _install(state)
                how = "snapshot"
        state = _refresh(_stamp(), now)  # the vocabulary, and what changed while the snapshot was read
        big = SNAPSHOT_MIN_ITEMS > 0 and len(state.versions) >= SNAPSHOT_MIN_ITEMS
        if (how == "full" or stale > SNAPSHOT_STALE) and big:
            remap = _snapshot_write(state) and how == "full"
        del state
    if remap:  # after the turn: the next worker starts from the snapshot meanwhile; this one serves
        mapped = _snapshot_load(timezone.now())  # items edited meanwhile are read again, as at any start
        if mapped is not None:
            _install(mapped[0])  # the loaded index is freed: no reference cycle (tested)
            _refresh(_stamp(), timezone.now())
    return how


class IndexLoading(KefuError):
    status = 503
    code = "kb_loading"
    default_message = _("The knowledge base is still loading after a restart (about a minute for a large base). "
                        "Please try again shortly.")


#: how long a request waits for the loader thread's first load before it is answered with
#: ``IndexLoading``; well under the web server's worker timeout
LOAD_WAIT_SECONDS = env_float("KEFU_KB_LOAD_WAIT", 10.0, minimum=0)
#: how long a request of a server process waits for another thread's refresh of an index it has
#: before it is served by that index as it was
BUSY_WAIT_SECONDS = 1.0
#: changed items above which a server process loads the delta in its loader thread
BACKGROUND_DELTA = 2000


class _Loader:
    """The thread of a web server process that loads and refreshes its index (``warm_up``)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._asked = 0  # refreshes asked for
        self._done = 0  # refreshes finished (each serves every request asked before it began)
        self._stopped = False
        self.first_load: str | None = None  # "snapshot" or "full", once done
        self.thread = threading.Thread(target=self._run, name="kefu-kb-loader", daemon=True)

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify_all()

    def refresh(self, wait: float) -> bool:
        """Ask for a refresh and wait up to ``wait`` seconds; whether it finished in time."""
        with self._cond:
            self._asked += 1
            want = self._asked
            self._cond.notify_all()
            return self._cond.wait_for(lambda: self._done >= want, timeout=wait)

    def _run(self) -> None:
        from django.db import connections

        while True:
            # Between loads the thread only waits: not a thread that may want a core any moment,
            # so the encoder still takes both idle cores for a question (``ThreadBudget``).
            with self._cond, waiting():
                self._cond.wait_for(lambda: self._asked > self._done or self._stopped)
                if self._stopped:
                    return
                target = self._asked
            try:
                with _lock:
                    if self.first_load is None:
                        self.first_load = _first_load()
                    else:
                        _refresh(_stamp(), timezone.now())
            except Exception:  # noqa: BLE001 — logged; the next request asks again
                log.exception("knowledge index load failed")
            finally:
                connections.close_all()  # this thread's own connections: a fresh one next time
            with self._cond:
                self._done = target
                self._cond.notify_all()


_loader: _Loader | None = None


def warm_up() -> None:
    """Start loading the index in a thread of its own, now (a web server worker calls this when it
    starts: ``kefu/wsgi.py``), and from then on leave the long loads to that thread. Idempotent."""
    global _loader
    with _lock:
        if _loader is not None:
            return
        _loader = _Loader()
        _loader.thread.start()
    _loader.refresh(wait=0.0)  # the first load, without a request waiting for it


def reset() -> None:
    """Forget the process's index (and stop its loader thread, if ``warm_up`` started one)."""
    from .retrieval.text import default_pipeline

    global _loader
    loader, _loader = _loader, None
    if loader is not None:
        loader.stop()
        loader.thread.join(timeout=30)
    with _lock:
        _engines.clear()
        _count_cache.update(n=None, at=0.0)
        if default_pipeline.cache_info().currsize:  # the centre's vocabulary goes with the index
            default_pipeline().set_extra()


def compute_vectors(*, limit: int | None = None) -> int:
    """Encode published versions that have no stored vector, or one from another encoder (the
    background job; also run after an import). Idempotent: a version is encoded once per encoder.
    Storing a vector touches the item's ``updated_at`` so that every process's index picks it up.
    Returns how many were computed."""
    encoder = load_encoder()
    if encoder is None:
        return 0
    model = encoder_name()
    todo = (ItemVersion.objects.filter(status=VersionStatus.PUBLISHED)
            .filter(Q(vector__isnull=True) | ~Q(vector_model=model))
            .order_by("pk").values_list("pk", "item_id", "question", "similar_questions", "answer"))
    if limit:
        todo = todo[:limit]
    done = 0
    for pk, item_id, question, similar, answer in todo:
        texts = KBItem(id=str(item_id), question=question, answer=answer, similar_questions=tuple(similar)).texts
        matrix = encoder.encode_passages(list(texts))
        ItemVersion.objects.filter(pk=pk).update(vector=pack_vectors(matrix), vector_model=model)
        KnowledgeItem.objects.filter(pk=item_id).update(updated_at=timezone.now())
        done += 1
    return done
