"""After NonFiniteLossError the model is that of the last finite step, buffers included (issue 20 item 4): the
bad batch's forward pass updated BatchNorm's running statistics before its loss was seen; they are put back,
so eval predictions stay finite and a checkpoint saved then is clean."""
import numpy as np
import pytest

import nnx
from nnx import nn
from nnx.data import DataLoader
from nnx.learner import Callback, Learner, NonFiniteLossError


class BufferCounter(nn.Module):
    """A registered (non-BatchNorm) buffer the forward pass changes in place."""

    def __init__(self):
        super().__init__()
        self.register_buffer("seen", nnx.tensor(np.zeros(1, dtype=np.float32)))

    def forward(self, x):
        if self.training:
            with nnx.no_grad():
                self.seen.add_(x.sum().reshape(1))
        return x


def make_learner():
    nnx.manual_seed(0)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, 4)).astype(np.float32)
    X[48:] = np.inf  # the fourth batch of 16 makes the loss (and the batch statistics) non-finite
    y = (X[:, 0] > 0).astype(np.int64)
    model = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), BufferCounter(), nn.ReLU(), nn.Linear(8, 2))
    return Learner(dls=(DataLoader(X, y, batch_size=16), DataLoader(X[:32], y[:32], batch_size=16)),
                   model=model, loss_func=nn.CrossEntropyLoss(), lr=1e-2, verbose=False), X


class BuffersAfterEachStep(Callback):
    order = 100

    def __init__(self):
        self.after = []

    def after_step(self):
        self.after.append({k: v.numpy().copy() for k, v in self.learn.model.state_dict().items()})


def test_buffers_are_those_of_the_last_finite_step():
    learn, X = make_learner()
    log = BuffersAfterEachStep()
    with pytest.raises(NonFiniteLossError, match="buffers"):
        learn.fit(1, cbs=[log])
    assert len(log.after) == 3  # three finite steps, the fourth batch refused
    state = {k: v.numpy() for k, v in learn.model.state_dict().items()}
    assert state.keys() == log.after[-1].keys()
    for key, value in state.items():  # running_mean, running_var, num_batches_tracked, seen, weights
        np.testing.assert_array_equal(value, log.after[-1][key], err_msg=key)
    assert int(state["1.num_batches_tracked"]) == 3


def test_eval_predictions_and_a_checkpoint_saved_then_are_finite(tmp_path):
    learn, X = make_learner()
    with pytest.raises(NonFiniteLossError):
        learn.fit(1)
    preds, _ = learn.get_preds(dl=[nnx.tensor(X[:48])])
    assert np.isfinite(preds).all()
    learn.save(tmp_path / "after.npz")
    fresh, _ = make_learner()
    fresh.load(tmp_path / "after.npz")
    for key, value in fresh.model.state_dict().items():
        assert np.isfinite(value.numpy()).all(), key


def test_buffers_replaced_by_the_forward_pass_are_put_back():
    class Rebinding(nn.Module):
        def __init__(self):
            super().__init__()
            self.register_buffer("last", nnx.tensor(np.zeros(2, dtype=np.float32)))

        def forward(self, x):
            if self.training:
                self.last = x.detach()[0, :2].clone()  # a new Tensor, not an in-place update
            return x

    nnx.manual_seed(0)
    X = np.ones((32, 4), dtype=np.float32)
    X[16:] = np.nan
    y = np.zeros(32, dtype=np.int64)
    model = nn.Sequential(Rebinding(), nn.Linear(4, 2))
    learn = Learner(dls=(DataLoader(X, y, batch_size=16), None), model=model, loss_func=nn.CrossEntropyLoss(),
                    verbose=False)
    with pytest.raises(NonFiniteLossError):
        learn.fit(1)
    np.testing.assert_array_equal(model[0].last.numpy(), [1.0, 1.0])
