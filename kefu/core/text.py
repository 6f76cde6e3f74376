"""Chinese text utilities shared by domains: folding and segmentation for search."""

from __future__ import annotations

import re
import unicodedata

import jieba

jieba.setLogLevel(60)

_CJK = re.compile(r"[\u3400-\u9fff]")
_TOKEN_OK = re.compile(r"[0-9a-z\u3400-\u9fff]")
# Words too common to narrow a search; dropping them keeps "我的宽带断网了" matching "宽带断网".
STOPWORDS = frozenset("的 了 是 我 你 他 她 它 们 在 和 与 及 就 都 也 还 又 吗 呢 吧 啊 呀 把 被 让 给 这 那 个 有 没 不 要 会 能 请 您".split())


def fold(text: str) -> str:
    """NFKC (full-width → half-width) and lower-case."""
    return unicodedata.normalize("NFKC", text or "").lower()


def search_tokens(text: str, *, for_query: bool = False) -> list[str]:
    """Segment text for the work-order full-text index.

    Documents are cut in jieba's search mode (words plus their sub-words), queries in precise mode,
    so that every word of a query is a token of the documents that contain it.
    """
    folded = fold(text)
    words = jieba.lcut(folded) if for_query else jieba.lcut_for_search(folded)
    out: list[str] = []
    seen: set[str] = set()
    for word in words:
        word = word.strip()
        if not word or not _TOKEN_OK.search(word) or word in STOPWORDS:
            continue
        if word not in seen:
            seen.add(word)
            out.append(word)
    return out


def has_cjk(text: str) -> bool:
    return bool(_CJK.search(text or ""))
