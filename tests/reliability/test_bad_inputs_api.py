"""Bad input across the tensor, autograd, functional, loss and module API raises TypeError/ValueError/IndexError/
RuntimeError whose message names the argument (optimizers, data, Learners and estimators, and what a refusal leaves
alone: test_bad_inputs_workflow.py). One table row per bad input."""
import math

import numpy as np
import pytest

import nnx
import nnx.nn.functional as F
from nnx import nn

NAN, INF = math.nan, math.inf


def x():
    return nnx.tensor(np.linspace(-1, 1, 12, dtype=np.float32).reshape(4, 3), requires_grad=True)


def targets(*values):
    return nnx.tensor(np.array(values, dtype=np.int64))


def param(*shape):
    return nn.Parameter(nnx.ones(*shape))


# (id, callable, exception type(s), regex the message must match: it names the argument)
TENSOR_CASES = [
    ("tensor-strings", lambda: nnx.tensor(["a", "b"]), TypeError, "data must hold numbers"),
    ("tensor-objects", lambda: nnx.tensor(np.array([object()])), TypeError, "data must hold numbers.*object"),
    ("tensor-complex", lambda: nnx.tensor(np.array([1 + 2j])), TypeError, "data must hold numbers.*complex"),
    ("tensor-complex-list", lambda: nnx.tensor([1 + 2j]), TypeError, "data must hold numbers.*complex"),
    ("Tensor-bytes-array", lambda: nnx.Tensor(np.array([b"ab"])), TypeError, "data must hold numbers"),
    ("from_numpy-list", lambda: nnx.from_numpy([1.0]), TypeError, "array must be a numpy.ndarray"),
    ("from_numpy-complex", lambda: nnx.from_numpy(np.ones(2, np.complex64)), TypeError, "array must hold numbers"),
    ("from_numpy-object", lambda: nnx.from_numpy(np.array([None])), TypeError, "array must hold numbers"),
    ("tensor-dtype-object", lambda: nnx.tensor([1], dtype=object), TypeError, "dtype must be a bool, integer"),
    ("zeros-dtype-str", lambda: nnx.zeros(2, dtype=str), TypeError, "dtype must be a bool, integer"),
    ("zeros-dtype-complex", lambda: nnx.zeros(2, dtype=np.complex128), TypeError, "dtype must be"),
    ("zeros-dtype-unknown", lambda: nnx.zeros(2, dtype="float7"), TypeError, "dtype must be a NumPy dtype"),
    ("zeros-negative", lambda: nnx.zeros(-1), ValueError, "negative dimensions"),
    ("zeros-float-size", lambda: nnx.zeros(2.5), TypeError, "size must be ints"),
    ("ones-str-size", lambda: nnx.ones("3"), TypeError, "size must be ints"),
    ("randn-int-dtype", lambda: nnx.randn(2, dtype=np.int64), TypeError, "dtype must be a floating point"),
    ("full-str-value", lambda: nnx.full((2,), "a"), TypeError, "must hold numbers"),
    ("arange-zero-step", lambda: nnx.arange(0, 3, 0), ValueError, "step must be nonzero"),
    ("tensor-device-cuda", lambda: nnx.tensor([1.0], device="cuda"), RuntimeError, "device='cuda' is not available"),
    ("tensor-device-tpu", lambda: nnx.tensor([1.0], device="tpu"), RuntimeError, "device.*expected one of cpu"),
    ("manual_seed-str", lambda: nnx.manual_seed("1"), TypeError, "seed must be an int"),
    ("manual_seed-float", lambda: nnx.manual_seed(1.5), TypeError, "seed must be an int"),
    ("manual_seed-huge", lambda: nnx.manual_seed(2**64), RuntimeError, "seed must be within the range"),
    ("set_state-bad", lambda: nnx.random.set_state({"seed": 1}), ValueError, "state must be a dict"),
    ("to-complex", lambda: x().to(np.complex64), TypeError, "dtype must be a bool, integer"),
    ("requires_grad-int", lambda: nnx.tensor([1, 2], requires_grad=True), RuntimeError, "floating point dtype"),
    ("grad-wrong-shape", lambda: setattr(x(), "grad", nnx.ones(3)), RuntimeError, "different size"),
    ("grad-wrong-type", lambda: setattr(x(), "grad", np.ones((4, 3))), TypeError, "grad must be a Tensor"),
    ("grad-wrong-dtype", lambda: setattr(x(), "grad", nnx.ones(4, 3, dtype=np.float64)), RuntimeError,
     "different type"),
    ("add-complex-array", lambda: x() + np.ones((4, 3), np.complex64), TypeError, "other operand must hold numbers"),
    ("mul-string-array", lambda: x() * np.array(["a"]), TypeError, "other operand must hold numbers"),
    ("sub-object-list", lambda: x() - [object()] * 3, TypeError, "other operand must hold numbers"),
    ("add-str", lambda: x() + "a", TypeError, "unsupported operand"),
    ("matmul-scalar", lambda: x() @ nnx.tensor(2.0), RuntimeError, "matmul"),
    ("matmul-shapes", lambda: x() @ nnx.ones(4, 2), ValueError, "incompatible inner dimensions.*\\(4, 3\\)"),
    ("sum-dim-out-of-range", lambda: x().sum(dim=2), IndexError, "Dimension out of range"),
    ("sum-dim-str", lambda: x().sum(dim="1"), TypeError, "dim must be an int"),
    ("softmax-dim-float", lambda: x().softmax(1.0), TypeError, "dim must be an int"),
    ("reshape-size", lambda: x().reshape(5, 3), RuntimeError, "invalid for input of size 12"),
    ("reshape-negative", lambda: x().reshape(-2, 6), RuntimeError, "invalid shape dimension -2"),
    ("reshape-two-minus-one", lambda: x().reshape(-1, -1), RuntimeError, "invalid"),
    ("view-non-contiguous", lambda: x().T.view(12), RuntimeError, "view size is not compatible"),
    ("permute-repeat", lambda: x().permute(0, 0), ValueError, "permutation"),
    ("expand-bad", lambda: x().expand(4, 5), RuntimeError, "expanded size"),
    ("repeat-too-few", lambda: x().repeat(2), RuntimeError, "repeat"),
    ("index-out-of-range", lambda: x()[10], IndexError, "out of bounds|index 10"),
    ("index-float", lambda: x()[1.5], IndexError, "only integers"),
    ("index-tensor-oob", lambda: x()[nnx.tensor([5])], IndexError, "index 5 is out of bounds"),
    ("gather-float-index", lambda: x().gather(1, nnx.tensor([[0.5]])), TypeError, "index must be an integer"),
    ("gather-oob", lambda: x().gather(1, targets(5, 5, 5, 5).reshape(4, 1)), IndexError, "gather.*out of range"),
    ("gather-negative", lambda: x().gather(1, targets(-9, 0, 0, 0).reshape(4, 1)), IndexError, "gather.*-9"),
    ("gather-ndim", lambda: x().gather(1, targets(0, 1)), RuntimeError, "gather.*dimensions"),
    ("clamp-none", lambda: x().clamp(), RuntimeError, "at least one of 'min' or 'max'"),
    ("clamp-str", lambda: x().clamp("0"), TypeError, "clamp\\(\\): min must be a number"),
    ("clamp-max-list", lambda: x().clamp(max=[1, 2]), TypeError, "clamp\\(\\): max must be a number"),
    ("max-empty", lambda: nnx.zeros(0).max(), RuntimeError, "empty"),
    ("mean-int", lambda: nnx.tensor([1, 2]).mean(), RuntimeError, "mean"),
    ("item-many", lambda: x().item(), RuntimeError, "12 elements cannot be converted"),
    ("bool-many", lambda: bool(x()), RuntimeError, "ambiguous"),
    ("len-0d", lambda: len(nnx.tensor(1.0)), TypeError, "0-d tensor"),
    ("invert-float", lambda: ~x(), TypeError, "bitwise not"),
    ("cat-not-list", lambda: nnx.cat(nnx.ones(2)), TypeError, "tensors"),
    ("cat-empty", lambda: nnx.cat([]), ValueError, "non-empty"),
    ("cat-shapes", lambda: nnx.cat([nnx.ones(2, 3), nnx.ones(2, 4)]), RuntimeError, "same shape"),
    ("stack-shapes", lambda: nnx.stack([nnx.ones(2), nnx.ones(3)]), RuntimeError, "equal size"),
    ("where-float-condition", lambda: nnx.where(nnx.ones(2), nnx.ones(2), nnx.zeros(2)), TypeError, "condition"),
    ("var-both-args", lambda: x().var(unbiased=True, correction=1), ValueError, "unbiased or correction"),
    ("flatten-order", lambda: x().flatten(1, 0), ValueError, "start_dim"),
    ("setitem-grad-tensor", lambda: nnx.zeros(3).__setitem__(0, nnx.ones(1, requires_grad=True).sum()),
     RuntimeError, "__setitem__"),
    ("inplace-leaf", lambda: x().add_(1), RuntimeError, "leaf Variable that requires grad"),
]

AUTOGRAD_CASES = [
    ("backward-non-scalar", lambda: (x() * 2).backward(), RuntimeError, "only for scalar outputs"),
    ("backward-gradient-shape", lambda: (x() * 2).backward(nnx.ones(3)), RuntimeError, "gradient has shape"),
    ("backward-no-grad", lambda: nnx.ones(2).sum().backward(), RuntimeError, "does not require grad"),
    ("backward-twice", lambda: [y := (x() * x()).sum(), y.backward(), y.backward()], RuntimeError,
     "backward through the graph a second time"),
    ("set_grad_enabled-str", lambda: nnx.set_grad_enabled("yes"), TypeError, "mode must be a bool"),
    ("requires_grad-off-non-leaf", lambda: setattr(x() * 2, "requires_grad", False), RuntimeError,
     "leaf variables"),
]

FUNCTIONAL_CASES = [
    ("linear-ndarray-input", lambda: F.linear(np.ones((4, 3), np.float32), nnx.ones(2, 3)), TypeError,
     "argument 'input' must be a Tensor"),
    ("linear-list-input", lambda: F.linear([[1.0, 2.0, 3.0]], nnx.ones(2, 3)), TypeError, "'input' must be a Tensor"),
    ("linear-int-input", lambda: F.linear(nnx.tensor([[1, 2, 3]]), nnx.ones(2, 3)), TypeError,
     "'input' must have a floating point dtype"),
    ("linear-dtype-mismatch", lambda: F.linear(x(), nnx.ones(2, 3, dtype=np.float64)), TypeError,
     "weight must have the dtype of input"),
    ("linear-in-features", lambda: F.linear(x(), nnx.ones(2, 2)), ValueError, "in_features=2"),
    ("linear-weight-1d", lambda: F.linear(x(), nnx.ones(3)), ValueError, "weight must be 2-D"),
    ("linear-bias-shape", lambda: F.linear(x(), nnx.ones(2, 3), nnx.ones(3)), ValueError, "bias must have shape"),
    ("linear-0d-input", lambda: F.linear(nnx.tensor(1.0), nnx.ones(2, 1)), ValueError, "input shape"),
    ("linear-float16", lambda: F.linear(nnx.ones(2, 3, dtype=np.float16), nnx.ones(2, 3, dtype=np.float16)),
     TypeError, "float32 or float64"),
    ("fused-activation", lambda: F.fused_linear(x(), nnx.ones(2, 3), None, "swish"), ValueError,
     "activation must be one of"),
    ("fused-slope-str", lambda: F.fused_linear(x(), nnx.ones(2, 3), None, "leaky_relu", "a"), TypeError,
     "'negative_slope' must be a number"),
    ("fused-slope-nan", lambda: F.fused_linear(x(), nnx.ones(2, 3), None, "leaky_relu", NAN), ValueError,
     "negative_slope"),
    ("relu-ndarray", lambda: F.relu(np.ones(3)), TypeError, "'input' must be a Tensor"),
    ("relu-complex", lambda: F.relu(nnx.Tensor._wrap(np.ones(3, np.complex64))), TypeError, "'input'"),
    ("sigmoid-int", lambda: F.sigmoid(nnx.tensor([1, 2])), TypeError, "'input' must have a floating point"),
    ("relu-big-endian", lambda: F.relu(nnx.from_numpy(np.ones(3, ">f4"))), TypeError, "float32 or float64"),
    ("leaky-slope-str", lambda: F.leaky_relu(x(), "a"), TypeError, "'negative_slope' must be a number"),
    ("leaky-slope-nan", lambda: F.leaky_relu(x(), NAN), ValueError, "negative_slope"),
    ("leaky-slope-inf", lambda: F.leaky_relu(x(), INF), ValueError, "negative_slope"),
    ("gelu-approximate", lambda: F.gelu(x(), approximate="fast"), ValueError, "approximate"),
    ("softplus-beta-zero", lambda: F.softplus(x(), beta=0), ValueError, "beta"),
    ("softplus-beta-str", lambda: F.softplus(x(), beta="1"), TypeError, "'beta' must be a number"),
    ("softplus-threshold-none", lambda: F.softplus(x(), threshold=None), TypeError, "'threshold' must be a number"),
    ("softmax-dim-range", lambda: F.softmax(x(), dim=3), IndexError, "dim out of range"),
    ("log_softmax-dim-float", lambda: F.log_softmax(x(), dim=1.0), TypeError, "dim must be an int"),
    ("softmax-int", lambda: F.softmax(nnx.tensor([1, 2]), dim=0), TypeError, "'input'"),
    ("dropout-p-negative", lambda: F.dropout(x(), -0.1), ValueError, "dropout probability.*-0.1"),
    ("dropout-p-above-one", lambda: F.dropout(x(), 1.5), ValueError, "dropout probability"),
    ("dropout-p-nan", lambda: F.dropout(x(), NAN), ValueError, "dropout probability.*nan"),
    ("dropout-p-str", lambda: F.dropout(x(), "0.5"), ValueError, "dropout probability.*'0.5'"),
    ("dropout-int", lambda: F.dropout(nnx.tensor([1, 2]), 0.5), TypeError, "'input'"),
    ("embedding-float-indices", lambda: F.embedding(nnx.tensor([0.0, 1.0]), nnx.ones(5, 2)), TypeError,
     "'input' must be an integer tensor"),
    ("embedding-negative", lambda: F.embedding(nnx.tensor([-1]), nnx.ones(5, 2)), IndexError,
     "indices must be in \\[0, 5\\).*-1"),
    ("embedding-too-big", lambda: F.embedding(nnx.tensor([5]), nnx.ones(5, 2)), IndexError, "indices must be in"),
    ("embedding-huge", lambda: F.embedding(nnx.tensor([2**40]), nnx.ones(5, 2)), IndexError, "indices"),
    ("embedding-uint64-wrap", lambda: F.embedding(np.array([2**63 + 5], np.uint64), nnx.ones(5, 2)), IndexError,
     "indices"),
    ("embedding-padding", lambda: F.embedding(nnx.tensor([0]), nnx.ones(5, 2), padding_idx=5), ValueError,
     "padding_idx"),
    ("embedding-weight-1d", lambda: F.embedding(nnx.tensor([0]), nnx.ones(5)), ValueError, "weight must be 2-D"),
    ("embedding-weight-int", lambda: F.embedding(nnx.tensor([0]), nnx.tensor([[1, 2]])), TypeError, "'weight'"),
    ("one_hot-negative", lambda: F.one_hot(nnx.tensor([-1])), RuntimeError, "non-negative"),
    ("one_hot-too-big", lambda: F.one_hot(nnx.tensor([3]), 2), RuntimeError, "num_classes"),
    ("one_hot-float", lambda: F.one_hot(nnx.tensor([1.0])), TypeError, "'tensor' must be an integer"),
    ("layer_norm-shape", lambda: F.layer_norm(x(), (4,)), RuntimeError, "normalized_shape"),
    ("layer_norm-eps-negative", lambda: F.layer_norm(x(), (3,), eps=-1.0), ValueError, "'eps' must be a number >= 0"),
    ("layer_norm-eps-str", lambda: F.layer_norm(x(), (3,), eps="1e-5"), TypeError, "'eps' must be a number"),
    ("layer_norm-weight-shape", lambda: F.layer_norm(x(), (3,), weight=nnx.ones(4)), ValueError, "weight must have"),
    ("batch_norm-one-sample", lambda: F.batch_norm(nnx.randn(1, 3), None, None, training=True), ValueError,
     "more than 1 value per channel"),
    ("batch_norm-1d", lambda: F.batch_norm(nnx.randn(3), None, None, training=True), ValueError, "input must have"),
    ("batch_norm-eval-no-stats", lambda: F.batch_norm(x(), None, None, training=False), ValueError, "running_mean"),
    ("batch_norm-stat-shape", lambda: F.batch_norm(x(), nnx.zeros(4), nnx.ones(4)), ValueError, "running_mean"),
    ("batch_norm-eps-nan", lambda: F.batch_norm(x(), None, None, training=True, eps=NAN), ValueError, "'eps'"),
    ("batch_norm-momentum-str", lambda: F.batch_norm(x(), None, None, training=True, momentum="a"), TypeError,
     "'momentum'"),
]

LOSS_CASES = [
    ("ce-reduction", lambda: F.cross_entropy(x(), targets(0, 1, 2, 1), reduction="avg"), ValueError, "reduction"),
    ("ce-label-smoothing-range", lambda: F.cross_entropy(x(), targets(0, 1, 2, 1), label_smoothing=1.5), ValueError,
     "label_smoothing"),
    ("ce-label-smoothing-str", lambda: F.cross_entropy(x(), targets(0, 1, 2, 1), label_smoothing="0.1"),
     ValueError, "label_smoothing"),
    ("ce-ignore-index-str", lambda: F.cross_entropy(x(), targets(0, 1, 2, 1), ignore_index="a"), TypeError,
     "ignore_index"),
    ("ce-target-too-big", lambda: F.cross_entropy(x(), targets(0, 1, 3, 1)), (IndexError, ValueError), "target"),
    ("ce-target-negative", lambda: F.cross_entropy(x(), targets(0, 1, -1, 1)), (IndexError, ValueError), "target"),
    ("ce-target-length", lambda: F.cross_entropy(x(), targets(0, 1)), ValueError, "target"),
    ("ce-target-bool", lambda: F.cross_entropy(x(), nnx.tensor([True, False, True, False])), TypeError, "target"),
    ("ce-target-float-shape", lambda: F.cross_entropy(x(), nnx.tensor([0.0, 1.0, 2.0, 0.0])), ValueError,
     "target size"),
    ("ce-int-input", lambda: F.cross_entropy(nnx.tensor([[1, 2]]), targets(0)), TypeError, "'input'"),
    ("ce-no-classes", lambda: F.cross_entropy(nnx.zeros(2, 0), targets(0, 0)), ValueError, "at least one class"),
    ("ce-weight-shape", lambda: F.cross_entropy(x(), targets(0, 1, 2, 1), weight=nnx.ones(2)), ValueError,
     "weight must have shape"),
    ("ce-weighted-target-oob", lambda: F.cross_entropy(x(), targets(0, 7, 1, 1), weight=nnx.ones(3)), IndexError,
     "target 7 is out of bounds"),
    ("nll-target-shape", lambda: F.nll_loss(x(), targets(0, 1)), ValueError, "target must have shape"),
    ("mse-shape", lambda: F.mse_loss(x(), nnx.ones(4)), ValueError, "target size"),
    ("mse-ndarray-input", lambda: F.mse_loss(np.ones(3), np.ones(3)), TypeError, "'input' must be a Tensor"),
    ("mse-int-input", lambda: F.mse_loss(nnx.tensor([1, 2]), nnx.tensor([1, 2])), TypeError, "'input'"),
    ("l1-reduction", lambda: F.l1_loss(x(), nnx.ones(4, 3), reduction="max"), ValueError, "reduction"),
    ("bce-pos-weight", lambda: F.binary_cross_entropy_with_logits(x(), nnx.ones(4, 3), pos_weight=nnx.ones(2)),
     ValueError, "pos_weight"),
    ("bce-weight", lambda: F.binary_cross_entropy_with_logits(x(), nnx.ones(4, 3), weight=nnx.ones(2)), ValueError,
     "weight"),
    ("bce-probabilities", lambda: F.binary_cross_entropy(x() * 3, nnx.ones(4, 3)), RuntimeError, "between 0 and 1"),
    ("CrossEntropyLoss-reduction", lambda: nn.CrossEntropyLoss(reduction="x"), ValueError, "reduction"),
    ("CrossEntropyLoss-smoothing", lambda: nn.CrossEntropyLoss(label_smoothing=-1), ValueError, "label_smoothing"),
    ("CrossEntropyLoss-target", lambda: nn.CrossEntropyLoss()(nnx.randn(3, 4), targets(0, 4, 1)), IndexError,
     "target must hold class indices in \\[0, 4\\).*got 4 at position 1"),
]

MODULE_CASES = [
    ("Linear-negative", lambda: nn.Linear(-1, 2), ValueError, "in_features"),
    ("Linear-float", lambda: nn.Linear(2.5, 2), ValueError, "in_features"),
    ("Linear-str-out", lambda: nn.Linear(2, "a"), ValueError, "out_features"),
    ("Linear-complex-dtype", lambda: nn.Linear(2, 2, dtype=np.complex64), TypeError, "dtype"),
    ("Linear-int-dtype", lambda: nn.Linear(2, 2, dtype=np.int64), TypeError, "dtype"),
    ("Linear-forward-shape", lambda: nn.Linear(3, 2)(nnx.ones(4, 5)), ValueError, "in_features=3"),
    ("Linear-forward-ndarray", lambda: nn.Linear(3, 2)(np.ones((4, 3), np.float32)), TypeError, "'input'"),
    ("Linear-forward-none", lambda: nn.Linear(3, 2)(None), TypeError, "'input'"),
    ("Linear-forward-float64", lambda: nn.Linear(3, 2)(nnx.ones(4, 3, dtype=np.float64)), TypeError, "dtype"),
    ("Dropout-p", lambda: nn.Dropout(1.5), ValueError, "dropout probability"),
    ("Embedding-negative", lambda: nn.Embedding(-3, 2), ValueError, "num_embeddings"),
    ("Embedding-padding", lambda: nn.Embedding(5, 2, padding_idx=9), ValueError, "padding_idx"),
    ("Embedding-forward-oob", lambda: nn.Embedding(5, 2)(nnx.tensor([7])), IndexError, "indices must be in"),
    ("BatchNorm1d-eps", lambda: nn.BatchNorm1d(3, eps=-1), ValueError, "eps"),
    ("BatchNorm1d-momentum", lambda: nn.BatchNorm1d(3, momentum=2), ValueError, "momentum"),
    ("BatchNorm1d-features", lambda: nn.BatchNorm1d(3)(nnx.ones(4, 5)), ValueError, "num_features=3"),
    ("BatchNorm1d-3d-input", lambda: nn.BatchNorm1d(3)(nnx.ones(4, 3, 2, 2)), ValueError, "2D or 3D"),
    ("LayerNorm-eps", lambda: nn.LayerNorm(3, eps=-1), ValueError, "eps"),
    ("LayerNorm-zero", lambda: nn.LayerNorm(0), ValueError, "normalized_shape"),
    ("Sequential-str", lambda: nn.Sequential("a"), TypeError, "not a Module"),
    ("Module-bad-param-assign", lambda: setattr(nn.Linear(2, 2), "weight", np.ones((2, 2))), TypeError,
     "parameter 'weight'"),
    ("register_buffer-name", lambda: nn.Linear(2, 2).register_buffer("a.b", nnx.ones(1)), KeyError, "buffer name"),
    ("Module-train-str", lambda: nn.Linear(2, 2).train("yes"), ValueError, "training mode"),
    ("Module-to-int", lambda: nn.Linear(2, 2).to(np.int64), TypeError, "floating point"),
    ("Module-to-cuda", lambda: nn.Linear(2, 2).to("cuda"), RuntimeError, "device"),
    ("load_state_dict-none", lambda: nn.Linear(2, 2).load_state_dict(None), TypeError, "state_dict"),
    ("load_state_dict-missing", lambda: nn.Linear(2, 2).load_state_dict({"weight": np.ones((2, 2))}), RuntimeError,
     'Missing key.*"bias"'),
    ("load_state_dict-shape", lambda: nn.Linear(2, 2).load_state_dict({"weight": np.ones((2, 3)),
                                                                       "bias": np.ones(2)}), RuntimeError,
     "size mismatch for weight"),
    ("clip_grad_norm-type", lambda: nn.utils.clip_grad_norm_([param(2)], 1.0, norm_type=-1), (ValueError, RuntimeError),
     "norm_type"),
]


def _bad_state_dict_counter():
    state = {name: value.numpy() for name, value in nn.BatchNorm1d(2).state_dict().items()}
    state["num_batches_tracked"] = np.array(2**64 - 1, np.uint64)  # wrapped to -1 before
    return nn.BatchNorm1d(2).load_state_dict(state)


def _io():
    import io
    return io.BytesIO


# Issue 20's second pass (reliability): values that wrapped or passed silently before.
SECOND_PASS_CASES = [
    ("ce-uint64-label", lambda: F.cross_entropy(x(), nnx.tensor(np.array([2**63 + 1, 0, 0, 0], np.uint64))),
     IndexError, "target.*int64 range"),
    ("load_state_dict-uint64-wrap", _bad_state_dict_counter, RuntimeError, "num_batches_tracked does not fit"),
    ("split-zero", lambda: x().split(0), RuntimeError, "split_size must be positive"),
    ("chunk-zero", lambda: x().chunk(0), RuntimeError, "chunks must be a positive"),
    ("save-object", lambda: nnx.save({"a": object()}, _io()()), TypeError, r"cannot save obj\['a'\]"),
    ("load-garbage", lambda: nnx.load(_io()(b"not a checkpoint")), ValueError, "not a readable nnx.save file"),
    ("threads-zero", lambda: nnx.set_num_threads(0), ValueError, "'n' must be a positive integer"),
]

ALL_CASES = TENSOR_CASES + AUTOGRAD_CASES + FUNCTIONAL_CASES + LOSS_CASES + MODULE_CASES + SECOND_PASS_CASES


@pytest.mark.parametrize("function, error, match", [case[1:] for case in ALL_CASES], ids=[c[0] for c in ALL_CASES])
def test_bad_input_raises_a_clear_error(function, error, match):
    with pytest.raises(error, match=match):
        function()


def test_every_bad_input_case_id_is_unique():
    ids = [case[0] for case in ALL_CASES]
    assert len(ids) == len(set(ids)) and len(ids) >= 180
