"""Outcome kinds: encoding to integer classes in the declared order, errors on undeclared values."""

import numpy as np
import polars as pl
import pytest
from pydantic import ValidationError

from spinedlr.design.outcome import outcome_coding
from spinedlr.design.settings import OutcomeSettings
from spinedlr.errors import InputError


def test_default_is_todays_binary_zero_one_column():
    coding = outcome_coding(OutcomeSettings(), "recurrence")
    assert coding.column == "recurrence"
    assert coding.classes == ("0", "1") and coding.positive == 1
    assert coding.encode(pl.Series([1, 0, 0, 1])).tolist() == [1, 0, 0, 1]
    assert coding.prob_columns == ["prob_0", "prob_1"]


def test_binary_positive_class_is_coded_one_whatever_its_position():
    s = OutcomeSettings(classes=["yes", "no"], positive="yes", column="surgery")
    coding = outcome_coding(s, "recurrence")
    assert coding.column == "surgery"
    assert coding.classes == ("no", "yes")
    assert coding.encode(["yes", "no", "yes"]).tolist() == [1, 0, 1]


def test_ordinal_follows_the_declared_order_not_the_sort_order():
    s = OutcomeSettings(kind="ordinal", classes=[1, 2, 3, 4, 10])
    coding = outcome_coding(s, "grade")
    # "10" sorts before "2" as text; the declared order puts it last.
    assert coding.encode(pl.Series([10, 2, 1, 4])).tolist() == [4, 1, 0, 3]
    assert coding.encode(np.array([3.0, 1.0])).tolist() == [2, 0]  # 3.0 from a float column is 3
    assert coding.prob_columns == ["prob_1", "prob_2", "prob_3", "prob_4", "prob_10"]
    assert coding.decode(np.array([4, 0])) == ["10", "1"]


def test_undeclared_and_missing_values_are_one_error_naming_rows():
    coding = outcome_coding(OutcomeSettings(kind="multiclass", classes=["a", "b", "c"]), "y")
    with pytest.raises(InputError, match=r"'d' in row\(s\) 2, 4.*'missing' in row\(s\) 3"):
        coding.encode(pl.Series(["a", "d", None, "d"]))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"kind": "ordinal"}, "ordinal outcome needs its class order declared"),
        ({"kind": "multiclass", "classes": ["a", "b"]}, "at least three classes"),
        ({"kind": "binary", "classes": [0, 1, 2]}, "exactly two classes"),
        ({"kind": "binary", "classes": ["n", "y"], "positive": "x"}, "positive 'x' is not one"),
        ({"kind": "ordinal", "classes": [1, 2, 3], "positive": 3}, "applies to a binary outcome"),
        ({"kind": "ordinal", "classes": [1, 2, "1"]}, "repeated values"),
    ],
)
def test_outcome_settings_errors(kwargs, message):
    with pytest.raises(ValidationError, match=message):
        OutcomeSettings(**kwargs)
