"""Text normalisation for tolerant phrase matching (Q2, Q3).

``normalize`` folds full-width letters and digits to ASCII, lower-cases ASCII, converts
traditional characters to simplified ones (single characters, from the OpenCC tables
shipped in the ``opencc-python-reimplemented`` package, Apache-2.0) and drops whitespace,
punctuation and zero-width characters, so "你 怎 么 这 么 笨", "你，怎么这么笨！" and
"你怎麼這麼笨" all become "你怎么这么笨".

Speed: the character mapping is one-to-one, so it is applied with ``str.translate`` and
only when a cheap regex scan finds a character that needs it (most simplified text has
none); dropping is one ``re.sub`` (about 2.5 us for a 25-character utterance).
Offsets are mapped back lazily (:func:`kept_indices`), only for utterances with a hit.
"""

from __future__ import annotations

import re
from functools import lru_cache
from importlib.resources import files

# Characters removed before matching: whitespace, ASCII and CJK punctuation, full-width
# punctuation, general punctuation (includes zero-width spaces and joiners), BOM, small
# and vertical forms. U+3005-U+3007 (々〆〇) are kept: 〇 is a digit in spoken numbers.
_DROP_CLASS = (
    r"\s!-/:-@\[-`{-~"
    "\u00a0-\u00bf\u2000-\u206f\u2e00-\u2e7f"
    "\u3000-\u3004\u3008-\u3020\u3030\u303d-\u303f\u30fb"
    "\ufe10-\ufe1f\ufe30-\ufe4f\ufe50-\ufe6b\ufeff"
    "\uff01-\uff0f\uff1a-\uff20\uff3b-\uff40\uff5b-\uff65"
)
DROP_RE = re.compile(f"[{_DROP_CLASS}]+")

# Punctuation that closes or opens a clause, for clause-only phrases ("什么？").
CLAUSE_PUNCT = frozenset("，。？！；：、,.?!;:…~～—\"'“”‘’「」『』（）()《》【】[]")
# Sentence-final particles allowed between a clause-only phrase and the boundary: "为什么呢？".
CLAUSE_PARTICLES = frozenset("啊呀呢吗嘛啦哦噢呐哈")

_OPENCC_FILES = ("TWVariantsRev.txt", "HKVariantsRev.txt", "TSCharacters.txt")

CN_DIGITS = str.maketrans("零〇一二三四五六七八九幺", "001234567891")


def _load_opencc(name: str) -> dict[str, str]:
    text = (files("opencc") / "dictionary" / name).read_text(encoding="utf-8")
    out: dict[str, str] = {}
    for line in text.splitlines():
        key, _, values = line.partition("\t")
        if not values:
            continue
        first = values.split(" ")[0]
        if len(key) == 1 and len(first) == 1:
            out[key] = first
    return out


@lru_cache(maxsize=1)
def _tables() -> tuple[dict[int, str], re.Pattern[str]]:
    variants: dict[str, str] = {}
    for name in _OPENCC_FILES[:2]:
        variants.update(_load_opencc(name))
    t2s = _load_opencc(_OPENCC_FILES[2])

    def fold(ch: str) -> str:
        cp = ord(ch)
        if 0xFF01 <= cp <= 0xFF5E:
            ch = chr(cp - 0xFEE0)
        if "A" <= ch <= "Z":
            ch = ch.lower()
        if ch in t2s:
            return t2s[ch]
        # A regional variant counts only when it leads to a traditional character: the
        # variant tables also list simplified characters (么 -> 幺), which must stay.
        variant = variants.get(ch)
        if variant is not None and variant in t2s:
            return t2s[variant]
        return ch

    candidates = set(variants) | set(t2s)
    candidates.update(chr(cp) for cp in range(ord("A"), ord("Z") + 1))
    # Full-width digits and letters only: full-width punctuation is dropped directly, so
    # "，" and "？" (in nearly every utterance) do not force the slow translate path.
    for lo, hi in ((0xFF10, 0xFF19), (0xFF21, 0xFF3A), (0xFF41, 0xFF5A)):
        candidates.update(chr(cp) for cp in range(lo, hi + 1))
    table: dict[int, str] = {}
    for ch in candidates:
        folded = fold(ch)
        if folded != ch and not DROP_RE.fullmatch(folded):
            table[ord(ch)] = folded
    # The trigger class lists BMP characters one by one but covers every astral character
    # with one range: a class holding individual astral characters makes ``re`` fall back
    # to a linear scan (about 50x slower); astral characters are rare in transcripts.
    needs = "".join(re.escape(chr(cp)) for cp in sorted(table) if cp < 0x10000)
    return table, re.compile(f"[{needs}\U00010000-\U0010ffff]")


def fold_chars(text: str) -> str:
    """Apply the one-to-one character folding only (same length as ``text``)."""
    table, needs = _tables()
    if needs.search(text) is None:
        return text
    return text.translate(table)


def normalize(text: str) -> str:
    """Fold characters and drop whitespace and punctuation (see module docstring)."""
    table, needs = _tables()
    if needs.search(text) is not None:
        text = text.translate(table)
    return DROP_RE.sub("", text)


def normalize_many(texts: list[str]) -> list[str]:
    """Normalise many texts. Measured: one call per text beats one regex pass over the
    joined texts (the long substitution costs more than the per-call overhead)."""
    return [normalize(t) for t in texts]


def kept_indices(text: str) -> list[int]:
    """For each character of ``normalize(text)``, its index in ``text``."""
    folded = fold_chars(text)
    out: list[int] = []
    pos = 0
    for m in DROP_RE.finditer(folded):
        out.extend(range(pos, m.start()))
        pos = m.end()
    out.extend(range(pos, len(folded)))
    return out


def to_original(kept: list[int], start: int, end: int) -> tuple[int, int]:
    """Map a normalised span ``[start, end)`` to a span of the original text."""
    return kept[start], kept[end - 1] + 1


def is_clause(text: str, start: int, end: int) -> bool:
    """True when ``text[start:end]`` stands as a whole clause.

    Before it: the start of the text or clause punctuation (whitespace skipped). After it:
    optional sentence-final particles, then the end of the text or clause punctuation.
    """
    i = start - 1
    while i >= 0 and text[i].isspace():
        i -= 1
    if i >= 0 and text[i] not in CLAUSE_PUNCT:
        return False
    j = end
    n = len(text)
    while j < n and (text[j].isspace() or text[j] in CLAUSE_PARTICLES):
        j += 1
    return j >= n or text[j] in CLAUSE_PUNCT


def is_digit_bounded(text: str, start: int, end: int) -> bool:
    """True when the span is not part of a longer run of digits (for keywords like 12300)."""
    before = text[start - 1] if start > 0 else ""
    after = text[end] if end < len(text) else ""
    return not (before.isdigit() or after.isdigit())
