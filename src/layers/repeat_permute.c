/* keras.layers.RepeatVector ((batch, features) -> (batch, n, features))
 * and Permute (the non-batch axes reordered by `dims`, numbered from 1).
 * RepeatVector's gradient sums the n copies; Permute's is the inverse
 * permutation of dy.  Neither saves anything. */
#include <stdio.h>
#include <string.h>

#include "layers/spatial_args.h"

/* ---- RepeatVector ---------------------------------------------------------------- */

typedef struct repeat_layer {
    ck_layer base;
    int64_t n;
} repeat_layer;

static ck_status repeat_output_shape(const ck_layer *layer, int n, const ck_shape *in, ck_shape *out)
{
    const repeat_layer *r = (const repeat_layer *)layer;
    (void)n;
    CK_TRY(ck_sp_check_rank(layer, &in[0], 2));
    if (r->n < 0)
        return ck_error(CK_VALUE_ERROR, "RepeatVector \"%s\": n must be >= 0 to be called, got %lld", layer->name,
                        (long long)r->n);
    *out = (ck_shape){3, {in[0].dims[0], r->n, in[0].dims[1]}};
    return CK_OK;
}

static ck_status repeat_call(ck_layer *layer, int n, const ck_tensor *const *in, ck_tensor *const *outs)
{
    const repeat_layer *r = (const repeat_layer *)layer;
    const ck_tensor *x = in[0];
    const size_t row = (size_t)x->shape[1] * ck_dtype_size(x->dtype);
    (void)n;
    const char *src = x->data;
    char *dst = outs[0]->data;
    for (int64_t b = 0; b < x->shape[0]; b++, src += row)
        for (int64_t i = 0; i < r->n; i++, dst += row) memcpy(dst, src, row);
    return CK_OK;
}

#define REPEAT_GRAD(T)                                                                                  \
    do {                                                                                                \
        const T *dy = dout->data;                                                                       \
        T *g = dx->data;                                                                                \
        for (int64_t b = 0; b < B; b++, g += F) {                                                       \
            for (int64_t f = 0; f < F; f++) g[f] = 0;                                                   \
            for (int64_t i = 0; i < r->n; i++, dy += F)                                                 \
                for (int64_t f = 0; f < F; f++) g[f] += dy[f];                                          \
        }                                                                                               \
    } while (0)

static ck_status repeat_backward(ck_layer *layer, const ck_train_ctx *ctx, int n, const ck_tensor *const *in,
                                 const ck_tensor *out, const ck_tensor *dout, void *saved, ck_tensor *const *din)
{
    const repeat_layer *r = (const repeat_layer *)layer;
    ck_tensor *dx = din ? din[0] : NULL;
    (void)ctx, (void)n, (void)out, (void)saved;
    if (!dx) return CK_OK;
    const int64_t B = in[0]->shape[0], F = in[0]->shape[1];
    if (dx->dtype == CK_FLOAT32) REPEAT_GRAD(float);
    else if (dx->dtype == CK_FLOAT64) REPEAT_GRAD(double);
    else return ck_error(CK_TYPE_ERROR, "RepeatVector \"%s\": no gradient for integer inputs", layer->name);
    return CK_OK;
}

static ck_status repeat_get_config(const ck_layer *layer, json_t *j)
{
    return ck_json_set(j, "n", json_integer(((const repeat_layer *)layer)->n));
}

ck_status ck_repeat_vector(ck_layer **out, const ck_repeat_vector_opts *o)
{
    CK_NEED(out);
    if (!o || o->n <= 0)
        return ck_error(CK_VALUE_ERROR, "RepeatVector: `n` (the number of repetitions, > 0) is required, got %lld",
                        o ? (long long)o->n : 0LL);
    ck_layer *layer = NULL;
    CK_TRY(CK_ARG_CREATE(&ck_repeat_vector_class, o, &layer));
    ((repeat_layer *)layer)->n = o->n;
    layer->spec = (ck_input_spec){.ndim = 2};
    *out = layer;
    return CK_OK;
}

static ck_status repeat_from_config(const json_t *c, ck_layer **out)
{
    static const char *const keys[] = {"n", NULL};
    if (!json_is_object(c)) return ck_error(CK_FORMAT_ERROR, "RepeatVector config must be a JSON object");
    const json_t *jn = json_object_get(c, "n");
    if (!json_is_integer(jn))
        return ck_error(CK_TYPE_ERROR, "Expected an integer value for `n`, got %s.",
                        !jn ? "nothing (RepeatVector config without `n`)"
                            : json_is_real(jn) ? "<class 'float'>" : json_is_string(jn) ? "<class 'str'>"
                                                                                         : "a non-integer");
    ck_layer *layer = NULL;
    CK_TRY(ck_layer_create_from_config(&ck_repeat_vector_class, c, keys, &layer));
    ((repeat_layer *)layer)->n = json_integer_value(jn);
    layer->spec = (ck_input_spec){.ndim = 2};
    *out = layer;
    return CK_OK;
}

const ck_layer_class ck_repeat_vector_class = {
    .class_name = "RepeatVector",
    .size = sizeof(repeat_layer),
    .arity = CK_ONE_INPUT,
    .compute_output_shape = repeat_output_shape,
    .call = repeat_call,
    .get_config = repeat_get_config,
    .from_config = repeat_from_config,
    .backward = repeat_backward,
};

/* ---- Permute ----------------------------------------------------------------------- */

typedef struct permute_layer {
    ck_layer base;
    int ndims;
    int dims[CK_MAX_RANK]; /* 1-based, as Keras */
} permute_layer;

static ck_status check_dims(const int *dims, int n)
{
    char buf[96];
    int seen[CK_MAX_RANK + 1] = {0}, ok = n >= 1 && n < CK_MAX_RANK;
    for (int i = 0; ok && i < n; i++) {
        ok = dims[i] >= 1 && dims[i] <= n && !seen[dims[i]];
        if (ok) seen[dims[i]] = 1;
    }
    if (!ok) {
        int64_t d[CK_MAX_RANK];
        for (int i = 0; i < n && i < CK_MAX_RANK; i++) d[i] = dims[i];
        return ck_error(CK_VALUE_ERROR, "Invalid permutation argument `dims` for Permute Layer. The set of indices "
                        "in `dims` must be consecutive and start from 1. Received dims=%s",
                        ck_sp_tuple_fmt(buf, sizeof buf, d, n < CK_MAX_RANK ? n : CK_MAX_RANK));
    }
    return CK_OK;
}

static ck_status permute_output_shape(const ck_layer *layer, int n, const ck_shape *in, ck_shape *out)
{
    const permute_layer *p = (const permute_layer *)layer;
    (void)n;
    CK_TRY(ck_sp_check_rank(layer, &in[0], p->ndims + 1));
    ck_shape r = in[0];
    for (int i = 0; i < p->ndims; i++) r.dims[i + 1] = in[0].dims[p->dims[i]];
    *out = r;
    return CK_OK;
}

/* out[i0, ..., ik] = in[...] with out axis a taken from input axis
 * perm[a]; inverse: the other way round.  Element-size generic. */
static void transpose(const ck_tensor *src, ck_tensor *dst, const int *perm, int inverse)
{
    const int r = src->rank;
    const size_t es = ck_dtype_size(src->dtype);
    int64_t sstride[CK_MAX_RANK], step[CK_MAX_RANK], idx[CK_MAX_RANK] = {0};
    int64_t s = 1;
    for (int d = r - 1; d >= 0; d--) {
        sstride[d] = s;
        s *= src->shape[d];
    }
    /* step[a]: the source stride of destination axis a. */
    for (int a = 0; a < r; a++) step[a] = 0;
    for (int a = 0; a < r; a++) {
        if (!inverse) step[a] = sstride[perm[a]];
        else step[perm[a]] = sstride[a];
    }
    const char *sp = src->data;
    char *dp = dst->data;
    int64_t at = 0;
    for (int64_t i = 0; i < dst->size; i++) {
        memcpy(dp + (size_t)i * es, sp + (size_t)at * es, es);
        for (int d = r - 1; d >= 0; d--) {
            at += step[d];
            if (++idx[d] < dst->shape[d]) break;
            at -= step[d] * dst->shape[d];
            idx[d] = 0;
        }
    }
}

static void full_perm(const permute_layer *p, int *perm)
{
    perm[0] = 0;
    for (int i = 0; i < p->ndims; i++) perm[i + 1] = p->dims[i];
}

static ck_status permute_call(ck_layer *layer, int n, const ck_tensor *const *in, ck_tensor *const *outs)
{
    int perm[CK_MAX_RANK];
    (void)n;
    full_perm((const permute_layer *)layer, perm);
    if (outs[0]->size) transpose(in[0], outs[0], perm, 0);
    return CK_OK;
}

static ck_status permute_backward(ck_layer *layer, const ck_train_ctx *ctx, int n, const ck_tensor *const *in,
                                  const ck_tensor *out, const ck_tensor *dout, void *saved, ck_tensor *const *din)
{
    int perm[CK_MAX_RANK];
    (void)ctx, (void)n, (void)in, (void)out, (void)saved;
    if (!din || !din[0]) return CK_OK;
    full_perm((const permute_layer *)layer, perm);
    if (din[0]->size) transpose(dout, din[0], perm, 1);
    return CK_OK;
}

static ck_status permute_get_config(const ck_layer *layer, json_t *j)
{
    const permute_layer *p = (const permute_layer *)layer;
    int64_t d[CK_MAX_RANK];
    for (int i = 0; i < p->ndims; i++) d[i] = p->dims[i];
    json_t *a = json_array();
    for (int i = 0; a && i < p->ndims; i++)
        if (json_array_append_new(a, json_integer(d[i])) != 0) {
            json_decref(a);
            a = NULL;
        }
    return ck_json_set(j, "dims", a);
}

static void permute_finish(ck_layer *layer, const int *dims, int n)
{
    permute_layer *p = (permute_layer *)layer;
    p->ndims = n;
    memcpy(p->dims, dims, (size_t)n * sizeof *dims);
    layer->spec = (ck_input_spec){.ndim = n + 1};
}

ck_status ck_permute(ck_layer **out, const ck_permute_opts *o)
{
    CK_NEED(out);
    if (!o || o->ndims <= 0 || o->ndims >= CK_MAX_RANK)
        return ck_error(CK_VALUE_ERROR, "Permute: `dims` (1 to %d axes) is required", CK_MAX_RANK - 1);
    CK_TRY(check_dims(o->dims, o->ndims));
    ck_layer *layer = NULL;
    CK_TRY(CK_ARG_CREATE(&ck_permute_class, o, &layer));
    permute_finish(layer, o->dims, o->ndims);
    *out = layer;
    return CK_OK;
}

static ck_status permute_from_config(const json_t *c, ck_layer **out)
{
    static const char *const keys[] = {"dims", NULL};
    if (!json_is_object(c)) return ck_error(CK_FORMAT_ERROR, "Permute config must be a JSON object");
    const json_t *jd = json_object_get(c, "dims");
    int dims[CK_MAX_RANK] = {0}, n = 0;
    if (!json_is_array(jd) || json_array_size(jd) == 0 || json_array_size(jd) >= CK_MAX_RANK)
        return ck_error(CK_VALUE_ERROR, "Permute config: `dims` must be a list of 1 to %d ints", CK_MAX_RANK - 1);
    n = (int)json_array_size(jd);
    for (int i = 0; i < n; i++) {
        const json_t *e = json_array_get(jd, (size_t)i);
        if (!json_is_integer(e) || json_integer_value(e) < -1000 || json_integer_value(e) > 1000)
            return ck_error(CK_TYPE_ERROR, "Permute config: `dims` must hold ints");
        dims[i] = (int)json_integer_value(e);
    }
    CK_TRY(check_dims(dims, n));
    ck_layer *layer = NULL;
    CK_TRY(ck_layer_create_from_config(&ck_permute_class, c, keys, &layer));
    permute_finish(layer, dims, n);
    *out = layer;
    return CK_OK;
}

const ck_layer_class ck_permute_class = {
    .class_name = "Permute",
    .size = sizeof(permute_layer),
    .arity = CK_ONE_INPUT,
    .compute_output_shape = permute_output_shape,
    .call = permute_call,
    .get_config = permute_get_config,
    .from_config = permute_from_config,
    .backward = permute_backward,
};
