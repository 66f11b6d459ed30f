"""conv2d family (conv2d_forward: conv2d(x, weight) + bias; conv2d_backward: grad_x, grad_weight, grad_bias;
conv_transpose2d_forward/backward likewise): the float64 references, written from the definition (a loop over kernel
offsets, NumPy slicing of the zero-padded input; the transposed one scatters into the full output), and the call
specs; F.conv2d/F.conv1d/F.conv_transpose2d gradient-checked through the same references."""
import math

import numpy as np

import nnx.nn.functional as F
from ops.activations import reference_backward as activation_backward
from ops.activations import reference_forward as activation_forward
from ops.gradcheck import Functional
from ops.spec import Call, Draw, poison, upstream_special, values

# (kernel (kh, kw), stride, padding (top, bottom, left, right), dilation, groups; "dw": depthwise, groups = C):
# ResNet's 3x3, an asymmetric kernel with stride and uneven padding, a 1x1 kernel read directly (groups 2), a
# dilated 'same' with 3 groups, an even kernel's asymmetric 'same', a depthwise strided 3x3, a 1x1 kernel that
# skips elements, and the 7x7 stride-2 stem.
CONFIGS = [((3, 3), (1, 1), (1, 1, 1, 1), (1, 1), 1),
           ((3, 2), (2, 1), (1, 0, 2, 1), (1, 1), 1),
           ((1, 1), (1, 1), (0, 0, 0, 0), (1, 1), 2),
           ((3, 3), (1, 1), (2, 2, 2, 2), (2, 2), 3),
           ((2, 2), (1, 1), (0, 1, 0, 1), (1, 1), 1),
           ((3, 3), (2, 2), (1, 1, 1, 1), (1, 1), "dw"),
           ((1, 1), (2, 3), (0, 0, 0, 0), (1, 1), 1),
           ((7, 7), (2, 2), (3, 3, 3, 3), (1, 1), 1)]


def output_size(size, kernel, stride, pad_begin, pad_end, dilation):
    return (size + pad_begin + pad_end - dilation * (kernel - 1) - 1) // stride + 1


def _patch(padded, kh, kw, out_hw, stride, dilation):
    """The (N, C, OH, OW) input elements kernel offset (kh, kw) meets, from the zero-padded input."""
    h0, w0 = kh * dilation[0], kw * dilation[1]
    return padded[:, :, h0:h0 + stride[0] * (out_hw[0] - 1) + 1:stride[0], w0:w0 + stride[1] * (out_hw[1] - 1) + 1:
                  stride[1]]


def reference_forward(x, weight, bias, stride, padding, dilation, groups):
    """conv2d in float64: out[n, o] = bias[o] + sum over (c, kh, kw) of weight[o, c, kh, kw] * x_padded[n, group's
    c, oh * stride + kh * dilation, ow * stride + kw * dilation]."""
    x, weight = np.asarray(x, np.float64), np.asarray(weight, np.float64)
    N, C, H, W = x.shape
    out_channels, Cg, KH, KW = weight.shape
    out_hw = (output_size(H, KH, stride[0], padding[0], padding[1], dilation[0]),
              output_size(W, KW, stride[1], padding[2], padding[3], dilation[1]))
    padded = np.pad(x, ((0, 0), (0, 0), padding[:2], padding[2:]))
    out = np.zeros((N, out_channels) + out_hw)
    Og = out_channels // groups
    with np.errstate(all="ignore"):
        for g in range(groups):
            for kh in range(KH):
                for kw in range(KW):
                    patch = _patch(padded[:, g * Cg:(g + 1) * Cg], kh, kw, out_hw, stride, dilation)
                    out[:, g * Og:(g + 1) * Og] += np.einsum("nchw,oc->nohw", patch,
                                                             weight[g * Og:(g + 1) * Og, :, kh, kw])
        if bias is not None:
            out += np.asarray(bias, np.float64)[None, :, None, None]
    return out


def reference_backward(grad_out, x, weight, stride, padding, dilation, groups):
    """{grad_x, grad_weight, grad_bias} of conv2d in float64 (each kernel offset's patch, transposed)."""
    grad_out, x = np.asarray(grad_out, np.float64), np.asarray(x, np.float64)
    weight = np.asarray(weight, np.float64)
    N, C, H, W = x.shape
    out_channels, Cg, KH, KW = weight.shape
    out_hw = grad_out.shape[2:]
    padded = np.pad(x, ((0, 0), (0, 0), padding[:2], padding[2:]))
    grad_padded, grad_weight = np.zeros_like(padded), np.zeros_like(weight)
    Og = out_channels // groups
    with np.errstate(all="ignore"):
        for g in range(groups):
            go = grad_out[:, g * Og:(g + 1) * Og]
            for kh in range(KH):
                for kw in range(KW):
                    patch = _patch(padded[:, g * Cg:(g + 1) * Cg], kh, kw, out_hw, stride, dilation)
                    grad_weight[g * Og:(g + 1) * Og, :, kh, kw] = np.einsum("nohw,nchw->oc", go, patch)
                    _patch(grad_padded[:, g * Cg:(g + 1) * Cg], kh, kw, out_hw, stride, dilation)[...] += np.einsum(
                        "nohw,oc->nchw", go, weight[g * Og:(g + 1) * Og, :, kh, kw])
        grad_bias = grad_out.sum(axis=(0, 2, 3))
    grad_x = grad_padded[:, :, padding[0]:padding[0] + H, padding[2]:padding[2] + W]
    return {"grad_x": grad_x, "grad_weight": grad_weight, "grad_bias": grad_bias}


# The fuzzer's "big" draw (N = 700, C >= 50) on top of sizes up to 33 would ask for outputs of 10^9 elements (a
# depthwise 2x2 transposed conv at stride 3: 700 x 1650 x 7 x 67, 4 GiB in float64, and the references' temporaries
# on top: CI's fuzz run was OOM-killed). Above this many elements in x or out, the spatial sizes and the output
# channels are halved until the call fits; the batch and input channels (what "big" is about) stay.
ELEMENT_BUDGET = 1 << 21


def _fit_budget(N, C, Og, groups, hw, out_size):
    """(Og, hw), halved largest first, so that x (N, C, *hw) and out (N, Og * groups, *out_size(hw)) both stay within
    ELEMENT_BUDGET (or every halvable size is 1)."""
    hw = list(hw)
    while True:
        out_hw = out_size(hw)
        if max(N * C * hw[0] * hw[1], N * Og * groups * out_hw[0] * out_hw[1]) <= ELEMENT_BUDGET:
            return Og, hw
        sizes = [hw[0], hw[1], Og]
        largest = sizes.index(max(sizes))
        if sizes[largest] == 1:
            return Og, hw
        if largest == 2:
            Og = (Og + 1) // 2
        else:
            hw[largest] = (hw[largest] + 1) // 2


def _shapes(dims, config):
    """x (N, C, H, W) and weight (O, C/groups, KH, KW) from the drawn sizes (N, C/groups, H, W, O/groups); H and W
    raised so that the output has at least one element."""
    kernel, _, padding, dilation, groups = config
    N, Cg, Og = dims[0], max(dims[1], 1), max(dims[4], 1)
    if groups == "dw":
        groups, Cg = max(dims[1], 1), 1
    minimum = [max(1, dilation[a] * (kernel[a] - 1) + 1 - padding[2 * a] - padding[2 * a + 1]) for a in range(2)]
    hw = [max(dims[2 + a], minimum[a]) for a in range(2)]
    Og, hw = _fit_budget(N, Cg * groups, Og, groups, hw, lambda hw: hw)
    hw = [max(hw[a], minimum[a]) for a in range(2)]
    return (N, Cg * groups, *hw), (Og * groups, Cg, *kernel), groups


_INVALID = {"stride": [(0, 1), (1, -2)], "padding": [(-1, 0, 0, 0), (0, 0, 0, -3)], "dilation": [(0, 1), (1, -1)],
            "groups": [0, -1]}


# The activations fused into conv2d's output pass (the activations family's references).
KINDS = ("none", "relu", "leaky_relu", "sigmoid", "tanh")


def conv2d_forward(rng, dtype, dims, special, fixed=None):
    draw = Draw(rng, fixed)
    config = CONFIGS[draw("config", range(len(CONFIGS)))]
    kind, slope = draw("activation", KINDS), draw("negative_slope", [0.01, 0.2, -0.5])
    x_shape, w_shape, groups = _shapes(dims, config)
    kernel, stride, padding, dilation, _ = config
    x, weight = values(rng, x_shape, dtype, special), values(rng, w_shape, dtype)
    bias = values(rng, (w_shape[0],), dtype) if draw("with_bias", [True, False]) else None
    out = activation_forward(kind, reference_forward(x, weight, bias, stride, padding, dilation, groups), slope)
    invalid = dict(_INVALID, activation=["swish", "gelu"],
                   **({"negative_slope": [math.nan, math.inf]} if kind == "leaky_relu" else {}))
    return Call("conv2d_forward", ["x", "weight", "bias", "out", "stride", "padding", "dilation", "groups",
                                   "activation", "negative_slope"],
                [x, weight, bias, poison(out.shape, dtype), stride, padding, dilation, groups, kind, slope],
                {"x": "in", "weight": "in", "bias": "opt_in", "out": "out"}, {"out": out},
                invalid_scalars=invalid, scale=max(w_shape[1] * kernel[0] * kernel[1], 1))


_NEEDS = {"all": ("grad_x", "grad_weight", "grad_bias"), "x": ("grad_x",), "weight": ("grad_weight", "grad_bias")}


def conv2d_backward(rng, dtype, dims, special, fixed=None):
    draw = Draw(rng, fixed)
    config = CONFIGS[draw("config", range(len(CONFIGS)))]
    needs = _NEEDS[draw("needs", tuple(_NEEDS))]
    x_shape, w_shape, groups = _shapes(dims, config)
    kernel, stride, padding, dilation, _ = config
    x, weight = values(rng, x_shape, dtype), values(rng, w_shape, dtype)
    out_shape = reference_forward(np.zeros(x_shape), np.zeros(w_shape), None, stride, padding, dilation,
                                  groups).shape
    grad_out = values(rng, out_shape, dtype, upstream_special(special))
    # A fused activation: the backward masks grad_out by the forward's output (drawn from a pre-activation).
    kind, slope = draw("activation", KINDS), 0.1
    pre = values(rng, out_shape, np.float64)
    out = None if kind == "none" else activation_forward(kind, pre, slope).astype(dtype)
    grad_preact = activation_backward(kind, grad_out.astype(np.float64), pre, out, slope)
    expected = {name: value for name, value in
                reference_backward(grad_preact, x, weight, stride, padding, dilation, groups).items() if name in needs}
    grads = {name: poison(shape, dtype) if name in needs else None
             for name, shape in (("grad_x", x_shape), ("grad_weight", w_shape), ("grad_bias", (w_shape[0],)))}
    terms = max(x_shape[0] * out_shape[2] * out_shape[3], w_shape[0] // groups * kernel[0] * kernel[1], 1)
    return Call("conv2d_backward", ["grad_out", "x", "weight", "grad_x", "grad_weight", "grad_bias", "stride",
                                    "padding", "dilation", "groups", "out", "activation", "negative_slope"],
                [grad_out, x, weight, grads["grad_x"], grads["grad_weight"], grads["grad_bias"], stride, padding,
                 dilation, groups, out, kind, slope],
                {"grad_out": "in", "x": "in", "weight": "in", "grad_x": "opt_out", "grad_weight": "opt_out",
                 "grad_bias": "opt_out", "out": "opt_in"}, expected,
                invalid_scalars=dict(_INVALID, activation=["swish"]), scale=terms)


# ---- conv_transpose2d: the reference scatters each input element's kernel-weighted copy into the full output ----
# (kernel, stride, padding (h, w), output_padding (h, w), dilation, groups; "dw": groups = C_in): the 2x upsampling
# 3x3 with output_padding, DCGAN's 4x4 stride 2, grouped asymmetric with output_padding on one axis, a 1x1 (the
# direct GEMM path), output_padding below a dilation with stride 1, and a depthwise stride-3 2x2.
TRANSPOSE_CONFIGS = [((3, 3), (2, 2), (1, 1), (1, 1), (1, 1), 1),
                     ((4, 4), (2, 2), (1, 1), (0, 0), (1, 1), 1),
                     ((3, 2), (1, 2), (0, 1), (0, 1), (1, 1), 2),
                     ((1, 1), (1, 1), (0, 0), (0, 0), (1, 1), 1),
                     ((3, 3), (1, 1), (2, 1), (1, 0), (2, 1), 3),
                     ((2, 2), (3, 2), (0, 0), (2, 1), (1, 1), "dw")]


def transpose_output_size(size, kernel, stride, padding, output_padding, dilation):
    return (size - 1) * stride - 2 * padding + dilation * (kernel - 1) + output_padding + 1


def _transpose_slices(kh, kw, in_hw, stride, dilation):
    """The full-output rows and columns input element (i, j) meets at kernel offset (kh, kw): i * stride + kh *
    dilation (likewise for j)."""
    return (slice(kh * dilation[0], kh * dilation[0] + stride[0] * (in_hw[0] - 1) + 1, stride[0]),
            slice(kw * dilation[1], kw * dilation[1] + stride[1] * (in_hw[1] - 1) + 1, stride[1]))


def reference_transpose_forward(x, weight, bias, stride, padding, output_padding, dilation, groups):
    """conv_transpose2d in float64 from its definition: out_full[n, o, i*s + kh*d, j*s + kw*d] += x[n, c, i, j] *
    weight[c, o, kh, kw] (o within c's group), then the padding cropped from both sides of each axis."""
    x, weight = np.asarray(x, np.float64), np.asarray(weight, np.float64)
    N, C, H, W = x.shape
    _, Og, KH, KW = weight.shape
    Cg = C // groups
    out_hw = tuple(transpose_output_size(n, k, s, p, e, d) for n, k, s, p, e, d in
                   zip((H, W), (KH, KW), stride, padding, output_padding, dilation))
    full = np.zeros((N, Og * groups, out_hw[0] + 2 * padding[0], out_hw[1] + 2 * padding[1]))
    with np.errstate(all="ignore"):
        for g in range(groups):
            for kh in range(KH):
                for kw in range(KW):
                    rows, cols = _transpose_slices(kh, kw, (H, W), stride, dilation)
                    full[:, g * Og:(g + 1) * Og, rows, cols] += np.einsum(
                        "nchw,co->nohw", x[:, g * Cg:(g + 1) * Cg], weight[g * Cg:(g + 1) * Cg, :, kh, kw])
        out = full[:, :, padding[0]:padding[0] + out_hw[0], padding[1]:padding[1] + out_hw[1]]
        if bias is not None:
            out = out + np.asarray(bias, np.float64)[None, :, None, None]
    return out


def reference_transpose_backward(grad_out, x, weight, stride, padding, dilation, groups):
    """{grad_x, grad_weight, grad_bias} of conv_transpose2d in float64: each scatter of the forward read back."""
    grad_out, x = np.asarray(grad_out, np.float64), np.asarray(x, np.float64)
    weight = np.asarray(weight, np.float64)
    N, C, H, W = x.shape
    _, Og, KH, KW = weight.shape
    Cg = C // groups
    full = np.pad(grad_out, ((0, 0), (0, 0), (padding[0],) * 2, (padding[1],) * 2))
    grad_x, grad_weight = np.zeros_like(x), np.zeros_like(weight)
    with np.errstate(all="ignore"):
        for g in range(groups):
            for kh in range(KH):
                for kw in range(KW):
                    rows, cols = _transpose_slices(kh, kw, (H, W), stride, dilation)
                    patch = full[:, g * Og:(g + 1) * Og, rows, cols]
                    grad_x[:, g * Cg:(g + 1) * Cg] += np.einsum("nohw,co->nchw", patch,
                                                                weight[g * Cg:(g + 1) * Cg, :, kh, kw])
                    grad_weight[g * Cg:(g + 1) * Cg, :, kh, kw] = np.einsum("nchw,nohw->co",
                                                                            x[:, g * Cg:(g + 1) * Cg], patch)
        grad_bias = grad_out.sum(axis=(0, 2, 3))
    return {"grad_x": grad_x, "grad_weight": grad_weight, "grad_bias": grad_bias}


def _transpose_shapes(dims, config):
    """x (N, C_in, H, W) and weight (C_in, C_out/groups, KH, KW) from the drawn sizes (N, C_in/groups, H, W,
    C_out/groups); H and W raised so that the output has at least one element."""
    kernel, stride, padding, output_padding, dilation, groups = config
    N, Cg, Og = dims[0], max(dims[1], 1), max(dims[4], 1)
    if groups == "dw":
        groups, Cg = max(dims[1], 1), 1
    def out_size(hw):
        return [transpose_output_size(hw[a], kernel[a], stride[a], padding[a], output_padding[a], dilation[a])
                for a in range(2)]

    Og, hw = _fit_budget(N, Cg * groups, Og, groups, [max(dims[2 + a], 1) for a in range(2)], out_size)
    for a in range(2):
        while out_size(hw)[a] < 1:
            hw[a] += 1
    return (N, Cg * groups, *hw), (Cg * groups, Og, *kernel), groups


_TRANSPOSE_INVALID = {"stride": [(0, 1), (1, -2)], "padding": [(-1, 0), (0, -3)], "output_padding": [(7, 0), (0, -1)],
                      "dilation": [(0, 1), (1, -1)], "groups": [0, -1]}


def conv_transpose2d_forward(rng, dtype, dims, special, fixed=None):
    draw = Draw(rng, fixed)
    config = TRANSPOSE_CONFIGS[draw("config", range(len(TRANSPOSE_CONFIGS)))]
    x_shape, w_shape, groups = _transpose_shapes(dims, config)
    kernel, stride, padding, output_padding, dilation, _ = config
    x, weight = values(rng, x_shape, dtype, special), values(rng, w_shape, dtype)
    bias = values(rng, (w_shape[1] * groups,), dtype) if draw("with_bias", [True, False]) else None
    out = reference_transpose_forward(x, weight, bias, stride, padding, output_padding, dilation, groups)
    return Call("conv_transpose2d_forward", ["x", "weight", "bias", "out", "stride", "padding", "output_padding",
                                             "dilation", "groups"],
                [x, weight, bias, poison(out.shape, dtype), stride, padding, output_padding, dilation, groups],
                {"x": "in", "weight": "in", "bias": "opt_in", "out": "out"}, {"out": out},
                invalid_scalars=_TRANSPOSE_INVALID, scale=max(w_shape[0] // groups * kernel[0] * kernel[1], 1))


def conv_transpose2d_backward(rng, dtype, dims, special, fixed=None):
    draw = Draw(rng, fixed)
    config = TRANSPOSE_CONFIGS[draw("config", range(len(TRANSPOSE_CONFIGS)))]
    needs = _NEEDS[draw("needs", tuple(_NEEDS))]
    x_shape, w_shape, groups = _transpose_shapes(dims, config)
    kernel, stride, padding, output_padding, dilation, _ = config
    x, weight = values(rng, x_shape, dtype), values(rng, w_shape, dtype)
    out_shape = reference_transpose_forward(np.zeros(x_shape), np.zeros(w_shape), None, stride, padding,
                                            output_padding, dilation, groups).shape
    grad_out = values(rng, out_shape, dtype, upstream_special(special))
    expected = {name: value for name, value in
                reference_transpose_backward(grad_out, x, weight, stride, padding, dilation, groups).items()
                if name in needs}
    grads = {name: poison(shape, dtype) if name in needs else None
             for name, shape in (("grad_x", x_shape), ("grad_weight", w_shape), ("grad_bias", (out_shape[1],)))}
    terms = max(x_shape[0] * x_shape[2] * x_shape[3], out_shape[2] * out_shape[3], w_shape[1] * kernel[0] * kernel[1],
                1)
    return Call("conv_transpose2d_backward", ["grad_out", "x", "weight", "grad_x", "grad_weight", "grad_bias",
                                              "stride", "padding", "output_padding", "dilation", "groups"],
                [grad_out, x, weight, grads["grad_x"], grads["grad_weight"], grads["grad_bias"], stride, padding,
                 output_padding, dilation, groups],
                {"grad_out": "in", "x": "in", "weight": "in", "grad_x": "opt_out", "grad_weight": "opt_out",
                 "grad_bias": "opt_out"}, expected, invalid_scalars=_TRANSPOSE_INVALID, scale=terms)


SPECS = {"conv2d_forward": conv2d_forward, "conv2d_backward": conv2d_backward,
         "conv_transpose2d_forward": conv_transpose2d_forward, "conv_transpose2d_backward": conv_transpose2d_backward}
AXES = {"conv2d_forward": {"config": tuple(range(len(CONFIGS))), "activation": KINDS},
        "conv2d_backward": {"config": tuple(range(len(CONFIGS))), "needs": tuple(_NEEDS), "activation": KINDS},
        "conv_transpose2d_forward": {"config": tuple(range(len(TRANSPOSE_CONFIGS)))},
        "conv_transpose2d_backward": {"config": tuple(range(len(TRANSPOSE_CONFIGS))), "needs": tuple(_NEEDS)}}
# (N, C/groups, H, W, O/groups): one element, odd sizes, a single row or column, more images than grad_weight's
# 16 chunks, and a batch above the OpenMP threshold.
SIZES = [(1, 1, 1, 1, 1), (2, 3, 7, 5, 2), (1, 2, 1, 9, 3), (3, 1, 10, 1, 1), (19, 2, 6, 5, 3), (8, 8, 9, 8, 8)]

# ---- functional wrappers (nnx.nn.functional), gradient-checked by test_functional_gradients.py -----------------


def _same(kernel, dilation):
    """PyTorch's padding='same': dilation * (kernel - 1) in all, the odd one at the end."""
    pads = []
    for k, d in zip(kernel, dilation):
        total = d * (k - 1)
        pads += [total // 2, total - total // 2]
    return tuple(pads)


def _functional(stride, padding, dilation, groups, batched):
    def function(x, weight, bias):
        return F.conv2d(x, weight, bias, stride, padding, dilation, groups)

    def reference(x, weight, bias):
        pads = _same(weight.shape[2:], dilation) if padding == "same" else (padding[0],) * 2 + (padding[1],) * 2
        out = reference_forward(x if batched else x[None], weight, bias, stride, pads, dilation, groups)
        return out if batched else out[0]

    return function, reference


def _conv1d(x, weight, bias):
    return F.conv1d(x, weight, bias, 1, "same", 2, 1)


def _conv1d_reference(x, weight, bias):
    pads = (0, 0) + _same(weight.shape[2:], (2,))
    out = reference_forward(x[:, :, None, :], weight[:, :, None, :], bias, (1, 1), pads, (1, 2), 1)
    return out[:, :, 0, :]


def _fused(kind, slope, batched=True):
    def function(x, weight, bias):
        return F.fused_conv2d(x, weight, bias, 1, 1, 1, 1, kind, slope)

    def reference(x, weight, bias):
        out = reference_forward(x if batched else x[None], weight, bias, (1, 1), (1, 1, 1, 1), (1, 1), 1)
        out = activation_forward(kind, out, slope)
        return out if batched else out[0]

    return function, reference


def _transposed(stride, padding, output_padding, groups, dilation, batched):
    def function(x, weight, bias):
        return F.conv_transpose2d(x, weight, bias, stride, padding, output_padding, groups, dilation)

    def reference(x, weight, bias):
        out = reference_transpose_forward(x if batched else x[None], weight, bias, stride, padding, output_padding,
                                          dilation, groups)
        return out if batched else out[0]

    return function, reference


FUNCTIONAL = [
    Functional("conv2d-3x3-pad1", *_functional((1, 1), (1, 1), (1, 1), 1, True), ((2, 3, 5, 4), (4, 3, 3, 3), (4,))),
    Functional("conv2d-groups2-stride-dilation", *_functional((2, 1), (1, 2), (1, 2), 2, True),
               ((2, 4, 6, 5), (6, 2, 3, 2), (6,))),
    Functional("conv2d-same-even-kernel", *_functional((1, 1), "same", (1, 2), 1, True),
               ((1, 2, 4, 5), (3, 2, 2, 3), (3,))),
    Functional("conv2d-depthwise-CHW", *_functional((2, 2), (1, 1), (1, 1), 3, False), ((3, 5, 6), (3, 1, 3, 3), (3,))),
    Functional("conv1d-same-dilated", _conv1d, _conv1d_reference, ((2, 2, 7), (3, 2, 3), (3,))),
    Functional("fused_conv2d-relu", *_fused("relu", 0.01), ((2, 3, 5, 4), (4, 3, 3, 3), (4,))),
    Functional("fused_conv2d-leaky_relu-CHW", *_fused("leaky_relu", 0.2, batched=False), ((3, 5, 6), (2, 3, 2, 3),
                                                                                        (2,))),
    Functional("fused_conv2d-sigmoid", *_fused("sigmoid", 0.01), ((1, 2, 4, 4), (3, 2, 3, 3), (3,))),
    Functional("fused_conv2d-tanh", *_fused("tanh", 0.01), ((1, 2, 4, 4), (3, 2, 3, 3), (3,))),
    Functional("conv_transpose2d-stride2-output-padding", *_transposed((2, 2), (1, 1), (1, 1), 1, (1, 1), True),
               ((2, 3, 3, 4), (3, 2, 3, 3), (2,))),
    Functional("conv_transpose2d-groups-dilation-CHW", *_transposed((1, 2), (1, 0), (1, 0), 2, (2, 1), False),
               ((4, 3, 3), (4, 3, 3, 2), (6,))),
]
