"""Retrieval evaluation of the answering bot (K4, K5), without Django.

    python bench/retrieval_eval.py DIR [--split test|train|all] [--encoder e5|use|none]

DIR holds kb.jsonl (``{"id", "question", "similar_questions", "answer", ...}``) and
queries.jsonl (``{"qid", "query", "kb_id", "split"?}``, ``kb_id`` null when the base has no
answer). Runs

  (a) baseline — plain jieba + BM25 (one document per item, no synonyms, nothing tuned);
  (b) dense    — the sentence encoder alone, best cosine over the item's questions;
  (c) engine   — the full hybrid engine with reranker and calibrated handoff;

and prints top-1, recall@5, MRR@10 (answerable questions), handoff_recall, false_handoff and
qps for each. Handoff for (a) and (b) is a threshold on the top score, chosen on the train split
to hand over at least the same share of no-answer questions as the engine's profile was trained
for; the engine uses its own trained thresholds. If queries.jsonl has no ``split`` field, the
thresholds of (a) and (b) are chosen on the evaluated rows themselves (an optimistic baseline).
The last line is a JSON object with the engine's figures.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from kefu.knowledge.retrieval.bm25 import PlainBM25  # noqa: E402
from kefu.knowledge.retrieval.dense import CachedEncoder, DenseIndex, load_encoder  # noqa: E402
from kefu.knowledge.retrieval.engine import Engine, load_profiles  # noqa: E402
from kefu.knowledge.retrieval.metrics import (  # noqa: E402
    Outcome,
    format_row,
    load_jsonl,
    summarize,
    threshold_for_handoff,
)


def _pick(rows: list[dict], split: str) -> list[dict]:
    if split == "all":
        return rows
    return [r for r in rows if r.get("split", split) == split]


def run_thresholded(search, rows: list[dict], threshold_rows: list[dict], target: float) -> list[Outcome]:
    """Rank with ``search(query) -> [(item_id, score)]``; hand over when the top score is below
    a threshold set on ``threshold_rows``."""
    none_scores = []
    for r in threshold_rows:
        if r["kb_id"] is None:
            res = search(r["query"])
            none_scores.append(res[0][1] if res else 0.0)
    t = threshold_for_handoff(none_scores, target) if none_scores else 0.0
    out = []
    for r in rows:
        t0 = time.perf_counter()
        res = search(r["query"])
        dt = time.perf_counter() - t0
        top = res[0][1] if res else 0.0
        out.append(Outcome(r["qid"], r["kb_id"], [i for i, _ in res], top < t, top >= t, dt))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dir", type=Path)
    ap.add_argument("--split", default="test", choices=["test", "train", "all"])
    ap.add_argument("--encoder", default=None, help="e5+use (default), e5, use, or none")
    ap.add_argument("--cache", type=Path, help="npz file caching the item-text vectors between runs")
    ap.add_argument("--errors", type=int, default=0, help="print this many engine misses")
    args = ap.parse_args(argv)

    kb = load_jsonl(args.dir / "kb.jsonl")
    rows = load_jsonl(args.dir / "queries.jsonl")
    has_split = any("split" in r for r in rows)
    evaluated = _pick(rows, args.split) if has_split else rows
    tuning = _pick(rows, "train") if has_split else rows
    target = float(load_profiles().get("handoff_target", 0.9))
    print(f"{len(kb)} items; {len(evaluated)} questions evaluated ({args.split if has_split else 'all'}), "
          f"{sum(r['kb_id'] is None for r in evaluated)} without answer")

    results: dict[str, dict[str, float]] = {}

    plain = PlainBM25(kb)
    results["baseline jieba+BM25"] = summarize(
        run_thresholded(lambda q: plain.search(q, 10), evaluated, tuning, target)
    )
    print(format_row("baseline jieba+BM25", results["baseline jieba+BM25"]), flush=True)

    encoder = None if args.encoder == "none" else load_encoder(args.encoder)
    if encoder is not None and args.cache:
        encoder = CachedEncoder(encoder, args.cache)
    t0 = time.perf_counter()
    engine = Engine.build(kb, encoder=encoder)
    print(f"engine built in {time.perf_counter() - t0:.1f}s "
          f"(encoder: {encoder.name if encoder else 'none, lexical only'})", flush=True)

    if encoder is not None:
        dense = DenseIndex(encoder.dim)
        ids = [str(item["id"]) for item in kb]
        for n, item_id in enumerate(ids):
            vec = engine.item_vectors(item_id)
            if vec is not None:
                dense.add(n, vec)

        def dense_search(q: str) -> list[tuple[str, float]]:
            v = encoder.encode_queries([q])[0]
            return [(ids[g], s) for g, s, _ in dense.top_groups(v, 10)]

        results["dense only"] = summarize(run_thresholded(dense_search, evaluated, tuning, target))
        print(format_row("dense only", results["dense only"]), flush=True)

    outcomes = []
    misses = []
    for r in evaluated:
        t0 = time.perf_counter()
        a = engine.answer(r["query"])
        dt = time.perf_counter() - t0
        ranked = [c.item_id for c in a.candidates]
        outcomes.append(Outcome(r["qid"], r["kb_id"], ranked, a.handoff, a.mode == "answer", dt))
        wrong = (r["kb_id"] is None and not a.handoff) or (r["kb_id"] is not None and (not ranked or ranked[0] != r["kb_id"]))
        if wrong:
            misses.append((r, a))
    full = summarize(outcomes)
    results["engine"] = full
    print(format_row("engine (hybrid+rerank)", full))
    print(f"engine answered outright {full['answered_share']:.3f} of answerable questions, "
          f"precision of outright answers {full['answered_precision']:.3f}")
    for r, a in misses[: args.errors]:
        top = a.candidates[0] if a.candidates else None
        print(f"  MISS {r['qid']} {r['query']!r} gold={r['kb_id']} got={top.item_id if top else None} "
              f"({top.matched_question if top else ''}) p={a.confidence:.2f} {a.mode}")
    print(json.dumps({k: round(full[k], 4) for k in ("top1", "recall5", "mrr10", "handoff_recall", "false_handoff", "qps")}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
