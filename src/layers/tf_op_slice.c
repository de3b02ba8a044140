/* SlicingOpLambda (x[...], tf.keras' __operators__.getitem): Python
 * slicing with ints, start:stop:step ranges, None (tf.newaxis) and one
 * Ellipsis, as numpy and TensorFlow read them.  The output is a strided
 * view of x copied out; the gradient scatters dy back into zeros. */
#include <string.h>

#include "layers/tf_op.h"

/* What the spec makes of an input of `in`'s shape: each output axis reads
 * input axis `axis` (-1: a new axis) from `start` by `step`; `base` is the
 * offset of the first element in elements.  Unknown dims (-1) give
 * unknown output dims. */
typedef struct slice_plan {
    ck_shape out;
    int axis[CK_MAX_RANK];
    int64_t start[CK_MAX_RANK], step[CK_MAX_RANK];
    int64_t fixed[CK_MAX_RANK]; /* per input axis: the index of an int entry, or -1 */
} slice_plan;

static int64_t range_count(const tf_slice *s, int64_t dim, int64_t *start_out)
{
    int64_t step = s->step, start, stop;
    if (step > 0) {
        start = s->has_start ? s->start : 0;
        stop = s->has_stop ? s->stop : dim;
        if (start < 0) start += dim;
        if (stop < 0) stop += dim;
        start = start < 0 ? 0 : start > dim ? dim : start;
        stop = stop < 0 ? 0 : stop > dim ? dim : stop;
        *start_out = start;
        return stop > start ? (stop - start + step - 1) / step : 0;
    }
    start = s->has_start ? s->start : dim - 1;
    stop = s->has_stop ? s->stop : -1 - dim; /* "before the first" */
    if (s->has_start && start < 0) start += dim;
    if (stop < -1) stop = stop + dim < -1 ? -1 : stop + dim;
    else if (s->has_stop && stop < 0) stop += dim;
    start = start < -1 ? -1 : start > dim - 1 ? dim - 1 : start;
    stop = stop < -1 ? -1 : stop > dim - 1 ? dim - 1 : stop;
    *start_out = start;
    return start > stop ? (start - stop + (-step) - 1) / (-step) : 0;
}

static ck_status plan(const tf_op_layer *t, const ck_shape *in, slice_plan *p)
{
    int consuming = 0, has_ellipsis = 0;
    for (int i = 0; i < t->n_slices; i++) {
        consuming += t->slices[i].kind == TF_SL_RANGE || t->slices[i].kind == TF_SL_INDEX;
        has_ellipsis |= t->slices[i].kind == TF_SL_ELLIPSIS;
    }
    char buf[96];
    if (consuming > in->rank)
        return ck_error(CK_VALUE_ERROR, "SlicingOpLambda \"%s\": too many indices (%d) for a tensor of shape %s",
                        t->base.name, consuming, ck_shape_fmt(buf, sizeof buf, in));
    memset(p, 0, sizeof *p);
    for (int d = 0; d < CK_MAX_RANK; d++) p->fixed[d] = -1;
    int ax = 0;
    /* Without an Ellipsis the remaining axes are taken whole, as after one. */
    int n = t->n_slices + !has_ellipsis;
    for (int i = 0; i < n; i++) {
        tf_slice whole = {TF_SL_ELLIPSIS, 0, 0, 0, 0, 1};
        const tf_slice *s = i < t->n_slices ? &t->slices[i] : &whole;
        if (s->kind == TF_SL_ELLIPSIS) {
            for (int k = 0; k < in->rank - consuming; k++, ax++) {
                if (p->out.rank >= CK_MAX_RANK) goto too_deep;
                p->axis[p->out.rank] = ax;
                p->start[p->out.rank] = 0;
                p->step[p->out.rank] = 1;
                p->out.dims[p->out.rank++] = in->dims[ax];
            }
            continue;
        }
        if (s->kind != TF_SL_INDEX && p->out.rank >= CK_MAX_RANK) goto too_deep;
        if (s->kind == TF_SL_NEWAXIS) {
            p->axis[p->out.rank] = -1;
            p->step[p->out.rank] = 0;
            p->out.dims[p->out.rank++] = 1;
            continue;
        }
        int64_t dim = in->dims[ax];
        if (s->kind == TF_SL_INDEX) {
            int64_t k = s->start < 0 && dim >= 0 ? s->start + dim : s->start;
            if (dim >= 0 && (k < 0 || k >= dim))
                return ck_error(CK_VALUE_ERROR, "SlicingOpLambda \"%s\": slice index %lld of dimension %d out of "
                                "bounds (size %lld)", t->base.name, (long long)s->start, ax, (long long)dim);
            p->fixed[ax++] = k;
            continue;
        }
        int64_t start = 0, count = dim >= 0 ? range_count(s, dim, &start) : -1;
        p->axis[p->out.rank] = ax++;
        p->start[p->out.rank] = start;
        p->step[p->out.rank] = s->step;
        p->out.dims[p->out.rank++] = count;
    }
    return CK_OK;
too_deep:
    return ck_error(CK_NOT_IMPLEMENTED, "SlicingOpLambda \"%s\": the result would have more than %d dims", t->base.name,
                    CK_MAX_RANK);
}

ck_status tf_slice_output(const tf_op_layer *t, const ck_shape *in, ck_shape *out)
{
    slice_plan p;
    CK_TRY(plan(t, in, &p));
    *out = p.out;
    return CK_OK;
}

/* The walk over the output with the input offset, and the base offset. */
static ck_status walk_of(const tf_op_layer *t, const ck_tensor *x, tf_walk *w)
{
    slice_plan p;
    ck_shape s = ck_tensor_shape(x);
    CK_TRY(plan(t, &s, &p));
    int64_t stride[CK_MAX_RANK], acc = 1, base = 0;
    for (int d = x->rank - 1; d >= 0; d--) {
        stride[d] = acc;
        acc *= x->shape[d];
        if (p.fixed[d] >= 0) base += p.fixed[d] * stride[d];
    }
    memset(w, 0, sizeof *w);
    w->rank = p.out.rank;
    w->k = 1;
    for (int d = 0; d < p.out.rank; d++) {
        w->shape[d] = p.out.dims[d];
        if (p.axis[d] >= 0) {
            w->stride[0][d] = p.step[d] * stride[p.axis[d]];
            base += p.start[d] * stride[p.axis[d]];
        }
    }
    w->off[0] = base;
    return CK_OK;
}

ck_status tf_slice_call(const tf_op_layer *t, const ck_tensor *x, ck_tensor *out)
{
    tf_walk w;
    CK_TRY(walk_of(t, x, &w));
    const size_t es = ck_dtype_size(x->dtype);
    for (int64_t i = 0; i < out->size; i++, tf_walk_next(&w))
        memcpy((char *)out->data + (size_t)i * es, (const char *)x->data + (size_t)w.off[0] * es, es);
    return CK_OK;
}

ck_status tf_slice_backward(const tf_op_layer *t, const ck_tensor *x, const ck_tensor *dout, ck_tensor *dx)
{
    if (!dx) return CK_OK;
    tf_walk w;
    CK_TRY(walk_of(t, x, &w));
    memset(dx->data, 0, (size_t)dx->size * ck_dtype_size(dx->dtype));
    /* a slice never reads an element twice: plain stores */
    const size_t es = ck_dtype_size(x->dtype);
    for (int64_t i = 0; i < dout->size; i++, tf_walk_next(&w))
        memcpy((char *)dx->data + (size_t)w.off[0] * es, (const char *)dout->data + (size_t)i * es, es);
    return CK_OK;
}
