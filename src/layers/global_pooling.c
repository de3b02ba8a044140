/* keras.layers.GlobalAveragePooling1D / 2D / 3D and GlobalMaxPooling1D /
 * 2D / 3D: the mean or maximum over every spatial position, per channel;
 * keepdims keeps the spatial dims as 1s.  The input is viewed as (B, P, C)
 * for channels_last or (B, C, P) for channels_first.
 *
 * Masks: tf.keras' GlobalAveragePooling1D takes a mask and averages over
 * the unmasked steps; the layer contract hands no masks to `call`, so this
 * one accepts a mask (and outputs none, like Keras) but averages over every
 * step.  The other classes do not support masks, as in Keras.
 *
 * Gradients as TF's: the mean spreads dy / P; reduce_max splits dy evenly
 * between the positions that equal the maximum (its _MinOrMaxGrad), which
 * backward finds again from the input and the output, so nothing is
 * saved. */
#include <math.h>
#include <string.h>

#include "layers/spatial_args.h"

typedef struct gpool_layer {
    ck_layer base;
    int nd, avg, channels_first, keepdims;
} gpool_layer;

typedef struct gpool_kind {
    const ck_layer_class *cls;
    const char *name;
    int nd, avg;
} gpool_kind;

static const gpool_kind KINDS[] = {
    {&ck_global_average_pooling1d_class, "GlobalAveragePooling1D", 1, 1},
    {&ck_global_average_pooling2d_class, "GlobalAveragePooling2D", 2, 1},
    {&ck_global_average_pooling3d_class, "GlobalAveragePooling3D", 3, 1},
    {&ck_global_max_pooling1d_class, "GlobalMaxPooling1D", 1, 0},
    {&ck_global_max_pooling2d_class, "GlobalMaxPooling2D", 2, 0},
    {&ck_global_max_pooling3d_class, "GlobalMaxPooling3D", 3, 0},
};

static const gpool_kind *kind_of(const ck_layer_class *cls)
{
    for (size_t i = 0; i < sizeof KINDS / sizeof KINDS[0]; i++)
        if (KINDS[i].cls == cls) return &KINDS[i];
    return NULL;
}

static ck_status gpool_output_shape(const ck_layer *layer, int n, const ck_shape *in, ck_shape *out)
{
    const gpool_layer *p = (const gpool_layer *)layer;
    (void)n;
    CK_TRY(ck_sp_check_rank(layer, &in[0], p->nd + 2));
    int ci = p->channels_first ? 1 : p->nd + 1;
    ck_shape r = in[0];
    if (p->keepdims) {
        for (int d = 1; d < r.rank; d++)
            if (d != ci) r.dims[d] = 1;
    } else {
        r = (ck_shape){2, {in[0].dims[0], in[0].dims[ci]}};
    }
    *out = r;
    return CK_OK;
}

/* (batch, positions, channels) of an input and the element strides of a
 * position and of a channel. */
static void view(const gpool_layer *p, const ck_tensor *x, int64_t *b, int64_t *np, int64_t *nc, int64_t *ps,
                 int64_t *cs)
{
    int ci = p->channels_first ? 1 : x->rank - 1;
    *b = x->shape[0];
    *nc = x->shape[ci];
    *np = 1;
    for (int d = 1; d < x->rank; d++)
        if (d != ci) *np *= x->shape[d];
    *ps = p->channels_first ? 1 : *nc;
    *cs = p->channels_first ? *np : 1;
}

/* The mean sums in T (tf.reduce_mean's order differs only by rounding);
 * the max lets a NaN through. */
#define GPOOL_KERNELS(T, SUFFIX)                                                                        \
    static void fwd_##SUFFIX(int avg, int64_t B, int64_t P, int64_t C, int64_t ps, int64_t cs, const T *x,   \
                             T *y)                                                                      \
    {                                                                                                   \
        for (int64_t b = 0; b < B; b++, x += P * C, y += C) {                                           \
            for (int64_t c = 0; c < C; c++) y[c] = avg ? (T)0 : x[c * cs];                             \
            for (int64_t q = 0; q < P; q++)                                                             \
                for (int64_t c = 0; c < C; c++) {                                                       \
                    const T v = x[q * ps + c * cs];                                                     \
                    if (avg) y[c] += v;                                                                 \
                    else if (v > y[c] || v != v) y[c] = v;                                              \
                }                                                                                       \
            if (avg)                                                                                    \
                for (int64_t c = 0; c < C; c++) y[c] /= (T)P;                                           \
        }                                                                                               \
    }                                                                                                   \
    static void bwd_##SUFFIX(int avg, int64_t B, int64_t P, int64_t C, int64_t ps, int64_t cs, const T *x,   \
                             const T *y, const T *dy, T *dx)                                            \
    {                                                                                                   \
        for (int64_t b = 0; b < B; b++, x += P * C, dx += P * C, y += C, dy += C)                       \
            for (int64_t c = 0; c < C; c++) {                                                           \
                T share = dy[c] / (T)P;                                                                 \
                if (!avg) {                                                                             \
                    int64_t ties = 0;                                                                   \
                    for (int64_t q = 0; q < P; q++) ties += x[q * ps + c * cs] == y[c];                 \
                    share = ties ? dy[c] / (T)ties : (T)0;                                              \
                }                                                                                       \
                for (int64_t q = 0; q < P; q++)                                                         \
                    dx[q * ps + c * cs] = (avg || x[q * ps + c * cs] == y[c]) ? share : (T)0;           \
            }                                                                                           \
    }

GPOOL_KERNELS(float, f32)
GPOOL_KERNELS(double, f64)

static ck_status gpool_call(ck_layer *layer, int n, const ck_tensor *const *in, ck_tensor *const *outs)
{
    const gpool_layer *p = (const gpool_layer *)layer;
    const ck_tensor *x = in[0];
    int64_t B, P, C, ps, cs;
    (void)n;
    view(p, x, &B, &P, &C, &ps, &cs);
    if (outs[0]->size == 0) return CK_OK;
    if (P == 0) {
        /* Keras: the mean of nothing is NaN, the max -inf; TF's CPU kernels
         * give those too. */
        for (int64_t i = 0; i < outs[0]->size; i++) {
            if (outs[0]->dtype == CK_FLOAT32) ((float *)outs[0]->data)[i] = p->avg ? NAN : -INFINITY;
            else if (outs[0]->dtype == CK_FLOAT64) ((double *)outs[0]->data)[i] = p->avg ? NAN : -INFINITY;
        }
        return CK_OK;
    }
    if (x->dtype == CK_FLOAT32) fwd_f32(p->avg, B, P, C, ps, cs, x->data, outs[0]->data);
    else if (x->dtype == CK_FLOAT64) fwd_f64(p->avg, B, P, C, ps, cs, x->data, outs[0]->data);
    else
        return ck_error(CK_TYPE_ERROR, "%s \"%s\": needs floating inputs, got %s", layer->cls->class_name,
                        layer->name, ck_dtype_name(x->dtype));
    return CK_OK;
}

/* GlobalAveragePooling1D with a mask (batch, steps) of 0/1: Keras'
 * sum(x * mask) / sum(mask) over the steps (NaN when a row is all
 * masked, as Keras' 0/0).  The mask's weights in double, the sums in T. */
#define GPOOL_MASKED_KERNELS(T, SUFFIX)                                                                 \
    static void mfwd_##SUFFIX(int64_t B, int64_t P, int64_t C, int64_t ps, int64_t cs, const T *x,     \
                              const int32_t *mask, T *y)                                                \
    {                                                                                                   \
        for (int64_t b = 0; b < B; b++, x += P * C, y += C, mask += P) {                                \
            T count = 0;                                                                                \
            for (int64_t c = 0; c < C; c++) y[c] = 0;                                                   \
            for (int64_t q = 0; q < P; q++) {                                                           \
                if (!mask[q]) continue;                                                                 \
                count += 1;                                                                             \
                for (int64_t c = 0; c < C; c++) y[c] += x[q * ps + c * cs];                             \
            }                                                                                           \
            for (int64_t c = 0; c < C; c++) y[c] /= count;                                              \
        }                                                                                               \
    }                                                                                                   \
    static void mbwd_##SUFFIX(int64_t B, int64_t P, int64_t C, int64_t ps, int64_t cs, const int32_t *mask, \
                              const T *dy, T *dx)                                                       \
    {                                                                                                   \
        for (int64_t b = 0; b < B; b++, dx += P * C, dy += C, mask += P) {                              \
            T count = 0;                                                                                \
            for (int64_t q = 0; q < P; q++) count += mask[q] ? 1 : 0;                                   \
            for (int64_t q = 0; q < P; q++)                                                             \
                for (int64_t c = 0; c < C; c++) dx[q * ps + c * cs] = mask[q] ? dy[c] / count : (T)0;   \
        }                                                                                               \
    }

GPOOL_MASKED_KERNELS(float, f32)
GPOOL_MASKED_KERNELS(double, f64)

static ck_status gpool_check_mask(const ck_layer *layer, const ck_tensor *x, const ck_tensor *mask, int64_t B,
                                  int64_t P)
{
    if (mask->dtype != CK_INT32 || mask->size != B * P)
        return ck_error(CK_VALUE_ERROR, "%s \"%s\": a mask of %lld values for an input of %lld rows and %lld steps",
                        layer->cls->class_name, layer->name, (long long)mask->size, (long long)B, (long long)P);
    if (x->dtype != CK_FLOAT32 && x->dtype != CK_FLOAT64)
        return ck_error(CK_TYPE_ERROR, "%s \"%s\": needs floating inputs, got %s", layer->cls->class_name,
                        layer->name, ck_dtype_name(x->dtype));
    return CK_OK;
}

static ck_status gpool_call_masked(ck_layer *layer, int n, const ck_tensor *const *in, const ck_tensor *mask,
                                   ck_tensor *const *outs, void *scratch)
{
    const gpool_layer *p = (const gpool_layer *)layer;
    const ck_tensor *x = in[0];
    int64_t B, P, C, ps, cs;
    (void)scratch;
    if (!mask) return gpool_call(layer, n, in, outs);
    view(p, x, &B, &P, &C, &ps, &cs);
    CK_TRY(gpool_check_mask(layer, x, mask, B, P));
    if (outs[0]->size == 0) return CK_OK;
    if (x->dtype == CK_FLOAT32) mfwd_f32(B, P, C, ps, cs, x->data, mask->data, outs[0]->data);
    else mfwd_f64(B, P, C, ps, cs, x->data, mask->data, outs[0]->data);
    return CK_OK;
}

static ck_status gpool_train_call(ck_layer *layer, const ck_train_ctx *ctx, int n, const ck_tensor *const *in,
                                  ck_tensor *const *outs, void *saved)
{
    (void)saved;
    return gpool_call_masked(layer, n, in, ctx ? ctx->mask : NULL, outs, NULL);
}

static ck_status gpool_backward(ck_layer *layer, const ck_train_ctx *ctx, int n, const ck_tensor *const *in,
                                const ck_tensor *out, const ck_tensor *dout, void *saved, ck_tensor *const *din)
{
    const gpool_layer *p = (const gpool_layer *)layer;
    const ck_tensor *x = in[0];
    ck_tensor *dx = din ? din[0] : NULL;
    int64_t B, P, C, ps, cs;
    (void)ctx, (void)n, (void)saved;
    if (!dx || dx->size == 0) return CK_OK;
    view(p, x, &B, &P, &C, &ps, &cs);
    if (ctx && ctx->mask && layer->cls == &ck_global_average_pooling1d_class) {
        CK_TRY(gpool_check_mask(layer, x, ctx->mask, B, P));
        if (x->dtype == CK_FLOAT32) mbwd_f32(B, P, C, ps, cs, ctx->mask->data, dout->data, dx->data);
        else mbwd_f64(B, P, C, ps, cs, ctx->mask->data, dout->data, dx->data);
        return CK_OK;
    }
    /* keepdims changes the output's shape, not its element order. */
    if (x->dtype == CK_FLOAT32) bwd_f32(p->avg, B, P, C, ps, cs, x->data, out->data, dout->data, dx->data);
    else bwd_f64(p->avg, B, P, C, ps, cs, x->data, out->data, dout->data, dx->data);
    return CK_OK;
}

/* Only GlobalAveragePooling1D takes a mask; no pooled output has one. */
static ck_status gpool_mask(const ck_layer *layer, int n, const ck_tensor *const *in, const ck_tensor *const *masks,
                            ck_tensor **out)
{
    (void)n, (void)in;
    if (masks && masks[0] && layer->cls != &ck_global_average_pooling1d_class)
        return ck_error(CK_TYPE_ERROR, "Layer %s does not support masking, but was passed an input_mask",
                        layer->name);
    *out = NULL;
    return CK_OK;
}

static ck_status gpool_get_config(const ck_layer *layer, json_t *j)
{
    const gpool_layer *p = (const gpool_layer *)layer;
    ck_status st = ck_json_set(j, "data_format", ck_sp_data_format_to_json(p->channels_first));
    if (st == CK_OK) st = ck_json_set(j, "keepdims", json_boolean(p->keepdims));
    return st;
}

static void gpool_finish(ck_layer *layer, int nd, int avg, int cf, int keepdims)
{
    gpool_layer *p = (gpool_layer *)layer;
    p->nd = nd, p->avg = avg, p->channels_first = cf, p->keepdims = keepdims;
    layer->spec = (ck_input_spec){.ndim = nd + 2};
}

static ck_status gpool_new(const ck_layer_class *cls, const ck_global_pooling_opts *o, ck_layer **out)
{
    static const ck_global_pooling_opts defaults;
    const gpool_kind *k = kind_of(cls);
    if (!o) o = &defaults;
    int cf = 0;
    CK_TRY(ck_sp_data_format(o->data_format, &cf));
    ck_layer *layer = NULL;
    CK_TRY(CK_ARG_CREATE(cls, o, &layer));
    gpool_finish(layer, k->nd, k->avg, cf, o->keepdims);
    *out = layer;
    return CK_OK;
}

ck_status ck_global_average_pooling1d(ck_layer **out, const ck_global_pooling_opts *o)
{
    CK_NEED(out);
    return gpool_new(&ck_global_average_pooling1d_class, o, out);
}
ck_status ck_global_average_pooling2d(ck_layer **out, const ck_global_pooling_opts *o)
{
    CK_NEED(out);
    return gpool_new(&ck_global_average_pooling2d_class, o, out);
}
ck_status ck_global_average_pooling3d(ck_layer **out, const ck_global_pooling_opts *o)
{
    CK_NEED(out);
    return gpool_new(&ck_global_average_pooling3d_class, o, out);
}
ck_status ck_global_max_pooling1d(ck_layer **out, const ck_global_pooling_opts *o)
{
    CK_NEED(out);
    return gpool_new(&ck_global_max_pooling1d_class, o, out);
}
ck_status ck_global_max_pooling2d(ck_layer **out, const ck_global_pooling_opts *o)
{
    CK_NEED(out);
    return gpool_new(&ck_global_max_pooling2d_class, o, out);
}
ck_status ck_global_max_pooling3d(ck_layer **out, const ck_global_pooling_opts *o)
{
    CK_NEED(out);
    return gpool_new(&ck_global_max_pooling3d_class, o, out);
}

/* tf.keras 2.x / Keras 3 (data_format, keepdims), Keras 1 (dim_ordering). */
static ck_status gpool_from_config_as(const ck_layer_class *cls, const json_t *c, ck_layer **out)
{
    static const char *const keys[] = {"data_format", "keepdims", "dim_ordering", NULL};
    const gpool_kind *k = kind_of(cls);
    if (!json_is_object(c)) return ck_error(CK_FORMAT_ERROR, "%s config must be a JSON object", k->name);
    int cf = 0, keepdims = 0;
    CK_TRY(ck_sp_data_format_json(c, k->name, &cf));
    CK_TRY(ck_arg_bool(json_object_get(c, "keepdims"), k->name, "keepdims", &keepdims));
    ck_layer *layer = NULL;
    CK_TRY(ck_layer_create_from_config(cls, c, keys, &layer));
    gpool_finish(layer, k->nd, k->avg, cf, keepdims);
    *out = layer;
    return CK_OK;
}

#define GPOOL_CLASS(VAR, NAME, MASKING, MASKED, TRAIN)                                                  \
    static ck_status VAR##_from_config(const json_t *c, ck_layer **out)                                 \
    {                                                                                                   \
        return gpool_from_config_as(&VAR##_class, c, out);                                             \
    }                                                                                                   \
    const ck_layer_class VAR##_class = {                                                                \
        .class_name = NAME,                                                                             \
        .size = sizeof(gpool_layer),                                                                    \
        .arity = CK_ONE_INPUT,                                                                          \
        .supports_masking = MASKING,                                                                    \
        .compute_output_shape = gpool_output_shape,                                                     \
        .compute_mask = gpool_mask,                                                                     \
        .call = gpool_call,                                                                             \
        .get_config = gpool_get_config,                                                                 \
        .from_config = VAR##_from_config,                                                               \
        .backward = gpool_backward,                                                                     \
        .call_masked = MASKED,                                                                          \
        .train_call = TRAIN,                                                                            \
    };

GPOOL_CLASS(ck_global_average_pooling1d, "GlobalAveragePooling1D", 1, gpool_call_masked, gpool_train_call)
GPOOL_CLASS(ck_global_average_pooling2d, "GlobalAveragePooling2D", 0, NULL, NULL)
GPOOL_CLASS(ck_global_average_pooling3d, "GlobalAveragePooling3D", 0, NULL, NULL)
GPOOL_CLASS(ck_global_max_pooling1d, "GlobalMaxPooling1D", 0, NULL, NULL)
GPOOL_CLASS(ck_global_max_pooling2d, "GlobalMaxPooling2D", 0, NULL, NULL)
GPOOL_CLASS(ck_global_max_pooling3d, "GlobalMaxPooling3D", 0, NULL, NULL)
