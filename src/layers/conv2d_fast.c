/* Conv2D's inference through the direct convolution kernels of the ops
 * floor (ops/conv_kernels.h), when they apply: float32, channels_last,
 * one group, a CPU that has them.  Bias, a folded BatchNormalization and a
 * plain ReLU go into the kernels' epilogue; other activations run after,
 * as on the im2col path. */
#include "layers/conv2d.h"
#include "ops/conv_kernels.h"
#include "params/params.h"

ck_status ck_conv2d_call_direct(const ck_conv2d_layer *c, const ck_tensor *x, ck_tensor *out, const float *scale,
                                const float *shift, int *done)
{
    *done = 0;
    if (c->channels_first || c->groups != 1 || !c->kernel || x->dtype != CK_FLOAT32 || out->dtype != CK_FLOAT32 ||
        c->kernel->value->dtype != CK_FLOAT32 || (c->bias && c->bias->value->dtype != CK_FLOAT32) ||
        !ck_conv2d_nhwc_f32_available())
        return CK_OK;
    ck_shape is = ck_tensor_shape(x), os = ck_tensor_shape(out);
    ck_conv_geom g = ck_conv2d_geometry(c, &is, &os, CK_FLOAT32);
    const ck_conv_nhwc n = {.batch = g.batch, .h = g.h, .w = g.w, .c = g.c, .oh = g.oh, .ow = g.ow, .f = g.f,
                            .kh = g.kh, .kw = g.kw, .sh = g.sh, .sw = g.sw, .dh = g.dh, .dw = g.dw, .ph = g.ph,
                            .pw = g.pw};
    const int relu = ck_activation_is_plain_relu(c->params.activation);
    /* a folded BN sits between the sum and the activation: only a linear
     * Conv2D is folded (fuse.c checks) */
    const ck_conv_epilogue e = {.bias = c->bias ? c->bias->value->data : NULL, .scale = scale, .shift = shift,
                                .relu = relu};
    if (!ck_conv2d_nhwc_f32(&n, x->data, c->kernel->value->data, &e, out->data)) return CK_OK;
    *done = 1;
    if (relu || out->size == 0) return CK_OK;
    const int64_t cols = out->shape[out->rank - 1];
    return ck_kernel_params_activate(&c->params, CK_FLOAT32, out->data, out->size / cols, cols);
}
