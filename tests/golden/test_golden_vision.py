"""torchvision's ResNets as recorded by tools/record_golden_vision.py: nnx.vision.models.resnet18/34/50 must have
torchvision's state-dict keys and shapes, and the same weights (drawn by golden.model_weights) must give
torchvision's logits in eval mode (running statistics) and in training mode (batch statistics, running statistics
updated as torchvision's)."""
import numpy as np
import pytest

import nnx
from golden import load, model_input, model_weights
from nnx.vision import models

CASES = load("vision")["cases"]


def build(case):
    model = getattr(models, case["name"])(num_classes=case["num_classes"]).double()
    weights = model_weights(case["keys_and_shapes"], case["seed"])
    return model, weights


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_state_dict_keys_and_shapes_are_torchvisions(case):
    model, _ = build(case)
    ours = [(key, list(value.shape)) for key, value in model.state_dict().items()]
    assert ours == [tuple(pair) for pair in case["keys_and_shapes"]]


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_torchvision_weights_give_torchvisions_logits(case):
    model, weights = build(case)
    model.load_state_dict(weights)
    x = nnx.tensor(model_input(case["input_shape"], case["input_seed"]))
    model.eval()
    with nnx.no_grad():
        eval_logits = model(x).numpy()
    np.testing.assert_allclose(eval_logits, np.array(case["eval_logits"]), rtol=1e-9, atol=1e-9)
    model.train()
    with nnx.no_grad():
        train_logits = model(x).numpy()
    np.testing.assert_allclose(train_logits, np.array(case["train_logits"]), rtol=1e-8, atol=1e-8)
    np.testing.assert_allclose(model.bn1.running_mean.numpy(), np.array(case["bn1_running_mean_after_train"]),
                               rtol=1e-10, atol=1e-12)
