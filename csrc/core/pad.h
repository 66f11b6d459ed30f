// pad family: reflect, replicate and circular padding of the last three dimensions (D, H, W) of x(B, D, H, W),
// forward and backward, float and double. (Constant padding is a copy into a filled array: nnx.ops.pad does it with
// slicing.) First the index arithmetic both devices compute, per padded axis: the input coordinate an output
// coordinate reads (forward), and the output coordinates that read an input coordinate (backward: a gather per
// input element, no atomics). Then the kernels' declarations for the device a translation unit is compiled for
// (nnx::NNX_DEVICE: core/device_namespace.h). Host-compiler clean. CUDA: device pointers; launchers queue on nnx's
// stream and never synchronise.
#pragma once
#include <cstdint>

#include "core/device_namespace.h"
#include "core/hd.h"

namespace nnx {

enum class PadMode : int { reflect, replicate, circular };

// One padded axis: input size, padding before and after (negative crops), as PyTorch counts them.
// reflect: x[.., -1] reads x[.., 1] (the edge is not repeated); needs before, after < size.
// replicate: the edge value repeated. circular: PyTorch's order, crop first (negative padding), then wrap around the
// cropped axis; needs before, after <= the cropped size. The output size is size + before + after (>= 0).
struct PadAxis {
  int64_t size, before, after;
  NNX_HD int64_t out_size() const { return size + before + after; }
  NNX_HD int64_t crop_begin() const { return before < 0 ? -before : 0; }
  NNX_HD int64_t cropped_size() const { return size - crop_begin() - (after < 0 ? -after : 0); }
  NNX_HD int64_t pad_begin() const { return before > 0 ? before : 0; }
};

// The input coordinate output coordinate o (in [0, out_size)) reads.
NNX_HD int64_t pad_source(const PadAxis& a, PadMode mode, int64_t o) {
  if (mode == PadMode::circular) {
    const int64_t n = a.cropped_size();
    int64_t c = o - a.pad_begin();
    if (c < 0) c += n;
    if (c >= n) c -= n;
    return a.crop_begin() + c;
  }
  int64_t i = o - a.before;
  if (mode == PadMode::replicate) return i < 0 ? 0 : (i >= a.size ? a.size - 1 : i);
  if (i < 0) i = -i;
  if (i >= a.size) i = 2 * (a.size - 1) - i;
  return i;
}

// The output coordinates that read input coordinate i: up to three ranges [first[k], last[k]] (empty ones dropped),
// in increasing order. replicate: one range (the edges take the whole padding); reflect and circular: the
// coordinate itself and at most one mirror or wrap on each side.
struct PadTargets {
  int64_t first[3], last[3];
  int count;

  NNX_HD void add(int64_t lo, int64_t hi, int64_t out_size) {
    if (lo < 0) lo = 0;
    if (hi > out_size - 1) hi = out_size - 1;
    if (lo > hi) return;
    first[count] = lo;
    last[count] = hi;
    ++count;
  }
  NNX_HD void add_point(int64_t o, int64_t lo, int64_t hi) {  // o when it lies in the region [lo, hi)
    if (o >= lo && o < hi) {
      first[count] = last[count] = o;
      ++count;
    }
  }
};

NNX_HD PadTargets pad_targets(const PadAxis& a, PadMode mode, int64_t i) {
  PadTargets t{{0, 0, 0}, {0, 0, 0}, 0};
  const int64_t out = a.out_size();
  if (mode == PadMode::replicate) {
    t.add(i == 0 ? 0 : i + a.before, i == a.size - 1 ? out - 1 : i + a.before, out);
  } else if (mode == PadMode::reflect) {
    // The regions exclude the edges, so the edge coordinates have no mirror of their own.
    t.add_point(a.before - i, 0, a.before < out ? a.before : out);          // the left mirror (i >= 1)
    t.add_point(i + a.before, 0, out);                                        // itself
    t.add_point(a.before + 2 * (a.size - 1) - i, a.before + a.size, out);    // the right mirror (i <= size - 2)
  } else {
    const int64_t n = a.cropped_size(), c = i - a.crop_begin(), begin = a.pad_begin();
    if (c < 0 || c >= n) return t;  // cropped away
    t.add_point(c + begin - n, 0, begin);         // the left wrap
    t.add_point(c + begin, 0, out);               // itself
    t.add_point(c + begin + n, begin + n, out);   // the right wrap
  }
  return t;
}

// The three padded axes of x(B, D, H, W); an axis that is not padded has before = after = 0.
struct PadGeometry {
  PadAxis d, h, w;
};

}  // namespace nnx

namespace nnx::NNX_DEVICE {

// out(B, OD, OH, OW)[b, od, oh, ow] = x(B, D, H, W)[b, pad_source(d, od), pad_source(h, oh), pad_source(w, ow)].
// The geometry must be valid for the mode (the binding checks: core's PadAxis comment). CPU: output rows split over
// threads; CUDA: one thread per output element.
template <class T>
void pad_forward(T* out, const T* x, int64_t B, const PadGeometry& geometry, PadMode mode);

// grad_in(B, D, H, W)[b, d, h, w] = the sum of grad_out(B, OD, OH, OW) over the output elements that read (d, h, w)
// (pad_targets on each axis), in double, in increasing output order: a gather per input element, no atomics, so
// results are deterministic and the same on both devices. CPU: input rows split over threads; CUDA: one thread per
// input element.
template <class T>
void pad_backward(T* grad_in, const T* grad_out, int64_t B, const PadGeometry& geometry, PadMode mode);

}  // namespace nnx::NNX_DEVICE
