"""Masking of personal data (C3: privacy protection of customer information; X1: customer
information is never disclosed beyond need-to-know). DB-free."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kefu.core.masking import mask_address, mask_email, mask_id_number, mask_name, mask_phone
from kefu.core.phone import phone_kind

ALL = (mask_phone, mask_id_number, mask_name, mask_address, mask_email)


@pytest.mark.parametrize("mask", ALL)
@pytest.mark.parametrize("empty", [None, "", "   "])
def test_c3_empty_input_gives_empty_string(mask: Callable[[str | None], str], empty: str | None) -> None:
    assert mask(empty) == ""


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("13800138000", "138****8000"),
        ("+86 138-0013-8000", "138****8000"),  # any accepted formatting
        ("１３８００１３８０００", "138****8000"),
        ("01012345678", "010****5678"),
        ("010-12345678", "010****5678"),
        ("075587654321", "0755****4321"),
        ("0571-8765432", "0571****5432"),  # the mask does not reveal the hidden length
        ("10086", "10086"),  # service numbers are not personal data
        ("95588", "95588"),
        ("400-810-8888", "4008108888"),
        ("12345678", "12****78"),  # unknown short number: middle masked
        ("1234", "1****4"),
        ("12", "****2"),  # at least half of a short value is hidden
        ("138-abc-8000", "138****000"),  # invalid input is still masked, never passed through
    ],
)
def test_x1_mask_phone(value: str, masked: str) -> None:
    assert mask_phone(value) == masked


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("110101199003071234", "110101********1234"),
        ("11010119900307123x", "110101********123X"),
        (" 110101 19900307 1234 ", "110101********1234"),
        ("１１０１０１１９９００３０７１２３４", "110101********1234"),
        ("110101900307123", "110101*****7123"),  # 15-digit first-generation card
        ("E12345678", "E*******8"),  # passport
        ("AB", "**"),
    ],
)
def test_x1_mask_id_number(value: str, masked: str) -> None:
    assert mask_id_number(value) == masked


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("张三丰", "张**"),
        ("张三", "张*"),
        ("欧阳娜娜", "欧***"),
        (" 李四 ", "李*"),
        ("张", "*"),
        ("阿依古丽·买买提", "阿*******"),
        ("John Smith", "J*********"),
    ],
)
def test_x1_mask_name(value: str, masked: str) -> None:
    assert mask_name(value) == masked


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("广东省深圳市南山区科技园科苑路15号", "广东省深圳市****"),
        ("北京市朝阳区建国路88号", "北京市朝阳区****"),
        ("浙江省 杭州市 西湖区 文三路", "浙江省杭州市****"),
        ("北京市朝阳区", "北京市朝阳****"),  # something is always hidden
        ("北京", "北****"),
    ],
)
def test_x1_mask_address(value: str, masked: str) -> None:
    assert mask_address(value) == masked


def test_x1_mask_address_keep_is_configurable() -> None:
    assert mask_address("广东省深圳市南山区科技园", keep=9) == "广东省深圳市南山区****"


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("zhangsan@example.com", "z****@example.com"),
        (" ZhangSan@Example.COM ", "Z****@Example.COM"),
        ("a@b.cn", "****@b.cn"),
        ("first\"@\"odd@example.com", "f****@example.com"),  # the last @ separates the domain
        ("not-an-email", "n****"),
    ],
)
def test_x1_mask_email(value: str, masked: str) -> None:
    assert mask_email(value) == masked


# -- properties: the hidden part never leaks ---------------------------------------------------------

MOBILES = st.builds(
    lambda second, rest: "1" + second + rest,
    st.sampled_from("3456789"),
    st.text(alphabet="0123456789", min_size=9, max_size=9),
)


@settings(max_examples=200)
@given(number=MOBILES)
def test_x1_property_masked_mobile_hides_the_middle_four(number: str) -> None:
    masked = mask_phone(number)
    assert masked == number[:3] + "****" + number[-4:]


@settings(max_examples=300)
@given(text=st.text(st.characters(blacklist_characters="*"), min_size=1, max_size=40).filter(str.strip))
def test_x1_property_masking_never_returns_the_input_unchanged(text: str) -> None:
    for mask in (mask_id_number, mask_name, mask_address, mask_email):
        assert mask(text) != text.strip()
        assert "*" in mask(text)


@settings(max_examples=300)
@given(digits=st.text(alphabet="0123456789", min_size=6, max_size=18))
def test_x1_property_masked_numbers_hide_at_least_part_of_the_digits(digits: str) -> None:
    masked = mask_phone(digits)
    assert "*" in masked or masked == digits  # unmasked only when it is a service number
    if "*" not in masked:
        assert phone_kind(masked) == "service"


@pytest.mark.parametrize(("value", "masked"), [
    ("我的号码13812345678停机了", "我的号码138****5678停机了"),
    ("号码 138 1234 5678 欠费", "号码 138****5678 欠费"),
    ("１３８１２３４５６７８查话费", "138****5678查话费"),
    ("身份证110101199003071234怎么补卡", "身份证110101********1234怎么补卡"),
    ("身份证号11010119900307123x", "身份证号110101********123X"),
    ("邮箱zhangsan@example.com收不到账单", "邮箱z****@example.com收不到账单"),
    ("宽带账号057188123456上不了网", "宽带账号0571****3456上不了网"),
    ("电话0571-88123456", "电话0571****3456"),
    ("银行卡6222021234567890123扣款", "银行卡622****0123扣款"),
    # not personal: service numbers, amounts, dates, plan names stay as they are
    ("拨打10086或10000查询199元套餐", "拨打10086或10000查询199元套餐"),
    ("2026年12月3日5G套餐", "2026年12月3日5G套餐"),
    ("", ""),
])
def test_x1_mask_in_text(value: str, masked: str) -> None:
    from kefu.core.masking import mask_in_text

    assert mask_in_text(value) == masked


@settings(max_examples=300)
@given(number=MOBILES, before=st.text(st.characters(blacklist_categories=("Nd",)), max_size=12),
       after=st.text(st.characters(blacklist_categories=("Nd",)), max_size=12))
def test_x1_property_no_mobile_number_survives_in_text(number: str, before: str, after: str) -> None:
    from kefu.core.masking import mask_in_text

    masked = mask_in_text(before + number + after)
    assert number not in masked and "****" in masked


@pytest.mark.parametrize(("value", "bare"), [
    ("我的号码13812345678为什么停机了", "我的号码为什么停机了"),
    ("身份证110101199003071234怎么补卡", "身份证怎么补卡"),
    ("邮箱zhangsan@example.com收不到账单", "邮箱收不到账单"),
    ("call 13812345678 now", "call  now"),
    ("wifi13812345678pwd", "wifi pwd"),  # Latin words on both sides stay apart
    ("拨打10086或4008100000", "拨打10086或4008100000"),  # service numbers are the question
    ("199元套餐2026年12月", "199元套餐2026年12月"),
    ("", ""),
])
def test_x1_drop_personal_numbers(value: str, bare: str) -> None:
    from kefu.core.masking import drop_personal_numbers

    assert drop_personal_numbers(value) == bare
