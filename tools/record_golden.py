"""Records PyTorch's outputs for the parity tests into tests/golden/*.json, so CI (which has no PyTorch) still
compares nnx with PyTorch: tests/golden/test_golden_*.py replay the stored inputs through nnx.

Run once per PyTorch upgrade (needs torch; CPU is enough), then commit the changed files:

    python tools/record_golden.py            # writes tests/golden/{schedulers,optimizers,ops,modules,namespace}.json

Every input is generated here from a fixed seed and stored next to PyTorch's output (floats as exact
float64 reprs), so a golden test never depends on how a generator draws. Each file names the PyTorch
version that produced it.
"""
from __future__ import annotations

import json
import math
import os
import sys

import numpy as np
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GOLDEN = os.path.join(ROOT, "tests", "golden")
SEED = 20261207

# ---- schedulers: two parameter groups (lr 0.1 and 0.5), SGD with momentum or Adam, lr + momentum per step ----

SCHEDULES = [
    ("StepLR", dict(step_size=4, gamma=0.3), 15),
    ("StepLR", dict(step_size=1, gamma=0.5), 6),
    ("CosineAnnealingLR", dict(T_max=6, eta_min=0.001), 20),  # past T_max twice: climbs back, falls again
    ("CosineAnnealingLR", dict(T_max=1, eta_min=0.02), 5),
    ("CosineAnnealingLR", dict(T_max=7, eta_min=0.0), 30),
    ("OneCycleLR", dict(max_lr=0.8, total_steps=30, pct_start=0.3), 29),
    ("OneCycleLR", dict(max_lr=0.8, total_steps=20, pct_start=0.25), 19),  # warm-up ends exactly on step 4
    ("OneCycleLR", dict(max_lr=[0.8, 0.4], epochs=3, steps_per_epoch=7, anneal_strategy="linear",
                        three_phase=True), 20),
    ("OneCycleLR", dict(max_lr=[0.9, 0.3], total_steps=25, pct_start=0.2, three_phase=True, div_factor=10.0,
                        final_div_factor=100.0, base_momentum=0.7, max_momentum=0.97), 24),
    ("OneCycleLR", dict(max_lr=1.5, total_steps=10, pct_start=0.5, three_phase=True,
                        base_momentum=[0.6, 0.8], max_momentum=[0.9, 0.99]), 9),
    ("OneCycleLR", dict(max_lr=0.6, total_steps=17, pct_start=0.45, anneal_strategy="linear",
                        base_momentum=0.75, max_momentum=0.92, div_factor=4.0, final_div_factor=1e3), 16),
    ("OneCycleLR", dict(max_lr=0.6, total_steps=12, pct_start=0.4, cycle_momentum=False), 11),
]

# (options, metric sequence): min/max x rel/abs, cooldown, patience 0, min_lr per group, eps that blocks a step.
PLATEAUS = [
    (dict(mode="min", factor=0.3, patience=1, threshold=1e-3, cooldown=1, min_lr=0.002),
     [1.0, 0.8, 0.8, 0.79999, 0.81, 0.9, 0.7, 0.7, 0.7, 0.7, 0.7, 0.7, 0.7, 0.69]),
    (dict(mode="min", factor=0.5, patience=2, threshold=0.05, threshold_mode="abs", cooldown=2),
     [1.0, 0.96, 0.95, 0.949, 0.90, 0.899, 0.86, 0.86, 0.86, 0.86, 0.86, 0.86, 0.80, 0.78, 0.77, 0.76]),
    (dict(mode="max", factor=0.2, patience=1, threshold=0.1, threshold_mode="rel", min_lr=[0.01, 0.05]),
     [0.5, 0.54, 0.56, 0.6, 0.61, 0.62, 0.7, 0.7, 0.5, 0.77, 0.78, 0.79, 0.8]),
    (dict(mode="max", factor=0.5, patience=0, threshold=0.02, threshold_mode="abs", cooldown=1),
     [0.1, 0.11, 0.13, 0.13, 0.2, 0.21, 0.22, 0.23, 0.5, 0.5, 0.5]),
    (dict(mode="min", factor=0.9, patience=0, eps=0.02, min_lr=0.0),
     [3.0, 3.0, 3.0, 3.0, 3.0, 3.0, 3.0, 3.0]),  # lr changes < eps are not applied
]


def _torch_optimizer(name, momentum_options):
    params = [torch.zeros(3, requires_grad=True), torch.zeros(2, requires_grad=True)]
    return getattr(torch.optim, name)([{"params": params[:1]}, {"params": params[1:], "lr": 0.5}], lr=0.1,
                                      **momentum_options)


def record_schedulers():
    cases = []
    for name, options, steps in SCHEDULES:
        for optimizer_name, extra in (("SGD", dict(momentum=0.9)), ("Adam", {})):
            optimizer = _torch_optimizer(optimizer_name, extra)
            scheduler = getattr(torch.optim.lr_scheduler, name)(optimizer, **options)
            lrs, moms = [], []
            for step in range(steps + 1):
                lrs.append([float(v) for v in scheduler.get_last_lr()])
                moms.append([float(g["momentum"] if optimizer_name == "SGD" else g["betas"][0])
                             for g in optimizer.param_groups])
                if step < steps:
                    optimizer.step()
                    scheduler.step()
            cases.append(dict(scheduler=name, optimizer=optimizer_name, optimizer_options=extra, options=options,
                              steps=steps, lrs=lrs, moms=moms))
    plateaus = []
    for options, metrics in PLATEAUS:
        optimizer = _torch_optimizer("SGD", {})
        scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, **options)
        lrs, bad, cooldown = [], [], []
        for metric in metrics:
            scheduler.step(metric)
            lrs.append([float(v) for v in scheduler.get_last_lr()])
            bad.append(int(scheduler.num_bad_epochs))
            cooldown.append(int(scheduler.cooldown_counter))
        plateaus.append(dict(options=options, metrics=metrics, lrs=lrs, num_bad_epochs=bad, cooldown_counter=cooldown))
    return dict(schedulers=cases, plateaus=plateaus)


# ---- optimizers: torch.optim trajectories with a parameter-dependent gradient (a wrong step shows later) -----

OPTIMIZERS = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.05, momentum=0.9)),
    ("SGD", dict(lr=0.05, momentum=0.9, dampening=0.3, weight_decay=0.1)),
    ("SGD", dict(lr=0.05, momentum=0.8, nesterov=True, weight_decay=0.01)),
    ("SGD", dict(lr=0.05, momentum=0.5, maximize=True)),
    ("Adam", dict(lr=0.01)),
    ("Adam", dict(lr=0.02, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1)),
    ("Adam", dict(lr=0.01, amsgrad=True)),
    ("Adam", dict(lr=0.01, maximize=True, weight_decay=0.05)),
    ("Adam", dict(lr=0.05, betas=(0.3, 0.5), eps=0.1, amsgrad=True)),
    ("AdamW", dict(lr=0.01)),
    ("AdamW", dict(lr=0.01, weight_decay=0.3, amsgrad=True, betas=(0.85, 0.95))),
    ("RMSprop", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.01, alpha=0.9, momentum=0.9, weight_decay=0.1)),
    ("RMSprop", dict(lr=0.005, centered=True, eps=1e-6)),
    ("RMSprop", dict(lr=0.005, centered=True, momentum=0.5, maximize=True)),
    ("RMSprop", dict(lr=0.02, alpha=0.4, eps=0.1, centered=True)),
    ("Adagrad", dict(lr=0.05)),
    ("Adagrad", dict(lr=0.05, lr_decay=0.1, weight_decay=0.1, initial_accumulator_value=0.3, maximize=True)),
    ("Adadelta", dict(lr=1.0, rho=0.9, weight_decay=0.1)),
    ("Adadelta", dict(lr=0.5, rho=0.3, eps=1e-4, maximize=True)),
    ("Adamax", dict(lr=0.01)),
    ("Adamax", dict(lr=0.01, betas=(0.5, 0.9), weight_decay=0.1, maximize=True)),
    ("NAdam", dict(lr=0.01, weight_decay=0.1)),
    ("NAdam", dict(lr=0.01, betas=(0.8, 0.95), weight_decay=0.1, decoupled_weight_decay=True, momentum_decay=0.01)),
    ("RAdam", dict(lr=0.01, weight_decay=0.1)),  # rho_t <= 5 for the first steps: the unrectified branch too
    ("RAdam", dict(lr=0.01, betas=(0.5, 0.9), weight_decay=0.1, decoupled_weight_decay=True)),
]
OPTIMIZER_SHAPES = [(3, 4), (5,)]
OPTIMIZER_STEPS = 12


def record_optimizers(rng):
    # float64 throughout: NAdam's mu_product is a tensor of the default dtype (float32 would round it)
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        return _record_optimizers(rng)
    finally:
        torch.set_default_dtype(previous)


def _record_optimizers(rng):
    cases = []
    for name, options in OPTIMIZERS:
        start = [rng.uniform(-2, 2, size=shape) for shape in OPTIMIZER_SHAPES]
        noises = [[rng.normal(size=shape) for shape in OPTIMIZER_SHAPES] for _ in range(OPTIMIZER_STEPS)]
        params = [torch.tensor(p.copy(), requires_grad=True) for p in start]
        optimizer = getattr(torch.optim, name)(params, foreach=False, **options)
        for step in range(OPTIMIZER_STEPS):
            for p, noise in zip(params, noises[step]):
                p.grad = torch.from_numpy(0.5 * p.detach().numpy() + noise)
            optimizer.step()
        cases.append(dict(optimizer=name, options=options, start=[p.tolist() for p in start],
                          noises=[[n.tolist() for n in row] for row in noises],
                          final=[p.detach().numpy().tolist() for p in params]))
    return dict(gradient="0.5 * theta + noise", steps=OPTIMIZER_STEPS, cases=cases)


# ---- public ops and their gradients: the fuzz properties' PyTorch references on fixed examples -------------

def _fuzz_cases():
    sys.path[:0] = [os.path.join(ROOT, "tests", "reliability"), os.path.join(ROOT, "tests")]  # tests/ops: its specs
    import fuzz_cases
    return fuzz_cases


def _torch_case(torch_fn, arrays, upstream_seed):
    leaves = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in arrays]
    out = torch_fn(*leaves)
    upstream = np.random.default_rng(upstream_seed).uniform(-1, 1, size=tuple(out.shape))
    if out.requires_grad and out.numel():
        out.backward(torch.tensor(upstream))
    grads = [leaf.grad.numpy() if leaf.grad is not None else np.zeros(leaf.shape) for leaf in leaves]
    return dict(inputs=[a.tolist() for a in arrays], shapes=[list(a.shape) for a in arrays],
                upstream=upstream.tolist(), output=out.detach().numpy().tolist(), output_shape=list(out.shape),
                grads=[g.tolist() for g in grads])


def _values(rng, shape, dtype, positive=False):
    """The fuzzer's operand values: away from 0 (kinks) unless positive, rounded to the dtype."""
    if positive:
        values = rng.uniform(0.5, 2.5, size=shape)
    else:
        values = rng.uniform(-2.0, 2.0, size=shape)
        values = np.where(np.abs(values) < 0.05, values + 0.1, values)
    return values.astype(dtype).astype(np.float64)


UNARY_SHAPES = [(), (1,), (7,), (3, 4), (2, 3, 5), (0, 3)]
BINARY_SHAPES = [((4,), (4,)), ((3, 4), (4,)), ((2, 3, 4), (3, 1)), ((3, 1), (1, 5)), ((), (2, 3)), ((0, 2), (2,))]
REDUCTION_SHAPES = [(5,), (3, 4), (2, 3, 4)]
REDUCTIONS = ["sum", "mean", "amax", "var", "softmax", "log_softmax", "max"]
ACTIVATIONS = ["none", "relu", "leaky_relu", "sigmoid", "tanh", "gelu", "gelu_tanh"]
LOSSES = ["cross_entropy", "mse_loss", "l1_loss", "binary_cross_entropy_with_logits"]


def _reduction(op, dim, keepdim):
    return {"sum": lambda t: t.sum(dim, keepdim=keepdim), "mean": lambda t: t.mean(dim, keepdim=keepdim),
            "amax": lambda t: t.amax(dim, keepdim=keepdim), "var": lambda t: t.var(dim, keepdim=keepdim),
            "softmax": lambda t: t.softmax(dim), "log_softmax": lambda t: t.log_softmax(dim),
            "max": lambda t: t.max(dim, keepdim=keepdim).values}[op]


def _activation(name):
    return {"none": lambda t: t, "relu": torch.relu, "sigmoid": torch.sigmoid, "tanh": torch.tanh,
            "leaky_relu": lambda t: torch.nn.functional.leaky_relu(t, 0.01), "gelu": torch.nn.functional.gelu,
            "gelu_tanh": lambda t: torch.nn.functional.gelu(t, approximate="tanh")}[name]


def record_ops(rng):
    fuzz = _fuzz_cases()
    cases = []

    def add(prop, name, dtype, torch_fn, arrays, **extra):
        seed = int(rng.integers(0, 2**31))
        cases.append(dict(property=prop, name=name, dtype=np.dtype(dtype).name, **extra,
                          **_torch_case(torch_fn, arrays, seed)))

    for dtype in (np.float32, np.float64):
        for name in sorted(fuzz.UNARY):
            for shape in UNARY_SHAPES:
                add("unary", name, dtype, fuzz.UNARY[name][1], [_values(rng, shape, dtype)])
        for name in sorted(fuzz.POSITIVE_UNARY):
            for shape in UNARY_SHAPES[:5]:
                add("positive", name, dtype, fuzz.POSITIVE_UNARY[name][1], [_values(rng, shape, dtype, True)])
        for name in sorted(fuzz.BINARY):
            for shapes in BINARY_SHAPES:
                arrays = [_values(rng, shape, dtype) for shape in shapes]
                add("binary", name, dtype, fuzz.BINARY[name][1], arrays)
        for op in REDUCTIONS:
            for shape in REDUCTION_SHAPES:
                for dim in range(len(shape)):
                    if op == "var" and shape[dim] < 2:
                        continue
                    keepdim = bool(rng.integers(0, 2))
                    add("reduction", op, dtype, _reduction(op, dim, keepdim), [_values(rng, shape, dtype)],
                        dim=dim, keepdim=keepdim)
        for activation in ACTIVATIONS:
            for rows, inner, outer, bias in ((3, 7, 9, True), (1, 16, 3, False), (8, 2, 1, True), (0, 7, 3, True)):
                shapes = [(rows, inner), (outer, inner), (outer,)][: 3 if bias else 2]
                arrays = [rng.uniform(-1, 1, size=s).astype(dtype).astype(np.float64) for s in shapes]
                add("linear", activation, dtype,
                    lambda *t, act=_activation(activation): act(torch.nn.functional.linear(*t)),  # noqa: B008 (binds now)
                    arrays, bias=bias)
        for loss in LOSSES:
            for reduction in ("mean", "sum", "none"):
                for smoothing in ((0.0, 0.1) if loss == "cross_entropy" else (0.0,)):
                    rows, classes = [(5, 3), (17, 10), (1, 1), (2, 2)][int(rng.integers(0, 4))]
                    logits = rng.uniform(-3, 3, size=(rows, classes)).astype(dtype).astype(np.float64)
                    if loss == "cross_entropy":
                        target = rng.integers(0, classes, rows)
                        options = dict(reduction=reduction, label_smoothing=smoothing)
                        torch_target = torch.tensor(target)
                    else:
                        target = rng.uniform(0, 1, size=(rows, classes)) + (0.01 if loss == "l1_loss" else 0)
                        target = target.astype(dtype).astype(np.float64)
                        options = dict(reduction=reduction)
                        torch_target = torch.tensor(target)
                    add("loss", loss, dtype,
                        lambda t, f=getattr(torch.nn.functional, loss), y=torch_target, o=options: f(t, y, **o),  # noqa: B008
                        [logits], target=target.tolist(), options=options)
    return dict(cases=cases)


# ---- modules: normalization forward/backward with running stats, clip_grad_norm_, a real state dict -------

def record_modules(rng):
    out = {}
    for training in (True, False):
        x, weight, bias = rng.uniform(-2, 2, (33, 7)), rng.uniform(0.5, 1.5, 7), rng.uniform(-0.5, 0.5, 7)
        mean, var = rng.uniform(-1, 1, 7), rng.uniform(0.5, 2.0, 7)
        grad_out = rng.uniform(-1, 1, (33, 7))
        running = [torch.tensor(mean), torch.tensor(var)]
        leaves = [torch.tensor(a, requires_grad=True) for a in (x, weight, bias)]
        y = torch.nn.functional.batch_norm(leaves[0], *running, *leaves[1:], training=training, momentum=0.1,
                                           eps=1e-5)
        y.backward(torch.tensor(grad_out))
        out[f"batch_norm_{'train' if training else 'eval'}"] = dict(
            x=x.tolist(), weight=weight.tolist(), bias=bias.tolist(), running_mean=mean.tolist(),
            running_var=var.tolist(), grad_out=grad_out.tolist(), out=y.detach().numpy().tolist(),
            new_running_mean=running[0].numpy().tolist(), new_running_var=running[1].numpy().tolist(),
            grads=[leaf.grad.numpy().tolist() for leaf in leaves])
    x, weight, bias = rng.uniform(-2, 2, (9, 13)), rng.uniform(0.5, 1.5, 13), rng.uniform(-0.5, 0.5, 13)
    grad_out = rng.uniform(-1, 1, (9, 13))
    leaves = [torch.tensor(a, requires_grad=True) for a in (x, weight, bias)]
    y = torch.nn.functional.layer_norm(leaves[0], (13,), *leaves[1:], eps=1e-5)
    y.backward(torch.tensor(grad_out))
    out["layer_norm"] = dict(x=x.tolist(), weight=weight.tolist(), bias=bias.tolist(), grad_out=grad_out.tolist(),
                             out=y.detach().numpy().tolist(), grads=[leaf.grad.numpy().tolist() for leaf in leaves])
    clips = []
    for max_norm, norm_type in ((1.0, 2.0), (0.5, 1.0), (2.0, math.inf), (100.0, 2.0), (0.3, 3.0)):
        grads = [rng.normal(scale=3.0, size=s) for s in ((4, 3), (3,), (2, 2))]
        params = [torch.zeros(g.shape, dtype=torch.float64, requires_grad=True) for g in grads]
        for p, g in zip(params, grads):
            p.grad = torch.tensor(g.copy())
        total = torch.nn.utils.clip_grad_norm_(params, max_norm, norm_type=norm_type)
        clips.append(dict(max_norm=max_norm, norm_type="inf" if math.isinf(norm_type) else norm_type,
                          grads=[g.tolist() for g in grads], total=float(total),
                          clipped=[p.grad.numpy().tolist() for p in params]))
    out["clip_grad_norm"] = clips
    torch.manual_seed(SEED)
    model = torch.nn.Sequential(torch.nn.Linear(6, 8), torch.nn.BatchNorm1d(8), torch.nn.ReLU(), torch.nn.Dropout(0.2),
                                torch.nn.Linear(8, 5), torch.nn.LayerNorm(5), torch.nn.GELU(), torch.nn.Linear(5, 3))
    model.train()
    model(torch.tensor(rng.normal(size=(16, 6)), dtype=torch.float32))  # running statistics move
    model.eval()
    x = rng.normal(size=(4, 6)).astype(np.float32)
    out["sequential_state_dict"] = dict(
        state={k: dict(shape=list(v.shape), dtype=str(v.dtype).replace("torch.", ""),
                       values=v.numpy().astype(np.float64).ravel().tolist())
               for k, v in model.state_dict().items()},
        x=x.astype(np.float64).tolist(), out=model(torch.from_numpy(x)).detach().numpy().astype(np.float64).tolist())
    return out


# ---- the torch-named functions (tests/autograd/test_namespace.py's TORCH_CASES): value and gradient ----------

def record_namespace(rng):
    import importlib.util
    path = os.path.join(ROOT, "tests", "autograd", "test_namespace.py")
    sys.path[:0] = [os.path.join(ROOT, "tests"), os.path.join(ROOT, "tests", "autograd")]  # its helpers
    spec = importlib.util.spec_from_file_location("namespace_cases", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    cases = []
    for name, args, kwargs in module.TORCH_CASES:
        values = rng.uniform(0.5, 1.5, size=(4, 4))
        leaf = torch.tensor(values, requires_grad=True)
        out = getattr(torch, name)(leaf, *args, **kwargs)
        weights = rng.standard_normal(tuple(out.shape))
        (out * torch.tensor(weights)).sum().backward()
        cases.append(dict(name=name, args=args, kwargs=kwargs, values=values.tolist(), weights=weights.tolist(),
                          out=out.detach().numpy().tolist(), out_shape=list(out.shape),
                          grad=leaf.grad.numpy().tolist()))
    return dict(cases=cases)


def write(name, payload):
    payload = dict(recorded_by="tools/record_golden.py", torch_version=torch.__version__, seed=SEED, **payload)
    path = os.path.join(GOLDEN, f"{name}.json")
    with open(path, "w") as file:
        json.dump(payload, file, separators=(",", ":"))
        file.write("\n")
    print(f"{path}: {os.path.getsize(path) / 1024:.0f} KiB")


def main():
    torch.set_default_dtype(torch.float32)
    os.makedirs(GOLDEN, exist_ok=True)
    # one generator per file: adding cases to one never changes another's inputs
    write("schedulers", record_schedulers())
    write("optimizers", record_optimizers(np.random.default_rng([SEED, 1])))
    write("ops", record_ops(np.random.default_rng([SEED, 2])))
    write("modules", record_modules(np.random.default_rng([SEED, 3])))
    write("namespace", record_namespace(np.random.default_rng([SEED, 4])))


if __name__ == "__main__":
    main()
