"""Timing rules: hold scripts (Q3), ring time (Q1), chat response times and talk-over."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from ..types import Hit, Severity
from .base import AGENT_ONLY, CUSTOMER_ONLY, Analysis, PhraseClass, Rule, applies


@dataclass
class HoldRule(Rule):
    """Q3: a silence longer than the channel's threshold is a hold. The last agent turn
    before it must contain a waiting phrase (请稍等...) and the first agent turn after it
    must thank the customer for waiting (感谢您的耐心等待/让您久等了...), seed 003 §4.2 (2).

    A silence counts as the agent's hold when the agent speaks next, or when the agent
    announced the wait; a silence right after the customer said "稍等/我找一下" is the
    customer's and is skipped. Codes: ``hold.no_wait_phrase``, ``hold.no_thanks``.
    """

    code = "hold"
    wait_phrases: tuple[str, ...] = ()
    thanks_phrases: tuple[str, ...] = ()
    customer_wait_phrases: tuple[str, ...] = ()
    min_gap_seconds: dict[str, float | None] = field(default_factory=lambda: {"call": 10.0, "chat": 120.0})
    severity: Severity = "minor"

    def phrase_classes(self) -> Sequence[PhraseClass]:
        return (
            PhraseClass("hold.wait", self.wait_phrases, AGENT_ONLY, "flag"),
            PhraseClass("hold.thanks", self.thanks_phrases, AGENT_ONLY, "flag"),
            PhraseClass("hold.customer_wait", self.customer_wait_phrases, CUSTOMER_ONLY, "flag"),
        )

    def evaluate(self, analysis: Analysis) -> list[Hit]:
        limit = self.min_gap_seconds.get(analysis.transcript.channel)
        if limit is None:
            return []
        limit_ms = limit * 1000.0
        utts = analysis.utterances
        if len(utts) < 2:
            return []
        wait_bit = analysis.bits.get("hold.wait", 0)
        thanks_bit = analysis.bits.get("hold.thanks", 0)
        cwait_bit = analysis.bits.get("hold.customer_wait", 0)
        flags = analysis.flags
        hits: list[Hit] = []
        last_agent = -1
        spoken_until = utts[0].end_ms
        if utts[0].speaker == "agent":
            last_agent = 0
        for i in range(1, len(utts)):
            u = utts[i]
            gap = u.start_ms - spoken_until
            if gap > limit_ms:
                prev = utts[i - 1]
                announced = last_agent >= 0 and bool(flags[last_agent] & wait_bit)
                customer_hold = prev.speaker == "customer" and bool(flags[i - 1] & cwait_bit)
                if not customer_hold and (u.speaker == "agent" or announced):
                    seconds = gap / 1000.0
                    if not announced:
                        hits.append(
                            Hit(
                                "hold.no_wait_phrase",
                                self.severity,
                                last_agent if last_agent >= 0 else i - 1,
                                None,
                                None,
                                f"Silence of {seconds:.1f} s without a waiting phrase before it.",
                                f"{seconds:.1f}s",
                            )
                        )
                    after = next((j for j in range(i, len(utts)) if utts[j].speaker == "agent"), None)
                    if after is not None and not flags[after] & thanks_bit:
                        hits.append(
                            Hit(
                                "hold.no_thanks",
                                self.severity,
                                after,
                                None,
                                None,
                                f"No thanks for waiting after a silence of {seconds:.1f} s.",
                                f"{seconds:.1f}s",
                            )
                        )
            if u.end_ms > spoken_until:
                spoken_until = u.end_ms
            if u.speaker == "agent":
                last_agent = i
        return hits


@dataclass
class RingTimeRule(Rule):
    """Q1: a call is answered within three rings ("振铃声不应超过三声", seed 003 §4.2 (1));
    default 15 s (research/telecom-standards.md §1.3/§5). Code: ``ring_time``."""

    code = "ring_time"
    max_seconds: float = 15.0
    channels: tuple[str, ...] | None = ("call",)
    severity: Severity = "minor"

    def evaluate(self, analysis: Analysis) -> list[Hit]:
        t = analysis.transcript
        if not applies(t.channel, self.channels) or t.ring_seconds is None or t.ring_seconds <= self.max_seconds:
            return []
        return [
            Hit(
                "ring_time",
                self.severity,
                None,
                None,
                None,
                f"Answered after {t.ring_seconds:.1f} s, limit {self.max_seconds:.0f} s.",
                f"{t.ring_seconds:.1f}s",
            )
        ]


@dataclass
class ResponseTimeRule(Rule):
    """Chat response times: the first human reply within ``first_seconds`` (default 30 s)
    of the first customer message, each later reply within ``reply_seconds`` (60 s) of the
    first unanswered customer message (research/telecom-standards.md §5). Bot replies do
    not stop the clock. Codes: ``response_time.first``, ``response_time.reply``."""

    code = "response_time"
    first_seconds: float = 30.0
    reply_seconds: float = 60.0
    channels: tuple[str, ...] | None = ("chat",)
    severity: Severity = "minor"

    def evaluate(self, analysis: Analysis) -> list[Hit]:
        if not applies(analysis.transcript.channel, self.channels):
            return []
        hits: list[Hit] = []
        waiting_since: int | None = None
        answered_once = False
        for i, u in enumerate(analysis.utterances):
            if u.speaker == "customer":
                if waiting_since is None:
                    waiting_since = u.end_ms
            elif u.speaker == "agent":
                if waiting_since is not None:
                    waited = (u.start_ms - waiting_since) / 1000.0
                    limit = self.reply_seconds if answered_once else self.first_seconds
                    if waited > limit:
                        kind = "reply" if answered_once else "first"
                        hits.append(
                            Hit(
                                f"response_time.{kind}",
                                self.severity,
                                i,
                                None,
                                None,
                                f"Replied after {waited:.0f} s, limit {limit:.0f} s.",
                                f"{waited:.0f}s",
                            )
                        )
                    waiting_since = None
                answered_once = True
        return hits


@dataclass
class TalkOverRule(Rule):
    """The agent starts speaking while a customer utterance still runs and both overlap by
    more than ``min_overlap_ms`` (default 1,000 ms; short backchannels such as 嗯 are not
    counted). Code: ``talk_over``."""

    code = "talk_over"
    min_overlap_ms: int = 1000
    channels: tuple[str, ...] | None = ("call",)
    severity: Severity = "minor"

    def evaluate(self, analysis: Analysis) -> list[Hit]:
        if not applies(analysis.transcript.channel, self.channels):
            return []
        hits: list[Hit] = []
        customer_end = -1
        for i, u in enumerate(analysis.utterances):
            if u.speaker == "customer":
                if u.end_ms > customer_end:
                    customer_end = u.end_ms
            elif u.speaker == "agent" and u.start_ms < customer_end:
                overlap = min(customer_end, u.end_ms) - u.start_ms
                if overlap > self.min_overlap_ms:
                    hits.append(
                        Hit(
                            "talk_over",
                            self.severity,
                            i,
                            None,
                            None,
                            f"The agent talked over the customer for {overlap} ms.",
                            f"{overlap}ms",
                        )
                    )
        return hits
