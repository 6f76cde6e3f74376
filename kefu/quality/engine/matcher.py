"""One Aho-Corasick automaton for all phrase rules of a rule set (Q2, Q3).

Built on ``ahocorasick-rs`` (Rust ``aho-corasick`` crate, DFA implementation): its scan
cost stays nearly flat from 10 to 10,000 phrases, where ``pyahocorasick`` (a trie with
per-node child lists) got 5-6 times slower (measured in ``bench/quality_bench.py``).

Every phrase of every rule goes into one automaton per speaker side, with a payload
``(mask, weight, tags)``:

* ``mask`` - OR of the bits of the *flag classes* the phrase belongs to (greeting, closing,
  courtesy groups, hold phrases): rules only need to know "was it said in this turn";
* ``weight`` - the sentiment feature weight of the phrase (customer side), summed over all
  occurrences, so the linear sentiment model costs nothing extra;
* ``tags`` - ``None``, or the :class:`HitTag` / :class:`PartTag` entries for phrases whose
  position matters (forbidden phrases, distress keywords).

Scanning an utterance is one pass over its characters whatever the number of phrases
(see ``bench/quality_bench.py``, 10 -> 10,000 phrases). Phrases containing ``XX`` (the
seed's "你找XX地方问") are wildcards: their literal parts are matched and joined when
they occur in order with 1-10 characters between them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import ahocorasick_rs

from .normalize import normalize

WILDCARD = "XX"
WILDCARD_MAX_GAP = 10

RawMatches = list[tuple[int, tuple[object, ...]]]
ScanResult = tuple[int, float, RawMatches | None]
Payload = tuple[int, float, tuple[object, ...] | None]


@dataclass(frozen=True, slots=True)
class HitTag:
    """A phrase whose occurrences are reported: ``cls`` is its phrase class name."""

    cls: str
    phrase: str
    length: int  # length of the normalised phrase (for wildcards: of the whole match, 0)
    clause_only: bool = False
    digit_bounded: bool = False


@dataclass(frozen=True, slots=True)
class PartTag:
    """One literal part of a wildcard phrase."""

    wildcard: int
    part: int
    length: int


@dataclass(frozen=True, slots=True)
class _Wildcard:
    parts: int
    tag: HitTag


Span = tuple[int, int, HitTag]  # start, end (exclusive) in the normalised text, tag


@dataclass(slots=True)
class _Entry:
    mask: int = 0
    weight: float = 0.0
    tags: list[HitTag | PartTag] = field(default_factory=list)


class MatcherBuilder:
    """Collects phrases, then :meth:`build` makes the immutable :class:`Matcher`."""

    def __init__(self) -> None:
        self._entries: dict[str, _Entry] = {}
        self._wildcards: list[_Wildcard] = []

    def _entry(self, key: str) -> _Entry:
        entry = self._entries.get(key)
        if entry is None:
            entry = self._entries[key] = _Entry()
        return entry

    def add_flag(self, phrase: str, bit: int) -> None:
        key = normalize(phrase)
        if key:
            self._entry(key).mask |= bit

    def add_weight(self, key: str, weight: float) -> None:
        """Add a sentiment feature; ``key`` must already be normalised."""
        if key:
            self._entry(key).weight += weight

    def add_hit(self, phrase: str, cls: str, *, clause_only: bool = False) -> None:
        """Report every occurrence of ``phrase`` under class ``cls``."""
        if WILDCARD in phrase:
            parts = [p for p in (normalize(p) for p in phrase.split(WILDCARD)) if p]
            if len(parts) > 1:
                wid = len(self._wildcards)
                self._wildcards.append(_Wildcard(len(parts), HitTag(cls, phrase, 0, clause_only)))
                for n, part in enumerate(parts):
                    self._entry(part).tags.append(PartTag(wid, n, len(part)))
                return
            phrase = "".join(parts)
        key = normalize(phrase)
        if not key:
            return
        tags = self._entry(key).tags
        if not any(isinstance(t, HitTag) and t.cls == cls for t in tags):
            tags.append(HitTag(cls, phrase, len(key), clause_only, key.isdigit()))

    def build(self) -> Matcher:
        keys = list(self._entries)
        payloads = tuple((e.mask, e.weight, tuple(e.tags) if e.tags else None) for e in self._entries.values())
        return Matcher(keys, payloads, tuple(self._wildcards))


def _make_scan(
    automaton: ahocorasick_rs.AhoCorasick | None, payloads: tuple[Payload, ...]
) -> Callable[[str], ScanResult]:
    if automaton is None:

        def scan_nothing(text: str) -> ScanResult:
            return 0, 0.0, None

        return scan_nothing
    find = automaton.find_matches_as_indexes

    def scan(text: str) -> ScanResult:
        # Hot path: one pass, no allocation unless a positional phrase occurs.
        mask = 0
        weight = 0.0
        raw: RawMatches | None = None
        for index, _start, end in find(text, overlapping=True):
            m, w, tags = payloads[index]
            mask |= m
            weight += w
            if tags is not None:
                if raw is None:
                    raw = []
                raw.append((end, tags))
        return mask, weight, raw

    return scan


class Matcher:
    """Immutable compiled automaton; ``scan(normalised_text) -> (mask, weight, raw)``.

    ``raw`` lists ``(end, tags)`` for positional phrases, ``end`` exclusive.
    """

    def __init__(self, keys: list[str], payloads: tuple[Payload, ...], wildcards: tuple[_Wildcard, ...]) -> None:
        automaton = (
            ahocorasick_rs.AhoCorasick(
                keys,
                matchkind=ahocorasick_rs.MatchKind.Standard,
                implementation=ahocorasick_rs.Implementation.DFA,
            )
            if keys
            else None
        )
        self._size = len(keys)
        self._wildcards = wildcards
        self.scan: Callable[[str], ScanResult] = _make_scan(automaton, payloads)

    def __len__(self) -> int:
        return self._size

    def spans(self, raw: Iterable[tuple[int, tuple[object, ...]]]) -> list[Span]:
        """Turn raw matches into spans in the normalised text, joining wildcard parts."""
        out: list[Span] = []
        parts: dict[int, list[tuple[int, int, int]]] | None = None
        for end, tags in raw:
            for tag in tags:
                if isinstance(tag, HitTag):
                    out.append((end - tag.length, end, tag))
                elif isinstance(tag, PartTag):
                    if parts is None:
                        parts = {}
                    parts.setdefault(tag.wildcard, []).append((tag.part, end - tag.length, end))
        if parts:
            for wid, found in parts.items():
                out.extend(self._join(self._wildcards[wid], found))
        out.sort(key=lambda s: (s[0], -s[1]))
        return out

    @staticmethod
    def _join(wild: _Wildcard, found: list[tuple[int, int, int]]) -> list[Span]:
        by_part: list[list[tuple[int, int]]] = [[] for _ in range(wild.parts)]
        for part, start, end in found:
            by_part[part].append((start, end))
        out: list[Span] = []
        for start, end in by_part[0]:
            cursor = end
            ok = True
            for later in by_part[1:]:
                nxt = next((s for s in later if 1 <= s[0] - cursor <= WILDCARD_MAX_GAP), None)
                if nxt is None:
                    ok = False
                    break
                cursor = nxt[1]
            if ok:
                out.append((start, cursor, wild.tag))
        return out
