"""Phone number normalisation (W2: intake records how to reach the customer; C1: one customer found
by any formatting of their number). DB-free."""

from __future__ import annotations

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from kefu.core.phone import PhoneError, area_code, normalize_phone, phone_kind


@pytest.mark.parametrize(
    ("raw", "canonical", "kind"),
    [
        ("+86 138-0013-8000", "13800138000", "mobile"),
        ("0086 13800138000", "13800138000", "mobile"),
        ("86-13800138000", "13800138000", "mobile"),
        ("138 0013 8000", "13800138000", "mobile"),
        ("１３８００１３８０００", "13800138000", "mobile"),  # full-width
        ("＋８６　１３８－００１３－８０００", "13800138000", "mobile"),  # full-width +, space, dash
        ("138.0013.8000", "13800138000", "mobile"),
        ("138–0013–8000", "13800138000", "mobile"),  # en dash
        (" 19912345678 ", "19912345678", "mobile"),
        ("013800138000", "13800138000", "mobile"),  # trunk 0 shown by some switches
        ("010-12345678", "01012345678", "landline"),
        ("(0755)87654321", "075587654321", "landline"),
        ("（０７５５）８７６５４３２１", "075587654321", "landline"),
        ("0571-8765432", "05718765432", "landline"),
        ("020 8765 4321", "02087654321", "landline"),
        ("+86 10 1234 5678", "01012345678", "landline"),  # international: trunk 0 dropped
        ("+86 (0)755 8765 4321", "075587654321", "landline"),
        ("0086-571-8765432", "05718765432", "landline"),
        ("86 755 87654321", "075587654321", "landline"),
        ("10000", "10000", "service"),
        ("10086", "10086", "service"),
        ("10010", "10010", "service"),
        ("95588", "95588", "service"),
        ("95105888", "95105888", "service"),
        ("96777", "96777", "service"),
        ("12345", "12345", "service"),
        ("12300", "12300", "service"),
        ("110", "110", "service"),
        ("400-810-8888", "4008108888", "service"),
        ("800 810 8888", "8008108888", "service"),
        ("8008108888", "8008108888", "service"),
        ("+86 10086", "10086", "service"),
    ],
)
def test_w2_normalize_phone_accepts_common_formats(raw: str, canonical: str, kind: str) -> None:
    assert normalize_phone(raw) == canonical
    assert phone_kind(canonical) == kind


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("", "phone_empty"),
        ("   ", "phone_empty"),
        ("\u3000", "phone_empty"),  # ideographic space only
        ("138abc00138000", "phone_invalid_chars"),
        ("138 0013 8000 转 123", "phone_invalid_chars"),
        ("*10086#", "phone_invalid_chars"),
        ("١٣٨٠٠١٣٨٠٠٠", "phone_invalid_chars"),  # Arabic-Indic digits are not accepted
        ("12800138000", "phone_invalid"),  # mobiles start with 13-19
        ("1380013800", "phone_invalid"),  # 10 digits
        ("138001380001", "phone_invalid"),  # 12 digits
        ("12345678", "phone_invalid"),  # local number without area code
        ("010-1234567", "phone_invalid"),  # 2-digit area codes take 8-digit numbers
        ("010-01234567", "phone_invalid"),  # local numbers do not start with 0
        ("+1 650 253 0000", "phone_invalid"),  # not a Chinese number
        ("+44 20 7946 0000", "phone_invalid"),
        ("+86+13800138000", "phone_invalid"),
        ("138-0013-8000+", "phone_invalid"),
        ("(0755(87654321", "phone_invalid"),
        (")0755(87654321", "phone_invalid"),
        ("---", "phone_invalid"),
        ("1" * 100, "phone_invalid"),
    ],
)
def test_w2_normalize_phone_errors_have_stable_codes(raw: str, code: str) -> None:
    with pytest.raises(PhoneError) as info:
        normalize_phone(raw)
    assert info.value.code == code
    assert info.value.message and str(info.value) == info.value.message
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize("value", ["", "+8613800138000", "138 0013 8000", "１３８００１３８０００", "12800138000"])
def test_phone_kind_refuses_non_canonical_input(value: str) -> None:
    with pytest.raises(PhoneError) as info:
        phone_kind(value)
    assert info.value.code == "phone_invalid"


def test_area_code() -> None:
    assert area_code("01012345678") == "010"
    assert area_code("02087654321") == "020"
    assert area_code("075587654321") == "0755"
    assert area_code("05718765432") == "0571"
    assert area_code("13800138000") is None
    assert area_code("10086") is None


# -- properties -------------------------------------------------------------------------------------

MOBILES = st.builds(
    lambda second, rest: "1" + second + rest,
    st.sampled_from("3456789"),
    st.text(alphabet="0123456789", min_size=9, max_size=9),
)
LANDLINES = st.one_of(
    st.builds(lambda code, first, rest: "0" + code + first + rest,
              st.sampled_from(["10", "20", "21", "22", "23", "24", "25", "27", "28", "29"]),
              st.sampled_from("123456789"), st.text(alphabet="0123456789", min_size=7, max_size=7)),
    st.builds(lambda code, first, rest: "0" + code + first + rest,
              # No area code starts 40/80: "+86 400…" is a 400 service number, not a landline.
              st.integers(300, 999).map(str).filter(lambda c: not c.startswith(("40", "80"))),
              st.sampled_from("123456789"),
              st.text(alphabet="0123456789", min_size=6, max_size=7)),
)
SEPARATORS = st.sampled_from([" ", "-", ".", "－", "\u3000", "–", "/"])
COUNTRY_PREFIXES = st.sampled_from(["", "+86", "+86 ", "+86-", "0086", "0086 ", "86", "86-", "＋８６ "])


def _fullwidth(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if c.isdigit() else c for c in text)


@st.composite
def formatted(draw: st.DrawFn, digits: str) -> str:
    """``digits`` with random separators between digits, optionally full-width and wrapped in spaces."""
    out = []
    for i, ch in enumerate(digits):
        if i and draw(st.integers(0, 3)) == 0:
            out.append(draw(SEPARATORS))
        out.append(ch)
    text = "".join(out)
    if draw(st.booleans()):
        text = _fullwidth(text)
    return draw(st.sampled_from(["", " ", "\t"])) + text + draw(st.sampled_from(["", " "]))


@settings(max_examples=300)
@given(data=st.data(), number=MOBILES, prefix=COUNTRY_PREFIXES)
def test_c1_property_any_formatting_of_a_mobile_gives_the_same_digits(
    data: st.DataObject, number: str, prefix: str
) -> None:
    raw = prefix + data.draw(formatted(number))
    assert normalize_phone(raw) == number
    assert phone_kind(number) == "mobile"


@settings(max_examples=300)
@given(data=st.data(), number=LANDLINES)
def test_c1_property_any_formatting_of_a_landline_gives_the_same_digits(
    data: st.DataObject, number: str
) -> None:
    code = area_code(number)
    assert code is not None
    national = data.draw(formatted(number))
    assert normalize_phone(national) == number
    bracketed = f"({code}){number[len(code):]}"
    assert normalize_phone(bracketed) == number
    international = "+86 " + data.draw(formatted(number[1:]))  # trunk 0 dropped abroad
    assert normalize_phone(international) == number


@settings(max_examples=500)
@given(raw=st.one_of(
    st.text(max_size=30),
    st.text(alphabet="0123456789+-() ８６", max_size=20),
    MOBILES, LANDLINES,
))
def test_c1_property_normalisation_is_idempotent(raw: str) -> None:
    try:
        once = normalize_phone(raw)
    except PhoneError as e:
        assert e.code in ("phone_empty", "phone_invalid_chars", "phone_invalid")
        return
    assert once.isascii() and once.isdigit()
    assert normalize_phone(once) == once
    assert phone_kind(once) in ("mobile", "landline", "service")


@settings(max_examples=200)
@given(number=st.one_of(MOBILES, LANDLINES))
def test_c1_property_kinds_are_disjoint(number: str) -> None:
    kind = phone_kind(normalize_phone(number))
    assume(kind != "service")
    assert (kind == "landline") == number.startswith("0")
