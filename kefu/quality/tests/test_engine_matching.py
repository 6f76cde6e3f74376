"""DB-free tests of normalisation and forbidden-phrase matching (Q2) in kefu.quality.engine."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kefu.quality.engine import (
    ForbiddenPhraseRule,
    RuleSet,
    Transcript,
    Utterance,
    check_reply,
    default_ruleset,
    inspect,
    kept_indices,
    normalize,
)
from kefu.quality.engine.data import load_data


@pytest.fixture(autouse=True)
def _test_settings() -> None:
    """Overrides the root conftest's autouse fixture: these tests are DB-free and run
    without pytest-django (``-p no:django``)."""


def one_agent_turn(text: str) -> Transcript:
    return Transcript("call", "1234", [Utterance("agent", text, 0, 3000)])


def forbidden_hits(text: str) -> list[tuple[str, int | None, int | None, str]]:
    result = inspect(one_agent_turn(text), default_ruleset())
    return [(h.rule, h.start, h.end, h.evidence) for h in result.hits if h.rule.startswith("forbidden.")]


def test_normalize_folds_width_case_traditional_and_drops_punctuation() -> None:
    assert normalize("你 怎 么 这 么 笨") == "你怎么这么笨"
    assert normalize("你怎麼這麼笨！") == "你怎么这么笨"
    assert normalize("工號：ＡＢ１２３４，謝謝。") == "工号ab1234谢谢"
    assert normalize("请\u200b稍\u3000等…") == "请稍等"
    # simplified characters that appear as keys of the variant tables stay unchanged
    assert normalize("什么后台著") == "什么后台著"


def test_kept_indices_map_normalised_offsets_back() -> None:
    text = "您好， 請問？"
    assert normalize(text) == "您好请问"
    assert kept_indices(text) == [0, 1, 4, 5]


def test_q2_forbidden_phrase_exact_offsets() -> None:
    """Q2: "你怎么这么笨" inside an agent turn is hit at its own offsets."""
    assert forbidden_hits("好的，你怎么这么笨，我说了三遍了") == [("forbidden.arrogance", 3, 9, "你怎么这么笨")]


def test_q2_forbidden_phrase_tolerates_spacing_and_traditional() -> None:
    assert forbidden_hits("你 怎 么 这 么 笨") == [("forbidden.arrogance", 0, 11, "你 怎 么 这 么 笨")]
    assert forbidden_hits("你怎麼這麼笨") == [("forbidden.arrogance", 0, 6, "你怎麼這麼笨")]
    assert forbidden_hits("你，怎么这么笨！") == [("forbidden.arrogance", 0, 7, "你，怎么这么笨")]


def test_q2_courteous_text_is_not_forbidden() -> None:
    assert forbidden_hits("不好意思让您久等了") == []
    assert forbidden_hits("您好，请问有什么可以帮您？") == []
    assert forbidden_hits("我帮您查一下为什么会扣费。") == []
    assert forbidden_hits("这个我不知道怎么回事，我帮您上报。") == []


def test_q2_clause_only_phrases_hit_as_a_whole_clause() -> None:
    """Q2: the retorts 什么？/为什么？ are forbidden only when said on their own."""
    assert forbidden_hits("什么？") == [("forbidden.questioning", 0, 2, "什么")]
    assert forbidden_hits("为什么呢？你自己看吧") == [("forbidden.questioning", 0, 3, "为什么")]
    assert forbidden_hits("喂，您好") == [("forbidden.rude_address", 0, 1, "喂")]


def test_q2_each_of_the_four_groups() -> None:
    assert forbidden_hits("嘿，听得到吗") == [("forbidden.rude_address", 0, 1, "嘿")]
    assert forbidden_hits("你究竟要不要听我说？") == [("forbidden.questioning", 0, 9, "你究竟要不要听我说")]
    assert forbidden_hits("不行就是不行，这是规定。") == [("forbidden.arrogance", 0, 11, "不行就是不行，这是规定")]
    assert forbidden_hits("这不关我事，这不是我错，没这回事。") == [
        ("forbidden.shirking", 0, 16, "这不关我事，这不是我错，没这回事")
    ]


def test_q2_wildcard_phrase_with_xx() -> None:
    """Q2: the seed's "你找XX地方问" matches any 1-10 characters in place of XX."""
    assert forbidden_hits("你找别的地方问去") == [("forbidden.shirking", 0, 8, "你找别的地方问去")]
    assert forbidden_hits("你找别的地方问吧") == [("forbidden.shirking", 0, 7, "你找别的地方问")]
    assert forbidden_hits("你拨10086电话去查") == [("forbidden.shirking", 0, 11, "你拨10086电话去查")]
    assert forbidden_hits("你找地方问") == []  # XX stands for at least one character


def test_q2_customer_speech_is_not_checked_for_forbidden_phrases() -> None:
    t = Transcript("call", "1234", [Utterance("customer", "你怎么这么笨", 0, 1000)])
    assert [h for h in inspect(t).hits if h.rule.startswith("forbidden.")] == []


def test_q2_seed_list_is_copied_in_four_groups() -> None:
    data = load_data("forbidden_phrases.json")
    assert [(g["code"], g["name"]) for g in data["groups"]] == [
        ("rude_address", "对客户直呼"),
        ("questioning", "质问、谴责或反问客户"),
        ("arrogance", "态度傲慢、厌烦"),
        ("shirking", "推诿客户"),
    ]
    assert [len(g["items"]) for g in data["groups"]] == [1, 3, 9, 7]
    arrogance = data["groups"][2]["items"]
    assert arrogance[4]["seed_text"] == "故意见找领导去,要告就告去!"
    assert data["groups"][3]["items"][6]["phrases"] == ["你自己先查清晰"]


def test_check_reply_live_warning_offsets() -> None:
    hits = check_reply("您好！你怎麼這麼笨？不行就是不行，这是规定")
    assert [(h.rule, h.severity, h.utterance_index, h.start, h.end, h.evidence) for h in hits] == [
        ("forbidden.arrogance", "critical", None, 3, 9, "你怎麼這麼笨"),
        ("forbidden.arrogance", "critical", None, 10, 21, "不行就是不行，这是规定"),
    ]
    assert check_reply("好的，请稍等，我帮您查询一下。") == []
    with pytest.raises(TypeError):
        check_reply(None)  # type: ignore[arg-type]


def test_matcher_handles_many_phrases() -> None:
    phrases = tuple(f"禁语{i:05d}" for i in range(10_000)) + ("你怎么这么笨",)
    rs = RuleSet([ForbiddenPhraseRule(group="big", group_name="big", phrases=phrases)])
    assert len(rs.matchers["agent"]) == 10_001
    assert [(h.rule, h.start, h.end) for h in rs.check_reply("说了禁语09999和你怎么这么笨")] == [
        ("forbidden.big", 2, 9),
        ("forbidden.big", 10, 16),
    ]


CHARS = list("你怎么这么笨 ，。！？\u3000\u200b麼這工號ａＢ１2喂什么")


@given(st.lists(st.sampled_from(CHARS), max_size=40))
def test_offset_map_is_consistent_for_any_text(chars: list[str]) -> None:
    text = "".join(chars)
    norm = normalize(text)
    kept = kept_indices(text)
    assert len(kept) == len(norm)
    assert "".join(normalize(text[i]) for i in kept) == norm


@given(st.lists(st.sampled_from(CHARS), max_size=40))
def test_live_check_evidence_is_the_phrase_in_the_original_text(chars: list[str]) -> None:
    text = "".join(chars)
    for h in check_reply(text):
        assert h.start is not None and h.end is not None
        assert h.evidence == text[h.start : h.end]
        assert normalize(h.evidence) in {"你怎么这么笨", "喂", "什么"}
