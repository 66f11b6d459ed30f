"""Numericalization: the vocabulary (special tokens first, then the most frequent tokens) and the token <-> index
mapping, fastai's make_vocab and Numericalize, with the vocabulary saved and loaded as a JSON list of strings."""
from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import numpy as np

from .core import text_spec_tok

__all__ = ["FAKE", "make_vocab", "Vocab", "Numericalize"]

FAKE = "xxfake"  # the filler that makes a vocabulary's length a multiple of 8; never an encoding's result


def make_vocab(count: Counter | dict[str, int], min_freq: int = 2, max_vocab: int = 60000,
               special_toks: Sequence[str] | None = None) -> list[str]:
    """The vocabulary of a token Counter, fastai's rule: the max_vocab most frequent tokens that occur at least
    min_freq times (ties in alphabetical order, where fastai keeps the Counter's first-seen order, so the vocabulary
    does not depend on the order of the documents), then special_toks (default text_spec_tok) moved or added to
    the front in their order, cut to max_vocab, then 8 - len % 8 'xxfake' tokens appended (as fastai: 8 when the
    length is already a multiple of 8) for fast embedding sizes. min_freq=2 is the issue's (and fastai 1's
    Vocab.create) default; fastai v2's make_vocab has 3."""
    for name, value, low in (("min_freq", min_freq, 0), ("max_vocab", max_vocab, 1)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
            raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    if not isinstance(count, dict):
        raise TypeError(f"count must be a Counter of tokens, got {type(count).__name__}")
    ranked = sorted(count.items(), key=lambda item: (-item[1], item[0]))[:max_vocab]
    vocab = [token for token, c in ranked if c >= min_freq]
    special_toks = list(text_spec_tok if special_toks is None else special_toks)
    present = set(special_toks)
    vocab = special_toks + [token for token in vocab if token not in present]
    vocab = vocab[:max_vocab]
    return vocab + [FAKE] * (8 - len(vocab) % 8)


class Vocab:
    """A vocabulary: itos (index -> token, a list) and stoi (token -> index; any other token -> 0, xxunk's index).
    Indexing, len, iteration and `in` work as on the list; save/load write and read it as a JSON list."""

    def __init__(self, itos: Iterable[str]) -> None:
        self.itos = [str(token) for token in itos]
        if not self.itos:
            raise ValueError("itos must hold at least one token (index 0 is what unknown tokens map to)")
        # The first index of each token (xxfake fillers repeat and are not real tokens).
        self.stoi: dict[str, int] = {}
        for i, token in enumerate(self.itos):
            if token != FAKE:
                self.stoi.setdefault(token, i)

    def __len__(self) -> int:
        return len(self.itos)

    def __getitem__(self, index: Any) -> Any:
        return self.itos[index]

    def __iter__(self) -> Iterator[str]:
        return iter(self.itos)

    def __contains__(self, token: object) -> bool:
        return token in self.stoi

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Vocab):
            return self.itos == other.itos
        if isinstance(other, (list, tuple)):
            return self.itos == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  (mutable, like a list)

    def numericalize(self, tokens: Iterable[str]) -> np.ndarray:
        """The int64 indices of tokens (0 for a token not in the vocabulary)."""
        stoi = self.stoi
        return np.fromiter((stoi.get(token, 0) for token in tokens), dtype=np.int64)

    def textify(self, ids: Any, sep: str | None = None) -> list[str] | str:
        """The tokens of ids (a sequence, an array or an nnx Tensor of indices); joined by sep when given."""
        tokens = [self.itos[i] for i in _index_list(ids, len(self.itos))]
        return tokens if sep is None else sep.join(tokens)

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the tokens as a JSON list of strings (UTF-8)."""
        with open(path, "w", encoding="utf-8") as file:
            json.dump(self.itos, file, ensure_ascii=False)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Vocab:
        """The vocabulary a save() wrote."""
        with open(path, encoding="utf-8") as file:
            itos = json.load(file)
        if not isinstance(itos, list) or not all(isinstance(token, str) for token in itos):
            raise ValueError(f"{os.fspath(path)!r} does not hold a vocabulary (a JSON list of strings)")
        return cls(itos)

    def __repr__(self):
        head = ", ".join(repr(token) for token in self.itos[:10])
        return f"Vocab({len(self.itos)} tokens: [{head}{', ...' if len(self.itos) > 10 else ''}])"


class Numericalize:
    """Tokens <-> int64 indices, fastai's Numericalize: with no vocab given, setup(docs) builds one with
    make_vocab(min_freq, max_vocab, special_toks) from the documents' tokens (or a Counter). Unknown tokens
    encode to 0 (xxunk); decode drops pad_tok (when given)."""

    def __init__(self, vocab: Vocab | Sequence[str] | None = None, min_freq: int = 2, max_vocab: int = 60000,
                 special_toks: Sequence[str] | None = None, pad_tok: str | None = None) -> None:
        self.vocab = None if vocab is None else (vocab if isinstance(vocab, Vocab) else Vocab(vocab))
        self.min_freq, self.max_vocab, self.special_toks, self.pad_tok = min_freq, max_vocab, special_toks, pad_tok

    def setup(self, docs: Iterable[Sequence[str]] | Counter) -> Numericalize:
        """Build the vocabulary from tokenized documents (or a token Counter) unless there is one; returns self."""
        if self.vocab is None:
            count = docs if isinstance(docs, Counter) else Counter(token for doc in docs for token in doc)
            self.vocab = Vocab(make_vocab(count, self.min_freq, self.max_vocab, self.special_toks))
        return self

    def _vocab(self) -> Vocab:
        if self.vocab is None:
            raise RuntimeError("Numericalize has no vocab: pass one or call setup(docs) first")
        return self.vocab

    def encode(self, tokens: Sequence[str]) -> np.ndarray:
        """The int64 indices of tokens."""
        if isinstance(tokens, str):
            raise TypeError("tokens must be a sequence of tokens, got a str (tokenize it first)")
        return self._vocab().numericalize(tokens)

    __call__ = encode

    def decode(self, ids: Any) -> list[str]:
        """The tokens of ids, without pad_tok."""
        return [token for token in self._vocab().textify(ids) if token != self.pad_tok]

    def __repr__(self):
        size = "no vocab" if self.vocab is None else f"vocab of {len(self.vocab)}"
        return f"Numericalize({size}, min_freq={self.min_freq}, max_vocab={self.max_vocab})"


def _index_list(ids, size):
    if hasattr(ids, "numpy"):  # an nnx Tensor (a CUDA one is read back by .cpu())
        ids = ids.cpu().numpy() if hasattr(ids, "cpu") else ids.numpy()
    array = np.asarray(ids)
    if array.ndim != 1 or (array.size and array.dtype.kind not in "iu"):
        raise ValueError(f"ids must be a 1-d sequence of integer indices, got shape {array.shape} {array.dtype}")
    if array.size and (array.min() < 0 or array.max() >= size):
        raise IndexError(f"ids hold an index outside the vocabulary [0, {size})")
    return array.tolist()
