"""Template helpers of the knowledge pages."""

from __future__ import annotations

import re
from typing import Any

from django import template
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

register = template.Library()


@register.filter
def highlight(text: Any, terms: Any) -> SafeString:
    """``text`` HTML-escaped with every occurrence of the search engine's matched words in ``<mark>``
    (longest first, so 宽带断网 wins over 宽带)."""
    text = "" if text is None else str(text)
    words = sorted({str(t) for t in (terms or []) if str(t).strip()}, key=len, reverse=True)
    if not words:
        return mark_safe(escape(text))  # noqa: S308 — escaped here
    pattern = re.compile("|".join(re.escape(w) for w in words), re.IGNORECASE)
    out, at = [], 0
    for m in pattern.finditer(text):
        out += [escape(text[at:m.start()]), "<mark>", escape(m.group(0)), "</mark>"]
        at = m.end()
    out.append(escape(text[at:]))
    return mark_safe("".join(out))  # noqa: S308 — every piece escaped above


@register.filter
def relevance(score: Any) -> int:
    """The engine's share for an item (0–1) as a whole percentage."""
    try:
        return max(0, min(100, round(float(score) * 100)))
    except (TypeError, ValueError):
        return 0
