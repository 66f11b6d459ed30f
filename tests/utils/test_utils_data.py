"""nnx.utils.data as torch.utils.data: datasets, samplers, default_collate, and a DataLoader whose workers
really run in parallel processes (seeded, in order, errors carried back, nothing left running)."""
import collections
import gc
import multiprocessing
import os
import random
import re

import numpy as np
import pytest

import nnx
import nnx.utils.data
from nnx.utils.data import (
    BatchSampler,
    ConcatDataset,
    DataLoader,
    Dataset,
    IterableDataset,
    RandomSampler,
    SequentialSampler,
    Subset,
    SubsetRandomSampler,
    TensorDataset,
    WeightedRandomSampler,
    default_collate,
    default_convert,
    get_worker_info,
    random_split,
)

WORKER_TIMEOUT = 30  # seconds: a hang fails the test instead of blocking the suite


def no_children_left():
    gc.collect()
    return multiprocessing.active_children() == []


# ---- datasets ----

def test_namespace_is_reachable_as_torch_utils_data():
    assert nnx.utils.data.DataLoader is DataLoader
    assert nnx.utils.data.get_worker_info() is None  # the main process


def test_tensor_dataset_returns_tensors_and_checks_lengths(rng):
    X = rng.normal(size=(5, 3)).astype(np.float32)
    dataset = TensorDataset(nnx.tensor(X), np.arange(5))
    x, y = dataset[2]
    assert isinstance(x, nnx.Tensor) and isinstance(y, nnx.Tensor)
    np.testing.assert_array_equal(x.numpy(), X[2])
    assert int(y.item()) == 2 and len(dataset) == 5
    with pytest.raises(AssertionError, match="Size mismatch"):
        TensorDataset(np.zeros(3), np.zeros(4))


def test_subset_concat_and_add():
    a, b = TensorDataset(np.arange(3)), TensorDataset(np.arange(10, 14))
    concat = a + b
    assert isinstance(concat, ConcatDataset) and len(concat) == 7
    assert [int(concat[i][0].item()) for i in range(7)] == [0, 1, 2, 10, 11, 12, 13]
    assert int(concat[-1][0].item()) == 13
    with pytest.raises(IndexError):
        concat[7]
    subset = Subset(concat, [6, 0, 3])
    assert len(subset) == 3 and [int(s[0].item()) for s in subset.__getitems__([0, 1, 2])] == [13, 0, 10]


def test_random_split_lengths_fractions_and_generator():
    first = random_split(range(10), [3, 7], generator=nnx.random.Generator(42))
    again = random_split(range(10), [3, 7], generator=nnx.random.Generator(42))
    assert [len(s) for s in first] == [3, 7]
    assert [list(s) for s in first] == [list(s) for s in again]
    assert sorted(list(first[0]) + list(first[1])) == list(range(10))
    assert [len(s) for s in random_split(range(30), [0.3, 0.3, 0.4])] == [9, 9, 12]
    assert [len(s) for s in random_split(range(11), [0.5, 0.5])] == [6, 5]  # remainder round-robin
    with pytest.raises(ValueError, match="Sum of input lengths"):
        random_split(range(10), [3, 3])
    with pytest.raises(ValueError, match="not between 0 and 1"):
        random_split(range(10), [1.5, -0.5])
    with pytest.warns(UserWarning, match="Length of split at index 1 is 0"):
        random_split(range(2), [1.0, 0.0])


def test_random_split_follows_nnx_manual_seed():
    nnx.manual_seed(3)
    first = [list(s) for s in random_split(range(20), [10, 10])]
    nnx.manual_seed(3)
    assert [list(s) for s in random_split(range(20), [10, 10])] == first


# ---- samplers ----

def test_sequential_and_random_samplers():
    assert list(SequentialSampler(range(4))) == [0, 1, 2, 3]
    nnx.manual_seed(0)
    permutation = list(RandomSampler(range(50)))
    assert sorted(permutation) == list(range(50)) and permutation != list(range(50))
    nnx.manual_seed(0)
    assert list(RandomSampler(range(50))) == permutation
    longer = list(RandomSampler(range(5), num_samples=12, generator=nnx.random.Generator(1)))
    assert len(longer) == 12 and sorted(longer[:5]) == list(range(5)) and sorted(longer[5:10]) == list(range(5))
    drawn = list(RandomSampler(range(3), replacement=True, num_samples=200, generator=nnx.random.Generator(1)))
    assert len(drawn) == 200 and set(drawn) == {0, 1, 2}
    with pytest.raises(TypeError, match="replacement should be a boolean"):
        RandomSampler(range(3), replacement=1)
    with pytest.raises(ValueError, match="num_samples should be a positive integer"):
        RandomSampler(range(3), num_samples=0)
    with pytest.raises(TypeError, match="generator must be"):
        list(RandomSampler(range(3), generator="seed"))


def test_subset_and_weighted_samplers():
    indices = [10, 20, 30, 40]
    assert sorted(SubsetRandomSampler(indices)) == indices
    weighted = list(WeightedRandomSampler([0.0, 1.0, 3.0], num_samples=4000, generator=nnx.random.Generator(0)))
    counts = np.bincount(weighted, minlength=3)
    assert counts[0] == 0 and 2.6 < counts[2] / counts[1] < 3.4
    unique = list(WeightedRandomSampler([1, 1, 1, 0], num_samples=3, replacement=False))
    assert sorted(unique) == [0, 1, 2]
    with pytest.raises(RuntimeError, match="without replacement"):
        WeightedRandomSampler([1, 0], num_samples=2, replacement=False)
    with pytest.raises(ValueError, match="1d sequence"):
        WeightedRandomSampler([[1, 2]], num_samples=2)
    with pytest.raises(RuntimeError, match="invalid multinomial"):
        WeightedRandomSampler([1, -1], num_samples=2)


@pytest.mark.parametrize("drop_last,expected", [(False, [[0, 1, 2], [3, 4, 5], [6]]), (True, [[0, 1, 2], [3, 4, 5]])])
def test_batch_sampler(drop_last, expected):
    batches = BatchSampler(SequentialSampler(range(7)), batch_size=3, drop_last=drop_last)
    assert list(batches) == expected and len(batches) == len(expected)


@pytest.mark.parametrize("kwargs,match", [({"batch_size": 0}, "batch_size should be a positive integer"),
                                          ({"batch_size": True}, "batch_size should be a positive integer"),
                                          ({"drop_last": 1}, "drop_last should be a boolean")])
def test_batch_sampler_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        BatchSampler(range(3), **{"batch_size": 2, "drop_last": False, **kwargs})


# ---- collation ----

Point = collections.namedtuple("Point", "x y")


def test_default_collate_follows_torch_rules():
    stacked = default_collate([np.full(2, i, np.float32) for i in range(3)])
    assert isinstance(stacked, nnx.Tensor) and stacked.shape == (3, 2) and stacked.dtype == nnx.float32
    assert default_collate([1, 2]).dtype == nnx.int64
    assert default_collate([1.5, 2.0]).dtype == nnx.float64
    assert default_collate([True, False]).numpy().dtype == np.bool_
    assert default_collate(["a", "b"]) == ["a", "b"]
    pair = default_collate([(1, np.ones(2)), (2, np.zeros(2))])
    assert isinstance(pair, list) and pair[0].tolist() == [1, 2] and pair[1].shape == (2, 2)  # a tuple gives a list
    mapping = default_collate([{"a": 1, "b": [1.0, 2.0]}, {"a": 2, "b": [3.0, 4.0]}])
    assert mapping["a"].tolist() == [1, 2] and [t.tolist() for t in mapping["b"]] == [[1.0, 3.0], [2.0, 4.0]]
    point = default_collate([Point(1, 2.0), Point(3, 4.0)])
    assert isinstance(point, Point) and point.x.tolist() == [1, 3]
    tensors = default_collate([nnx.ones(2), nnx.zeros(2)])
    assert tensors.tolist() == [[1.0, 1.0], [0.0, 0.0]]
    with pytest.raises(RuntimeError, match="equal size"):
        default_collate([[1, 2], [1]])
    with pytest.raises(TypeError, match="default_collate: batch must contain"):
        default_collate([object(), object()])
    with pytest.raises(TypeError, match="default_collate: batch must contain"):
        default_collate([np.array(["x"]), np.array(["y"])])


def test_default_collate_agrees_with_torch():
    torch = pytest.importorskip("torch")
    from torch.utils.data import default_collate as torch_collate
    batches = [[np.arange(3, dtype=np.float32) + i for i in range(4)], [1, 2, 3], [0.5, 1.5], [np.int32(3)] * 2,
               [{"k": (1, 2.0), "s": "x"}] * 2, [Point(np.ones(2), 3)] * 3]

    def flat(value):
        if isinstance(value, (nnx.Tensor, torch.Tensor)):
            array = value.numpy()
            return ("T", str(array.dtype), array.tolist())
        if isinstance(value, dict):
            return {key: flat(v) for key, v in value.items()}
        if isinstance(value, (list, tuple)):
            return (type(value).__name__, [flat(v) for v in value])
        return value
    for batch in batches:
        assert flat(default_collate(batch)) == flat(torch_collate(batch))


def test_default_convert():
    converted = default_convert({"a": np.arange(3), "b": [np.float32(1)], "c": "text"})
    assert isinstance(converted["a"], nnx.Tensor) and converted["b"][0].item() == 1.0 and converted["c"] == "text"


# ---- DataLoader in the main process ----

def test_the_mnist_example_loop_runs(rng):
    X = rng.normal(size=(23, 4)).astype(np.float32)
    y = rng.integers(0, 3, size=23)
    train_loader = DataLoader(TensorDataset(nnx.tensor(X), nnx.tensor(y)), batch_size=5, shuffle=True)
    device = nnx.device("cpu")
    seen = []
    for batch_idx, (data, target) in enumerate(train_loader):  # noqa: B007 (read after the loop)
        data, target = data.to(device), target.to(device)
        assert data.shape[1:] == (4,) and data.dtype == nnx.float32 and target.dtype == nnx.int64
        seen.extend(target.tolist())
        np.testing.assert_array_equal(data.numpy(), X[[int(np.flatnonzero(np.all(X == row, axis=1))[0])
                                                       for row in data.numpy()]])
    assert batch_idx == 4 and len(train_loader) == 5 and sorted(seen) == sorted(y.tolist())


def test_defaults_order_and_len():
    loader = DataLoader(list(range(5)))
    assert [b.tolist() for b in loader] == [[0], [1], [2], [3], [4]] and len(loader) == 5
    loader = DataLoader(list(range(7)), batch_size=3, drop_last=True)
    assert [b.tolist() for b in loader] == [[0, 1, 2], [3, 4, 5]] and len(loader) == 2
    unbatched = DataLoader([np.arange(2), np.arange(2)], batch_size=None)
    assert [b.shape for b in unbatched] == [(2,), (2,)]  # default_convert, no batch dimension


def test_shuffle_follows_manual_seed_and_generator():
    def order(**kwargs):
        return [b.tolist() for b in DataLoader(list(range(20)), batch_size=4, shuffle=True, **kwargs)]
    nnx.manual_seed(5)
    first = order()
    nnx.manual_seed(5)
    assert order() == first and sorted(sum(first, [])) == list(range(20))
    assert order(generator=nnx.random.Generator(9)) == order(generator=nnx.random.Generator(9))


def test_batches_never_alias_the_dataset(rng):
    X = rng.normal(size=(9, 2)).astype(np.float32)
    before = X.copy()
    for workers in (0, 2):
        for _ in range(2):
            for xb, yb in DataLoader(TensorDataset(X, np.arange(9)), batch_size=4, num_workers=workers,
                                     timeout=WORKER_TIMEOUT):
                xb.mul_(10)
                yb.add_(1)
    np.testing.assert_array_equal(X, before)


class Squares(Dataset):
    def __len__(self):
        return 10

    def __getitem__(self, i):
        return {"x": np.float32(i * i), "i": i}


class Counting(IterableDataset):
    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n

    def __iter__(self):
        info = get_worker_info()
        start, step = (0, 1) if info is None else (info.id, info.num_workers)
        return iter(range(start, self.n, step))


def test_iterable_dataset_in_the_main_process():
    assert [b.tolist() for b in DataLoader(Counting(7), batch_size=3)] == [[0, 1, 2], [3, 4, 5], [6]]
    assert [b.tolist() for b in DataLoader(Counting(7), batch_size=3, drop_last=True)] == [[0, 1, 2], [3, 4, 5]]
    assert len(DataLoader(Counting(7), batch_size=3)) == 3


@pytest.mark.parametrize("kwargs,message", [
    ({"sampler": SequentialSampler(range(4)), "shuffle": True}, "sampler option is mutually exclusive with shuffle"),
    ({"batch_sampler": [[0]], "batch_size": 2}, "batch_sampler option is mutually exclusive"),
    ({"batch_sampler": [[0]], "drop_last": True}, "batch_sampler option is mutually exclusive"),
    ({"batch_size": None, "drop_last": True}, "batch_size=None option disables auto-batching"),
    ({"num_workers": -1}, "num_workers option should be non-negative"),
    ({"timeout": -1}, "timeout option should be non-negative"),
    ({"prefetch_factor": 2}, "prefetch_factor option could only be specified in multiprocessing"),
    ({"persistent_workers": True}, "persistent_workers option needs num_workers > 0"),
])
def test_argument_conflicts_raise_torchs_errors(kwargs, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        DataLoader(list(range(4)), **kwargs)


@pytest.mark.parametrize("kwargs", [{"shuffle": True}, {"sampler": [0]}, {"batch_sampler": [[0]]}])
def test_iterable_dataset_refuses_samplers_and_shuffle(kwargs):
    with pytest.raises(ValueError, match="DataLoader with IterableDataset: expected unspecified"):
        DataLoader(Counting(3), **kwargs)


def test_fixed_attributes_and_pin_memory():
    loader = DataLoader(list(range(4)), batch_size=2)
    with pytest.raises(ValueError, match="batch_size attribute should not be set"):
        loader.batch_size = 3
    loader.num_workers = 0  # not fixed in torch either
    if not nnx.accelerator.is_available():
        with pytest.warns(UserWarning, match="'pin_memory' argument is set as true but no accelerator"):
            list(DataLoader(list(range(4)), pin_memory=True))


# ---- worker processes ----

class WhoLoads(Dataset):
    """Each sample says which process loaded it and what its random generators gave there."""

    def __len__(self):
        return 12

    def __getitem__(self, i):
        info = get_worker_info()
        return {"i": i, "pid": os.getpid(), "worker": info.id, "seed": info.seed, "python": random.random(),
                "numpy": float(np.random.random()), "nnx": float(nnx.rand(1).item()),
                "init": os.environ.get("NNX_TEST_WORKER_INIT", "")}


def set_init_marker(worker_id):
    os.environ["NNX_TEST_WORKER_INIT"] = f"ran in {worker_id}"  # the worker's own environment


def load_all(**kwargs):
    loader = DataLoader(WhoLoads(), batch_size=2, num_workers=2, timeout=WORKER_TIMEOUT, **kwargs)
    return [sample for batch in loader for sample in _unbatch(batch)]


def _unbatch(batch):
    n = len(batch["i"])
    return [{key: (value[k] if isinstance(value, list) else value[k].item()) for key, value in batch.items()}
            for k in range(n)]


def test_workers_load_in_parallel_processes_in_order_and_seeded_as_torch():
    nnx.manual_seed(11)
    samples = load_all(worker_init_fn=set_init_marker)
    assert [s["i"] for s in samples] == list(range(12))  # sampler order, whatever worker finished first
    pids = {s["pid"] for s in samples}
    assert len(pids) == 2 and os.getpid() not in pids
    assert [s["worker"] for s in samples] == [0, 0, 1, 1] * 3  # batches go round-robin
    seeds = {s["worker"]: s["seed"] for s in samples}
    assert seeds[1] == seeds[0] + 1  # base_seed + worker_id
    assert all(s["init"] == f"ran in {s['worker']}" for s in samples)
    for key in ("python", "numpy", "nnx"):  # every generator differs between the workers
        assert samples[0][key] != samples[2][key], key  # the first draw of worker 0 and of worker 1
    nnx.manual_seed(11)
    again = load_all(worker_init_fn=set_init_marker)
    assert [{k: v for k, v in s.items() if k != "pid"} for s in again] == \
           [{k: v for k, v in s.items() if k != "pid"} for s in samples]  # reproducible from the seed
    assert no_children_left()


def test_a_worker_seeds_python_random_and_nnx_with_its_seed():
    samples = load_all()
    first = samples[0]  # worker 0's first sample: random.seed(seed) / nnx.manual_seed(seed), then one draw each
    assert first["python"] == random.Random(first["seed"]).random()
    nnx.manual_seed(first["seed"])
    assert first["nnx"] == float(nnx.rand(1).item())


def test_same_results_with_and_without_workers():
    single = [b for b in DataLoader(Squares(), batch_size=3)]
    parallel = [b for b in DataLoader(Squares(), batch_size=3, num_workers=2, timeout=WORKER_TIMEOUT)]
    assert len(single) == len(parallel) == 4
    for a, b in zip(single, parallel):
        assert a["x"].tolist() == b["x"].tolist() and a["i"].tolist() == b["i"].tolist()
    assert no_children_left()


def test_iterable_dataset_with_workers_follows_torch_order():
    batches = [b.tolist() for b in DataLoader(Counting(10), batch_size=3, num_workers=2, timeout=WORKER_TIMEOUT)]
    assert batches == [[0, 2, 4], [1, 3, 5], [6, 8], [7, 9]]  # what torch gives for this dataset
    assert no_children_left()


class Failing(Dataset):
    def __len__(self):
        return 10

    def __getitem__(self, i):
        if i == 7:
            raise KeyError(f"no sample {i} here")
        return i


def test_an_error_in_a_worker_is_raised_with_its_traceback():
    loader = DataLoader(Failing(), batch_size=2, num_workers=2, timeout=WORKER_TIMEOUT)
    with pytest.raises(KeyError) as caught:
        list(loader)
    message = str(caught.value)
    assert "Caught KeyError in DataLoader worker process 1" in message
    assert "Original Traceback" in message and "in __getitem__" in message and "no sample 7 here" in message
    assert no_children_left()


def failing_init(worker_id):
    raise ValueError(f"init failed in {worker_id}")


def test_an_error_in_worker_init_fn_is_raised():
    with pytest.raises(ValueError, match="init failed in 0"):
        list(DataLoader(Squares(), batch_size=2, num_workers=2, worker_init_fn=failing_init,
                        timeout=WORKER_TIMEOUT))
    assert no_children_left()


class Dies(Dataset):
    def __len__(self):
        return 6

    def __getitem__(self, i):
        if i == 3:
            os._exit(3)
        return i


def test_a_dead_worker_is_reported_not_waited_for():
    with pytest.raises(RuntimeError, match="exited unexpectedly"):
        list(DataLoader(Dies(), batch_size=1, num_workers=2, timeout=WORKER_TIMEOUT))
    assert no_children_left()


class Slow(Dataset):
    def __len__(self):
        return 4

    def __getitem__(self, i):
        import time
        time.sleep(1.5)
        return i


def test_timeout_raises_and_stops_the_workers():
    with pytest.raises(RuntimeError, match="DataLoader timed out after 0.3 seconds"):
        next(iter(DataLoader(Slow(), num_workers=1, timeout=0.3)))
    assert no_children_left()


def test_dropping_the_iterator_mid_epoch_stops_the_workers():
    loader = DataLoader(Squares(), batch_size=1, num_workers=2, timeout=WORKER_TIMEOUT)
    for batch in loader:  # noqa: B007 (the loop's reference is what is dropped below)
        break
    del batch
    assert no_children_left()
    iterator = iter(loader)
    next(iterator)
    del iterator
    assert no_children_left()


def test_unpicklable_batches_are_reported():
    loader = DataLoader(Squares(), batch_size=2, num_workers=1, collate_fn=lambda batch: (lambda: batch),
                        timeout=WORKER_TIMEOUT)
    with pytest.raises(Exception, match="sending the batch back"):
        list(loader)
    assert no_children_left()


def test_persistent_workers_are_reused_across_epochs():
    loader = DataLoader(WhoLoads(), batch_size=3, num_workers=2, persistent_workers=True, timeout=WORKER_TIMEOUT)
    first = [s for batch in loader for s in _unbatch(batch)]
    partial = iter(loader)
    next(partial)  # an epoch left unfinished: its pending batches are dropped at the next one
    second = [s for batch in loader for s in _unbatch(batch)]
    assert [s["i"] for s in second] == list(range(12))
    assert {s["pid"] for s in first} == {s["pid"] for s in second}
    del loader, partial
    assert no_children_left()
