from decimal import Decimal

import pytest
from hypothesis import given, strategies as st

from tenken.core.values import Quantity, format_value, parse_value, same_text


@pytest.mark.parametrize(
    ("written", "value", "unit"),
    [
        ("10,000人", "10000", "人"),
        ("400,000PV", "400000", "PV"),
        ("90%", "90", "%"),
        ("75.3%", "75.3", "%"),
        ("23,142台", "23142", "台"),
        ("0件", "0", "件"),
        ("1か所", "1", "か所"),
        ("65テーマセット", "65", "テーマセット"),
        ("80,000", "80000", ""),
        ("１０，０００人", "10000", "人"),
        ("９７．４％", "97.4", "%"),
    ],
)
def test_numbers_with_units_and_japanese_formatting_parse_to_quantities(written, value, unit):
    parsed = parse_value(written)
    assert isinstance(parsed, Quantity)
    assert parsed.value == Decimal(value)
    assert parsed.unit == unit


def test_signed_values_with_a_note_mark_keep_sign_and_note():
    parsed = parse_value("+1.6%(※)")
    assert parsed == Quantity(Decimal("1.6"), "%", signed=True, note=True)
    assert format_value(parsed) == "+1.6%(※)"


def test_full_width_note_mark_is_recognised():
    assert parse_value("＋１％（※）") == Quantity(Decimal("1"), "%", signed=True, note=True)


def test_a_qualifier_after_the_unit_is_kept_apart_from_the_unit():
    parsed = parse_value("5,000人以上")
    assert (parsed.value, parsed.unit, parsed.qualifier) == (Decimal(5000), "人", "以上")


def test_approximate_values_are_marked():
    parsed = parse_value("約84万PV")
    assert parsed.approx and parsed.unit == "万PV"


@pytest.mark.parametrize("text", ["実施", "構築完了", "未把握", "3システム中2システムの開発完了、1システムの計画策定"])
def test_prose_is_not_mistaken_for_a_quantity(text):
    assert parse_value(text) == text


def test_qualitative_texts_match_regardless_of_width_and_note_marks():
    assert same_text("対象順次拡大", "対象順次拡大(※)")
    assert same_text("ＡＩ活用", "AI活用")
    assert not same_text("計画策定", "一般公開")


units = st.sampled_from(["人", "PV", "%", "件", "台", "アクセス", "か所", ""])
decimals = st.decimals(min_value=-10**9, max_value=10**9, places=2, allow_nan=False, allow_infinity=False)


@given(value=decimals, unit=units, signed=st.booleans(), approx=st.booleans(),
       qualifier=st.sampled_from(["", "以上", "以下"]), note=st.booleans())
def test_formatting_then_parsing_gives_back_the_same_quantity(value, unit, signed, approx, qualifier, note):
    quantity = Quantity(value, unit, signed=signed or value < 0, approx=approx, qualifier=qualifier, note=note)
    parsed = parse_value(format_value(quantity))
    assert parsed.value == quantity.value
    assert (parsed.unit, parsed.approx, parsed.qualifier, parsed.note) == (unit, approx, qualifier, note)


@given(st.integers(min_value=0, max_value=10**12), units)
def test_full_width_digits_and_commas_parse_like_ascii(number, unit):
    ascii_text = f"{number:,}{unit}"
    full_width = ascii_text.translate(str.maketrans("0123456789,%", "０１２３４５６７８９，％"))
    assert parse_value(full_width) == parse_value(ascii_text)


def test_half_width_katakana_units_are_normalised_to_full_width():
    assert parse_value("10ｱｸｾｽ") == parse_value("10アクセス")
