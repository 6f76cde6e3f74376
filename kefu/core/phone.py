"""Chinese phone numbers: one canonical digit string per number (W2, C1).

Every number a customer gives — typed by an agent, captured by CTI, pasted from a spreadsheet — is
stored in the canonical form returned by :func:`normalize_phone`, so that lookups by number ("who is
calling?") find the customer whatever formatting was used. Pure Python, no Django: errors carry a
stable ``code`` that the caller maps to a translated message.

Canonical forms:

* mobile: 11 digits ``1[3-9]XXXXXXXXX`` (``13800138000``); a trunk ``0`` in front of a mobile
  number, as some switches present out-of-area callers, is dropped;
* landline: trunk ``0`` + area code + local number, no separators (``01012345678``,
  ``075587654321``, ``05718765432``). Two-digit area codes (10, 20–29) take an 8-digit local
  number, three-digit ones (3xx–9xx) a 7- or 8-digit one; a local number does not start with 0;
* service: 3-digit special numbers (110, 112, 114, 119, 120, 122), carrier and public hotlines
  ``100xx`` and ``11xxx``/``12xxx`` (10086, 10000, 10010, 12345, 12315, 12300 …), ``95xxx`` and
  ``96xxx`` enterprise/local service numbers (5–8 digits), and ``400``/``800`` numbers (10 digits).
"""

from __future__ import annotations

import re
import unicodedata
from typing import Final, Literal

__all__ = [
    "PhoneError",
    "PhoneErrorCode",
    "PhoneKind",
    "area_code",
    "normalize_phone",
    "phone_kind",
]

PhoneKind = Literal["mobile", "landline", "service"]
PhoneErrorCode = Literal["phone_empty", "phone_invalid_chars", "phone_invalid"]

_MAX_INPUT = 64  # longer input is not a phone number; also bounds the work done on it

# [0-9], not \d: \d would also match other scripts' digits.
_MOBILE = re.compile(r"1[3-9][0-9]{9}")
# Trunk 0 + area code + local number; area codes 10 and 20-29 are the two-digit ones.
_LANDLINE_2 = re.compile(r"0(10|2[0-9])([1-9][0-9]{7})")
_LANDLINE_3 = re.compile(r"0([3-9][0-9]{2})([1-9][0-9]{6,7})")
_SERVICE = re.compile(
    r"11[0249]|12[02]"  # 110 police, 112, 114 directory, 119 fire, 120 ambulance, 122 traffic
    r"|100[0-9]{2}"  # carrier hotlines: 10000, 10010, 10086, 10099 ...
    r"|1[12][0-9]{3}"  # public hotlines: 11185, 12300, 12315, 12345 ...
    r"|9[56][0-9]{3,6}"  # 95xxx national / 96xxx local service numbers
    r"|[48]00[0-9]{7}"  # 400 and 800 numbers
)
# Some switches present an out-of-area mobile caller with a trunk 0: 013800138000.
_TRUNK_MOBILE = re.compile(r"01[3-9][0-9]{9}")
_SEPARATORS: Final = frozenset(" \t-.()\u2010\u2011\u2012\u2013\u2014\u2015\u2212/")
_DASHES = re.compile(r"[\u2010-\u2015\u2212]")


class PhoneError(ValueError):
    """A phone number that cannot be normalised.

    ``code`` is stable (``phone_empty``, ``phone_invalid_chars``, ``phone_invalid``); ``message`` is
    an English explanation for logs. Callers translate ``code`` for the user.
    """

    def __init__(self, code: PhoneErrorCode, message: str) -> None:
        super().__init__(message)
        self.code: PhoneErrorCode = code
        self.message = message


def _classify(digits: str) -> PhoneKind | None:
    """The kind of a canonical national number, or None if ``digits`` is not one."""
    if _MOBILE.fullmatch(digits):
        return "mobile"
    if _LANDLINE_2.fullmatch(digits) or _LANDLINE_3.fullmatch(digits):
        return "landline"
    if _SERVICE.fullmatch(digits):
        return "service"
    return None


def _from_international(rest: str) -> str | None:
    """The canonical form of what follows the country code 86, or None.

    Abroad the trunk 0 of a landline is dropped (+86 10 1234 5678); some people keep it anyway.
    """
    if _classify(rest) is not None:
        return rest
    with_trunk = "0" + rest
    if _classify(with_trunk) == "landline":
        return with_trunk
    return None


def normalize_phone(raw: str) -> str:
    """The canonical digit string of a Chinese phone number (see the module docstring).

    Accepts full-width characters, spaces, dashes, dots, slashes and one pair of parentheses, and
    the country code as ``+86``, ``0086`` or ``86``. Guaranteed: the result is digits only,
    ``normalize_phone(result) == result``, and ``phone_kind(result)`` succeeds.

    Raises :class:`PhoneError` with ``code``:
    ``phone_empty`` (nothing but whitespace), ``phone_invalid_chars`` (letters, ``#``, ``*`` …) or
    ``phone_invalid`` (the digits are not a Chinese mobile, landline with area code, or service
    number — including foreign country codes and local numbers without an area code).
    """
    if not raw or not raw.strip():
        raise PhoneError("phone_empty", "The phone number is empty.")
    if len(raw) > _MAX_INPUT:
        raise PhoneError("phone_invalid", "The phone number is too long.")
    text = unicodedata.normalize("NFKC", raw).strip()  # full-width digits, ＋ and （） to ASCII
    text = _DASHES.sub("-", text)

    plus = text.startswith("+")
    if plus:
        text = text[1:]
    for ch in text:
        if ch not in _SEPARATORS and not ("0" <= ch <= "9"):
            if ch == "+":
                raise PhoneError("phone_invalid", "'+' may only start the number.")
            raise PhoneError("phone_invalid_chars", "The phone number contains invalid characters.")
    if text.count("(") != text.count(")") or text.count("(") > 1 or (
        "(" in text and text.index("(") > text.index(")")
    ):
        raise PhoneError("phone_invalid", "The parentheses in the phone number do not match.")
    digits = "".join(ch for ch in text if "0" <= ch <= "9")
    if not digits:
        raise PhoneError("phone_invalid", "The phone number contains no digits.")

    result: str | None
    if plus:
        result = _from_international(digits[2:]) if digits.startswith("86") else None
    elif digits.startswith("0086"):
        result = _from_international(digits[4:])
    elif _classify(digits) is not None:
        result = digits
    elif _TRUNK_MOBILE.fullmatch(digits):
        result = digits[1:]
    elif digits.startswith("86"):
        # "86-13800138000": no canonical national number starts with 86, so this is the country code.
        result = _from_international(digits[2:])
    else:
        result = None
    if result is None:
        raise PhoneError("phone_invalid", "This is not a valid Chinese phone number.")
    return result


def phone_kind(normalized: str) -> PhoneKind:
    """``"mobile"``, ``"landline"`` or ``"service"`` for a canonical number from `normalize_phone`.

    Raises :class:`PhoneError` (``phone_invalid``) if ``normalized`` is not in canonical form.
    """
    kind = _classify(normalized) if normalized and normalized.isascii() else None
    if kind is None:
        raise PhoneError("phone_invalid", "This is not a normalized phone number.")
    return kind


def area_code(normalized: str) -> str | None:
    """The area code with its trunk 0 (``"010"``, ``"0755"``) of a canonical landline, else None."""
    m = _LANDLINE_2.fullmatch(normalized) or _LANDLINE_3.fullmatch(normalized)
    return "0" + m.group(1) if m else None
