/* Conv2D's inference through the direct and Winograd convolution kernels
 * of the ops floor (ops/conv_kernels.h), when they apply: float32,
 * channels_last, one group, a CPU that has them.  Bias, a folded BatchNormalization and a
 * plain ReLU go into the kernels' epilogue; other activations run after,
 * as on the im2col path. */
#include "layers/conv2d.h"
#include "layers/max_pooling2d.h"
#include "ops/conv_kernels.h"
#include "params/params.h"

static ck_conv_nhwc nhwc(const ck_conv2d_layer *c, const ck_shape *in, const ck_shape *out)
{
    ck_conv_geom g = ck_conv2d_geometry(c, in, out, CK_FLOAT32);
    return (ck_conv_nhwc){.batch = g.batch, .h = g.h, .w = g.w, .c = g.c, .oh = g.oh, .ow = g.ow, .f = g.f,
                          .kh = g.kh, .kw = g.kw, .sh = g.sh, .sw = g.sw, .dh = g.dh, .dw = g.dw, .ph = g.ph,
                          .pw = g.pw};
}

size_t ck_conv2d_direct_scratch_bytes(const ck_conv2d_layer *c, const ck_shape *in, const ck_shape *out)
{
    if (c->channels_first || c->groups != 1 || c->base.dtype != CK_FLOAT32) return 0;
    const ck_conv_nhwc n = nhwc(c, in, out);
    return (size_t)ck_conv2d_winograd_floats(&n) * sizeof(float);
}

ck_status ck_conv2d_call_direct(const ck_conv2d_layer *c, const ck_tensor *x, ck_tensor *out, const float *scale,
                                const float *shift, void *scratch, int *done)
{
    *done = 0;
    if (c->channels_first || c->groups != 1 || !c->kernel || x->dtype != CK_FLOAT32 || out->dtype != CK_FLOAT32 ||
        c->kernel->value->dtype != CK_FLOAT32 || (c->bias && c->bias->value->dtype != CK_FLOAT32) ||
        !ck_conv2d_nhwc_f32_runs(x->shape[x->rank - 1]))
        return CK_OK;
    ck_shape is = ck_tensor_shape(x), os = ck_tensor_shape(out);
    const ck_conv_nhwc n = nhwc(c, &is, &os);
    const int relu = ck_activation_is_plain_relu(c->params.activation);
    /* a folded BN sits between the sum and the activation: only a linear
     * Conv2D is folded (fuse.c checks) */
    const ck_conv_epilogue e = {.bias = c->bias ? c->bias->value->data : NULL, .scale = scale, .shift = shift,
                                .relu = relu};
    /* Winograd where it applies and the caller planned its scratch */
    if (!ck_conv2d_winograd_f32(&n, x->data, c->kernel->value->data, &e, out->data, scratch) &&
        !ck_conv2d_nhwc_f32(&n, x->data, c->kernel->value->data, &e, out->data))
        return CK_OK;
    *done = 1;
    if (relu || out->size == 0) return CK_OK;
    const int64_t cols = out->shape[out->rank - 1];
    return ck_kernel_params_activate(&c->params, CK_FLOAT32, out->data, out->size / cols, cols);
}

/* The input gradient's convolution: dz as the input, dx as the output,
 * the padding before what makes dx[i] the sum over k of
 * dz[i + ph - k] kernel[k]. */
static int input_grad_geom(const ck_conv2d_layer *c, const ck_shape *in, const ck_shape *out, ck_conv_nhwc *n)
{
    if (c->channels_first || c->groups != 1 || c->base.dtype != CK_FLOAT32) return 0;
    const ck_conv_nhwc g = nhwc(c, in, out);
    if (g.sh != 1 || g.sw != 1 || g.dh != 1 || g.dw != 1 || !ck_conv2d_nhwc_f32_runs(g.f)) return 0;
    *n = (ck_conv_nhwc){.batch = g.batch, .h = g.oh, .w = g.ow, .c = g.f, .oh = g.h, .ow = g.w, .f = g.c,
                        .kh = g.kh, .kw = g.kw, .sh = 1, .sw = 1, .dh = 1, .dw = 1, .ph = g.kh - 1 - g.ph,
                        .pw = g.kw - 1 - g.pw};
    return 1;
}

size_t ck_conv2d_input_grad_scratch_bytes(const ck_conv2d_layer *c, const ck_shape *in, const ck_shape *out)
{
    ck_conv_nhwc n;
    return input_grad_geom(c, in, out, &n) ? (size_t)ck_conv2d_winograd_floats(&n) * sizeof(float) : 0;
}

int ck_conv2d_input_grad_direct(const ck_conv2d_layer *c, const ck_shape *in, const ck_shape *out, const float *dz,
                                float *dx, float *turned, void *scratch)
{
    ck_conv_nhwc n;
    if (!input_grad_geom(c, in, out, &n) || !ck_conv2d_nhwc_f32_available()) return 0;
    /* turned (kh, kw, F, C) [y][x][f][c] = kernel (kh, kw, C, F) [kh-1-y][kw-1-x][c][f] */
    const float *k = c->kernel->value->data;
    const int64_t kh = n.kh, kw = n.kw, C = n.f, F = n.c;
    for (int64_t y = 0; y < kh; y++)
        for (int64_t x = 0; x < kw; x++) {
            const float *src = k + ((kh - 1 - y) * kw + (kw - 1 - x)) * C * F;
            float *dst = turned + (y * kw + x) * F * C;
            for (int64_t ci = 0; ci < C; ci++)
                for (int64_t f = 0; f < F; f++) dst[f * C + ci] = src[ci * F + f];
        }
    const ck_conv_epilogue e = {0};
    return ck_conv2d_winograd_f32(&n, dz, turned, &e, dx, scratch) || ck_conv2d_nhwc_f32(&n, dz, turned, &e, dx);
}

/* The epilogue can apply the activation: linear or plain ReLU. */
static int pool_ready(const ck_conv2d_layer *c)
{
    return !c->channels_first && c->groups == 1 && c->kernel && c->base.dtype == CK_FLOAT32 &&
           c->kernel->value->dtype == CK_FLOAT32 && (!c->bias || c->bias->value->dtype == CK_FLOAT32) &&
           (ck_activation_is_linear(c->params.activation) || ck_activation_is_plain_relu(c->params.activation));
}

int ck_conv2d_pool_foldable(const ck_conv2d_layer *c, const ck_layer *pool, const ck_shape *in, const ck_shape *out)
{
    ck_pool_nhwc p;
    if (!pool_ready(c) || !ck_max_pooling2d_nhwc(pool, out, &p)) return 0;
    const ck_conv_nhwc n = nhwc(c, in, out);
    return ck_conv2d_pool_fusable(&n, &p);
}

ck_status ck_conv2d_call_pooled(const ck_conv2d_layer *c, const ck_layer *pool, const ck_tensor *x, ck_tensor *out,
                                void *scratch, int *done)
{
    *done = 0;
    ck_shape is = ck_tensor_shape(x), os = ck_tensor_shape(out);
    ck_pool_nhwc p;
    if (!pool_ready(c) || x->dtype != CK_FLOAT32 || !ck_max_pooling2d_nhwc(pool, &os, &p)) return CK_OK;
    const ck_conv_nhwc n = nhwc(c, &is, &os);
    const ck_conv_epilogue e = {.bias = c->bias ? c->bias->value->data : NULL,
                                .relu = ck_activation_is_plain_relu(c->params.activation)};
    *done = ck_conv2d_pool_nhwc_f32(&n, x->data, c->kernel->value->data, &e, &p, out->data, scratch);
    return CK_OK;
}
