"""What the progress display prints (issue 22, items 5 and 6): the epoch table when stdout is a pipe,
nothing with verbose=False, the validation bar's running-mean loss, and the lr_find plot's markers."""
import io
import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from nnx import nn
from nnx.data import DataLoader
from nnx.learner import Callback, Learner, ProgressCallback, progress

SCRIPT = textwrap.dedent("""
    import json, sys
    import numpy as np
    import nnx
    from nnx import nn
    from nnx.data import DataLoader
    nnx.manual_seed(0)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(96, 4)).astype(np.float32)
    y = (X[:, 0] > 0).astype(np.int64)
    dls = (DataLoader(X[:64], y[:64], batch_size=16, shuffle=True, seed=0), DataLoader(X[64:], y[64:], batch_size=16))
    learn = nnx.Learner(dls=dls, model=nn.Linear(4, 2), loss_func=nn.CrossEntropyLoss(),
                        metrics=[nnx.metrics.accuracy], verbose={verbose})
    learn.fit_one_cycle(3, 1e-2)
    print(json.dumps(learn.recorder.values), file=sys.stderr)
""")


def run_piped(verbose):
    """Runs SCRIPT with stdout a pipe (as under nohup, CI or `> log`): (stdout, the recorder's values)."""
    done = subprocess.run([sys.executable, "-c", SCRIPT.format(verbose=verbose)], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout, json.loads(done.stderr.strip().splitlines()[-1])


def test_piped_fit_one_cycle_prints_the_epoch_table_without_a_bar():
    out, values = run_piped(verbose=True)
    assert "\r" not in out and "eta" not in out  # no animated bar in a log
    lines = [line.split() for line in out.splitlines()]
    assert lines[0] == ["epoch", "train_loss", "valid_loss", "accuracy", "time"]
    assert [line[0] for line in lines[1:]] == ["0", "1", "2"]
    for line, (train_loss, valid_loss, accuracy) in zip(lines[1:], values):
        assert [float(cell) for cell in line[1:4]] == pytest.approx([train_loss, valid_loss, accuracy], abs=1e-6)
        assert len(line[4]) == 5 and line[4][2] == ":"  # mm:ss


def test_verbose_false_prints_nothing_when_piped():
    out, values = run_piped(verbose=False)
    assert out == "" and len(values) == 3


class ValidBatchLosses(Callback):
    order = 55  # after the Recorder, before the progress display

    def before_fit(self):
        self.losses, self.sizes = [], []

    def after_batch(self):
        if not self.learn.training:
            self.losses.append(float(self.learn.loss))
            self.sizes.append(len(self.learn.yb))


def test_validation_bar_shows_the_running_mean_loss(monkeypatch):
    monkeypatch.setattr(progress, "_REDRAW_SECONDS", 0.0)  # redraw after every batch
    rng = np.random.default_rng(1)
    X = rng.normal(size=(120, 3)).astype(np.float32)
    y = rng.integers(0, 2, size=120)
    dls = (DataLoader(X[:40], y[:40], batch_size=20), DataLoader(X[40:], y[40:], batch_size=16))  # 5 batches
    buffer = io.StringIO()
    spy = ValidBatchLosses()
    learn = Learner(dls=dls, model=nn.Linear(3, 2), loss_func=nn.CrossEntropyLoss(), verbose=True,
                    cbs=[spy])
    learn.remove_cb(learn.progress)
    learn.add_cb(ProgressCallback(file=buffer, interactive=True, use_tqdm=False))
    learn.fit(1, 1e-2)
    shown = [float(part.split(" loss ")[1].split()[0]) for part in buffer.getvalue().split("\r")
             if "valid [" in part]
    running_means = np.cumsum(np.multiply(spy.losses, spy.sizes)) / np.cumsum(spy.sizes)
    assert len(shown) == len(running_means) == 5
    np.testing.assert_allclose(shown, running_means, atol=5e-5)
    assert shown[-1] == pytest.approx(learn.recorder.values[0][1], abs=5e-5)  # the epoch's valid_loss
    assert not np.allclose(spy.losses, running_means, atol=5e-5)  # (the batches differ: the test can fail)


def test_lr_find_plot_marks_each_suggestion_at_its_own_learning_rate():
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rng = np.random.default_rng(2)
    X = rng.normal(size=(256, 4)).astype(np.float32)
    y = (X[:, 0] + X[:, 1] > 0).astype(np.int64)
    learn = Learner(dls=(DataLoader(X, y, batch_size=16, shuffle=True, seed=0), None), model=nn.Linear(4, 2),
                    loss_func=nn.CrossEntropyLoss(), verbose=False)
    suggestions = learn.lr_find(num_it=60)
    fig = learn.recorder.plot_lr_find()
    try:
        markers = {line.get_label().split(":")[0]: line for line in fig.axes[0].lines if line.get_marker() == "o"}
        assert set(markers) == set(suggestions._fields)
        curve_lrs = np.asarray(learn.recorder.lrs)
        curve_losses = np.asarray(learn.recorder.losses)
        for name, line in markers.items():
            suggested = getattr(suggestions, name)
            assert line.get_label() == f"{name}: {suggested:.2e}"
            assert line.get_xdata()[0] == pytest.approx(suggested, rel=1e-12)  # minimum: lr/10, not the minimum
            expected_loss = np.interp(np.log10(suggested), np.log10(curve_lrs), curve_losses)
            assert line.get_ydata()[0] == pytest.approx(expected_loss, rel=1e-6, abs=1e-9)  # on the curve
    finally:
        plt.close(fig)


def test_no_bar_silences_one_fit_and_the_next_fit_prints_again(capsys):
    rng = np.random.default_rng(3)
    X = rng.normal(size=(40, 3)).astype(np.float32)
    y = rng.integers(0, 2, size=40)
    learn = Learner(dls=(DataLoader(X, y, batch_size=20), DataLoader(X, y, batch_size=20)), model=nn.Linear(3, 2),
                    loss_func=nn.CrossEntropyLoss())
    with learn.no_bar():
        learn.fit(1)
    assert capsys.readouterr().out == ""
    learn.fit(1)
    assert capsys.readouterr().out.split()[:3] == ["epoch", "train_loss", "valid_loss"]
