"""Train the reranker, the confidence model and the thresholds (K4) on the train split only.

    python -m kefu.knowledge.retrieval.train bench/data/dev [DIR ...] [--out PATH] [--handoff-target 0.9]

Reads DIR/kb.jsonl and DIR/queries.jsonl of each DIR (``split`` = "train" rows; rows without a
split are all used) — several directories are several bases, each question asked of its own
base, the training rows pooled — trains one profile with the default encoder (if installed) and
one lexical-only profile, and writes them to ``data/fusion_model.json``. Plain numpy logistic regression
(Newton steps, L2), features standardised, coefficients shipped as JSON.

Thresholds: ``suggest`` is the lowest value that hands over ``--handoff-target`` of the train
no-answer questions (kept above the target the product asks for, to leave room for a
different base); ``answer`` is the lowest value ≥ ``suggest`` at which the answered train
questions are right at least ``--answer-precision`` of the time.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .engine import CONF_FEATURES, MODEL_PATH, RANK_FEATURES, Engine, Profile, _DENSE_ONLY
from .metrics import load_jsonl, threshold_for_handoff


def fit_logistic(x: np.ndarray, y: np.ndarray, *, l2: float = 1.0, iters: int = 50) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """(mean, std, coef, bias) of an L2-regularised logistic regression on standardised x."""
    mean = x.mean(axis=0)
    std = x.std(axis=0)
    std[std < 1e-9] = 1.0
    z = np.hstack([(x - mean) / std, np.ones((len(x), 1))])
    w = np.zeros(z.shape[1])
    reg = np.full(z.shape[1], l2)
    reg[-1] = 1e-6  # the bias is not shrunk
    for _ in range(iters):
        p = 1.0 / (1.0 + np.exp(-(z @ w)))
        grad = z.T @ (p - y) + reg * w
        hess = (z * (p * (1 - p))[:, None]).T @ z + np.diag(reg)
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return mean, std, w[:-1], float(w[-1])


def fit_listwise(
    groups: Sequence[np.ndarray], gold: Sequence[int], *, l2: float = 1.0, iters: int = 50
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(mean, std, coef) of a conditional logit: per query, softmax over its candidates, the
    gold candidate's log-probability maximised (Newton steps, L2). Aims the reranker straight
    at top-1."""
    allx = np.vstack(groups)
    mean = allx.mean(axis=0)
    std = allx.std(axis=0)
    std[std < 1e-9] = 1.0
    zs = [(g - mean) / std for g in groups]

    def loss(w: np.ndarray) -> float:
        total = 0.5 * l2 * float(w @ w)
        for z, gi in zip(zs, gold):
            logits = z @ w
            m = logits.max()
            total += m + math.log(np.exp(logits - m).sum()) - logits[gi]
        return total

    w = np.zeros(allx.shape[1])
    current = loss(w)
    for _ in range(iters):
        grad = l2 * w
        hess = l2 * np.eye(len(w))
        for z, gi in zip(zs, gold):
            logits = z @ w
            p = np.exp(logits - logits.max())
            p /= p.sum()
            ez = p @ z
            grad = grad + ez - z[gi]
            hess = hess + (z * p[:, None]).T @ z - np.outer(ez, ez)
        step = np.linalg.solve(hess, grad)
        t = 1.0
        while t > 1e-4:  # backtracking: a full Newton step can overshoot on near-separable data
            cand = w - t * step
            value = loss(cand)
            if value <= current - 1e-4 * t * float(grad @ step):
                break
            t *= 0.5
        else:
            break
        w, current = cand, value
        if np.abs(t * step).max() < 1e-7:
            break
    return mean, std, w


def _profile_json(prof: Profile, *, encoder: str | None, stats: dict[str, Any]) -> dict[str, Any]:
    return {
        "encoder": encoder,
        "rank": {
            "features": list(prof.rank_features),
            "mean": prof.rank_mean.round(6).tolist(),
            "std": prof.rank_std.round(6).tolist(),
            "coef": prof.rank_coef.round(6).tolist(),
            "bias": round(prof.rank_bias, 6),
        },
        "confidence": {
            "features": list(prof.conf_features),
            "mean": prof.conf_mean.round(6).tolist(),
            "std": prof.conf_std.round(6).tolist(),
            "coef": prof.conf_coef.round(6).tolist(),
            "bias": round(prof.conf_bias, 6),
        },
        "thresholds": {"answer": round(prof.t_answer, 4), "suggest": round(prof.t_suggest, 4)},
        "in_base": None if prof.base_coef is None else {
            "coef": prof.base_coef.round(6).tolist(), "bias": round(prof.base_bias, 6),
        },
        "train_stats": stats,
    }


def _with_similar(kb: Sequence[dict[str, Any]], keep: int | None) -> list[dict[str, Any]]:
    if keep is None:
        return list(kb)
    return [{**item, "similar_questions": list(item.get("similar_questions") or [])[:keep]} for item in kb]


def _variants_of(kb: Sequence[dict[str, Any]], variants: Sequence[int | None]) -> list[int | None]:
    """The variants that differ for this base: one, for a bare list (no similar questions), so
    that it is not counted three times over."""
    longest = max((len(item.get("similar_questions") or []) for item in kb), default=0)
    out: list[int | None] = []
    seen: set[int] = set()
    for keep in variants:
        size = longest if keep is None else min(keep, longest)
        if size not in seen:
            seen.add(size)
            out.append(keep)
    return out


def train_profile(
    kb: Sequence[dict[str, Any]],
    queries: Sequence[dict[str, Any]],
    *,
    encoder: Any,
    handoff_target: float,
    answer_precision: float,
    variants: Sequence[int | None] = (None,),
    log: Any = print,
    more: Sequence[tuple[Sequence[dict[str, Any]], Sequence[dict[str, Any]]]] = (),
) -> tuple[Profile, dict[str, Any]]:
    """Train on ``queries`` against each variant of the base: ``None`` = as given, ``n`` = only
    the first n similar questions per item. Bases in the field range from a bare standard
    question to many paraphrases; training across variants keeps the weights and thresholds
    from assuming one shape. ``more``: further (base, its questions) pairs of other domains,
    pooled with the first — the weights and thresholds should not assume one trade either."""
    dense = encoder is not None
    untrained = Profile.untrained(dense)
    engines = []
    asked = []  # the questions of each engine's base
    for base, rows in [(kb, queries), *more]:
        for keep in _variants_of(base, variants):
            t0 = time.perf_counter()
            engines.append(Engine.build(_with_similar(base, keep), encoder=encoder, profile=untrained))
            asked.append(rows)
            log(f"  {len(base)} items, variant similar={'all' if keep is None else keep}: "
                f"built in {time.perf_counter() - t0:.1f}s")
    rank_names = tuple(f for f in RANK_FEATURES if dense or f not in _DENSE_ONLY)
    cols = [RANK_FEATURES.index(f) for f in rank_names]
    xs, golds = [], []
    missed = 0
    for engine, rows in zip(engines, asked):
        for row in rows:
            if row["kb_id"] is None:
                continue
            ids, x, _ = engine.features_for_training(row["query"])
            if row["kb_id"] not in ids:
                missed += 1
                continue
            xs.append(x[:, cols])
            golds.append(ids.index(row["kb_id"]))
    rm, rs, rc = fit_listwise(xs, golds, l2=1.0)
    rb = 0.0
    log(f"  reranker: {len(xs)} query×variant groups, {sum(len(x) for x in xs)} candidates, "
        f"gold outside the pool {missed} times")
    conf_names = tuple(f for f in CONF_FEATURES if dense or f not in _DENSE_ONLY)
    cx, cy, gold_none = [], [], []
    for engine, rows in zip(engines, asked):
        engine.profile = Profile(
            rank_names, rm, rs, rc, rb,
            untrained.conf_features, untrained.conf_mean, untrained.conf_std, untrained.conf_coef,
            untrained.conf_bias, untrained.t_answer, untrained.t_suggest,
        )
        for row in rows:
            top, feats = engine.confidence_row(row["query"])
            if feats is None:
                continue
            cx.append([feats[f] for f in conf_names])
            cy.append(1.0 if (row["kb_id"] is not None and top == row["kb_id"]) else 0.0)
            gold_none.append(row["kb_id"] is None)
    x_conf, y_conf = np.array(cx), np.array(cy)
    cm, cs, cc, cb = fit_logistic(x_conf, y_conf, l2=1.0)
    p = 1.0 / (1.0 + np.exp(-(((x_conf - cm) / cs) @ cc + cb)))
    is_none = np.array(gold_none)
    # Hand-over: a second model on the same features, "does the base hold an answer at all".
    # An answerable question whose top-1 is wrong is still in the base (offer suggestions);
    # only questions the base cannot answer should go to a person.
    _bm, _bs, bc, bb = fit_logistic(x_conf, (~is_none).astype(float), l2=1.0)
    zc = (x_conf - cm) / cs  # the in-base model shares the confidence model's standardisation
    pb = 1.0 / (1.0 + np.exp(-(zc @ bc + bb)))
    t_suggest = threshold_for_handoff(pb[is_none].tolist(), handoff_target)
    t_answer = 0.9
    kept = pb >= t_suggest  # not handed over
    for t in sorted(set(np.round(p, 4).tolist())):
        sel = kept & (p >= t)
        if sel.sum() and y_conf[sel].mean() >= answer_precision:
            t_answer = float(t)
            break
    prof = Profile(rank_names, rm, rs, rc, rb, conf_names, cm, cs, cc, cb, t_answer, t_suggest, bc, bb)
    stats = {
        "queries": len(queries) + sum(len(rows) for _b, rows in more),
        "bases": 1 + len(more),
        "variants": ["all" if v is None else v for v in variants],
        "rows": len(y_conf),
        "top1_train": round(float(y_conf[~is_none].mean()), 4) if (~is_none).any() else None,
        "handoff_recall_train": round(float((pb[is_none] < t_suggest).mean()), 4) if is_none.any() else None,
        "false_handoff_train": round(float((pb[~is_none] < t_suggest).mean()), 4) if (~is_none).any() else None,
    }
    log(f"  thresholds answer={t_answer:.3f} suggest={t_suggest:.3f} {stats}")
    return prof, stats


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dir", type=Path, nargs="+")
    ap.add_argument("--out", type=Path, default=MODEL_PATH)
    ap.add_argument("--handoff-target", type=float, default=0.9)
    ap.add_argument("--answer-precision", type=float, default=0.95)
    ap.add_argument("--encoder", default=None, help="e5+use (default), e5, use, or none")
    ap.add_argument("--cache", type=Path, help="npz file caching the item-text vectors between runs")
    ap.add_argument("--variants", default="all,2,0",
                    help="similar questions kept per item in each training variant (all = as given)")
    args = ap.parse_args(argv)
    variants = [None if v == "all" else int(v) for v in args.variants.split(",")]
    from .dense import CachedEncoder, load_encoder

    sets = []
    for d in args.dir:
        kb = load_jsonl(d / "kb.jsonl")
        rows = load_jsonl(d / "queries.jsonl")
        train = [r for r in rows if r.get("split", "train") == "train"]
        print(f"{d}: {len(kb)} items, {len(train)} train queries of {len(rows)}")
        sets.append((kb, train))
    (kb, train), more = sets[0], sets[1:]
    profiles: dict[str, Any] = {}
    encoder = None if args.encoder == "none" else load_encoder(args.encoder)
    if encoder is not None and args.cache:
        encoder = CachedEncoder(encoder, args.cache)
    kw = {"handoff_target": args.handoff_target, "answer_precision": args.answer_precision, "variants": variants,
          "more": more}
    if encoder is not None:
        print(f"dense profile ({encoder.name})")
        prof, stats = train_profile(kb, train, encoder=encoder, **kw)
        profiles["dense"] = _profile_json(prof, encoder=encoder.name, stats=stats)
    print("lexical profile")
    prof, stats = train_profile(kb, train, encoder=None, **kw)
    profiles["lexical"] = _profile_json(prof, encoder=None, stats=stats)
    doc = {
        "about": "kefu retrieval fusion model: trained by kefu/knowledge/retrieval/train.py on the train split "
        "of the development sets; do not edit by hand.",
        "trained_on": str(args.dir[0]) if len(args.dir) == 1 else [str(d) for d in args.dir],
        "handoff_target": args.handoff_target,
        "answer_precision": args.answer_precision,
        "variants": args.variants,
        "profiles": profiles,
    }
    args.out.write_text(json.dumps(doc, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"written {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
