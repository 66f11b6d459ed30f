"""Sequential runs BatchNorm1d/2d followed by ReLU as one batch_norm pass with its fused relu: the same outputs,
gradients and running statistics as the two layers one by one, in training and eval mode; a subclass or a
non-ReLU neighbour is not fused."""
import numpy as np
import pytest

import nnx
from nnx import nn


@pytest.mark.parametrize("norm, shape", [(nn.BatchNorm2d, (4, 3, 5, 6)), (nn.BatchNorm1d, (7, 3)),
                                         (nn.BatchNorm1d, (5, 3, 4))])
@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_relu_fuse_with_the_unfused_results(rng, norm, shape, training):
    def build():
        model = nn.Sequential(norm(3, dtype=np.float64), nn.ReLU(), nn.Identity())
        model[0].weight.data[...] = rng.uniform(0.5, 1.5, 3)  # (the same values in both: drawn once below)
        return model

    fused = build()
    plan = fused.plan()
    assert len(plan) == 2 and plan[0].fuses == (fused[0], "relu")
    plain = build()
    plain.load_state_dict(fused.state_dict())
    fused.train(training)
    plain.train(training)
    x_data = rng.standard_normal(shape)
    x1, x2 = nnx.tensor(x_data, requires_grad=True), nnx.tensor(x_data, requires_grad=True)
    out1 = fused(x1)
    out2 = plain[1](plain[0](x2))  # the layers one by one
    np.testing.assert_allclose(out1.numpy(), out2.numpy(), rtol=1e-13, atol=1e-14)
    upstream = nnx.tensor(rng.standard_normal(shape))
    out1.backward(upstream)
    out2.backward(upstream)
    np.testing.assert_allclose(x1.grad.numpy(), x2.grad.numpy(), rtol=1e-12, atol=1e-13)
    for p1, p2 in zip(fused[0].parameters(), plain[0].parameters()):
        np.testing.assert_allclose(p1.grad.numpy(), p2.grad.numpy(), rtol=1e-12, atol=1e-13)
    for key in ("running_mean", "running_var", "num_batches_tracked"):
        np.testing.assert_allclose(fused[0].state_dict()[key].numpy(), plain[0].state_dict()[key].numpy(),
                                   rtol=1e-14)


def test_only_stock_batch_norm_and_relu_fuse():
    class Norm(nn.BatchNorm2d):
        def forward(self, input):
            return super().forward(input) * 2

    assert len(nn.Sequential(Norm(3), nn.ReLU()).plan()) == 2
    assert len(nn.Sequential(nn.BatchNorm2d(3), nn.Tanh()).plan()) == 2
    assert len(nn.Sequential(nn.BatchNorm2d(3), nn.ReLU()).plan()) == 1
