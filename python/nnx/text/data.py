"""Text batches, fastai's way: LMDataLoader (the corpus as bs contiguous streams, targets shifted by one) for
language models, SortedDL (texts of similar lengths together, padded per batch) for classifiers, and
TextDataLoaders.from_texts / from_df that tokenize, numericalize and split the texts and build both loaders."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import nn
from .. import random as nnx_random
from ..data import DataLoaders
from ..tensor import Tensor, _target_device, move_array
from ..utils.data.sampler import Sampler, WeightedRandomSampler
from .core import PAD, Tokenizer
from .vocab import Numericalize, Vocab

__all__ = ["reverse_text", "pad_input", "pad_input_chunk", "LMDataLoader", "SortedDL", "TextDataLoaders",
           "WeightedRandomSampler"]


def reverse_text(x: Any) -> np.ndarray:
    """The token ids of one text in reverse order (fastai's backwards type transform)."""
    return np.ascontiguousarray(np.asarray(x)[::-1])


def pad_input(samples: Sequence[Any], pad_idx: int = 1, pad_first: bool = False,
              backwards: bool = False) -> np.ndarray:
    """The token-id sequences as one int64 (n, longest) array, each padded with pad_idx to the longest, at the
    front when pad_first; backwards flips each row after padding (so the padding moves to the other side)."""
    lengths = [len(s) for s in samples]
    out = np.full((len(samples), max(lengths, default=0)), pad_idx, dtype=np.int64)
    if backwards:
        pad_first = not pad_first
    for row, sample in zip(out, samples):
        if len(sample):
            if pad_first:
                row[len(row) - len(sample):] = sample
            else:
                row[:len(sample)] = sample
    return out[:, ::-1].copy() if backwards else out


def pad_input_chunk(samples: Sequence[Any], pad_idx: int = 1, pad_first: bool = True, seq_len: int = 72) -> np.ndarray:
    """fastai's classifier padding: each sequence padded to the longest, the padding split into whole seq_len
    chunks, put first (pad_first) or last, and the remainder on the other side — so a recurrent encoder that reads
    seq_len tokens at a time meets the chunks that are all padding first and can skip them."""
    if isinstance(seq_len, bool) or not isinstance(seq_len, (int, np.integer)) or seq_len < 1:
        raise ValueError(f"seq_len must be a positive integer, got {seq_len!r}")
    max_len = max((len(s) for s in samples), default=0)
    out = np.full((len(samples), max_len), pad_idx, dtype=np.int64)
    for row, sample in zip(out, samples):
        missing = max_len - len(sample)
        chunk = (missing // seq_len) * seq_len
        start = chunk if pad_first else 0  # [chunks, tokens, remainder] or [tokens, remainder, chunks]
        row[start:start + len(sample)] = sample
    return out


class _TextLoader:
    """What the text loaders share: the device batches go to, the random source, len and repr."""

    def __init__(self, bs: int, shuffle: bool, seed: int | None, device: Any) -> None:
        if isinstance(bs, bool) or not isinstance(bs, (int, np.integer)) or bs < 1:
            raise ValueError(f"bs must be a positive integer, got {bs!r}")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0):
            raise ValueError(f"seed must be None or a non-negative integer, got {seed!r}")
        self.bs, self.shuffle, self.seed = int(bs), bool(shuffle), seed
        self._generator = None if seed is None else np.random.Generator(np.random.Philox(seed))
        self.device = device

    @property
    def batch_size(self) -> int:
        """bs, by PyTorch's name."""
        return self.bs

    @property
    def device(self) -> Any:
        """Where batches are yielded: None (the CPU) or an nnx.device."""
        return self._device

    @device.setter
    def device(self, device: Any) -> None:
        target = _target_device(device)
        self._device = None if target is None or target.type == "cpu" else target

    def to(self, device: Any) -> _TextLoader:
        """Yield batches on device from now on; returns self."""
        self.device = device
        return self

    def _rng(self) -> np.random.Generator:
        return self._generator if self._generator is not None else nnx_random.numpy_generator()

    def _tensor(self, array: np.ndarray) -> Tensor:
        array = np.ascontiguousarray(array, dtype=np.int64)
        return Tensor._wrap(array if self._device is None else move_array(array, self._device))


def _as_docs(docs, name="docs"):
    if isinstance(docs, (str, np.ndarray)) and not (isinstance(docs, np.ndarray) and docs.dtype == object):
        raise TypeError(f"{name} must be a sequence of token-id sequences (one per text), got {type(docs).__name__}")
    out = []
    for doc in docs:
        array = np.asarray(doc.numpy() if hasattr(doc, "numpy") else doc)
        if array.ndim != 1 or (array.size and array.dtype.kind not in "iu"):
            raise ValueError(f"{name} must hold 1-d integer token ids, got shape {array.shape} {array.dtype}")
        out.append(array.astype(np.int64, copy=False))
    return out


class LMDataLoader(_TextLoader):
    """fastai's language-model loader: the documents (shuffled once per epoch when shuffle) concatenated into one
    stream, whose first round_down(total - 1, bs) tokens are cut into bs contiguous rows of bl tokens each;
    batch b is x = rows[:, b*seq_len : b*seq_len + seq_len] and y the same shifted by one token (the last batch
    may be shorter). Row i of one batch continues row i of the one before, so a recurrent model's hidden state
    carries over. Batches are (x, y), int64 (bs, seq_len) Tensors.
    jitter=True (off by default, as fastai v2) varies the length of each batch by fastai 1.0's
    LanguageModelLoader rule: seq_len, or seq_len / 2 with probability 1 - p_bptt, as the mean of a normal of
    standard deviation 5, at least 5 and at most seq_len + max_len (the rows are then read until they end, so
    the number of batches varies; len() is the number without jitter)."""

    def __init__(self, docs: Sequence[Any], lens: Sequence[int] | None = None, bs: int = 64, seq_len: int = 72,
                 shuffle: bool = False, seed: int | None = None, device: Any = None, jitter: bool = False,
                 p_bptt: float = 0.95, max_len: int = 25) -> None:
        super().__init__(bs, shuffle, seed, device)
        if isinstance(seq_len, bool) or not isinstance(seq_len, (int, np.integer)) or seq_len < 1:
            raise ValueError(f"seq_len must be a positive integer, got {seq_len!r}")
        self.docs = _as_docs(docs)
        self.lens = np.array([len(d) for d in self.docs] if lens is None else lens, dtype=np.int64)
        if len(self.lens) != len(self.docs):
            raise ValueError(f"lens has {len(self.lens)} entries for {len(self.docs)} docs")
        self.seq_len, self.jitter, self.p_bptt, self.max_len = int(seq_len), bool(jitter), p_bptt, max_len
        # The "- 1" leaves room for the last target; the end that does not fill all bs rows is thrown away.
        corpus = max(int(self.lens.sum()) - 1, 0) // self.bs * self.bs
        self.bl = corpus // self.bs  # tokens per row (0, no batches, when there are fewer than bs + 1 tokens)
        self.n_batches = self.bl // self.seq_len + int(self.bl % self.seq_len != 0)
        self.last_len = self.bl - (self.n_batches - 1) * self.seq_len

    def __len__(self) -> int:
        return self.n_batches

    @property
    def n(self) -> int:
        """Sequences per epoch (n_batches * bs), fastai's dl.n."""
        return self.n_batches * self.bs

    def rows(self, order: Sequence[int] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The epoch's (x, y) streams, (bs, bl) arrays, for the documents in order (default: as given)."""
        order = np.arange(len(self.docs)) if order is None else order
        stream = np.concatenate([self.docs[i] for i in order]) if len(order) else np.zeros(0, np.int64)
        corpus = self.bl * self.bs
        return stream[:corpus].reshape(self.bs, self.bl), stream[1:corpus + 1].reshape(self.bs, self.bl)

    def __iter__(self):
        rng = self._rng() if self.shuffle or self.jitter else None
        order = rng.permutation(len(self.docs)) if self.shuffle else None
        x, y = self.rows(order)
        start = 0
        while start < self.bl:
            length = self._next_length(rng) if self.jitter else self.seq_len
            yield self._tensor(x[:, start:start + length]), self._tensor(y[:, start:start + length])
            start += length

    def _next_length(self, rng):
        bptt = self.seq_len if rng.random() < self.p_bptt else self.seq_len / 2.0
        return min(max(5, int(rng.normal(bptt, 5))), self.seq_len + self.max_len)

    def __repr__(self):
        return (f"LMDataLoader(docs={len(self.docs)}, tokens={int(self.lens.sum())}, bs={self.bs}, "
                f"seq_len={self.seq_len}, shuffle={self.shuffle}, batches={self.n_batches})")


class SortedDL(_TextLoader):
    """fastai's classifier loader: batches of texts of similar lengths, each padded to its longest text by
    pad_input_chunk(pad_idx, pad_first, seq_len) (seq_len=None: pad_input, all the padding on one side).
    Without shuffle the texts come longest first. With shuffle, fastai's sort-ish order each epoch: a random
    permutation (the longest text moved first), sorted by length in chunks of 50 batches, cut into batches whose
    order is shuffled but for the first (the longest, so memory peaks at once) and the last (the shortest,
    often partial). sampler (e.g. WeightedRandomSampler, for over- or undersampling) picks which texts an
    epoch holds (its indices, repeats allowed) before they are grouped so. Batches: (x, y) int64 Tensors
    ((x,) without labels)."""

    def __init__(self, docs: Sequence[Any], labels: Any = None, bs: int = 64, shuffle: bool = False,
                 drop_last: bool = False, pad_idx: int = 1, pad_first: bool = True, seq_len: int | None = 72,
                 sampler: Sampler | None = None, seed: int | None = None, device: Any = None,
                 res: Sequence[int] | None = None) -> None:
        super().__init__(bs, shuffle, seed, device)
        self.docs = _as_docs(docs)
        self.labels = None if labels is None else np.asarray(labels)
        if self.labels is not None and len(self.labels) != len(self.docs):
            raise ValueError(f"labels has {len(self.labels)} entries for {len(self.docs)} docs")
        if self.labels is not None and self.labels.dtype.kind in "iub":
            self.labels = self.labels.astype(np.int64)
        self.res = np.array([len(d) for d in self.docs] if res is None else res, dtype=np.int64)
        self.drop_last, self.pad_idx, self.pad_first, self.seq_len = bool(drop_last), int(pad_idx), pad_first, seq_len
        self.sampler = sampler

    @property
    def n(self) -> int:
        """Texts per epoch: the sampler's count when there is one, else all."""
        return len(self.sampler) if self.sampler is not None else len(self.docs)

    def __len__(self) -> int:
        return self.n // self.bs if self.drop_last else -(-self.n // self.bs)

    def get_idxs(self) -> np.ndarray:
        """The epoch's text indices in batch order."""
        idxs = (np.fromiter(iter(self.sampler), dtype=np.int64) if self.sampler is not None
                else np.arange(len(self.docs)))
        if len(idxs) == 0:
            return idxs
        if not self.shuffle:
            return idxs[np.argsort(-self.res[idxs], kind="stable")]
        rng = self._rng()
        idxs = idxs[rng.permutation(len(idxs))]
        longest = int(np.argmax(self.res[idxs]))
        idxs[[0, longest]] = idxs[[longest, 0]]
        size = self.bs * 50
        chunks = [idxs[i:i + size] for i in range(0, len(idxs), size)]
        sort_idx = np.concatenate([c[np.argsort(-self.res[c], kind="stable")] for c in chunks])
        batches = [sort_idx[i:i + self.bs] for i in range(0, len(sort_idx), self.bs)]
        if len(batches) <= 2:
            return np.concatenate(batches)
        middle = [batches[1:-1][i] for i in rng.permutation(len(batches) - 2)]
        return np.concatenate([batches[0], *middle, batches[-1]])

    def pad(self, samples: Sequence[np.ndarray]) -> np.ndarray:
        """One batch's token ids padded as this loader pads."""
        if self.seq_len is None:
            return pad_input(samples, self.pad_idx, self.pad_first)
        return pad_input_chunk(samples, self.pad_idx, self.pad_first, self.seq_len)

    def __iter__(self):
        idxs = self.get_idxs()
        for b in range(len(self)):
            batch = idxs[b * self.bs:(b + 1) * self.bs]
            x = self._tensor(self.pad([self.docs[i] for i in batch]))
            yield (x,) if self.labels is None else (x, self._tensor(self.labels[batch]))

    def __repr__(self):
        return (f"SortedDL(docs={len(self.docs)}, bs={self.bs}, shuffle={self.shuffle}, pad_idx={self.pad_idx}, "
                f"pad_first={self.pad_first}, sampler={type(self.sampler).__name__ if self.sampler else None})")



class TextDataLoaders(DataLoaders):
    """fastai's TextDataLoaders: a training and a validation loader over tokenized, numericalized texts.
    vocab: the text Vocab for a language model, [text vocab, classes] for a classifier (as fastai's dls.vocab);
    text_vocab, classes (the sorted labels), c (the class count, or the vocabulary size for a language model),
    tokenizer (rules + splitter, for new texts), backwards, is_lm; loss_func (a classifier's CrossEntropyLoss)."""

    def __init__(self, train: Any, valid: Any, text_vocab: Vocab, tokenizer: Tokenizer, is_lm: bool = False,
                 classes: Sequence[Any] | None = None, backwards: bool = False) -> None:
        super().__init__(train, valid)
        self.text_vocab, self.tokenizer, self.is_lm, self.backwards = text_vocab, tokenizer, bool(is_lm), backwards
        self.classes = None if classes is None else list(classes)
        self.vocab: Any = text_vocab if self.is_lm else [text_vocab, self.classes]
        if not self.is_lm:
            self.loss_func = nn.CrossEntropyLoss()

    @property
    def c(self) -> int:
        """The number of classes (a language model's: the vocabulary size)."""
        return len(self.text_vocab) if self.is_lm or self.classes is None else len(self.classes)

    @property
    def pad_idx(self) -> int:
        """The index of xxpad in the vocabulary (1 with the default special tokens)."""
        return self.text_vocab.stoi.get(PAD, 1)

    def numericalize(self, texts: Sequence[str], n_workers: int | None = None) -> list[np.ndarray]:
        """New texts as token ids, through this tokenizer and vocabulary (reversed when backwards)."""
        tokens = self.tokenizer.tokenize(list(texts), n_workers=n_workers)
        docs = [self.text_vocab.numericalize(t) for t in tokens]
        return [reverse_text(d) for d in docs] if self.backwards else docs

    def decode(self, ids: Any) -> str:
        """The text of one sequence of ids (padding dropped, put back in reading order when backwards)."""
        tokens = [t for t in self.text_vocab.textify(ids) if t != PAD]
        return self.tokenizer.decode(tokens[::-1] if self.backwards else tokens)

    @classmethod
    def from_texts(cls, texts: Sequence[str], labels: Sequence[Any] | None = None, valid_pct: float = 0.2,
                   seed: int | None = None, valid_idx: Sequence[int] | None = None, is_lm: bool = False,
                   bs: int = 64, val_bs: int | None = None, seq_len: int = 72, backwards: bool = False,
                   tok: Any = None, rules: Sequence[Any] | None = None, text_vocab: Sequence[str] | None = None,
                   min_freq: int = 2, max_vocab: int = 60000, n_workers: int | None = None,
                   shuffle_train: bool = True, drop_last: bool = True, wgts: Sequence[float] | None = None,
                   jitter: bool = False, device: Any = None) -> TextDataLoaders:
        """Tokenize texts (rules, then tok: default WordTokenizer; n_workers processes), hold out a random
        valid_pct of them (from seed; or those at valid_idx), build the vocabulary on the training texts
        (make_vocab(min_freq, max_vocab), unless text_vocab is given), numericalize (reversed when backwards).
        is_lm: LMDataLoaders (bs streams, seq_len, jitter) over every text's ids; else SortedDL classifier
        loaders over (ids, label), padded with xxpad first in seq_len chunks. The training loader shuffles
        (shuffle_train; reproducible from seed, else from nnx.manual_seed) and a classifier's drops its last
        partial batch (drop_last, as fastai); wgts (one weight per text) over- or undersample the training
        texts through a WeightedRandomSampler of as many draws as training texts."""
        if isinstance(texts, str):
            raise TypeError("texts must be a sequence of texts, got a single str")
        texts = [str(t) for t in texts]
        if labels is None and not is_lm:
            raise ValueError("labels are needed for a classifier (is_lm=False): one per text")
        y = None
        classes = None
        if not is_lm:
            raw = list(labels.tolist() if hasattr(labels, "tolist") else labels)
            if len(raw) != len(texts):
                raise ValueError(f"labels has {len(raw)} entries for {len(texts)} texts")
            classes = sorted(set(raw), key=lambda label: (type(label).__name__, label))
            position = {label: i for i, label in enumerate(classes)}
            y = np.array([position[label] for label in raw], dtype=np.int64)
        train_idx, valid_idx = _split(len(texts), valid_pct, seed, valid_idx)
        tokenizer = tok if isinstance(tok, Tokenizer) else Tokenizer(tok, rules=rules)
        tokens = tokenizer.tokenize(texts, n_workers=n_workers)
        numericalizer = Numericalize(text_vocab, min_freq=min_freq, max_vocab=max_vocab)
        numericalizer.setup([tokens[i] for i in train_idx])
        vocab = numericalizer.vocab
        docs = [vocab.numericalize(t) for t in tokens]
        if backwards:
            docs = [reverse_text(d) for d in docs]
        val_bs = bs if val_bs is None else val_bs
        pad_idx = vocab.stoi.get(PAD, 1)
        if is_lm:
            train = LMDataLoader([docs[i] for i in train_idx], bs=bs, seq_len=seq_len, shuffle=shuffle_train,
                                 seed=seed, device=device, jitter=jitter)
            valid = (LMDataLoader([docs[i] for i in valid_idx], bs=val_bs, seq_len=seq_len, device=device)
                     if len(valid_idx) else None)
        else:
            sampler = None
            if wgts is not None:
                weights = np.asarray(wgts, dtype=np.float64)
                if weights.shape != (len(texts),):
                    raise ValueError(f"wgts must hold one weight per text ({len(texts)}), got shape {weights.shape}")
                generator = None if seed is None else np.random.default_rng([seed, 2])
                sampler = WeightedRandomSampler(weights[train_idx], num_samples=len(train_idx), generator=generator)
            train = SortedDL([docs[i] for i in train_idx], y[train_idx], bs=bs, shuffle=shuffle_train,
                             drop_last=drop_last and shuffle_train, pad_idx=pad_idx, seq_len=seq_len,
                             sampler=sampler, seed=seed, device=device)
            valid = (SortedDL([docs[i] for i in valid_idx], y[valid_idx], bs=val_bs, pad_idx=pad_idx,
                              seq_len=seq_len, device=device) if len(valid_idx) else None)
        return cls(train, valid, vocab, tokenizer, is_lm=is_lm, classes=classes, backwards=backwards)

    @classmethod
    def from_df(cls, df: Any, text_col: Any = 0, label_col: Any = 1, valid_col: Any = None,
                is_lm: bool = False, **kwargs: Any) -> TextDataLoaders:
        """from_texts over a pandas DataFrame's text_col (a name or a position) and label_col (ignored when
        is_lm); valid_col, a boolean column, marks the validation rows (instead of valid_pct)."""
        def column(key):
            return df.iloc[:, key] if isinstance(key, int) and key not in df.columns else df[key]
        if valid_col is not None:
            kwargs["valid_idx"] = np.flatnonzero(np.asarray(column(valid_col), dtype=bool))
        labels = None if is_lm else column(label_col).tolist()
        return cls.from_texts(column(text_col).astype(str).tolist(), labels, is_lm=is_lm, **kwargs)

    def test_dl(self, texts: Sequence[str], labels: Sequence[Any] | None = None, bs: int | None = None) -> Any:
        """An unshuffled loader over new texts, tokenized and numericalized as the training ones (labels, when
        given, mapped through classes)."""
        docs = self.numericalize(texts)
        bs = bs or self.train.bs
        if self.is_lm:
            return LMDataLoader(docs, bs=bs, seq_len=self.train.seq_len, device=self.train.device)
        y = None
        if labels is not None:
            position = {label: i for i, label in enumerate(self.classes or [])}
            missing = [label for label in labels if label not in position]
            if missing:
                raise ValueError(f"labels hold values not in classes: {missing[:5]!r}")
            y = np.array([position[label] for label in labels], dtype=np.int64)
        return SortedDL(docs, y, bs=bs, pad_idx=self.pad_idx, pad_first=self.train.pad_first,
                        seq_len=self.train.seq_len, device=self.train.device)

    def one_batch(self, train: bool = True) -> tuple[Tensor, ...]:
        """The first batch of the training (or validation) loader."""
        loader = self.train if train else self.valid
        if loader is None:
            raise ValueError("there is no validation loader")
        return next(iter(loader))

    def show_batch(self, max_n: int = 9, trunc_at: int | None = 150, train: bool = True) -> list[tuple[str, str]]:
        """Print up to max_n texts of a batch (decoded, cut to trunc_at tokens) with their label — a language
        model's: the text and the text it should predict; returns the rows as (text, label) strings."""
        batch = self.one_batch(train)
        x = batch[0].cpu().numpy()
        y = batch[1].cpu().numpy() if len(batch) > 1 else None
        rows = []
        def cut(text):
            return text if not trunc_at else " ".join(text.split(" ")[:trunc_at])
        for i in range(min(max_n, len(x))):
            if self.is_lm:
                target = cut(self.decode(y[i]))
            else:
                target = "" if y is None else str(self.classes[int(y[i])])
            rows.append((cut(self.decode(x[i])), target))
        header = ("text", "text_" if self.is_lm else "category")
        print(f"{header[0]:<6} | {header[1]}")
        for i, (text, target) in enumerate(rows):
            print(f"{i:<6} | {text}\n{'':<6} | {target}")
        return rows


def _split(n, valid_pct, seed, valid_idx):
    """(train_idx, valid_idx): fastai's RandomSplitter (a permutation from seed, its first int(valid_pct * n)
    for validation), or the given validation indices."""
    if valid_idx is not None:
        valid = np.unique(np.asarray(valid_idx, dtype=np.int64))
        if valid.size and (valid[0] < 0 or valid[-1] >= n):
            raise IndexError(f"valid_idx must index texts in [0, {n}), got values from {valid[0]} to {valid[-1]}")
        return np.setdiff1d(np.arange(n), valid), valid
    if isinstance(valid_pct, bool) or not isinstance(valid_pct, (int, float)) or not 0 <= valid_pct < 1:
        raise ValueError(f"valid_pct must be a number in [0, 1), got {valid_pct!r}")
    rng = np.random.default_rng(seed) if seed is not None else nnx_random.numpy_generator()
    order = rng.permutation(n)
    cut = int(valid_pct * n)
    return np.sort(order[cut:]), np.sort(order[:cut])
