"""nnx.text.vocab: make_vocab's order and limits (special tokens first, then by frequency, ties alphabetical,
min_freq, max_vocab, the xxfake padding to a multiple of 8), Numericalize, save/load."""
from collections import Counter

import numpy as np
import pytest

import nnx
from nnx.text import FAKE, Numericalize, Vocab, make_vocab, text_spec_tok


def test_make_vocab_order_min_freq_and_padding():
    count = Counter(["a"] * 4 + ["b"] * 2 + ["c"] * 2 + ["d"])
    assert make_vocab(count)[9:12] == ["a", "b", "c"]  # the default min_freq=2 drops d
    vocab = make_vocab(count, min_freq=3)
    assert vocab[:10] == text_spec_tok + ["a"]  # min_freq=3 keeps a only
    assert len(vocab) % 8 == 0 and set(vocab[10:]) == {FAKE}
    vocab = make_vocab(count, min_freq=1)
    assert vocab[9:13] == ["a", "b", "c", "d"]  # by count, b and c tie: alphabetical
    assert make_vocab(Counter({"zz": 2, "aa": 2, "mm": 5}), min_freq=1)[9:12] == ["mm", "aa", "zz"]
    # max_vocab counts the special tokens (fastai: the most frequent first, then cut)
    assert make_vocab(count, max_vocab=12, min_freq=1)[:13] == text_spec_tok + ["a", "b", "c", FAKE]
    # fastai's padding rule: 8 - len % 8 fillers, 8 when the length is already a multiple of 8
    assert make_vocab(Counter(), special_toks=["x"] * 1) == ["x"] + [FAKE] * 7
    assert len(make_vocab(Counter(), special_toks=[f"s{i}" for i in range(8)])) == 16


def test_make_vocab_moves_special_tokens_to_the_front():
    count = Counter({"xxbos": 100, "word": 50, "xxunk": 3})
    vocab = make_vocab(count, min_freq=1)
    assert vocab[:10] == text_spec_tok + ["word"]
    assert make_vocab(count, min_freq=1, special_toks=["xxunk", "yy"])[:4] == ["xxunk", "yy", "xxbos", "word"]


def test_make_vocab_limits_on_random_counts(rng):
    words = [f"w{i}" for i in range(300)]
    count = Counter({w: int(c) for w, c in zip(words, rng.integers(1, 20, size=300))})
    vocab = make_vocab(count, min_freq=5, max_vocab=100)
    real = [t for t in vocab[9:] if t != FAKE]
    kept = [count[t] for t in real]
    assert len(vocab) <= 100 + 8 and len(vocab) % 8 == 0 and len(real) + 9 <= 100
    assert all(c >= 5 for c in kept) and kept == sorted(kept, reverse=True)
    for a, b in zip(real, real[1:]):
        assert count[a] > count[b] or a < b
    dropped = set(count) - set(real)
    assert all(count[w] <= min(kept) for w in dropped)
    with pytest.raises(ValueError, match="min_freq"):
        make_vocab(count, min_freq=-1)
    with pytest.raises(ValueError, match="max_vocab"):
        make_vocab(count, max_vocab=0)


def test_numericalize_encodes_unknown_to_zero_and_decodes():
    num = Numericalize(min_freq=1)
    num.setup(["This is an example of text".split(), "this is another text".split()])
    ids = num("This is an unseen text".split())
    assert ids.dtype == np.int64 and ids[3] == 0
    assert num.decode(ids) == ["This", "is", "an", "xxunk", "text"]
    assert num.decode(nnx.tensor(ids)) == num.decode(ids)
    num = Numericalize(min_freq=2)
    num.setup(["This is an example of text".split(), "this is another text".split()])
    assert [t for t in num.vocab if t != FAKE] == text_spec_tok + ["is", "text"]
    assert num.encode("This is an example of text".split()).tolist() == [0, 9, 0, 0, 0, 10]
    assert Numericalize(num.vocab, pad_tok="xxpad").decode([1, 9, 1]) == ["is"]
    with pytest.raises(RuntimeError, match="no vocab"):
        Numericalize()(["a"])
    with pytest.raises(TypeError, match="tokenize it first"):
        num("a str")
    with pytest.raises(IndexError, match="outside the vocabulary"):
        num.decode([len(num.vocab)])


def test_vocab_save_load_round_trip(tmp_path):
    vocab = Vocab(make_vocab(Counter("the cat sat on the mat, naïve café".split()), min_freq=1))
    path = tmp_path / "vocab.json"
    vocab.save(path)
    loaded = Vocab.load(path)
    assert loaded == vocab and loaded.itos == vocab.itos and loaded.stoi == vocab.stoi
    assert loaded.stoi["café"] == vocab.itos.index("café") and FAKE not in loaded
    assert loaded.textify([9, 10], sep=" ") == " ".join(vocab.itos[9:11])
    (tmp_path / "bad.json").write_text('{"a": 1}')
    with pytest.raises(ValueError, match="JSON list of strings"):
        Vocab.load(tmp_path / "bad.json")
