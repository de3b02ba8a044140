/* Elementwise TF ops (unary functions and binary operators with numpy
 * broadcasting) for TFOpLambda: one loop for all of them, the maths from
 * the op table's function pointers, computed in double and stored in the
 * output's dtype.  Also the element access and walking helpers the other
 * tf_op files share. */
#include <string.h>

#include "layers/tf_op.h"

double tf_load(const void *data, ck_dtype dt, int64_t i)
{
    switch (dt) {
    case CK_FLOAT32: return ((const float *)data)[i];
    case CK_FLOAT64: return ((const double *)data)[i];
    case CK_INT32: return ((const int32_t *)data)[i];
    case CK_INT64: return (double)((const int64_t *)data)[i];
    }
    return 0;
}

void tf_store(void *data, ck_dtype dt, int64_t i, double v)
{
    switch (dt) {
    case CK_FLOAT32: ((float *)data)[i] = (float)v; break;
    case CK_FLOAT64: ((double *)data)[i] = v; break;
    case CK_INT32: ((int32_t *)data)[i] = (int32_t)v; break;
    case CK_INT64: ((int64_t *)data)[i] = (int64_t)v; break;
    }
}

void tf_walk_next(tf_walk *w)
{
    for (int d = w->rank - 1; d >= 0; d--) {
        for (int j = 0; j < w->k; j++) w->off[j] += w->stride[j][d];
        if (++w->idx[d] < w->shape[d]) return;
        for (int j = 0; j < w->k; j++) w->off[j] -= w->stride[j][d] * w->shape[d];
        w->idx[d] = 0;
    }
}

void tf_walk_strides(tf_walk *w, int j, int rank, const int64_t *shape)
{
    int64_t s = 1;
    for (int d = w->rank - 1; d >= 0; d--) {
        int od = d - (w->rank - rank);
        if (od < 0) {
            w->stride[j][d] = 0;
            continue;
        }
        w->stride[j][d] = shape[od] == 1 ? 0 : s;
        s *= shape[od];
    }
}

ck_status tf_axis(const ck_layer *layer, int axis, int rank, int *out)
{
    if (axis < -rank || axis >= rank)
        return ck_error(CK_VALUE_ERROR, "TFOpLambda \"%s\": axis %d is out of range for a tensor of rank %d",
                        layer->name, axis, rank);
    *out = axis < 0 ? axis + rank : axis;
    return CK_OK;
}

ck_shape tf_operand_shape(const tf_operand *o, const ck_shape *in)
{
    return o->input >= 0 ? in[o->input] : o->shape;
}

ck_status tf_broadcast_shape(const ck_layer *layer, const ck_shape *a, const ck_shape *b, ck_shape *out)
{
    ck_shape r = {a->rank > b->rank ? a->rank : b->rank, {0}};
    for (int d = 0; d < r.rank; d++) {
        int da = d - (r.rank - a->rank), db = d - (r.rank - b->rank);
        int64_t x = da >= 0 ? a->dims[da] : 1, y = db >= 0 ? b->dims[db] : 1;
        if (x == 1) r.dims[d] = y;
        else if (y == 1 || x == y) r.dims[d] = x;
        else if (x < 0) r.dims[d] = y;
        else if (y < 0) r.dims[d] = x;
        else {
            char sa[96], sb[96];
            return ck_error(CK_VALUE_ERROR, "TFOpLambda \"%s\": Incompatible shapes: %s vs. %s", layer->name,
                            ck_shape_fmt(sa, sizeof sa, a), ck_shape_fmt(sb, sizeof sb, b));
        }
    }
    *out = r;
    return CK_OK;
}

/* An operand's data, dtype and shape at run time. */
typedef struct bound {
    const void *data;
    ck_dtype dtype;
    ck_shape shape;
} bound;

static bound bind_operand(const tf_operand *o, const ck_tensor *const *in)
{
    if (o->input >= 0) return (bound){in[o->input]->data, in[o->input]->dtype, ck_tensor_shape(in[o->input])};
    return (bound){o->values, CK_FLOAT64, o->shape};
}

ck_status tf_elementwise_call(const tf_op_layer *t, const ck_tensor *const *in, ck_tensor *out)
{
    const tf_op_def *op = t->op;
    tf_walk w;
    memset(&w, 0, sizeof w);
    w.rank = out->rank;
    for (int d = 0; d < out->rank; d++) w.shape[d] = out->shape[d];
    if (op->kind == TF_UNARY) {
        const ck_tensor *x = in[t->x.input];
        for (int64_t i = 0; i < out->size; i++) tf_store(out->data, out->dtype, i, op->unary(tf_load(x->data, x->dtype, i), t->param));
        return CK_OK;
    }
    bound a = bind_operand(&t->x, in), b = bind_operand(&t->y, in);
    w.k = 2;
    tf_walk_strides(&w, 0, a.shape.rank, a.shape.dims);
    tf_walk_strides(&w, 1, b.shape.rank, b.shape.dims);
    for (int64_t i = 0; i < out->size; i++, tf_walk_next(&w))
        tf_store(out->data, out->dtype, i, op->binary(tf_load(a.data, a.dtype, w.off[0]), tf_load(b.data, b.dtype, w.off[1])));
    return CK_OK;
}

static void zero(ck_tensor *t) { memset(t->data, 0, (size_t)t->size * ck_dtype_size(t->dtype)); }

ck_status tf_clip_fill_run(const tf_op_layer *t, const ck_tensor *x, const ck_tensor *out, const ck_tensor *dout,
                           ck_tensor *dx)
{
    const int clip = t->op->kind == TF_CLIP;
    if (dout && !dx) return CK_OK;
    if (dout && !clip) { /* zeros_like / ones_like: no gradient */
        zero(dx);
        return CK_OK;
    }
    for (int64_t i = 0; i < x->size; i++) {
        double v = tf_load(x->data, x->dtype, i);
        if (!dout && clip) tf_store(out->data, out->dtype, i, v < t->param ? t->param : v > t->param2 ? t->param2 : v);
        else if (!dout) tf_store(out->data, out->dtype, i, t->op->reduce);
        else tf_store(dx->data, dx->dtype, i, v >= t->param && v <= t->param2 ? tf_load(dout->data, dout->dtype, i) : 0);
    }
    return CK_OK;
}

ck_status tf_elementwise_backward(const tf_op_layer *t, const ck_tensor *const *in, const ck_tensor *out,
                                  const ck_tensor *dout, ck_tensor *const *din)
{
    const tf_op_def *op = t->op;
    if (op->kind == TF_UNARY) {
        ck_tensor *dx = din[t->x.input];
        if (!dx) return CK_OK;
        const ck_tensor *x = in[t->x.input];
        for (int64_t i = 0; i < dx->size; i++) {
            double g = op->unary_grad ? op->unary_grad(tf_load(x->data, x->dtype, i), tf_load(out->data, out->dtype, i),
                                                       t->param)
                                      : 0;
            tf_store(dx->data, dx->dtype, i, g * tf_load(dout->data, dout->dtype, i));
        }
        return CK_OK;
    }
    /* Each operand's gradient is dout * d(op)/d(operand), summed over the
     * axes it was broadcast along. */
    ck_tensor *da = t->x.input >= 0 ? din[t->x.input] : NULL, *db = t->y.input >= 0 ? din[t->y.input] : NULL;
    if (da && db && da == db) return ck_error(CK_VALUE_ERROR, "TFOpLambda \"%s\": one gradient for two operands", t->base.name);
    if (da) zero(da);
    if (db) zero(db);
    if (!da && !db) return CK_OK;
    bound a = bind_operand(&t->x, in), b = bind_operand(&t->y, in);
    tf_walk w;
    memset(&w, 0, sizeof w);
    w.rank = out->rank;
    w.k = 2;
    for (int d = 0; d < out->rank; d++) w.shape[d] = out->shape[d];
    tf_walk_strides(&w, 0, a.shape.rank, a.shape.dims);
    tf_walk_strides(&w, 1, b.shape.rank, b.shape.dims);
    for (int64_t i = 0; i < out->size; i++, tf_walk_next(&w)) {
        double va = tf_load(a.data, a.dtype, w.off[0]), vb = tf_load(b.data, b.dtype, w.off[1]);
        double y = tf_load(out->data, out->dtype, i), g = tf_load(dout->data, dout->dtype, i);
        if (da && op->grad_a)
            tf_store(da->data, da->dtype, w.off[0], tf_load(da->data, da->dtype, w.off[0]) + g * op->grad_a(va, vb, y));
        if (db && op->grad_b)
            tf_store(db->data, db->dtype, w.off[1], tf_load(db->data, db->dtype, w.off[1]) + g * op->grad_b(va, vb, y));
    }
    return CK_OK;
}
