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

/* Whether ck_conv2d_nhwc_f32 runs on this CPU (AVX-512 or AVX2 + FMA;
 * otherwise the caller keeps its im2col path). */
int ck_conv2d_nhwc_f32_available(void);

/* Whether it runs for inputs of c channels: the AVX2 tiles (16 registers)
 * stream the kernel from L2 and lose to im2col + GEMM past 64 channels
 * (measured on Zen 4 with the AVX2 path forced, whole Conv2D calls: 1
 * channel +20%, 3 to 64 channels within 1%, 128 channels -10%). */
int ck_conv2d_nhwc_f32_runs(int64_t c);

/* Whether the AVX-512 kernels run (the Winograd and the Conv2D + pooling
 * paths need them). */
int ck_conv2d_nhwc_avx512_available(void);

/* out (batch, oh, ow, f) = epilogue(conv(x (batch, h, w, c), kernel (kh,
 * kw, c, f))) with zero padding; every element of out is written.  Runs
 * on the thread pool, split over output positions; the result does not
 * depend on the thread count nor on the vector width.  Returns 0 (nothing
 * written) when the CPU lacks the kernels. */
int ck_conv2d_nhwc_f32(const ck_conv_nhwc *g, const float *x, const float *kernel, const ck_conv_epilogue *e,
                       float *out);

/* The positions [p0, p1) of the flattened (batch, oh, ow) grid, position
 * p0's outputs at `out`, with AVX-512 (conv_kernels_avx512.c) or AVX2
 * (conv_kernels_avx2.c) tiles (conv_tiles.h). */
void ck_conv2d_nhwc_f32_avx512(const ck_conv_nhwc *g, const float *x, const float *kernel,
                               const ck_conv_epilogue *e, float *out, int64_t p0, int64_t p1);
void ck_conv2d_nhwc_f32_avx2(const ck_conv_nhwc *g, const float *x, const float *kernel, const ck_conv_epilogue *e,
                             float *out, int64_t p0, int64_t p1);

/* Positions per register tile of those kernels for f filters: parts of a
 * split are multiples of it. */
int64_t ck_conv2d_nhwc_tile_rows_avx512(int64_t f);
int64_t ck_conv2d_nhwc_tile_rows_avx2(int64_t f);

/* C(M,N) = A(M,K) B(K,N), row-major with leading dimensions, through the
 * same register tiles (conv_kernels_avx512.c; AVX-512 only): the
 * per-frequency products of the Winograd convolution. */
void ck_sgemm_rows_avx512(int64_t M, int64_t N, int64_t K, const float *a, int64_t lda, const float *b, int64_t ldb,
                          float *c, int64_t ldc);

/* Winograd F(2x2, 3x3) (conv_winograd.c): for a 3x3 kernel, stride 1,
 * dilation 1 and at least 8 input channels, the same convolution with
 * 2.25 times fewer multiplications (16 products per 2x2 output tile
 * instead of 36), exact transforms (their factors are 0, +-1, +-1/2).
 * The working memory it needs, in floats (0: does not apply to this
 * geometry on this CPU; it does not depend on ck_bd_path, so memory
 * planned while a test switched the kernels off is still enough); */
int64_t ck_conv2d_winograd_floats(const ck_conv_nhwc *g);

/* and the convolution, as ck_conv2d_nhwc_f32, with that many floats of
 * scratch.  Returns 0 (nothing written) when it does not apply or the
 * kernels are switched off. */
int ck_conv2d_winograd_f32(const ck_conv_nhwc *g, const float *x, const float *kernel, const ck_conv_epilogue *e,
                           float *out, float *scratch);

/* The same followed by a 2x2, stride 2, "valid" max pooling (a Winograd
 * tile is one pooling window): out is (batch, oh / 2, ow / 2, f). */
int ck_conv2d_winograd_pool_f32(const ck_conv_nhwc *g, const float *x, const float *kernel,
                                const ck_conv_epilogue *e, float *out, float *scratch);

/* ---- Conv2D followed by MaxPooling2D (conv_pool.c) ---------------------- */

#include "ops/pool_kernels.h"

/* Whether ck_conv2d_pool_nhwc_f32 runs this pair (p: the pooling of the
 * convolution's output). */
int ck_conv2d_pool_fusable(const ck_conv_nhwc *g, const ck_pool_nhwc *p);

/* y (batch, p->oh, p->ow, f) = max pooling p of epilogue(conv(x)), without
 * storing the convolution's output: the Winograd kernels pool their 2x2
 * tiles when the pooling is 2x2 / 2 "valid" and `scratch` holds
 * ck_conv2d_winograd_floats (may be NULL); otherwise each thread computes
 * the convolution rows of one pooled row into a band on its stack and
 * pools them.  Returns 0 (nothing written) when not fusable. */
int ck_conv2d_pool_nhwc_f32(const ck_conv_nhwc *g, const float *x, const float *kernel, const ck_conv_epilogue *e,
                            const ck_pool_nhwc *p, float *y, float *scratch);

#endif
