/* TF reductions for TFOpLambda: reduce_sum / mean / max / min / prod in
 * one pass over x, and the ops computed per group of elements (the
 * elements a reduction over `axis` combines): reduce_logsumexp / variance
 * / std / euclidean_norm, l2_normalize, argmax / argmin, with their
 * gradients.  Each group is visited two or three times (a statistic,
 * then the elements), so no working memory is needed. */
#include <math.h>
#include <string.h>

#include "layers/tf_op.h"

/* Walks over the groups (outer: the kept axes) and over one group's
 * elements (inner: the reduced axes), both with x's strides. */
static ck_status group_walks(const tf_op_layer *t, const ck_tensor *x, tf_walk *outer, tf_walk *inner,
                             int64_t *n_groups, int64_t *group)
{
    int mask[CK_MAX_RANK];
    for (int d = 0; d < x->rank; d++) mask[d] = !t->has_axis;
    for (int i = 0; i < t->n_axis; i++) {
        int a;
        CK_TRY(tf_axis(&t->base, t->axis[i], x->rank, &a));
        mask[a] = 1;
    }
    memset(outer, 0, sizeof *outer);
    memset(inner, 0, sizeof *inner);
    outer->rank = inner->rank = x->rank;
    outer->k = inner->k = 1;
    *n_groups = *group = 1;
    int64_t s = 1;
    for (int d = x->rank - 1; d >= 0; d--) {
        outer->shape[d] = mask[d] ? 1 : x->shape[d];
        inner->shape[d] = mask[d] ? x->shape[d] : 1;
        outer->stride[0][d] = inner->stride[0][d] = s;
        s *= x->shape[d];
        *n_groups *= outer->shape[d];
        *group *= inner->shape[d];
    }
    return CK_OK;
}

/* Mean and max of a group. */
static void stats(const ck_tensor *x, tf_walk in, int64_t group, double *mean, double *mx, double *sumsq)
{
    double s = 0, m = -INFINITY, q = 0;
    for (int64_t j = 0; j < group; j++, tf_walk_next(&in)) {
        double v = tf_load(x->data, x->dtype, in.off[0]);
        s += v;
        q += v * v;
        if (v > m) m = v;
    }
    *mean = group ? s / (double)group : NAN;
    *mx = m;
    *sumsq = q;
}

static double variance(const ck_tensor *x, tf_walk in, int64_t group, double mean)
{
    double s = 0;
    for (int64_t j = 0; j < group; j++, tf_walk_next(&in)) {
        double d = tf_load(x->data, x->dtype, in.off[0]) - mean;
        s += d * d;
    }
    return s / (double)group;
}

ck_status tf_group_call(const tf_op_layer *t, const ck_tensor *x, const ck_tensor *out)
{
    tf_walk outer, inner;
    int64_t n_groups, group;
    CK_TRY(group_walks(t, x, &outer, &inner, &n_groups, &group));
    const int which = t->op->reduce;
    for (int64_t g = 0; g < n_groups; g++, tf_walk_next(&outer)) {
        tf_walk in = inner;
        in.off[0] = outer.off[0];
        double mean, mx, sumsq;
        stats(x, in, group, &mean, &mx, &sumsq);
        switch (which) {
        case TF_LOGSUMEXP: {
            double m = isinf(mx) ? 0 : mx, s = 0;
            tf_walk e = in;
            for (int64_t j = 0; j < group; j++, tf_walk_next(&e)) s += exp(tf_load(x->data, x->dtype, e.off[0]) - m);
            tf_store(out->data, out->dtype, g, log(s) + m);
            break;
        }
        case TF_VARIANCE: tf_store(out->data, out->dtype, g, variance(x, in, group, mean)); break;
        case TF_STD: tf_store(out->data, out->dtype, g, sqrt(variance(x, in, group, mean))); break;
        case TF_NORM: tf_store(out->data, out->dtype, g, sqrt(sumsq)); break;
        case TF_ARGMAX:
        case TF_ARGMIN: {
            /* the first extreme element's index along the axis */
            double best = 0;
            int64_t at = 0;
            tf_walk e = in;
            for (int64_t j = 0; j < group; j++, tf_walk_next(&e)) {
                double v = tf_load(x->data, x->dtype, e.off[0]);
                if (j == 0 || (which == TF_ARGMAX ? v > best : v < best) || (isnan(v) && !isnan(best))) {
                    best = v;
                    at = j;
                }
            }
            tf_store(out->data, out->dtype, g, (double)at);
            break;
        }
        case TF_L2_NORMALIZE: {
            double r = 1 / sqrt(fmax(sumsq, t->param));
            tf_walk e = in;
            for (int64_t j = 0; j < group; j++, tf_walk_next(&e))
                tf_store(out->data, out->dtype, e.off[0], tf_load(x->data, x->dtype, e.off[0]) * r);
            break;
        }
        }
    }
    return CK_OK;
}

ck_status tf_group_backward(const tf_op_layer *t, const ck_tensor *x, const ck_tensor *out, const ck_tensor *dout,
                            ck_tensor *dx)
{
    if (!dx) return CK_OK;
    tf_walk outer, inner;
    int64_t n_groups, group;
    CK_TRY(group_walks(t, x, &outer, &inner, &n_groups, &group));
    const int which = t->op->reduce;
    for (int64_t g = 0; g < n_groups; g++, tf_walk_next(&outer)) {
        tf_walk in = inner;
        in.off[0] = outer.off[0];
        double mean, mx, sumsq;
        stats(x, in, group, &mean, &mx, &sumsq);
        double dy = which == TF_L2_NORMALIZE ? 0 : tf_load(dout->data, dout->dtype, g);
        double y = which == TF_L2_NORMALIZE ? 0 : tf_load(out->data, out->dtype, g);
        double r = 0, dot = 0;
        if (which == TF_L2_NORMALIZE) {
            /* y = x r, r = max(|x|^2, eps)^-1/2: dx = r dy - x r^3 (dy . x)
             * where |x|^2 >= eps (TF's maximum sends its gradient there) */
            r = 1 / sqrt(fmax(sumsq, t->param));
            tf_walk e = in;
            for (int64_t j = 0; j < group; j++, tf_walk_next(&e))
                dot += tf_load(dout->data, dout->dtype, e.off[0]) * tf_load(x->data, x->dtype, e.off[0]);
            if (sumsq < t->param) dot = 0;
        }
        tf_walk e = in;
        for (int64_t j = 0; j < group; j++, tf_walk_next(&e)) {
            double v = tf_load(x->data, x->dtype, e.off[0]), d = 0;
            switch (which) {
            case TF_LOGSUMEXP: d = dy * exp(v - y); break;
            case TF_VARIANCE: d = dy * 2 * (v - mean) / (double)group; break;
            case TF_STD: d = dy * (v - mean) / ((double)group * y); break;
            case TF_NORM: d = dy * v / y; break;
            case TF_L2_NORMALIZE:
                d = r * tf_load(dout->data, dout->dtype, e.off[0]) - v * r * r * r * dot;
                break;
            default: d = 0; break; /* argmax / argmin: no gradient */
            }
            tf_store(dx->data, dx->dtype, e.off[0], d);
        }
    }
    return CK_OK;
}

/* A walk over x's elements carrying the reduced output's offset. */
static ck_status reduce_walk(const tf_op_layer *t, const ck_tensor *x, tf_walk *w, int64_t *group)
{
    int mask[CK_MAX_RANK];
    CK_TRY(tf_reduce_mask(t, x->rank, mask));
    memset(w, 0, sizeof *w);
    w->rank = x->rank;
    w->k = 1;
    int64_t s = 1;
    *group = 1;
    for (int d = x->rank - 1; d >= 0; d--) {
        w->shape[d] = x->shape[d];
        if (mask[d]) {
            w->stride[0][d] = 0;
            *group *= x->shape[d];
        } else {
            w->stride[0][d] = s;
            s *= x->shape[d];
        }
    }
    return CK_OK;
}

/* The start of a max (lowest) or min (highest) in dtype `dt`: infinite
 * for floats; an integer type's own extreme, since infinity does not
 * convert to it (int64's highest is the largest double below 2^63). */
static double extreme(ck_dtype dt, int highest)
{
    switch (dt) {
    case CK_INT32: return highest ? (double)INT32_MAX : (double)INT32_MIN;
    case CK_INT64: return highest ? 0x1p63 - 1024 : -0x1p63;
    default: return highest ? INFINITY : -INFINITY;
    }
}

ck_status tf_reduce_run(const tf_op_layer *t, const ck_tensor *x, const ck_tensor *out, const ck_tensor *dout,
                        ck_tensor *dx)
{
    if (t->op->reduce >= TF_LOGSUMEXP) return dout ? tf_group_backward(t, x, out, dout, dx) : tf_group_call(t, x, out);
    tf_walk w;
    int64_t group;
    CK_TRY(reduce_walk(t, x, &w, &group));
    const int kind = t->op->reduce;
    if (!dout) {
        for (int64_t o = 0; o < out->size; o++)
            tf_store(out->data, out->dtype, o,
                     kind == TF_MAX ? extreme(out->dtype, 0) : kind == TF_MIN ? extreme(out->dtype, 1) : kind == TF_PROD);
        for (int64_t i = 0; i < x->size; i++, tf_walk_next(&w)) {
            double v = tf_load(x->data, x->dtype, i), acc = tf_load(out->data, out->dtype, w.off[0]);
            acc = kind == TF_MAX ? (v > acc ? v : acc) : kind == TF_MIN ? (v < acc ? v : acc)
                  : kind == TF_PROD ? acc * v : acc + v;
            tf_store(out->data, out->dtype, w.off[0], acc);
        }
        if (kind == TF_MEAN && group > 0)
            for (int64_t o = 0; o < out->size; o++)
                tf_store(out->data, out->dtype, o, tf_load(out->data, out->dtype, o) / (double)group);
        return CK_OK;
    }
    if (!dx) return CK_OK;
    /* max / min: TF splits the gradient evenly among the elements equal to
     * the result; prod: the product of the others. */
    if (kind == TF_MAX || kind == TF_MIN || kind == TF_PROD) {
        /* count ties (or zeros, for prod) per output in dx's first pass */
        memset(dx->data, 0, (size_t)dx->size * ck_dtype_size(dx->dtype));
        tf_walk w2 = w;
        for (int64_t i = 0; i < x->size; i++, tf_walk_next(&w2)) {
            double v = tf_load(x->data, x->dtype, i), y = tf_load(out->data, out->dtype, w2.off[0]);
            double g = tf_load(dout->data, dout->dtype, w2.off[0]);
            if (kind != TF_PROD) {
                tf_store(dx->data, dx->dtype, i, v == y ? g : 0);
                continue;
            }
            double others = 1;
            if (v != 0) {
                others = y / v;
            } else {
                /* the product of the group without this element */
                tf_walk w3 = w;
                for (int64_t j = 0; j < x->size; j++, tf_walk_next(&w3))
                    if (w3.off[0] == w2.off[0] && j != i) others *= tf_load(x->data, x->dtype, j);
            }
            tf_store(dx->data, dx->dtype, i, g * others);
        }
        if (kind == TF_PROD) return CK_OK;
        /* divide by the number of ties of each output */
        for (int64_t o = 0; o < out->size; o++) {
            int64_t ties = 0;
            tf_walk w3 = w;
            for (int64_t i = 0; i < x->size; i++, tf_walk_next(&w3))
                if (w3.off[0] == o && tf_load(x->data, x->dtype, i) == tf_load(out->data, out->dtype, o)) ties++;
            if (ties <= 1) continue;
            w3 = w;
            for (int64_t i = 0; i < x->size; i++, tf_walk_next(&w3))
                if (w3.off[0] == o) tf_store(dx->data, dx->dtype, i, tf_load(dx->data, dx->dtype, i) / (double)ties);
        }
        return CK_OK;
    }
    for (int64_t i = 0; i < x->size; i++, tf_walk_next(&w)) {
        double g = tf_load(dout->data, dout->dtype, w.off[0]);
        tf_store(dx->data, dx->dtype, i, kind == TF_MEAN ? g / (double)group : g);
    }
    return CK_OK;
}
