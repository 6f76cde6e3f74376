"""A tiny customer-distress sentiment model trained inside the project (Q3, Q6).

Multinomial naive Bayes over character n-grams of the normalised text, trained from the
labelled customer utterances in ``kefu/quality/data/sentiment_train.jsonl`` (label 1 =
angry/upset/distressed, 0 = neutral or positive). The model is linear: its log-odds are
``bias + sum(weight[g] for every n-gram occurrence g)``, so its features go into the same
Aho-Corasick automaton as the phrase rules and scoring an utterance costs only the
additions done during the shared scan. Features are pruned (minimum count, minimum
absolute weight) to keep matches per utterance few.

Training is deterministic and takes a few milliseconds, so the model is rebuilt from the
shipped data whenever a rule set is built, and its config is part of the rule-set version.
Quality on the held-out set (``sentiment_heldout.jsonl``, written separately with
different wording) is measured by :func:`evaluate` and printed by the benchmark.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from .normalize import normalize


@dataclass(frozen=True, slots=True)
class SentimentModel:
    """Linear n-gram model: ``logit = bias + sum of weights of occurring n-grams``."""

    bias: float
    weights: Mapping[str, float]
    threshold: float  # probability at or above which an utterance counts as distressed

    def logit(self, text: str) -> float:
        """Reference scorer (slow path, used in tests and evaluation)."""
        norm = normalize(text)
        total = self.bias
        for key, weight in self.weights.items():
            start = norm.find(key)
            while start != -1:
                total += weight
                start = norm.find(key, start + 1)
        return total

    def probability(self, text: str) -> float:
        return sigmoid(self.logit(text))


def sigmoid(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    z = math.exp(x)
    return z / (1.0 + z)


def ngrams(norm: str, sizes: Sequence[int]) -> Iterable[str]:
    for n in sizes:
        for i in range(len(norm) - n + 1):
            yield norm[i : i + n]


def train(
    examples: Sequence[Mapping[str, object]],
    *,
    sizes: Sequence[int] = (1, 2, 3),
    alpha: float = 0.5,
    min_count: int = 2,
    min_abs_weight: float = 0.5,
    threshold: float = 0.5,
) -> SentimentModel:
    """Train the naive-Bayes model from ``[{"text": str, "label": 0|1}, ...]``."""
    counts: dict[int, Counter[str]] = {0: Counter(), 1: Counter()}
    docs = {0: 0, 1: 0}
    for ex in examples:
        label = int(ex["label"])  # type: ignore[call-overload]  # data file: 0 or 1
        if label not in (0, 1):
            raise ValueError(f"label must be 0 or 1, got {label}")
        docs[label] += 1
        counts[label].update(ngrams(normalize(str(ex["text"])), sizes))
    if not docs[0] or not docs[1]:
        raise ValueError("training data needs examples of both labels")
    vocab = set(counts[0]) | set(counts[1])
    total = {k: sum(c.values()) + alpha * len(vocab) for k, c in counts.items()}
    weights: dict[str, float] = {}
    for gram in sorted(vocab):
        seen = counts[0][gram] + counts[1][gram]
        if seen < min_count:
            continue
        w = math.log((counts[1][gram] + alpha) / total[1]) - math.log((counts[0][gram] + alpha) / total[0])
        if abs(w) >= min_abs_weight:
            weights[gram] = round(w, 6)
    bias = math.log(docs[1] / docs[0])
    return SentimentModel(bias=round(bias, 6), weights=weights, threshold=threshold)


@dataclass(frozen=True, slots=True)
class Evaluation:
    """Binary classification figures on a labelled set (positive class = distressed)."""

    n: int
    accuracy: float
    precision: float
    recall: float
    f1: float
    tp: int
    fp: int
    tn: int
    fn: int


def evaluate(predict: Callable[[str], bool], examples: Sequence[Mapping[str, object]]) -> Evaluation:
    """Accuracy, precision, recall and F1 of ``predict`` on labelled ``examples``."""
    tp = fp = tn = fn = 0
    for ex in examples:
        pred = predict(str(ex["text"]))
        gold = int(ex["label"]) == 1  # type: ignore[call-overload]  # data file: 0 or 1
        if pred and gold:
            tp += 1
        elif pred:
            fp += 1
        elif gold:
            fn += 1
        else:
            tn += 1
    n = tp + fp + tn + fn
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return Evaluation(
        n, round((tp + tn) / n, 4) if n else 0.0, round(precision, 4), round(recall, 4), round(f1, 4), tp, fp, tn, fn
    )
