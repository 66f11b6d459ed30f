"""Helpers the optimizers plan their native step with: which module holds the *_step kernels for an array, and a
group's update split by step number (parameters that joined at different times), run and committed."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any

import numpy as np

from .. import _C, native
from .optimizer import Optimizer
from .state import Bundle

__all__ = ["native_steps", "group_by_step", "stepped_update", "plan_stepped", "subset"]


def native_steps(cpu_module: ModuleType, array: Any) -> Any:
    """What holds the fused *_step functions for parameters like `array`: cpu_module (nnx._C, whose functions
    the CPU backend's steps are) for NumPy arrays, else the array's backend (nnx._cuda's steps)."""
    return cpu_module if type(array) is np.ndarray else native.for_array(array)


def group_by_step(steps: list[int]) -> list[tuple[int, list[int] | None]]:
    """[(step, None)] when every parameter is at the same step (the usual case: one native call), else
    [(step, indices)] per distinct step, for parameters that joined or skipped updates at other times."""
    first = steps[0]
    if steps.count(first) == len(steps):
        return [(first, None)]
    members = {}
    for i, step in enumerate(steps):
        members.setdefault(step, []).append(i)
    return sorted(members.items())


def stepped_update(bundle: Bundle, param_arrays: list[Any], grad_arrays: list[Any], lists: list[list[Any]], check: bool,
                   call: Callable[..., None], keys: Callable[[list[int]], list[Any]] | None = None,
                   after: Callable[[list[int]], None] | None = None) -> Callable[[], None]:
    """The update of a group whose native step takes the step number: call(params, grads, *lists, key) once
    per distinct key among the parameters (keys[i], or the step each is about to take; one call in the
    usual case), then the step counts committed and after() run. With several calls, every array is
    checked before the first (a refused call must not leave part of the group stepped)."""
    steps = bundle.next_steps()
    calls = group_by_step(steps if keys is None else keys(steps))
    if not check and len(calls) > 1:
        bundle.check(param_arrays, grad_arrays)

    def update():
        for key, members in calls:
            call(subset(param_arrays, members), subset(grad_arrays, members),
                 *[subset(arrays, members) for arrays in lists], key)
        bundle.commit(steps)  # only now: a refused call leaves the step counts and the new buffers unrecorded
        if after is not None:
            after(steps)
    return update


def plan_stepped(optimizer: Optimizer, group: dict[str, Any], check: bool, kernel_name: str,
                 buffer_names: Sequence[str], hyper: Sequence[Any],
                 fills: dict[str, float] | None = None) -> Callable[[], None] | None:
    """The usual _plan_group of an optimizer whose native step is kernel(params, grads, *buffers, step, *hyper):
    the group's arrays gathered (None when no parameter has a gradient) and its stepped_update."""
    gathered = optimizer._gather(group, buffer_names, check, fills=fills)
    if gathered is None:
        return None
    param_arrays, grad_arrays, bundle = gathered
    kernel = getattr(native_steps(_C, param_arrays[0]), kernel_name)

    def call(*arrays_and_step):
        kernel(*arrays_and_step, *hyper)
    lists = [bundle.buffers[name] for name in buffer_names]
    return stepped_update(bundle, param_arrays, grad_arrays, lists, check, call)


def subset(arrays: list[Any] | None, indices: list[int] | None) -> list[Any] | None:
    """arrays restricted to indices (all of them when indices is None); None stays None."""
    if arrays is None or indices is None:
        return arrays
    return [arrays[i] for i in indices]

