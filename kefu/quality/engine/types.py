"""Plain data types of the inspection engine (Q1-Q4).

Pure Python: nothing here imports Django, so the engine runs in tests, workers and the
benchmark alike. Offsets in :class:`Hit` always refer to the ORIGINAL utterance text, so
the agent UI can highlight exactly what was said.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

Speaker = Literal["agent", "customer", "bot"]
Channel = Literal["call", "chat", "email", "sms"]
Severity = Literal["info", "minor", "major", "critical"]

SPEAKERS: frozenset[str] = frozenset({"agent", "customer", "bot"})
CHANNELS: frozenset[str] = frozenset({"call", "chat", "email", "sms"})
SEVERITIES: tuple[str, ...] = ("info", "minor", "major", "critical")


@dataclass(frozen=True, slots=True)
class Utterance:
    """One turn of speech or one chat message; times are offsets from the contact start."""

    speaker: Speaker
    text: str
    start_ms: int
    end_ms: int


@dataclass(slots=True)
class Transcript:
    """A contact to inspect: who the agent is (工号), the channel and the utterances in order.

    ``ring_seconds`` is the time the call rang before the agent answered (Q1: answer within
    three rings); ``None`` when unknown or not a call.
    """

    channel: Channel
    agent_id: str
    utterances: list[Utterance]
    ring_seconds: float | None = None
    transcript_id: str | None = None
    metadata: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Hit:
    """One finding of a rule.

    ``rule`` is a stable code (``forbidden.arrogance``, ``opening.wrong_agent_id``...);
    scoring sheets link to it or to its prefix (``opening`` covers ``opening.*``).
    ``utterance_index`` is ``None`` for findings about the whole contact (ring time, a
    courtesy phrase never said). ``start``/``end`` are character offsets in the original
    text of that utterance (end exclusive), or ``None`` when the whole turn is meant.
    ``message`` is English; the Django layer translates by ``rule`` code.
    """

    rule: str
    severity: Severity
    utterance_index: int | None
    start: int | None
    end: int | None
    message: str
    evidence: str = ""
