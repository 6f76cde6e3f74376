"""Benchmark of the automatic inspection engine (kefu.quality.engine), one core.

Run:  .venv/bin/python bench/quality_bench.py [--transcripts 2000] [--rounds 5] [--seed 7]

Prints transcripts/s and us per utterance for inspection with the full default rule set
(pre-validated transcripts, and validate + inspect from raw dicts), the cost of matching
with forbidden-phrase lists of 10, 100, 1,000 and 10,000 entries, the sentiment model's
quality on the held-out set, and ends with one JSON line of all figures.
Target: >= 2,000 transcripts of 40 utterances per second (about 12 us per utterance).
"""

from __future__ import annotations

import argparse
import gc
import json
import platform
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kefu.quality.engine import (  # noqa: E402
    ForbiddenPhraseRule,
    RuleSet,
    Transcript,
    default_ruleset,
    inspect,
    normalize,
    validate_transcript,
)
from kefu.quality.engine.data import load_data  # noqa: E402
from kefu.quality.engine.sentiment import evaluate  # noqa: E402

OPENINGS = [
    "您好，短信通，{id}号客服为您服务！",
    "您好，{id}号客服很高兴为您服务，请问有什么可以帮您？",
    "您好，工号{id}，请问有什么可以帮您？",
    "您好，短信通{id}号客服为您服务，请讲。",
]
WRONG_OPENINGS = ["您好，短信通客服为您服务！", "喂，您好，请问什么事？", "您好，{other}号客服为您服务！"]
CUSTOMER_ISSUES = [
    "你好，我这几天一直收不到银行的短信提醒，是怎么回事？",
    "我想问一下，这个月的话费怎么比上个月多了三十多块钱？",
    "我家的宽带从昨天晚上开始就上不了网了，灯一直在闪。",
    "我想把现在的套餐改成五十八元的那个，可以吗？",
    "你好，我刚换了新手机，短信通的提醒还能收到吗？",
    "我的卡折了，补办了一张新卡，需要重新签约吗？",
    "上个月说给我退费，到现在钱还没到账。",
    "我想开通一下国际漫游，下周要去香港出差。",
    "请问一下这个短信通服务每个月收多少钱？",
    "我在外地，收不到账户变动的短信了。",
]
ANGRY_LINES = [
    "你们这服务也太差了吧，我都打了三次电话了！",
    "再不给我解决我就去工信部投诉你们！",
    "你们就是乱扣费，把钱给我退回来！",
    "我真的受够了，每次都说帮我处理，结果什么都没变。",
    "凭什么不经过我同意就扣我的钱？",
]
VERIFY = [
    ("请问您是机主本人吗？", "是的，我是本人。"),
    ("麻烦您提供一下签约时登记的手机号码。", "一三八零三七一二二四五。"),
    ("请问您是在哪个网点签约的？", "在城东的那个营业网点办的。"),
    ("麻烦您说一下身份证的后四位。", "后四位是三七一二。"),
]
EXPLAIN = [
    "我这边查询到您的号码属于省外号码，我们的服务只针对河南省内号码。",
    "您的号码在移动设置了免打扰功能，我们会每十天统一报给移动公司处理。",
    "可能是柜员把您的号码输错了，您可以到办理柜台让柜员更换一下。",
    "我查询了一下，我们这边给您发送的短信都是显示发送成功的。",
    "建议您清理一下手机内存之后，发送BZ进行测试。",
    "您也可以发送查询余额或者明细，进行实时测试。",
    "这个费用是短信通的月服务费，每个月三元。",
    "您反映的问题我已经记录，稍后帮您上报技术人员处理。",
    "如果旧卡还有剩余的服务期限，请您及时联系我们。",
    "退费一般在两周之内到账，请您留意一下账户。",
    "请您查看一下手机是否设置了防火墙，或者拦截了短信。",
    "好的，我已经帮您登记了，技术有答复会及时联系您。",
]
CUSTOMER_FOLLOW = [
    "哦，原来是这样。",
    "那我需要带什么证件过去？",
    "好的，我记下来了。",
    "那大概要多久能处理好？",
    "嗯，我明白了。",
    "那我回去试一下。",
    "可以，你帮我登记吧。",
    "我不太清楚怎么发BZ，能再说一遍吗？",
    "对，就是这个号码。",
    "好的，那我等你们的消息。",
]
AGENT_WAIT = ["好的，请稍等，我帮您查询一下。", "请您稍等，我这边帮您核实一下。"]
AGENT_THANKS = ["感谢您的耐心等待，", "让您久等了，", "不好意思让您久等了，"]
FORBIDDEN_INSERTS = [
    "这不是我办理的，你找营业厅问。",
    "你怎么这么啰嗦！",
    "我不知道。",
    "用不起就别用！",
    "不行就是不行，这是规定。",
]
CLOSINGS = ["感谢来电，{id}号客服，再见！", "感谢您的来电，{id}号客服祝您生活愉快，再见！", "好的，再见。"]


def make_transcript(rng: random.Random, n: int = 40) -> dict[str, Any]:
    """One realistic raw call transcript with ``n`` utterances (as a JSON-like dict)."""
    agent_id = str(rng.randint(1000, 9999))
    angry = rng.random() < 0.2
    utts: list[tuple[str, str, int]] = []  # speaker, text, extra gap before (ms)
    if rng.random() < 0.05:
        opening = rng.choice(WRONG_OPENINGS).format(other=rng.randint(1000, 9999))
    else:
        opening = rng.choice(OPENINGS).format(id=agent_id)
    utts.append(("agent", opening, 0))
    utts.append(("customer", rng.choice(CUSTOMER_ISSUES), 0))
    ask, answer = rng.choice(VERIFY)
    utts += [("agent", ask, 0), ("customer", answer, 0)]
    hold_at = rng.randint(6, 20)
    forbidden_at = rng.randint(6, n - 6) if rng.random() < 0.05 else -1
    while len(utts) < n - 3:
        k = len(utts)
        if k == hold_at:
            utts.append(("agent", rng.choice(AGENT_WAIT), 0))
            utts.append(("customer", "好的。", 0))
            text = rng.choice(AGENT_THANKS) + rng.choice(EXPLAIN)
            if rng.random() < 0.1:  # forgot the thanks
                text = rng.choice(EXPLAIN)
            utts.append(("agent", text, rng.randint(11_000, 40_000)))
            continue
        if angry and rng.random() < 0.3:
            utts.append(("customer", rng.choice(ANGRY_LINES), 0))
            utts.append(("agent", "非常抱歉给您带来不便，" + rng.choice(EXPLAIN), 0))
            continue
        text = rng.choice(EXPLAIN)
        if k >= forbidden_at > 0:
            text = rng.choice(FORBIDDEN_INSERTS)
            forbidden_at = -1
        utts.append(("agent", text, 0))
        utts.append(("customer", rng.choice(CUSTOMER_FOLLOW), 0))
    utts = utts[: n - 3]
    utts.append(("agent", "请问您还有其他问题吗？", 0))
    utts.append(("customer", "没有了，谢谢。", 0))
    utts.append(("agent", rng.choice(CLOSINGS).format(id=agent_id), 0))
    out: list[dict[str, Any]] = []
    t = rng.randint(0, 500)
    last_end = {"agent": 0, "customer": 0}
    for speaker, text, extra in utts:
        start = t + extra
        if speaker == "agent" and out and rng.random() < 0.05:
            # talk-over: start before the customer's turn ends (but after it starts)
            start = max(last_end["agent"], out[-1]["start_ms"] + 100, out[-1]["end_ms"] - rng.randint(200, 2500))
        start = max(start, last_end[speaker])
        end = start + 220 * len(text) + rng.randint(0, 400)
        out.append({"speaker": speaker, "text": text, "start_ms": start, "end_ms": end})
        last_end[speaker] = end
        t = end + rng.randint(200, 1500)
    return {"channel": "call", "agent_id": agent_id, "ring_seconds": round(rng.uniform(1, 20), 1), "utterances": out}


def best_of(rounds: int, fn: Callable[[], None]) -> float:
    best = float("inf")
    for _ in range(rounds):
        gc.collect()
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def random_phrases(rng: random.Random, count: int, pool: str) -> list[str]:
    out: set[str] = set()
    while len(out) < count:
        out.add("".join(rng.choice(pool) for _ in range(rng.randint(3, 6))))
    return sorted(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--transcripts", type=int, default=2000)
    parser.add_argument("--utterances", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)

    t0 = time.perf_counter()
    ruleset = default_ruleset()
    build_ms = (time.perf_counter() - t0) * 1000
    raws = [make_transcript(rng, args.utterances) for _ in range(args.transcripts)]
    transcripts: list[Transcript] = [validate_transcript(r) for r in raws]
    n_utts = sum(len(t.utterances) for t in transcripts)
    n_chars = sum(len(u.text) for t in transcripts for u in t.utterances)

    results = [inspect(t, ruleset) for t in transcripts]
    hits = sum(len(r.hits) for r in results)
    vetoed = sum(r.veto for r in results)
    mean_score = sum(r.score or 0 for r in results) / len(results)

    def run_inspect() -> None:
        for t in transcripts:
            ruleset.inspect(t)

    def run_validate_inspect() -> None:
        for r in raws:
            ruleset.inspect(validate_transcript(r))

    def run_validate() -> None:
        for r in raws:
            validate_transcript(r)

    s_inspect = best_of(args.rounds, run_inspect)
    s_full = best_of(args.rounds, run_validate_inspect)
    s_validate = best_of(args.rounds, run_validate)
    tps = args.transcripts / s_inspect
    figures: dict[str, Any] = {
        "python": platform.python_version(),
        "transcripts": args.transcripts,
        "utterances": n_utts,
        "mean_chars_per_utterance": round(n_chars / n_utts, 1),
        "ruleset_version": ruleset.version,
        "ruleset_build_ms": round(build_ms, 1),
        "inspect_transcripts_per_s": round(tps),
        "inspect_us_per_utterance": round(s_inspect / n_utts * 1e6, 2),
        "validate_inspect_transcripts_per_s": round(args.transcripts / s_full),
        "validate_us_per_utterance": round(s_validate / n_utts * 1e6, 2),
        "hits_per_transcript": round(hits / len(results), 2),
        "vetoed_share": round(vetoed / len(results), 4),
        "mean_score": round(mean_score, 2),
    }
    print(f"default rule set {ruleset.version}, built in {build_ms:.0f} ms")
    print(f"{args.transcripts} transcripts, {n_utts} utterances, {n_chars / n_utts:.1f} chars/utterance")
    print(f"inspect:            {tps:8.0f} transcripts/s  {s_inspect / n_utts * 1e6:6.2f} us/utterance")
    print(
        f"validate + inspect: {args.transcripts / s_full:8.0f} transcripts/s  {s_full / n_utts * 1e6:6.2f} us/utterance"
    )
    print(f"hits/transcript {hits / len(results):.2f}, vetoed {vetoed}, mean score {mean_score:.2f}")

    # Matching cost against phrase-list size: agent-side automaton with N forbidden phrases.
    normed = [normalize(u.text) for t in transcripts[:500] for u in t.utterances]
    texts = [u.text for t in transcripts[:500] for u in t.utterances]
    real = [p for g in load_data("forbidden_phrases.json")["groups"] for it in g["items"] for p in it["phrases"]]
    pool = "".join(sorted(set("".join(texts)) - set("，。？！、")))
    matching: dict[str, dict[str, float]] = {}
    print("phrases  scan us/utt  check us/utt  matches/utt")
    print("  (scan: one automaton pass over normalised text; check: normalise + scan + resolve offsets)")
    for size in (10, 100, 1000, 10000):
        phrases = (real + random_phrases(random.Random(size), size, pool))[:size]
        rs = RuleSet([ForbiddenPhraseRule(group="bench", group_name="bench", phrases=tuple(phrases))])
        scan = rs.matchers["agent"].scan
        matches = sum(len(scan(x)[2] or ()) for x in normed) / len(normed)

        def run_scan(scan: Callable[[str], Any] = scan) -> None:
            for x in normed:
                scan(x)

        def run_check(rs: RuleSet = rs) -> None:
            for x in texts:
                rs.check_reply(x)

        s1 = best_of(args.rounds, run_scan) / len(normed) * 1e6
        s2 = best_of(args.rounds, run_check) / len(texts) * 1e6
        matching[str(size)] = {
            "scan_us_per_utterance": round(s1, 3),
            "check_us_per_utterance": round(s2, 3),
            "matches_per_utterance": round(matches, 3),
        }
        print(f"{size:7d}  {s1:11.3f}  {s2:12.3f}  {matches:11.3f}")
    figures["matching"] = matching

    # Sentiment model quality on the held-out set (written apart from the training set).
    held = load_data("sentiment_heldout.jsonl")
    model = ruleset.sentiment
    distress = ruleset._distress  # noqa: SLF001 - benchmark introspection
    assert model is not None and distress is not None
    threshold = distress.threshold
    kw = RuleSet([type(distress)(keywords=distress.keywords, use_sentiment=False)])

    def kw_hit(text: str) -> bool:
        return bool(kw.run_rules(Transcript("chat", "0", [_utt(text)])))

    e_model = evaluate(lambda s: model.probability(s) >= threshold, held)
    e_kw = evaluate(kw_hit, held)
    e_both = evaluate(lambda s: model.probability(s) >= threshold or kw_hit(s), held)
    for name, e in (("model", e_model), ("keywords", e_kw), ("model|keywords", e_both)):
        print(
            f"sentiment {name:15s} n={e.n} acc={e.accuracy:.3f} P={e.precision:.3f} R={e.recall:.3f} "
            f"F1={e.f1:.3f} (tp={e.tp} fp={e.fp} tn={e.tn} fn={e.fn})"
        )
    figures["sentiment_heldout"] = {
        "n": e_model.n,
        "threshold": threshold,
        "features": len(model.weights),
        "model": {
            "accuracy": e_model.accuracy,
            "precision": e_model.precision,
            "recall": e_model.recall,
            "f1": e_model.f1,
        },
        "keywords": {"accuracy": e_kw.accuracy, "precision": e_kw.precision, "recall": e_kw.recall, "f1": e_kw.f1},
        "model_or_keywords": {
            "accuracy": e_both.accuracy,
            "precision": e_both.precision,
            "recall": e_both.recall,
            "f1": e_both.f1,
        },
    }
    print(json.dumps(figures, ensure_ascii=False, sort_keys=True))


def _utt(text: str) -> Any:
    from kefu.quality.engine import Utterance

    return Utterance("customer", text, 0, 1000)


if __name__ == "__main__":
    main()
