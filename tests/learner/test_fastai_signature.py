"""fastai's Learner signature, data first (issue 21 item 6): Learner(dls, model, loss_func=None, opt_func=Adam,
lr=1e-3, splitter=trainable_params, cbs=None, metrics=None, path=None, model_dir='models', wd=None, ...);
nnx's former (model, dls) order still accepted; train_bn, path/model_dir; fastai v1's recorder plot names."""
import inspect
import os

import numpy as np
import pytest

import nnx
from nnx import nn, optim
from nnx.data import DataLoader, DataLoaders
from nnx.learner import Learner
from nnx.learner.learner import trainable_params

FASTAI_ORDER = ["dls", "model", "loss_func", "opt_func", "lr", "splitter", "cbs", "metrics", "path", "model_dir",
                "wd", "wd_bn_bias", "train_bn", "moms"]


def data(seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(64, 4)).astype(np.float32)
    y = (X[:, 0] + X[:, 1] > 0).astype(np.int64)
    return (DataLoader(X, y, batch_size=16, shuffle=True, seed=seed), DataLoader(X[:32], y[:32], batch_size=16))


def model():
    return nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 2))


def test_the_signature_is_fastais():
    parameters = inspect.signature(Learner).parameters
    assert list(parameters)[:len(FASTAI_ORDER)] == FASTAI_ORDER
    defaults = {name: parameters[name].default for name in FASTAI_ORDER[2:]}
    assert defaults == {"loss_func": None, "opt_func": optim.Adam, "lr": 1e-3, "splitter": trainable_params,
                        "cbs": None, "metrics": None, "path": None, "model_dir": "models", "wd": None,
                        "wd_bn_bias": True, "train_bn": True, "moms": (0.95, 0.85, 0.95)}


def fitted_weights(make):
    nnx.manual_seed(0)
    learn = make()
    learn.fit(2)
    return [p.numpy().copy() for p in learn.model.parameters()]


def test_data_first_and_the_former_order_train_identically():
    new = fitted_weights(lambda: Learner(data(), model(), nn.CrossEntropyLoss(), lr=1e-2, verbose=False))
    old = fitted_weights(lambda: Learner(model(), data(), nn.CrossEntropyLoss(), lr=1e-2, verbose=False))
    for a, b in zip(new, old, strict=True):
        np.testing.assert_array_equal(a, b)
    assert not np.allclose(new[0], fitted_weights(lambda: Learner(data(), model(), nn.CrossEntropyLoss(),
                                                                  verbose=False))[0])  # lr matters: a real fit


def test_the_former_order_with_a_pair_of_loaders_is_recognised():
    learn = Learner(model(), data(), nn.CrossEntropyLoss(), verbose=False)
    assert isinstance(learn.model, nn.Module) and isinstance(learn.dls, DataLoaders)


def test_loss_func_defaults_to_the_dataloaders_loss_or_is_required():
    with pytest.raises(TypeError, match="loss_func is required"):
        Learner(data(), model(), verbose=False)
    dls = DataLoaders(*data())
    dls.loss_func = nn.CrossEntropyLoss()
    learn = Learner(dls, model(), verbose=False)
    assert learn.loss_func is dls.loss_func
    learn.fit(1)


def test_cbs_and_metrics_none_and_a_single_callback():
    from nnx.learner import Callback

    class Count(Callback):
        def __init__(self):
            self.batches = 0

        def after_batch(self):
            self.batches += 1
    counter = Count()
    learn = Learner(data(), model(), nn.CrossEntropyLoss(), cbs=counter, metrics=None, verbose=False)
    learn.fit(1)
    assert counter.batches == 4 + 2 and learn.metrics == []


def test_wd_bn_bias_false_is_refused_not_ignored():
    with pytest.raises(NotImplementedError, match="wd_bn_bias"):
        Learner(data(), model(), nn.CrossEntropyLoss(), wd_bn_bias=False)


@pytest.mark.parametrize("train_bn", [True, False])
def test_train_bn_keeps_normalisation_layers_training_in_frozen_groups(train_bn):
    net = model()
    body_and_head = lambda m: [list(m[0].parameters()) + list(m[1].parameters()), list(m[3].parameters())]
    learn = Learner(data(), net, nn.CrossEntropyLoss(), splitter=body_and_head, train_bn=train_bn, verbose=False)
    learn.freeze()
    assert not net[0].weight.requires_grad
    assert net[1].weight.requires_grad is train_bn and net[1].bias.requires_grad is train_bn
    before = net[1].weight.numpy().copy(), net[0].weight.numpy().copy()
    learn.fit(1, lr=1e-1)
    assert (not np.array_equal(net[1].weight.numpy(), before[0])) is train_bn
    np.testing.assert_array_equal(net[0].weight.numpy(), before[1])
    learn.unfreeze()
    assert all(p.requires_grad for p in net.parameters())


def test_path_and_model_dir_place_checkpoints(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    learn = Learner(data(), model(), nn.CrossEntropyLoss(), path=tmp_path / "run", verbose=False)
    written = learn.save("stage-1")
    assert os.path.isfile(tmp_path / "run" / "models" / "stage-1") and written == os.path.join(
        str(tmp_path / "run"), "models", "stage-1")
    learn.load("stage-1")
    plain = Learner(data(), model(), nn.CrossEntropyLoss(), verbose=False)
    plain.save("here.nnx")  # without path: the name as given
    assert os.path.isfile(tmp_path / "here.nnx")
    learn.save(tmp_path / "absolute.nnx")  # an absolute name is used as it is
    assert os.path.isfile(tmp_path / "absolute.nnx")


def test_course_v3_recorder_plots():
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from nnx.metrics import accuracy
    learn = Learner(data(), model(), nn.CrossEntropyLoss(), metrics=[accuracy], verbose=False)
    learn.lr_find(num_it=20)
    try:
        fig = learn.recorder.plot(skip_start=3, skip_end=2)
        x, _ = fig.axes[0].lines[0].get_data()
        assert len(x) == len(learn.recorder.lrs) - 2 - 3 and fig.axes[0].get_xscale() == "log"
        assert len(fig.axes[0].lines) == 1  # suggestion=False: no markers
        assert len(learn.recorder.plot(suggestion=True).axes[0].lines) > 1
        learn.fit(2)
        lr_line = learn.recorder.plot_lr().axes[0].lines[0]
        np.testing.assert_allclose(lr_line.get_data()[1], learn.recorder.lrs)
        assert len(learn.recorder.plot_lr(show_moms=True).axes) == 2
        assert len(learn.recorder.plot_losses().axes[0].lines) == 2  # train and valid
        metrics_fig = learn.recorder.plot_metrics()
        np.testing.assert_allclose(metrics_fig.axes[0].lines[0].get_data()[1],
                                   [row[2] for row in learn.recorder.values])
        no_metrics = Learner(data(), model(), nn.CrossEntropyLoss(), verbose=False)
        no_metrics.fit(1)
        with pytest.raises(ValueError, match="no metrics"):
            no_metrics.recorder.plot_metrics()
    finally:
        plt.close("all")
