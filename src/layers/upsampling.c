/* keras.layers.UpSampling1D / 2D / 3D.  "nearest" repeats every element
 * size[i] times along each spatial axis (backend.repeat_elements, and
 * tf.image.resize's NEAREST_NEIGHBOR with half-pixel centres, which for an
 * integer factor picks the same source index o // size); its gradient sums
 * each block.  UpSampling2D's "bilinear" is tf.image.resize(method=
 * BILINEAR) of TF 2.x: half_pixel_centers=True, align_corners=False, the
 * source coordinate (o + 0.5) * (in / out) - 0.5 and its interpolation
 * weights computed in float32 as TF's ResizeBilinear does, the values in
 * the layer dtype; the gradient is ResizeBilinearGrad's scatter of dy with
 * the same weights.  The other tf.image methods Keras accepts (bicubic,
 * area, lanczos3, lanczos5, gaussian, mitchellcubic) are
 * CK_NOT_IMPLEMENTED.  Nothing is saved for training. */
#include <math.h>
#include <string.h>

#include "layers/spatial_args.h"

typedef struct up_layer {
    ck_layer base;
    int nd, channels_first, bilinear;
    int64_t size[3];
} up_layer;

static const char *class_of(int nd)
{
    return nd == 1 ? "UpSampling1D" : nd == 2 ? "UpSampling2D" : "UpSampling3D";
}

static ck_status up_output_shape(const ck_layer *layer, int n, const ck_shape *in, ck_shape *out)
{
    const up_layer *u = (const up_layer *)layer;
    (void)n;
    CK_TRY(ck_sp_check_rank(layer, &in[0], u->nd + 2));
    int s0 = u->channels_first ? 2 : 1;
    ck_shape r = in[0];
    for (int i = 0; i < u->nd; i++)
        if (r.dims[s0 + i] >= 0 && ck_mul_overflow_i64(r.dims[s0 + i], u->size[i], &r.dims[s0 + i]))
            return ck_error(CK_VALUE_ERROR, "%s \"%s\": the up-sampled size overflows", class_of(u->nd), layer->name);
    *out = r;
    return CK_OK;
}

/* Sizes padded in front to 3 spatial dims, with the element strides of a
 * position and a channel (channels_last: C and 1; channels_first: 1 and
 * the positions per image). */
typedef struct geom {
    int64_t batch, c, in[3], out[3], f[3], in_pos, out_pos, psi, csi, pso, cso;
} geom;

static void geometry(const up_layer *u, const ck_tensor *x, geom *g)
{
    int cf = u->channels_first, s0 = cf ? 2 : 1, off = 3 - u->nd;
    memset(g, 0, sizeof *g);
    g->batch = x->shape[0];
    g->c = x->shape[cf ? 1 : x->rank - 1];
    for (int i = 0; i < 3; i++) g->in[i] = g->out[i] = g->f[i] = 1;
    for (int i = 0; i < u->nd; i++) {
        g->in[off + i] = x->shape[s0 + i];
        g->f[off + i] = u->size[i];
        g->out[off + i] = x->shape[s0 + i] * u->size[i];
    }
    g->in_pos = g->in[0] * g->in[1] * g->in[2];
    g->out_pos = g->out[0] * g->out[1] * g->out[2];
    g->psi = cf ? 1 : g->c, g->csi = cf ? g->in_pos : 1;
    g->pso = cf ? 1 : g->c, g->cso = cf ? g->out_pos : 1;
}

/* Nearest: forward copies, backward (GRAD) adds each output into its
 * source. */
#define UP_NEAREST(T, SUFFIX)                                                                           \
    static void nearest_##SUFFIX(const geom *g, const T *x, T *y, int grad)                             \
    {                                                                                                   \
        for (int64_t b = 0; b < g->batch; b++) {                                                        \
            const T *xb = x + b * g->c * g->in_pos;                                                     \
            T *yb = y + b * g->c * g->out_pos;                                                          \
            int64_t op = 0;                                                                             \
            for (int64_t oz = 0; oz < g->out[0]; oz++)                                                  \
                for (int64_t oy = 0; oy < g->out[1]; oy++)                                              \
                    for (int64_t ox = 0; ox < g->out[2]; ox++, op++) {                                  \
                        int64_t ip = ((oz / g->f[0]) * g->in[1] + oy / g->f[1]) * g->in[2] + ox / g->f[2]; \
                        if (!grad)                                                                      \
                            for (int64_t c = 0; c < g->c; c++)                                          \
                                yb[op * g->pso + c * g->cso] = xb[ip * g->psi + c * g->csi];            \
                        else                                                                            \
                            for (int64_t c = 0; c < g->c; c++)                                          \
                                ((T *)xb)[ip * g->psi + c * g->csi] += yb[op * g->pso + c * g->cso];    \
                    }                                                                                   \
        }                                                                                               \
    }

UP_NEAREST(float, f32)
UP_NEAREST(double, f64)
UP_NEAREST(int32_t, i32)
UP_NEAREST(int64_t, i64)

/* TF's compute_interpolation_weights (HalfPixelScaler), in float32. */
typedef struct lerp_at {
    int64_t lo, hi;
    float w;
} lerp_at;

static lerp_at lerp_weight(int64_t o, int64_t in_len, int64_t out_len)
{
    const float scale = (float)in_len / (float)out_len;
    const float in = ((float)o + 0.5f) * scale - 0.5f;
    const float in_f = floorf(in);
    lerp_at r;
    r.lo = (int64_t)in_f > 0 ? (int64_t)in_f : 0;
    r.hi = (int64_t)ceilf(in) < in_len - 1 ? (int64_t)ceilf(in) : in_len - 1;
    r.w = in - in_f;
    return r;
}

/* Bilinear (2D: in[1], in[2] are rows and cols): forward as TF's
 * compute_lerp (top, bottom, then between them); backward scatters dy with
 * the four weights as ResizeBilinearGrad. */
#define UP_BILINEAR(T, SUFFIX)                                                                          \
    static void bilinear_##SUFFIX(const geom *g, const T *x, T *y)                                      \
    {                                                                                                   \
        for (int64_t b = 0; b < g->batch; b++) {                                                        \
            const T *xb = x + b * g->c * g->in_pos;                                                     \
            T *yb = y + b * g->c * g->out_pos;                                                          \
            for (int64_t oy = 0; oy < g->out[1]; oy++) {                                                \
                const lerp_at ly = lerp_weight(oy, g->in[1], g->out[1]);                                \
                for (int64_t ox = 0; ox < g->out[2]; ox++) {                                            \
                    const lerp_at lx = lerp_weight(ox, g->in[2], g->out[2]);                            \
                    const int64_t tl = (ly.lo * g->in[2] + lx.lo) * g->psi, tr = (ly.lo * g->in[2] + lx.hi) * g->psi; \
                    const int64_t bl = (ly.hi * g->in[2] + lx.lo) * g->psi, br = (ly.hi * g->in[2] + lx.hi) * g->psi; \
                    const int64_t o = (oy * g->out[2] + ox) * g->pso;                                   \
                    for (int64_t c = 0; c < g->c; c++) {                                                \
                        const int64_t k = c * g->csi;                                                   \
                        const T top = xb[tl + k] + (xb[tr + k] - xb[tl + k]) * (T)lx.w;                 \
                        const T bot = xb[bl + k] + (xb[br + k] - xb[bl + k]) * (T)lx.w;                 \
                        yb[o + c * g->cso] = top + (bot - top) * (T)ly.w;                               \
                    }                                                                                   \
                }                                                                                       \
            }                                                                                           \
        }                                                                                               \
    }                                                                                                   \
    static void bilinear_grad_##SUFFIX(const geom *g, const T *dy, T *dx)                               \
    {                                                                                                   \
        for (int64_t b = 0; b < g->batch; b++) {                                                        \
            T *xb = dx + b * g->c * g->in_pos;                                                          \
            const T *yb = dy + b * g->c * g->out_pos;                                                   \
            for (int64_t oy = 0; oy < g->out[1]; oy++) {                                                \
                const lerp_at ly = lerp_weight(oy, g->in[1], g->out[1]);                                \
                const T wy1 = (T)ly.w, wy0 = (T)1 - (T)ly.w;                                            \
                for (int64_t ox = 0; ox < g->out[2]; ox++) {                                            \
                    const lerp_at lx = lerp_weight(ox, g->in[2], g->out[2]);                            \
                    const T wx1 = (T)lx.w, wx0 = (T)1 - (T)lx.w;                                        \
                    const int64_t tl = (ly.lo * g->in[2] + lx.lo) * g->psi, tr = (ly.lo * g->in[2] + lx.hi) * g->psi; \
                    const int64_t bl = (ly.hi * g->in[2] + lx.lo) * g->psi, br = (ly.hi * g->in[2] + lx.hi) * g->psi; \
                    const int64_t o = (oy * g->out[2] + ox) * g->pso;                                   \
                    for (int64_t c = 0; c < g->c; c++) {                                                \
                        const int64_t k = c * g->csi;                                                   \
                        const T d = yb[o + c * g->cso];                                                 \
                        xb[tl + k] += d * wy0 * wx0;                                                    \
                        xb[tr + k] += d * wy0 * wx1;                                                    \
                        xb[bl + k] += d * wy1 * wx0;                                                    \
                        xb[br + k] += d * wy1 * wx1;                                                    \
                    }                                                                                   \
                }                                                                                       \
            }                                                                                           \
        }                                                                                               \
    }

UP_BILINEAR(float, f32)
UP_BILINEAR(double, f64)

static ck_status up_call(ck_layer *layer, int n, const ck_tensor *const *in, ck_tensor *const *outs)
{
    const up_layer *u = (const up_layer *)layer;
    const ck_tensor *x = in[0];
    (void)n;
    if (outs[0]->size == 0) return CK_OK;
    geom g;
    geometry(u, x, &g);
    if (u->bilinear) {
        if (x->dtype == CK_FLOAT32) bilinear_f32(&g, x->data, outs[0]->data);
        else if (x->dtype == CK_FLOAT64) bilinear_f64(&g, x->data, outs[0]->data);
        else
            return ck_error(CK_TYPE_ERROR, "UpSampling2D \"%s\": bilinear needs floating inputs, got %s", layer->name,
                            ck_dtype_name(x->dtype));
        return CK_OK;
    }
    switch (x->dtype) {
    case CK_FLOAT32: nearest_f32(&g, x->data, outs[0]->data, 0); break;
    case CK_FLOAT64: nearest_f64(&g, x->data, outs[0]->data, 0); break;
    case CK_INT32: nearest_i32(&g, x->data, outs[0]->data, 0); break;
    case CK_INT64: nearest_i64(&g, x->data, outs[0]->data, 0); break;
    default: return ck_error(CK_TYPE_ERROR, "%s \"%s\": unsupported dtype", class_of(u->nd), layer->name);
    }
    return CK_OK;
}

static ck_status up_backward(ck_layer *layer, const ck_train_ctx *ctx, int n, const ck_tensor *const *in,
                             const ck_tensor *out, const ck_tensor *dout, void *saved, ck_tensor *const *din)
{
    const up_layer *u = (const up_layer *)layer;
    ck_tensor *dx = din ? din[0] : NULL;
    (void)ctx, (void)n, (void)out, (void)saved;
    if (!dx) return CK_OK;
    if (!ck_dtype_is_floating(dx->dtype))
        return ck_error(CK_TYPE_ERROR, "%s \"%s\": no gradient for %s inputs", class_of(u->nd), layer->name,
                        ck_dtype_name(dx->dtype));
    memset(dx->data, 0, (size_t)dx->size * ck_dtype_size(dx->dtype));
    if (dout->size == 0) return CK_OK;
    geom g;
    geometry(u, in[0], &g);
    if (dx->dtype == CK_FLOAT32) {
        if (u->bilinear) bilinear_grad_f32(&g, dout->data, dx->data);
        else nearest_f32(&g, dx->data, (float *)dout->data, 1);
    } else {
        if (u->bilinear) bilinear_grad_f64(&g, dout->data, dx->data);
        else nearest_f64(&g, dx->data, (double *)dout->data, 1);
    }
    return CK_OK;
}

static ck_status up_get_config(const ck_layer *layer, json_t *j)
{
    const up_layer *u = (const up_layer *)layer;
    if (u->nd == 1) return ck_json_set(j, "size", json_integer(u->size[0]));
    ck_status st = ck_json_set(j, "size", ck_sp_tuple_to_json(u->size, u->nd));
    if (st == CK_OK) st = ck_json_set(j, "data_format", ck_sp_data_format_to_json(u->channels_first));
    if (st == CK_OK && u->nd == 2) st = ck_json_set(j, "interpolation", json_string(u->bilinear ? "bilinear" : "nearest"));
    return st;
}

/* backend.resize_images' table: what Keras accepts, and what ckeras does. */
static ck_status parse_interpolation(const char *s, int *bilinear)
{
    static const char *const other[] = {"bicubic", "area", "lanczos3", "lanczos5", "gaussian", "mitchellcubic"};
    if (!s || strcmp(s, "nearest") == 0) {
        *bilinear = 0;
        return CK_OK;
    }
    if (strcmp(s, "bilinear") == 0) {
        *bilinear = 1;
        return CK_OK;
    }
    for (size_t i = 0; i < sizeof other / sizeof other[0]; i++)
        if (strcmp(s, other[i]) == 0)
            return ck_error(CK_NOT_IMPLEMENTED, "UpSampling2D: interpolation \"%s\" is not supported by ckeras "
                            "(\"nearest\" and \"bilinear\" are)", s);
    return ck_error(CK_NOT_IMPLEMENTED, "Value not recognized for `interpolation`: %s. Supported values are: "
                    "dict_keys(['bilinear', 'nearest', 'bicubic', 'area', 'lanczos3', 'lanczos5', 'gaussian', "
                    "'mitchellcubic'])", s);
}

static void up_finish(ck_layer *layer, const up_layer *a)
{
    up_layer *u = (up_layer *)layer;
    u->nd = a->nd, u->channels_first = a->channels_first, u->bilinear = a->bilinear;
    memcpy(u->size, a->size, sizeof u->size);
    layer->spec = (ck_input_spec){.ndim = a->nd + 2};
}

static ck_status up_new(const ck_layer_class *cls, int nd, const ck_up_sampling_opts *o, ck_layer **out)
{
    static const ck_up_sampling_opts defaults;
    static const int64_t twos[3] = {2, 2, 2};
    if (!o) o = &defaults;
    up_layer a = {.nd = nd};
    if (nd == 1 && o->data_format)
        return ck_error(CK_TYPE_ERROR, "('Keyword argument not understood:', 'data_format') (UpSampling1D)");
    if (nd != 2 && o->interpolation)
        return ck_error(CK_TYPE_ERROR, "('Keyword argument not understood:', 'interpolation') (%s)", class_of(nd));
    CK_TRY(ck_sp_tuple_opts(o->size, nd, twos, class_of(nd), "size", 0, a.size));
    CK_TRY(ck_sp_data_format(o->data_format, &a.channels_first));
    CK_TRY(parse_interpolation(o->interpolation, &a.bilinear));
    ck_layer *layer = NULL;
    CK_TRY(CK_ARG_CREATE(cls, o, &layer));
    up_finish(layer, &a);
    *out = layer;
    return CK_OK;
}

ck_status ck_up_sampling1d(ck_layer **out, const ck_up_sampling_opts *o)
{
    CK_NEED(out);
    return up_new(&ck_up_sampling1d_class, 1, o, out);
}
ck_status ck_up_sampling2d(ck_layer **out, const ck_up_sampling_opts *o)
{
    CK_NEED(out);
    return up_new(&ck_up_sampling2d_class, 2, o, out);
}
ck_status ck_up_sampling3d(ck_layer **out, const ck_up_sampling_opts *o)
{
    CK_NEED(out);
    return up_new(&ck_up_sampling3d_class, 3, o, out);
}

/* tf.keras 2.x / Keras 3: size (int for 1D), data_format, interpolation;
 * Keras 1: length (1D), dim_ordering. */
static ck_status up_from_config_as(const ck_layer_class *cls, int nd, const json_t *c, ck_layer **out)
{
    static const char *const keys[] = {"size", "data_format", "interpolation", "length", "dim_ordering", NULL};
    const char *name = class_of(nd);
    if (!json_is_object(c)) return ck_error(CK_FORMAT_ERROR, "%s config must be a JSON object", name);
    up_layer a = {.nd = nd, .size = {2, 2, 2}};
    const json_t *sz = nd == 1 ? ck_arg_get2(c, "size", "length") : json_object_get(c, "size");
    if (nd == 1 && json_is_array(sz)) /* Keras 3 may write (2,) */
        CK_TRY(ck_sp_tuple_json(sz, 1, name, "size", 0, a.size));
    else if (nd == 1)
        CK_TRY(ck_arg_int(sz, name, "size", &a.size[0], NULL));
    else
        CK_TRY(ck_sp_tuple_json(sz, nd, name, "size", 0, a.size));
    if (a.size[0] <= 0)
        return ck_error(CK_VALUE_ERROR, "%s: `size` must be > 0. Received: %lld", name, (long long)a.size[0]);
    CK_TRY(ck_sp_data_format_json(c, name, &a.channels_first));
    const json_t *interp = json_object_get(c, "interpolation");
    if (interp && !json_is_null(interp) && !json_is_string(interp))
        return ck_error(CK_TYPE_ERROR, "%s config: `interpolation` must be a string", name);
    CK_TRY(parse_interpolation(json_string_value(interp), &a.bilinear));
    ck_layer *layer = NULL;
    CK_TRY(ck_layer_create_from_config(cls, c, keys, &layer));
    up_finish(layer, &a);
    *out = layer;
    return CK_OK;
}

#define UP_CLASS(VAR, NAME, ND)                                                                         \
    static ck_status VAR##_from_config(const json_t *c, ck_layer **out)                                 \
    {                                                                                                   \
        return up_from_config_as(&VAR##_class, ND, c, out);                                            \
    }                                                                                                   \
    const ck_layer_class VAR##_class = {                                                                \
        .class_name = NAME,                                                                             \
        .size = sizeof(up_layer),                                                                       \
        .arity = CK_ONE_INPUT,                                                                          \
        .compute_output_shape = up_output_shape,                                                        \
        .call = up_call,                                                                                \
        .get_config = up_get_config,                                                                    \
        .from_config = VAR##_from_config,                                                               \
        .backward = up_backward,                                                                        \
    };

UP_CLASS(ck_up_sampling1d, "UpSampling1D", 1)
UP_CLASS(ck_up_sampling2d, "UpSampling2D", 2)
UP_CLASS(ck_up_sampling3d, "UpSampling3D", 3)
