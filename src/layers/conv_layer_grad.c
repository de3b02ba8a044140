/* Training hooks of the convolution layers of conv_layer.h.
 *
 * Backward, with dz = dy * activation'(z) on the (rows, last axis) view the
 * forward activation used, and the engine's primitives (conv_nd.h):
 *   bias.grad += dz summed over the positions;
 *   ConvND, DepthwiseConvND: kernel.grad += kernel_grad(x, dz),
 *                            dx = input_grad(dz);
 *   ConvNDTranspose (the input gradient of a convolution C from the
 *   layer's output shape to its input shape): kernel.grad +=
 *   C.kernel_grad(dz, x) and dx = C.forward(dz);
 *   SeparableConvND, with m = the depthwise output kept by the forward
 *   pass: pointwise.grad += kernel_grad_1x1(m, dz), dm = input_grad_1x1(dz),
 *   then the depthwise step's gradients from dm.
 *
 * saved = [z, if the activation's derivative needs it][dz, unless the
 *          activation is linear][im2col scratch][separable: m][separable:
 *          dm], each part 64-byte aligned. */
#include <string.h>

#include "layers/conv_layer.h"

typedef struct grad_layout {
    size_t z, dz, cols, mid, dmid; /* offsets */
    size_t total;
} grad_layout;

static size_t align64(size_t n) { return (n + 63) & ~(size_t)63; }

static grad_layout layout_of(const ck_conv_layer *c, const ck_convnd_geom *g, int64_t out_elems)
{
    grad_layout l = {0};
    const ck_activation *act = c->a.params.activation;
    const size_t out_bytes = align64((size_t)out_elems * g->es);
    const int linear = ck_activation_is_linear(act);
    size_t at = 0;
    l.z = at;
    if (!linear && ck_activation_grad_needs_input(act)) at += out_bytes;
    l.dz = at;
    if (!linear) at += out_bytes;
    l.cols = at;
    at += align64(ck_conv_layer_cols_bytes(c, g));
    l.mid = at;
    if (c->kind == CK_CONV_SEPARABLE) at += align64(ck_conv_layer_mid_bytes(g));
    l.dmid = at;
    if (c->kind == CK_CONV_SEPARABLE) at += align64(ck_conv_layer_mid_bytes(g));
    l.total = at;
    return l;
}

static int64_t count_of(const ck_shape *s)
{
    int64_t n = 1;
    for (int i = 0; i < s->rank; i++) n *= s->dims[i] > 0 ? s->dims[i] : 0;
    return n;
}

size_t ck_conv_layer_saved_bytes(const ck_layer *layer, int n, const ck_shape *in, const ck_shape *out)
{
    const ck_conv_layer *c = (const ck_conv_layer *)layer;
    (void)n;
    for (int i = 0; i < in->rank; i++)
        if (in->dims[i] < 0) return 0; /* not a concrete call: nothing to plan */
    for (int i = 0; i < out->rank; i++)
        if (out->dims[i] <= 0) return 0;
    ck_convnd_geom g = ck_conv_layer_geom(c, in, out, layer->dtype);
    return layout_of(c, &g, count_of(out)).total;
}

ck_status ck_conv_layer_train_call(ck_layer *layer, const ck_train_ctx *ctx, int n, const ck_tensor *const *in,
                                   ck_tensor *const *outs, void *saved)
{
    ck_conv_layer *c = (ck_conv_layer *)layer;
    ck_tensor *out = outs[0];
    (void)ctx, (void)n;
    if (out->size == 0) return CK_OK;
    ck_shape is = ck_tensor_shape(in[0]), os = ck_tensor_shape(out);
    ck_convnd_geom g = ck_conv_layer_geom(c, &is, &os, out->dtype);
    CK_TRY(ck_convnd_check_size(&g, layer->name));
    grad_layout l = layout_of(c, &g, out->size);
    char *base = saved;
    ck_conv_layer_preactivation(c, &g, out->dtype, in[0]->data, out->data, base + l.cols, base + l.mid);
    if (l.dz > l.z) memcpy(base + l.z, out->data, (size_t)out->size * g.es);
    int64_t last = out->shape[out->rank - 1];
    return ck_kernel_params_activate(&c->a.params, out->dtype, out->data, out->size / last, last);
}

ck_status ck_conv_layer_backward(ck_layer *layer, const ck_train_ctx *ctx, int n, const ck_tensor *const *in,
                                 const ck_tensor *out, const ck_tensor *dout, void *saved, ck_tensor *const *din)
{
    ck_conv_layer *c = (ck_conv_layer *)layer;
    const ck_tensor *x = in[0];
    ck_tensor *dxt = din ? din[0] : NULL;
    const ck_dtype dt = out->dtype;
    (void)ctx, (void)n;
    if (dxt) memset(dxt->data, 0, (size_t)dxt->size * ck_dtype_size(dxt->dtype));
    if (out->size == 0) return CK_OK;
    ck_shape is = ck_tensor_shape(x), os = ck_tensor_shape(out);
    ck_convnd_geom g = ck_conv_layer_geom(c, &is, &os, dt);
    grad_layout l = layout_of(c, &g, out->size);
    char *base = saved, *cols = base + l.cols;
    const void *dz = dout->data;
    if (l.cols > l.dz) {
        int64_t last = out->shape[out->rank - 1];
        CK_TRY(ck_activation_grad_rows(c->a.params.activation, dt, l.dz > l.z ? base + l.z : NULL, out->data,
                                       dout->data, base + l.dz, out->size / last, last));
        dz = base + l.dz;
    }
    void *dx = dxt ? dxt->data : NULL;
    void *kg = c->kernel->grad ? c->kernel->grad->data : NULL;
    const void *kern = c->kernel->value->data;
    ck_tensor *bg = c->bias ? c->bias->grad : NULL;
    switch (c->kind) {
    case CK_CONV_TRANSPOSE:
        if (bg) ck_convnd_bias_grad(dt, g.channels_first, g.batch, ck_convnd_in_plane(&g), g.c, dz, bg->data);
        if (kg) ck_convnd_kernel_grad(&g, dt, dz, x->data, kg, cols);
        if (dx) ck_convnd_forward(&g, dt, dz, kern, dx, 0.0, cols);
        break;
    case CK_CONV_SEPARABLE: {
        ck_convnd_geom pg = ck_conv_layer_pointwise_geom(c, &g);
        char *mid = base + l.mid, *dmid = base + l.dmid;
        void *pwg = c->pointwise->grad ? c->pointwise->grad->data : NULL;
        if (bg) ck_convnd_bias_grad(dt, g.channels_first, g.batch, ck_convnd_out_plane(&pg), pg.f, dz, bg->data);
        if (pwg) ck_convnd_kernel_grad(&pg, dt, mid, dz, pwg, NULL);
        if (!kg && !dx) break;
        ck_convnd_input_grad(&pg, dt, dz, c->pointwise->value->data, dmid, NULL);
        if (kg) ck_convnd_kernel_grad(&g, dt, x->data, dmid, kg, cols);
        if (dx) ck_convnd_input_grad(&g, dt, dmid, kern, dx, cols);
        break;
    }
    default:
        if (bg) ck_convnd_bias_grad(dt, g.channels_first, g.batch, ck_convnd_out_plane(&g), g.f, dz, bg->data);
        if (kg) ck_convnd_kernel_grad(&g, dt, x->data, dz, kg, cols);
        if (dx) ck_convnd_input_grad(&g, dt, dz, kern, dx, cols);
        break;
    }
    return CK_OK;
}
