/* Windowed pooling for 1 to 3 spatial dims: keras.layers.MaxPooling1D,
 * AveragePooling1D, AveragePooling2D, MaxPooling3D, AveragePooling3D
 * (MaxPooling2D has its own, older file with the same semantics).
 *
 * One geometry covers every rank: the spatial dims are padded in front to
 * three (D, H, W), channels_last data is (B, D, H, W, C) and channels_first
 * (B, C, D, H, W), so the kernels take a channel stride and a position
 * stride.  TF's padding: "same" windows are clipped to the input; max
 * pooling's padded positions never win, and average pooling divides by the
 * number of positions inside the input (TF's AvgPool excludes padding).
 * tf.keras computes the 1D layers as 2D pooling of an expanded input, which
 * gives exactly these windows.  Training: max pooling keeps one int64 input
 * index per output (the first maximum in scan order, as TF's MaxPoolGrad),
 * average pooling keeps nothing (backward spreads dy / count over the
 * window). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "layers/conv_utils.h"
#include "layers/spatial_args.h"

typedef struct pool_layer {
    ck_layer base;
    int nd, avg;                 /* from the class */
    int64_t pool[3], strides[3]; /* nd entries */
    int same, channels_first;
} pool_layer;

typedef struct pool_kind {
    const ck_layer_class *cls;
    const char *name;
    int nd, avg;
} pool_kind;

static const pool_kind KINDS[] = {
    {&ck_max_pooling1d_class, "MaxPooling1D", 1, 0},
    {&ck_average_pooling1d_class, "AveragePooling1D", 1, 1},
    {&ck_average_pooling2d_class, "AveragePooling2D", 2, 1},
    {&ck_max_pooling3d_class, "MaxPooling3D", 3, 0},
    {&ck_average_pooling3d_class, "AveragePooling3D", 3, 1},
};

static const pool_kind *kind_of(const ck_layer_class *cls)
{
    for (size_t i = 0; i < sizeof KINDS / sizeof KINDS[0]; i++)
        if (KINDS[i].cls == cls) return &KINDS[i];
    return NULL;
}

static ck_status pool_output_shape(const ck_layer *layer, int n, const ck_shape *in, ck_shape *out)
{
    const pool_layer *p = (const pool_layer *)layer;
    char buf[128], t[64];
    (void)n;
    CK_TRY(ck_sp_check_rank(layer, &in[0], p->nd + 2));
    int s0 = p->channels_first ? 2 : 1;
    ck_shape r = in[0];
    for (int i = 0; i < p->nd; i++) {
        int64_t len = in[0].dims[s0 + i];
        r.dims[s0 + i] = ck_conv_output_length(len, p->pool[i], p->same, p->strides[i], 1);
        /* tf.TensorShape refuses a negative dim. */
        if (len >= 0 && r.dims[s0 + i] < 0)
            return ck_error(CK_VALUE_ERROR, "%s \"%s\": input shape %s is smaller than pool_size %s with padding "
                            "\"valid\": the output dim would be %lld (must be >= 0)", layer->cls->class_name,
                            layer->name, ck_shape_fmt(buf, sizeof buf, &in[0]),
                            ck_sp_tuple_fmt(t, sizeof t, p->pool, p->nd), (long long)r.dims[s0 + i]);
    }
    *out = r;
    return CK_OK;
}

/* One call's sizes, spatial dims padded in front to 3. */
typedef struct geom {
    int64_t batch, c, in[3], out[3], k[3], s[3], pad[3];
    int64_t in_pos, out_pos;       /* spatial positions per image */
    int64_t cstride_in, pstride_in; /* element strides of a channel and a position */
    int64_t cstride_out, pstride_out;
} geom;

static void geometry(const pool_layer *p, const ck_tensor *x, const ck_tensor *y, geom *g)
{
    int cf = p->channels_first, s0 = cf ? 2 : 1, off = 3 - p->nd;
    memset(g, 0, sizeof *g);
    g->batch = x->shape[0];
    g->c = x->shape[cf ? 1 : x->rank - 1];
    for (int i = 0; i < 3; i++) g->in[i] = g->out[i] = g->k[i] = g->s[i] = 1;
    for (int i = 0; i < p->nd; i++) {
        g->in[off + i] = x->shape[s0 + i];
        g->out[off + i] = y->shape[s0 + i];
        g->k[off + i] = p->pool[i];
        g->s[off + i] = p->strides[i];
        g->pad[off + i] = ck_conv_pad_before(g->in[off + i], g->out[off + i], p->pool[i], p->same, p->strides[i], 1);
    }
    g->in_pos = g->in[0] * g->in[1] * g->in[2];
    g->out_pos = g->out[0] * g->out[1] * g->out[2];
    g->cstride_in = cf ? g->in_pos : 1;
    g->pstride_in = cf ? 1 : g->c;
    g->cstride_out = cf ? g->out_pos : 1;
    g->pstride_out = cf ? 1 : g->c;
}

/* The window of output index o along one axis, clipped to [0, len). */
static inline void window(int64_t o, int64_t stride, int64_t pad, int64_t k, int64_t len, int64_t *lo, int64_t *hi)
{
    int64_t a = o * stride - pad, b = a + k;
    *lo = a < 0 ? 0 : a;
    *hi = b > len ? len : b;
}

/* Visits every output position (b, oz, oy, ox) with its clipped window:
 * The body sees xb / yb (element offsets of the image and of the output
 * position's channel 0), the window bounds z0..z1, y0..y1, x0..x1 and the
 * flat output position `op`. */
#define FOR_EACH_WINDOW(g, ...)                                                                        \
    for (int64_t b = 0; b < (g)->batch; b++) {                                                          \
        const int64_t xb = b * (g)->c * (g)->in_pos;                                                    \
        int64_t op = 0;                                                                                 \
        for (int64_t oz = 0; oz < (g)->out[0]; oz++) {                                                  \
            int64_t z0, z1;                                                                             \
            window(oz, (g)->s[0], (g)->pad[0], (g)->k[0], (g)->in[0], &z0, &z1);                        \
            for (int64_t oy = 0; oy < (g)->out[1]; oy++) {                                              \
                int64_t y0, y1;                                                                         \
                window(oy, (g)->s[1], (g)->pad[1], (g)->k[1], (g)->in[1], &y0, &y1);                    \
                for (int64_t ox = 0; ox < (g)->out[2]; ox++, op++) {                                    \
                    int64_t x0, x1;                                                                     \
                    window(ox, (g)->s[2], (g)->pad[2], (g)->k[2], (g)->in[2], &x0, &x1);                \
                    const int64_t yb = b * (g)->c * (g)->out_pos + op * (g)->pstride_out;              \
                    __VA_ARGS__                                                                         \
                }                                                                                       \
            }                                                                                           \
        }                                                                                               \
    }

/* Visits the input positions of the current window (the body sees `at`, is the element
 * offset of the position's channel 0. */
#define FOR_WINDOW_POS(g, ...)                                                                         \
    for (int64_t iz = z0; iz < z1; iz++)                                                                \
        for (int64_t iy = y0; iy < y1; iy++)                                                            \
            for (int64_t ix = x0; ix < x1; ix++) {                                                      \
                const int64_t at = xb + ((iz * (g)->in[1] + iy) * (g)->in[2] + ix) * (g)->pstride_in;   \
                __VA_ARGS__                                                                             \
            }

/* ISNAN(v) keeps a NaN once seen (numpy's max, TF's MaxPool); integers
 * have none. */
#define POOL_MAX(T, SUFFIX, ISNAN)                                                                      \
    static void max_##SUFFIX(const geom *g, const T *x, T *y)                                           \
    {                                                                                                   \
        const int64_t ci = g->cstride_in, co = g->cstride_out;                                          \
        FOR_EACH_WINDOW(g, {                                                                            \
            const int64_t first = xb + ((z0 * g->in[1] + y0) * g->in[2] + x0) * g->pstride_in;         \
            for (int64_t c = 0; c < g->c; c++) y[yb + c * co] = x[first + c * ci];                      \
            FOR_WINDOW_POS(g, {                                                                         \
                for (int64_t c = 0; c < g->c; c++) {                                                    \
                    const T v = x[at + c * ci];                                                         \
                    if (v > y[yb + c * co] || ISNAN(v)) y[yb + c * co] = v;                             \
                }                                                                                       \
            })                                                                                          \
        })                                                                                              \
    }

#define IS_NAN(v) ((v) != (v))
#define NEVER_NAN(v) 0
POOL_MAX(float, f32, IS_NAN)
POOL_MAX(double, f64, IS_NAN)
POOL_MAX(int32_t, i32, NEVER_NAN)
POOL_MAX(int64_t, i64, NEVER_NAN)

/* Sums in T as TF's Eigen kernel does, then divides by the positions
 * inside the input. */
#define POOL_AVG(T, SUFFIX)                                                                             \
    static void avg_##SUFFIX(const geom *g, const T *x, T *y)                                           \
    {                                                                                                   \
        const int64_t ci = g->cstride_in, co = g->cstride_out;                                          \
        FOR_EACH_WINDOW(g, {                                                                            \
            for (int64_t c = 0; c < g->c; c++) y[yb + c * co] = 0;                                      \
            FOR_WINDOW_POS(g, {                                                                         \
                for (int64_t c = 0; c < g->c; c++) y[yb + c * co] += x[at + c * ci];                   \
            })                                                                                          \
            const T count = (T)((z1 - z0) * (y1 - y0) * (x1 - x0));                                     \
            for (int64_t c = 0; c < g->c; c++) y[yb + c * co] /= count;                                 \
        })                                                                                              \
    }                                                                                                   \
    static void avg_grad_##SUFFIX(const geom *g, const T *dy, T *dx)                                    \
    {                                                                                                   \
        const int64_t ci = g->cstride_in, co = g->cstride_out;                                          \
        FOR_EACH_WINDOW(g, {                                                                            \
            const T count = (T)((z1 - z0) * (y1 - y0) * (x1 - x0));                                     \
            FOR_WINDOW_POS(g, {                                                                         \
                for (int64_t c = 0; c < g->c; c++) dx[at + c * ci] += dy[yb + c * co] / count;         \
            })                                                                                          \
        })                                                                                              \
    }

POOL_AVG(float, f32)
POOL_AVG(double, f64)

/* The argmax TF's MaxPoolGrad uses: the window's first element, then any
 * strictly greater one in scan order (isgreater: a NaN never takes it). */
#define POOL_ARGMAX(T, SUFFIX)                                                                          \
    static void argmax_##SUFFIX(const geom *g, const T *x, int64_t *arg)                                \
    {                                                                                                   \
        const int64_t ci = g->cstride_in, co = g->cstride_out;                                          \
        FOR_EACH_WINDOW(g, {                                                                            \
            const int64_t first = xb + ((z0 * g->in[1] + y0) * g->in[2] + x0) * g->pstride_in;         \
            for (int64_t c = 0; c < g->c; c++) arg[yb + c * co] = first + c * ci;                       \
            FOR_WINDOW_POS(g, {                                                                         \
                for (int64_t c = 0; c < g->c; c++)                                                      \
                    if (isgreater(x[at + c * ci], x[arg[yb + c * co]])) arg[yb + c * co] = at + c * ci; \
            })                                                                                          \
        })                                                                                              \
    }

POOL_ARGMAX(float, f32)
POOL_ARGMAX(double, f64)

static ck_status pool_call(ck_layer *layer, int n, const ck_tensor *const *in, ck_tensor *const *outs)
{
    const pool_layer *p = (const pool_layer *)layer;
    const ck_tensor *x = in[0];
    ck_tensor *y = outs[0];
    (void)n;
    geom g;
    geometry(p, x, y, &g);
    if (y->size == 0) return CK_OK;
    if (p->avg) {
        switch (x->dtype) {
        case CK_FLOAT32: avg_f32(&g, x->data, y->data); return CK_OK;
        case CK_FLOAT64: avg_f64(&g, x->data, y->data); return CK_OK;
        default:
            /* TF registers AvgPool for floating types only. */
            return ck_error(CK_TYPE_ERROR, "%s \"%s\": average pooling needs floating inputs, got %s",
                            layer->cls->class_name, layer->name, ck_dtype_name(x->dtype));
        }
    }
    switch (x->dtype) {
    case CK_FLOAT32: max_f32(&g, x->data, y->data); break;
    case CK_FLOAT64: max_f64(&g, x->data, y->data); break;
    case CK_INT32: max_i32(&g, x->data, y->data); break;
    case CK_INT64: max_i64(&g, x->data, y->data); break;
    default: return ck_error(CK_TYPE_ERROR, "%s \"%s\": unsupported input dtype", layer->cls->class_name, layer->name);
    }
    return CK_OK;
}

/* ---- training ---------------------------------------------------------------- */

static size_t pool_saved_bytes(const ck_layer *layer, int n, const ck_shape *in, const ck_shape *out)
{
    const pool_layer *p = (const pool_layer *)layer;
    size_t count = 1;
    (void)n, (void)in;
    if (p->avg) return 0;
    for (int i = 0; i < out->rank; i++) count *= (size_t)(out->dims[i] > 0 ? out->dims[i] : 0);
    return count * sizeof(int64_t);
}

static ck_status pool_train_call(ck_layer *layer, const ck_train_ctx *ctx, int n, const ck_tensor *const *in,
                                 ck_tensor *const *outs, void *saved)
{
    const pool_layer *p = (const pool_layer *)layer;
    const ck_tensor *x = in[0];
    (void)ctx;
    CK_TRY(pool_call(layer, n, in, outs));
    if (p->avg || outs[0]->size == 0 || !ck_dtype_is_floating(x->dtype)) return CK_OK;
    geom g;
    geometry(p, x, outs[0], &g);
    if (x->dtype == CK_FLOAT32) argmax_f32(&g, x->data, saved);
    else argmax_f64(&g, x->data, saved);
    return CK_OK;
}

static ck_status pool_backward(ck_layer *layer, const ck_train_ctx *ctx, int n, const ck_tensor *const *in,
                               const ck_tensor *out, const ck_tensor *dout, void *saved, ck_tensor *const *din)
{
    const pool_layer *p = (const pool_layer *)layer;
    ck_tensor *dx = din ? din[0] : NULL;
    (void)ctx, (void)n;
    if (!dx) return CK_OK;
    if (!ck_dtype_is_floating(in[0]->dtype))
        return ck_error(CK_TYPE_ERROR, "%s \"%s\": no gradient for %s inputs", layer->cls->class_name, layer->name,
                        ck_dtype_name(in[0]->dtype));
    memset(dx->data, 0, (size_t)dx->size * ck_dtype_size(dx->dtype));
    if (out->size == 0) return CK_OK;
    if (p->avg) {
        geom g;
        geometry(p, in[0], out, &g);
        if (dx->dtype == CK_FLOAT32) avg_grad_f32(&g, dout->data, dx->data);
        else avg_grad_f64(&g, dout->data, dx->data);
        return CK_OK;
    }
    /* Overlapping windows (strides < pool_size) may share a maximum: sum. */
    const int64_t *arg = saved;
    if (dx->dtype == CK_FLOAT32) {
        float *gx = dx->data;
        const float *gy = dout->data;
        for (int64_t o = 0; o < out->size; o++) gx[arg[o]] += gy[o];
    } else {
        double *gx = dx->data;
        const double *gy = dout->data;
        for (int64_t o = 0; o < out->size; o++) gx[arg[o]] += gy[o];
    }
    return CK_OK;
}

/* ---- configs ------------------------------------------------------------------- */

static ck_status pool_get_config(const ck_layer *layer, json_t *j)
{
    const pool_layer *p = (const pool_layer *)layer;
    ck_status st = CK_OK;
    /* tf.keras' Pooling1D writes strides first; Pooling2D / 3D pool_size. */
    if (p->nd == 1) st = ck_json_set(j, "strides", ck_sp_tuple_to_json(p->strides, 1));
    if (st == CK_OK) st = ck_json_set(j, "pool_size", ck_sp_tuple_to_json(p->pool, p->nd));
    if (st == CK_OK) st = ck_json_set(j, "padding", json_string(p->same ? "same" : "valid"));
    if (st == CK_OK && p->nd != 1) st = ck_json_set(j, "strides", ck_sp_tuple_to_json(p->strides, p->nd));
    if (st == CK_OK) st = ck_json_set(j, "data_format", ck_sp_data_format_to_json(p->channels_first));
    return st;
}

/* normalize_tuple allows a zero stride, but conv_output_length divides by
 * it (TF: "Stride must be > 0"); refused when the layer is made. */
static ck_status check_strides(const pool_layer *a, const char *cls)
{
    char t[64];
    for (int i = 0; i < a->nd; i++)
        if (a->strides[i] == 0)
            return ck_error(CK_VALUE_ERROR, "%s: `strides` cannot contain 0(s). Received: %s", cls,
                            ck_sp_tuple_fmt(t, sizeof t, a->strides, a->nd));
    return CK_OK;
}

static void pool_finish(ck_layer *layer, const pool_layer *a)
{
    pool_layer *p = (pool_layer *)layer;
    memcpy(p->pool, a->pool, sizeof p->pool);
    memcpy(p->strides, a->strides, sizeof p->strides);
    p->nd = a->nd;
    p->avg = a->avg;
    p->same = a->same;
    p->channels_first = a->channels_first;
    layer->spec = (ck_input_spec){.ndim = a->nd + 2};
}

static ck_status pool_new(const ck_layer_class *cls, const ck_pooling_opts *o, ck_layer **out)
{
    static const ck_pooling_opts defaults;
    static const int64_t twos[3] = {2, 2, 2};
    const pool_kind *k = kind_of(cls);
    if (!o) o = &defaults;
    pool_layer a = {.nd = k->nd, .avg = k->avg};
    CK_TRY(ck_sp_tuple_opts(o->pool_size, k->nd, twos, k->name, "pool_size", 0, a.pool));
    CK_TRY(ck_sp_tuple_opts(o->strides, k->nd, a.pool, k->name, "strides", 1, a.strides));
    CK_TRY(check_strides(&a, k->name));
    CK_TRY(ck_conv_parse_padding(o->padding, k->name, &a.same));
    CK_TRY(ck_sp_data_format(o->data_format, &a.channels_first));
    ck_layer *layer = NULL;
    CK_TRY(CK_ARG_CREATE(cls, o, &layer));
    pool_finish(layer, &a);
    *out = layer;
    return CK_OK;
}

ck_status ck_max_pooling1d(ck_layer **out, const ck_pooling_opts *o)
{
    CK_NEED(out);
    return pool_new(&ck_max_pooling1d_class, o, out);
}
ck_status ck_average_pooling1d(ck_layer **out, const ck_pooling_opts *o)
{
    CK_NEED(out);
    return pool_new(&ck_average_pooling1d_class, o, out);
}
ck_status ck_average_pooling2d(ck_layer **out, const ck_pooling_opts *o)
{
    CK_NEED(out);
    return pool_new(&ck_average_pooling2d_class, o, out);
}
ck_status ck_max_pooling3d(ck_layer **out, const ck_pooling_opts *o)
{
    CK_NEED(out);
    return pool_new(&ck_max_pooling3d_class, o, out);
}
ck_status ck_average_pooling3d(ck_layer **out, const ck_pooling_opts *o)
{
    CK_NEED(out);
    return pool_new(&ck_average_pooling3d_class, o, out);
}

/* Every dialect: tf.keras 2.x / Keras 3 (pool_size, strides, padding,
 * data_format), Keras 1 (pool_length, stride, border_mode for 1D;
 * border_mode, dim_ordering for 2D / 3D). */
static ck_status pool_from_config_as(const ck_layer_class *cls, const json_t *c, ck_layer **out)
{
    static const char *const keys[] = {"pool_size", "padding", "strides", "data_format",
                                       /* Keras 1 */
                                       "pool_length", "stride", "border_mode", "dim_ordering", NULL};
    const pool_kind *k = kind_of(cls);
    if (!json_is_object(c)) return ck_error(CK_FORMAT_ERROR, "%s config must be a JSON object", k->name);
    pool_layer a = {.nd = k->nd, .avg = k->avg, .pool = {2, 2, 2}};
    const json_t *ps = k->nd == 1 ? ck_arg_get2(c, "pool_size", "pool_length") : json_object_get(c, "pool_size");
    CK_TRY(ck_sp_tuple_json(ps, k->nd, k->name, "pool_size", 0, a.pool));
    memcpy(a.strides, a.pool, sizeof a.strides); /* strides None: pool_size */
    const json_t *st = k->nd == 1 ? ck_arg_get2(c, "strides", "stride") : json_object_get(c, "strides");
    CK_TRY(ck_sp_tuple_json(st, k->nd, k->name, "strides", 1, a.strides));
    CK_TRY(check_strides(&a, k->name));
    CK_TRY(ck_conv_padding_json(ck_arg_get2(c, "padding", "border_mode"), k->name, "padding", &a.same));
    CK_TRY(ck_sp_data_format_json(c, k->name, &a.channels_first));
    ck_layer *layer = NULL;
    CK_TRY(ck_layer_create_from_config(cls, c, keys, &layer));
    pool_finish(layer, &a);
    *out = layer;
    return CK_OK;
}

#define POOL_CLASS(VAR, NAME)                                                                           \
    static ck_status VAR##_from_config(const json_t *c, ck_layer **out)                                 \
    {                                                                                                   \
        return pool_from_config_as(&VAR##_class, c, out);                                              \
    }                                                                                                   \
    const ck_layer_class VAR##_class = {                                                                \
        .class_name = NAME,                                                                             \
        .size = sizeof(pool_layer),                                                                     \
        .arity = CK_ONE_INPUT,                                                                          \
        .compute_output_shape = pool_output_shape,                                                      \
        .call = pool_call,                                                                              \
        .get_config = pool_get_config,                                                                  \
        .from_config = VAR##_from_config,                                                               \
        .saved_bytes = pool_saved_bytes,                                                                \
        .train_call = pool_train_call,                                                                  \
        .backward = pool_backward,                                                                      \
    };

POOL_CLASS(ck_max_pooling1d, "MaxPooling1D")
POOL_CLASS(ck_average_pooling1d, "AveragePooling1D")
POOL_CLASS(ck_average_pooling2d, "AveragePooling2D")
POOL_CLASS(ck_max_pooling3d, "MaxPooling3D")
POOL_CLASS(ck_average_pooling3d, "AveragePooling3D")
