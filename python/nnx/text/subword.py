"""SubwordTokenizer: a Unigram or BPE model trained by Hugging Face `tokenizers` on the texts, in the role fastai
gives SentencePiece (SentencePieceTokenizer, alias SubwordTokenizer)."""
from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Callable

from .core import text_spec_tok

__all__ = ["SubwordTokenizer"]

_SPACE = "\u2581"  # '▁', the word-start mark of SentencePiece and of tokenizers' Metaspace


class SubwordTokenizer:
    """Subword pieces ('▁the', '▁state', 'ment') of a Unigram (model_type='unigram', SentencePiece's default) or
    BPE ('bpe') model that setup(texts) trains, with vocab_sz pieces (default: as fastai, a quarter of the
    distinct words rounded up to a multiple of 8, at least 29, at most max_vocab_sz). The special tokens are
    never split and come out bare ('xxbos', not fastai's '▁xxbos'), so Numericalize gives them their reserved
    indices. sp_model: a model saved with save() to load instead of training. decode(pieces) joins them back.
    Differences from fastai's: no char_coverage (every character of the training texts is kept) and no
    cache_dir (the model stays in memory until save)."""

    def __init__(self, lang: str = "en", special_toks: Sequence[str] | None = None,
                 sp_model: str | os.PathLike[str] | None = None, vocab_sz: int | None = None,
                 max_vocab_sz: int = 30000, model_type: str = "unigram") -> None:
        if model_type not in ("unigram", "bpe"):
            raise ValueError(f"model_type must be 'unigram' or 'bpe', got {model_type!r}")
        if vocab_sz is not None and (isinstance(vocab_sz, bool) or not isinstance(vocab_sz, int) or vocab_sz < 1):
            raise ValueError(f"vocab_sz must be None or a positive integer, got {vocab_sz!r}")
        self.lang, self.vocab_sz, self.max_vocab_sz, self.model_type = lang, vocab_sz, max_vocab_sz, model_type
        self.special_toks = list(text_spec_tok if special_toks is None else special_toks)
        self.sp_model = sp_model
        self.tok = None
        if sp_model is not None:
            self.tok = _tokenizers().Tokenizer.from_file(os.fspath(sp_model))

    def _get_vocab_sz(self, texts: Iterable[str]) -> int:
        """fastai's rule: a quarter of the distinct space-separated words, up to a multiple of 8, >= 29."""
        count: Counter = Counter()
        for text in texts:
            count.update(text.split())
            if len(count) // 4 > self.max_vocab_sz:
                return self.max_vocab_sz
        res = len(count) // 4
        while res % 8 != 0:
            res += 1
        return max(res, 29)

    def train(self, texts: Sequence[str]) -> SubwordTokenizer:
        """Train the model on texts (as they are: no rules applied here); returns self."""
        tk = _tokenizers()
        vocab_sz = self._get_vocab_sz(texts) if self.vocab_sz is None else self.vocab_sz
        if self.model_type == "unigram":
            tokenizer = tk.Tokenizer(tk.models.Unigram())
            trainer = tk.trainers.UnigramTrainer(vocab_size=vocab_sz, special_tokens=self.special_toks,
                                                 unk_token=self.special_toks[0], show_progress=False)
        else:
            tokenizer = tk.Tokenizer(tk.models.BPE(unk_token=self.special_toks[0]))
            trainer = tk.trainers.BpeTrainer(vocab_size=vocab_sz, special_tokens=self.special_toks,
                                             show_progress=False)
        tokenizer.pre_tokenizer = tk.pre_tokenizers.Metaspace()
        tokenizer.decoder = tk.decoders.Metaspace()
        tokenizer.train_from_iterator(list(texts), trainer)
        self.tok = tokenizer
        return self

    def setup(self, items: Sequence[str], rules: Sequence[Callable[[str], str]] | None = None) -> dict[str, Any]:
        """Train on items with rules applied to each (fastai's setup), unless a model is already there."""
        if self.tok is None:
            texts = []
            for text in items:
                for rule in rules or []:
                    text = rule(text)
                texts.append(text)
            self.train(texts)
        return {"sp_model": self.sp_model}

    def __call__(self, items: Iterable[str]) -> Iterator[list[str]]:
        if self.tok is None:
            raise RuntimeError("SubwordTokenizer has no model yet: call setup(texts) or train(texts), or pass sp_model")
        special = set(self.special_toks)
        for text in items:
            pieces = self.tok.encode(str(text)).tokens
            # The space before a special token comes out as a lone '▁' piece: it carries nothing (decode puts the
            # space back), so it is dropped, as SentencePiece's user-defined symbols absorb it.
            yield [p for i, p in enumerate(pieces)
                   if not (p == _SPACE and i + 1 < len(pieces) and pieces[i + 1] in special)]

    def decode(self, pieces: Sequence[str]) -> str:
        """The text of pieces: '▁' marks become spaces, special tokens are words of their own."""
        special = set(self.special_toks)
        text = "".join(f"{_SPACE}{p}" if p in special else p for p in pieces)
        return re.sub(" {2,}", " ", text.replace(_SPACE, " ")).strip()

    @property
    def vocab(self) -> list[str]:
        """The model's pieces in id order."""
        if self.tok is None:
            return []
        return [self.tok.id_to_token(i) for i in range(self.tok.get_vocab_size())]

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the model as tokenizers' JSON (load it back with SubwordTokenizer(sp_model=path))."""
        if self.tok is None:
            raise RuntimeError("SubwordTokenizer has no model to save: train it first")
        self.tok.save(os.fspath(path))
        self.sp_model = path

    def __getstate__(self):
        state = dict(self.__dict__)
        state["tok"] = None if self.tok is None else self.tok.to_str()
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        if self.tok is not None:
            self.tok = _tokenizers().Tokenizer.from_str(self.tok)


def _tokenizers():
    try:
        import tokenizers
        import tokenizers.decoders
        import tokenizers.models
        import tokenizers.pre_tokenizers
        import tokenizers.trainers
    except ImportError as error:
        raise ImportError("SubwordTokenizer trains Hugging Face tokenizers models: pip install tokenizers "
                          "(or nnx[text])") from error
    return tokenizers
