"""DB-free tests of scoring sheets (Q4), rule-set versions and the sentiment model."""

from __future__ import annotations

import copy

import pytest

from kefu.quality.engine import (
    Hit,
    RuleSet,
    ScoringSheet,
    Transcript,
    Utterance,
    default_config,
    default_ruleset,
    inspect,
    score_sheet,
)
from kefu.quality.engine.data import load_data
from kefu.quality.engine.sentiment import evaluate


@pytest.fixture(autouse=True)
def _test_settings() -> None:
    """Overrides the root conftest's autouse fixture: DB-free, runs without pytest-django."""


SHEET = ScoringSheet.from_config(
    {
        "code": "t",
        "items": [
            {
                "code": "script",
                "max_points": 20,
                "rules": ["opening", "closing"],
                "deduction_per_hit": 5,
                "deductions": {"opening.wrong_agent_id": 15},
            },
            {
                "code": "attitude",
                "max_points": 30,
                "weight": 2,
                "rules": ["forbidden.questioning", "talk_over"],
                "deduction_per_hit": 10,
            },
            {
                "code": "abuse",
                "max_points": 10,
                "rules": ["forbidden.arrogance"],
                "deduction_per_hit": 10,
                "veto": True,
            },
            {"code": "entry", "max_points": 10, "manual": True},
        ],
    }
)


def hit(rule: str) -> Hit:
    return Hit(rule, "minor", 0, None, None, "", "")


def test_q4_sheet_deductions_weights_and_pending_manual_item() -> None:
    score = score_sheet(
        SHEET,
        [
            hit("opening.missing_agent_id"),
            hit("closing.missing_phrase"),
            hit("talk_over"),
            hit("customer_distress.keyword"),
        ],
    )
    # script 20-5-5=10 (w1), attitude 30-10=20 (w2), abuse 10 (w1); entry pending
    # total = 100 * (10 + 40 + 10) / (20 + 60 + 10)
    assert score.total == 66.67
    assert score.veto is False
    assert [(i.code, i.points, i.hits) for i in score.items] == [
        ("script", 10.0, 2),
        ("attitude", 20.0, 1),
        ("abuse", 10.0, 0),
        ("entry", None, 0),
    ]
    assert score.pending_items == ("entry",)


def test_q4_specific_deduction_and_floor_at_zero() -> None:
    score = score_sheet(SHEET, [hit("opening.wrong_agent_id"), hit("closing.missing_agent_id")], {"entry": 8})
    assert [(i.code, i.points) for i in score.items] == [
        ("script", 0.0),
        ("attitude", 30.0),
        ("abuse", 10.0),
        ("entry", 8.0),
    ]
    assert score.total == 78.0  # 100 * (0 + 60 + 10 + 8) / (20 + 60 + 10 + 10)


def test_q4_veto_item_sets_total_to_zero() -> None:
    """Q4: a hit on a 一票否决 item makes the whole score 0."""
    score = score_sheet(SHEET, [hit("forbidden.arrogance")], {"entry": 10})
    assert score.veto is True
    assert score.veto_items == ("abuse",)
    assert score.total == 0.0
    assert [(i.code, i.points, i.vetoed) for i in score.items][2] == ("abuse", 0.0, True)


def test_q4_manual_points_are_checked() -> None:
    with pytest.raises(ValueError, match="between 0 and 10"):
        score_sheet(SHEET, [], {"entry": 11})
    with pytest.raises(ValueError, match="unknown sheet item"):
        score_sheet(SHEET, [], {"nope": 1})


def test_q4_default_sheet_from_seed_003() -> None:
    sheet = default_ruleset().sheet
    assert sheet is not None
    assert sum(i.max_points for i in sheet.items) == 100
    assert [(i.code, i.veto) for i in sheet.items if i.veto] == [("severe_attitude", True)]
    assert load_data("default_sheet.json")["items"][0]["name"] == "开头语报工号，问候语和结束语恰当"


def test_q4_inspect_applies_default_sheet_with_veto() -> None:
    t = Transcript(
        "call",
        "1234",
        [
            Utterance("agent", "您好，短信通，1234号客服为您服务！", 0, 3000),
            Utterance("customer", "我的短信一直收不到。", 3500, 6000),
            Utterance("agent", "用不起就别用！", 6500, 8000),
            Utterance("agent", "请您发送BZ测试，谢谢，1234号客服，再见。", 8500, 12000),
        ],
    )
    result = inspect(t)
    assert [(h.rule, h.utterance_index, h.start, h.end) for h in result.hits] == [("forbidden.arrogance", 2, 0, 6)]
    assert result.veto is True
    assert result.score == 0.0
    assert result.ruleset_version == default_ruleset().version


def test_ruleset_version_is_stable_and_tracks_config() -> None:
    config = default_config()
    a = RuleSet.from_config(config)
    b = RuleSet.from_config(copy.deepcopy(config))
    assert a.version == b.version == default_ruleset().version
    assert a.version.startswith("default@") and len(a.version) == len("default@") + 16
    changed = copy.deepcopy(config)
    next(r for r in changed["rules"] if r["type"] == "ring_time")["max_seconds"] = 20
    assert RuleSet.from_config(changed).version != a.version
    # the $data references and their inlined content give the same version
    assert RuleSet.from_config(load_data("default_ruleset.json")).version == a.version


def test_ruleset_config_errors() -> None:
    with pytest.raises(ValueError, match="unknown rule type"):
        RuleSet.from_config({"rules": [{"type": "nope"}]})
    with pytest.raises(ValueError, match="defined twice"):
        RuleSet.from_config(
            {
                "rules": [
                    {"type": "ring_time"},
                    {"type": "ring_time"},
                    {"type": "talk_over"},
                    {"type": "courtesy", "groups": [{"code": "a", "phrases": ["您好"]}]},
                    {"type": "courtesy", "groups": [{"code": "a", "phrases": ["您好"]}]},
                ]
            }
        )


def test_sentiment_model_on_held_out_set() -> None:
    """The shipped model's quality on the held-out set (100 utterances written apart from
    the training data); exact figures so a data or training change is noticed."""
    rs = default_ruleset()
    model = rs.sentiment
    assert model is not None
    result = evaluate(lambda s: model.probability(s) >= 0.5, load_data("sentiment_heldout.jsonl"))
    assert (result.n, result.tp, result.fp, result.tn, result.fn) == (100, 42, 2, 48, 8)
    assert result.accuracy == 0.9


def test_sentiment_in_automaton_equals_reference_scorer() -> None:
    rs = default_ruleset()
    assert rs.sentiment is not None
    texts = ["你们就是一群骗子，我要投诉", "好的，谢谢你", "宽带又断了，这都第三次了"]
    t = Transcript("chat", "1", [Utterance("customer", x, i * 10, i * 10 + 5) for i, x in enumerate(texts)])
    analysis = rs.analyse(t)
    for i, x in enumerate(texts):
        assert analysis.sentiment(i) == pytest.approx(rs.sentiment.probability(x), abs=1e-9)
