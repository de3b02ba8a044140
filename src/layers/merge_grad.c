/* Backward pass of the elementwise merge layers (Add, Subtract, Multiply,
 * Average, Maximum, Minimum).  One walk over the output with the forward's
 * broadcast plan: each input's gradient element accumulates every output
 * position it fed, which is TF's reduce_sum over the broadcast dims
 * (broadcast_gradient_args).  The inputs the trainer keeps are all that is
 * needed, so nothing is saved. */
#include <string.h>

#include "layers/merge.h"

/* Maximum / Minimum: tf.keras folds tf.maximum(acc, x_i) left to right, and
 * TF's gradient of maximum(x, y) goes to x where x >= y (minimum: x <= y),
 * so a tie goes to the earlier input.  Replaying the fold with that rule
 * names the one input that receives dout at a position. */
#define DEFINE_GRAD(SUFFIX, T)                                                            \
    static void grad_##SUFFIX(const ck_merge_plan *p, ck_merge_op op, const T *g,        \
                              ck_tensor *const *din)                                    \
    {                                                                                   \
        const T *const *x = (const T *const *)p->src;                                   \
        T *d[CK_MAX_LAYER_INPUTS];                                                      \
        for (int i = 0; i < p->n; i++) {                                                \
            d[i] = din[i] ? din[i]->data : NULL;                                        \
            if (d[i]) memset(d[i], 0, (size_t)din[i]->size * sizeof(T));                \
        }                                                                               \
        int64_t idx[CK_MAX_RANK] = {0}, off[CK_MAX_LAYER_INPUTS] = {0};                 \
        for (int64_t pos = 0; pos < p->size; pos++) {                                   \
            if (p->same)                                                                \
                for (int i = 0; i < p->n; i++) off[i] = pos;                            \
            T gv = g[pos];                                                              \
            switch (op) {                                                               \
            case CK_MERGE_ADD:                                                          \
                for (int i = 0; i < p->n; i++)                                          \
                    if (d[i]) d[i][off[i]] += gv;                                       \
                break;                                                                  \
            case CK_MERGE_SUBTRACT:                                                     \
                if (d[0]) d[0][off[0]] += gv;                                           \
                if (d[1]) d[1][off[1]] -= gv;                                           \
                break;                                                                  \
            case CK_MERGE_AVERAGE: {                                                    \
                T gn = gv / (T)p->n;                                                    \
                for (int i = 0; i < p->n; i++)                                          \
                    if (d[i]) d[i][off[i]] += gn;                                       \
                break;                                                                  \
            }                                                                           \
            case CK_MERGE_MULTIPLY:                                                     \
                /* Products of the others (no division: zeros are fine). */             \
                for (int i = 0; i < p->n; i++) {                                        \
                    if (!d[i]) continue;                                                \
                    T prod = gv;                                                        \
                    for (int j = 0; j < p->n; j++)                                      \
                        if (j != i) prod *= x[j][off[j]];                               \
                    d[i][off[i]] += prod;                                               \
                }                                                                       \
                break;                                                                  \
            case CK_MERGE_MAXIMUM:                                                      \
            case CK_MERGE_MINIMUM: {                                                    \
                int win = 0;                                                            \
                T acc = x[0][off[0]];                                                   \
                for (int i = 1; i < p->n; i++) {                                        \
                    T v = x[i][off[i]];                                                 \
                    int keep = op == CK_MERGE_MAXIMUM ? acc >= v : acc <= v;            \
                    if (!keep) win = i;                                                 \
                    /* the forward's NaN-propagating fold */                            \
                    if (op == CK_MERGE_MAXIMUM) acc = (acc > v || acc != acc) ? acc : v; \
                    else acc = (acc < v || acc != acc) ? acc : v;                       \
                }                                                                       \
                if (d[win]) d[win][off[win]] += gv;                                     \
                break;                                                                  \
            }                                                                           \
            }                                                                           \
            if (p->same) continue;                                                      \
            for (int dd = p->rank - 1; dd >= 0; dd--) {                                 \
                idx[dd]++;                                                              \
                for (int i = 0; i < p->n; i++) off[i] += p->strides[i][dd];             \
                if (idx[dd] < p->shape[dd]) break;                                      \
                for (int i = 0; i < p->n; i++) off[i] -= p->strides[i][dd] * p->shape[dd]; \
                idx[dd] = 0;                                                            \
            }                                                                           \
        }                                                                               \
    }

DEFINE_GRAD(f32, float)
DEFINE_GRAD(f64, double)

ck_status ck_merge_backward(ck_layer *layer, const ck_train_ctx *ctx, int n, const ck_tensor *const *in,
                            const ck_tensor *out, const ck_tensor *dout, void *saved, ck_tensor *const *din)
{
    const ck_merge_layer *m = (const ck_merge_layer *)layer;
    (void)ctx, (void)saved;
    if (!din) return CK_OK;
    if (!ck_dtype_is_floating(dout->dtype))
        return ck_error(CK_TYPE_ERROR, "Layer \"%s\" (%s): no gradient through a %s merge", layer->name,
                        layer->cls->class_name, ck_dtype_name(dout->dtype));
    for (int i = 0; i < n; i++)
        if (din[i] && din[i]->dtype != dout->dtype)
            return ck_error(CK_TYPE_ERROR, "Layer \"%s\": input gradient %d is %s, the output is %s", layer->name,
                            i, ck_dtype_name(din[i]->dtype), ck_dtype_name(dout->dtype));
    ck_merge_plan p;
    ck_merge_make_plan(n, in, out, &p);
    if (dout->dtype == CK_FLOAT32) grad_f32(&p, m->op, dout->data, din);
    else grad_f64(&p, m->op, dout->data, din);
    return CK_OK;
}
