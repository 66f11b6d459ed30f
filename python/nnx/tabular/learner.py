"""tabular_learner and the Learner that tabular and collaborative-filtering models share: predict on raw
rows through the fitted preprocessing, and export/load_learner for inference (model + preprocessing).
"""
from __future__ import annotations

import json
import os
from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import nn, optim
from ..learner import Learner
from ..learner.atomic_files import write_atomically
from ..learner.checkpoint import CheckpointError, read_npz
from .data import CollabDataLoaders, TabularDataLoaders
from .model import EmbeddingDotBias, EmbeddingNN, TabularModel, get_emb_sz
from .preprocessing import TabularPreprocessor

if TYPE_CHECKING:
    from ..optim import Optimizer
    from ..tensor import Tensor
    from .preprocessing import Table

__all__ = ["TabularLearner", "tabular_learner", "tabular_config", "load_learner", "MSELossFlat", "model_spec"]

EXPORT_FORMAT = "nnx tabular export"
EXPORT_VERSION = 1


class MSELossFlat:
    """fastai's MSELossFlat: mean squared error of pred and target flattened, so (N,), (N, 1) mix freely."""

    def __init__(self):
        self.mse = nn.MSELoss()

    def __call__(self, pred: Tensor, target: Tensor) -> Tensor:
        if pred.numel() != target.numel():
            raise ValueError(f"pred has {pred.numel()} values but target has {target.numel()}")
        return self.mse(pred.reshape(-1), target.reshape(-1))

    def __repr__(self):
        return "MSELossFlat()"


def tabular_config(**kwargs: Any) -> dict[str, Any]:
    """fastai's tabular_config: keyword arguments for TabularModel (ps, embed_p, y_range, use_bn,
    bn_final, bn_cont, act_cls, lin_first)."""
    allowed = {"ps", "embed_p", "y_range", "use_bn", "bn_final", "bn_cont", "act_cls", "lin_first"}
    unknown = set(kwargs) - allowed
    if unknown:
        raise TypeError(f"tabular_config got unknown arguments {sorted(unknown)}; allowed: {sorted(allowed)}")
    return kwargs


class TabularLearner(Learner):
    """A Learner whose dls carry a fitted preprocessor: predict(X) takes raw rows (a dict of columns,
    a DataFrame or an array, like the training X) and returns decoded predictions."""

    def predict(self, X: Table, batch_size: int = 256) -> np.ndarray | Tensor:
        """Class labels for a classification target, values for regression ((N,) for one target)."""
        preds, _ = self.get_preds(dl=self.dls.test_dl(X, bs=batch_size))
        proc = self.dls.proc
        if proc.y_kind_ == "classification":
            return proc.decode_y(preds.argmax(axis=-1))
        return preds.reshape(len(preds)) if preds.ndim == 2 and preds.shape[1] == 1 else preds

    def export(self, path: str | os.PathLike[str]) -> str | os.PathLike[str]:
        """Write what inference needs — the model's architecture and weights and the fitted
        preprocessing — to one .npz file (no pickle), atomically. Read it back with load_learner."""
        spec = getattr(self, "model_spec", None)
        if spec is None:
            raise RuntimeError("export needs a Learner made by tabular_learner or collab_learner")
        if "act_cls" in spec["kwargs"] and spec["kwargs"]["act_cls"] is None:
            raise RuntimeError("export can only rebuild activations from nnx.nn (act_cls is a custom class)")
        header = {"format": EXPORT_FORMAT, "version": EXPORT_VERSION, "dls": type(self.dls).__name__,
                  "bs": self.dls.bs, "model": spec}
        text = json.dumps(header, default=_plain_number)
        members = {"header": np.frombuffer(text.encode("utf-8"), dtype=np.uint8)}
        members.update({f"proc.{k}": v for k, v in self.dls.proc.state_dict().items()})
        members.update({f"model.{k}": v.cpu().numpy() for k, v in self.model.state_dict().items()})
        write_atomically(path, lambda file: np.savez(file, **members))
        return path


def _plain_number(value):
    """JSON for NumPy scalars in the model's arguments (layers=[np.int64(200)] and the like)."""
    if isinstance(value, (np.integer, np.floating, np.bool_)):
        return value.item()
    raise TypeError(f"cannot export a model argument of type {type(value).__name__}: {value!r}")


def model_spec(name: str, **kwargs: Any) -> dict[str, Any]:
    """A JSON-able description of a model's constructor call (act_cls by its nnx.nn name)."""
    act_cls = kwargs.get("act_cls")
    if act_cls is not None:
        act_name = act_cls.__name__ if isinstance(act_cls, type) else type(act_cls).__name__
        if getattr(nn, act_name, None) is None:
            act_name = None  # a custom activation: the Learner works, only export refuses
        kwargs["act_cls"] = act_name
    return {"class": name, "kwargs": kwargs}


def _loss_for(proc):
    return nn.CrossEntropyLoss() if proc.y_kind_ == "classification" else MSELossFlat()


def tabular_learner(dls: TabularDataLoaders, layers: Sequence[int] | None = None,
                    emb_szs: Mapping[Hashable, int] | None = None, config: Mapping[str, Any] | None = None,
                    n_out: int | None = None, y_range: tuple[float, float] | None = None,
                    loss_func: Callable[[Tensor, Tensor], Tensor] | None = None,
                    opt_func: Callable[..., Optimizer] = optim.AdamW, **kwargs: Any) -> TabularLearner:
    """fastai's tabular_learner: a TabularModel sized from dls (embedding sizes by emb_sz_rule unless
    emb_szs maps column names to sizes), with layers=[200, 100] by default, in a TabularLearner.
    The loss is CrossEntropyLoss for a classification target and MSELossFlat for regression.
    opt_func defaults to AdamW because fastai's Adam decays weights decoupled (true_wd) with wd=0.01,
    which is what AdamW does; kwargs go to the Learner (lr, metrics, wd, cbs, ...)."""
    if not isinstance(dls, TabularDataLoaders):
        raise TypeError(f"dls must be nnx.tabular.TabularDataLoaders, got {type(dls).__name__}")
    config = dict(tabular_config(**(config or {})))
    layers = [200, 100] if layers is None else list(layers)
    config_y_range = config.pop("y_range", None)  # the y_range argument wins over config's
    y_range = config_y_range if y_range is None else y_range
    sizes = get_emb_sz(dls.proc, emb_szs or {})
    n_out = dls.c if n_out is None else n_out
    model = TabularModel(sizes, len(dls.cont_names), n_out, layers, y_range=y_range, **config)
    learn = TabularLearner(dls, model, _loss_for(dls.proc) if loss_func is None else loss_func,
                           opt_func=opt_func, **kwargs)
    learn.model_spec = model_spec("TabularModel", emb_szs=sizes, n_cont=len(dls.cont_names), out_sz=n_out,
                                   layers=layers, y_range=None if y_range is None else list(y_range), **config)
    return learn


def load_learner(path: str | os.PathLike[str], **kwargs: Any) -> TabularLearner:
    """A TabularLearner rebuilt from export(): same architecture, weights and preprocessing, ready to
    predict on raw rows (its dls hold no data). kwargs go to the Learner (e.g. verbose=False).
    The file is read as untrusted (checkpoint.read_npz: no pickle, bounded decompression); anything malformed
    raises nnx.learner.CheckpointError (a ValueError) naming the file and the problem."""
    path = os.fspath(path)
    members = read_npz(path, what="nnx tabular export", required=("header",))
    try:
        header = json.loads(members.pop("header").tobytes().decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise CheckpointError(f"{path}: not an nnx tabular export (unreadable header: "
                              f"{type(error).__name__})") from None
    if not isinstance(header, dict) or header.get("format") != EXPORT_FORMAT:
        raise CheckpointError(f"{path}: not an nnx tabular export (made by TabularLearner.export)")
    if header.get("version") != EXPORT_VERSION:
        raise CheckpointError(f"{path}: export version {header.get('version')!r}, this nnx reads {EXPORT_VERSION}")
    try:
        proc = TabularPreprocessor.from_state_dict({k[5:]: v for k, v in members.items() if k.startswith("proc.")})
        dls = _inference_dataloaders(header["dls"], proc, header["bs"])
        model = _build_model(header["model"], dls)
        model.load_state_dict({k[6:]: v for k, v in members.items() if k.startswith("model.")})
    except (KeyError, TypeError, ValueError, AttributeError, IndexError, MemoryError, RecursionError) as error:
        raise CheckpointError(f"{path}: a malformed nnx tabular export ({type(error).__name__}: {error})") from None
    kwargs.setdefault("opt_func", optim.AdamW)
    learn = TabularLearner(dls, model, _loss_for(proc), **kwargs)
    learn.model_spec = header["model"]
    return learn


def _inference_dataloaders(kind, proc, bs):
    kinds = {"TabularDataLoaders": TabularDataLoaders, "CollabDataLoaders": CollabDataLoaders}
    if kind not in kinds:
        raise ValueError(f"unknown DataLoaders kind {kind!r} in the export")
    return kinds[kind].for_inference(proc, bs)


def _build_model(spec, dls):
    classes = {"TabularModel": TabularModel, "EmbeddingNN": EmbeddingNN, "EmbeddingDotBias": EmbeddingDotBias}
    if spec.get("class") not in classes:
        raise ValueError(f"unknown model class {spec.get('class')!r} in the export")
    kwargs = dict(spec["kwargs"])
    if "act_cls" in kwargs:
        if kwargs["act_cls"] is None:
            raise ValueError("the exported model used a custom activation that load_learner cannot rebuild")
        kwargs["act_cls"] = getattr(nn, kwargs["act_cls"])
    if spec["class"] == "EmbeddingDotBias":
        return EmbeddingDotBias.from_classes(classes=dls.classes, **kwargs)
    return classes[spec["class"]](**kwargs)
