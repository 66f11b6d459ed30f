"""Another Python thread changes an index array while a native kernel runs with the GIL released: the kernel
must give a correct result or raise IndexError, never read or write out of bounds (issue 20, item 1: before
the fix the kernels trusted the binding's check and crashed with SIGSEGV, or copied heap memory into `out`).

Each race runs in a child process, so that a crash fails this test instead of ending the test run."""
import json
import subprocess
import sys

RACES = ("embedding_module", "embedding_forward", "embedding_backward", "cross_entropy_forward")

# The child: for each race, a thread flips array[-1] between a bad value and 0 while the main thread calls the
# kernel over and over; every call must raise IndexError or return exactly the result for index 0.
CHILD = r'''
import json, sys, threading, time
import numpy as np
import nnx
from nnx import _C, nn

BUDGET_S, MIN_ATTEMPTS, MAX_ATTEMPTS = float(sys.argv[1]), 3, 200
rng = np.random.default_rng(0)


def race(array, bad, call, check):
    stop = threading.Event()

    def flip():
        while not stop.is_set():
            array[-1] = bad
            array[-1] = 0

    thread = threading.Thread(target=flip)
    thread.start()
    # IndexError from the binding's check (made under the GIL: it may meet the bad value too) or from the
    # kernel's own check, which must name the value it read and where.
    counts = {"correct": 0, "checked before": 0, "found by the kernel": 0}
    start = time.perf_counter()
    try:
        while sum(counts.values()) < MIN_ATTEMPTS or (sum(counts.values()) < MAX_ATTEMPTS and
                                                      time.perf_counter() - start < BUDGET_S):
            try:
                result = call()
            except IndexError as error:
                message = str(error)
                if "changed during the call" not in message:
                    counts["checked before"] += 1
                    continue
                assert f"got {bad} at " in message and f"position {array.size - 1} " in message, message
                counts["found by the kernel"] += 1
                continue
            check(result)
            counts["correct"] += 1
    finally:
        stop.set()
        thread.join()
    return counts


def embedding_module():
    indices = np.zeros(1_000_000, np.int64)
    embedding = nn.Embedding(4, 1)
    row = embedding.weight.numpy()[0, 0]

    def check(out):
        assert (out.numpy() == row).all(), "a row other than weight[0]"
    return race(indices, 2**40, lambda: embedding(nnx.from_numpy(indices)), check)


def embedding_forward():
    indices = np.zeros(1_000_000, np.int64)
    weight = rng.standard_normal((4, 1)).astype(np.float32)
    out = np.empty((indices.size, 1), np.float32)

    def check(_):
        assert (out == weight[0, 0]).all(), "a row other than weight[0]"
    return race(indices, 64, lambda: _C.embedding_forward(weight, indices, out), check)


def embedding_backward():
    indices = np.zeros(1_000_000, np.int64)
    grad_out = np.ones((indices.size, 1), np.float32)
    grad_weight = np.zeros((4, 1), np.float32)

    def call():
        grad_weight[...] = 0
        _C.embedding_backward(grad_out, indices, grad_weight)

    def check(_):
        np.testing.assert_array_equal(grad_weight[:, 0], [indices.size, 0, 0, 0])
    return race(indices, 2**40, call, check)


def cross_entropy_rows(N=300_000, C=2):
    logits = rng.standard_normal((N, C)).astype(np.float32)
    target = np.zeros(N, np.int64)
    log_sum = np.log(np.exp(logits[[0, -1]].astype(np.float64)).sum(1))
    return logits, target, log_sum


def cross_entropy_forward():
    logits, target, log_sum = cross_entropy_rows()
    loss, logsumexp = np.empty(target.size, np.float32), np.empty(target.size, np.float32)
    grad_logits = np.empty_like(logits)  # the fused gradient: its rows are written by target too
    expected = log_sum - logits[[0, -1], 0]
    expected_grad = np.exp(logits[[0, -1]] - log_sum[:, None]) - [1, 0]

    def check(_):
        np.testing.assert_allclose(loss[[0, -1]], expected, rtol=1e-5)
        np.testing.assert_allclose(grad_logits[[0, -1]], expected_grad, rtol=1e-4, atol=1e-6)
    return race(target, 2**40, lambda: _C.cross_entropy_forward(logits, target, loss, logsumexp, grad_logits, "none"),
                check)


results = {}
for name in sys.argv[2:]:
    print("racing", name, flush=True)  # the last line printed names the race if the process crashes
    results[name] = globals()[name]()
print(json.dumps(results))
'''


def test_kernels_raise_index_error_or_compute_correctly_while_another_thread_changes_the_indices():
    child = subprocess.run([sys.executable, "-c", CHILD, "0.5", *RACES], capture_output=True, text=True, timeout=300)
    assert child.returncode == 0, f"exit status {child.returncode}\n{child.stdout}\n{child.stderr}"
    results = json.loads(child.stdout.splitlines()[-1])
    assert set(results) == set(RACES)
    for name, counts in results.items():
        assert sum(counts.values()) >= 3, f"{name}: too few calls ({counts})"
