"""The bad-input battery's mutations: each turns a valid call of a spec (tests/ops) into one the binding must
refuse (a list, None, a scalar, an object or complex array, another dtype, big-endian, non-contiguous, an extra
dimension, a read-only or aliased output, an out-of-range index). Used by tests/reliability/test_bad_inputs_native.py
and the fuzzer."""
import numpy as np

ARRAY_MUTATIONS = ("list", "none", "scalar", "object", "dtype", "complex", "big_endian", "strided", "ndim",
                   "readonly", "alias", "out_of_range")
INDEX_ARRAYS = {"target", "indices"}


def array_slots(call):
    """(slot name, current array, role) for every array argument, list entries as 'params[0]'."""
    slots = []
    for name, role in call.roles.items():
        value = call.arg(name)
        if isinstance(value, list):
            slots += [(f"{name}[{i}]", entry, role) for i, entry in enumerate(value)]
        elif value is not None:
            slots.append((name, value, role))
    return slots


def _set(call, slot, value):
    if "[" in slot:
        base, index = slot[:-1].split("[")
        call.args[call.names.index(base)][int(index)] = value
    else:
        call.args[call.names.index(slot)] = value


def _strided(array):
    if array.size <= 1:
        return None
    wide = np.zeros(array.shape[:-1] + (2 * array.shape[-1],), array.dtype)
    view = wide[..., ::2]
    view[...] = array
    return None if view.flags.c_contiguous else view


def _other_dtype(array, call, rng):
    floats = [a for _, a, _ in array_slots(call) if a.dtype.kind == "f"]
    pool = [np.int32, np.int64, np.uint8, np.float16, np.bool_, np.float32, np.float64]
    if array.dtype.kind == "f" and len(floats) == 1:
        pool = [d for d in pool if np.dtype(d).kind != "f" or d == np.float16]  # one float array: any float works
    pool = [d for d in pool if np.dtype(d) != array.dtype]
    with np.errstate(all="ignore"):  # NaN poison cast to integers
        return array.astype(pool[int(rng.integers(len(pool)))])


def _overlapping_output(call, slot, array):
    """An output that shares memory with one of the call's inputs (same dtype), or None."""
    for other_slot, other, role in array_slots(call):
        if role not in ("in", "opt_in") or other.dtype != array.dtype or \
                (slot.split("[")[0], other_slot) in call.aliases_ok:
            continue
        if other.size >= array.size > 0:
            return other.reshape(-1)[:array.size].reshape(array.shape)
    return None


def mutate(call, slot, mutation, rng):
    """Apply `mutation` to array argument `slot`; False when it does not apply to that argument."""
    array = dict((s, a) for s, a, _ in array_slots(call))[slot]
    role = dict((s, r) for s, _, r in array_slots(call))[slot]
    replacement = None
    if mutation == "list":
        replacement = array.tolist()
    elif mutation == "none" and not role.startswith("opt"):
        replacement = None
        _set(call, slot, None)
        return True
    elif mutation == "scalar":
        replacement = 1.0
    elif mutation == "object":
        replacement = np.empty(array.shape, dtype=object)
        replacement[...] = 1.0
    elif mutation == "dtype":
        replacement = _other_dtype(array, call, rng)
    elif mutation == "complex":
        replacement = array.astype(np.complex64)
    elif mutation == "big_endian" and array.dtype.itemsize > 1:
        replacement = array.astype(array.dtype.newbyteorder(">"))
    elif mutation == "strided":
        replacement = _strided(array)
    elif mutation == "ndim":
        replacement = np.stack([array, array])
    elif mutation == "readonly" and role in ("out", "opt_out"):
        replacement = array.copy()
        replacement.flags.writeable = False
    elif mutation == "alias" and role in ("out", "opt_out"):
        replacement = _overlapping_output(call, slot, array)
    elif mutation == "out_of_range" and slot in INDEX_ARRAYS and array.dtype.kind == "i" and array.size:
        replacement = array.copy()
        bound = call.arg("logits").shape[1] if slot == "target" else call.arg("weight" if "weight" in call.names
                                                                              else "grad_weight").shape[0]
        replacement.reshape(-1)[int(rng.integers(array.size))] = bound if rng.integers(2) else -5
    if replacement is None:
        return False
    _set(call, slot, replacement)
    return True


def expected_errors(mutation):
    return (IndexError,) if mutation == "out_of_range" else (TypeError, ValueError)
