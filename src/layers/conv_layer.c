/* Shapes, build and the inference call of the convolution layers of
 * conv_layer.h, and their class tables.  The computation is the N-d engine
 * of conv_nd.c:
 * - ConvND (and grouped Conv2D): the engine's forward pass, then the bias;
 * - DepthwiseConvND: a grouped convolution with one group per input
 *   channel, whose (k..., C, M) kernel has the memory layout of the
 *   grouped (k..., 1, C * M) kernel;
 * - SeparableConvND: that depthwise step (no bias) into working memory,
 *   then a 1x1 convolution by the pointwise kernel, then the bias;
 * - ConvNDTranspose: the input gradient of the convolution that maps its
 *   output shape onto its input shape (what TF's conv*_backprop_input
 *   computes), then the bias.
 * The activation then applies over the output's last axis, as Keras'. */
#include <stdio.h>
#include <string.h>

#include "layers/conv_layer.h"
#include "layers/conv_utils.h"
#include "layers/spatial_args.h"

static void conv_destroy(ck_layer *layer) { ck_conv_args_free(&((ck_conv_layer *)layer)->a); }

/* conv_utils.deconv_output_length. */
static int64_t deconv_length(int64_t in, int64_t k, ck_conv_padding pad, int has_op, int64_t op, int64_t s,
                             int64_t d)
{
    if (in < 0) return -1;
    const int64_t keff = k + (k - 1) * (d - 1);
    if (!has_op) {
        if (pad == CK_PAD_SAME) return in * s;
        return in * s + (keff - s > 0 ? keff - s : 0);
    }
    const int64_t p = pad == CK_PAD_SAME ? keff / 2 : 0;
    return (in - 1) * s + keff - 2 * p + op;
}

static int64_t out_channels(const ck_conv_layer *c, int64_t in_channels)
{
    if (c->kind == CK_CONV_DEPTHWISE) return in_channels < 0 ? -1 : in_channels * c->a.depth_multiplier;
    return c->a.filters;
}

static ck_status conv_output_shape(const ck_layer *layer, int n, const ck_shape *in, ck_shape *out)
{
    const ck_conv_layer *c = (const ck_conv_layer *)layer;
    const ck_shape *s = &in[0];
    char buf[160];
    (void)n;
    if (c->kind == CK_CONV_PLAIN) {
        if (s->rank < c->rank + 2)
            return ck_error(CK_VALUE_ERROR, "Input 0 of layer \"%s\" is incompatible with the layer: expected "
                            "min_ndim=%d, found ndim=%d. Full shape received: %s", layer->name, c->rank + 2,
                            s->rank, ck_shape_fmt(buf, sizeof buf, s));
    } else {
        CK_TRY(ck_sp_check_rank(layer, s, c->rank + 2));
    }
    const int ci = ck_conv_channel_axis(c, s->rank), si = ck_conv_first_spatial(c, s->rank);
    /* The channels_first half of Keras' InputSpec(axes={channel: C}); the
     * channels_last half is the base's last-dim check. */
    if (layer->built && s->dims[ci] >= 0 && s->dims[ci] != c->in_channels)
        return ck_error(CK_VALUE_ERROR, "Input 0 of layer \"%s\" is incompatible with the layer: expected axis %d "
                        "of input shape to have value %lld, but received input with shape %s", layer->name,
                        c->a.channels_first ? -c->rank - 1 : -1, (long long)c->in_channels,
                        ck_shape_fmt(buf, sizeof buf, s));
    *out = *s;
    int negative = 0;
    for (int i = 0; i < c->rank; i++) {
        int64_t len = s->dims[si + i], o;
        if (c->kind == CK_CONV_TRANSPOSE)
            o = deconv_length(len, c->a.kernel_size[i], c->a.padding, c->a.has_output_padding,
                              c->a.output_padding[i], c->a.strides[i], c->a.dilation[i]);
        else
            o = ck_conv_output_length(len, c->a.kernel_size[i], c->a.padding != CK_PAD_VALID, c->a.strides[i],
                                      c->a.dilation[i]);
        if (len >= 0 && o < 0) negative = 1;
        out->dims[si + i] = o;
    }
    if (negative)
        return ck_error(CK_VALUE_ERROR, "One of the dimensions in the output is <= 0 due to downsampling in %s. "
                        "Consider increasing the input size. Received input shape %s which would produce output "
                        "shape with a zero or negative value in a dimension.", layer->name,
                        ck_arg_list_fmt(buf, sizeof buf, s->dims, s->rank));
    out->dims[ci] = out_channels(c, s->dims[ci]);
    return CK_OK;
}

static ck_status conv_build(ck_layer *layer, int n, const ck_shape *shapes)
{
    ck_conv_layer *c = (ck_conv_layer *)layer;
    const ck_shape *s = &shapes[0];
    char buf[160];
    ck_shape ignored;
    CK_TRY(conv_output_shape(layer, n, shapes, &ignored));
    const int ci = ck_conv_channel_axis(c, s->rank);
    const int64_t ch = s->dims[ci];
    if (ch < 0) {
        /* Keras names the class for the depthwise and transposed layers. */
        char who[48] = "";
        if (c->kind == CK_CONV_DEPTHWISE) snprintf(who, sizeof who, " to `DepthwiseConv`");
        else if (c->kind == CK_CONV_TRANSPOSE) snprintf(who, sizeof who, " to `%s`", layer->cls->class_name);
        return ck_error(CK_VALUE_ERROR, "The channel dimension of the inputs%s should be defined. The input_shape "
                        "received is %s, where axis %d (0-based) is the channel dimension, which found to be "
                        "`None`. (layer \"%s\")", who, ck_shape_fmt(buf, sizeof buf, s), ci, layer->name);
    }
    if (c->kind == CK_CONV_PLAIN && ch % c->a.groups != 0)
        return ck_error(CK_VALUE_ERROR, "The number of input channels must be evenly divisible by the number of "
                        "groups. Received groups=%lld, but the input has %lld channels (full input shape is %s).",
                        (long long)c->a.groups, (long long)ch, ck_shape_fmt(buf, sizeof buf, s));
    ck_shape k = {c->rank + 2, {0}}, b = {1, {out_channels(c, ch)}};
    for (int i = 0; i < c->rank; i++) k.dims[i] = c->a.kernel_size[i];
    const ck_kernel_params *p = &c->a.params;
    ck_status st;
    switch (c->kind) {
    case CK_CONV_PLAIN:
        k.dims[c->rank] = ch / c->a.groups;
        k.dims[c->rank + 1] = c->a.filters;
        st = ck_kernel_params_add_weights(p, layer, &k, &b, c->a.use_bias, &c->kernel, &c->bias);
        break;
    case CK_CONV_TRANSPOSE:
        k.dims[c->rank] = c->a.filters;
        k.dims[c->rank + 1] = ch;
        st = ck_kernel_params_add_weights(p, layer, &k, &b, c->a.use_bias, &c->kernel, &c->bias);
        break;
    default: /* depthwise, separable */
        k.dims[c->rank] = ch;
        k.dims[c->rank + 1] = c->a.depth_multiplier;
        st = ck_layer_add_weight_with(layer, "depthwise_kernel", &k, layer->dtype, c->a.dw_init, c->a.dw_reg,
                                      c->a.dw_con, true, &c->kernel);
        if (st == CK_OK && c->kind == CK_CONV_SEPARABLE) {
            ck_shape pw = {c->rank + 2, {0}};
            for (int i = 0; i < c->rank; i++) pw.dims[i] = 1;
            pw.dims[c->rank] = ch * c->a.depth_multiplier;
            pw.dims[c->rank + 1] = c->a.filters;
            st = ck_layer_add_weight_with(layer, "pointwise_kernel", &pw, layer->dtype, c->a.pw_init, c->a.pw_reg,
                                          c->a.pw_con, true, &c->pointwise);
        }
        if (st == CK_OK && c->a.use_bias)
            st = ck_layer_add_weight_with(layer, "bias", &b, layer->dtype, p->bias_initializer, p->bias_regularizer,
                                          p->bias_constraint, true, &c->bias);
        break;
    }
    if (st != CK_OK) {
        c->kernel = c->pointwise = c->bias = NULL; /* the base drops what was added */
        return st;
    }
    c->in_channels = ch;
    layer->spec = (ck_input_spec){.min_ndim = c->kind == CK_CONV_PLAIN ? c->rank + 2 : 0,
                                  .ndim = c->kind == CK_CONV_PLAIN ? 0 : c->rank + 2,
                                  .has_last_dim = !c->a.channels_first, .last_dim = ch};
    return CK_OK;
}

/* ---- geometry ------------------------------------------------------------------ */

static int64_t pad_before(ck_conv_padding pad, int64_t in, int64_t out, int64_t k, int64_t s, int64_t d)
{
    if (pad == CK_PAD_CAUSAL) return (k - 1) * d;
    return ck_conv_pad_before(in, out, k, pad == CK_PAD_SAME, s, d);
}

ck_convnd_geom ck_conv_layer_geom(const ck_conv_layer *c, const ck_shape *in, const ck_shape *out, ck_dtype dt)
{
    const int r = in->rank, ci = ck_conv_channel_axis(c, r), si = ck_conv_first_spatial(c, r);
    const int transpose = c->kind == CK_CONV_TRANSPOSE;
    /* A transposed convolution is the input gradient of the convolution
     * from its output shape to its input shape. */
    const ck_shape *ci_shape = transpose ? out : in, *co_shape = transpose ? in : out;
    ck_convnd_geom g = {.channels_first = c->a.channels_first, .batch = 1, .c = ci_shape->dims[ci],
                        .f = co_shape->dims[ci], .groups = 1, .es = ck_dtype_size(dt)};
    if (c->kind == CK_CONV_PLAIN) g.groups = c->a.groups;
    if (c->kind == CK_CONV_DEPTHWISE || c->kind == CK_CONV_SEPARABLE) {
        g.groups = g.c;
        g.f = g.c * c->a.depth_multiplier;
    }
    for (int i = 0; i < r - c->rank - 1; i++) g.batch *= in->dims[i];
    for (int i = 0; i < 3; i++) {
        if (i >= c->rank) {
            g.in[i] = g.out[i] = g.k[i] = g.s[i] = g.d[i] = 1;
            continue;
        }
        g.in[i] = ci_shape->dims[si + i];
        g.out[i] = co_shape->dims[si + i];
        g.k[i] = c->a.kernel_size[i];
        g.s[i] = c->a.strides[i];
        g.d[i] = c->a.dilation[i];
        g.pad[i] = pad_before(c->a.padding, g.in[i], g.out[i], g.k[i], g.s[i], g.d[i]);
    }
    return g;
}

ck_convnd_geom ck_conv_layer_pointwise_geom(const ck_conv_layer *c, const ck_convnd_geom *dw)
{
    ck_convnd_geom g = *dw;
    g.c = dw->f;
    g.f = c->a.filters;
    g.groups = 1;
    for (int i = 0; i < 3; i++) {
        g.in[i] = dw->out[i];
        g.k[i] = g.s[i] = g.d[i] = 1;
        g.pad[i] = 0;
    }
    return g;
}

size_t ck_conv_layer_cols_bytes(const ck_conv_layer *c, const ck_convnd_geom *g)
{
    (void)c; /* the pointwise step of a separable conv reads its input directly */
    return (size_t)ck_convnd_cols_elems(g) * g->es;
}

size_t ck_conv_layer_mid_bytes(const ck_convnd_geom *g)
{
    return (size_t)(g->batch * ck_convnd_out_plane(g) * g->f) * g->es;
}

/* ---- inference ------------------------------------------------------------------ */

void ck_conv_layer_preactivation(const ck_conv_layer *c, const ck_convnd_geom *g, ck_dtype dt, const void *x,
                                 void *out, char *cols, char *mid)
{
    const void *kern = c->kernel->value->data;
    int64_t plane = ck_convnd_out_plane(g), f = g->f;
    switch (c->kind) {
    case CK_CONV_TRANSPOSE:
        ck_convnd_input_grad(g, dt, x, kern, out, cols);
        plane = ck_convnd_in_plane(g);
        f = g->c;
        break;
    case CK_CONV_SEPARABLE: {
        ck_convnd_forward(g, dt, x, kern, mid, 0.0, cols);
        ck_convnd_geom pg = ck_conv_layer_pointwise_geom(c, g);
        ck_convnd_forward(&pg, dt, mid, c->pointwise->value->data, out, 0.0, NULL);
        f = pg.f;
        break;
    }
    default:
        ck_convnd_forward(g, dt, x, kern, out, 0.0, cols);
        break;
    }
    if (c->bias) ck_convnd_bias_add(dt, g->channels_first, g->batch, plane, f, c->bias->value->data, out);
}

static size_t align64(size_t n) { return (n + 63) & ~(size_t)63; }

static int concrete(const ck_shape *s)
{
    for (int i = 0; i < s->rank; i++)
        if (s->dims[i] <= 0) return 0;
    return 1;
}

static size_t conv_scratch_bytes(const ck_layer *layer, int n, const ck_shape *in, const ck_shape *out)
{
    const ck_conv_layer *c = (const ck_conv_layer *)layer;
    (void)n;
    if (!concrete(&in[0]) || !concrete(out)) return 0;
    ck_convnd_geom g = ck_conv_layer_geom(c, &in[0], out, layer->dtype);
    size_t mid = c->kind == CK_CONV_SEPARABLE ? ck_conv_layer_mid_bytes(&g) : 0;
    return align64(ck_conv_layer_cols_bytes(c, &g)) + mid;
}

static ck_status conv_call_scratch(ck_layer *layer, int n, const ck_tensor *const *in, ck_tensor *const *outs,
                                   void *scratch)
{
    ck_conv_layer *c = (ck_conv_layer *)layer;
    ck_tensor *out = outs[0];
    (void)n;
    if (out->size == 0) return CK_OK;
    ck_shape is = ck_tensor_shape(in[0]), os = ck_tensor_shape(out);
    ck_convnd_geom g = ck_conv_layer_geom(c, &is, &os, out->dtype);
    CK_TRY(ck_convnd_check_size(&g, layer->name));
    char *cols = scratch, *mid = cols + align64(ck_conv_layer_cols_bytes(c, &g));
    ck_conv_layer_preactivation(c, &g, out->dtype, in[0]->data, out->data, cols, mid);
    int64_t last = out->shape[out->rank - 1];
    return ck_kernel_params_activate(&c->a.params, out->dtype, out->data, out->size / last, last);
}

/* ---- classes ---------------------------------------------------------------------- */

#define CK_CONV_CLASS(var, name, from_config_fn)                                                              \
    static ck_status from_config_fn(const json_t *config, ck_layer **out)                                    \
    {                                                                                                         \
        return ck_conv_layer_from_config(&var, config, out);                                                  \
    }                                                                                                         \
    const ck_layer_class var = {                                                                              \
        .class_name = name,                                                                                   \
        .size = sizeof(ck_conv_layer),                                                                        \
        .arity = CK_ONE_INPUT,                                                                                \
        .cast_all_inputs = 1,                                                                                 \
        .build = conv_build,                                                                                  \
        .call = ck_layer_call_own_scratch,                                                                    \
        .call_scratch_bytes = conv_scratch_bytes,                                                             \
        .call_scratch = conv_call_scratch,                                                                    \
        .compute_output_shape = conv_output_shape,                                                            \
        .get_config = ck_conv_layer_get_config,                                                               \
        .from_config = from_config_fn,                                                                        \
        .destroy = conv_destroy,                                                                              \
        .saved_bytes = ck_conv_layer_saved_bytes,                                                             \
        .train_call = ck_conv_layer_train_call,                                                               \
        .backward = ck_conv_layer_backward,                                                                   \
    };

CK_CONV_CLASS(ck_conv1d_class, "Conv1D", conv1d_from_config)
CK_CONV_CLASS(ck_conv3d_class, "Conv3D", conv3d_from_config)
CK_CONV_CLASS(ck_conv2d_grouped_class, "Conv2D", conv2d_grouped_from_config)
CK_CONV_CLASS(ck_conv1d_transpose_class, "Conv1DTranspose", conv1d_transpose_from_config)
CK_CONV_CLASS(ck_conv2d_transpose_class, "Conv2DTranspose", conv2d_transpose_from_config)
CK_CONV_CLASS(ck_conv3d_transpose_class, "Conv3DTranspose", conv3d_transpose_from_config)
CK_CONV_CLASS(ck_depthwise_conv1d_class, "DepthwiseConv1D", depthwise_conv1d_from_config)
CK_CONV_CLASS(ck_depthwise_conv2d_class, "DepthwiseConv2D", depthwise_conv2d_from_config)
CK_CONV_CLASS(ck_separable_conv1d_class, "SeparableConv1D", separable_conv1d_from_config)
CK_CONV_CLASS(ck_separable_conv2d_class, "SeparableConv2D", separable_conv2d_from_config)

void ck_conv_class_info(const ck_layer_class *cls, ck_conv_kind *kind, int *rank)
{
    static const struct {
        const ck_layer_class *cls;
        ck_conv_kind kind;
        int rank;
    } table[] = {
        {&ck_conv1d_class, CK_CONV_PLAIN, 1},
        {&ck_conv3d_class, CK_CONV_PLAIN, 3},
        {&ck_conv2d_grouped_class, CK_CONV_PLAIN, 2},
        {&ck_conv1d_transpose_class, CK_CONV_TRANSPOSE, 1},
        {&ck_conv2d_transpose_class, CK_CONV_TRANSPOSE, 2},
        {&ck_conv3d_transpose_class, CK_CONV_TRANSPOSE, 3},
        {&ck_depthwise_conv1d_class, CK_CONV_DEPTHWISE, 1},
        {&ck_depthwise_conv2d_class, CK_CONV_DEPTHWISE, 2},
        {&ck_separable_conv1d_class, CK_CONV_SEPARABLE, 1},
        {&ck_separable_conv2d_class, CK_CONV_SEPARABLE, 2},
    };
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (table[i].cls == cls) {
            *kind = table[i].kind;
            *rank = table[i].rank;
            return;
        }
    *kind = CK_CONV_PLAIN;
    *rank = 2;
}
