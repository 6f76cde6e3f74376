"""Validation of raw transcripts before inspection (Q1-Q3 need trustworthy input).

``validate_transcript`` turns an untrusted mapping (parsed JSON from an ASR vendor, the
chat store or the API) into a :class:`Transcript`, or raises :class:`TranscriptError`
listing EVERY problem found with a stable code and a field path such as
``utterances[3].start_ms``. Messages are English; the Django layer translates by code.

Overlap between DIFFERENT speakers is allowed: it is talk-over, judged by a rule, not an
input error. Overlap of the same speaker is impossible in a diarised transcript and is
rejected.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .types import CHANNELS, SPEAKERS, Transcript, Utterance

MAX_TEXT_CHARS = 5_000
MAX_UTTERANCES = 2_000
MAX_OFFSET_MS = 24 * 3600 * 1000  # one day: longer "contacts" are corrupt data
MAX_AGENT_ID_CHARS = 32
MAX_PROBLEMS = 200

# C0 controls except TAB/LF/CR, DEL, C1 controls and lone surrogates (invalid UTF-16 that
# JSON parsers let through). The separator used by the normaliser (U+001E) is among them.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")

_TOP_LEVEL = frozenset({"channel", "agent_id", "utterances", "ring_seconds", "transcript_id", "metadata"})
_UTTERANCE_KEYS = frozenset({"speaker", "text", "start_ms", "end_ms"})


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with the input: stable ``code``, ``field`` path, English message."""

    code: str
    field: str
    message: str


class TranscriptError(ValueError):
    """Raised by :func:`validate_transcript`; ``problems`` lists every problem found."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        first = problems[0] if problems else Problem("invalid", "", "invalid transcript")
        more = f" (+{len(problems) - 1} more)" if len(problems) > 1 else ""
        super().__init__(f"{first.field}: {first.message}{more}")


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_text(value: object, path: str, limit: int, problems: list[Problem]) -> str | None:
    if not isinstance(value, str):
        problems.append(Problem("not_a_string", path, f"must be a string, got {type(value).__name__}"))
        return None
    if not value.strip():
        problems.append(Problem("empty_text", path, "must not be empty"))
        return None
    if len(value) > limit:
        problems.append(Problem("too_long", path, f"must be at most {limit} characters, got {len(value)}"))
        return None
    bad = _CONTROL.search(value)
    if bad is not None:
        problems.append(
            Problem(
                "control_character",
                path,
                f"contains control or invalid character U+{ord(bad.group()):04X} at position {bad.start()}",
            )
        )
        return None
    return value


def _check_offset(value: object, path: str, problems: list[Problem]) -> int | None:
    if not _is_int(value):
        problems.append(
            Problem("not_an_integer", path, f"must be an integer number of milliseconds, got {type(value).__name__}")
        )
        return None
    assert isinstance(value, int)
    if value < 0:
        problems.append(Problem("negative", path, f"must not be negative, got {value}"))
        return None
    if value > MAX_OFFSET_MS:
        problems.append(Problem("too_large", path, f"must be at most {MAX_OFFSET_MS} ms, got {value}"))
        return None
    return value


def validate_transcript(raw: Mapping[str, Any]) -> Transcript:
    """Check ``raw`` and build a :class:`Transcript` (Q1-Q3 input contract).

    Checks: known top-level keys; ``channel`` in call/chat/email/sms; non-empty
    ``agent_id`` string; ``ring_seconds`` absent/None or a finite non-negative number;
    1..2,000 utterances, each a mapping with a known ``speaker``, non-empty ``text`` of at
    most 5,000 characters without control characters, integer ``start_ms``/``end_ms``
    that are non-negative with ``end_ms >= start_ms``; utterances sorted by ``start_ms``;
    no two utterances of the same speaker overlapping. Raises :class:`TranscriptError`
    with all problems (at most 200) when anything is wrong.
    """
    problems: list[Problem] = []
    if not isinstance(raw, Mapping):
        raise TranscriptError([Problem("not_an_object", "", "transcript must be an object")])

    for key in raw:
        if key not in _TOP_LEVEL:
            problems.append(Problem("unknown_field", str(key), "is not a transcript field"))

    channel = raw.get("channel")
    if channel is None:
        problems.append(Problem("required", "channel", "is required"))
    elif not isinstance(channel, str) or channel not in CHANNELS:
        problems.append(Problem("invalid_choice", "channel", f"must be one of {', '.join(sorted(CHANNELS))}"))

    agent_id: str | None = None
    if "agent_id" not in raw:
        problems.append(Problem("required", "agent_id", "is required"))
    else:
        agent_id = _check_text(raw["agent_id"], "agent_id", MAX_AGENT_ID_CHARS, problems)

    ring = raw.get("ring_seconds")
    ring_seconds: float | None = None
    if ring is not None:
        if isinstance(ring, bool) or not isinstance(ring, int | float) or not math.isfinite(ring):
            problems.append(Problem("not_a_number", "ring_seconds", "must be a finite number of seconds"))
        elif ring < 0:
            problems.append(Problem("negative", "ring_seconds", f"must not be negative, got {ring}"))
        else:
            ring_seconds = float(ring)

    transcript_id = raw.get("transcript_id")
    if transcript_id is not None and not isinstance(transcript_id, str):
        problems.append(Problem("not_a_string", "transcript_id", "must be a string"))
        transcript_id = None
    metadata = raw.get("metadata")
    if metadata is not None and not isinstance(metadata, Mapping):
        problems.append(Problem("not_an_object", "metadata", "must be an object"))
        metadata = None

    utterances: list[Utterance] = []
    raw_utts = raw.get("utterances")
    if raw_utts is None:
        problems.append(Problem("required", "utterances", "is required"))
    elif not isinstance(raw_utts, list | tuple):
        problems.append(Problem("not_a_list", "utterances", "must be a list"))
    elif not raw_utts:
        problems.append(Problem("empty", "utterances", "must contain at least one utterance"))
    elif len(raw_utts) > MAX_UTTERANCES:
        problems.append(
            Problem("too_many", "utterances", f"must contain at most {MAX_UTTERANCES} utterances, got {len(raw_utts)}")
        )
    else:
        utterances = _check_utterances(raw_utts, problems)

    if problems:
        raise TranscriptError(problems[:MAX_PROBLEMS])
    assert isinstance(channel, str) and agent_id is not None
    return Transcript(
        channel=channel,  # type: ignore[arg-type]  # checked against CHANNELS above
        agent_id=agent_id.strip(),
        utterances=utterances,
        ring_seconds=ring_seconds,
        transcript_id=transcript_id,
        metadata=dict(metadata or {}),
    )


def _check_utterances(raw_utts: list[Any] | tuple[Any, ...], problems: list[Problem]) -> list[Utterance]:
    out: list[Utterance] = []
    prev_start: int | None = None
    last_end: dict[str, int] = {}
    for i, item in enumerate(raw_utts):
        base = f"utterances[{i}]"
        if len(problems) >= MAX_PROBLEMS:
            break
        if not isinstance(item, Mapping):
            problems.append(Problem("not_an_object", base, "must be an object"))
            continue
        for key in item:
            if key not in _UTTERANCE_KEYS:
                problems.append(Problem("unknown_field", f"{base}.{key}", "is not an utterance field"))
        speaker = item.get("speaker")
        if not isinstance(speaker, str) or speaker not in SPEAKERS:
            problems.append(
                Problem("unknown_speaker", f"{base}.speaker", f"must be one of agent, customer, bot, got {speaker!r}")
            )
            speaker = None
        text = _check_text(item.get("text"), f"{base}.text", MAX_TEXT_CHARS, problems) if "text" in item else None
        if "text" not in item:
            problems.append(Problem("required", f"{base}.text", "is required"))
        start = end = None
        if "start_ms" not in item:
            problems.append(Problem("required", f"{base}.start_ms", "is required"))
        else:
            start = _check_offset(item["start_ms"], f"{base}.start_ms", problems)
        if "end_ms" not in item:
            problems.append(Problem("required", f"{base}.end_ms", "is required"))
        else:
            end = _check_offset(item["end_ms"], f"{base}.end_ms", problems)
        if start is not None and end is not None and end < start:
            problems.append(
                Problem("end_before_start", f"{base}.end_ms", f"must not be before start_ms ({end} < {start})")
            )
            end = None
        if start is not None:
            if prev_start is not None and start < prev_start:
                problems.append(
                    Problem(
                        "out_of_order",
                        f"{base}.start_ms",
                        f"utterances must be sorted by start_ms ({start} < previous {prev_start})",
                    )
                )
            else:
                prev_start = start
            if speaker is not None and end is not None:
                previous_end = last_end.get(speaker)
                if previous_end is not None and start < previous_end:
                    problems.append(
                        Problem(
                            "overlap_same_speaker",
                            f"{base}.start_ms",
                            f"overlaps the previous {speaker} utterance, which ends at {previous_end}",
                        )
                    )
        if speaker is not None and end is not None:
            last_end[speaker] = max(end, last_end.get(speaker, 0))
        if speaker is not None and text is not None and start is not None and end is not None:
            out.append(Utterance(speaker, text, start, end))  # type: ignore[arg-type]  # checked against SPEAKERS
    return out
