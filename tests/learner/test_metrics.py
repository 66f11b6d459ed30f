"""nnx.metrics against sklearn.metrics, and the Learner-side accumulation over batches."""
import numpy as np
import pytest
import sklearn.metrics as skm

import nnx
from nnx import metrics


def _scores_and_labels(rng, n=203, classes=7):
    scores = rng.normal(size=(n, classes)).astype(np.float32)
    labels = rng.integers(0, classes, size=n)
    return scores, labels


def test_accuracy_and_error_rate_match_sklearn(rng):
    scores, labels = _scores_and_labels(rng)
    expected = skm.accuracy_score(labels, scores.argmax(1))
    assert metrics.accuracy(scores, labels) == pytest.approx(expected, abs=1e-12)
    assert metrics.error_rate(scores, labels) == pytest.approx(1 - expected, abs=1e-12)
    # already-decoded labels compare directly; Tensors work like arrays
    assert metrics.accuracy(scores.argmax(1), labels) == pytest.approx(expected, abs=1e-12)
    assert metrics.accuracy(nnx.Tensor(scores), nnx.Tensor(labels)) == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize("shape", [(1,), (37,), (50, 3)])
def test_regression_metrics_match_sklearn(rng, shape):
    pred = rng.normal(size=shape)
    targ = pred + rng.normal(scale=0.5, size=shape)
    assert metrics.mse(pred, targ) == pytest.approx(skm.mean_squared_error(targ.ravel(), pred.ravel()), rel=1e-12)
    assert metrics.rmse(pred, targ) == pytest.approx(np.sqrt(skm.mean_squared_error(targ.ravel(), pred.ravel())),
                                                     rel=1e-12)
    assert metrics.mae(pred, targ) == pytest.approx(skm.mean_absolute_error(targ.ravel(), pred.ravel()), rel=1e-12)
    if shape[0] > 1:
        assert metrics.r2_score(pred, targ) == pytest.approx(skm.r2_score(targ, pred), rel=1e-10)


def test_r2_constant_targets_follow_sklearn():
    targ = np.full(5, 2.0)
    assert metrics.r2_score(targ.copy(), targ) == skm.r2_score(targ, targ) == 1.0
    assert metrics.r2_score(targ + 1, targ) == skm.r2_score(targ, targ + 1) == 0.0


@pytest.mark.parametrize("average", ["macro", "weighted", "micro"])
def test_f1_matches_sklearn(rng, average):
    scores, labels = _scores_and_labels(rng, classes=5)
    labels[labels == 4] = 3  # a class never true but sometimes predicted
    expected = skm.f1_score(labels, scores.argmax(1), average=average, zero_division=0)
    assert metrics.F1Score(average)(scores, labels) == pytest.approx(expected, abs=1e-12)


def test_f1_binary_matches_sklearn(rng):
    pred = rng.integers(0, 2, size=40)
    targ = rng.integers(0, 2, size=40)
    assert metrics.F1Score("binary")(pred, targ) == pytest.approx(skm.f1_score(targ, pred), abs=1e-12)


def _accumulate(metric, pred, targ, batch_sizes):
    metric = metrics.as_metric(metric)
    metric.reset()
    start = 0
    for size in batch_sizes:
        metric.accumulate(pred[start:start + size], targ[start:start + size])
        start += size
    return metric.value


@pytest.mark.parametrize("func", [metrics.accuracy, metrics.error_rate, metrics.F1Score()])
def test_classification_metrics_accumulate_exactly_over_uneven_batches(rng, func):
    scores, labels = _scores_and_labels(rng)
    whole = func(scores, labels)
    assert _accumulate(func, scores, labels, [64, 64, 64, 11]) == pytest.approx(whole, abs=1e-12)


@pytest.mark.parametrize("func", [metrics.mse, metrics.rmse, metrics.mae, metrics.r2_score])
def test_regression_metrics_accumulate_exactly_over_uneven_batches(rng, func):
    pred = rng.normal(size=(101, 2))
    targ = pred + rng.normal(size=(101, 2))
    assert _accumulate(func, pred, targ, [32, 32, 32, 5]) == pytest.approx(func(pred, targ), rel=1e-12)


def test_bad_inputs_raise():
    with pytest.raises(ValueError, match="same number of values"):
        metrics.mse(np.zeros(3), np.zeros(4))
    with pytest.raises(ValueError, match="empty"):
        metrics.accuracy(np.zeros((0, 3)), np.zeros(0))
    with pytest.raises(ValueError, match="average"):
        metrics.F1Score("samples")
    with pytest.raises(TypeError, match="metrics"):
        metrics.as_metric(3)
