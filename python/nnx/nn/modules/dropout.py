"""Dropout: zeroes elements with probability p during training, scaling the rest by 1/(1-p)."""
from .. import functional as F
from ..module import Module


class Dropout(Module):
    """Inverted dropout; the identity in eval mode. The mask comes from nnx's seeded counter-based
    generator, so it does not depend on the thread count."""

    def __init__(self, p=0.5, inplace=False):
        super().__init__()
        if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0.0 <= p <= 1.0:
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
        self.p, self.inplace = p, inplace

    def forward(self, input):
        return F.dropout(input, self.p, self.training)

    def extra_repr(self):
        return f"p={self.p}, inplace={self.inplace}"
