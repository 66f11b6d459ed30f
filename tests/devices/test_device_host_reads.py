"""Training on a GPU without waiting for it at every batch: the Learner (apart from its loss guard, which reads
each training loss before the step), the estimators and clip_grad_norm_ read device values on the host a few
times per epoch, however many batches it has (counted on the fake CUDA module, whose every synchronising call is
counted), and the numbers they report are the CPU's."""
import math

import numpy as np
import pytest

import nnx
from nnx import nn
from nnx.data import DataLoaders
from nnx.datasets import load_digits_split
from nnx.learner import NonFiniteLossError
from nnx.metrics import F1Score, accuracy
from nnx.sklearn import MLPClassifier, MLPRegressor

MAX_READS_PER_EPOCH = 5


@pytest.fixture(scope="module")
def digits():
    X_train, X_test, y_train, y_test = load_digits_split()
    return X_train[:480], X_test[:160], y_train[:480], y_test[:160]


def waits(fake, run):
    """How many times run() made the host wait for the (fake) device."""
    before = fake.synchronizations
    run()
    return fake.synchronizations - before


def make_learner(digits, device, batch_size, metrics=(accuracy,)):
    X_train, X_test, y_train, y_test = digits
    dls = DataLoaders.from_arrays(X_train, y_train, X_test, y_test, bs=batch_size, seed=0, device=device)
    nnx.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))
    return nnx.Learner(dls, model, nn.CrossEntropyLoss(), metrics=list(metrics), verbose=False)


@pytest.mark.parametrize("batch_size", [16, 96])
def test_a_learner_epoch_reads_the_device_a_few_times_whatever_its_batches(fake_cuda_module, digits, batch_size):
    learn = make_learner(digits, "cuda", batch_size, metrics=(accuracy, F1Score()))
    learn.stop_on_nonfinite_loss = False  # the loss guard is the one per-batch read (tested below)
    learn.fit(1, 1e-2)  # (the first fit also moves the model)
    assert waits(fake_cuda_module, lambda: learn.fit(2, 1e-2)) <= 2 * MAX_READS_PER_EPOCH
    assert len(learn.recorder.losses) == 2 * len(learn.dls.train)
    assert waits(fake_cuda_module, learn.validate) <= 3
    assert waits(fake_cuda_module, learn.get_preds) <= 2  # predictions and targets, each in one transfer


def test_the_loss_guard_reads_each_training_batch_loss_once(fake_cuda_module, digits):
    learn = make_learner(digits, "cuda", 16)
    learn.fit(1, 1e-2)
    batches = len(learn.dls.train)
    assert batches <= waits(fake_cuda_module, lambda: learn.fit(1, 1e-2)) <= batches + MAX_READS_PER_EPOCH


def test_the_learner_records_what_the_cpu_records(fake_cuda_module, digits):
    on_cpu, on_device = make_learner(digits, "cpu", 32), make_learner(digits, "cuda", 32)
    for learn in (on_cpu, on_device):
        learn.fit_one_cycle(2, 1e-2)
    # the fake device runs the CPU kernels: the same numbers, however late they were read
    np.testing.assert_allclose(on_device.recorder.losses, on_cpu.recorder.losses, rtol=1e-6)
    np.testing.assert_allclose(on_device.recorder.values, on_cpu.recorder.values, rtol=1e-6)
    assert on_device.smooth_loss == pytest.approx(on_cpu.smooth_loss, rel=1e-6)
    assert on_device.loss == pytest.approx(on_cpu.loss, rel=1e-6)  # read when asked


def test_reading_the_smooth_loss_mid_epoch_reads_the_losses_so_far(fake_cuda_module, digits):
    seen = []

    class Watch(nnx.learner.Callback):
        order = 70

        def after_batch(self):
            if self.learn.training and self.learn.iter == 4:
                seen.append((self.learn.smooth_loss, len(self.learn.recorder.losses)))

    learn = make_learner(digits, "cuda", 32)
    learn.fit(1, 1e-2, cbs=[Watch()])
    assert seen[0][1] == 5 and seen[0][0] == learn.recorder.losses[4]


def poisoned(bad_call):
    calls, cross_entropy = [], nn.CrossEntropyLoss()

    def loss_func(pred, targ):
        loss = cross_entropy(pred, targ)
        if loss.requires_grad:
            calls.append(1)
            if len(calls) == bad_call:
                return loss * math.nan
        return loss
    return loss_func


def test_a_nonfinite_loss_on_a_gpu_stops_before_its_step_as_on_the_cpu(fake_cuda_module, digits):
    learn = make_learner(digits, "cuda", 96)  # 5 batches per epoch
    learn.loss_func = poisoned(5 + 3)  # epoch 1, batch 2
    with pytest.raises(NonFiniteLossError, match=r"loss is nan at epoch 1, batch 2 \(of 5.*last finite step"):
        learn.fit(3)
    assert len(learn.recorder.values) == 1 and learn.epoch == 1 and not learn.training
    assert all(np.isfinite(p.numpy()).all() for p in learn.model.parameters())
    assert {state["step"] for state in learn.opt.state.values()} == {5 + 2}  # the bad batch took no step


@pytest.mark.parametrize("use_tqdm", [False, True])
def test_the_progress_display_on_a_gpu(fake_cuda_module, digits, use_tqdm):
    if use_tqdm:
        pytest.importorskip("tqdm")
    import io

    from nnx.learner import ProgressCallback
    buffer = io.StringIO()
    learn = make_learner(digits, "cuda", 32)
    learn.add_cb(ProgressCallback(file=buffer, interactive=True, use_tqdm=use_tqdm))
    learn.verbose = True
    learn.fit(1, 1e-2)
    text = buffer.getvalue()
    assert "loss" in text and "train_loss" in text and f"{learn.recorder.values[0][1]:.6f}" in text


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")  # short fits on purpose
@pytest.mark.parametrize("estimator, early_stopping", [(MLPClassifier, False), (MLPClassifier, True),
                                                       (MLPRegressor, False)])
def test_an_estimator_epoch_reads_the_device_a_few_times(fake_cuda_module, digits, estimator, early_stopping):
    X_train, _, y_train, _ = digits
    y = y_train if estimator is MLPClassifier else X_train[:, :3].sum(1)
    settings = dict(hidden_layer_sizes=(16, 8), alpha=1e-3, random_state=0, early_stopping=early_stopping,
                    n_iter_no_change=100)
    reads = {}
    for batch_size in (16, 64):
        for epochs in (1, 4):
            model = estimator(batch_size=batch_size, max_iter=epochs, device="cuda", **settings)
            reads[batch_size, epochs] = waits(fake_cuda_module, lambda: model.fit(X_train, y))  # noqa: B023 (called here)
    # the moves to the device and back cost the same for every fit; each epoch adds a handful of reads
    per_epoch = {batch_size: (reads[batch_size, 4] - reads[batch_size, 1]) / 3 for batch_size in (16, 64)}
    assert per_epoch[16] == per_epoch[64] <= MAX_READS_PER_EPOCH, reads
    on_cpu = estimator(batch_size=64, max_iter=4, **settings).fit(X_train, y)  # `model`'s settings, on the CPU
    assert len(model.loss_curve_) == 4
    np.testing.assert_allclose(model.loss_curve_, on_cpu.loss_curve_, rtol=1e-5)  # summed once per epoch, same
    if early_stopping:
        np.testing.assert_allclose(model.validation_scores_, on_cpu.validation_scores_, rtol=1e-5)
        assert all(isinstance(value, np.ndarray) for value in model._best_state.values())


def test_clip_grad_norm_does_not_read_the_device(fake_cuda_module, rng):
    params = [nnx.nn.Parameter(nnx.tensor(rng.standard_normal((5, 4)).astype(np.float32), device="cuda"))
              for _ in range(3)]
    for p in params:
        p.grad = nnx.tensor(rng.standard_normal((5, 4)).astype(np.float32), device="cuda")
    assert waits(fake_cuda_module, lambda: nnx.nn.utils.clip_grad_norm_(params, 0.5)) == 0
    assert waits(fake_cuda_module, lambda: nnx.nn.utils.clip_grad_norm_(params, 0.5, norm_type=math.inf)) == 0


def test_backward_of_a_scalar_loss_does_not_read_the_device(fake_cuda_module, rng):
    model = nn.Sequential(nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 3)).to("cuda")
    optimizer = nnx.optim.Adam(model.parameters())
    X = nnx.tensor(rng.standard_normal((8, 6)).astype(np.float32), device="cuda")
    y = nnx.tensor(rng.integers(0, 3, 8), device="cuda")

    def step():
        loss = nn.functional.cross_entropy(model(X), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    step()
    assert waits(fake_cuda_module, step) == 0
