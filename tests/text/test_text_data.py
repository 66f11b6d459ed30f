"""nnx.text.data: the language-model loader's stream layout (fastai's examples, then random corpora rebuilt from
the batches), length jitter, the reversed loader, the classifier's padding and sort-ish order, weighted sampling,
and TextDataLoaders end to end on the offline corpus."""
from collections import Counter

import numpy as np
import pytest

import nnx
from nnx.text import (
    PAD,
    LMDataLoader,
    SortedDL,
    TextDataLoaders,
    WeightedRandomSampler,
    corpus,
    pad_input,
    pad_input_chunk,
    reverse_text,
)

pytest.importorskip("tokenizers")


def batches(loader):
    return [tuple(t.numpy() for t in batch) for batch in loader]


def test_lm_loader_matches_fastai_examples():
    ints = [np.arange(0, 5), np.arange(5, 11), np.arange(11, 19), np.arange(19, 21), np.arange(21, 23)]
    got = batches(LMDataLoader(ints, bs=4, seq_len=3))
    assert [x.tolist() for x, _ in got] == [[[0, 1, 2], [5, 6, 7], [10, 11, 12], [15, 16, 17]],
                                            [[3, 4], [8, 9], [13, 14], [18, 19]]]
    assert [y.tolist() for _, y in got] == [[[1, 2, 3], [6, 7, 8], [11, 12, 13], [16, 17, 18]],
                                            [[4, 5], [9, 10], [14, 15], [19, 20]]]
    ints.append(np.arange(21, 25)[1:])
    ints[4] = np.arange(21, 24)
    ints[5] = np.array([24])
    got = batches(LMDataLoader(ints, bs=4, seq_len=3))
    assert [x.tolist() for x, _ in got] == [[[0, 1, 2], [6, 7, 8], [12, 13, 14], [18, 19, 20]],
                                            [[3, 4, 5], [9, 10, 11], [15, 16, 17], [21, 22, 23]]]
    assert got[1][1].tolist() == [[4, 5, 6], [10, 11, 12], [16, 17, 18], [22, 23, 24]]


def rebuild(got):
    """The (bs, total) streams of x and y put back together from a loader's batches."""
    return np.concatenate([x for x, _ in got], axis=1), np.concatenate([y for _, y in got], axis=1)


@pytest.mark.parametrize("shuffle", [False, True])
def test_lm_loader_stream_layout(rng, shuffle):
    docs = [rng.integers(0, 1000, size=rng.integers(1, 40)) for _ in range(int(rng.integers(20, 60)))]
    bs, seq_len = int(rng.integers(2, 6)), int(rng.integers(3, 9))
    loader = LMDataLoader(docs, bs=bs, seq_len=seq_len, shuffle=shuffle, seed=int(rng.integers(1 << 30)))
    total = sum(len(d) for d in docs)
    bl = (total - 1) // bs
    for _ in range(2):
        got = batches(loader)
        assert len(got) == len(loader) == -(-bl // seq_len)
        assert all(x.shape == y.shape and x.dtype == np.int64 for x, y in got)
        assert all(x.shape == (bs, seq_len) for x, _ in got[:-1])
        for x, y in got:
            assert (x[:, 1:] == y[:, :-1]).all()
        for before, after in zip(got, got[1:]):  # each row continues where it stopped
            assert (before[1][:, -1] == after[0][:, 0]).all()
        xs, ys = rebuild(got)
        assert xs.shape == (bs, bl)
        if not shuffle:
            stream = np.concatenate(docs)
            assert (xs == stream[:bs * bl].reshape(bs, bl)).all()
            assert (ys == stream[1:bs * bl + 1].reshape(bs, bl)).all()
    assert (xs[:, 1:] == ys[:, :-1]).all() and (xs[1:, 0] == ys[:-1, -1]).all()  # rows follow each other


def test_lm_loader_shuffles_documents_per_epoch_reproducibly():
    docs = [np.full(5, i) for i in range(40)]  # each document is its own id, five times
    loader = LMDataLoader(docs, bs=4, seq_len=7, shuffle=True, seed=3)
    first, second = (rebuild(batches(loader))[0].reshape(-1) for _ in range(2))
    order = [int(v) for v in first[::5]]
    assert sorted(order) == sorted(set(order)) and order != sorted(order)  # whole documents, moved
    assert (first != second).any()
    again = LMDataLoader(docs, bs=4, seq_len=7, shuffle=True, seed=3)
    assert (rebuild(batches(again))[0].reshape(-1) == first).all()
    valid = LMDataLoader(docs, bs=4, seq_len=7)
    assert [x.tolist() for x, _ in batches(valid)] == [x.tolist() for x, _ in batches(valid)]


def test_lm_loader_jitter_keeps_the_streams(rng):
    docs = [rng.integers(0, 50, size=30) for _ in range(100)]
    loader = LMDataLoader(docs, bs=3, seq_len=20, jitter=True, seed=1)
    got = batches(loader)
    lengths = [x.shape[1] for x, _ in got]
    assert len(set(lengths[:-1])) > 1 and all(5 <= n <= 45 for n in lengths[:-1])
    xs, ys = rebuild(got)
    stream = np.concatenate(docs)
    assert (xs == stream[:xs.size].reshape(3, -1)).all() and (ys == stream[1:xs.size + 1].reshape(3, -1)).all()


def test_pad_input_and_chunks_as_fastai():
    samples = [np.array([1, 2, 3]), np.array([4, 5]), np.array([6])]
    assert pad_input(samples, pad_idx=0).tolist() == [[1, 2, 3], [4, 5, 0], [6, 0, 0]]
    assert pad_input(samples, pad_idx=0, pad_first=True).tolist() == [[1, 2, 3], [0, 4, 5], [0, 0, 6]]
    assert pad_input(samples, pad_idx=0, backwards=True).tolist() == [[3, 2, 1], [5, 4, 0], [6, 0, 0]]
    samples = [np.arange(1, 7), np.arange(1, 4), np.arange(1, 3)]
    assert pad_input_chunk(samples, pad_idx=0, seq_len=2).tolist() == [
        [1, 2, 3, 4, 5, 6], [0, 0, 1, 2, 3, 0], [0, 0, 0, 0, 1, 2]]
    assert pad_input_chunk(samples, pad_idx=0, seq_len=2, pad_first=False).tolist() == [
        [1, 2, 3, 4, 5, 6], [1, 2, 3, 0, 0, 0], [1, 2, 0, 0, 0, 0]]
    assert (reverse_text(np.array([0, 1, 2])) == [2, 1, 0]).all()


def test_sorted_dl_sorts_pads_and_keeps_labels(rng):
    docs = [rng.integers(2, 100, size=rng.integers(1, 30)) for _ in range(50)]
    labels = rng.integers(0, 3, size=50)
    loader = SortedDL(docs, labels, bs=8, seq_len=None)
    seen = []
    for x, y in batches(loader):
        lengths = (x != 1).sum(axis=1)
        assert (x[:, -1] != 1).all()  # pad_first: every row ends with its text
        assert x.shape[1] == lengths.max()
        for row, n, label in zip(x, lengths, y):
            assert (row[:len(row) - n] == 1).all()
            match = [i for i, d in enumerate(docs) if len(d) == n and (d == row[len(row) - n:]).all()]
            assert match and labels[match[0]] == label
        seen.extend(lengths.tolist())
    assert seen == sorted((len(d) for d in docs), reverse=True)


def test_sorted_dl_shuffle_is_sortish(rng):
    docs = [np.full(int(n), 5) for n in rng.integers(1, 200, size=300)]
    loader = SortedDL(docs, np.arange(300), bs=16, shuffle=True, seed=int(rng.integers(1 << 30)), seq_len=None)
    epochs = [batches(loader) for _ in range(2)]
    for got in epochs:
        widths = [x.shape[1] for x, _ in got]
        assert widths[0] == max(len(d) for d in docs)
        assert sorted(np.concatenate([y for _, y in got]).tolist()) == list(range(300))
        for x, _ in got:  # batches of similar lengths: sorted inside chunks of 50 batches
            lengths = (x != 1).sum(axis=1)
            assert (np.diff(lengths) <= 0).all()
    assert [y.tolist() for _, y in epochs[0]] != [y.tolist() for _, y in epochs[1]]
    dropped = SortedDL(docs, np.arange(300), bs=16, shuffle=True, drop_last=True)
    assert len(dropped) == 18 and all(len(y) == 16 for _, y in batches(dropped))


def test_weighted_sampler_balances_classes(rng):
    labels = np.array([0] * 900 + [1] * 100)
    docs = [np.arange(2, 2 + int(n)) for n in rng.integers(1, 10, size=1000)]
    weights = 1.0 / np.bincount(labels)[labels]
    sampler = WeightedRandomSampler(weights, num_samples=4000, generator=nnx.random.Generator(int(rng.integers(99))))
    loader = SortedDL(docs, labels, bs=50, shuffle=True, sampler=sampler, seq_len=None)
    drawn = np.concatenate([y for _, y in batches(loader)])
    assert len(drawn) == 4000 == loader.n and len(loader) == 80
    share = drawn.mean()  # ~0.5 (a binomial's sd is 0.008) against 0.1 unweighted
    assert 0.45 < share < 0.55


@pytest.fixture(scope="module")
def topic_data():
    texts, labels = corpus.topic_classification()
    return texts[::3], labels[::3]


def test_classifier_dataloaders_from_texts(topic_data, capsys):
    texts, labels = topic_data
    dls = TextDataLoaders.from_texts(texts, labels, valid_pct=0.25, seed=42, bs=16, n_workers=1)
    again = TextDataLoaders.from_texts(texts, labels, valid_pct=0.25, seed=42, bs=16, n_workers=1)
    epoch = [b[1].tolist() for b in batches(dls.train)]
    assert [b[1].tolist() for b in batches(again.train)] == epoch  # reproducible from the seed
    assert [b[1].tolist() for b in batches(dls.train)] != epoch  # and a new order each epoch
    assert dls.classes == sorted(set(labels)) and dls.c == 3 and dls.vocab[1] == dls.classes
    assert dls.vocab[0] is dls.text_vocab and dls.text_vocab.itos[:2] == ["xxunk", PAD] and dls.pad_idx == 1
    assert len(dls.text_vocab) % 8 == 0
    n_valid = int(0.25 * len(texts))
    assert dls.valid.n == n_valid and dls.train.n == len(texts) - n_valid and dls.train.drop_last
    x, y = dls.one_batch()
    assert x.dtype == nnx.int64 and y.dtype == nnx.int64 and x.shape[0] == 16
    valid = batches(dls.valid)
    assert [v[0].tolist() for v in valid] == [v[0].tolist() for v in batches(dls.valid)]  # not shuffled
    rows = dls.show_batch(max_n=2, trunc_at=10)
    printed = capsys.readouterr().out
    assert len(rows) == 2 and rows[0][0].startswith("xxbos") and rows[0][1] in dls.classes and rows[0][0] in printed
    test = dls.test_dl(texts[:5], labels[:5])
    assert sum(len(b[1]) for b in batches(test)) == 5
    with pytest.raises(ValueError, match="labels are needed"):
        TextDataLoaders.from_texts(texts)


def test_language_model_dataloaders_and_backwards(topic_data):
    texts, _ = topic_data
    fwd = TextDataLoaders.from_texts(texts, is_lm=True, seed=0, bs=8, seq_len=20, n_workers=1, shuffle_train=False)
    bwd = TextDataLoaders.from_texts(texts, is_lm=True, seed=0, bs=8, seq_len=20, n_workers=1, shuffle_train=False,
                                     backwards=True)
    assert fwd.is_lm and fwd.vocab is fwd.text_vocab and fwd.c == len(fwd.vocab)
    assert fwd.text_vocab == bwd.text_vocab
    x, y = fwd.one_batch()
    assert x.shape == (8, 20) and (x.numpy()[:, 1:] == y.numpy()[:, :-1]).all()
    # backwards: every document's tokens reversed, documents in the same order
    fwd_docs, bwd_docs = fwd.train.docs, bwd.train.docs
    assert all((b == f[::-1]).all() for f, b in zip(fwd_docs, bwd_docs))
    assert bwd_docs[0][-1] == fwd.text_vocab.stoi["xxbos"]
    assert bwd.decode(bwd_docs[0]) == fwd.decode(fwd_docs[0])
    # the vocabulary is built on the training texts only (min_freq 2)
    train_tokens = Counter(t for d in fwd_docs for t in d.tolist())
    assert all(train_tokens[i] >= 2 for i in range(9, len(fwd.text_vocab)) if fwd.text_vocab[i] != "xxfake")


def test_classifier_wgts_and_from_df(topic_data):
    pd = pytest.importorskip("pandas")
    texts, labels = topic_data
    wgts = [3.0 if label == "expressions" else 1.0 for label in labels]
    dls = TextDataLoaders.from_texts(texts, labels, seed=1, bs=8, n_workers=1, wgts=wgts)
    assert isinstance(dls.train.sampler, WeightedRandomSampler) and dls.train.n == len(dls.train.docs)
    df = pd.DataFrame({"text": texts, "label": labels, "is_valid": [i % 5 == 0 for i in range(len(texts))]})
    from_df = TextDataLoaders.from_df(df, text_col="text", label_col="label", valid_col="is_valid", bs=8, n_workers=1)
    assert from_df.valid.n == (len(texts) + 4) // 5 and from_df.classes == sorted(set(labels))
