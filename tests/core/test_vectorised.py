"""The checks read every measure at once (issue 14): what they give must be what checking each measure on
its own gives, message for message, and what reads many values at once must agree with what reads one."""

from __future__ import annotations

import re
import sys
from unittest.mock import patch

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tenken.config import plan_from_mapping
from tenken.core.aggregate import summarize
from tenken.core.assessment import Assessment, _Columns, check
from tenken.core.plan import Rating
from tenken.core.results import Adjustment, MeasureResult, ResultSet
from tenken.core.values import (
    Quantity,
    hidden_characters,
    parse_value,
    plain_numbers,
    refused_texts,
    unusual_digits,
)

# --- many values at once, one value at a time ----------------------------------------------------

written_values = st.one_of(
    st.sampled_from(["12,345人", "+1.5%", "-3件", "-0件", "0件", "1,000件", "1,0000件", "1,234,5人", "12.5%",
                     "１２人", "約5人", "5人以上", "5人以下", "5超", "5未満", "5 人", " 5人", "5人 ", "未把握", "5人(※)",
                     "5人※", "5人(注)", "100上", "123456789012345件", "1234567890123456件", "+123456789012345件",
                     "−5件", "5", "5.", ".5", "0.0件", "00012件", "3システム中2システム", "m²", "5m²", "٣件", "5٣件",
                     "", " ", "実施", "10\x00件", "5件\u202e"]),
    st.text(st.sampled_from("0123456789０１２３４５６７８９,，.+-−約件人% 以上下超未満※()\t\u3000²٣"), max_size=10),
)


@settings(max_examples=500, deadline=None)
@given(st.lists(written_values, max_size=12))
def test_plain_numbers_read_what_parse_value_reads(texts):
    plain, values, units = plain_numbers(texts)
    for text, is_plain, value, unit in zip(texts, plain, values, units):
        if is_plain:
            quantity = parse_value(text)
            assert isinstance(quantity, Quantity), text
            assert (quantity.unit, quantity.approx, quantity.qualifier, quantity.note) == (unit, False, "", False)
            assert str(float(quantity.value)) == str(value)  # the same float, the sign of -0.0 too
        else:
            assert np.isnan(value)


def test_plain_numbers_leave_the_others_to_parse_value():
    texts = ["12,345人", "１２人", "約5人", "5人以上", "未把握", "5人(※)", "1234567890123456件", "a\nb"]
    plain, _, _ = plain_numbers(texts)
    assert not plain.any()  # a line break in one text: none is read at once
    plain, values, units = plain_numbers(texts[:-1] * 4)  # repeated: read once each
    assert plain.tolist() == [True, False, False, False, False, False, False] * 4
    assert (values[0], units[0]) == (12345.0, "人")
    assert str(float(parse_value("-0件").value)) == str(plain_numbers(["-0件"])[1][0]) == "0.0"  # -Decimal(0) is 0


texts_to_screen = st.lists(st.one_of(
    written_values,
    st.text(st.sampled_from("ab理由 \t\n\r\x00\x07\x1b\x7f\x85\x9b\u200b\u200d\u202a\u202e\u2066\ufeff\u2028"
                            "٠١٢٣۴५𝟑²①0９"), max_size=6),
    st.text(max_size=4),
), max_size=10)


@settings(max_examples=500, deadline=None)
@given(texts_to_screen, st.booleans())
def test_refused_texts_are_those_with_hidden_characters_or_unusual_digits(texts, multiline):
    expected = {t for t in texts if hidden_characters(t, multiline) or unusual_digits(t)}
    assert refused_texts(texts, multiline) == expected


EVERY_CHARACTER = "".join(chr(c) for c in range(sys.maxunicode + 1))


def test_unusual_digits_are_every_decimal_digit_but_0_to_9_and_full_width_ones():
    assert unusual_digits(EVERY_CHARACTER) == re.findall(r"(?![0-9０-９])\d", EVERY_CHARACTER)


def test_every_hidden_character_is_one_isprintable_refuses():
    """refused_texts skips the search for hidden characters in text str.isprintable() accepts."""
    hidden = hidden_characters(EVERY_CHARACTER)
    assert len(hidden) > 200 and not any(c.isprintable() for c in hidden)
    assert set(hidden_characters(EVERY_CHARACTER, multiline=True)) <= set(hidden)


# --- the columns and the one-measure path ----------------------------------------------------------

def one_by_one():
    """check() with every measure checked on its own (`_check_measure`), as before issue 14."""
    read = _Columns.read

    def read_then_check_each(self):
        read(self)
        self._numeric = (np.zeros(0, dtype=np.intp), np.zeros(0), np.zeros(0), np.zeros(0, dtype=bool))
        return np.ones(len(self.measures), dtype=bool)

    return patch.object(_Columns, "read", read_then_check_each)


actuals = st.one_of(st.sampled_from(["100件", "１００件", "120件", "99件", "0件", "-5件", "+5%", "5%", "12.5%",
                                     "約100件", "100件以上", "未把握", "検討中", "実施", "一般公開", "実施(※)",
                                     "", " ", "100 件", "1,000件", "100人", "10\x00件", "٣件", "10件\u202e"]),
                    written_values)


@st.composite
def part(draw):
    if draw(st.integers(0, 3)) == 0:
        return {"kind": "qualitative", "target": draw(st.sampled_from(["実施", "一般公開", "実施(※)", "１回実施"]))}
    target, unit = draw(st.sampled_from([("100件", "件"), ("0件", "件"), ("5%", "%"), ("+1%", "%"), ("-5件", "件"),
                                         ("1,000件", "件"), ("12.5%", "%"), ("10", ""), ("１００件", "件")]))
    entry = {"kind": "numeric", "target": target, "unit": unit, "direction": draw(st.sampled_from(["higher", "lower"]))}
    allow = draw(st.sampled_from([None, None, True, False]))
    if allow is not None and not (allow is False and target.startswith("-")):
        entry["allow_negative"] = allow
    return entry


@st.composite
def plans_and_results(draw):
    entries = []
    for i in range(draw(st.integers(0, 10))):
        kind = draw(st.sampled_from(["rated", "rated", "rated", "no_indicator", "finished", "other year"]))
        if kind == "rated":
            parts = draw(st.lists(part(), min_size=1, max_size=3))
            year = parts[0] if len(parts) == 1 else {"parts": [dict(p, label=f"p{j}") for j, p in enumerate(parts)]}
        elif kind == "finished":
            year = {"status": "finished", "finished_in": 2019}
        else:
            year = {"status": "no_indicator"}
        entries.append({"name": f"施策{i}", "department": draw(st.sampled_from(["企画課", "情報課"])),
                        "indicator": "指標", "years": {2021 if kind == "other year" else 2020: year}})
    raw = {"plan": {"name": "テスト計画", "organisation": "テスト県", "period": [2019, 2022]},
           "levels": [{"key": "pillar", "label": "柱", "numbering": "roman"},
                      {"key": "sub_pillar", "label": "中柱", "numbering": "circled"},
                      {"key": "field", "label": "分野", "numbering": "katakana"}],
           "rating": {"exceeded_ratio": draw(st.sampled_from([1.25, 1.0, 2.0])),
                      "cause_tags": [{"key": "covid", "label": "感染症の影響"}, {"key": "other", "label": "その他"}],
                      "external_cause_tags": ["covid"]},
           "tree": [{"title": "柱", "children": [{"title": "中柱", "children": [
               {"title": "分野", "measures": entries[:len(entries) // 2]}]}]},
                    {"title": "柱2", "children": [{"title": "中柱2", "children": [
                        {"title": "分野2", "measures": entries[len(entries) // 2:]}]}]}]}
    plan = plan_from_mapping(raw, [{"key": "dept-a", "name": "企画課"}, {"key": "dept-b", "name": "情報課"}])
    keys = [m.key for m in plan.measures]
    rows = []
    for m in plan.measures:
        if draw(st.integers(0, 9)) == 0:
            continue
        year = m.years.get(2020)
        count = len(year.parts) if year is not None and year.parts else 1
        if draw(st.integers(0, 5)) == 0:
            count = draw(st.integers(0, 3))
        written = tuple(draw(actuals) for _ in range(count))
        if year is not None and year.status != "rated" and draw(st.booleans()):
            written = ()
        adjustment = None
        if draw(st.integers(0, 5)) == 0:
            adjustment = Adjustment(rating=draw(st.sampled_from(list(Rating))),
                                    justification=draw(st.sampled_from(["", "理由", "理由\x00"])),
                                    by=draw(st.sampled_from(["", "課長", "課長\x1b"])))
        rows.append(MeasureResult(
            measure=draw(st.sampled_from(keys + ["X-1"])) if draw(st.integers(0, 15)) == 0 else m.key,
            actual=written,
            self_rating=draw(st.sampled_from([None, Rating.ACHIEVED, Rating.EXCEEDED, Rating.NOT_ACHIEVED,
                                              Rating.NO_INDICATOR])),
            reason=draw(st.sampled_from(["", "理由", "  ", "理由\n続き", "理由\x00", "理由٣", "①研修\t②"])),
            cause=draw(st.sampled_from([None, "covid", "other", "unknown", "", "co\x00vid", "٣"])),
            highlight=draw(st.sampled_from([(), ("主な取組",), ("取組\n二行",), ("取組\x1b",)])),
            adjustment=adjustment,
            department=draw(st.sampled_from([None, None, "dept-a", "dept-b"]))))
    if rows and draw(st.booleans()):
        rows = draw(st.permutations(rows))  # results need not come in the plan's order
    return plan, ResultSet(fiscal_year=2020, results=tuple(rows))


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(plans_and_results(), st.booleans())
def test_the_columns_give_what_checking_each_measure_on_its_own_gives(plan_and_results, allow_missing):
    plan, rows = plan_and_results
    problems, frame = check(plan, rows, allow_missing)
    with one_by_one():
        expected_problems, expected_frame = check(plan, rows, allow_missing)
    assert problems == expected_problems
    pd.testing.assert_frame_equal(frame, expected_frame, check_exact=True)
    if not problems:
        assessment = Assessment(plan=plan, fiscal_year=2020, results=rows, measures=frame)
        assert summarize(assessment).to_dict() == summarize(
            Assessment(plan=plan, fiscal_year=2020, results=rows, measures=expected_frame)).to_dict()
