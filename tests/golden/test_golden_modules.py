"""PyTorch's recorded batch_norm / layer_norm (values, gradients, running statistics), clip_grad_norm_ and a real
torch.nn.Sequential state dict (tools/record_golden.py), replayed through nnx without PyTorch."""
import math

import numpy as np
import pytest

import nnx
import nnx.nn.functional as F
from golden import array, load
from nnx import nn

RECORDED = load("modules")


@pytest.mark.parametrize("mode", ["train", "eval"])
def test_batch_norm_matches_recorded_torch(mode):
    case = RECORDED[f"batch_norm_{mode}"]
    leaves = [nnx.tensor(array(case[k])).requires_grad_() for k in ("x", "weight", "bias")]
    running_mean, running_var = nnx.tensor(array(case["running_mean"])), nnx.tensor(array(case["running_var"]))
    out = F.batch_norm(leaves[0], running_mean, running_var, leaves[1], leaves[2], training=mode == "train",
                       momentum=0.1, eps=1e-5)
    np.testing.assert_allclose(out.numpy(), array(case["out"]), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(running_mean.numpy(), array(case["new_running_mean"]), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(running_var.numpy(), array(case["new_running_var"]), rtol=1e-12, atol=1e-15)
    out.backward(nnx.tensor(array(case["grad_out"])))
    for leaf, grad in zip(leaves, case["grads"]):
        np.testing.assert_allclose(leaf.grad.numpy(), array(grad), rtol=1e-10, atol=1e-12)


def test_layer_norm_matches_recorded_torch():
    case = RECORDED["layer_norm"]
    leaves = [nnx.tensor(array(case[k])).requires_grad_() for k in ("x", "weight", "bias")]
    out = F.layer_norm(leaves[0], (13,), leaves[1], leaves[2], eps=1e-5)
    np.testing.assert_allclose(out.numpy(), array(case["out"]), rtol=1e-12, atol=1e-12)
    out.backward(nnx.tensor(array(case["grad_out"])))
    for leaf, grad in zip(leaves, case["grads"]):
        np.testing.assert_allclose(leaf.grad.numpy(), array(grad), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("index", range(len(RECORDED["clip_grad_norm"])))
def test_clip_grad_norm_matches_recorded_torch(index):
    case = RECORDED["clip_grad_norm"][index]
    norm_type = math.inf if case["norm_type"] == "inf" else case["norm_type"]
    params = [nn.Parameter(np.zeros(np.shape(g))) for g in case["grads"]]
    for p, g in zip(params, case["grads"]):
        p.grad = nnx.tensor(array(g))
    total = nn.utils.clip_grad_norm_(params, case["max_norm"], norm_type=norm_type)
    np.testing.assert_allclose(total.item(), case["total"], rtol=1e-12)
    for p, clipped in zip(params, case["clipped"]):
        np.testing.assert_allclose(p.grad.numpy(), array(clipped), rtol=1e-12, atol=1e-15)


def test_loads_a_recorded_pytorch_state_dict():
    case = RECORDED["sequential_state_dict"]
    model = nn.Sequential(nn.Linear(6, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Dropout(0.2), nn.Linear(8, 5),
                          nn.LayerNorm(5), nn.GELU(), nn.Linear(5, 3))
    assert list(case["state"]) == list(model.state_dict())  # the same names, in the same order
    state = {k: array(v["values"], v["shape"], np.dtype(v["dtype"])) for k, v in case["state"].items()}
    model.load_state_dict(state)
    model.eval()
    out = model(nnx.tensor(array(case["x"], dtype=np.float32)))
    np.testing.assert_allclose(out.numpy(), array(case["out"]), rtol=1e-5, atol=1e-6)
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(value.numpy() if hasattr(value, "numpy") else value, state[key])
