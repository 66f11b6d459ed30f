"""Tabular values at the edges of float32 (issue 20 item 13): continuous values near 1e300 are normalised in
float64 without overflow, and a value that still does not fit float32 raises ValueError naming its column
instead of becoming inf; inf in a continuous column or in a regression target is refused by name."""
import numpy as np
import pytest

from nnx.tabular.preprocessing import TabularPreprocessor


def test_values_near_1e300_normalise_to_finite_float32():
    X = {"big": np.array([1e300, -1e300, 5e299, 0.0])}
    proc = TabularPreprocessor([], ["big"]).fit(X)
    _, x_cont = proc.transform(X)
    assert x_cont.dtype == np.float32 and np.isfinite(x_cont).all()
    expected = (X["big"] / 1e300 - np.mean(X["big"] / 1e300)) / np.std(X["big"] / 1e300)
    np.testing.assert_allclose(x_cont[:, 0], expected, rtol=1e-5)


def test_a_value_beyond_float32_after_normalising_names_its_column():
    proc = TabularPreprocessor([], ["a", "b"]).fit({"a": np.array([0.0, 1.0]), "b": np.array([0.0, 1.0])})
    with pytest.raises(ValueError, match="'b'.*float32"):
        proc.transform({"a": np.array([0.5]), "b": np.array([1e300])})


def test_without_normalisation_a_raw_value_beyond_float32_names_its_column():
    X = {"a": np.array([1.0, 2.0]), "b": np.array([1e39, 2.0])}
    with pytest.raises(ValueError, match="'b'.*float32"):
        TabularPreprocessor([], ["a", "b"], normalize=False).fit_transform(X)


@pytest.mark.parametrize("value", [np.inf, -np.inf])
def test_inf_in_a_continuous_column_is_refused_by_name(value):
    X = {"x": np.array([1.0, value, 3.0])}
    with pytest.raises(ValueError, match="'x'.*infinity"):
        TabularPreprocessor([], ["x"]).fit(X)
    proc = TabularPreprocessor([], ["x"]).fit({"x": np.array([1.0, 2.0])})
    with pytest.raises(ValueError, match="'x'.*infinity"):
        proc.transform(X)


def test_nan_in_a_continuous_column_is_still_a_missing_value():
    proc = TabularPreprocessor([], ["x"]).fit({"x": np.array([1.0, np.nan, 3.0])})
    x_cat, x_cont = proc.transform({"x": np.array([np.nan])})
    assert np.isfinite(x_cont).all() and x_cat.tolist() == [[2]]


@pytest.mark.parametrize("value, word", [(np.inf, "infinity"), (-np.inf, "infinity"), (np.nan, "NaN")])
def test_a_regression_target_with_inf_or_nan_is_refused_by_name(value, word):
    X = {"x": np.array([1.0, 2.0, 3.0])}
    y = np.array([1.0, value, 2.0])
    with pytest.raises(ValueError, match=f"regression target y contains {word}"):
        TabularPreprocessor([], ["x"]).fit(X, y)
    proc = TabularPreprocessor([], ["x"]).fit(X, np.array([1.0, 2.0, 3.0]))
    with pytest.raises(ValueError, match=f"regression target y contains {word}"):
        proc.transform_y(y)


def test_a_regression_target_beyond_float32_is_refused():
    proc = TabularPreprocessor([], ["x"]).fit({"x": np.array([1.0, 2.0])}, np.array([1.0, 2.0]))
    with pytest.raises(ValueError, match="regression target y.*float32"):
        proc.transform_y(np.array([1.0, 1e300]))
    assert proc.transform_y(np.array([1.0, 2.0])).shape == (2, 1)
