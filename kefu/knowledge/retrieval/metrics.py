"""Retrieval and handoff metrics (K4), shared by ``bench/retrieval_eval.py`` and the
Django-side bot evaluation.

Ranking metrics are over answerable questions (gold item set); handoff metrics split by
whether the base holds an answer:

* ``top1`` — share of answerable questions whose first-ranked item is the gold item;
* ``recall5`` — gold item among the first 5;
* ``mrr10`` — mean reciprocal rank of the gold item, 0 beyond rank 10;
* ``handoff_recall`` — share of no-answer questions handed over to a human;
* ``false_handoff`` — share of answerable questions handed over;
* ``answered_precision`` — of the questions the bot answered outright, the share answered with
  the gold item (no-answer questions answered count as wrong);
* ``qps`` — questions per second, one thread.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Outcome:
    qid: str
    gold: str | None  # None: the base has no answer, the bot must hand over
    ranked: Sequence[str]  # item ids, best first
    handoff: bool
    answered: bool | None = None  # answered outright (not suggest, not handoff); None if n/a
    seconds: float = 0.0


def reciprocal_rank(gold: str, ranked: Sequence[str], k: int = 10) -> float:
    for i, item in enumerate(ranked[:k], 1):
        if item == gold:
            return 1.0 / i
    return 0.0


def summarize(outcomes: Iterable[Outcome]) -> dict[str, float]:
    out = list(outcomes)
    ans = [o for o in out if o.gold is not None]
    none = [o for o in out if o.gold is None]
    seconds = sum(o.seconds for o in out)

    def share(xs: Sequence[bool]) -> float:
        return sum(xs) / len(xs) if xs else 0.0

    answered = [o for o in out if o.answered]
    result = {
        "top1": share([bool(o.ranked) and o.ranked[0] == o.gold for o in ans]),
        "recall5": share([o.gold in o.ranked[:5] for o in ans]),
        "mrr10": (sum(reciprocal_rank(o.gold, o.ranked) for o in ans) / len(ans)) if ans else 0.0,  # type: ignore[arg-type]
        "handoff_recall": share([o.handoff for o in none]),
        "false_handoff": share([o.handoff for o in ans]),
        "qps": (len(out) / seconds) if seconds > 0 else 0.0,
        "n_answerable": float(len(ans)),
        "n_no_answer": float(len(none)),
    }
    if any(o.answered is not None for o in out):
        result["answered_precision"] = share([o.ranked[0] == o.gold for o in answered]) if answered else 0.0
        result["answered_share"] = share([bool(o.answered) for o in ans])
    return result


def threshold_for_handoff(no_answer_scores: Sequence[float], target: float) -> float:
    """The lowest threshold T such that handing over below T catches at least ``target`` of the
    given no-answer scores (handoff if score < T)."""
    if not no_answer_scores:
        return 0.0
    xs = sorted(no_answer_scores)
    need = min(len(xs), max(1, math.ceil(target * len(xs) - 1e-9)))
    # the need-th smallest must fall below T: T just above it
    cut = xs[need - 1]
    above = [x for x in xs if x > cut]
    return (cut + above[0]) / 2 if above else cut + 1e-6


def load_jsonl(path: str | Path) -> list[dict[str, Any]]:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def format_row(name: str, m: Mapping[str, float]) -> str:
    return (
        f"{name:<22} top1={m['top1']:.3f} recall5={m['recall5']:.3f} mrr10={m['mrr10']:.3f} "
        f"handoff_recall={m['handoff_recall']:.3f} false_handoff={m['false_handoff']:.3f} qps={m['qps']:.1f}"
    )
