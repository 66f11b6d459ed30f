"""Memory: the autograd graph and the arrays it saved are freed by reference counting alone, as soon as
backward returns (or the graph is dropped), and training steps allocate nothing that accumulates."""
import gc
import os
import subprocess
import sys
import tracemalloc
import weakref

import numpy as np
import pytest

import nnx
from nnx import nn
from nnx.data import DataLoader
from nnx.learner import Callback, Learner

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture
def no_cycle_collector():
    """Whatever is freed inside the test is freed by reference counting, never by gc."""
    gc.collect()
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def graph_nodes(tensor):
    """Every Function node of the graph behind `tensor`."""
    nodes, stack = [], [tensor.grad_fn]
    while stack:
        node = stack.pop()
        if node is None or any(node is seen for seen in nodes):
            continue
        nodes.append(node)
        stack.extend(arg.grad_fn for arg in (node.inputs or ()) if isinstance(arg, nnx.Tensor))
    return nodes


def saved_arrays(nodes, keep):
    """The arrays the nodes saved for backward, other than those in `keep` (parameters and inputs)."""
    keep_ids = {id(array) for array in keep}
    found = []
    for node in nodes:
        for value in vars(node).values():
            values = value if isinstance(value, tuple) else (value,)
            found += [v for v in values if isinstance(v, np.ndarray) and id(v) not in keep_ids and v.base is None]
    return found


def model_and_batch():
    nnx.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Dropout(0.2), nn.LayerNorm(16), nn.Linear(16, 16),
                          nn.GELU(), nn.Linear(16, 3))
    rng = np.random.default_rng(0)
    x = nnx.tensor(rng.normal(size=(8, 6)).astype(np.float32))
    y = nnx.tensor(rng.integers(0, 3, 8))
    return model, x, y


def test_graph_and_saved_buffers_are_freed_when_backward_returns(no_cycle_collector):
    model, x, y = model_and_batch()
    loss = nn.CrossEntropyLoss()(model(x) * 2 + 1, y)
    nodes = graph_nodes(loss)
    keep = [p.numpy() for p in model.parameters()] + [x.numpy(), y.numpy()]
    saved = saved_arrays(nodes, keep)
    assert len(nodes) >= 6 and len(saved) >= 4
    node_refs = [weakref.ref(node) for node in nodes[1:]]  # nodes[0] is loss.grad_fn, which loss holds
    saved_refs = [weakref.ref(array) for array in saved]
    del nodes, saved
    loss.backward()
    assert [r for r in saved_refs if r() is not None] == [], "saved arrays outlived backward"
    assert [r for r in node_refs if r() is not None] == [], "graph nodes outlived backward"
    root = weakref.ref(loss.grad_fn)
    del loss
    assert root() is None


def test_a_graph_dropped_without_backward_is_freed_by_reference_counting(no_cycle_collector):
    model, x, y = model_and_batch()
    loss = nn.CrossEntropyLoss()(model(x), y)
    refs = [weakref.ref(node) for node in graph_nodes(loss)]
    keep = [p.numpy() for p in model.parameters()] + [x.numpy(), y.numpy()]
    refs += [weakref.ref(a) for a in saved_arrays(graph_nodes(loss), keep)]
    del loss
    assert [r for r in refs if r() is not None] == []


def test_retain_graph_keeps_the_graph_until_the_last_backward(no_cycle_collector):
    model, x, y = model_and_batch()
    loss = nn.CrossEntropyLoss()(model(x), y)
    refs = [weakref.ref(node) for node in graph_nodes(loss)[1:]]
    loss.backward(retain_graph=True)
    assert all(r() is not None for r in refs)
    loss.backward()
    assert [r for r in refs if r() is not None] == []


def test_no_grad_forward_records_nothing(no_cycle_collector):
    model, x, y = model_and_batch()
    with nnx.no_grad():
        loss = nn.CrossEntropyLoss()(model(x), y)
    assert loss.grad_fn is None and not loss.requires_grad


def test_training_steps_allocate_nothing_that_accumulates():
    """tracemalloc sees NumPy's allocations too: after a warm-up, 1000 more steps add (almost) nothing."""
    model, x, y = model_and_batch()
    opt = nnx.optim.AdamW(model.parameters(), lr=1e-3)
    loss_func = nn.CrossEntropyLoss()

    def steps(count):
        for _ in range(count):
            loss = loss_func(model(x), y)
            loss.backward()
            opt.step()
            opt.zero_grad()

    tracemalloc.start()
    try:
        steps(100)
        gc.collect()  # a full collection also empties CPython's free lists, which tracemalloc counts as live
        before = tracemalloc.get_traced_memory()[0]
        steps(1000)
        gc.collect()
        growth = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert growth < 4 * 1024, f"{growth} bytes more after 1000 steps"


def test_learner_epochs_keep_a_constant_number_of_objects():
    """Objects the cycle collector tracks (tensors, nodes, lists, dicts) do not pile up over epochs;
    the Recorder's floats are not tracked, so its by-design history does not count here."""
    nnx.manual_seed(0)
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(96, 6)).astype(np.float32), rng.integers(0, 3, 96)
    learn = Learner((DataLoader(X, y, batch_size=16, shuffle=True), DataLoader(X[:32], y[:32], batch_size=16)),
                    nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 3)),
                    nn.CrossEntropyLoss(), verbose=False)
    counts = []

    class CountObjects(Callback):
        order = 100

        def after_epoch(self):
            gc.collect()
            counts.append(len(gc.get_objects()) - len(self.learn.recorder.values))  # one row per epoch

    learn.fit(12, cbs=[CountObjects()])
    assert max(counts[3:]) - min(counts[3:]) <= 2, counts


@pytest.mark.slow
def test_soak_rss_stays_flat():
    """bench/soak.py in its own process: RSS growth within 4 MiB over 5000 steps per phase."""
    result = subprocess.run([sys.executable, os.path.join(ROOT, "bench", "soak.py"), "--steps", "5000",
                             "--interval", "1000", "--limit-mb", "4"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("ok") == 2, result.stdout
