/* Vector max pooling of channels_last float32 data (pool_kernels.c).
 * Internal.  The layer's loops compare one scalar at a time under a NaN
 * test the compiler cannot vectorise; here a window's pixels are combined
 * 16 channels at a time with the same rule, so results are bit-identical. */
#ifndef CK_POOL_KERNELS_H
#define CK_POOL_KERNELS_H

#include <stdint.h>

/* Sizes: batch, input h, w, channels c, output oh, ow, window kh x kw,
 * strides, padding before (padded pixels never win). */
typedef struct ck_pool_nhwc {
    int64_t batch, h, w, c, oh, ow, kh, kw, sh, sw, ph, pw;
} ck_pool_nhwc;

/* y (batch, oh, ow, c) = the maximum of each window of x (batch, h, w, c)
 * clipped to the input, a NaN winning once seen (numpy's max; the last
 * NaN in window order is kept).  Runs on the thread pool over output rows.
 * Returns 0, writing nothing, when the CPU lacks AVX-512. */
int ck_maxpool_nhwc_f32(const ck_pool_nhwc *g, const float *x, float *y);

#endif
