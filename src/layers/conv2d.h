/* Conv2D's layer struct and the pieces its forward pass (conv2d.c) and its
 * training hooks (conv2d_grad.c) share: the geometry of one call, im2col,
 * the GEMM wrapper and the chunking of the im2col scratch.  Internal. */
#ifndef CK_CONV2D_H
#define CK_CONV2D_H

#include "layers/conv_utils.h"
#include "layers/kernel_params.h"

/* Elements of im2col scratch per chunk (4 MiB of float32): large enough
 * for BLAS to run at full speed, small enough for any image size. */
#define CK_CONV_SCRATCH_ELEMS ((int64_t)1 << 20)

typedef struct ck_conv2d_layer {
    ck_layer base;
    int64_t filters, groups;
    int64_t kernel_size[2], strides[2], dilation[2];
    int same, channels_first, use_bias;
    int64_t in_channels; /* known once built */
    ck_kernel_params params;
    ck_weight *kernel, *bias;
} ck_conv2d_layer;

/* One call's sizes: batch (every dim before the image), input h, w, c,
 * output oh, ow, filters f, kernel, strides, dilation, padding before, and
 * the element size. */
typedef struct ck_conv_geom {
    int64_t batch, h, w, c, oh, ow, f;
    int64_t kh, kw, sh, sw, dh, dw, ph, pw;
    size_t es;
} ck_conv_geom;

/* Axes of rows, cols and channels for an input of rank r (rank >= 4; the
 * dims before them are batch dims). */
static inline void ck_conv2d_axes(int channels_first, int r, int *hi, int *wi, int *ci)
{
    *hi = channels_first ? r - 2 : r - 3;
    *wi = *hi + 1;
    *ci = channels_first ? r - 3 : r - 1;
}

/* The geometry of a call with these input and output shapes. */
ck_conv_geom ck_conv2d_geometry(const ck_conv2d_layer *c, const ck_shape *in, const ck_shape *out, ck_dtype dt);

/* 1 for a 1x1 kernel with stride 1: the input is the im2col matrix. */
int ck_conv2d_is_direct(const ck_conv_geom *g);

/* Output positions per im2col chunk (rows of kh*kw*c elements): of the
 * flattened (batch, oh, ow) grid for channels_last, of one image's (oh, ow)
 * grid for channels_first. */
int64_t ck_conv2d_chunk(const ck_conv_geom *g, int channels_first);

/* channels_last: rows r = positions p0 + r of the flattened (batch, oh, ow)
 * grid, each row (kh, kw, C) in the kernel's order; outside the input is 0. */
void ck_conv2d_im2col_last(const ck_conv_geom *g, const char *x, char *cols, int64_t p0, int64_t np);

/* channels_first, one image xb (C, h, w): column r = position p0 + r of
 * the (oh, ow) grid, row (ky * kw + kx) * C + c as in the kernel. */
void ck_conv2d_im2col_first(const ck_conv_geom *g, const char *xb, char *cols, int64_t p0, int64_t np);

/* C = op(A) . op(B) + beta C, row-major through CBLAS; op transposes when
 * trans_a / trans_b. */
void ck_conv2d_gemm(ck_dtype dt, int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, const void *a, int64_t lda,
                    const void *b, int64_t ldb, double beta, void *c, int64_t ldc);

/* conv(x, kernel) + bias into out (already shaped), before the activation.
 * `scratch` holds ck_conv2d_chunk(...) * kh*kw*c elements, or is NULL to
 * allocate it for the call (inference). */
ck_status ck_conv2d_preactivation(const ck_conv2d_layer *c, const ck_tensor *x, ck_tensor *out, void *scratch);

/* The whole inference call (activation included) through the direct
 * float32 channels_last kernels (conv2d_fast.c), with a BatchNormalization
 * folded in when scale is not NULL (each sum + bias becomes s * scale +
 * shift; only for a linear Conv2D).  `scratch` (may be NULL) holds
 * ck_conv2d_direct_scratch_bytes for the Winograd kernels.  *done is 0, and nothing is written,
 * when they do not apply (dtype, data format, groups, CPU): the caller
 * then takes the im2col path. */
ck_status ck_conv2d_call_direct(const ck_conv2d_layer *c, const ck_tensor *x, ck_tensor *out, const float *scale,
                                const float *shift, void *scratch, int *done);

/* The scratch that lets ck_conv2d_call_direct take the Winograd kernels
 * for these shapes (0: they do not apply; NULL scratch then suffices). */
size_t ck_conv2d_direct_scratch_bytes(const ck_conv2d_layer *c, const ck_shape *in, const ck_shape *out);

/* A training step's input gradient dx (batch, h, w, channels) of dz
 * (batch, oh, ow, filters) through the same kernels (conv2d_fast.c):
 * with strides and dilation 1 it is the convolution of dz with the kernel
 * turned half a turn, its channel axes swapped (written into `turned`,
 * kh kw C F floats), padded by kh - 1 - the forward padding.  Float32,
 * channels_last, one group; `scratch` (may be NULL) holds
 * ck_conv2d_input_grad_scratch_bytes for the Winograd kernels.  dx is
 * written whole.  Returns 0, nothing written, when they do not apply. */
int ck_conv2d_input_grad_direct(const ck_conv2d_layer *c, const ck_shape *in, const ck_shape *out, const float *dz,
                                float *dx, float *turned, void *scratch);
size_t ck_conv2d_input_grad_scratch_bytes(const ck_conv2d_layer *c, const ck_shape *in, const ck_shape *out);

/* Whether a MaxPooling2D `pool` reading this Conv2D's output (shape
 * `out`, input shape `in`) can be computed in the same pass
 * (conv2d_fast.c): float32 channels_last, a linear or ReLU activation,
 * and kernels that run here. */
int ck_conv2d_pool_foldable(const ck_conv2d_layer *c, const ck_layer *pool, const ck_shape *in, const ck_shape *out);

/* Writes pool(activation(conv(x) + bias)) at the start of `out` (the
 * Conv2D's output buffer, shaped as the convolution's output: the pooled
 * values are fewer).  `scratch`: ck_conv2d_direct_scratch_bytes or NULL.
 * *done is 0, nothing written, when the kernels do not apply. */
ck_status ck_conv2d_call_pooled(const ck_conv2d_layer *c, const ck_layer *pool, const ck_tensor *x, ck_tensor *out,
                                void *scratch, int *done);

/* The training hooks (conv2d_grad.c). */
size_t ck_conv2d_saved_bytes(const ck_layer *layer, int n, const ck_shape *in, const ck_shape *out);
ck_status ck_conv2d_train_call(ck_layer *layer, const ck_train_ctx *ctx, int n, const ck_tensor *const *in,
                               ck_tensor *const *out, void *saved);
ck_status ck_conv2d_backward(ck_layer *layer, const ck_train_ctx *ctx, int n, const ck_tensor *const *in,
                             const ck_tensor *out, const ck_tensor *dout, void *saved, ck_tensor *const *din);

#endif
