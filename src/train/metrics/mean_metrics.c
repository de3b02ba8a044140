/* The mean metrics (tf.keras MeanMetricWrapper and its subclasses): a value
 * per sample from the metric function, then the weighted mean kept as a
 * float32 total and count (Keras' Reduce with WEIGHTED_MEAN). */
#include <math.h>
#include <string.h>

#include "train/metrics/metric_impl.h"

const metric_fn_info ck_metric_fns[MF_COUNT] = {
    [MF_UNRESOLVED] = {"accuracy", "MeanMetricWrapper"},
    [MF_ACCURACY] = {"accuracy", "Accuracy"},
    [MF_BINARY_ACC] = {"binary_accuracy", "BinaryAccuracy"},
    [MF_CAT_ACC] = {"categorical_accuracy", "CategoricalAccuracy"},
    [MF_SPARSE_CAT_ACC] = {"sparse_categorical_accuracy", "SparseCategoricalAccuracy"},
    [MF_TOPK] = {"top_k_categorical_accuracy", "TopKCategoricalAccuracy"},
    [MF_SPARSE_TOPK] = {"sparse_top_k_categorical_accuracy", "SparseTopKCategoricalAccuracy"},
    [MF_MSE] = {"mean_squared_error", "MeanSquaredError"},
    [MF_MAE] = {"mean_absolute_error", "MeanAbsoluteError"},
};

/* What one update reads: y_true / y_pred with their (squeezed) shapes, and
 * the row sizes of the functions that reduce the last axis. */
typedef struct mean_ctx {
    const ck_metric *m;
    const ck_tensor *yt, *yp;
    int64_t ct, cp; /* elements per row of y_true / y_pred */
} mean_ctx;

static int64_t argmax_row(const mean_ctx *c, const ck_tensor *t, int64_t row, int64_t n)
{
    int64_t best = 0;
    double bv = 0;
    for (int64_t i = 0; i < n; i++) {
        double v = metric_get(c->m, t, row * n + i);
        if (i == 0 || v > bv) {
            best = i;
            bv = v;
        }
    }
    return best;
}

/* tf.math.in_top_k: the target is in the top k when fewer than k classes
 * score strictly higher; a non-finite score or a target out of range gives
 * false. */
static int in_top_k(const mean_ctx *c, int64_t row, double target, int k)
{
    int64_t n = c->cp;
    if (!(target >= 0 && target < (double)n)) return 0;
    int64_t t = (int64_t)target;
    double tv = metric_get(c->m, c->yp, row * n + t);
    if (!isfinite(tv)) return 0;
    int64_t more = 0;
    for (int64_t i = 0; i < n; i++) {
        double v = metric_get(c->m, c->yp, row * n + i);
        if (!isfinite(v)) return 0;
        if (v > tv) more++;
    }
    return more < k;
}

/* The metric function's value for sample j. */
static double value_at(const mean_ctx *c, int64_t j)
{
    const ck_metric *m = c->m;
    switch (m->fn) {
    case MF_ACCURACY:
        return metric_get(m, c->yt, j) == metric_get(m, c->yp, j) ? 1.0 : 0.0;
    case MF_BINARY_ACC: {
        double thr = metric_rnd(m, m->threshold), hits = 0;
        for (int64_t i = 0; i < c->cp; i++) {
            double p = metric_get(m, c->yp, j * c->cp + i) > thr ? 1.0 : 0.0;
            hits += metric_get(m, c->yt, j * c->cp + i) == p;
        }
        return metric_rnd(m, hits / (double)c->cp);
    }
    case MF_CAT_ACC:
        return argmax_row(c, c->yt, j, c->ct) == argmax_row(c, c->yp, j, c->cp) ? 1.0 : 0.0;
    case MF_SPARSE_CAT_ACC:
        return metric_get(m, c->yt, j) == metric_rnd(m, (double)argmax_row(c, c->yp, j, c->cp))
                   ? 1.0 : 0.0;
    case MF_TOPK:
        return in_top_k(c, j, (double)argmax_row(c, c->yt, j, c->ct), m->k);
    case MF_SPARSE_TOPK: {
        double t = metric_get(m, c->yt, j); /* cast to int32 as Keras does */
        return in_top_k(c, j, isfinite(t) ? trunc(t) : -1.0, m->k);
    }
    case MF_MSE:
    case MF_MAE: {
        double s = 0;
        for (int64_t i = 0; i < c->cp; i++) {
            double d = metric_rnd(m, metric_get(m, c->yp, j * c->cp + i) -
                                     metric_get(m, c->yt, j * c->cp + i));
            s += m->fn == MF_MSE ? metric_rnd(m, d * d) : fabs(d);
        }
        return metric_rnd(m, metric_rnd(m, s) / (double)c->cp);
    }
    default:
        return 0;
    }
}

static ck_status shape_error(const ck_metric *m, const ck_shape *t, const ck_shape *p,
                             const char *why)
{
    return ck_error(CK_VALUE_ERROR, "%s: y_true of shape %s and y_pred of shape %s do not fit "
                    "(%s)", m->name, ck_metric_shape_str(t, 0), ck_metric_shape_str(p, 1), why);
}

static int same_dims(const ck_shape *a, const ck_shape *b, int n)
{
    for (int i = 0; i < n; i++)
        if (a->dims[i] != b->dims[i]) return 0;
    return 1;
}

/* The shape of the per-sample values and the row sizes, with Keras' checks. */
static ck_status plan(const ck_metric *m, const ck_shape *t, const ck_shape *p, ck_shape *v,
                      mean_ctx *c)
{
    int rt = t->rank, rp = p->rank;
    *v = *t;
    c->ct = c->cp = 1;
    switch (m->fn) {
    case MF_ACCURACY:
        if (rt != rp || !same_dims(t, p, rt)) return shape_error(m, t, p, "shapes must match");
        return CK_OK;
    case MF_BINARY_ACC:
    case MF_MSE:
    case MF_MAE:
    case MF_CAT_ACC:
    case MF_TOPK:
        if (rt < 1 || rp < 1) return shape_error(m, t, p, "rank must be at least 1");
        if (m->fn == MF_CAT_ACC || m->fn == MF_TOPK) {
            if (rt != rp || !same_dims(t, p, rt - 1))
                return shape_error(m, t, p, "one-hot y_true must have y_pred's shape");
        } else if (rt != rp || !same_dims(t, p, rt)) {
            return shape_error(m, t, p, "shapes must match");
        }
        c->ct = t->dims[rt - 1];
        c->cp = p->dims[rp - 1];
        if (c->cp == 0 || c->ct == 0) return shape_error(m, t, p, "empty last axis");
        v->rank = rt - 1;
        return CK_OK;
    case MF_SPARSE_CAT_ACC:
    case MF_SPARSE_TOPK:
        if (rp < 1) return shape_error(m, t, p, "y_pred must have rank at least 1");
        c->cp = p->dims[rp - 1];
        if (c->cp == 0) return shape_error(m, t, p, "empty last axis");
        if (m->fn == MF_SPARSE_CAT_ACC) {
            if (rt == rp) {
                if (t->dims[rt - 1] != 1 || !same_dims(t, p, rt - 1))
                    return shape_error(m, t, p, "expected class ids of shape y_pred[:-1] + (1,)");
            } else if (rt != rp - 1 || !same_dims(t, p, rt)) {
                return shape_error(m, t, p, "expected class ids of shape y_pred[:-1]");
            }
        } else {
            int64_t nt = 1, np = 1;
            for (int i = 0; i < rt; i++) nt *= t->dims[i];
            for (int i = 0; i < rp - 1; i++) np *= p->dims[i];
            if (nt != np) return shape_error(m, t, p, "one class id per row of y_pred expected");
        }
        return CK_OK;
    default:
        return ck_error(CK_RUNTIME_ERROR, "%s: metric function not resolved", m->name);
    }
}

static int64_t count_of(const ck_shape *s)
{
    int64_t n = 1;
    for (int i = 0; i < s->rank; i++) n *= s->dims[i];
    return n;
}

ck_status ck_metric_mean_update(ck_metric *m, const ck_tensor *y_true, const ck_tensor *y_pred,
                                const ck_tensor *sw)
{
    ck_shape t = ck_metric_shape_of(y_true), p = ck_metric_shape_of(y_pred), v;
    if (m->fn == MF_UNRESOLVED) ck_metric_pick_accuracy(m, NULL, &t, &p);
    ck_metric_squeeze_pair(&p, &t);
    mean_ctx c = {.m = m, .yt = y_true, .yp = y_pred};
    CK_TRY(plan(m, &t, &p, &v, &c));
    int64_t nv = count_of(&v);
    double sum = 0, cnt = 0;
    if (!sw) {
        for (int64_t j = 0; j < nv; j++) sum += value_at(&c, j);
        cnt = (double)nv;
    } else {
        ck_shape w = ck_metric_shape_of(sw);
        CK_TRY(ck_metric_adjust_weights(m, &w, v.rank));
        if (ck_metric_weights_broadcast(&w, &v)) {
            for (int64_t j = 0; j < nv; j++) {
                double wj = metric_get(m, sw, ck_metric_bcast_index(&w, &v, j));
                sum += metric_rnd(m, value_at(&c, j) * wj);
                cnt += wj;
            }
        } else {
            /* Keras: values reduced (mean) to the weights' rank, then scaled */
            int ok = w.rank < v.rank;
            for (int i = 0; ok && i < w.rank; i++) ok = w.dims[i] == 1 || w.dims[i] == v.dims[i];
            if (!ok)
                return ck_error(CK_VALUE_ERROR, "%s: sample_weight of shape %s can not be "
                                "broadcast to values of shape %s", m->name,
                                ck_metric_shape_str(&w, 0), ck_metric_shape_str(&v, 1));
            ck_shape outer = v;
            outer.rank = w.rank;
            int64_t no = count_of(&outer), inner = no ? nv / no : 0;
            for (int64_t o = 0; o < no; o++) {
                double s = 0;
                for (int64_t i = 0; i < inner; i++) s += value_at(&c, o * inner + i);
                double mean = metric_rnd(m, metric_rnd(m, s) / (double)inner);
                sum += metric_rnd(m, mean * metric_get(m, sw, ck_metric_bcast_index(&w, &outer, o)));
            }
            for (int64_t i = 0; i < sw->size; i++) cnt += metric_get(m, sw, i);
        }
    }
    if (m->f64) {
        m->total += sum;
        m->count += cnt;
    } else {
        /* Keras' float32 variables: assign_add in float32.  Written as float
         * arithmetic on purpose: GCC 12's SLP vectoriser at -O2 dropped the
         * narrowing of (double)(float)(total + sum) for this pair. */
        float total = (float)m->total + (float)sum, count = (float)m->count + (float)cnt;
        m->total = total;
        m->count = count;
    }
    return CK_OK;
}

void ck_metric_pick_accuracy(ck_metric *m, const char *loss, const ck_shape *y_true,
                             const ck_shape *y_pred)
{
    int binary = 0, sparse = 0;
    int has_p = y_pred && y_pred->rank > 0, has_t = y_true && y_true->rank > 0;
    if (has_p) {
        int64_t pl = y_pred->dims[y_pred->rank - 1];
        binary = pl == 1;
        if (has_t) {
            int64_t tl = y_true->dims[y_true->rank - 1];
            sparse = y_true->rank < y_pred->rank || (tl == 1 && pl > 1);
        }
    }
    /* tf.keras 2.15 decides on the shapes alone; the loss (Keras 2.2's rule)
     * only fills in what unknown shapes leave open. */
    if (loss && !(has_p && has_t)) {
        if (!has_p && strcmp(loss, "binary_crossentropy") == 0) binary = 1;
        if (strcmp(loss, "sparse_categorical_crossentropy") == 0) sparse = 1;
    }
    m->fn = binary ? MF_BINARY_ACC : sparse ? MF_SPARSE_CAT_ACC : MF_CAT_ACC;
}
