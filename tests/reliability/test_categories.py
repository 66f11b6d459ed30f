"""Integer category ids above 2**53 stay distinct (issue 20 item 3): Categorify and collab keep integer
categories as integers (int64 or uint64) and strings as strings, never comparing them through float64."""
import numpy as np
import pytest

import nnx
from nnx.collab import CollabDataLoaders, collab_learner
from nnx.tabular.preprocessing import TabularPreprocessor

BIG = 2 ** 53


@pytest.mark.parametrize("dtype", [np.int64, np.uint64, object])
def test_ids_above_2_pow_53_get_distinct_codes(dtype):
    ids = np.array([BIG + i for i in range(4)], dtype=dtype)
    proc = TabularPreprocessor(["id"], []).fit({"id": ids})
    codes = proc.transform({"id": ids})[0][:, 0]
    assert codes.tolist() == [1, 2, 3, 4]
    assert proc.classes["id"][1:] == [BIG + i for i in range(4)]


def test_uint64_ids_near_the_top_of_the_range():
    ids = np.array([2 ** 64 - 1 - i for i in range(4)], dtype=np.uint64)
    proc = TabularPreprocessor(["id"], []).fit({"id": ids})
    assert proc.transform({"id": ids})[0][:, 0].tolist() == [4, 3, 2, 1]
    # An int64 column at predict time: negative ids cannot be in a uint64 vocabulary (code 0, unseen).
    assert proc.transform({"id": np.array([-1, 0], dtype=np.int64)})[0][:, 0].tolist() == [0, 0]


def test_values_of_another_integer_or_float_dtype_match_exactly():
    proc = TabularPreprocessor(["id"], []).fit({"id": np.array([BIG, BIG + 1, 3], dtype=np.int64)})
    assert proc.transform({"id": np.array([BIG + 1, 2 ** 64 - 1, 3], dtype=np.uint64)})[0][:, 0].tolist() == [3, 0, 1]
    assert proc.transform({"id": np.array([3.0, 3.5, np.nan, 1e300])})[0][:, 0].tolist() == [1, 0, 0, 0]


def test_integers_beyond_64_bits_are_refused_clearly():
    with pytest.raises(ValueError, match="int64 or all in uint64"):
        TabularPreprocessor(["id"], []).fit({"id": np.array([-1, 2 ** 64], dtype=object)})


def test_collab_users_differing_by_one_above_2_pow_53_are_told_apart():
    nnx.manual_seed(0)
    users = np.array([BIG, BIG + 1] * 32, dtype=np.int64)
    items = np.zeros(64, dtype=np.int64)
    ratings = np.where(users == BIG, 0.5, 5.0).astype(np.float32)
    dls = CollabDataLoaders.from_arrays(users, items, ratings, valid_pct=0.0, bs=16, seed=0)
    assert len(dls.classes["user"]) == 3  # '#na#' and two users
    learn = collab_learner(dls, n_factors=2, verbose=False, lr=0.1)
    learn.fit(40)
    preds = learn.predict(np.array([[BIG, 0], [BIG + 1, 0]], dtype=np.int64)).reshape(-1)
    assert abs(preds[0] - 0.5) < 0.3 and abs(preds[1] - 5.0) < 0.3, preds
