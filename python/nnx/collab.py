"""Collaborative filtering with fastai's names: EmbeddingDotBias (latent factors + biases), EmbeddingNN,
CollabDataLoaders and collab_learner, trained from (user, item, rating) arrays.

Users and items may be any integer or string ids: they are categorified on the training ratings, so
index 0 ('#na#') stands for an id never seen in training.
"""
import numpy as np

from . import nn, optim
from .data import DataLoader, DataLoaders
from .tabular.data import split_rows
from .tabular.learner import MSELossFlat, TabularLearner, _model_spec, tabular_config
from .tabular.model import Embedding, TabularModel, _as_tensor, _check_range, _is_integer, get_emb_sz
from .tabular.preprocessing import TabularPreprocessor, take_rows

__all__ = ["EmbeddingDotBias", "EmbeddingNN", "CollabDataLoaders", "collab_learner"]


class EmbeddingDotBias(nn.Module):
    """rating = u_weight[user] . i_weight[item] + u_bias[user] + i_bias[item], through sigmoid scaled to
    y_range when given. forward(x) takes x int64 (N, 2) of (user, item) indices and returns (N,)."""

    def __init__(self, n_factors, n_users, n_items, y_range=None):
        super().__init__()
        for name, value in (("n_factors", n_factors), ("n_users", n_users), ("n_items", n_items)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        self.y_range = None if y_range is None else _check_range(*y_range)
        self.u_weight, self.i_weight = Embedding(n_users, n_factors), Embedding(n_items, n_factors)
        self.u_bias, self.i_bias = Embedding(n_users, 1), Embedding(n_items, 1)
        self.classes = self.user = self.item = None

    @classmethod
    def from_classes(cls, n_factors, classes, user=None, item=None, y_range=None):
        """Sizes from `classes` ({column: ['#na#', ids...]}); weight()/bias() then take raw ids."""
        names = list(classes)
        user = names[0] if user is None else user
        item = names[1] if item is None else item
        model = cls(n_factors, len(classes[user]), len(classes[item]), y_range=y_range)
        model.classes, model.user, model.item = classes, user, item
        return model

    def forward(self, x):
        x = _check_pairs(x, self.u_weight.weight.device)
        users, items = x[:, 0], x[:, 1]
        dot = (self.u_weight(users) * self.i_weight(items)).sum(1)
        result = dot + self.u_bias(users).reshape(-1) + self.i_bias(items).reshape(-1)
        if self.y_range is None:
            return result
        low, high = self.y_range
        return result.sigmoid() * (high - low) + low

    def _get_idx(self, ids, is_item=True):
        """Embedding rows of user or item ids (raw ids with from_classes, row indices otherwise)."""
        table = self.i_weight if is_item else self.u_weight
        if self.classes is None:
            index = np.asarray(ids, dtype=np.int64).reshape(-1)
            if index.size and (index.min() < 0 or index.max() >= table.num_embeddings):
                raise IndexError(f"{'item' if is_item else 'user'} indices must be in [0, {table.num_embeddings})")
            return index
        classes = self.classes[self.item if is_item else self.user]
        position = {value: i for i, value in enumerate(classes)}
        wanted = np.asarray(ids).reshape(-1).tolist()
        missing = [v for v in wanted if v not in position]
        if missing:
            raise KeyError(f"{'items' if is_item else 'users'} {missing[:5]} are not in the training data")
        return np.array([position[v] for v in wanted], dtype=np.int64)

    def bias(self, ids, is_item=True):
        """The learned bias of each item (or user, is_item=False), as a NumPy array (N,)."""
        layer = self.i_bias if is_item else self.u_bias
        return layer.weight.detach().cpu().numpy()[self._get_idx(ids, is_item), 0].copy()

    def weight(self, ids, is_item=True):
        """The learned latent factors of each item (or user), as a NumPy array (N, n_factors)."""
        layer = self.i_weight if is_item else self.u_weight
        return layer.weight.detach().cpu().numpy()[self._get_idx(ids, is_item)].copy()


class EmbeddingNN(TabularModel):
    """A TabularModel over the (user, item) embeddings only: concatenated, then MLP layers to one output."""

    def __init__(self, emb_szs, layers, **kwargs):
        super().__init__(emb_szs=emb_szs, n_cont=0, out_sz=1, layers=layers, **kwargs)

    def forward(self, x_cat, x_cont=None):
        return super().forward(_check_pairs(x_cat, self._device()), None)


def _check_pairs(x, device=None):
    x = _as_tensor(x, np.int64 if _is_integer(x) else None, device)
    if x.ndim != 2 or x.shape[1] != 2 or np.dtype(x.dtype).kind not in "iu":
        raise ValueError(f"x must be an integer array of (user, item) pairs with shape (N, 2), "
                         f"got shape {tuple(x.shape)} and dtype {x.dtype}")
    return x


class CollabDataLoaders(DataLoaders):
    """Loaders of ((user, item) int64 (B, 2), rating float32 (B,)) batches; `proc` maps raw ids to rows."""

    def __init__(self, train, valid, proc, bs=64):
        super().__init__(train, valid)
        self.proc, self.bs = proc, bs

    @classmethod
    def from_arrays(cls, users, items, ratings, valid_pct=0.2, seed=None, bs=64, user_name="user",
                    item_name="item"):
        """Loaders from three 1-D arrays of equal length; a random valid_pct of the ratings validate."""
        users, items, ratings = (np.asarray(a) for a in (users, items, ratings))
        for name, array in (("users", users), ("items", items), ("ratings", ratings)):
            if array.ndim != 1 or len(array) != len(users):
                raise ValueError(f"users, items and ratings must be 1-D of the same length, got {name} "
                                 f"with shape {array.shape} (users has {users.shape})")
        if ratings.dtype.kind not in "biuf":
            raise TypeError(f"ratings must hold numbers, got dtype {ratings.dtype}")
        columns = {user_name: users, item_name: items}
        train_index, valid_index = split_rows(len(users), valid_pct, seed)
        proc = TabularPreprocessor([user_name, item_name], [], y_kind="regression")
        proc.fit(take_rows(columns, train_index), ratings[train_index])

        def loader(index, **options):
            x_cat, _ = proc.transform(take_rows(columns, index))
            return DataLoader(x_cat, proc.transform_y(ratings[index])[:, 0], **options)
        train = loader(train_index, batch_size=bs, shuffle=True, seed=seed)
        valid = loader(valid_index, batch_size=2 * bs) if len(valid_index) else None
        return cls(train, valid, proc, bs)

    @classmethod
    def from_df(cls, ratings, valid_pct=0.2, user_name=None, item_name=None, rating_name=None, seed=None, bs=64):
        """fastai's from_df: user, item and rating are the first three columns unless named."""
        columns = list(ratings.columns)
        user_name = columns[0] if user_name is None else user_name
        item_name = columns[1] if item_name is None else item_name
        rating_name = columns[2] if rating_name is None else rating_name
        return cls.from_arrays(ratings[user_name].to_numpy(), ratings[item_name].to_numpy(),
                               ratings[rating_name].to_numpy(), valid_pct=valid_pct, seed=seed, bs=bs,
                               user_name=user_name, item_name=item_name)

    @classmethod
    def for_inference(cls, proc, bs=64):
        empty = DataLoader(np.zeros((0, 2), dtype=np.int64), batch_size=bs)
        return cls(empty, None, proc, bs)

    @property
    def classes(self):
        return self.proc.classes

    def test_dl(self, X, bs=None):
        """A loader over (user, item) pairs of raw ids: an (N, 2) array, or a dict/DataFrame with the
        user and item columns."""
        if not isinstance(X, dict) and not hasattr(X, "columns"):
            pairs = np.asarray(X)
            if pairs.ndim != 2 or pairs.shape[1] != 2:
                raise ValueError(f"X must hold (user, item) pairs with shape (N, 2), got shape {pairs.shape}")
            X = dict(zip(self.proc.cat_names, (pairs[:, 0], pairs[:, 1])))
        x_cat, _ = self.proc.transform(X)
        return DataLoader(x_cat, batch_size=bs or 2 * self.bs)


def collab_learner(dls, n_factors=50, use_nn=False, emb_szs=None, layers=None, config=None, y_range=None,
                   loss_func=None, opt_func=optim.AdamW, **kwargs):
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
        spec = _model_spec("EmbeddingNN", emb_szs=sizes, layers=layers, **config)
    else:
        model = EmbeddingDotBias.from_classes(n_factors, dls.classes, y_range=y_range)
        spec = _model_spec("EmbeddingDotBias", n_factors=n_factors, y_range=y_range)
    learn = TabularLearner(dls, model, loss_func, opt_func=opt_func, **kwargs)
    learn.model_spec = spec
    return learn
