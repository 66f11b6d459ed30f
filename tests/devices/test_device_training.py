"""Training end to end on a device: an MLP on the digits with Adam, Learner.fit_one_cycle with device DataLoaders,
and the scikit-learn estimators with device=; each reaches what the same run reaches on the CPU."""
import numpy as np
import pytest

import nnx
from nnx import nn, optim
from nnx.data import DataLoaders
from nnx.datasets import load_digits_split
from nnx.metrics import accuracy
from nnx.sklearn import MLPClassifier, MLPRegressor


@pytest.fixture(scope="module")
def digits():
    return load_digits_split()


def tolerance(request, cpu_math, gpu):
    """cpu_math where both sides run the same float32 kernels (the CPU, and the fake CUDA module, which runs the
    same float32 NumPy/CPU math); gpu for a real GPU, whose GEMMs and reductions sum in another order and drift
    over an epochs-long run."""
    return gpu if request.node.callspec.params.get("device") == "cuda" else cpu_math


def mlp(seed=0):
    nnx.manual_seed(seed)
    return nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))


def train_mlp(device, digits, epochs=6):
    """Plain loop: shuffled batches of the digits, Adam; returns the test accuracy."""
    X_train, X_test, y_train, y_test = digits
    model = mlp().to(device)
    optimizer = optim.Adam(model.parameters(), lr=3e-3)
    X, y = nnx.tensor(X_train, device=device), nnx.tensor(y_train, device=device)
    order_generator = np.random.default_rng(0)
    for _ in range(epochs):
        order = nnx.tensor(order_generator.permutation(len(X_train)), device=device)
        for start in range(0, len(X_train), 64):
            rows = order[start:start + 64]
            loss = nn.functional.cross_entropy(model(X[rows]), y[rows])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    with nnx.no_grad():
        predictions = model(nnx.tensor(X_test, device=device)).argmax(1)
    assert predictions.device == model[0].weight.device
    return float((predictions.cpu().numpy() == y_test).mean())


def test_mlp_on_digits_with_adam_reaches_the_cpu_accuracy(request, device, digits):
    cpu_accuracy = train_mlp("cpu", digits)
    assert cpu_accuracy > 0.9
    assert train_mlp(device, digits) >= cpu_accuracy - tolerance(request, 0.0, 0.02)


def fit_learner(device, digits, **learner_options):
    X_train, X_test, y_train, y_test = digits
    dls = DataLoaders.from_arrays(X_train, y_train, X_test, y_test, bs=64, seed=0, device=device)
    learn = nnx.Learner(dls, mlp(), nn.CrossEntropyLoss(), metrics=[accuracy], verbose=False, **learner_options)
    learn.fit_one_cycle(3, 1e-2)
    return learn


def test_learner_fit_one_cycle_on_device_dataloaders(request, device, digits):
    cpu_learn = fit_learner("cpu", digits)
    learn = fit_learner(device, digits)
    target = nnx.device("cpu") if device == "cpu" else nnx.device("cuda:0")
    assert learn.device == target and all(p.device == target for p in learn.model.parameters())
    cpu_loss, cpu_accuracy = cpu_learn.recorder.values[-1][1:3]
    valid_loss, valid_accuracy = learn.recorder.values[-1][1:3]
    assert cpu_accuracy > 0.9 and valid_accuracy >= cpu_accuracy - 0.02
    np.testing.assert_allclose(valid_loss, cpu_loss, **tolerance(request, dict(rtol=1e-5), dict(rtol=0.05)))
    preds, targets = learn.get_preds()  # host arrays, whatever the device (fastai returns CPU tensors)
    assert isinstance(preds, np.ndarray) and preds.shape == (len(digits[1]), 10)
    np.testing.assert_allclose(preds.sum(1), 1.0, rtol=1e-5)
    assert np.array_equal(targets, digits[3])
    labels = learn.predict(digits[1][:20])
    assert isinstance(labels, np.ndarray) and np.mean(labels == digits[3][:20]) > 0.8
    assert learn.validate()[1] == pytest.approx(valid_accuracy)


def test_learner_device_argument_moves_model_and_cpu_loaders(device, digits):
    X_train, X_test, y_train, y_test = digits
    dls = DataLoaders.from_arrays(X_train[:256], y_train[:256], X_test[:64], y_test[:64], bs=64)  # CPU loaders
    learn = nnx.Learner(dls, mlp(), nn.CrossEntropyLoss(), metrics=[accuracy], verbose=False, device=device)
    learn.fit(1, 1e-3)
    target = nnx.device("cpu") if device == "cpu" else nnx.device("cuda:0")
    assert all(p.device == target for p in learn.model.parameters())
    assert learn.xb is None and np.isfinite(learn.recorder.values[-1][1])
    # a model already on the device pulls CPU loaders there (fastai follows the model when dls has no device)
    model = mlp().to(device)
    follower = nnx.Learner(DataLoaders.from_arrays(X_train[:128], y_train[:128], bs=64), model,
                           nn.CrossEntropyLoss(), verbose=False)
    follower.fit(1, 1e-3)
    assert follower.device == target and np.isfinite(follower.recorder.values[-1][0])


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")  # short fits on purpose
@pytest.mark.parametrize("solver, options", [("adam", {}), ("lbfgs", {}), ("sgd", dict(early_stopping=True))])
def test_mlp_classifier_on_device_matches_the_cpu(request, device, digits, solver, options):
    X_train, X_test, y_train, y_test = digits
    settings = dict(hidden_layer_sizes=(32,), max_iter=15, random_state=0, solver=solver, **options)
    expected = MLPClassifier(**settings).fit(X_train, y_train)
    estimator = MLPClassifier(device=device, **settings).fit(X_train, y_train)
    predictions = estimator.predict(X_test)
    assert isinstance(predictions, np.ndarray) and isinstance(estimator.coefs_[0], np.ndarray)
    assert np.mean(predictions == expected.predict(X_test)) > 0.95
    assert estimator.score(X_test, y_test) >= expected.score(X_test, y_test) - 0.03
    np.testing.assert_allclose(estimator.loss_, expected.loss_, **tolerance(request, dict(rtol=1e-5), dict(rtol=0.05)))
    proba = estimator.predict_proba(X_test[:5])
    np.testing.assert_allclose(proba, expected.predict_proba(X_test[:5]),
                               **tolerance(request, dict(rtol=1e-5, atol=1e-6), dict(atol=0.05)))


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_estimators_keep_training_on_device_with_partial_fit_and_pickling(request, device, digits):
    import pickle
    X_train, _, y_train, _ = digits
    classifier = MLPClassifier(hidden_layer_sizes=(16,), random_state=0, device=device)
    for start in range(0, 600, 200):
        classifier.partial_fit(X_train[start:start + 200], y_train[start:start + 200], classes=np.arange(10))
    restored = pickle.loads(pickle.dumps(classifier))
    restored.partial_fit(X_train[600:800], y_train[600:800])
    assert restored.n_iter_ == 1 and len(restored.loss_curve_) == 4
    regressor = MLPRegressor(hidden_layer_sizes=(16,), max_iter=5, random_state=0, device=device)
    regressor.fit(X_train[:300], X_train[:300, :2].sum(1))
    expected = MLPRegressor(hidden_layer_sizes=(16,), max_iter=5, random_state=0).fit(
        X_train[:300], X_train[:300, :2].sum(1))
    np.testing.assert_allclose(regressor.predict(X_train[:10]), expected.predict(X_train[:10]),
                               **tolerance(request, dict(rtol=1e-5, atol=1e-6), dict(rtol=1e-3, atol=1e-3)))


def test_tabular_and_collab_learners_on_device(device):
    from nnx.collab import CollabDataLoaders, collab_learner
    from nnx.tabular import TabularDataLoaders, tabular_learner
    data = np.random.default_rng(0)
    n = 400
    X = {"shop": data.integers(0, 5, n), "temp": data.normal(size=n)}
    y = (X["shop"] % 2 + np.sin(X["temp"])).astype(np.float32)
    nnx.manual_seed(0)
    dls = TabularDataLoaders.from_arrays(X, y, cat_names=["shop"], cont_names=["temp"], seed=0, bs=64)
    learn = tabular_learner(dls, layers=[16], verbose=False, device=device)
    learn.fit_one_cycle(2, 1e-2)
    target = nnx.device("cpu") if device == "cpu" else nnx.device("cuda:0")
    assert all(p.device == target for p in learn.model.parameters())
    predictions = learn.predict({"shop": X["shop"][:8], "temp": X["temp"][:8]})
    assert isinstance(predictions, np.ndarray) and predictions.shape == (8,) and np.isfinite(predictions).all()
    users, items = data.integers(0, 20, n), data.integers(0, 15, n)
    ratings = (1 + (users % 5) + (items % 3)).astype(np.float32)
    collab = collab_learner(CollabDataLoaders.from_arrays(users, items, ratings, seed=0, bs=64), n_factors=4,
                            y_range=(0.5, 8.5), verbose=False, device=device)
    collab.fit_one_cycle(2, 5e-2)
    assert collab.model.u_weight.weight.device == target
    assert np.isfinite(collab.predict(np.stack([users[:5], items[:5]], 1))).all()
