// 2-D convolution (PyTorch's conv2d: cross-correlation over NCHW, stride, zero padding, dilation, groups), forward
// and backward, for float and double. First the index arithmetic shared by the CPU (cpu/conv2d.cpp) and CUDA
// (cuda/conv2d.cu) kernels: the output size, the im2col element and the col2im gather, so both devices build the
// same column matrices and sum the same terms in the same order; then the kernels' declarations, once for the
// device a translation unit is compiled for (nnx::NNX_DEVICE: core/device_namespace.h). Host-compiler clean.
#pragma once
#include <cstdint>

#include "core/activations.h"
#include "core/device_namespace.h"
#include "core/hd.h"

namespace nnx {

// The sizes of one convolution of an image: input channels C and plane (H, W), output channels O and plane
// (OH, OW), kernel, stride, the top/left padding (PH, PW; the bottom/right padding only enters OH and OW, so
// PyTorch's asymmetric padding='same' is one more output-size term) and dilation, and the groups G (C and O are
// multiples of G; group g maps input channels [g*C/G, (g+1)*C/G) to output channels [g*O/G, (g+1)*O/G)).
struct Conv2dGeometry {
  int64_t C, H, W, O, OH, OW;
  int64_t KH, KW, SH, SW, PH, PW, DH, DW, G;
};

// floor(a / b) for b > 0 (C++ division truncates toward 0).
NNX_HD int64_t conv_floor_div(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

// PyTorch's convolution output size along one axis: windows of the effective size dilation * (kernel - 1) + 1
// stepping by stride over the input padded by pad_begin and pad_end. May be < 1 (the binding refuses that).
NNX_HD int64_t conv_output_size(int64_t input, int64_t kernel, int64_t stride, int64_t pad_begin, int64_t pad_end,
                                int64_t dilation) {
  return conv_floor_div(input + pad_begin + pad_end - dilation * (kernel - 1) - 1, stride) + 1;
}

// Element (row, p) of an image's column matrix cols(C*KH*KW, OH*OW): row = (c * KH + kh) * KW + kw, p = oh * OW +
// ow, the input element x[c, oh*SH - PH + kh*DH, ow*SW - PW + kw*DW] of the image (C, H, W), 0 in the padding.
// The rows of group g are the contiguous block [g*(C/G)*KH*KW, (g+1)*(C/G)*KH*KW).
template <class T>
NNX_HD T conv2d_column_value(const T* image, const Conv2dGeometry& g, int64_t row, int64_t p) {
  const int64_t kw = row % g.KW, kh = (row / g.KW) % g.KH, c = row / (g.KW * g.KH);
  const int64_t h = (p / g.OW) * g.SH - g.PH + kh * g.DH, w = (p % g.OW) * g.SW - g.PW + kw * g.DW;
  return h >= 0 && h < g.H && w >= 0 && w < g.W ? image[(c * g.H + h) * g.W + w] : T(0);
}

// The gradient of input element (c, h, w) of an image from the column gradient cols(C*KH*KW, OH*OW): the sum of
// the column entries that read (h, w), kernel offsets in row-major (kh, kw) order. A gather per input element: no
// atomics, the same terms in the same order on both devices.
template <class T>
NNX_HD T conv2d_input_grad(const T* cols, const Conv2dGeometry& g, int64_t c, int64_t h, int64_t w) {
  const int64_t P = g.OH * g.OW;
  T sum = T(0);
  for (int64_t kh = 0; kh < g.KH; ++kh) {
    const int64_t th = h + g.PH - kh * g.DH;  // = oh * SH for the output row oh that reads h at offset kh
    if (th < 0) break;                         // th only decreases with kh
    if (th % g.SH != 0 || th / g.SH >= g.OH) continue;
    const int64_t oh = th / g.SH;
    for (int64_t kw = 0; kw < g.KW; ++kw) {
      const int64_t tw = w + g.PW - kw * g.DW;
      if (tw < 0) break;
      if (tw % g.SW != 0 || tw / g.SW >= g.OW) continue;
      sum += cols[((c * g.KH + kh) * g.KW + kw) * P + oh * g.OW + tw / g.SW];
    }
  }
  return sum;
}

}  // namespace nnx

namespace nnx::NNX_DEVICE {

// out(N, O, OH, OW) = act(conv2d(x(N, C, H, W), weight(O, C/G, KH, KW)) + bias(O)) (bias may be null), sizes in
// g. The bias is written first and the GEMM adds onto it (beta = 1); the activation (none, relu, leaky_relu,
// sigmoid, tanh: those whose derivative reads the output, as linear's fused ones) is applied to the image's output
// right after its GEMMs, while it is in cache. No argument may overlap another. Per image and group: im2col into a
// column buffer (skipped for a 1x1, stride-1, unpadded kernel), then out[n, group] (+)= weight[group] @
// cols[group]. CPU: images split over threads, each with its own buffer and a single-threaded BLAS GEMM (one image:
// the GEMM splits). CUDA: an im2col kernel and cuBLAS per image and group, then one activation pass.
template <class T>
void conv2d_forward(T* out, const T* x, const T* weight, const T* bias, int64_t N, const Conv2dGeometry& g,
                    Activation activation = Activation::none, const ActivationParams<T>& params = {});

// The gradients of conv2d_forward, each skipped when null and otherwise overwritten:
//   grad_x(N, C, H, W)          weight[group]^T @ grad_out[n, group] into columns, then the col2im gather
//                               (conv2d_input_grad): deterministic. CPU: the same sums in the same order as a
//                               scatter (cpu/conv2d.cpp's col2im), or, with stride 1 and one group, as a
//                               convolution of grad_out with the flipped weight.
//   grad_weight(O, C/G, KH, KW)  sum over the batch of grad_out[n, group] @ cols[n, group]^T. CPU: the batch in a
//                               fixed number of chunks (a function of N only), each chunk summed in image order
//                               with single-threaded BLAS, the chunks then added in order: the result does not
//                               depend on the thread count. CUDA: images in order, cuBLAS with beta = 1.
//   grad_bias(O)                sum of grad_out over the batch and the plane, per channel, in index order.
// x is read only for grad_weight, weight only for grad_x. No atomics on either device. With an activation, grad_out
// is first masked by the forward's output `out` (grad_out * act'(out), as linear's backward; into a scratch buffer)
// and the three gradients are taken of that; out is read only then (may be null for none).
template <class T>
void conv2d_backward(T* grad_x, T* grad_weight, T* grad_bias, const T* grad_out, const T* x, const T* weight,
                     int64_t N, const Conv2dGeometry& g, const T* out = nullptr,
                     Activation activation = Activation::none, const ActivationParams<T>& params = {});

// grad_bias(O) = the sum of grad_out(N, O, P) over the batch and the plane, per channel, in index order (conv2d's
// grad_bias; conv_transpose2d's with its own channels and plane).
template <class T>
void conv2d_bias_grad(T* grad_bias, const T* grad_out, int64_t N, int64_t O, int64_t P);

// Transposed convolution (PyTorch's conv_transpose2d): the adjoint of conv2d_forward. g is the geometry of the
// convolution it transposes: conv2d of the transposed convolution's output (N, C, H, W) with weight (O, C/G, KH,
// KW) -- PyTorch's transposed layout (in_channels, out_channels/groups, kH, kW) -- gives its input (N, O, OH, OW).
// So its forward is conv2d's input gradient (weight^T @ x into columns, then the col2im gather, deterministic) with
// bias(C) (may be null) added in the gather's pass: out(N, C, H, W) = conv2d's grad_x(x, weight) + bias.
// OH and OW are the input's size (given, not derived: an output_padding >= stride is legal with dilation).
template <class T>
void conv_transpose2d_forward(T* out, const T* x, const T* weight, const T* bias, int64_t N,
                              const Conv2dGeometry& g);

// The gradients of conv_transpose2d_forward, each skipped when null and otherwise overwritten, from conv2d's
// kernels: grad_x(N, O, OH, OW) = conv2d_forward(grad_out, weight) (no bias); grad_weight(O, C/G, KH, KW) =
// conv2d's grad_weight with x as the output gradient and grad_out as the input (the batch summed in conv2d's
// fixed order); grad_bias(C) = conv2d_bias_grad over grad_out. Deterministic, no atomics.
template <class T>
void conv_transpose2d_backward(T* grad_x, T* grad_weight, T* grad_bias, const T* grad_out, const T* x,
                               const T* weight, int64_t N, const Conv2dGeometry& g);

}  // namespace nnx::NNX_DEVICE
