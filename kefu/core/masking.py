"""Masking of personal data for display and export (C3, X1).

Customer information is shown masked everywhere unless a permitted user reveals it with a logged
reason (X1: need-to-know). These functions produce the masked form. Guarantees for every function:

* ``None`` or blank input returns ``""``;
* the output never contains the hidden part of the input, and invalid or unexpected input is
  masked too (never passed through unmasked);
* the mask is a fixed run of ``*`` where the hidden length could help re-identify (phones, e-mail),
  so the masked text does not reveal how many characters were hidden.

Pure Python, no Django.
"""

from __future__ import annotations

import re
import unicodedata

from kefu.core.phone import PhoneError, area_code, normalize_phone, phone_kind

__all__ = ["drop_personal_numbers", "mask_address", "mask_email", "mask_id_number", "mask_in_text", "mask_name",
           "mask_phone"]

_STARS = "****"
_WHITESPACE = re.compile(r"\s+")


def _clean(value: str | None) -> str:
    """NFKC (full-width to half-width) and trimmed; ``""`` for None."""
    if not value:
        return ""
    return unicodedata.normalize("NFKC", value).strip()


def _mask_middle(text: str, *, head: int, tail: int) -> str:
    """``text[:head] + "****" + text[-tail:]``, shrinking head and tail so that at least half of a
    short text is hidden."""
    n = len(text)
    while head + tail > n // 2 and (head or tail):
        if head >= tail and head:
            head -= 1
        else:
            tail -= 1
    return text[:head] + _STARS + (text[n - tail:] if tail else "")


def mask_phone(value: str | None) -> str:
    """``"138****8000"`` for a mobile, ``"010****5678"``/``"0755****4321"`` for a landline (area
    code and last 4 kept). Service numbers (10086, 95588, 400…) are not personal data and are
    returned unmasked, in canonical form. Any formatting accepted by
    :func:`~kefu.core.phone.normalize_phone` is accepted; anything else is masked as text, keeping
    at most the first 3 and last 4 characters.
    """
    text = _clean(value)
    if not text:
        return ""
    try:
        number = normalize_phone(text)
    except PhoneError:
        compact = _WHITESPACE.sub("", text)
        return _mask_middle(compact, head=3, tail=4)
    kind = phone_kind(number)
    if kind == "service":
        return number
    if kind == "landline":
        code = area_code(number) or number[:3]  # a canonical landline always has an area code
        return code + _STARS + number[-4:]
    return number[:3] + _STARS + number[-4:]


def mask_id_number(value: str | None) -> str:
    """Resident identity card number (居民身份证): the first 6 (region of registration) and last 4
    characters kept, every other character starred — ``"110101********1234"`` for the 18-character
    card, ``"110101*****1234"`` for the old 15-digit one. The check character ``x`` is upper-cased.
    Other documents (passport, 港澳通行证 …) keep only their first and last character.
    """
    text = _WHITESPACE.sub("", _clean(value)).upper()
    if not text:
        return ""
    if re.fullmatch(r"[0-9]{17}[0-9X]|[0-9]{15}", text):
        return text[:6] + "*" * (len(text) - 10) + text[-4:]
    if len(text) <= 2:
        return "*" * len(text)
    return text[0] + "*" * (len(text) - 2) + text[-1]


def mask_name(value: str | None) -> str:
    """The first character kept, every other one starred: ``"张三丰"`` → ``"张**"``, ``"张三"`` →
    ``"张*"``. A one-character value is fully starred, since nothing else would be hidden."""
    text = _WHITESPACE.sub(" ", _clean(value))
    if not text:
        return ""
    if len(text) == 1:
        return "*"
    return text[0] + "*" * (len(text) - 1)


def mask_address(value: str | None, *, keep: int = 6) -> str:
    """The first ``keep`` characters (province and city, e.g. ``"广东省深圳市"``) then ``"****"``.
    Whitespace is removed first. An address no longer than ``keep`` characters keeps all but its
    last character, so something is always hidden."""
    text = _WHITESPACE.sub("", _clean(value))
    if not text:
        return ""
    shown = min(keep, len(text) - 1)
    return text[:shown] + _STARS


def mask_email(value: str | None) -> str:
    """The first character of the local part and the whole domain: ``"zhangsan@example.com"`` →
    ``"z****@example.com"``; a one-character local part is fully starred. A value without ``@`` is
    masked as text (first character kept)."""
    text = _clean(value)
    if not text:
        return ""
    local, at, domain = text.rpartition("@")
    if not at:
        return text[0] + _STARS if len(text) > 1 else _STARS
    if len(local) <= 1:
        return _STARS + "@" + domain
    return local[0] + _STARS + "@" + domain


# Free text (what a customer typed to the bot, a message) names people by numbers: an identity card,
# an e-mail address, and runs of digits — mobile and landline numbers, bank cards, broadband and
# contract accounts. Digits may be full-width or split by spaces or dashes (138 1234 5678).
_ID_IN_TEXT = re.compile(r"(?<![0-9A-Za-z０-９])[1-9０-９](?:[0-9０-９]){16}[0-9０-９Xx](?![0-9A-Za-z０-９])|(?<![0-9A-Za-z０-９])[1-9](?:[0-9]){14}(?![0-9A-Za-z０-９])")
_EMAIL_IN_TEXT = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
_DIGITS_IN_TEXT = re.compile(r"(?<![0-9０-９])\+?[0-9０-９](?:[ \-]?[0-9０-９]){6,}(?![0-9０-９])")
#: at least this many digits make a run personal; shorter ones are service numbers (10086, 12300),
#: amounts, dates and plan names (199元, 5G)
MIN_PERSONAL_DIGITS = 7


def mask_in_text(value: str | None) -> str:
    """``value`` with the personal numbers in it masked, the rest unchanged: identity card numbers
    (:func:`mask_id_number`), e-mail addresses (:func:`mask_email`) and every run of at least
    seven digits (:func:`mask_phone`: a mobile keeps its first 3 and last 4 digits, other numbers
    at most those). ``"我的号码13812345678停机了"`` → ``"我的号码138****5678停机了"``. Shorter runs —
    service numbers, amounts, dates — are kept."""
    if not value:
        return ""
    text = _ID_IN_TEXT.sub(lambda m: mask_id_number(m.group(0)), value)
    text = _EMAIL_IN_TEXT.sub(lambda m: mask_email(m.group(0)), text)

    def digits(m: re.Match[str]) -> str:
        run = m.group(0)
        n = sum(ch.isdigit() for ch in run)
        return mask_phone(run) if n >= MIN_PERSONAL_DIGITS else run

    return _DIGITS_IN_TEXT.sub(digits, text)


def drop_personal_numbers(value: str) -> str:
    """``value`` without the personal numbers :func:`mask_in_text` masks — for matching a customer's
    question against knowledge (“我的号码13812345678为什么停机了” asks what “我的号码为什么停机了”
    asks; the number only disturbs the match). A number between two Latin letters or digits leaves
    a space so that the words stay apart. Service numbers (10086, 95588, 400…) and short numbers
    are kept: they can be what the question is about."""
    if not value:
        return ""

    def gap(m: re.Match[str]) -> str:
        before = m.string[m.start() - 1] if m.start() else ""
        after = m.string[m.end()] if m.end() < len(m.string) else ""
        return " " if before.isascii() and before.isalnum() and after.isascii() and after.isalnum() else ""

    def digits(m: re.Match[str]) -> str:
        run = m.group(0)
        if sum(ch.isdigit() for ch in run) < MIN_PERSONAL_DIGITS or "*" not in mask_phone(run):
            return run  # short, or a service number (it comes back unmasked)
        return gap(m)

    text = _ID_IN_TEXT.sub(gap, value)
    text = _EMAIL_IN_TEXT.sub(gap, text)
    return _DIGITS_IN_TEXT.sub(digits, text)
