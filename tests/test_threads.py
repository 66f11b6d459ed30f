"""nnx.set_num_threads / get_num_threads (PyTorch's names) and threadpoolctl's control of nnx's OpenMP pool."""
import threading

import numpy as np
import pytest

import nnx


@pytest.fixture
def restore_threads():
    before = nnx.get_num_threads()
    yield
    nnx.set_num_threads(before)


def test_set_get_round_trip(restore_threads):
    nnx.set_num_threads(1)
    assert nnx.get_num_threads() == 1
    nnx.set_num_threads(3)
    assert nnx.get_num_threads() == 3


def test_setting_holds_in_other_python_threads(restore_threads):
    nnx.set_num_threads(1)
    seen = []
    worker = threading.Thread(target=lambda: seen.append(nnx.get_num_threads()))
    worker.start()
    worker.join()
    assert seen == [1]


@pytest.mark.parametrize("bad, error", [(0, ValueError), (-2, ValueError), (1.5, TypeError), ("2", TypeError),
                                        (True, TypeError), (None, TypeError)])
def test_bad_thread_counts_name_the_argument(bad, error, restore_threads):
    before = nnx.get_num_threads()
    with pytest.raises(error, match="'n'"):
        nnx.set_num_threads(bad)
    assert nnx.get_num_threads() == before


def test_results_do_not_depend_on_the_thread_count(restore_threads):
    rng = np.random.default_rng(0)
    a = nnx.tensor(rng.standard_normal((300, 200)).astype(np.float32))
    b = nnx.tensor(rng.standard_normal((200, 400)).astype(np.float32))
    x = nnx.tensor(rng.standard_normal(100_000).astype(np.float32))
    results = []
    for threads in (1, 2):
        nnx.set_num_threads(threads)
        results.append(((a @ b).numpy(), nnx.nn.functional.relu(x).numpy()))
    np.testing.assert_array_equal(results[0][1], results[1][1])
    np.testing.assert_allclose(results[0][0], results[1][0], rtol=1e-5, atol=1e-5)


def test_threadpoolctl_sees_and_limits_nnx(restore_threads):
    threadpoolctl = pytest.importorskip("threadpoolctl")
    nnx.set_num_threads(2)
    apis = {info["user_api"] for info in threadpoolctl.threadpool_info()}
    assert "openmp" in apis  # nnx's pool is libgomp's
    with threadpoolctl.threadpool_limits(1):
        assert nnx.get_num_threads() == 1
    assert nnx.get_num_threads() == 2
    with threadpoolctl.threadpool_limits(1, user_api="openmp"):
        assert nnx.get_num_threads() == 1
