"""DB-free tests of the inspection rules (Q1, Q3) on real Chinese call and chat text."""

from __future__ import annotations

import pytest

from kefu.quality.engine import Hit, Transcript, Utterance, default_ruleset, find_agent_ids, inspect


@pytest.fixture(autouse=True)
def _test_settings() -> None:
    """Overrides the root conftest's autouse fixture: DB-free, runs without pytest-django."""


Turn = tuple[str, str, int, int]

OPENING = ("agent", "您好，短信通，1234号客服为您服务！", 0, 3000)
QUESTION = ("customer", "你好，我这几天收不到银行的短信提醒了。", 3500, 7000)
ANSWER = ("agent", "请您发送BZ测试一下，谢谢。", 7500, 10000)
THANKS = ("customer", "好的，谢谢。", 10500, 11500)
CLOSING = ("agent", "感谢来电，1234号客服，再见！", 12000, 14000)
GOOD_CALL: list[Turn] = [OPENING, QUESTION, ANSWER, THANKS, CLOSING]


def call(turns: list[Turn], *, agent_id: str = "1234", channel: str = "call", ring: float | None = None) -> Transcript:
    return Transcript(channel, agent_id, [Utterance(*t) for t in turns], ring_seconds=ring)  # type: ignore[arg-type]


def codes(t: Transcript, prefix: str = "") -> list[tuple[str, int | None, int | None, int | None, str]]:
    return [
        (h.rule, h.utterance_index, h.start, h.end, h.evidence)
        for h in inspect(t, default_ruleset()).hits
        if h.rule.startswith(prefix)
    ]


def test_q1_q3_good_call_has_no_hits_and_full_score() -> None:
    result = inspect(call(GOOD_CALL))
    assert result.hits == ()
    assert result.score == 100.0
    assert result.veto is False
    assert result.sheet is not None and result.sheet.pending_items == (
        "information_entry",
        "report_submission",
        "manager_review",
        "teamwork",
        "business_growth",
    )


def test_q1_opening_with_wrong_agent_id_is_a_hit() -> None:
    """Q1: the agent must state their OWN id; another id is reported at its offsets."""
    turns = [("agent", "您好，短信通，4321号客服为您服务！", 0, 3000), *GOOD_CALL[1:]]
    assert codes(call(turns), "opening") == [("opening.wrong_agent_id", 0, 7, 11, "4321")]


def test_q1_opening_without_id_or_greeting() -> None:
    turns = [("agent", "短信通客服为您服务。", 0, 3000), *GOOD_CALL[1:]]
    # hits are ordered by utterance, offset, then code
    assert codes(call(turns), "opening") == [
        ("opening.missing_agent_id", 0, None, None, ""),
        ("opening.missing_greeting", 0, None, None, ""),
    ]


@pytest.mark.parametrize(
    "text",
    [
        "您好，工号1234，请问有什么可以帮您？",
        "您好，1234号为您服务",
        "您好，我的工號是１２３４。",
        "您好，幺二三四号客服为您服务",
        "您好，工号01234",
    ],
)
def test_q1_opening_id_forms(text: str) -> None:
    """Q1: 工号1234, 1234号, traditional and full-width forms and spoken digits all count."""
    turns = [("agent", text, 0, 3000), *GOOD_CALL[1:]]
    assert codes(call(turns), "opening") == []


def test_q1_find_agent_ids_ignores_phone_numbers() -> None:
    assert find_agent_ids("您的号码是13800138000，对吗？") == []
    assert find_agent_ids("工号1234号为您服务") == [(2, 6, "1234")]


def test_q1_closing_must_state_the_id() -> None:
    turns = [*GOOD_CALL[:-1], ("agent", "感谢来电，再见！", 12000, 14000)]
    assert codes(call(turns), "closing") == [("closing.missing_agent_id", 4, None, None, "")]
    turns = [*GOOD_CALL[:-1], ("agent", "好的，1234号客服。", 12000, 14000)]
    assert codes(call(turns), "closing") == [("closing.missing_phrase", 4, None, None, "")]


def test_q1_ring_time_over_three_rings() -> None:
    assert codes(call(GOOD_CALL, ring=16.5), "ring_time") == [("ring_time", None, None, None, "16.5s")]
    assert codes(call(GOOD_CALL, ring=15.0), "ring_time") == []
    assert codes(call(GOOD_CALL, ring=None), "ring_time") == []


def test_q3_courtesy_phrases_missing() -> None:
    """Q3: 请 and 谢谢 never said by the agent are reported once each, without position."""
    turns = [
        OPENING,
        QUESTION,
        ("agent", "发BZ测试一下就行。", 7500, 10000),
        THANKS,
        ("agent", "1234号客服，再见！", 12000, 14000),
    ]
    assert codes(call(turns), "courtesy") == [
        ("courtesy.please", None, None, None, ""),
        ("courtesy.thanks", None, None, None, ""),
    ]


def test_q3_apology_required_after_customer_distress() -> None:
    angry = ("customer", "你们这服务也太差了，我要投诉！", 3500, 7000)
    turns = [OPENING, angry, ANSWER, THANKS, CLOSING]
    hits = inspect(call(turns)).hits
    assert [(h.rule, h.utterance_index, h.start, h.end, h.evidence) for h in hits] == [
        ("courtesy.apology", 1, None, None, ""),
        ("customer_distress.keyword", 1, 6, 9, "太差了"),
        ("customer_distress.keyword", 1, 12, 14, "投诉"),
    ]
    apologised = ("agent", "非常抱歉给您带来不便，请您发送BZ测试一下，谢谢。", 7500, 10000)
    assert codes(call([OPENING, angry, apologised, THANKS, CLOSING]), "courtesy") == []


def test_q3_hold_without_wait_phrase() -> None:
    """Q3: a 15 s silence before the agent speaks again needs 请稍等 before it."""
    turns = [
        OPENING,
        QUESTION,
        ("agent", "感谢您的耐心等待，请您发送BZ测试一下，谢谢。", 22000, 26000),
        THANKS,
        CLOSING,
    ]
    assert codes(call(turns), "hold") == [("hold.no_wait_phrase", 0, None, None, "15.0s")]


def test_q3_hold_without_thanks_after() -> None:
    turns = [
        OPENING,
        QUESTION,
        ("agent", "好的，请稍等，我帮您查询一下。", 7500, 10000),
        ("customer", "好。", 10200, 10600),
        ("agent", "请您发送BZ测试一下，谢谢。", 25000, 28000),
        THANKS,
        CLOSING,
    ]
    assert codes(call(turns), "hold") == [("hold.no_thanks", 4, None, None, "14.4s")]


def test_q3_hold_done_right_and_customer_silences_are_not_holds() -> None:
    turns = [
        OPENING,
        QUESTION,
        ("agent", "好的，请稍等，我帮您查询一下。", 7500, 10000),
        ("customer", "好。", 10200, 10600),
        ("agent", "让您久等了，请您发送BZ测试一下，谢谢。", 25000, 28000),
        THANKS,
        CLOSING,
    ]
    assert codes(call(turns), "hold") == []
    # the agent asks, the customer takes 20 s to find the number: not the agent's hold
    asks = [
        OPENING,
        ("agent", "请问您签约的手机号码是多少？", 3500, 6000),
        ("customer", "稍等，我找一下。", 6500, 8000),
        ("customer", "一三八零零一三八零零零。", 28000, 31000),
        ("agent", "好的，谢谢，请您发送BZ测试一下。", 31500, 34000),
        ("agent", "感谢来电，1234号客服，再见！", 34500, 36000),
    ]
    assert codes(call(asks), "hold") == []


def test_q3_chat_uses_a_longer_hold_threshold() -> None:
    turns = [OPENING, QUESTION, ("agent", "请您发送BZ测试一下，谢谢。", 60000, 61000), THANKS, CLOSING]
    assert codes(call(turns, channel="chat"), "hold") == []
    assert codes(call(turns, channel="call"), "hold") == [
        ("hold.no_wait_phrase", 0, None, None, "53.0s"),
        ("hold.no_thanks", 2, None, None, "53.0s"),
    ]


def test_talk_over_longer_than_one_second() -> None:
    over = ("agent", "请您发送BZ测试一下，谢谢。", 5000, 8000)  # customer speaks until 7000
    turns = [OPENING, QUESTION, over, ("customer", "好的，谢谢。", 8500, 9000), CLOSING]
    assert codes(call(turns), "talk_over") == [("talk_over", 2, None, None, "2000ms")]
    backchannel = ("agent", "嗯。", 6200, 6600)  # 400 ms overlap: not talk-over
    turns = [OPENING, QUESTION, backchannel, ANSWER, THANKS, CLOSING]
    assert codes(call(turns), "talk_over") == []


def test_chat_first_response_and_reply_times() -> None:
    turns: list[Turn] = [
        ("customer", "在吗？我的短信收不到了。", 0, 0),
        ("bot", "您好，正在为您转接人工客服。", 1000, 1000),
        ("agent", "您好，1234号客服为您服务，请问您的号码是？", 45000, 45000),
        ("customer", "13800138000", 50000, 50000),
        ("agent", "好的，谢谢，请您发送BZ测试一下。", 130000, 130000),
        ("agent", "感谢您的咨询，1234号客服，再见！", 131000, 131000),
    ]
    assert codes(call(turns, channel="chat"), "response_time") == [
        ("response_time.first", 2, None, None, "45s"),
        ("response_time.reply", 4, None, None, "80s"),
    ]


def test_customer_distress_keyword_and_sentiment() -> None:
    turns = [
        OPENING,
        ("customer", "再不解决我就打12300！", 3500, 6000),
        ("customer", "我真的受不了你们了，一直在浪费我的时间", 6500, 9000),
        ("customer", "我的号码是13812300456。", 9500, 12000),
        ANSWER,
        CLOSING,
    ]
    result = inspect(call(turns))
    distress = [
        (h.rule, h.utterance_index, h.start, h.end, h.evidence)
        for h in result.hits
        if h.rule.startswith("customer_distress")
    ]
    assert distress == [
        ("customer_distress.keyword", 1, 7, 12, "12300"),
        ("customer_distress.sentiment", 2, None, None, "1.00"),
    ]
    assert result.customer_distress is True
    assert result.distressed_utterances == (1, 2)


def test_rule_check_runs_one_rule_alone() -> None:
    rule = next(r for r in default_ruleset().rules if r.code == "talk_over")
    over = ("agent", "请您发送BZ测试一下。", 5000, 8000)
    hits = rule.check(call([OPENING, QUESTION, over]))
    assert hits == [
        Hit("talk_over", "minor", 2, None, None, "The agent talked over the customer for 2000 ms.", "2000ms")
    ]
