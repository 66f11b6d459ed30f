// conv2d kernels over BLAS: im2col per image into a thread's own buffer, then the GEMM family's gemm per group
// (single-threaded BLAS inside nnx's OpenMP pool: core/parallel.h, cpu/gemm.cpp). The index arithmetic is
// core/conv2d.h's, shared with the CUDA kernels.
#include "core/conv2d.h"

#include <algorithm>
#include <vector>

#include "core/gemm.h"
#include "core/parallel.h"
#include "cpu/cpu_math.h"

namespace nnx::cpu {
namespace {

// Chunks the batch is summed in for grad_weight: a function of N only, so the order of the sum (and the result)
// does not depend on the thread count; enough chunks to keep 2-16 threads busy.
constexpr int64_t kWeightChunks = 16;

// Images per chunk of parallel work so that a chunk holds about kParallelGrain multiply-adds (usually 1).
inline int64_t image_grain(int64_t image_work) {
  return std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(image_work, 1));
}

// A 1x1 kernel with stride 1 and no padding reads the image itself as its column matrix.
inline bool columns_are_input(const Conv2dGeometry& g) {
  return g.KH == 1 && g.KW == 1 && g.SH == 1 && g.SW == 1 && g.PH == 0 && g.PW == 0 && g.OH == g.H && g.OW == g.W;
}

// The outputs ow of a row whose input column w = ow * SW + w_offset lies in [0, W): [*begin, *end).
inline void valid_columns(const Conv2dGeometry& g, int64_t w_offset, int64_t* begin, int64_t* end) {
  *begin = std::min<int64_t>(g.OW, std::max<int64_t>(0, (-w_offset + g.SW - 1) / g.SW));
  *end = std::max<int64_t>(*begin, std::min<int64_t>(g.OW, (g.W - w_offset + g.SW - 1) / g.SW));
}

// cols(C*KH*KW, OH*OW) of one image (C, H, W): conv2d_column_value row by row, a row segment at a time: zeros
// where the segment reads the padding, the input otherwise (a plain copy with stride 1, which the branch per
// element it replaced ran 2-3x slower than, at 16 channels of 32x32 most of the forward's time).
template <class T>
void im2col(T* cols, const T* image, const Conv2dGeometry& g) {
  const int64_t P = g.OH * g.OW;
  for (int64_t row = 0; row < g.C * g.KH * g.KW; ++row) {
    const int64_t kw = row % g.KW, kh = (row / g.KW) % g.KH, c = row / (g.KW * g.KH);
    const int64_t w_offset = kw * g.DW - g.PW;
    int64_t ow_begin, ow_end;
    valid_columns(g, w_offset, &ow_begin, &ow_end);
    T* out = cols + row * P;
    for (int64_t oh = 0; oh < g.OH; ++oh) {
      const int64_t h = oh * g.SH - g.PH + kh * g.DH;
      T* out_row = out + oh * g.OW;
      if (h < 0 || h >= g.H) {
        std::fill(out_row, out_row + g.OW, T(0));
        continue;
      }
      const T* in_row = image + (c * g.H + h) * g.W;
      std::fill(out_row, out_row + ow_begin, T(0));
      if (g.SW == 1)
        std::copy(in_row + ow_begin + w_offset, in_row + ow_end + w_offset, out_row + ow_begin);
      else
        for (int64_t ow = ow_begin; ow < ow_end; ++ow) out_row[ow] = in_row[ow * g.SW + w_offset];
      std::fill(out_row + ow_end, out_row + g.OW, T(0));
    }
  }
}

// image(C, H, W) = the column gradient cols(C*KH*KW, OH*OW) added back onto the input elements each column entry
// read: a scatter in row order (c, kh, kw), so that every input element receives its terms from zero in (kh, kw)
// order: bit for bit core/conv2d.h's conv2d_input_grad gather (what CUDA runs), without its division and modulo
// per element and tap (the gather ran at 6 GFLOP/s for a stride-2 3x3 at 16 -> 32 channels, 48 ms of a ResNet-20
// step's input gradients; this, 4x faster). One image per thread: no races.
template <class T>
void col2im(T* image, const T* cols, const Conv2dGeometry& g) {
  const int64_t P = g.OH * g.OW;
  std::fill(image, image + g.C * g.H * g.W, T(0));
  for (int64_t row = 0; row < g.C * g.KH * g.KW; ++row) {
    const int64_t kw = row % g.KW, kh = (row / g.KW) % g.KH, c = row / (g.KW * g.KH);
    const int64_t w_offset = kw * g.DW - g.PW;  // w = ow * SW + w_offset
    int64_t ow_begin, ow_end;
    valid_columns(g, w_offset, &ow_begin, &ow_end);
    const T* source = cols + row * P;
    for (int64_t oh = 0; oh < g.OH; ++oh) {
      const int64_t h = oh * g.SH - g.PH + kh * g.DH;
      if (h < 0 || h >= g.H) continue;
      T* target = image + (c * g.H + h) * g.W;
      const T* source_row = source + oh * g.OW;
      for (int64_t ow = ow_begin; ow < ow_end; ++ow) target[ow * g.SW + w_offset] += source_row[ow];
    }
  }
}

// grad_x(N, C, H, W) = conv2d's input gradient of grad_out(N, O, OH, OW), plus bias[c] (may be null) added after
// the sum: weight^T @ grad_out per image and group into the thread's columns, then col2im. conv2d's backward and
// conv_transpose2d's forward.
template <class T>
void input_gradient(T* grad_x, const T* grad_out, const T* weight, const T* bias, int64_t N, const Conv2dGeometry& g) {
  const int64_t P = g.OH * g.OW, Og = g.O / g.G, K = (g.C / g.G) * g.KH * g.KW, plane = g.H * g.W;
  if (N == 0 || g.C * plane == 0) return;
  const bool direct = columns_are_input(g);
  parallel_for(N, image_grain(g.O * P * K), [&](int64_t begin, int64_t end) {
    std::vector<T> cols(direct ? 0 : static_cast<size_t>(g.C * g.KH * g.KW * P));
    for (int64_t n = begin; n < end; ++n) {
      const T* grad_n = grad_out + n * g.O * P;
      T* grad_image = grad_x + n * g.C * plane;
      // With a direct (1x1) kernel the column gradient is the input gradient itself.
      T* target = direct ? grad_image : cols.data();
      for (int64_t group = 0; group < g.G; ++group)
        gemm<T>(true, false, K, P, Og, T(1), weight + group * Og * K, grad_n + group * Og * P, T(0),
                target + group * K * P);
      if (direct) {
        if (bias)
          for (int64_t c = 0; c < g.C; ++c)
            for (int64_t i = 0; i < plane; ++i) grad_image[c * plane + i] += bias[c];
        continue;
      }
      col2im(grad_image, cols.data(), g);
      if (bias)
        for (int64_t c = 0; c < g.C; ++c)
          for (int64_t i = 0; i < plane; ++i) grad_image[c * plane + i] += bias[c];
    }
  });
}

}  // namespace

template <class T>
void conv2d_forward(T* out, const T* x, const T* weight, const T* bias, int64_t N, const Conv2dGeometry& g,
                    Activation activation, const ActivationParams<T>& params) {
  const ActivationParams<T> p = params;
  const int64_t P = g.OH * g.OW, Cg = g.C / g.G, Og = g.O / g.G, K = Cg * g.KH * g.KW;
  if (N == 0 || P == 0 || g.O == 0) return;
  const bool direct = columns_are_input(g);
  parallel_for(N, image_grain(g.O * P * K), [&](int64_t begin, int64_t end) {
    std::vector<T> buffer(direct ? 0 : static_cast<size_t>(g.C * g.KH * g.KW * P));
    for (int64_t n = begin; n < end; ++n) {
      const T* image = x + n * g.C * g.H * g.W;
      if (!direct) im2col(buffer.data(), image, g);
      const T* cols = direct ? image : buffer.data();
      T* out_n = out + n * g.O * P;
      for (int64_t o = 0; o < g.O; ++o) std::fill(out_n + o * P, out_n + (o + 1) * P, bias ? bias[o] : T(0));
      for (int64_t group = 0; group < g.G; ++group)
        gemm<T>(false, false, Og, P, K, T(1), weight + group * Og * K, cols + group * K * P, T(1),
                out_n + group * Og * P);
      // The fused activation, on the image's output while it is in this thread's cache.
      if (activation != Activation::none)
        with_activation(activation, [&](auto op) {
          using Op = decltype(op);
#pragma omp simd
          for (int64_t i = 0; i < g.O * P; ++i) out_n[i] = Op::forward(out_n[i], p);
        });
    }
  });
}

namespace {

// With stride 1 and one group, conv2d's input gradient is itself a convolution: grad_out convolved with the weight
// flipped in space and with its input and output channels swapped, padded by DH*(KH-1)-PH on top and DW*(KW-1)-PW
// on the left (the bottom/right follow from the sizes). Running it through conv2d_forward (im2col + one GEMM per
// image) measured 2-3x faster than the GEMM + col2im gather (N=128, C=16, 32x32, 3x3: 36 -> 13 ms).
template <class T>
void input_gradient_by_convolution(T* grad_x, const T* grad_out, const T* weight, int64_t N,
                                   const Conv2dGeometry& g) {
  std::vector<T> flipped(static_cast<size_t>(g.C * g.O * g.KH * g.KW));
  for (int64_t o = 0; o < g.O; ++o)
    for (int64_t c = 0; c < g.C; ++c)
      for (int64_t kh = 0; kh < g.KH; ++kh)
        for (int64_t kw = 0; kw < g.KW; ++kw)
          flipped[((c * g.O + o) * g.KH + (g.KH - 1 - kh)) * g.KW + (g.KW - 1 - kw)] =
              weight[((o * g.C + c) * g.KH + kh) * g.KW + kw];
  const Conv2dGeometry t{g.O, g.OH, g.OW, g.C, g.H, g.W, g.KH, g.KW, 1, 1,
                         g.DH * (g.KH - 1) - g.PH, g.DW * (g.KW - 1) - g.PW, g.DH, g.DW, 1};
  conv2d_forward(grad_x, grad_out, flipped.data(), static_cast<const T*>(nullptr), N, t, Activation::none,
                 ActivationParams<T>{});
}

}  // namespace

template <class T>
void conv2d_backward(T* grad_x, T* grad_weight, T* grad_bias, const T* grad_out, const T* x, const T* weight,
                     int64_t N, const Conv2dGeometry& g, const T* out, Activation activation,
                     const ActivationParams<T>& params) {
  const int64_t P = g.OH * g.OW, Cg = g.C / g.G, Og = g.O / g.G, K = Cg * g.KH * g.KW;
  std::vector<T> masked;  // grad_out * act'(out) when an activation was fused into the forward
  if (activation != Activation::none) {
    masked.resize(static_cast<size_t>(N * g.O * P));
    const ActivationParams<T> p = params;
    with_activation(activation, [&](auto op) {
      using Op = decltype(op);
      parallel_for(N * g.O * P, kParallelGrain, [&](int64_t begin, int64_t end) {
#pragma omp simd
        for (int64_t i = begin; i < end; ++i) masked[i] = Op::backward(grad_out[i], out[i], p);
      });
    });
    grad_out = masked.data();
  }
  const int64_t plane = g.H * g.W, rows = g.C * g.KH * g.KW;
  const bool direct = columns_are_input(g);
  if (grad_bias) conv2d_bias_grad(grad_bias, grad_out, N, g.O, P);
  if (grad_x) {
    if (g.SH == 1 && g.SW == 1 && g.G == 1 && !direct && N > 0 && g.C * plane > 0)
      input_gradient_by_convolution(grad_x, grad_out, weight, N, g);
    else
      input_gradient(grad_x, grad_out, weight, static_cast<const T*>(nullptr), N, g);
  }
  if (grad_weight) {
    const int64_t weight_size = g.O * K;
    if (N == 0) {
      std::fill(grad_weight, grad_weight + weight_size, T(0));
      return;
    }
    const int64_t chunks = std::min(N, kWeightChunks);
    // Chunk 0 writes grad_weight itself; the others their own partial sums, added in chunk order below.
    std::vector<T> partials(static_cast<size_t>((chunks - 1) * weight_size));
    parallel_for(chunks, 1, [&](int64_t begin, int64_t end) {
      std::vector<T> buffer(direct ? 0 : static_cast<size_t>(rows * P));
      for (int64_t chunk = begin; chunk < end; ++chunk) {
        T* sum = chunk == 0 ? grad_weight : partials.data() + (chunk - 1) * weight_size;
        const int64_t first = chunk * N / chunks, last = (chunk + 1) * N / chunks;
        for (int64_t n = first; n < last; ++n) {
          const T* image = x + n * g.C * plane;
          if (!direct) im2col(buffer.data(), image, g);
          const T* cols = direct ? image : buffer.data();
          const T* grad_n = grad_out + n * g.O * P;
          for (int64_t group = 0; group < g.G; ++group)
            gemm<T>(false, true, Og, K, P, T(1), grad_n + group * Og * P, cols + group * K * P,
                    n == first ? T(0) : T(1), sum + group * Og * K);
        }
      }
    });
    if (chunks > 1) {
      parallel_for(weight_size, kParallelGrain, [&](int64_t begin, int64_t end) {
        for (int64_t chunk = 1; chunk < chunks; ++chunk) {
          const T* part = partials.data() + (chunk - 1) * weight_size;
          for (int64_t i = begin; i < end; ++i) grad_weight[i] += part[i];
        }
      });
    }
  }
}

template <class T>
void conv2d_bias_grad(T* grad_bias, const T* grad_out, int64_t N, int64_t O, int64_t P) {
  parallel_for(O, image_grain(N * P), [&](int64_t begin, int64_t end) {
    for (int64_t o = begin; o < end; ++o) {
      T sum = T(0);
      for (int64_t n = 0; n < N; ++n) {
        const T* row = grad_out + (n * O + o) * P;
        for (int64_t p = 0; p < P; ++p) sum += row[p];
      }
      grad_bias[o] = sum;
    }
  });
}

template <class T>
void conv_transpose2d_forward(T* out, const T* x, const T* weight, const T* bias, int64_t N,
                              const Conv2dGeometry& g) {
  input_gradient(out, x, weight, bias, N, g);
}

template <class T>
void conv_transpose2d_backward(T* grad_x, T* grad_weight, T* grad_bias, const T* grad_out, const T* x,
                               const T* weight, int64_t N, const Conv2dGeometry& g) {
  if (grad_bias) conv2d_bias_grad(grad_bias, grad_out, N, g.C, g.H * g.W);
  if (grad_x) conv2d_forward(grad_x, grad_out, weight, static_cast<const T*>(nullptr), N, g);
  // conv2d's grad_weight with the roles swapped: x is the convolution's output gradient, grad_out its input.
  if (grad_weight) conv2d_backward(static_cast<T*>(nullptr), grad_weight, static_cast<T*>(nullptr), x, grad_out,
                                   weight, N, g);
}

template void conv2d_forward<float>(float*, const float*, const float*, const float*, int64_t,
                                    const Conv2dGeometry&, Activation, const ActivationParams<float>&);
template void conv2d_forward<double>(double*, const double*, const double*, const double*, int64_t,
                                     const Conv2dGeometry&, Activation, const ActivationParams<double>&);
template void conv2d_backward<float>(float*, float*, float*, const float*, const float*, const float*, int64_t,
                                     const Conv2dGeometry&, const float*, Activation,
                                     const ActivationParams<float>&);
template void conv2d_backward<double>(double*, double*, double*, const double*, const double*, const double*,
                                      int64_t, const Conv2dGeometry&, const double*, Activation,
                                      const ActivationParams<double>&);

#define NNX_CONV_TRANSPOSE2D_INSTANCES(T)                                                                      \
  template void conv2d_bias_grad<T>(T*, const T*, int64_t, int64_t, int64_t);                                  \
  template void conv_transpose2d_forward<T>(T*, const T*, const T*, const T*, int64_t, const Conv2dGeometry&); \
  template void conv_transpose2d_backward<T>(T*, T*, T*, const T*, const T*, const T*, int64_t,               \
                                             const Conv2dGeometry&);
NNX_CONV_TRANSPOSE2D_INSTANCES(float)
NNX_CONV_TRANSPOSE2D_INSTANCES(double)
#undef NNX_CONV_TRANSPOSE2D_INSTANCES

}  // namespace nnx::cpu
