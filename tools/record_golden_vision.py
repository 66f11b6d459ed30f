"""Records torchvision's ResNets into tests/golden/vision.json, so that CI (no PyTorch, no torchvision) checks that
nnx.vision.models.resnet18/34/50 have torchvision's exact state-dict keys and shapes, and that torchvision weights
loaded into them give torchvision's logits.

Needs torch and torchvision (CPU is enough):

    python tools/record_golden_vision.py        # writes tests/golden/vision.json

The weights are not stored (11-25 M numbers): both sides draw them from tests/golden/golden.py's
`model_weights(keys_and_shapes, seed)`, which uses only NumPy's PCG64 `random()` doubles (a stream NumPy keeps
stable), so a recorded file and a test replaying it see the same weights; the inputs likewise (`model_input`).
torchvision's logits (eval mode with the drawn running statistics, and train mode with batch statistics) are
stored as exact float64.
"""
from __future__ import annotations

import json
import os
import sys
import types

import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GOLDEN = os.path.join(ROOT, "tests", "golden")
sys.path.insert(0, GOLDEN)
from golden import model_input, model_weights  # noqa: E402

# torchvision's C++ operators (nms, ...) are not needed for its model definitions: a wheel built for another
# torch release would refuse to register them at import.
sys.modules.setdefault("torchvision._meta_registrations", types.ModuleType("torchvision._meta_registrations"))
import torchvision  # noqa: E402

SEED = 20261207
CASES = [("resnet18", 10, (2, 3, 40, 40)), ("resnet34", 5, (2, 3, 33, 35)), ("resnet50", 7, (2, 3, 36, 36))]


def record_case(index, name, num_classes, input_shape):
    torch.manual_seed(0)
    model = getattr(torchvision.models, name)(num_classes=num_classes).double()
    state = model.state_dict()
    keys_and_shapes = [(key, list(value.shape)) for key, value in state.items()]
    weights = model_weights(keys_and_shapes, [SEED, index])
    model.load_state_dict({key: torch.from_numpy(value) for key, value in weights.items()})
    x = model_input(input_shape, [SEED, index, 1])
    model.eval()
    with torch.no_grad():
        eval_logits = model(torch.from_numpy(x)).numpy()
    model.train()
    with torch.no_grad():
        train_logits = model(torch.from_numpy(x)).numpy()
    running_mean = model.state_dict()["bn1.running_mean"].numpy()  # after the training-mode forward
    return dict(name=name, num_classes=num_classes, seed=[SEED, index], keys_and_shapes=keys_and_shapes,
                input_shape=list(input_shape), input_seed=[SEED, index, 1], eval_logits=eval_logits.tolist(),
                train_logits=train_logits.tolist(),
                bn1_running_mean_after_train=running_mean.tolist())


def main():
    payload = dict(recorded_by="tools/record_golden_vision.py", torch_version=torch.__version__,
                   torchvision_version=torchvision.__version__,
                   cases=[record_case(i, *case) for i, case in enumerate(CASES)])
    path = os.path.join(GOLDEN, "vision.json")
    with open(path, "w") as file:
        json.dump(payload, file, separators=(",", ":"))
        file.write("\n")
    print(f"{path}: {os.path.getsize(path) / 1024:.0f} KiB")


if __name__ == "__main__":
    main()
