/* Direct (implicit-GEMM) float32 2-D convolution of channels_last data
 * (conv_kernels.c, conv_kernels_avx512.c).  Internal.
 *
 * Why not im2col + GEMM: at the sizes of small image models (MNIST's 3x3
 * convolutions over 26x26x32) unrolling the patches and a BLAS call cost
 * as much as the arithmetic.  Here each register tile of output positions
 * x filters reads its patches straight from the input (a patch row of kw
 * pixels is one contiguous run of kw*C floats) against the kernel in its
 * stored (kh, kw, C, F) order, so nothing is packed, no scratch is needed,
 * and bias, a folded BatchNormalization and ReLU are applied to the
 * registers before the single store. */
#ifndef CK_CONV_KERNELS_H
#define CK_CONV_KERNELS_H

#include <stdint.h>

/* One call's sizes: batch, input h, w, c, output oh, ow, filters f,
 * kernel kh x kw, strides, dilation, the padding before (top, left). */
typedef struct ck_conv_nhwc {
    int64_t batch, h, w, c, oh, ow, f;
    int64_t kh, kw, sh, sw, dh, dw, ph, pw;
} ck_conv_nhwc;

/* What is done to each sum s of output position p, filter j, before it is
 * stored: s += bias[j] (bias may be NULL); then s = s * scale[j] +
 * shift[j] when scale is not NULL (a folded BatchNormalization); then
 * s = max(s, 0) when relu. */
typedef struct ck_conv_epilogue {
    const float *bias, *scale, *shift;
    int relu;
} ck_conv_epilogue;

/* Whether ck_conv2d_nhwc_f32 runs on this CPU (AVX-512 today; otherwise
 * the caller keeps its im2col path). */
int ck_conv2d_nhwc_f32_available(void);

/* out (batch, oh, ow, f) = epilogue(conv(x (batch, h, w, c), kernel (kh,
 * kw, c, f))) with zero padding; every element of out is written.  Runs
 * on the thread pool, split over output positions; the result does not
 * depend on the thread count.  Returns 0 (nothing written) when the CPU
 * lacks the kernels. */
int ck_conv2d_nhwc_f32(const ck_conv_nhwc *g, const float *x, const float *kernel, const ck_conv_epilogue *e,
                       float *out);

/* The AVX-512 positions [p0, p1) of the flattened (batch, oh, ow) grid
 * (conv_kernels_avx512.c). */
void ck_conv2d_nhwc_f32_avx512(const ck_conv_nhwc *g, const float *x, const float *kernel,
                               const ck_conv_epilogue *e, float *out, int64_t p0, int64_t p1);

/* Positions per register tile of the AVX-512 kernels for f filters: parts
 * of a split are multiples of it. */
int64_t ck_conv2d_nhwc_tile_rows(int64_t f);

#endif
