"""End to end: the shipped digits reach >= 0.97 with fit_one_cycle, and `python -m nnx` says so."""
import re
import subprocess
import sys

import numpy as np

import nnx
from nnx import nn
from nnx.data import DataLoaders
from nnx.datasets import load_digits_split
from nnx.learner import Learner
from nnx.metrics import accuracy


def test_digits_reach_97_percent_with_fit_one_cycle():
    nnx.manual_seed(1)
    X_train, X_valid, y_train, y_valid = load_digits_split()
    dls = DataLoaders.from_arrays(X_train, y_train, X_valid, y_valid, bs=64)
    model = nn.Sequential(nn.Linear(64, 256), nn.ReLU(), nn.Linear(256, 10))
    learn = Learner(dls, model, nn.CrossEntropyLoss(), metrics=[accuracy], verbose=False)
    learn.fit_one_cycle(12, 1e-2)
    valid_accuracy = learn.recorder.values[-1][2]
    assert valid_accuracy >= 0.97
    assert np.mean(learn.predict(X_valid) == y_valid) == valid_accuracy


def test_python_m_nnx_trains_and_prints_the_accuracy():
    result = subprocess.run([sys.executable, "-m", "nnx", "--quiet"], capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    match = re.search(r"test accuracy: (\d\.\d+)", result.stdout)
    assert match, result.stdout
    assert float(match.group(1)) >= 0.97
    assert re.search(r"in \d+\.\d\d s", result.stdout)
