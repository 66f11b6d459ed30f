"""Collaborative filtering with fastai's names: EmbeddingDotBias (latent factors + biases), EmbeddingNN,
CollabDataLoaders and collab_learner, trained from (user, item, rating) arrays.

Users and items may be any integer or string ids: they are categorified on the training ratings, so
index 0 ('#na#') stands for an id never seen in training. The models and loaders are defined in nnx.tabular
(model.py, data.py), below the tabular Learner whose export and load_learner rebuild them.
"""
from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from . import optim
from .tabular.data import CollabDataLoaders
from .tabular.learner import MSELossFlat, TabularLearner, model_spec, tabular_config
from .tabular.model import EmbeddingDotBias, EmbeddingNN, get_emb_sz

if TYPE_CHECKING:
    from .optim import Optimizer
    from .tensor import Tensor

__all__ = ["EmbeddingDotBias", "EmbeddingNN", "CollabDataLoaders", "collab_learner"]


def collab_learner(dls: CollabDataLoaders, n_factors: int = 50, use_nn: bool = False,
                   emb_szs: Mapping[Hashable, int] | None = None, layers: Sequence[int] | None = None,
                   config: Mapping[str, Any] | None = None, y_range: tuple[float, float] | None = None,
                   loss_func: Callable[[Tensor, Tensor], Tensor] | None = None,
                   opt_func: Callable[..., Optimizer] = optim.AdamW, **kwargs: Any) -> TabularLearner:
    """fastai's collab_learner: EmbeddingDotBias with n_factors latent factors (or, with use_nn=True,
    an EmbeddingNN with layers=[n_factors] by default), MSELossFlat, in a TabularLearner whose
    predict(pairs) takes raw (user, item) ids. opt_func defaults to AdamW, fastai's decoupled weight
    decay (with Adam, wd is an L2 term that Adam's scaling makes far stronger on rarely seen ids).
    kwargs go to the Learner (lr, wd, metrics, ...)."""
    if not isinstance(dls, CollabDataLoaders):
        raise TypeError(f"dls must be nnx.collab.CollabDataLoaders, got {type(dls).__name__}")
    loss_func = MSELossFlat() if loss_func is None else loss_func
    y_range = None if y_range is None else list(y_range)
    if use_nn:
        config = dict(tabular_config(**(config or {})))
        if y_range is not None:
            config["y_range"] = y_range
        sizes = get_emb_sz(dls.proc, emb_szs or {})
        layers = [n_factors] if layers is None else list(layers)
        model = EmbeddingNN(sizes, layers, **config)
        spec = model_spec("EmbeddingNN", emb_szs=sizes, layers=layers, **config)
    else:
        model = EmbeddingDotBias.from_classes(n_factors, dls.classes, y_range=y_range)
        spec = model_spec("EmbeddingDotBias", n_factors=n_factors, y_range=y_range)
    learn = TabularLearner(dls, model, loss_func, opt_func=opt_func, **kwargs)
    learn.model_spec = spec
    return learn
