"""Python threads: grad mode and the kernel thread count behave per process/thread as in PyTorch, and two
models trained at once in two threads end bit-identical to the same trainings run one after the other."""
import threading

import numpy as np

import nnx
from nnx import _C, nn
from nnx.data import DataLoader
from nnx.learner import Learner


def run_in_thread(function):
    result, errors = [], []

    def body():
        try:
            result.append(function())
        except BaseException as error:  # noqa: BLE001 - re-raised in the caller
            errors.append(error)

    thread = threading.Thread(target=body)
    thread.start()
    thread.join(timeout=60)
    assert not thread.is_alive(), "thread hung"
    if errors:
        raise errors[0]
    return result[0]


def test_no_grad_in_one_thread_does_not_switch_off_recording_in_another():
    inside_no_grad, recorded = threading.Event(), threading.Event()

    def validating_thread():
        with nnx.no_grad():
            inside_no_grad.set()
            assert recorded.wait(timeout=30)
            return nnx.ones(2, requires_grad=True).sum().requires_grad

    def training_thread():
        assert inside_no_grad.wait(timeout=30)
        try:
            x = nnx.ones(3, requires_grad=True)
            y = (x * 2).sum()
            return y.requires_grad, nnx.is_grad_enabled()
        finally:
            recorded.set()

    results = {}
    threads = [threading.Thread(target=lambda: results.__setitem__("valid", validating_thread())),
               threading.Thread(target=lambda: results.__setitem__("train", training_thread()))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert results["train"] == (True, True), "no_grad() in another thread switched off this thread's graph"
    assert results["valid"] is False
    assert nnx.is_grad_enabled()


def test_set_grad_enabled_in_a_thread_leaves_the_main_thread_alone():
    run_in_thread(lambda: nnx.set_grad_enabled(False))
    assert nnx.is_grad_enabled()
    assert run_in_thread(nnx.is_grad_enabled) is True


def test_set_num_threads_applies_to_every_python_thread():
    before = _C.get_num_threads()
    try:
        _C.set_num_threads(1)
        assert run_in_thread(_C.get_num_threads) == 1
        _C.set_num_threads(2)
        assert run_in_thread(_C.get_num_threads) == 2
    finally:
        _C.set_num_threads(before)


def _make_run(seed):
    """A Learner over its own data and DataLoader generator (shuffling), with validation under no_grad.
    Built in the calling thread: initialisation draws from nnx's shared default generator."""
    nnx.manual_seed(seed)
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(192, 64)).astype(np.float32)
    y = (X[:, :3].sum(axis=1) > 0).astype(np.int64) + (X[:, 3] > 1).astype(np.int64)
    model = nn.Sequential(nn.Linear(64, 256), nn.ReLU(), nn.LayerNorm(256), nn.Linear(256, 3))
    train = DataLoader(X[:160], y[:160], batch_size=160, shuffle=True, seed=seed)  # 160x256 > OpenMP grain
    valid = DataLoader(X[160:], y[160:], batch_size=32)
    return Learner((train, valid), model, nn.CrossEntropyLoss(), lr=1e-2, verbose=False)


def _train(learn):
    learn.fit(3)
    return [p.numpy().copy() for p in learn.model.parameters()], list(learn.recorder.losses)


def test_two_models_trained_in_two_threads_match_the_same_runs_one_after_the_other():
    sequential = [_train(_make_run(seed)) for seed in (1, 2)]
    learners = [_make_run(seed) for seed in (1, 2)]
    results = [None, None]
    start = threading.Barrier(2)

    def worker(index):
        start.wait(timeout=30)
        results[index] = _train(learners[index])

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    for (weights, losses), (expected_weights, expected_losses) in zip(results, sequential):
        assert losses == expected_losses
        for got, expected in zip(weights, expected_weights):
            np.testing.assert_array_equal(got, expected)
    assert not np.array_equal(results[0][0][0], results[1][0][0]), "the two runs should differ from each other"
