/* keras.layers.Dot: batch_dot of two inputs along the given axes, with
 * optional L2 normalisation (cosine proximity).  No weights. */
#include <stdio.h>
#include <string.h>

#include "layers/layer.h"

#include "layers/dot.h"
#include "ops/ops.h"

/* Python's a % r for r > 0 (the result has the sign of r). */
static int py_mod(int a, int r) { return ((a % r) + r) % r; }

/* Python list indexing: negative counts from the end; -1 if out of range. */
static int py_index(int a, int rank) { return (a < -rank || a >= rank) ? -1 : (a < 0 ? a + rank : a); }

/* Axes as build / compute_output_shape resolve them (tf.keras merging/dot.py):
 * an int a < 0 becomes a % rank per input, an int a >= 0 is used for both,
 * a pair is used as given (Python negative indexing). */
static ck_status resolve_static(const ck_dot_layer *d, const ck_shape *s, int ax[2])
{
    char a[128], b[128];
    int raw[2];
    if (d->axes.count == 1 && d->axes.axes[0] < 0) {
        raw[0] = py_mod(d->axes.axes[0], s[0].rank);
        raw[1] = py_mod(d->axes.axes[0], s[1].rank);
    } else {
        raw[0] = d->axes.axes[0];
        raw[1] = d->axes.count == 1 ? d->axes.axes[0] : d->axes.axes[1];
    }
    for (int i = 0; i < 2; i++) {
        ax[i] = py_index(raw[i], s[i].rank);
        if (ax[i] < 0)
            return ck_error(CK_VALUE_ERROR, "Dot layer \"%s\": axis %d is out of range for input %d "
                            "(input shapes %s and %s)", d->base.name, raw[i], i, ck_shape_fmt(a, sizeof a, &s[0]),
                            ck_shape_fmt(b, sizeof b, &s[1]));
    }
    return CK_OK;
}

static ck_status need_two(const ck_layer *layer, int n, const ck_shape *s)
{
    char a[128];
    if (n == 2) return CK_OK;
    if (n == 1)
        return ck_error(CK_VALUE_ERROR, "A `Dot` layer should be called on a list of 2 inputs. Received: one input "
                        "of shape %s (layer \"%s\")", ck_shape_fmt(a, sizeof a, &s[0]), layer->name);
    return ck_error(CK_VALUE_ERROR, "A `Dot` layer should be called on a list of 2 inputs. Received: %d inputs "
                    "(layer \"%s\")", n, layer->name);
}

static ck_status dot_build(ck_layer *layer, int n, const ck_shape *s)
{
    const ck_dot_layer *d = (const ck_dot_layer *)layer;
    char a[128], b[128];
    int ax[2] = {0, 0};
    CK_TRY(need_two(layer, n, s));
    CK_TRY(resolve_static(d, s, ax));
    /* Unknown dims take part in the comparison: None against 5 fails, as
     * in tf.keras; two unknown dims pass. */
    if (s[0].dims[ax[0]] != s[1].dims[ax[1]]) {
        char d0[32], d1[32];
        snprintf(d0, sizeof d0, s[0].dims[ax[0]] < 0 ? "None" : "%lld", (long long)s[0].dims[ax[0]]);
        snprintf(d1, sizeof d1, s[1].dims[ax[1]] < 0 ? "None" : "%lld", (long long)s[1].dims[ax[1]]);
        return ck_error(CK_VALUE_ERROR, "Incompatible input shapes: axis values %s (at axis %d) != %s (at axis %d). "
                        "Full input shapes: %s, %s (layer \"%s\")", d0, ax[0], d1, ax[1],
                        ck_shape_fmt(a, sizeof a, &s[0]), ck_shape_fmt(b, sizeof b, &s[1]), layer->name);
    }
    return CK_OK;
}

static ck_status dot_output_shape(const ck_layer *layer, int n, const ck_shape *s, ck_shape *out)
{
    const ck_dot_layer *d = (const ck_dot_layer *)layer;
    int ax[2] = {0, 0};
    CK_TRY(need_two(layer, n, s));
    CK_TRY(resolve_static(d, s, ax));
    /* shape1.pop(ax0); shape2.pop(ax1); shape2.pop(0); shape1 + shape2. */
    ck_shape r = {0, {0}};
    int64_t s2[CK_MAX_RANK];
    int n2 = 0;
    for (int i = 0; i < s[0].rank; i++)
        if (i != ax[0]) r.dims[r.rank++] = s[0].dims[i];
    for (int j = 0; j < s[1].rank; j++)
        if (j != ax[1]) s2[n2++] = s[1].dims[j];
    for (int j = 1; j < n2; j++) {
        if (r.rank == CK_MAX_RANK)
            return ck_error(CK_VALUE_ERROR, "Dot layer \"%s\": the output would have rank > %d", layer->name, CK_MAX_RANK);
        r.dims[r.rank++] = s2[j];
    }
    if (r.rank == 1) r.dims[r.rank++] = 1;
    *out = r;
    return CK_OK;
}

static ck_status dot_mask(const ck_layer *layer, int n, const ck_tensor *const *in, const ck_tensor *const *masks,
                          ck_tensor **out)
{
    (void)layer, (void)n, (void)in, (void)masks;
    *out = NULL; /* Dot drops the input masks in every Keras version. */
    return CK_OK;
}

/* At call time the actual ranks resolve negative axes (modulo), so an
 * axis that lands on 0 reaches batch_dot's axis-0 error, as in Keras. */
ck_axes ck_dot_call_axes(const ck_dot_layer *d, int xr, int yr)
{
    if (d->axes.count == 1) {
        int a = d->axes.axes[0];
        return a < 0 ? ck_axes_pair(py_mod(a, xr), py_mod(a, yr)) : ck_axes_pair(a, a);
    }
    int a0 = d->axes.axes[0], a1 = d->axes.axes[1];
    return ck_axes_pair(a0 < 0 ? py_mod(a0, xr) : a0, a1 < 0 ? py_mod(a1, yr) : a1);
}

/* A tensor header of a shape, with its data at `data` (may be NULL). */
static ck_tensor shaped(const ck_shape *s, ck_dtype dtype, void *data)
{
    ck_tensor t = {.dtype = dtype, .rank = s->rank, .size = 1, .data = data};
    for (int i = 0; i < s->rank; i++) {
        t.shape[i] = s->dims[i];
        t.size *= s->dims[i] > 0 ? s->dims[i] : 0;
    }
    return t;
}

static size_t round_up64(size_t b) { return (b + 63) / 64 * 64; }

/* Scratch: with normalize, the two normalised inputs (64-aligned each),
 * then batch_dot's permuted copies when an axis sits in the middle. */
static size_t dot_scratch_bytes(const ck_layer *layer, int n, const ck_shape *in, const ck_shape *out)
{
    const ck_dot_layer *d = (const ck_dot_layer *)layer;
    (void)n, (void)out;
    ck_tensor x = shaped(&in[0], layer->dtype, NULL), y = shaped(&in[1], layer->dtype, NULL);
    size_t es = ck_dtype_size(layer->dtype);
    size_t norm = d->normalize ? round_up64((size_t)x.size * es) + round_up64((size_t)y.size * es) : 0;
    return norm + ck_batch_dot_scratch_bytes(&x, &y, ck_dot_call_axes(d, x.rank, y.rank));
}

static ck_status dot_call_scratch(ck_layer *layer, int n, const ck_tensor *const *in, ck_tensor *const *outs,
                                  void *scratch)
{
    const ck_dot_layer *d = (const ck_dot_layer *)layer;
    (void)n;
    const ck_tensor *x = in[0], *y = in[1];
    int xr = x->rank, yr = y->rank;
    ck_axes ax = ck_dot_call_axes(d, xr, yr);
    if (!d->normalize) return ck_batch_dot_into_scratch(x, y, ax, outs[0], scratch);
    if (!ck_dtype_is_floating(x->dtype) || !ck_dtype_is_floating(y->dtype))
        return ck_error(CK_TYPE_ERROR, "Dot layer \"%s\": normalize=True needs floating inputs, got %s and %s",
                        layer->name, ck_dtype_name(x->dtype), ck_dtype_name(y->dtype));
    if (ax.axes[0] >= xr || ax.axes[1] >= yr || ax.axes[0] == 0 || ax.axes[1] == 0)
        return ck_batch_dot_into(x, y, ax, outs[0]); /* reports the axis error */
    /* Two (batch, n) inputs: the cosines straight from the inputs. */
    if (ax.axes[0] == 1 && ax.axes[1] == 1 && ck_cosine_rows_into(x, y, 1e-12, outs[0])) return CK_OK;
    /* Else the normalised copies live in the scratch: no temporaries. */
    ck_shape xs = ck_tensor_shape(x), ys = ck_tensor_shape(y);
    size_t xb = round_up64((size_t)x->size * ck_dtype_size(x->dtype));
    size_t yb = round_up64((size_t)y->size * ck_dtype_size(y->dtype));
    ck_tensor nx = shaped(&xs, x->dtype, scratch), ny = shaped(&ys, y->dtype, (char *)scratch + xb);
    CK_TRY(ck_l2_normalize_into(x, ax.axes[0], 1e-12, &nx));
    CK_TRY(ck_l2_normalize_into(y, ax.axes[1], 1e-12, &ny));
    return ck_batch_dot_into_scratch(&nx, &ny, ax, outs[0], (char *)scratch + xb + yb);
}

static ck_status dot_get_config(const ck_layer *layer, json_t *c)
{
    const ck_dot_layer *d = (const ck_dot_layer *)layer;
    json_t *axes;
    if (d->axes.count == 1) {
        axes = json_integer(d->axes.axes[0]);
    } else {
        axes = json_array();
        if (axes && (json_array_append_new(axes, json_integer(d->axes.axes[0])) ||
                     json_array_append_new(axes, json_integer(d->axes.axes[1])))) {
            json_decref(axes);
            axes = NULL;
        }
    }
    ck_status st = ck_json_set(c, "axes", axes);
    if (st == CK_OK) st = ck_json_set(c, "normalize", json_boolean(d->normalize));
    return st;
}

static ck_status check_axes(ck_axes axes)
{
    if (axes.count != 1 && axes.count != 2)
        return ck_error(CK_VALUE_ERROR, "Invalid format for argument `axes`: list should contain two elements "
                        "(or give one int). Received: %d axes", axes.count);
    return CK_OK;
}

static ck_status dot_make(ck_layer *layer, ck_axes axes, int normalize)
{
    ck_dot_layer *d = (ck_dot_layer *)layer;
    d->axes = axes;
    if (axes.count == 1) d->axes.axes[1] = axes.axes[0];
    d->normalize = normalize != 0;
    return CK_OK;
}

ck_status ck_dot(ck_layer **out, const ck_dot_opts *o)
{
    CK_NEED(out);
    if (!o) return ck_error(CK_VALUE_ERROR, "Dot: options are required (axes)");
    if (o->axes.count == 0) return ck_error(CK_VALUE_ERROR, "Dot: `axes` is required (ck_axes_one(a) or ck_axes_pair(a, b))");
    CK_TRY(check_axes(o->axes));
    ck_layer *layer = NULL;
    CK_TRY(ck_layer_create(&ck_dot_class, o->name, !o->frozen, o->dtype, &o->input_shape, o->batch_size,
                           o->activity_regularizer, &layer));
    dot_make(layer, o->axes, o->normalize);
    *out = layer;
    return CK_OK;
}

static ck_status dot_from_config(const json_t *c, ck_layer **out)
{
    static const char *const keys[] = {"axes", "normalize", NULL};
    const json_t *ja = json_object_get(c, "axes");
    ck_axes axes = {0, {0, 0}};
    if (json_is_integer(ja)) {
        axes = ck_axes_one((int)json_integer_value(ja));
    } else if (json_is_array(ja)) {
        if (json_array_size(ja) != 2)
            return ck_error(CK_VALUE_ERROR, "Invalid format for argument `axes`: list should contain two elements. "
                            "Received: a list of %zu", json_array_size(ja));
        for (int i = 0; i < 2; i++) {
            const json_t *e = json_array_get(ja, (size_t)i);
            if (!json_is_integer(e))
                return ck_error(CK_VALUE_ERROR, "Invalid format for argument `axes`: list elements should be integers");
            axes.axes[i] = (int)json_integer_value(e);
        }
        axes.count = 2;
    } else {
        return ck_error(CK_TYPE_ERROR, "Invalid type for argument `axes`: it should be a list or an int");
    }
    const json_t *jn = json_object_get(c, "normalize");
    if (jn && !json_is_boolean(jn)) return ck_error(CK_TYPE_ERROR, "Dot config: normalize must be a boolean");
    ck_layer *layer = NULL;
    CK_TRY(ck_layer_create_from_config(&ck_dot_class, c, keys, &layer));
    dot_make(layer, axes, json_is_true(jn));
    *out = layer;
    return CK_OK;
}

const ck_layer_class ck_dot_class = {
    .class_name = "Dot",
    .size = sizeof(ck_dot_layer),
    .arity = CK_LIST_OF_INPUTS,
    .min_inputs = 2,
    .max_inputs = 2,
    .supports_masking = 1,
    .build = dot_build,
    .call = ck_layer_call_own_scratch,
    .call_scratch_bytes = dot_scratch_bytes,
    .call_scratch = dot_call_scratch,
    .compute_output_shape = dot_output_shape,
    .compute_mask = dot_mask,
    .get_config = dot_get_config,
    .from_config = dot_from_config,
    .saved_bytes = ck_dot_saved_bytes,
    .train_call = ck_dot_train_call,
    .backward = ck_dot_backward,
};
