"""The state table is the truth (issue 20 item 6): clearing opt.state, deleting or replacing a parameter's entry,
replacing a buffer and load_state_dict take effect on the next step, as in PyTorch; and step() is thread-safe
(item 14): two threads stepping one optimizer lose no step. Expected weights from DESIGN.md's Adam equations in
float64 NumPy; the same scenarios against torch.optim when torch is importable."""
import threading

import numpy as np
import pytest

import nnx
from nnx import optim
from ops.optim_references import adam_reference

LR, BETAS, EPS = 0.1, (0.9, 0.999), 1e-8


def adam_trajectory(theta, grads, m=None, v=None, t0=0):
    """DESIGN.md's Adam (tests/ops/optim_references.py) in float64 over the gradients `grads`, from moments m, v at
    step t0; returns theta, m, v."""
    m = np.zeros_like(theta) if m is None else m.copy()
    v = np.zeros_like(theta) if v is None else v.copy()
    for k, g in enumerate(grads, start=t0 + 1):
        result = adam_reference(theta, g, m, v, None, k, LR, beta1=BETAS[0], beta2=BETAS[1], eps=EPS)
        theta, m, v = result["param"], result["exp_avg"], result["exp_avg_sq"]
    return theta, m, v


def setup(rng, n=5):
    theta = rng.standard_normal(n)
    grads = [rng.standard_normal(n) for _ in range(6)]
    p = nnx.tensor(theta.copy(), requires_grad=True)
    return theta, grads, p, optim.Adam([p], lr=LR, betas=BETAS, eps=EPS)


def run(opt, p, grads):
    for g in grads:
        p.grad = nnx.tensor(g.copy())
        opt.step()


def test_clear_restarts_moments_and_step_count(rng):
    theta, grads, p, opt = setup(rng)
    run(opt, p, grads[:3])
    opt.state.clear()
    assert opt.state_dict()["state"] == {}
    run(opt, p, grads[3:])
    after_three, _, _ = adam_trajectory(theta, grads[:3])
    expected, m, _ = adam_trajectory(after_three, grads[3:])  # moments and step count start again from zero
    np.testing.assert_allclose(p.numpy(), expected, rtol=1e-12, atol=1e-14)
    state = opt.state_dict()["state"]
    assert list(state) == [0] and state[0]["step"] == 3
    np.testing.assert_allclose(np.asarray(state[0]["exp_avg"].numpy()), m, rtol=1e-12, atol=1e-14)


def test_deleting_a_parameters_entry_restarts_it(rng):
    theta, grads, p, opt = setup(rng)
    run(opt, p, grads[:2])
    del opt.state[p]
    run(opt, p, grads[2:])
    expected, _, _ = adam_trajectory(adam_trajectory(theta, grads[:2])[0], grads[2:])
    np.testing.assert_allclose(p.numpy(), expected, rtol=1e-12, atol=1e-14)
    assert opt.state[p]["step"] == 4


@pytest.mark.parametrize("as_array", [False, True], ids=["tensor", "array"])
def test_replaced_exp_avg_is_used(rng, as_array):
    theta, grads, p, opt = setup(rng)
    run(opt, p, grads[:2])
    _, _, v = adam_trajectory(theta, grads[:2])
    new_m = rng.standard_normal(theta.shape)
    opt.state[p]["exp_avg"] = new_m.copy() if as_array else nnx.tensor(new_m.copy())
    run(opt, p, grads[2:])
    expected, _, _ = adam_trajectory(adam_trajectory(theta, grads[:2])[0], grads[2:], m=new_m, v=v, t0=2)
    np.testing.assert_allclose(p.numpy(), expected, rtol=1e-12, atol=1e-14)


def test_replaced_entry_dict_is_used_and_kept(rng):
    """A plain dict put in the table is the state from then on (edits through it are seen too)."""
    theta, grads, p, opt = setup(rng)
    run(opt, p, grads[:1])
    entry = {"step": 0, "exp_avg": nnx.tensor(np.zeros(5)), "exp_avg_sq": nnx.tensor(np.zeros(5))}
    opt.state[p] = entry
    run(opt, p, grads[1:3])
    new_m = rng.standard_normal(5)
    entry["exp_avg"] = nnx.tensor(new_m.copy())  # an edit through the user's own dict
    run(opt, p, grads[3:])
    after_one = adam_trajectory(theta, grads[:1])[0]
    middle, _, v = adam_trajectory(after_one, grads[1:3])
    expected, _, _ = adam_trajectory(middle, grads[3:], m=new_m, v=v, t0=2)
    np.testing.assert_allclose(p.numpy(), expected, rtol=1e-12, atol=1e-14)
    assert entry["step"] == 5


def test_load_state_dict_takes_effect(rng):
    theta, grads, p, opt = setup(rng)
    run(opt, p, grads[:2])
    saved = {k: v for k, v in opt.state_dict().items()}
    saved = {"state": {0: {name: (value.numpy().copy() if hasattr(value, "numpy") else value)
                           for name, value in saved["state"][0].items()}},
             "param_groups": saved["param_groups"]}
    run(opt, p, grads[2:4])
    opt.load_state_dict(saved)
    run(opt, p, grads[4:])
    after_four = adam_trajectory(theta, grads[:4])[0]
    _, m, v = adam_trajectory(theta, grads[:2])
    expected, _, _ = adam_trajectory(after_four, grads[4:], m=m, v=v, t0=2)
    np.testing.assert_allclose(p.numpy(), expected, rtol=1e-12, atol=1e-14)


def test_unedited_state_keeps_its_cached_layout(rng):
    """The fast path stays: without edits the group's bundle is reused, step after step."""
    _, grads, p, opt = setup(rng)
    run(opt, p, grads[:2])
    bundle = next(iter(opt._bundles.values()))
    run(opt, p, grads[2:])
    assert next(iter(opt._bundles.values())) is bundle
    opt.state[p]["exp_avg_sq"].numpy()  # reads are no edits
    run(opt, p, grads[:1])
    assert next(iter(opt._bundles.values())) is bundle


def test_against_torch(rng):
    torch = pytest.importorskip("torch")
    theta, grads, p, opt = setup(rng)
    tp = torch.tensor(theta.copy(), requires_grad=True)
    topt = torch.optim.Adam([tp], lr=LR, betas=BETAS, eps=EPS)
    new_m = rng.standard_normal(theta.shape)

    def both(gs):
        run(opt, p, gs)
        for g in gs:
            tp.grad = torch.tensor(g.copy())
            topt.step()

    both(grads[:2])
    opt.state.clear()
    topt.state.clear()
    both(grads[2:4])
    opt.state[p]["exp_avg"] = nnx.tensor(new_m.copy())
    topt.state[tp]["exp_avg"] = torch.tensor(new_m.copy())
    both(grads[4:])
    np.testing.assert_allclose(p.numpy(), tp.detach().numpy(), rtol=1e-12, atol=1e-14)
    assert opt.state_dict()["state"][0]["step"] == int(topt.state_dict()["state"][0]["step"])


# --- thread safety (item 14) ------------------------------------------------------------------------------
@pytest.mark.parametrize("make", [lambda ps: optim.SGD(ps, lr=1e-3), lambda ps: optim.Adam(ps, lr=1e-3)],
                         ids=["sgd", "adam"])
def test_two_threads_lose_no_step(rng, make):
    """640 steps from two threads: Adam counts exactly 640; SGD without momentum (the same update every step,
    so the order does not matter) ends exactly where 640 sequential steps end."""
    values = [rng.standard_normal(shape) for shape in [(64, 32), (32,), (3, 7)]]
    grads = [rng.standard_normal(v.shape) for v in values]

    def fresh():
        params = [nnx.tensor(v.copy(), requires_grad=True) for v in values]
        for param, g in zip(params, grads):
            param.grad = nnx.tensor(g.copy())
        return params, make(params)

    sequential, opt = fresh()
    for _ in range(640):
        opt.step()
    shared, opt = fresh()
    start = threading.Barrier(2)

    def worker():
        start.wait()
        for _ in range(320):
            opt.step()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if isinstance(opt, optim.Adam):
        assert [opt.state[p]["step"] for p in shared] == [640] * 3
    for a, b in zip(shared, sequential):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_optimizer_with_lock_pickles_and_copies(rng):
    import copy
    import pickle
    _, grads, p, opt = setup(rng)
    run(opt, p, grads[:2])
    for clone in (copy.deepcopy(opt), pickle.loads(pickle.dumps(opt))):
        q = clone.param_groups[0]["params"][0]
        q.grad = nnx.tensor(grads[2].copy())
        clone.step()
        assert clone.state[q]["step"] == 3
