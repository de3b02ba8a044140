/* The confusion-matrix metrics (Precision, Recall, AUC): Keras'
 * update_confusion_matrix_variables, with its two ways of counting (the
 * bucketed one for evenly spaced thresholds, the direct comparison
 * otherwise), top_k and class_id, and the results. */
#include <math.h>
#include <string.h>

#include "train/metrics/metric_impl.h"

#define NEG_INF (-1e10) /* Keras' metrics_utils.NEG_INF */

ck_status ck_metric_confusion_alloc(ck_metric *m)
{
    size_t n = (size_t)m->n_thr;
    double *all = ck_calloc(6 * n, sizeof(double));
    if (!all) return ck_oom("the confusion matrix of a metric");
    ck_free(m->tp);
    m->tp = all;
    m->fp = all + n;
    m->tn = all + 2 * n;
    m->fn_ = all + 3 * n;
    m->btp = all + 4 * n;
    m->bfp = all + 5 * n;
    return CK_OK;
}

int ck_metric_evenly_distributed(const double *thr, int n)
{
    if (n < 3) return 0;
    for (int i = 0; i < n; i++) {
        double even = (double)((float)i / (float)(n - 1)); /* np.arange(float32) / (n-1) */
        if (!(fabs(thr[i] - even) <= 1e-7 + 1e-5 * fabs(even))) return 0;
    }
    return 1;
}

/* What one update reads, after Keras' shape handling. */
typedef struct conf_ctx {
    const ck_metric *m;
    const ck_tensor *yt, *yp, *sw;
    ck_shape v, w;  /* the (sliced) prediction shape and the weights' shape */
    int64_t c;      /* classes per row before slicing */
} conf_ctx;

/* The prediction of flat element e of the original y_pred, after top_k
 * (values outside the row's top k become NEG_INF; equal values keep the
 * lower index first, as tf.math.top_k). */
static double pred_at(const conf_ctx *x, int64_t e)
{
    const ck_metric *m = x->m;
    double p = metric_get(m, x->yp, e);
    if (m->from_logits) p = metric_rnd(m, 1.0 / (1.0 + exp(-p)));
    if (m->top_k <= 0) return p;
    int64_t row = e / x->c, col = e % x->c, rank = 0;
    for (int64_t i = 0; i < x->c && rank < m->top_k; i++) {
        if (i == col) continue;
        double q = metric_get(m, x->yp, row * x->c + i);
        if (m->from_logits) q = metric_rnd(m, 1.0 / (1.0 + exp(-q)));
        if (q > p || (q == p && i < col)) rank++;
    }
    return rank < m->top_k ? p : metric_rnd(m, NEG_INF);
}

/* Element j of the sliced shape -> flat element of y_true / y_pred. */
static int64_t source_index(const conf_ctx *x, int64_t j)
{
    return x->m->class_id >= 0 ? j * x->c + x->m->class_id : j;
}

static double weight_at(const conf_ctx *x, int64_t j)
{
    if (!x->sw) return 1.0;
    return metric_get(x->m, x->sw, ck_metric_bcast_index(&x->w, &x->v, j));
}

static ck_status prepare(ck_metric *m, const ck_tensor *yt, const ck_tensor *yp,
                         const ck_tensor *sw, conf_ctx *x)
{
    ck_shape t = ck_metric_shape_of(yt), p = ck_metric_shape_of(yp);
    ck_metric_squeeze_pair(&p, &t);
    x->m = m;
    x->yt = yt;
    x->yp = yp;
    x->sw = sw;
    if (sw) {
        x->w = ck_metric_shape_of(sw);
        CK_TRY(ck_metric_adjust_weights(m, &x->w, p.rank));
    }
    int same = t.rank == p.rank;
    for (int i = 0; same && i < t.rank; i++) same = t.dims[i] == p.dims[i];
    if (!same)
        return ck_error(CK_VALUE_ERROR, "%s: Shapes %s and %s are incompatible (y_pred and "
                        "y_true)", m->name, ck_metric_shape_str(&p, 0), ck_metric_shape_str(&t, 1));
    x->v = p;
    x->c = p.rank > 0 ? p.dims[p.rank - 1] : 1;
    if ((m->top_k > 0 || m->class_id >= 0) && p.rank == 0)
        return ck_error(CK_VALUE_ERROR, "%s: top_k and class_id need y_pred of rank >= 1, got "
                        "shape %s", m->name, ck_metric_shape_str(&p, 0));
    if (m->class_id >= 0) {
        if (m->class_id >= x->c)
            return ck_error(CK_VALUE_ERROR, "%s: class_id %d out of range for y_pred of shape %s",
                            m->name, m->class_id, ck_metric_shape_str(&p, 0));
        x->v.dims[x->v.rank - 1] = 1;
    }
    if (sw && !ck_metric_weights_broadcast(&x->w, &x->v))
        return ck_error(CK_VALUE_ERROR, "%s: sample_weight of shape %s can not be broadcast to "
                        "y_pred of shape %s", m->name, ck_metric_shape_str(&x->w, 0),
                        ck_metric_shape_str(&x->v, 1));
    return CK_OK;
}

static int64_t count_of(const ck_shape *s)
{
    int64_t n = 1;
    for (int i = 0; i < s->rank; i++) n *= s->dims[i];
    return n;
}

/* Evenly spaced thresholds: each prediction falls in a bucket, and the
 * counts above each threshold are reverse cumulative sums. */
static void update_buckets(ck_metric *m, const conf_ctx *x, int64_t n)
{
    int nt = m->n_thr;
    memset(m->btp, 0, (size_t)nt * sizeof(double));
    memset(m->bfp, 0, (size_t)nt * sizeof(double));
    double total_true = 0, total_false = 0;
    for (int64_t j = 0; j < n; j++) {
        int64_t e = source_index(x, j);
        double w = weight_at(x, j);
        double y = metric_get(m, x->yt, e) != 0 ? 1.0 : 0.0;
        double p = pred_at(x, e);
        if (p < 0) p = 0;
        if (p > 1) p = 1;
        double tl = metric_rnd(m, y * w), fl = metric_rnd(m, (1.0 - y) * w);
        total_true += tl;
        total_false += fl;
        if (isnan(p)) continue;
        double b = ceil(metric_rnd(m, p * (double)(nt - 1))) - 1;
        if (m->with_eps && b < 0) b = 0;
        if (b < 0) continue; /* unsorted_segment_sum drops negative ids */
        int bi = (int)b;
        m->btp[bi] = metric_rnd(m, m->btp[bi] + tl);
        m->bfp[bi] = metric_rnd(m, m->bfp[bi] + fl);
    }
    total_true = metric_rnd(m, total_true);
    total_false = metric_rnd(m, total_false);
    double ctp = 0, cfp = 0;
    for (int i = nt - 1; i >= 0; i--) {
        ctp = metric_rnd(m, ctp + m->btp[i]);
        cfp = metric_rnd(m, cfp + m->bfp[i]);
        m->tp[i] = metric_rnd(m, m->tp[i] + ctp);
        m->fp[i] = metric_rnd(m, m->fp[i] + cfp);
        m->tn[i] = metric_rnd(m, m->tn[i] + metric_rnd(m, total_false - cfp));
        m->fn_[i] = metric_rnd(m, m->fn_[i] + metric_rnd(m, total_true - ctp));
    }
}

/* Any thresholds: compare each prediction with each threshold. */
static void update_direct(ck_metric *m, const conf_ctx *x, int64_t n)
{
    for (int i = 0; i < m->n_thr; i++) {
        double thr = m->thr[i], tp = 0, fp = 0, tn = 0, fn = 0;
        for (int64_t j = 0; j < n; j++) {
            int64_t e = source_index(x, j);
            double w = weight_at(x, j);
            int label = metric_get(m, x->yt, e) != 0;
            int pos = pred_at(x, e) > thr;
            if (label && pos) tp += w;
            else if (label) fn += w;
            else if (pos) fp += w;
            else tn += w;
        }
        m->tp[i] = metric_rnd(m, m->tp[i] + metric_rnd(m, tp));
        m->fp[i] = metric_rnd(m, m->fp[i] + metric_rnd(m, fp));
        m->tn[i] = metric_rnd(m, m->tn[i] + metric_rnd(m, tn));
        m->fn_[i] = metric_rnd(m, m->fn_[i] + metric_rnd(m, fn));
    }
}

ck_status ck_metric_confusion_update(ck_metric *m, const ck_tensor *y_true,
                                     const ck_tensor *y_pred, const ck_tensor *sample_weight)
{
    conf_ctx x;
    CK_TRY(prepare(m, y_true, y_pred, sample_weight, &x));
    int64_t n = count_of(&x.v);
    if (m->evenly)
        update_buckets(m, &x, n);
    else
        update_direct(m, &x, n);
    return CK_OK;
}

/* tf.math.divide_no_nan in the metric's dtype. */
static double div0(const ck_metric *m, double a, double b)
{
    return b == 0 ? 0.0 : metric_rnd(m, a / b);
}

static double interpolate_pr_auc(const ck_metric *m)
{
    const double *tp = m->tp, *fp = m->fp, *fn = m->fn_;
    double sum = 0;
    for (int i = 0; i + 1 < m->n_thr; i++) {
        double dtp = metric_rnd(m, tp[i] - tp[i + 1]);
        double pa = metric_rnd(m, tp[i] + fp[i]), pb = metric_rnd(m, tp[i + 1] + fp[i + 1]);
        double dp = metric_rnd(m, pa - pb);
        double slope = div0(m, dtp, dp > 0 ? dp : 0);
        double intercept = metric_rnd(m, tp[i + 1] - metric_rnd(m, slope * pb));
        double ratio = (pa > 0 && pb > 0) ? div0(m, pa, pb > 0 ? pb : 0) : 1.0;
        double inner = metric_rnd(m, dtp + metric_rnd(m, intercept * metric_rnd(m, log(ratio))));
        double denom = metric_rnd(m, tp[i + 1] + fn[i + 1]);
        sum += div0(m, metric_rnd(m, slope * inner), denom > 0 ? denom : 0);
    }
    return metric_rnd(m, sum);
}

static double auc_result(const ck_metric *m)
{
    if (m->curve_pr && m->summation == AUC_INTERPOLATION) return interpolate_pr_auc(m);
    double sum = 0, px = 0, py = 0;
    for (int i = 0; i < m->n_thr; i++) {
        double recall = div0(m, m->tp[i], metric_rnd(m, m->tp[i] + m->fn_[i]));
        double x, y;
        if (!m->curve_pr) {
            x = div0(m, m->fp[i], metric_rnd(m, m->fp[i] + m->tn[i]));
            y = recall;
        } else {
            x = recall;
            y = div0(m, m->tp[i], metric_rnd(m, m->tp[i] + m->fp[i]));
        }
        if (i > 0) {
            double h;
            if (m->summation == AUC_INTERPOLATION)
                h = metric_rnd(m, metric_rnd(m, py + y) / 2.0);
            else if (m->summation == AUC_MINORING)
                h = py < y ? py : y;
            else
                h = py > y ? py : y;
            sum += metric_rnd(m, metric_rnd(m, px - x) * h);
        }
        px = x;
        py = y;
    }
    return metric_rnd(m, sum);
}

int ck_metric_confusion_results(const ck_metric *m, double *out, int max)
{
    if (m->kind == MK_AUC) {
        if (max > 0) out[0] = auc_result(m);
        return 1;
    }
    const double *other = m->kind == MK_PRECISION ? m->fp : m->fn_;
    for (int i = 0; i < m->n_thr && i < max; i++)
        out[i] = div0(m, m->tp[i], metric_rnd(m, m->tp[i] + other[i]));
    return m->n_thr;
}
