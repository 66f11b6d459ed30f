"""nnx.utils: PyTorch's torch.utils namespace; nnx.utils.data is torch.utils.data (Dataset, DataLoader, samplers)."""
from . import data

__all__ = ["data"]
