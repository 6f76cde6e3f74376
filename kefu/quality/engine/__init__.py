"""Automatic quality inspection engine 自动质检 (Q1-Q4). Pure Python, no Django.

Public API::

    validate_transcript(raw) -> Transcript          # raises TranscriptError(problems)
    default_ruleset() -> RuleSet                     # from kefu/quality/data/*.json
    RuleSet.from_config(config) -> RuleSet           # .version = hash of the config
    inspect(transcript, ruleset=None) -> Result      # hits, score, veto, sheet, version
    check_reply(text, ruleset=None) -> list[Hit]     # live forbidden-phrase check
    score_sheet(sheet, hits, manual_points=None) -> SheetScore
    normalize(text) -> str                           # tolerant matching form
"""

from .normalize import kept_indices, normalize
from .rules import (
    ClosingRule,
    CourtesyGroup,
    CourtesyRule,
    CustomerDistressRule,
    ForbiddenPhraseRule,
    HoldRule,
    OpeningRule,
    ResponseTimeRule,
    RingTimeRule,
    Rule,
    TalkOverRule,
    find_agent_ids,
)
from .ruleset import ENGINE_VERSION, Result, RuleSet, check_reply, default_config, default_ruleset, inspect
from .scoring import ItemScore, ScoringSheet, SheetItem, SheetScore, score_sheet
from .sentiment import SentimentModel
from .types import Channel, Hit, Severity, Speaker, Transcript, Utterance
from .validation import Problem, TranscriptError, validate_transcript

__all__ = [
    "ENGINE_VERSION",
    "Channel",
    "ClosingRule",
    "CourtesyGroup",
    "CourtesyRule",
    "CustomerDistressRule",
    "ForbiddenPhraseRule",
    "Hit",
    "HoldRule",
    "ItemScore",
    "OpeningRule",
    "Problem",
    "ResponseTimeRule",
    "Result",
    "RingTimeRule",
    "Rule",
    "RuleSet",
    "ScoringSheet",
    "SentimentModel",
    "Severity",
    "SheetItem",
    "SheetScore",
    "Speaker",
    "TalkOverRule",
    "Transcript",
    "TranscriptError",
    "Utterance",
    "check_reply",
    "default_config",
    "default_ruleset",
    "find_agent_ids",
    "inspect",
    "kept_indices",
    "normalize",
    "score_sheet",
    "validate_transcript",
]
