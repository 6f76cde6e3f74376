"""DB-free tests of transcript validation (input contract of Q1-Q3 inspection)."""

from __future__ import annotations

from typing import Any

import pytest

from kefu.quality.engine import Transcript, TranscriptError, Utterance, validate_transcript


@pytest.fixture(autouse=True)
def _test_settings() -> None:
    """Overrides the root conftest's autouse fixture: DB-free, runs without pytest-django."""


def raw(*utts: dict[str, Any], **top: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"channel": "call", "agent_id": "1234", "utterances": list(utts)}
    base.update(top)
    return base


def u(speaker: Any = "agent", text: Any = "您好", start: Any = 0, end: Any = 1000) -> dict[str, Any]:
    return {"speaker": speaker, "text": text, "start_ms": start, "end_ms": end}


def problems(data: Any) -> list[tuple[str, str]]:
    with pytest.raises(TranscriptError) as info:
        validate_transcript(data)
    return [(p.code, p.field) for p in info.value.problems]


def test_valid_transcript_is_built() -> None:
    t = validate_transcript(raw(u(), u("customer", "你好", 500, 1500), ring_seconds=4, transcript_id="c-1"))
    assert t == Transcript(
        "call",
        "1234",
        [Utterance("agent", "您好", 0, 1000), Utterance("customer", "你好", 500, 1500)],
        ring_seconds=4.0,
        transcript_id="c-1",
        metadata={},
    )


def test_every_problem_reported_with_field_path() -> None:
    data = raw(
        u(),
        u("robot", "好的", 1000, 2000),
        u("customer", "", 2000, 3000),
        u("customer", "好的", -5, 3000),
        u("agent", "好的", 5000, 4000),
        u("agent", 123, 6000, 7000),
        u("agent", "请\x07稍等", 8000, 9000),
        u("agent", "x" * 5001, 9000, 9500),
        u("agent", "好", 7000, 10000),
        u("agent", "好", 12000, 13000.5),
    )
    assert problems(data) == [
        ("unknown_speaker", "utterances[1].speaker"),
        ("empty_text", "utterances[2].text"),
        ("negative", "utterances[3].start_ms"),
        ("end_before_start", "utterances[4].end_ms"),
        ("not_a_string", "utterances[5].text"),
        ("control_character", "utterances[6].text"),
        ("too_long", "utterances[7].text"),
        ("out_of_order", "utterances[8].start_ms"),
        ("overlap_same_speaker", "utterances[8].start_ms"),
        ("not_an_integer", "utterances[9].end_ms"),
    ]


def test_same_speaker_overlap_is_an_error_but_cross_speaker_overlap_is_not() -> None:
    assert problems(raw(u("agent", "您好", 0, 3000), u("agent", "请讲", 2000, 4000))) == [
        ("overlap_same_speaker", "utterances[1].start_ms"),
    ]
    t = validate_transcript(raw(u("customer", "我要查话费", 0, 3000), u("agent", "好的", 2000, 4000)))
    assert len(t.utterances) == 2


def test_top_level_problems() -> None:
    assert problems({"channel": "fax", "agent_id": "", "utterances": [], "ring_seconds": -1, "extra": 1}) == [
        ("unknown_field", "extra"),
        ("invalid_choice", "channel"),
        ("empty_text", "agent_id"),
        ("negative", "ring_seconds"),
        ("empty", "utterances"),
    ]
    assert problems({}) == [("required", "channel"), ("required", "agent_id"), ("required", "utterances")]
    assert problems([]) == [("not_an_object", "")]
    assert problems(raw(*[u(start=i * 10, end=i * 10 + 5) for i in range(2001)])) == [("too_many", "utterances")]
    assert problems(raw(u(), ring_seconds=True)) == [("not_a_number", "ring_seconds")]


def test_utterance_missing_fields_and_lone_surrogate() -> None:
    assert problems(raw({"speaker": "agent"}, u("agent", "\ud800", 2000, 3000))) == [
        ("required", "utterances[0].text"),
        ("required", "utterances[0].start_ms"),
        ("required", "utterances[0].end_ms"),
        ("control_character", "utterances[1].text"),
    ]


def test_error_message_is_english_and_names_the_field() -> None:
    with pytest.raises(TranscriptError) as info:
        validate_transcript(raw(u("agent", "好", 5000, 4000)))
    assert str(info.value) == "utterances[0].end_ms: must not be before start_ms (4000 < 5000)"
