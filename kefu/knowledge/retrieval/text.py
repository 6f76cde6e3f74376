"""Chinese text pipeline for knowledge retrieval (K4, K5).

Everything the retrievers see goes through ``fold`` first: full-width → half-width (NFKC),
traditional → simplified (a character table generated from OpenCC, see ``build_t2s.py``),
lower case, control characters removed. Then:

* ``TextPipeline.tokens``: jieba segmentation (search mode, so 携号转网 also yields 携号/转网)
  with the telecom user dictionary, minus stopwords;
* ``TextPipeline.expand``: synonym expansion of the query (宽带 → 网络, 光纤 …) at a lower weight;
* ``TextPipeline.bigrams``: character bigrams, the fallback signal for words jieba does not know
  and for typos (宽代, 流亮).

``plain_tokens`` is the untuned baseline: jieba's own dictionary, precise mode, no stopwords,
no synonyms.

No Django here: this module is imported by the bench scripts and by DB-free tests.
"""

from __future__ import annotations

import functools
import re
import threading
import unicodedata
from collections.abc import Iterable, Sequence
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent.parent / "data"

#: Queries longer than this are cut (head and tail kept) before retrieval: a 10,000-character
#: paste must still be answered quickly, and the question is usually at the start or the end.
MAX_QUERY_CHARS = 500
_HEAD_CHARS = 300

_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_UNIT_RE = re.compile(rf"[a-z0-9]+|[{_CJK}]")
_SEGMENT_RE = re.compile(rf"(?:[a-z0-9]+|[{_CJK}])+")
_WORD_RE = re.compile(rf"[a-z0-9{_CJK}]")
_SPACE_RE = re.compile(r"\s+")


def _load_t2s(path: Path) -> dict[int, str]:
    table: dict[int, str] = {}
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if not line.strip() or line.startswith("#"):
                continue
            src, dst = line.rstrip("\n").split("\t")
            table[ord(src)] = dst
    return table


@functools.cache
def _t2s_table() -> dict[int, str]:
    return _load_t2s(DATA_DIR / "t2s_chars.tsv")


#: the controls and format characters met in practice (all of them Cc or Cf)
_CONTROL_RE = re.compile("[\x00-\x1f\x7f-\x9f\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff]")


def _strip_controls(text: str) -> str:
    # Cc (controls) and Cf (format: zero-width, BOM, bidi marks) become spaces so that words
    # glued by an invisible character are still split; everything else is kept. The common ones
    # by one regex; a text still not printable after it is read character by character.
    text = _CONTROL_RE.sub(" ", text)
    if text.isprintable():
        return text
    return "".join(" " if unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co") else ch for ch in text)


def fold(text: str) -> str:
    """Normalise text for matching: NFKC (full-width → half-width), traditional → simplified,
    lower case, control characters removed, whitespace collapsed."""
    text = unicodedata.normalize("NFKC", text)
    text = _strip_controls(text)
    text = text.translate(_t2s_table()).lower()
    return _SPACE_RE.sub(" ", text).strip()


def truncate(text: str, limit: int = MAX_QUERY_CHARS) -> str:
    """Cut an over-long text to ``limit`` characters, keeping its head and its tail."""
    if len(text) <= limit:
        return text
    head = min(_HEAD_CHARS, limit)
    return text[:head] + " " + text[len(text) - (limit - head) :]


def has_content(text: str) -> bool:
    """True if the (folded) text has at least one CJK character, letter or digit."""
    return _WORD_RE.search(text) is not None


def content_chars(text: str) -> str:
    """The folded text with everything but CJK characters, letters and digits removed."""
    return "".join(_UNIT_RE.findall(text))


def bigrams(text: str) -> list[str]:
    """Character bigrams of a folded text; an ASCII word counts as one unit (``5g网`` → ``5g网``).

    Bigrams never cross punctuation or spaces; a one-unit segment yields the unit itself.
    """
    out: list[str] = []
    for seg in _SEGMENT_RE.findall(text):
        units = _UNIT_RE.findall(seg)
        if len(units) == 1:
            out.append(units[0])
        else:
            out.extend(units[i] + units[i + 1] for i in range(len(units) - 1))
    return out


def _read_lines(path: Path) -> Iterable[str]:
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            line = line.strip()
            if line and not line.startswith("#"):
                yield line


class TextPipeline:
    """Segmentation, stopwords and synonyms with their own jieba instance.

    A private ``jieba.Tokenizer`` keeps the telecom dictionary out of jieba's global state, which
    other parts of kefu (and the baseline) use untouched.
    """

    def __init__(
        self,
        *,
        user_dict: Path | None = DATA_DIR / "telecom_dict.txt",
        synonyms: Path | None = DATA_DIR / "synonyms.txt",
        stopwords: Path | None = DATA_DIR / "stopwords.txt",
        synonym_weight: float = 0.4,
        compound_weight: float = 0.5,
    ) -> None:
        import jieba

        self._tok = jieba.Tokenizer()
        self._runs = jieba.re_han_default
        self._blocks: dict[str, list[str]] = {}
        self._tok.initialize()
        self._lock = threading.Lock()
        self.user_words: set[str] = set()
        if user_dict is not None:
            for line in _read_lines(user_dict):
                parts = line.split()
                word = fold(parts[0])
                freq = int(parts[1]) if len(parts) > 1 else None
                tag = parts[2] if len(parts) > 2 else None
                self._tok.add_word(word, freq, tag)
                self.user_words.add(word)
        self.stopwords: frozenset[str] = frozenset(
            fold(w) for w in (_read_lines(stopwords) if stopwords is not None else ())
        )
        self.synonym_weight = synonym_weight
        self.compound_weight = compound_weight
        self.synonyms: dict[str, set[str]] = {}
        self.rewrites: dict[str, str] = {}
        if synonyms is not None:
            for line in _read_lines(synonyms):
                if "->" in line:
                    typo, right = (fold(x) for x in line.split("->"))
                    self.rewrites[typo] = right
                    continue
                group = [fold(w) for w in line.split()]
                for w in group:
                    self.synonyms.setdefault(w, set()).update(x for x in group if x != w)
        self._shipped = ({w: frozenset(s) for w, s in self.synonyms.items()}, dict(self.rewrites))
        self._spans: dict[str, set[str]] = {}
        self.ignorable: frozenset[str] = frozenset()

    def set_extra(
        self, groups: Iterable[Sequence[str]] = (), rewrites: Iterable[tuple[str, str]] = (), ignore: Iterable[str] = ()
    ) -> None:
        """A centre's own synonym groups, typo corrections and ignorable words on top of the shipped
        tables (replacing the ones set before). Only queries use them — ``expand``, ``correct`` and
        ``strip_ignorable`` — so they take effect at once without re-indexing. Each table is
        replaced in one assignment: a search running meanwhile sees the old or the new one, never
        half of it."""
        groups = [list(g) for g in groups]
        synonyms = {w: set(s) for w, s in self._shipped[0].items()}
        for group in groups:
            words = [fold(w) for w in group if fold(w)]
            for w in words:
                synonyms.setdefault(w, set()).update(x for x in words if x != w)
        fixes = dict(self._shipped[1])
        fixes.update((fold(a), fold(b)) for a, b in rewrites if fold(a) and fold(a) != fold(b))
        # A centre's word is often not one jieba word (翼钱 → 翼 钱), and neither is what it means
        # (话费余额 → 话费 余额): the query's runs of up to three words are looked up, and a match
        # adds the words of the others as the index has them.
        spans: dict[str, set[str]] = {}
        for group in groups:
            words = [fold(w) for w in group if fold(w)]
            for w in words:
                for other in words:
                    if other != w:
                        spans.setdefault(w, set()).update(self.segment(other))
        self.synonyms, self.rewrites, self._spans = synonyms, fixes, spans
        self.ignorable = frozenset(w for w in (fold(x) for x in ignore) if w)

    def strip_ignorable(self, folded: str) -> str:
        """``folded`` without the centre's ignorable words (``set_extra``), where jieba cuts them as
        words or as a run of up to three pieces: “电信怎么查话费” → “怎么查话费”, while 电信 inside a
        longer word (电信局) stays. Unchanged when there are none."""
        words = self.ignorable
        if not words or not any(w in folded for w in words):
            return folded
        with self._lock:
            pieces = list(self._tok.cut(folded))
        out: list[str] = []
        i = 0
        while i < len(pieces):
            n = next((n for n in (3, 2, 1) if i + n <= len(pieces) and "".join(pieces[i:i + n]) in words), 0)
            if n:
                i += n
                continue
            out.append(pieces[i])
            i += 1
        return "".join(out)

    def correct(self, folded: str) -> str:
        """Rewrite the known typos of the synonym table in a folded text (宽代 → 宽带)."""
        for typo, right in self.rewrites.items():
            if typo in folded:
                folded = folded.replace(typo, right)
        return folded

    #: blocks whose search-mode words are remembered (a 50,000-item base repeats its answers'
    #: boilerplate and its regional variants' phrases thousands of times)
    BLOCK_CACHE = 200_000

    def segment(self, folded: str, *, search_mode: bool = True) -> list[str]:
        """jieba words of an already folded text, punctuation and spaces dropped."""
        with self._lock:  # jieba's lazy structures are not thread-safe while they grow
            if not search_mode:
                return [w for w in self._tok.cut(folded) if _WORD_RE.search(w)]
            # jieba cuts each run of Han/Latin/digit characters on its own (the runs of
            # ``re_han_default``), so the words of a run can be remembered: the same words, in the
            # same order, as cutting the whole text.
            out: list[str] = []
            cache = self._blocks
            for i, block in enumerate(self._runs.split(folded)):
                if not block:
                    continue
                if i % 2:  # a run
                    words = cache.get(block)
                    if words is None:
                        words = [w for w in self._tok.cut_for_search(block) if _WORD_RE.search(w)]
                        if len(cache) >= self.BLOCK_CACHE:
                            cache.clear()
                        cache[block] = words
                    out.extend(words)
                else:
                    out.extend(w for w in self._tok.cut_for_search(block) if _WORD_RE.search(w))
            return out

    def tokens(self, text: str, *, folded: bool = False, search_mode: bool = True) -> list[str]:
        """Content words of ``text``: folded, segmented, typos rewritten, stopwords removed
        (order kept)."""
        f = self.correct(text if folded else fold(text))
        return [w for w in self.segment(f, search_mode=search_mode) if w not in self.stopwords]

    def expand(self, tokens: Sequence[str]) -> dict[str, float]:
        """Query term weights: each token 1.0 — a long word whose parts are in the query too
        ``compound_weight`` — its synonyms ``synonym_weight`` (never lowering a word that is
        itself in the query). With the models trained for it on the development set's train split,
        0.3, 0.5 and 0.7 did alike on the held-out questions (false hand-overs 21.8 % → 14.5–16.2 %
        at the same hand-over of no-answer questions, top-1 +0.3–0.7 points; the style set 13 % →
        10 %); 0.5 is the middle."""
        weights: dict[str, float] = {}
        for t in tokens:
            weights[t] = 1.0
        cw = self.compound_weight
        if cw != 1.0:
            # jieba's search mode gives a long word's dictionary parts and then the word itself
            # (查话费 → 话费 查话费): the word is the parts again, and a question's own phrasing
            # (查话费, 办宽带) is seldom an item's — counted in full it is a word "missing" from
            # every candidate.
            uniq = list(weights)
            for t in uniq:
                if len(t) >= 3 and any(s != t and s in t for s in uniq):
                    weights[t] = cw
        for t in tokens:
            for s in self.synonyms.get(t, ()):
                if s not in weights:
                    weights[s] = self.synonym_weight
        spans = self._spans
        if spans:  # the centre's own groups (set_extra): words jieba cuts in pieces
            for i in range(len(tokens)):
                for n in (1, 2, 3):
                    for s in spans.get("".join(tokens[i:i + n]), ()) if i + n <= len(tokens) else ():
                        if s not in weights:
                            weights[s] = self.synonym_weight
        return weights

    def topic_words(self, text: str) -> list[str]:
        """Nouns and known business terms of a text: the topic a follow-up question inherits
        ("国际漫游怎么开通" → ["国际漫游"])."""
        import jieba.posseg

        f = fold(text)
        with self._lock:
            pairs = list(jieba.posseg.POSTokenizer(self._tok).cut(f))
        out: list[str] = []
        for p in pairs:
            w, flag = p.word, p.flag
            if w in self.stopwords or not _WORD_RE.search(w):
                continue
            if w in self.user_words or flag.startswith(("n", "eng", "vn")):
                out.append(w)
        return out


@functools.cache
def default_pipeline() -> TextPipeline:
    """The shared pipeline with the shipped dictionary, synonyms and stopwords."""
    return TextPipeline()


def plain_tokens(text: str) -> list[str]:
    """Baseline tokens: jieba's default dictionary, precise mode, lower case, punctuation
    dropped; no folding tables, no stopwords, no synonyms."""
    import jieba

    return [w for w in jieba.lcut(text.lower()) if _WORD_RE.search(w)]
