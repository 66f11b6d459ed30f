"""TabularPreprocessor: Categorify (unseen -> 0), FillMissing (median + _na column), Normalize, saving."""
import io

import numpy as np
import pytest

from nnx.tabular import TabularPreprocessor, cont_cat_split


def columns(rng, n):
    """A dict of columns: strings, small int codes, floats with NaN, a bool column."""
    temp = rng.normal(20, 5, n)
    temp[rng.random(n) < 0.2] = np.nan
    return {"city": rng.choice(np.array(["paris", "oslo", "rome"]), n), "day": rng.integers(0, 7, n),
            "temp": temp, "price": rng.uniform(1, 100, n), "promo": rng.random(n) < 0.5}


def test_categorify_sorted_vocab_and_unseen_become_zero():
    train = {"city": np.array(["rome", "oslo", "paris", "oslo"]), "x": np.arange(4.0)}
    proc = TabularPreprocessor(cat_names=["city"], cont_names=["x"]).fit(train)
    assert proc.classes["city"] == ["#na#", "oslo", "paris", "rome"]
    assert proc.cardinalities == [4]
    test = {"city": np.array(["paris", "berlin", "rome", "oslo", ""]), "x": np.zeros(5)}
    x_cat, _ = proc.transform(test)
    np.testing.assert_array_equal(x_cat, [[2], [0], [3], [1], [0]])
    assert x_cat.dtype == np.int64


def test_categorify_numbers_and_missing_objects():
    train = {"code": np.array([10, 3, 7, 3]), "size": np.array(["S", None, "L", float("nan")], dtype=object)}
    proc = TabularPreprocessor(cat_names=["code", "size"]).fit(train)
    assert proc.classes["code"] == ["#na#", 3, 7, 10]
    assert proc.classes["size"] == ["#na#", "L", "S"]
    # An int column that gained NaN at predict time is float: it still matches the integer vocabulary.
    test = {"code": np.array([7.0, np.nan, 10.0, 4.0]), "size": np.array(["L", "XL", None, "S"], dtype=object)}
    x_cat, x_cont = proc.transform(test)
    np.testing.assert_array_equal(x_cat, [[2, 1], [0, 0], [3, 0], [0, 2]])
    assert x_cont.shape == (4, 0) and x_cont.dtype == np.float32


def test_category_type_mismatch_is_an_error():
    proc = TabularPreprocessor(cat_names=["code"]).fit({"code": np.array([1, 2, 3])})
    with pytest.raises(TypeError, match="'code'"):
        proc.transform({"code": np.array(["1", "2"])})


def test_fill_missing_uses_training_median_and_adds_indicator(rng):
    train = columns(rng, 301)
    proc = TabularPreprocessor(cat_names=["city"], cont_names=["temp", "price"]).fit(train)
    assert proc.na_names_ == ["temp"] and proc.all_cat_names == ["city", "temp_na"]
    assert proc.cardinalities == [4, 3]
    median = np.nanmedian(train["temp"])
    filled = np.where(np.isnan(train["temp"]), median, train["temp"])
    assert proc.medians_[0] == pytest.approx(median)

    test = {"city": np.array(["oslo", "oslo"]), "temp": np.array([np.nan, 25.0]), "price": np.array([np.nan, 5.0])}
    x_cat, x_cont = proc.transform(test)
    np.testing.assert_array_equal(x_cat[:, 1], [2, 1])  # _na: True -> 2, False -> 1 (0 is '#na#')
    expected_temp = (np.array([median, 25.0]) - filled.mean()) / (filled.std() + 1e-7)
    np.testing.assert_allclose(x_cont[:, 0], expected_temp, rtol=1e-6)
    # price had no missing values in training: filled with its median, and no indicator column exists.
    price_median = np.median(train["price"])
    expected_price = (np.array([price_median, 5.0]) - train["price"].mean()) / (train["price"].std() + 1e-7)
    np.testing.assert_allclose(x_cont[:, 1], expected_price, rtol=1e-6)
    assert not np.isnan(x_cont).any()


def test_normalize_uses_training_statistics(rng):
    train, valid = columns(rng, 500), columns(rng, 50)
    proc = TabularPreprocessor(cat_names=["city", "day"], cont_names=["price"]).fit(train)
    _, train_cont = proc.transform(train)
    np.testing.assert_allclose(train_cont.mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(train_cont.std(0), 1, atol=1e-5)
    _, valid_cont = proc.transform(valid)
    expected = (valid["price"] - train["price"].mean()) / (train["price"].std() + 1e-7)
    np.testing.assert_allclose(valid_cont[:, 0], expected, rtol=1e-5)


def test_cont_cat_split_by_dtype_and_cardinality(rng):
    data = columns(rng, 100)
    data["customer"] = np.arange(100)  # many distinct integers: continuous
    assert cont_cat_split(data) == (["city", "day", "promo"], ["temp", "price", "customer"])
    proc = TabularPreprocessor().fit(data)
    assert proc.cat_names == ["city", "day", "promo"]
    assert proc.classes["promo"] == ["#na#", False, True]


def test_numpy_2d_array_columns_by_index(rng):
    X = np.column_stack([rng.integers(0, 4, 50), rng.normal(size=50), rng.integers(0, 2, 50)]).astype(np.float64)
    proc = TabularPreprocessor(cat_names=[0, 2], cont_names=[1]).fit(X)
    x_cat, x_cont = proc.transform(X)
    np.testing.assert_array_equal(x_cat[:, 0], X[:, 0].astype(int) + 1 - X[:, 0].min().astype(int))
    assert x_cont.shape == (50, 1)
    with pytest.raises(TypeError, match="integer index"):
        TabularPreprocessor(cat_names=["a"]).fit(X)
    with pytest.raises(IndexError, match="out of range"):
        TabularPreprocessor(cat_names=[5]).fit(X)


def test_targets_regression_and_classification(rng):
    data = columns(rng, 40)
    reg = TabularPreprocessor(["city"], ["price"]).fit(data, rng.normal(size=40))
    assert reg.y_kind_ == "regression"
    y = reg.transform_y(np.array([1.5, 2.0]))
    assert y.dtype == np.float32 and y.shape == (2, 1)

    labels = rng.choice(np.array(["no", "yes"]), 40)
    clf = TabularPreprocessor(["city"], ["price"]).fit(data, labels)
    assert clf.y_kind_ == "classification" and clf.y_classes.tolist() == ["no", "yes"]
    np.testing.assert_array_equal(clf.transform_y(np.array(["yes", "no"])), [1, 0])
    assert clf.decode_y([1, 1, 0]).tolist() == ["yes", "yes", "no"]
    with pytest.raises(ValueError, match="not in the training targets"):
        clf.transform_y(np.array(["maybe"]))
    ints_as_regression = TabularPreprocessor(["city"], ["price"], y_kind="regression").fit(data, np.arange(40))
    assert ints_as_regression.y_kind_ == "regression"


def test_state_dict_round_trip_through_npz_without_pickle(rng):
    train, test = columns(rng, 200), columns(rng, 30)
    test["city"][:3] = "madrid"
    proc = TabularPreprocessor(["city", "day", "promo"], ["temp", "price"]).fit(train, train["city"])
    buffer = io.BytesIO()
    np.savez(buffer, **proc.state_dict())
    buffer.seek(0)
    with np.load(buffer, allow_pickle=False) as state:
        restored = TabularPreprocessor.from_state_dict(dict(state))
    for a, b in zip(proc.transform(test), restored.transform(test)):
        np.testing.assert_array_equal(a, b)
    assert restored.classes == proc.classes and restored.y_classes.tolist() == proc.y_classes.tolist()


def test_pandas_dataframe_matches_dict_of_columns(rng):
    pd = pytest.importorskip("pandas")
    data = columns(rng, 120)
    frame = pd.DataFrame(data)
    frame["city"] = frame["city"].astype("category")
    frame.loc[[3, 7], "city"] = None
    data["city"] = data["city"].astype(object)
    data["city"][[3, 7]] = None
    from_frame = TabularPreprocessor(["city", "day", "promo"], ["temp", "price"]).fit(frame)
    from_dict = TabularPreprocessor(["city", "day", "promo"], ["temp", "price"]).fit(data)
    for a, b in zip(from_frame.transform(frame), from_dict.transform(data)):
        np.testing.assert_array_equal(a, b)
    assert from_frame.transform(frame)[0][3, 0] == 0


def test_bad_inputs(rng):
    data = columns(rng, 10)
    with pytest.raises(KeyError, match="'nope'"):
        TabularPreprocessor(cat_names=["nope"]).fit(data)
    with pytest.raises(ValueError, match="both cat_names and cont_names"):
        TabularPreprocessor(["city"], ["city"]).fit(data)
    with pytest.raises(TypeError, match="'city' must hold numbers"):
        TabularPreprocessor([], ["city"]).fit(data)
    with pytest.raises(RuntimeError, match="not fitted"):
        TabularPreprocessor(["city"]).transform(data)
    with pytest.raises(ValueError, match="same length"):
        TabularPreprocessor(["city"]).fit({"city": np.array(["a", "b"]), "x": np.zeros(3)})
    with pytest.raises(ValueError, match="one entry per row"):
        TabularPreprocessor(["city"]).fit(data, np.zeros(3))
    with pytest.raises(ValueError, match="y_kind"):
        TabularPreprocessor(y_kind="ranking")
    with pytest.raises(TypeError, match="2-D array"):
        TabularPreprocessor().fit("table.csv")
