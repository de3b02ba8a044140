/* tf.keras' _Merge base: shape checks with numpy-style broadcasting of the
 * non-batch dims (a lower-rank input is expanded at axis 1, which equals
 * right-aligned broadcasting), and one pass over the output that folds the
 * inputs left to right as tf.keras' Python loops do (so float32 sums round
 * like TF's chain of adds). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "layers/merge.h"

char *ck_merge_shapes_fmt(char *buf, size_t n, int count, const ck_shape *s)
{
    size_t k = (size_t)snprintf(buf, n, "[");
    for (int i = 0; i < count && k < n; i++) {
        char one[128];
        k += (size_t)snprintf(buf + k, n - k, "%s%s", i ? ", " : "", ck_shape_fmt(one, sizeof one, &s[i]));
    }
    if (k < n) snprintf(buf + k, n - k, "]");
    return buf;
}

/* _compute_elemwise_op_output_shape on the non-batch dims. */
static ck_status elemwise_shape(const ck_shape *s1, const ck_shape *s2, ck_shape *out)
{
    if (s1->rank < s2->rank) return elemwise_shape(s2, s1, out);
    ck_shape r = {s1->rank, {0}};
    int lead = s1->rank - s2->rank;
    for (int i = 0; i < lead; i++) r.dims[i] = s1->dims[i];
    for (int k = 0; k < s2->rank; k++) {
        int64_t i = s1->dims[lead + k], j = s2->dims[k];
        if (i < 0 || j < 0) {
            r.dims[lead + k] = -1;
        } else if (i == 1) {
            r.dims[lead + k] = j;
        } else if (j == 1 || i == j) {
            r.dims[lead + k] = i;
        } else {
            char a[128], b[128];
            return ck_error(CK_VALUE_ERROR, "Inputs have incompatible shapes. Received shapes %s and %s",
                            ck_shape_fmt(a, sizeof a, s1), ck_shape_fmt(b, sizeof b, s2));
        }
    }
    *out = r;
    return CK_OK;
}

/* The non-batch output shape of all inputs, plus the set of known batch
 * sizes (batch = the one size, -1 when none is known, -2 when they differ). */
static ck_status fold_shapes(const ck_layer *layer, int n, const ck_shape *s, ck_shape *tail, int64_t *batch)
{
    char buf[512];
    if (n < 1)
        return ck_error(CK_VALUE_ERROR, "A merge layer should be called on a list of at least 1 input. Got 0 inputs "
                        "(layer \"%s\")", layer->name);
    *batch = -1;
    for (int i = 0; i < n; i++) {
        if (s[i].rank < 1)
            return ck_error(CK_VALUE_ERROR, "Layer \"%s\": merge inputs need a batch dim. Got shapes %s", layer->name,
                            ck_merge_shapes_fmt(buf, sizeof buf, n, s));
        int64_t b = s[i].dims[0];
        if (b >= 0) *batch = (*batch == -1 || *batch == b) ? (*batch == -2 ? -2 : b) : -2;
    }
    ck_shape acc = {s[0].rank - 1, {0}};
    for (int d = 1; d < s[0].rank; d++) acc.dims[d - 1] = s[0].dims[d];
    for (int i = 1; i < n; i++) {
        ck_shape t = {s[i].rank - 1, {0}};
        for (int d = 1; d < s[i].rank; d++) t.dims[d - 1] = s[i].dims[d];
        ck_status st = elemwise_shape(&acc, &t, &acc);
        if (st != CK_OK) {
            char msg[1024];
            snprintf(msg, sizeof msg, "%s", ck_last_error());
            return ck_error(st, "%s (layer \"%s\", input shapes %s)", msg, layer->name,
                            ck_merge_shapes_fmt(buf, sizeof buf, n, s));
        }
    }
    *tail = acc;
    return CK_OK;
}

static ck_status different_batches(const ck_layer *layer, int n, const ck_shape *s)
{
    char buf[512];
    return ck_error(CK_VALUE_ERROR, "Cannot merge tensors with different batch sizes. Got tensors with shapes %s "
                    "(layer \"%s\")", ck_merge_shapes_fmt(buf, sizeof buf, n, s), layer->name);
}

static ck_status check_subtract(const ck_layer *layer, int n, const ck_shape *s)
{
    char buf[512];
    if (((const ck_merge_layer *)layer)->op == CK_MERGE_SUBTRACT && n != 2)
        return ck_error(CK_VALUE_ERROR, "A `Subtract` layer should be called on exactly 2 inputs. Received: "
                        "input_shape=%s (layer \"%s\")", ck_merge_shapes_fmt(buf, sizeof buf, n, s), layer->name);
    return CK_OK;
}

ck_status ck_merge_build(ck_layer *layer, int n, const ck_shape *s)
{
    ck_shape tail;
    int64_t batch;
    CK_TRY(fold_shapes(layer, n, s, &tail, &batch));
    if (batch == -2) return different_batches(layer, n, s);
    return check_subtract(layer, n, s);
}

ck_status ck_merge_output_shape(const ck_layer *layer, int n, const ck_shape *s, ck_shape *out)
{
    ck_shape tail;
    int64_t batch;
    CK_TRY(check_subtract(layer, n, s));
    CK_TRY(fold_shapes(layer, n, s, &tail, &batch));
    /* tf.keras gives a None batch here; ckeras reports the mismatch, which
     * build (and TF's ops) would raise anyway. */
    if (batch == -2) return different_batches(layer, n, s);
    if (tail.rank + 1 > CK_MAX_RANK)
        return ck_error(CK_VALUE_ERROR, "Layer \"%s\": the merged output has rank above %d", layer->name, CK_MAX_RANK);
    ck_shape r = {tail.rank + 1, {batch}};
    for (int i = 0; i < tail.rank; i++) r.dims[i + 1] = tail.dims[i];
    *out = r;
    return CK_OK;
}

ck_dtype ck_merge_output_dtype(const ck_layer *layer, int n, const ck_dtype *in)
{
    (void)n;
    if (ck_dtype_is_floating(in[0])) return layer->dtype;
    return ((const ck_merge_layer *)layer)->op == CK_MERGE_AVERAGE ? CK_FLOAT64 : in[0];
}

/* ---- the elementwise fold ------------------------------------------------- */


/* Strides of each input over the output shape: the batch dim aligns with
 * dim 0, the other dims right-align, and broadcast dims get stride 0. */
void ck_merge_make_plan(int n, const ck_tensor *const *in, const ck_tensor *out, ck_merge_plan *p)
{
    p->n = n;
    p->rank = out->rank;
    p->size = out->size;
    p->same = 1;
    for (int d = 0; d < out->rank; d++) p->shape[d] = out->shape[d];
    for (int i = 0; i < n; i++) {
        const ck_tensor *x = in[i];
        int64_t dense[CK_MAX_RANK], step = 1;
        for (int d = x->rank - 1; d >= 0; d--) {
            dense[d] = step;
            step *= x->shape[d];
        }
        p->src[i] = x->data;
        for (int d = 0; d < out->rank; d++) {
            int xd = d == 0 ? 0 : d - (out->rank - x->rank);
            int present = d == 0 || xd >= 1;
            int64_t dim = present ? x->shape[xd] : 1;
            p->strides[i][d] = present && dim != 1 ? dense[xd] : 0;
            if (!present || dim != out->shape[d]) p->same = 0;
        }
    }
}

static inline int32_t wrap_add32(int32_t a, int32_t b) { return (int32_t)((uint32_t)a + (uint32_t)b); }
static inline int32_t wrap_sub32(int32_t a, int32_t b) { return (int32_t)((uint32_t)a - (uint32_t)b); }
static inline int32_t wrap_mul32(int32_t a, int32_t b) { return (int32_t)((uint32_t)a * (uint32_t)b); }
static inline int64_t wrap_add64(int64_t a, int64_t b) { return (int64_t)((uint64_t)a + (uint64_t)b); }
static inline int64_t wrap_sub64(int64_t a, int64_t b) { return (int64_t)((uint64_t)a - (uint64_t)b); }
static inline int64_t wrap_mul64(int64_t a, int64_t b) { return (int64_t)((uint64_t)a * (uint64_t)b); }
#define PLAIN_ADD(a, b) ((a) + (b))
#define PLAIN_SUB(a, b) ((a) - (b))
#define PLAIN_MUL(a, b) ((a) * (b))
/* TF's maximum / minimum propagate NaN. */
#define NAN_MAX(a, b) (((a) > (b) || (a) != (a)) ? (a) : (b))
#define NAN_MIN(a, b) (((a) < (b) || (a) != (a)) ? (a) : (b))

#define DEFINE_FOLD(SUFFIX, T, IS_INT, ADD, SUB, MUL)                                       \
    static inline T combine_##SUFFIX(ck_merge_op op, T a, T b)                              \
    {                                                                                       \
        switch (op) {                                                                       \
        case CK_MERGE_ADD:                                                                  \
        case CK_MERGE_AVERAGE: return ADD(a, b);                                            \
        case CK_MERGE_SUBTRACT: return SUB(a, b);                                           \
        case CK_MERGE_MULTIPLY: return MUL(a, b);                                           \
        case CK_MERGE_MAXIMUM: return NAN_MAX(a, b);                                        \
        default: return NAN_MIN(a, b);                                                      \
        }                                                                                   \
    }                                                                                       \
    static void fold_##SUFFIX(const ck_merge_plan *p, ck_merge_op op, ck_tensor *out)          \
    {                                                                                       \
        int64_t idx[CK_MAX_RANK] = {0}, off[CK_MAX_LAYER_INPUTS] = {0};                     \
        for (int64_t pos = 0; pos < p->size; pos++) {                                       \
            T acc = ((const T *)p->src[0])[p->same ? pos : off[0]];                         \
            for (int i = 1; i < p->n; i++)                                                  \
                acc = combine_##SUFFIX(op, acc, ((const T *)p->src[i])[p->same ? pos : off[i]]); \
            if (op != CK_MERGE_AVERAGE) ((T *)out->data)[pos] = acc;                        \
            else if (IS_INT) ((double *)out->data)[pos] = (double)acc / p->n;               \
            else ((T *)out->data)[pos] = (T)(acc / (T)p->n);                                \
            if (p->same) continue;                                                          \
            for (int d = p->rank - 1; d >= 0; d--) {                                        \
                idx[d]++;                                                                   \
                for (int i = 0; i < p->n; i++) off[i] += p->strides[i][d];                  \
                if (idx[d] < p->shape[d]) break;                                            \
                for (int i = 0; i < p->n; i++) off[i] -= p->strides[i][d] * p->shape[d];    \
                idx[d] = 0;                                                                 \
            }                                                                               \
        }                                                                                   \
    }

DEFINE_FOLD(f32, float, 0, PLAIN_ADD, PLAIN_SUB, PLAIN_MUL)
DEFINE_FOLD(f64, double, 0, PLAIN_ADD, PLAIN_SUB, PLAIN_MUL)
DEFINE_FOLD(i32, int32_t, 1, wrap_add32, wrap_sub32, wrap_mul32)
DEFINE_FOLD(i64, int64_t, 1, wrap_add64, wrap_sub64, wrap_mul64)

ck_status ck_merge_call(ck_layer *layer, int n, const ck_tensor *const *in, ck_tensor *const *outs)
{
    const ck_merge_layer *m = (const ck_merge_layer *)layer;
    for (int i = 1; i < n; i++)
        if (in[i]->dtype != in[0]->dtype)
            return ck_error(CK_TYPE_ERROR, "Layer \"%s\" (%s): all inputs must have the same dtype, got %s (input 0) "
                            "and %s (input %d)", layer->name, layer->cls->class_name, ck_dtype_name(in[0]->dtype),
                            ck_dtype_name(in[i]->dtype), i);
    ck_merge_plan p;
    ck_merge_make_plan(n, in, outs[0], &p);
    switch (in[0]->dtype) {
    case CK_FLOAT32: fold_f32(&p, m->op, outs[0]); break;
    case CK_FLOAT64: fold_f64(&p, m->op, outs[0]); break;
    case CK_INT32: fold_i32(&p, m->op, outs[0]); break;
    case CK_INT64: fold_i64(&p, m->op, outs[0]); break;
    }
    return CK_OK;
}

ck_status ck_merge_compute_mask(const ck_layer *layer, int n, const ck_tensor *const *in,
                                const ck_tensor *const *masks, ck_tensor **out)
{
    (void)in;
    const ck_tensor *first = NULL;
    for (int i = 0; masks && i < n; i++) {
        if (!masks[i]) continue;
        if (!first) {
            first = masks[i];
            continue;
        }
        int same = masks[i]->rank == first->rank;
        for (int d = 0; same && d < first->rank; d++) same = masks[i]->shape[d] == first->shape[d];
        if (!same) {
            char a[128], b[128];
            return ck_error(CK_VALUE_ERROR, "Layer \"%s\": the input masks have different shapes %s and %s",
                            layer->name, ck_shape_str(a, sizeof a, first->rank, first->shape),
                            ck_shape_str(b, sizeof b, masks[i]->rank, masks[i]->shape));
        }
    }
    if (!first) {
        *out = NULL;
        return CK_OK;
    }
    ck_tensor *r = NULL;
    CK_TRY(ck_tensor_new_uninit(&r, CK_INT32, first->rank, first->shape));
    for (int64_t k = 0; k < r->size; k++) {
        int v = 1;
        for (int i = 0; i < n && v; i++)
            if (masks[i]) v = ck_tensor_get(masks[i], k) != 0;
        ((int32_t *)r->data)[k] = v;
    }
    *out = r;
    return CK_OK;
}

/* ---- construction ---------------------------------------------------------- */

ck_status ck_merge_new(const ck_layer_class *cls, ck_merge_op op, const ck_merge_opts *o, ck_layer **out)
{
    static const ck_merge_opts defaults;
    if (!o) o = &defaults;
    ck_layer *layer = NULL;
    CK_TRY(CK_ARG_CREATE(cls, o, &layer));
    ((ck_merge_layer *)layer)->op = op;
    *out = layer;
    return CK_OK;
}

ck_status ck_merge_from_config(const ck_layer_class *cls, ck_merge_op op, const json_t *c, ck_layer **out)
{
    static const char *const keys[] = {"input_dtype", NULL};
    ck_layer *layer = NULL;
    CK_TRY(ck_layer_create_from_config(cls, c, keys, &layer));
    ((ck_merge_layer *)layer)->op = op;
    *out = layer;
    return CK_OK;
}
