"""nnx.decomposition.PCA against a NumPy float64 SVD reference and scikit-learn's PCA."""
import numpy as np
import pytest

from nnx.decomposition import PCA


def correlated_data(rng, n, d, dtype=np.float64):
    """Data with distinct variances per direction, offset from the origin (so centring matters)."""
    mixing = rng.normal(size=(d, d)) * np.linspace(3.0, 0.2, d)[:, None]
    return (rng.normal(size=(n, d)) @ mixing + rng.uniform(-5, 5, size=d)).astype(dtype)


def reference_pca(X):
    """Textbook PCA in float64: SVD of the centred data, components signed so their largest entry is > 0."""
    X = X.astype(np.float64)
    mean = X.mean(0)
    _, s, Vt = np.linalg.svd(X - mean, full_matrices=False)
    Vt = Vt * np.sign(Vt[np.arange(len(Vt)), np.abs(Vt).argmax(1)])[:, None]
    variance = s**2 / (len(X) - 1)
    return mean, Vt, variance, variance / variance.sum()


@pytest.mark.parametrize("n,d,k", [(50, 7, 3), (17, 30, 5), (300, 4, 4), (2, 3, 1)])
def test_matches_numpy_svd(rng, n, d, k):
    X = correlated_data(rng, n, d)
    mean, Vt, variance, ratio = reference_pca(X)
    pca = PCA(k).fit(X)
    np.testing.assert_allclose(pca.mean_, mean, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(pca.components_, Vt[:k], rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(pca.explained_variance_, variance[:k], rtol=1e-10)
    np.testing.assert_allclose(pca.explained_variance_ratio_, ratio[:k], rtol=1e-10)
    np.testing.assert_allclose(pca.transform(X), (X - mean) @ Vt[:k].T, rtol=1e-9, atol=1e-9)
    assert pca.n_components_ == k


def test_matches_scikit_learn_including_signs(rng):
    sklearn_decomposition = pytest.importorskip("sklearn.decomposition")
    X = correlated_data(rng, 120, 9)
    ours = PCA(4).fit(X)
    theirs = sklearn_decomposition.PCA(4, svd_solver="full").fit(X)
    np.testing.assert_allclose(ours.components_, theirs.components_, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(ours.explained_variance_ratio_, theirs.explained_variance_ratio_, rtol=1e-9)
    np.testing.assert_allclose(ours.transform(X), theirs.transform(X), rtol=1e-8, atol=1e-9)
    whitened = PCA(4, whiten=True).fit(X)
    sk_whitened = sklearn_decomposition.PCA(4, whiten=True, svd_solver="full").fit(X)
    np.testing.assert_allclose(whitened.transform(X), sk_whitened.transform(X), rtol=1e-8, atol=1e-9)


def test_full_rank_inverse_transform_round_trips(rng):
    X = correlated_data(rng, 40, 6)
    pca = PCA().fit(X)
    assert pca.n_components_ == 6
    np.testing.assert_allclose(pca.inverse_transform(pca.transform(X)), X, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(pca.explained_variance_ratio_.sum(), 1.0, rtol=1e-12)
    whitened = PCA(whiten=True).fit(X)
    Z = whitened.transform(X)
    np.testing.assert_allclose(np.cov(Z, rowvar=False), np.eye(6), atol=1e-10)
    np.testing.assert_allclose(whitened.inverse_transform(Z), X, rtol=1e-10, atol=1e-10)


def test_truncated_inverse_transform_is_the_projection(rng):
    X = correlated_data(rng, 60, 5)
    mean, Vt, _, _ = reference_pca(X)
    pca = PCA(2)
    Z = pca.fit_transform(X)
    np.testing.assert_allclose(pca.inverse_transform(Z), (X - mean) @ Vt[:2].T @ Vt[:2] + mean, atol=1e-9)


def test_float_n_components_keeps_enough_variance(rng):
    X = correlated_data(rng, 200, 8)
    _, _, _, ratio = reference_pca(X)
    pca = PCA(0.9).fit(X)
    expected = int(np.searchsorted(np.cumsum(ratio), 0.9, side="right")) + 1
    assert pca.n_components_ == expected
    assert pca.explained_variance_ratio_.sum() > 0.9


def test_float32_input_stays_float32(rng):
    X = correlated_data(rng, 80, 6, np.float32)
    mean, Vt, _, _ = reference_pca(X)
    pca = PCA(3).fit(X)
    Z = pca.transform(X)
    assert pca.components_.dtype == np.float32 and Z.dtype == np.float32
    np.testing.assert_allclose(Z, (X.astype(np.float64) - mean) @ Vt[:3].T, rtol=1e-4, atol=1e-4)
    assert pca.inverse_transform(Z).dtype == np.float32


def test_integer_input_becomes_float64(rng):
    X = rng.integers(-5, 6, size=(30, 4))
    assert PCA(2).fit_transform(X).dtype == np.float64


@pytest.mark.parametrize("n_components,error", [(0, ValueError), (8, ValueError), (1.5, ValueError),
                                                ("two", TypeError), (True, TypeError)])
def test_bad_n_components(rng, n_components, error):
    with pytest.raises(error, match="n_components"):
        PCA(n_components).fit(correlated_data(rng, 10, 7))


def test_bad_inputs(rng):
    X = correlated_data(rng, 10, 3)
    with pytest.raises(RuntimeError, match="not fitted"):
        PCA(2).transform(X)
    with pytest.raises(ValueError, match="2-D"):
        PCA(2).fit(X[:, 0])
    with pytest.raises(ValueError, match="at least 2 samples"):
        PCA(1).fit(X[:1])
    with pytest.raises(TypeError, match="X must"):
        PCA(2).fit(np.array([["a", "b"], ["c", "d"]]))
    bad = X.copy()
    bad[3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        PCA(2).fit(bad)
    pca = PCA(2).fit(X)
    with pytest.raises(ValueError, match="features"):
        pca.transform(X[:, :2])
    with pytest.raises(ValueError, match="n_components_"):
        pca.inverse_transform(X)
