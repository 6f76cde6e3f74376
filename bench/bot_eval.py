"""Evaluate the answering bot end to end (issue #5).

    .venv/bin/python bench/bot_eval.py DIR [--split test|train]

On a throwaway SQLite database of its own it imports ``DIR/kb.jsonl`` with ``kefu kb import``, computes
the stored vectors as the background job does (``kefu kb vectors``), then asks every question of
``DIR/queries.jsonl`` (``{"qid", "query", "kb_id"}``, ``kb_id`` null = must hand over) through the bot's
service layer, one new conversation per question. It prints top-1 accuracy, recall@5, MRR@10, the share
of no-answer questions handed over, the share of answerable questions wrongly handed over and questions per
second — for the bot and, on the same files, for plain jieba + BM25 with a handover threshold set to catch
80 % of the no-answer questions. Its last line is a JSON object with the bot's ``top1``, ``recall5``,
``mrr10``, ``handoff_recall``, ``false_handoff``, ``qps``.

``--split test`` asks only the rows of that split (``split`` field of queries.jsonl): the shipped
fusion model was trained on the ``train`` rows of ``bench/data/dev``, so its held-out figures are
those of ``--split test``. ``qps`` times ``bot_ask`` alone (one question, its database writes
included); the top-10 list for recall and MRR is taken outside the timing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
KEFU = str(ROOT / ".venv" / "bin" / "kefu")


def _id_text(raw: object) -> str | None:
    """An item id as `kefu kb import` keeps it (text, trimmed); None or "" = no answer in the base."""
    if raw is None or str(raw).strip() == "":
        return None
    return str(raw).strip()


def main() -> int:
    args = sys.argv[1:]
    split = None
    if len(args) == 3 and args[1] == "--split":
        split = args.pop(2)
        args.pop(1)
    if len(args) != 1 or not Path(args[0]).is_dir():
        print(__doc__)
        return 2
    data = Path(args[0])
    var = tempfile.mkdtemp(prefix="kefu-bot-eval-")
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update({"KEFU_VAR_DIR": var, "DJANGO_SETTINGS_MODULE": "kefu.settings", "PYTHONPATH": str(ROOT)})
    os.environ.update(env)
    os.environ.pop("DATABASE_URL", None)

    def kefu(*args: str) -> str:
        return subprocess.run([KEFU, *args], env=env, check=True, capture_output=True, text=True).stdout.strip()

    kefu("migrate", "-v", "0")
    kefu("shell", "-c", "from kefu.accounts.models import User; User.objects.create_user('eval-admin', role='admin')")
    t0 = time.perf_counter()
    print(kefu("kb", "import", str(data / "kb.jsonl"), "--as", "eval-admin"))
    print(kefu("kb", "vectors"), f"({time.perf_counter() - t0:.1f}s with the import)")

    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from kefu.core.errors import KefuError
    from kefu.knowledge.bot import bot_ask, bot_rank
    from kefu.knowledge.models import KnowledgeItem
    from kefu.knowledge.retrieval.bm25 import PlainBM25
    from kefu.knowledge.retrieval.metrics import Outcome, summarize, threshold_for_handoff

    queries = [json.loads(line) for line in (data / "queries.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
    for q in queries:  # ids compared as text on both sides: `kefu kb import` keeps a numeric id as text
        q["kb_id"] = _id_text(q.get("kb_id"))
    if split:
        queries = [q for q in queries if q.get("split") == split]
    external = dict(KnowledgeItem.objects.values_list("pk", "external_id"))
    bot_ask(question="预热")  # load the index once, as a running server has
    outcomes = []
    for q in queries:
        t = time.perf_counter()
        try:
            r = bot_ask(question=q["query"])
        except KefuError:  # an empty question: the bot asks for one, nothing is answered
            r = {"handoff": True, "external_id": None}
        dt = time.perf_counter() - t
        try:
            ranked = [external[pk] for pk in bot_rank(q["query"], k=10)]
        except KefuError:
            ranked = []
        if r["external_id"]:  # the answer given is rank one
            ranked = [r["external_id"], *[x for x in ranked if x != r["external_id"]]]
        outcomes.append(Outcome(q["qid"], q["kb_id"], ranked, r["handoff"], r["external_id"] is not None, dt))
    bot = summarize(outcomes)

    items = [json.loads(line) for line in (data / "kb.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
    plain = PlainBM25([dict(i, id=_id_text(i.get("id"))) for i in items])
    scores_none = [(plain.search(q["query"], k=1) or [("", 0.0)])[0][1] for q in queries if q["kb_id"] is None]
    threshold = threshold_for_handoff(scores_none, 0.8)
    base = []
    for q in queries:
        t = time.perf_counter()
        res = plain.search(q["query"], k=10)
        dt = time.perf_counter() - t
        top = res[0][1] if res else 0.0
        base.append(Outcome(q["qid"], q["kb_id"], [i for i, _ in res], top < threshold, top >= threshold, dt))
    baseline = summarize(base)

    keys = ["top1", "recall5", "mrr10", "handoff_recall", "false_handoff", "qps"]
    print(f"{len(queries)} questions{f' (split {split})' if split else ''} ({int(bot['n_answerable'])} answerable, {int(bot['n_no_answer'])} without answer)")
    print(f"{'':22}" + "".join(f"{k:>15}" for k in keys))
    for name, m in (("jieba + BM25", baseline), ("kefu bot", bot)):
        print(f"{name:22}" + "".join(f"{m[k]:>15.3f}" for k in keys))
    print(json.dumps({k: round(bot[k], 4) for k in keys}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
