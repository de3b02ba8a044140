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
