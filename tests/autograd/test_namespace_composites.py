"""The torch namespace's compositions (nnx._composite) against NumPy float64 references with finite-difference
gradients, the in-place variants, and more Tensor methods (the comparisons with PyTorch skip without it)."""
import pathlib

import numpy as np
import pytest
from opcheck import check_op

import nnx

ROOT = pathlib.Path(__file__).resolve().parents[2]


# --- compositions (nnx._composite): NumPy float64 references with finite-difference gradients -------------------------
COMPOSITE_BINARY = [  # (name, NumPy reference, shapes, sampling range)
    ("atan2", np.arctan2, ((3, 4), (4,)), (-2, 2)), ("hypot", np.hypot, ((3, 4), (3, 4)), (-2, 2)),
    ("logaddexp", np.logaddexp, ((3, 4), (3, 1)), (-2, 2)), ("logaddexp2", np.logaddexp2, ((5,), (5,)), (-2, 2)),
    ("xlogy", lambda x, y: x * np.log(y), ((4,), (4,)), (0.2, 2)), ("fmax", np.fmax, ((4,), (4,)), (-2, 2)),
    ("fmin", np.fmin, ((4,), (4,)), (-2, 2)), ("kron", np.kron, ((2, 3), (3, 2)), (-2, 2)),
    ("inner", np.inner, ((3, 4), (2, 4)), (-2, 2)), ("vdot", np.vdot, ((5,), (5,)), (-2, 2)),
    ("cross", lambda a, b: np.cross(a, b, axis=1), ((4, 3), (4, 3)), (-2, 2)),
    ("dist", lambda a, b: np.linalg.norm((a - b).ravel()), ((3, 4), (3, 4)), (-2, 2)),
    ("tensordot", lambda a, b: np.tensordot(a, b, 2), ((2, 3, 4), (3, 4, 5)), (-2, 2)),
    ("cdist", lambda a, b: np.sqrt(((a[:, None] - b[None]) ** 2).sum(-1)), ((3, 4), (5, 4)), (-2, 2)),
    ("cosine_similarity", lambda a, b: (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1),
     ((3, 4), (3, 4)), (-2, 2)),
]


@pytest.mark.parametrize("name,reference,shapes,bounds", COMPOSITE_BINARY, ids=[c[0] for c in COMPOSITE_BINARY])
def test_composite_binary_functions(rng, name, reference, shapes, bounds):
    check_op(getattr(nnx, name), reference, *shapes, rng=rng, low=bounds[0], high=bounds[1], grad_rtol=1e-5)


COMPOSITE_UNARY = [  # (call, NumPy reference, shape, sampling range)
    (lambda x: nnx.logit(x), lambda x: np.log(x / (1 - x)), (5,), (0.2, 0.8)),
    (lambda x: x.deg2rad(), np.deg2rad, (4,), (-2, 2)), (lambda x: nnx.rad2deg(x), np.rad2deg, (4,), (-2, 2)),
    (lambda x: nnx.logcumsumexp(x, 1), lambda x: np.logaddexp.accumulate(x, axis=1), (3, 4), (-2, 2)),
    (lambda x: nnx.diff(x, dim=1), lambda x: np.diff(x, axis=1), (3, 4), (-2, 2)),
    (lambda x: nnx.diff(x, n=2, dim=0), lambda x: np.diff(x, n=2, axis=0), (4, 3), (-2, 2)),
    (lambda x: nnx.trapezoid(x), lambda x: np.trapezoid(x) if hasattr(np, "trapezoid") else np.trapz(x), (3, 5),
     (-2, 2)),
    (lambda x: nnx.tile(x, (2, 1, 3)), lambda x: np.tile(x, (2, 1, 3)), (2, 3), (-2, 2)),
    (lambda x: nnx.rot90(x), lambda x: np.rot90(x), (2, 3), (-2, 2)),
    (lambda x: nnx.rot90(x, 3, (1, 0)), lambda x: np.rot90(x, 3, (1, 0)), (2, 3), (-2, 2)),
    (lambda x: nnx.rot90(x, 2), lambda x: np.rot90(x, 2), (2, 3), (-2, 2)),
    (lambda x: x.fliplr(), np.fliplr, (2, 3), (-2, 2)), (lambda x: nnx.flipud(x), np.flipud, (2, 3), (-2, 2)),
    (lambda x: nnx.matrix_power(x, 3), lambda x: np.linalg.matrix_power(x, 3), (3, 3), (-1, 1)),
    (lambda x: nnx.take(x, nnx.tensor([5, 0, 5])), lambda x: np.take(x, [5, 0, 5]), (2, 3), (-2, 2)),
    (lambda x: nnx.masked_select(x, nnx.tensor([True, False, True])), lambda x: x[:, [0, 2]].ravel(), (2, 3), (-2, 2)),
    (lambda x: nnx.cummax(x, 1).values, lambda x: np.maximum.accumulate(x, axis=1), (3, 4), (-2, 2)),
    (lambda x: nnx.cummin(x, 0).values, lambda x: np.minimum.accumulate(x, axis=0), (3, 4), (-2, 2)),
    (lambda x: nnx.hstack([x, x * 2]), lambda x: np.hstack([x, x * 2]), (2, 3), (-2, 2)),
    (lambda x: nnx.vstack([x, x[0]]), lambda x: np.vstack([x, x[0]]), (2, 3), (-2, 2)),
    (lambda x: nnx.dstack([x, x]), lambda x: np.dstack([x, x]), (2, 3), (-2, 2)),
    (lambda x: nnx.column_stack([x[:, 0], x]), lambda x: np.column_stack([x[:, 0], x]), (2, 3), (-2, 2)),
    (lambda x: nnx.block_diag(x, x[0]), lambda x: np.block([[x, np.zeros((2, 3))], [np.zeros((1, 3)), x[:1]]]),
     (2, 3), (-2, 2)),
    (lambda x: nnx.cartesian_prod(x[0], x[1]), lambda x: np.stack(np.meshgrid(x[0], x[1], indexing="ij"), -1)
     .reshape(-1, 2), (2, 3), (-2, 2)),
]


@pytest.mark.parametrize("case", range(len(COMPOSITE_UNARY)))
def test_composite_functions(rng, case):
    call, reference, shape, (low, high) = COMPOSITE_UNARY[case]
    check_op(call, reference, shape, rng=rng, low=low, high=high, grad_rtol=1e-5)


def test_composite_value_functions():
    x = nnx.tensor([1, 3, 2, 5, 5, 1])
    values, indices = nnx.cummax(x, 0)
    np.testing.assert_array_equal(indices.numpy(), [0, 1, 1, 3, 4, 4])  # ties: the latest index, as torch
    assert [t.tolist() for t in nnx.tensor_split(nnx.arange(7), 3)] == [[0, 1, 2], [3, 4], [5, 6]]
    assert [t.tolist() for t in nnx.tensor_split(nnx.arange(7), [2, 5])] == [[0, 1], [2, 3, 4], [5, 6]]
    assert [t.tolist() for t in nnx.unbind(nnx.tensor([[1, 2], [3, 4]]), 1)] == [[1, 3], [2, 4]]
    assert nnx.bincount(nnx.tensor([0, 2, 2, 5])).tolist() == [1, 0, 2, 0, 0, 1]
    assert nnx.isin(nnx.tensor([1, 2, 3]), nnx.tensor([2, 5])).tolist() == [False, True, False]
    assert nnx.searchsorted(nnx.tensor([1, 3, 5]), nnx.tensor([3, 6])).tolist() == [1, 3]
    assert nnx.bucketize(nnx.tensor([3, 6]), nnx.tensor([1, 3, 5]), right=True).tolist() == [2, 3]
    assert nnx.histc(nnx.tensor([0.0, 1.0, 1.0, 2.0]), bins=2, min=0, max=2).tolist() == [1.0, 3.0]
    assert nnx.heaviside(nnx.tensor([-1.0, 0.0, 2.0]), nnx.tensor(0.5)).tolist() == [0.0, 0.5, 1.0]
    assert nnx.gcd(nnx.tensor([12, 18]), nnx.tensor([8, 27])).tolist() == [4, 9]
    assert nnx.copysign(nnx.tensor([1.0, -2.0]), -1.0).tolist() == [-1.0, -2.0]
    cleaned = nnx.nan_to_num(nnx.tensor([np.nan, np.inf, -np.inf, 1.0]), posinf=9.0)
    assert cleaned.tolist() == [0.0, 9.0, float(np.finfo(np.float32).min), 1.0]
    low, high = nnx.aminmax(nnx.tensor([[3.0, -1.0], [2.0, 7.0]]), dim=1)
    assert low.tolist() == [-1.0, 2.0] and high.tolist() == [3.0, 7.0]
    np.testing.assert_array_equal(nnx.tril_indices(3, 3).numpy(), np.stack(np.tril_indices(3)))
    assert nnx.broadcast_shapes((2, 1), (3,)) == (2, 3)
    assert [t.shape for t in nnx.broadcast_tensors(nnx.zeros(2, 1), nnx.zeros(3))] == [(2, 3), (2, 3)]
    assert nnx.atleast_2d(nnx.tensor(1.0)).shape == (1, 1) and nnx.atleast_3d(nnx.zeros(2, 3)).shape == (2, 3, 1)
    assert nnx.is_nonzero(nnx.tensor([2])) and not nnx.is_complex(nnx.zeros(1))
    assert nnx.float_power(nnx.tensor([2.0]), 2).dtype == np.float64
    with pytest.raises(RuntimeError, match="non-negative integers"):
        nnx.bincount(nnx.tensor([-1, 2]))


def test_composites_against_torch(rng):
    torch = pytest.importorskip("torch")
    a, b = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    for name, args in (("atan2", (b,)), ("logaddexp", (b,)), ("cross", (b, 1)), ("kron", (b,)), ("hypot", (b,)),
                       ("cummax", (1,)), ("logcumsumexp", (0,)), ("diff", ()), ("rot90", ()), ("fliplr", ())):
        ours = getattr(nnx, name)(nnx.tensor(a), *[nnx.tensor(x) if isinstance(x, np.ndarray) else x for x in args])
        theirs = getattr(torch, name)(torch.tensor(a), *[torch.tensor(x) if isinstance(x, np.ndarray) else x
                                                         for x in args])
        if isinstance(ours, tuple):
            ours, theirs = ours[0], theirs[0]
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-12, atol=1e-12, err_msg=name)
    x1, x2 = rng.standard_normal((3, 5)), rng.standard_normal((4, 5))
    np.testing.assert_allclose(nnx.cdist(nnx.tensor(x1), nnx.tensor(x2)).numpy(),
                               torch.cdist(torch.tensor(x1), torch.tensor(x2)).numpy(), rtol=1e-10)
    np.testing.assert_allclose(nnx.cosine_similarity(nnx.tensor(x1), nnx.tensor(x1[::-1].copy())).numpy(),
                               torch.cosine_similarity(torch.tensor(x1), torch.tensor(x1[::-1].copy())).numpy(),
                               rtol=1e-10)


# --- in-place variants ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name,args", [("exp", ()), ("sqrt", ()), ("sin", ()), ("sigmoid", ()), ("clamp_min", (0.7,)),
                                       ("remainder", (0.5,)), ("tril", ()), ("cumsum", (1,)), ("atan2", (2.0,)),
                                       ("round", ()), ("reciprocal", ())])
def test_in_place_variant_writes_the_out_of_place_result(rng, name, args):
    values = rng.uniform(0.5, 1.5, size=(3, 3))
    expected = getattr(nnx.tensor(values), name)(*[nnx.tensor(a) if name == "atan2" else a for a in args]).numpy()
    x = nnx.tensor(values)
    storage = x.numpy()
    assert getattr(x, name + "_")(*[nnx.tensor(a) if name == "atan2" else a for a in args]) is x
    assert x.numpy() is storage  # the same storage, written in place
    np.testing.assert_array_equal(x.numpy(), expected)


def test_in_place_variants_refuse_what_torch_refuses():
    with pytest.raises(RuntimeError, match="leaf Variable"):
        nnx.ones(2, requires_grad=True).exp_()
    with pytest.raises(RuntimeError, match="can't be cast"):
        nnx.tensor([1, 4]).sqrt_()
    leaf = nnx.ones(2, requires_grad=True)
    with nnx.no_grad():
        leaf.mul_(2).log_()
    np.testing.assert_allclose(leaf.detach().numpy(), np.log([2.0, 2.0]))
    mask = nnx.tensor([[True, False], [False, True]])
    np.testing.assert_array_equal(nnx.zeros(2, 2).masked_fill_(mask, 5.0).numpy(), [[5, 0], [0, 5]])
    assert nnx.Tensor.multiply_ is nnx.Tensor.mul_ and nnx.Tensor.subtract_ is nnx.Tensor.sub_


def test_integer_inputs_give_float32_like_torch():
    assert nnx.tensor([1, 2]).sin().dtype == np.float32 and nnx.log1p(nnx.tensor([1, 2])).dtype == np.float32


def test_more_tensor_methods(rng):
    check_op(lambda x: x.kthvalue(2, 1).values, lambda x: np.sort(x, axis=1)[:, 1], (3, 4), rng=rng)
    check_op(lambda x: nnx.diagflat(x), lambda x: np.diagflat(x), (2, 2), rng=rng)
    check_op(lambda x: x.sum_to_size(1, 4), lambda x: x.sum(0, keepdims=True), (3, 4), rng=rng)
    check_op(lambda x: x.mT, lambda x: np.swapaxes(x, -1, -2), (2, 3, 4), rng=rng)
    check_op(lambda x: nnx.broadcast_to(x, (2, 3)), lambda x: np.broadcast_to(x, (2, 3)), (3,), rng=rng)
    assert [p.shape for p in nnx.zeros(5, 2).split_with_sizes([2, 3])] == [(2, 2), (3, 2)]
    assert nnx.zeros(2).is_signed() and not nnx.zeros(2, dtype=nnx.uint8).is_signed()
    assert nnx.zeros(2).is_same_size(nnx.ones(2)) and not nnx.zeros(2).is_same_size(nnx.ones(3))
    nnx.manual_seed(0)
    draws = nnx.bernoulli(nnx.full((2000,), 0.25))
    assert set(np.unique(draws.numpy())) <= {0.0, 1.0} and 0.2 < draws.mean().item() < 0.3
    with pytest.raises(RuntimeError, match="kthvalue"):
        nnx.zeros(3).kthvalue(4)
