/* keras.layers.MaxPooling2D: the maximum over each pool_size window, moved
 * by strides, with TF's "valid" / "same" padding.  Padded positions are
 * -inf, i.e. they never win: the loops just clip the window to the input
 * (a "same" window always overlaps it).  Training keeps, per output, the
 * flat index of its window's maximum within its image (the batch item),
 * and backward routes each output gradient there. */
#include <math.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#include "layers/conv_utils.h"
#include "ops/ops.h"
#include "ops/thread_pool.h"
#include "layers/max_pooling2d.h"

typedef struct ck_max_pooling2d_layer {
    ck_layer base;
    int64_t pool_size[2], strides[2];
    int same, channels_first;
} ck_max_pooling2d_layer;

static ck_status pool_output_shape(const ck_layer *layer, int n, const ck_shape *in, ck_shape *out)
{
    const ck_max_pooling2d_layer *p = (const ck_max_pooling2d_layer *)layer;
    const ck_shape *s = &in[0];
    char buf[128];
    (void)n;
    if (s->rank != 4)
        return ck_error(CK_VALUE_ERROR, "Input 0 of layer \"%s\" is incompatible with the layer: expected ndim=4, "
                        "found ndim=%d. Full shape received: %s", layer->name, s->rank,
                        ck_shape_fmt(buf, sizeof buf, s));
    int hi = p->channels_first ? 2 : 1;
    ck_shape r = *s;
    for (int i = 0; i < 2; i++) {
        r.dims[hi + i] = ck_conv_output_length(s->dims[hi + i], p->pool_size[i], p->same, p->strides[i], 1);
        /* tf.TensorShape refuses a negative dim. */
        if (s->dims[hi + i] >= 0 && r.dims[hi + i] < 0)
            return ck_error(CK_VALUE_ERROR, "MaxPooling2D \"%s\": input shape %s is smaller than pool_size (%lld, "
                            "%lld) with padding \"valid\": the output dim would be %lld (must be >= 0)", layer->name,
                            ck_shape_fmt(buf, sizeof buf, s), (long long)p->pool_size[0],
                            (long long)p->pool_size[1], (long long)r.dims[hi + i]);
    }
    *out = r;
    return CK_OK;
}

typedef struct pool_geom {
    int64_t batch, c, h, w, oh, ow, kh, kw, sh, sw, ph, pw;
} pool_geom;

/* The window of output index o along one axis, clipped to [0, len). */
static inline void window(int64_t o, int64_t stride, int64_t pad, int64_t k, int64_t len, int64_t *lo, int64_t *hi)
{
    int64_t a = o * stride - pad, b = a + k;
    *lo = a < 0 ? 0 : a;
    *hi = b > len ? len : b;
}

/* ISNAN(v) keeps a NaN once seen (numpy's max); integers have none. */
#define CK_POOL_KERNELS(T, SUFFIX, ISNAN)                                                               \
    static void pool_last_##SUFFIX(const pool_geom *g, const T *x, T *y)                                \
    {                                                                                                   \
        for (int64_t b = 0; b < g->batch; b++) {                                                        \
            const T *xb = x + b * g->h * g->w * g->c;                                                   \
            for (int64_t oy = 0; oy < g->oh; oy++) {                                                    \
                int64_t y0, y1;                                                                         \
                window(oy, g->sh, g->ph, g->kh, g->h, &y0, &y1);                                        \
                for (int64_t ox = 0; ox < g->ow; ox++, y += g->c) {                                     \
                    int64_t x0, x1;                                                                     \
                    window(ox, g->sw, g->pw, g->kw, g->w, &x0, &x1);                                    \
                    memcpy(y, xb + (y0 * g->w + x0) * g->c, (size_t)g->c * sizeof(T));                  \
                    for (int64_t iy = y0; iy < y1; iy++)                                                \
                        for (int64_t ix = x0; ix < x1; ix++) {                                          \
                            const T *v = xb + (iy * g->w + ix) * g->c;                                  \
                            for (int64_t c = 0; c < g->c; c++)                                          \
                                if (v[c] > y[c] || ISNAN(v[c])) y[c] = v[c];                            \
                        }                                                                               \
                }                                                                                       \
            }                                                                                           \
        }                                                                                               \
    }                                                                                                   \
    static void pool_first_##SUFFIX(const pool_geom *g, const T *x, T *y)                               \
    {                                                                                                   \
        for (int64_t bc = 0; bc < g->batch * g->c; bc++) {                                              \
            const T *plane = x + bc * g->h * g->w;                                                      \
            for (int64_t oy = 0; oy < g->oh; oy++) {                                                    \
                int64_t y0, y1;                                                                         \
                window(oy, g->sh, g->ph, g->kh, g->h, &y0, &y1);                                        \
                for (int64_t ox = 0; ox < g->ow; ox++) {                                                \
                    int64_t x0, x1;                                                                     \
                    window(ox, g->sw, g->pw, g->kw, g->w, &x0, &x1);                                    \
                    T m = plane[y0 * g->w + x0];                                                        \
                    for (int64_t iy = y0; iy < y1; iy++)                                                \
                        for (int64_t ix = x0; ix < x1; ix++) {                                          \
                            T v = plane[iy * g->w + ix];                                                \
                            if (v > m || ISNAN(v)) m = v;                                               \
                        }                                                                               \
                    *y++ = m;                                                                           \
                }                                                                                       \
            }                                                                                           \
        }                                                                                               \
    }

#define IS_NAN(v) ((v) != (v))
#define NEVER_NAN(v) 0
CK_POOL_KERNELS(float, f32, IS_NAN)
CK_POOL_KERNELS(double, f64, IS_NAN)
CK_POOL_KERNELS(int32_t, i32, NEVER_NAN)
CK_POOL_KERNELS(int64_t, i64, NEVER_NAN)

static void pool_geometry(const ck_max_pooling2d_layer *p, const ck_tensor *x, const ck_tensor *out, pool_geom *g)
{
    int cf = p->channels_first, hi = cf ? 2 : 1;
    *g = (pool_geom){.batch = x->shape[0], .c = x->shape[cf ? 1 : 3], .h = x->shape[hi], .w = x->shape[hi + 1],
                     .oh = out->shape[hi], .ow = out->shape[hi + 1], .kh = p->pool_size[0], .kw = p->pool_size[1],
                     .sh = p->strides[0], .sw = p->strides[1]};
    g->ph = ck_conv_pad_before(g->h, g->oh, g->kh, p->same, g->sh, 1);
    g->pw = ck_conv_pad_before(g->w, g->ow, g->kw, p->same, g->sw, 1);
}

static ck_status pool_call(ck_layer *layer, int n, const ck_tensor *const *in, ck_tensor *const *outs)
{
    const ck_max_pooling2d_layer *p = (const ck_max_pooling2d_layer *)layer;
    const ck_tensor *x = in[0];
    ck_tensor *out = outs[0];
    (void)n;
    int cf = p->channels_first;
    pool_geom g;
    pool_geometry(p, x, out, &g);
    if (out->size == 0) return CK_OK;
    if (!cf && x->dtype == CK_FLOAT32) {
        const ck_pool_nhwc v = {.batch = g.batch, .h = g.h, .w = g.w, .c = g.c, .oh = g.oh, .ow = g.ow, .kh = g.kh,
                                .kw = g.kw, .sh = g.sh, .sw = g.sw, .ph = g.ph, .pw = g.pw};
        if (ck_maxpool_nhwc_f32(&v, x->data, out->data)) return CK_OK;
    }
    switch (x->dtype) {
    case CK_FLOAT32: (cf ? pool_first_f32 : pool_last_f32)(&g, x->data, out->data); break;
    case CK_FLOAT64: (cf ? pool_first_f64 : pool_last_f64)(&g, x->data, out->data); break;
    case CK_INT32: (cf ? pool_first_i32 : pool_last_i32)(&g, x->data, out->data); break;
    case CK_INT64: (cf ? pool_first_i64 : pool_last_i64)(&g, x->data, out->data); break;
    default: return ck_error(CK_TYPE_ERROR, "MaxPooling2D \"%s\": unsupported input dtype", layer->name);
    }
    return CK_OK;
}

int ck_max_pooling2d_nhwc(const ck_layer *layer, const ck_shape *in, ck_pool_nhwc *g)
{
    const ck_max_pooling2d_layer *p = (const ck_max_pooling2d_layer *)layer;
    ck_shape out;
    if (layer->cls != &ck_max_pooling2d_class || p->channels_first || layer->dtype != CK_FLOAT32 || in->rank != 4)
        return 0;
    for (int d = 0; d < 4; d++)
        if (in->dims[d] < 0) return 0;
    if (pool_output_shape(layer, 1, in, &out) != CK_OK) return 0;
    *g = (ck_pool_nhwc){.batch = in->dims[0], .h = in->dims[1], .w = in->dims[2], .c = in->dims[3],
                        .oh = out.dims[1], .ow = out.dims[2], .kh = p->pool_size[0], .kw = p->pool_size[1],
                        .sh = p->strides[0], .sw = p->strides[1]};
    g->ph = ck_conv_pad_before(g->h, g->oh, g->kh, p->same, g->sh, 1);
    g->pw = ck_conv_pad_before(g->w, g->ow, g->kw, p->same, g->sw, 1);
    return 1;
}

/* ---- training: saved = one int32 index per output element ----
 * The index within the batch item, so that 32 bits hold it for any image
 * below 2^31 elements: half the bytes of a flat int64 index, written by the
 * forward pass and read by the backward one (a small CNN's first pooling
 * keeps one for each of 346,112 outputs). */

static size_t pool_saved_bytes(const ck_layer *layer, int n, const ck_shape *in, const ck_shape *out)
{
    size_t count = 1;
    (void)layer, (void)n, (void)in;
    for (int i = 0; i < out->rank; i++) count *= (size_t)(out->dims[i] > 0 ? out->dims[i] : 0);
    return count * sizeof(int32_t);
}

/* The argmax TF's MaxPoolGrad uses (SpatialMaxPoolWithArgMaxHelper): the
 * window is scanned row by row, its first element taken, then any strictly
 * greater one, so ties go to the first maximum in scan order.  channels_last
 * also writes the window maxima into `best` (the output) in the same pass:
 * they are the inference values unless a window holds a NaN, which the
 * return value reports (then the caller reruns the inference kernel).  The
 * per-channel loops are branch-free selects so that they vectorise
 * (isgreater: `>` without the trap on NaN that stops the vectoriser). */
#define CK_POOL_ARGMAX(T, SUFFIX)                                                                       \
    CK_TARGET_CLONES static int argmax_last_##SUFFIX(const pool_geom *g, const T *x, T *best, int32_t *arg) \
    {                                                                                                   \
        int nan = 0;                                                                                    \
        const int64_t C = g->c;                                                                         \
        for (int64_t b = 0; b < g->batch; b++) {                                                        \
            const T *xb = x + b * g->h * g->w * C;                                                      \
            for (int64_t oy = 0; oy < g->oh; oy++) {                                                    \
                int64_t y0, y1;                                                                         \
                window(oy, g->sh, g->ph, g->kh, g->h, &y0, &y1);                                        \
                for (int64_t ox = 0; ox < g->ow; ox++, best += C, arg += C) {                           \
                    int64_t x0, x1;                                                                     \
                    window(ox, g->sw, g->pw, g->kw, g->w, &x0, &x1);                                    \
                    const int32_t at0 = (int32_t)((y0 * g->w + x0) * C);                                \
                    for (int64_t c = 0; c < C; c++) {                                                   \
                        best[c] = xb[at0 + c];                                                          \
                        arg[c] = at0 + (int32_t)c;                                                      \
                        nan |= xb[at0 + c] != xb[at0 + c];                                              \
                    }                                                                                   \
                    for (int64_t iy = y0; iy < y1; iy++)                                                \
                        for (int64_t ix = iy == y0 ? x0 + 1 : x0; ix < x1; ix++) {                      \
                            const int32_t at = (int32_t)((iy * g->w + ix) * C);                         \
                            const T *v = xb + at;                                                       \
                            for (int64_t c = 0; c < C; c++) {                                           \
                                const int gt = isgreater(v[c], best[c]);                                \
                                best[c] = gt ? v[c] : best[c];                                          \
                                arg[c] = gt ? at + (int32_t)c : arg[c];                                 \
                                nan |= v[c] != v[c];                                                    \
                            }                                                                           \
                        }                                                                               \
                }                                                                                       \
            }                                                                                           \
        }                                                                                               \
        return nan;                                                                                     \
    }                                                                                                   \
    static void argmax_first_##SUFFIX(const pool_geom *g, const T *x, int32_t *arg)                     \
    {                                                                                                   \
        for (int64_t bc = 0; bc < g->batch * g->c; bc++) {                                              \
            /* bc's plane, and its offset within the image of item bc / c */                           \
            const int64_t base = bc * g->h * g->w, in_image = (bc % g->c) * g->h * g->w;               \
            for (int64_t oy = 0; oy < g->oh; oy++) {                                                    \
                int64_t y0, y1;                                                                         \
                window(oy, g->sh, g->ph, g->kh, g->h, &y0, &y1);                                        \
                for (int64_t ox = 0; ox < g->ow; ox++) {                                                \
                    int64_t x0, x1;                                                                     \
                    window(ox, g->sw, g->pw, g->kw, g->w, &x0, &x1);                                    \
                    int64_t at = base + y0 * g->w + x0;                                                 \
                    T m = x[at];                                                                        \
                    for (int64_t iy = y0; iy < y1; iy++)                                                \
                        for (int64_t ix = x0; ix < x1; ix++)                                            \
                            if (x[base + iy * g->w + ix] > m) {                                         \
                                at = base + iy * g->w + ix;                                             \
                                m = x[at];                                                              \
                            }                                                                           \
                    *arg++ = (int32_t)(at - base + in_image);                                           \
                }                                                                                       \
            }                                                                                           \
        }                                                                                               \
    }

CK_POOL_ARGMAX(float, f32)
CK_POOL_ARGMAX(double, f64)

/* Training's two passes on the pool's threads, a range of batch items per
 * part (every item's windows, maxima and gradients are its own, so the
 * results do not depend on the split). */
typedef struct pool_job {
    pool_geom g; /* batch: all the items */
    ck_dtype dt;
    int channels_first;
    const void *x, *dy;
    void *best, *dx;
    int32_t *arg;
    atomic_int nan;
} pool_job;

static void argmax_items(void *arg, int64_t b0, int64_t b1)
{
    pool_job *j = arg;
    pool_geom g = j->g;
    g.batch = b1 - b0;
    const size_t es = ck_dtype_size(j->dt);
    const int64_t in_item = g.h * g.w * g.c, out_item = g.oh * g.ow * g.c;
    const char *x = (const char *)j->x + (size_t)(b0 * in_item) * es;
    int32_t *a = j->arg + b0 * out_item;
    if (j->channels_first) {
        if (j->dt == CK_FLOAT32) argmax_first_f32(&g, (const float *)x, a);
        else argmax_first_f64(&g, (const double *)x, a);
        return;
    }
    char *best = (char *)j->best + (size_t)(b0 * out_item) * es;
    const int nan = j->dt == CK_FLOAT32 ? argmax_last_f32(&g, (const float *)x, (float *)best, a)
                                        : argmax_last_f64(&g, (const double *)x, (double *)best, a);
    if (nan) atomic_store(&j->nan, 1);
}

/* dx of items [b0, b1): zeros, then each output's gradient added at its
 * window's maximum (overlapping windows, strides < pool_size, may share
 * one: sum). */
static void scatter_items(void *arg, int64_t b0, int64_t b1)
{
    const pool_job *j = arg;
    const int64_t image = j->g.h * j->g.w * j->g.c, outs = j->g.oh * j->g.ow * j->g.c;
    const size_t es = ck_dtype_size(j->dt);
    memset((char *)j->dx + (size_t)(b0 * image) * es, 0, (size_t)((b1 - b0) * image) * es);
    for (int64_t b = b0; b < b1; b++) {
        const int32_t *a = j->arg + b * outs;
        if (j->dt == CK_FLOAT32) {
            float *g = (float *)j->dx + b * image;
            const float *dy = (const float *)j->dy + b * outs;
            for (int64_t o = 0; o < outs; o++) g[a[o]] += dy[o];
        } else {
            double *g = (double *)j->dx + b * image;
            const double *dy = (const double *)j->dy + b * outs;
            for (int64_t o = 0; o < outs; o++) g[a[o]] += dy[o];
        }
    }
}

static ck_status pool_train_call(ck_layer *layer, const ck_train_ctx *ctx, int n, const ck_tensor *const *in,
                                 ck_tensor *const *outs, void *saved)
{
    const ck_max_pooling2d_layer *p = (const ck_max_pooling2d_layer *)layer;
    const ck_tensor *x = in[0];
    ck_tensor *out = outs[0];
    (void)ctx;
    /* Integer inputs get no gradient: the plain forward pass is enough. */
    if (out->size == 0 || !ck_dtype_is_floating(x->dtype)) return pool_call(layer, n, in, outs);
    pool_geom g;
    pool_geometry(p, x, out, &g);
    if ((double)g.h * (double)g.w * (double)g.c > (double)INT32_MAX)
        return ck_error(CK_VALUE_ERROR,
                        "MaxPooling2D \"%s\": training takes images of at most 2^31 - 1 elements, got (%lld, %lld, "
                        "%lld)", layer->name, (long long)g.h, (long long)g.w, (long long)g.c);
    pool_job j = {.g = g, .dt = x->dtype, .channels_first = p->channels_first, .x = x->data, .best = out->data,
                  .arg = saved};
    atomic_init(&j.nan, 0);
    ck_pool_for(g.batch, 1, 4.0 * (double)x->size, argmax_items, &j);
    if (!p->channels_first && !atomic_load(&j.nan)) return CK_OK; /* the maxima are the values */
    /* The values themselves as inference computes them (a NaN in a window
     * wins there, while the argmax above never moves to one). */
    return pool_call(layer, n, in, outs);
}

static ck_status pool_backward(ck_layer *layer, const ck_train_ctx *ctx, int n, const ck_tensor *const *in,
                               const ck_tensor *out, const ck_tensor *dout, void *saved, ck_tensor *const *din)
{
    ck_tensor *dx = din ? din[0] : NULL;
    (void)ctx, (void)n;
    if (!dx) return CK_OK;
    if (!ck_dtype_is_floating(in[0]->dtype))
        return ck_error(CK_TYPE_ERROR, "MaxPooling2D \"%s\": no gradient for %s inputs", layer->name,
                        ck_dtype_name(in[0]->dtype));
    const ck_max_pooling2d_layer *p = (const ck_max_pooling2d_layer *)layer;
    pool_job j = {.dt = dx->dtype, .dy = dout->data, .dx = dx->data, .arg = saved};
    pool_geometry(p, in[0], out, &j.g);
    ck_pool_for(j.g.batch, 1, 2.0 * (double)dx->size, scatter_items, &j);
    return CK_OK;
}

static ck_status pool_get_config(const ck_layer *layer, json_t *j)
{
    const ck_max_pooling2d_layer *p = (const ck_max_pooling2d_layer *)layer;
    ck_status st = ck_json_set(j, "pool_size", ck_conv_pair_to_json(p->pool_size));
    if (st == CK_OK) st = ck_json_set(j, "padding", json_string(p->same ? "same" : "valid"));
    if (st == CK_OK) st = ck_json_set(j, "strides", ck_conv_pair_to_json(p->strides));
    if (st == CK_OK)
        st = ck_json_set(j, "data_format", json_string(p->channels_first ? "channels_first" : "channels_last"));
    return st;
}

/* Strides may be 0 for normalize_tuple, but conv_output_length divides by
 * them (a ZeroDivisionError in Keras). */
static ck_status check_strides(const int64_t s[2])
{
    if (s[0] == 0 || s[1] == 0)
        return ck_error(CK_VALUE_ERROR, "MaxPooling2D: `strides` cannot contain 0(s). Received: (%lld, %lld)",
                        (long long)s[0], (long long)s[1]);
    return CK_OK;
}

static void pool_finish(ck_layer *layer, const ck_max_pooling2d_layer *args)
{
    ck_max_pooling2d_layer *p = (ck_max_pooling2d_layer *)layer;
    memcpy(p->pool_size, args->pool_size, sizeof p->pool_size);
    memcpy(p->strides, args->strides, sizeof p->strides);
    p->same = args->same;
    p->channels_first = args->channels_first;
    layer->spec = (ck_input_spec){.ndim = 4};
}

ck_status ck_max_pooling2d(ck_layer **out, const ck_max_pooling2d_opts *o)
{
    CK_NEED(out);
    static const ck_max_pooling2d_opts defaults;
    static const int64_t twos[2] = {2, 2};
    if (!o) o = &defaults;
    ck_max_pooling2d_layer a = {0};
    CK_TRY(ck_conv_pair_opts(o->pool_size, twos, "MaxPooling2D", "pool_size", 0, a.pool_size));
    CK_TRY(ck_conv_pair_opts(o->strides, a.pool_size, "MaxPooling2D", "strides", 1, a.strides));
    CK_TRY(check_strides(a.strides));
    CK_TRY(ck_conv_parse_padding(o->padding, "MaxPooling2D", &a.same));
    CK_TRY(ck_conv_parse_data_format(o->data_format, 0, &a.channels_first));
    ck_layer *layer = NULL;
    CK_TRY(CK_ARG_CREATE(&ck_max_pooling2d_class, o, &layer));
    pool_finish(layer, &a);
    *out = layer;
    return CK_OK;
}

static ck_status pool_from_config(const json_t *c, ck_layer **out)
{
    static const char *const keys[] = {"pool_size", "padding", "strides", "data_format",
                                       /* Keras 1 */
                                       "border_mode", "dim_ordering", NULL};
    const char *cls = "MaxPooling2D";
    if (!json_is_object(c)) return ck_error(CK_FORMAT_ERROR, "MaxPooling2D config must be a JSON object");
    ck_max_pooling2d_layer a = {.pool_size = {2, 2}};
    CK_TRY(ck_conv_pair_json(json_object_get(c, "pool_size"), cls, "pool_size", 0, a.pool_size));
    memcpy(a.strides, a.pool_size, sizeof a.strides); /* strides None: pool_size */
    CK_TRY(ck_conv_pair_json(json_object_get(c, "strides"), cls, "strides", 1, a.strides));
    CK_TRY(check_strides(a.strides));
    CK_TRY(ck_conv_padding_json(ck_arg_get2(c, "padding", "border_mode"), cls, "padding", &a.same));
    if (json_object_get(c, "data_format"))
        CK_TRY(ck_conv_data_format_json(json_object_get(c, "data_format"), cls, "data_format", 0,
                                        &a.channels_first));
    else
        CK_TRY(ck_conv_data_format_json(json_object_get(c, "dim_ordering"), cls, "dim_ordering", 1,
                                        &a.channels_first));
    ck_layer *layer = NULL;
    CK_TRY(ck_layer_create_from_config(&ck_max_pooling2d_class, c, keys, &layer));
    pool_finish(layer, &a);
    *out = layer;
    return CK_OK;
}

const ck_layer_class ck_max_pooling2d_class = {
    .class_name = "MaxPooling2D",
    .size = sizeof(ck_max_pooling2d_layer),
    .arity = CK_ONE_INPUT,
    .compute_output_shape = pool_output_shape,
    .call = pool_call,
    .get_config = pool_get_config,
    .from_config = pool_from_config,
    .saved_bytes = pool_saved_bytes,
    .train_call = pool_train_call,
    .backward = pool_backward,
};
