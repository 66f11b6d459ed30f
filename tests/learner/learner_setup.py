"""Small models, data and spies shared by the Learner tests (imported as a plain module)."""
import numpy as np

import nnx
from nnx import nn
from nnx.data import DataLoader
from nnx.learner import Callback, Learner

N_TRAIN, N_VALID, N_FEATURES, N_CLASSES, BATCH = 200, 64, 6, 3, 32
TRAIN_BATCHES = -(-N_TRAIN // BATCH)  # 7, the last one partial


def make_data(seed=0):
    """Three Gaussian blobs: learnable, but not in one step."""
    rng = np.random.default_rng(seed)
    centers = rng.normal(scale=2.0, size=(N_CLASSES, N_FEATURES))
    y = rng.integers(0, N_CLASSES, size=N_TRAIN + N_VALID)
    X = (centers[y] + rng.normal(size=(len(y), N_FEATURES))).astype(np.float32)
    return X[:N_TRAIN], y[:N_TRAIN], X[N_TRAIN:], y[N_TRAIN:]


def make_model(dropout=0.0):
    return nn.Sequential(nn.Linear(N_FEATURES, 16), nn.ReLU(), nn.Dropout(dropout), nn.Linear(16, 16), nn.ReLU(),
                         nn.Linear(16, N_CLASSES))


def three_groups(model):
    """A body of two layers and a head, as a transfer-learning splitter would give."""
    return [list(model[0].parameters()), list(model[3].parameters()), list(model[5].parameters())]


def make_learner(seed=0, dropout=0.0, loader_seed=None, shuffle=True, **kwargs):
    nnx.manual_seed(seed)
    X_train, y_train, X_valid, y_valid = make_data()
    train = DataLoader(X_train, y_train, batch_size=BATCH, shuffle=shuffle, seed=loader_seed)
    valid = DataLoader(X_valid, y_valid, batch_size=50)
    kwargs.setdefault("verbose", False)
    return Learner((train, valid), make_model(dropout), nn.CrossEntropyLoss(), **kwargs)


def param_arrays(model):
    return [p.numpy().copy() for p in model.parameters()]


def assert_params_equal(left, right):
    assert len(left) == len(right)
    for a, b in zip(left, right):
        np.testing.assert_array_equal(a, b)


class EventLog(Callback):
    """Records every event it sees, with the phase."""

    def __init__(self, order=0):
        self.order = order
        self.events = []
        for event in nnx.learner.EVENTS:
            setattr(self, event, self._recorder(event))

    def _recorder(self, event):
        def record():
            self.events.append(event)
        return record
