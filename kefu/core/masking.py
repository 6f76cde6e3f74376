"""Masking of personal data wherever it is shown (C3, X1). Pure Python."""

from __future__ import annotations

SERVICE_PREFIXES = ("100", "95", "96", "400", "800", "11", "12")


def mask_phone(number: str | None) -> str:
    """``13800138000`` → ``138****8000``; landlines keep area code and last 4; hotlines stay."""
    n = (number or "").strip()
    if not n:
        return ""
    if len(n) <= 8 and n.startswith(SERVICE_PREFIXES):
        return n
    if len(n) == 11 and n.startswith("1"):
        return f"{n[:3]}****{n[-4:]}"
    if n.startswith("0") and len(n) >= 10:
        area = 3 if n[1] in "12" else 4
        return f"{n[:area]}****{n[-4:]}"
    if len(n) <= 4:
        return "*" * len(n)
    return f"{n[:2]}{'*' * (len(n) - 4)}{n[-2:]}"


def mask_id_number(value: str | None) -> str:
    v = (value or "").strip()
    if not v:
        return ""
    if len(v) <= 10:
        return v[:1] + "*" * (len(v) - 2) + v[-1:] if len(v) > 2 else "*" * len(v)
    return f"{v[:6]}{'*' * (len(v) - 10)}{v[-4:]}"


def mask_name(value: str | None) -> str:
    v = (value or "").strip()
    if not v:
        return ""
    return v[0] + "*" * (len(v) - 1) if len(v) > 1 else v


def mask_address(value: str | None) -> str:
    v = (value or "").strip()
    if not v:
        return ""
    return v[:6] + "****" if len(v) > 6 else v


def mask_email(value: str | None) -> str:
    v = (value or "").strip()
    if "@" not in v:
        return mask_name(v)
    user, _, domain = v.partition("@")
    return f"{user[:1]}***@{domain}"
