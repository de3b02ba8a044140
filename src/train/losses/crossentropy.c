/* The crossentropies: binary (mean over the axis), binary focal (mean over
 * the axis), categorical and sparse categorical (one value per row), from
 * probabilities (tf.keras' epsilon clipping, whose gradient is zero outside
 * [eps, 1 - eps]) or from logits (TF's sigmoid / softmax
 * cross_entropy_with_logits, whose gradients are sigmoid(x) - t and
 * softmax(x) - t). */
#include <math.h>

#include "train/losses/loss_impl.h"

/* Label smoothing of the binary losses: t (1 - ls) + ls / 2. */
static double smooth_binary(const ck_loss_ctx *c, double t)
{
    return c->ls != 0.0 ? t * (1.0 - c->ls) + 0.5 * c->ls : t;
}

/* backend.binary_crossentropy on probabilities: o = clip(p, eps, 1 - eps),
 * -(t log(o + eps) + (1 - t) log(1 - o + eps)); *g = d/dp. */
static double bce_prob(const ck_loss_ctx *c, double t, double p, double *g)
{
    double o = p < c->eps ? c->eps : p > c->one_m_eps ? c->one_m_eps : p;
    double a = o + c->eps, b = 1.0 - o + c->eps;
    int pass = p >= c->eps && p <= c->one_m_eps;
    *g = pass ? -(t / a - (1.0 - t) / b) : 0.0;
    return -(t * log(a) + (1.0 - t) * log(b));
}

static double sigmoid(double x)
{
    if (x >= 0) return 1.0 / (1.0 + exp(-x));
    double e = exp(x);
    return e / (1.0 + e);
}

/* tf.nn.sigmoid_cross_entropy_with_logits: max(x, 0) - x t + log1p(exp(-|x|)). */
static double bce_logit(double t, double x, double *g)
{
    *g = sigmoid(x) - t;
    return fmax(x, 0.0) - x * t + log1p(exp(-fabs(x)));
}

static double row_bce(const ck_loss_ctx *c, const ck_loss_row *r)
{
    double s = 0.0, g, k = (double)c->K;
    bool logits = c->loss->from_logits;
    for (int64_t j = 0; j < c->K; j++) {
        int64_t ip = r->p0 + j * c->stride;
        double t = smooth_binary(c, ck_loss_true(c, r->t0 + j * c->stride));
        double p = ck_loss_pred(c, ip);
        s += logits ? bce_logit(t, p, &g) : bce_prob(c, t, p, &g);
        if (c->dy) ck_loss_put(c->dy, c->yp_dtype, ip, r->coef * g / k);
    }
    return s / k;
}

/* backend.binary_focal_crossentropy: w (1 - p_t)^gamma bce with
 * p_t = t s + (1 - t)(1 - s), s = sigmoid(x) or the probability itself
 * (unclipped), w = t alpha + (1 - t)(1 - alpha) with class balancing. */
static double row_bfce(const ck_loss_ctx *c, const ck_loss_row *r)
{
    double sum = 0.0, k = (double)c->K;
    bool logits = c->loss->from_logits;
    for (int64_t j = 0; j < c->K; j++) {
        int64_t ip = r->p0 + j * c->stride;
        double t = smooth_binary(c, ck_loss_true(c, r->t0 + j * c->stride));
        double x = ck_loss_pred(c, ip), gb;
        double s = logits ? sigmoid(x) : x;
        double bce = logits ? bce_logit(t, x, &gb) : bce_prob(c, t, x, &gb);
        double u = 1.0 - (t * s + (1.0 - t) * (1.0 - s));
        double f = pow(u, c->gamma);
        double w = c->loss->apply_class_balancing ? t * c->alpha + (1.0 - t) * (1.0 - c->alpha) : 1.0;
        sum += w * f * bce;
        if (c->dy) {
            /* TF's pow gradient: gamma * u^(gamma - 1); du/ds = -(2t - 1) */
            double dfds = -c->gamma * pow(u, c->gamma - 1.0) * (2.0 * t - 1.0);
            double g = logits ? dfds * s * (1.0 - s) * bce + f * gb : dfds * bce + f * gb;
            ck_loss_put(c->dy, c->yp_dtype, ip, r->coef * w * g / k);
        }
    }
    return sum / k;
}

/* Label smoothing of the categorical loss: t (1 - ls) + ls / K. */
static double smooth_cat(const ck_loss_ctx *c, double t)
{
    return c->ls != 0.0 ? t * (1.0 - c->ls) + c->ls / (double)c->K : t;
}

/* Max of a row of logits and log(sum(exp(x - max))). */
static void log_sum_exp(const ck_loss_ctx *c, const ck_loss_row *r, double *mx, double *lz)
{
    double m = -INFINITY, z = 0.0;
    for (int64_t j = 0; j < c->K; j++) m = fmax(m, ck_loss_pred(c, r->p0 + j * c->stride));
    for (int64_t j = 0; j < c->K; j++) z += exp(ck_loss_pred(c, r->p0 + j * c->stride) - m);
    *mx = m;
    *lz = log(z);
}

/* Probabilities: q = p / sum(p), clipped to [eps, 1 - eps], -sum(t log q).
 * Logits: sum(t (lse(x) - x)), gradient softmax(x) - t (TF's kernel). */
static double row_cce(const ck_loss_ctx *c, const ck_loss_row *r)
{
    double loss = 0.0;
    if (c->loss->from_logits) {
        double m, lz;
        log_sum_exp(c, r, &m, &lz);
        for (int64_t j = 0; j < c->K; j++) {
            int64_t ip = r->p0 + j * c->stride;
            double t = smooth_cat(c, ck_loss_true(c, r->t0 + j * c->stride));
            double x = ck_loss_pred(c, ip);
            loss += t * (lz - (x - m));
            if (c->dy) ck_loss_put(c->dy, c->yp_dtype, ip, r->coef * (exp(x - m - lz) - t));
        }
        return loss;
    }
    double s = 0.0;
    for (int64_t j = 0; j < c->K; j++) s += ck_loss_pred(c, r->p0 + j * c->stride);
    if (c->f32) s = (double)(float)s;
    double gp = 0.0; /* sum_j g_j p_j, g_j = d loss / d q_j */
    for (int64_t j = 0; j < c->K; j++) {
        double t = smooth_cat(c, ck_loss_true(c, r->t0 + j * c->stride));
        double p = ck_loss_pred(c, r->p0 + j * c->stride);
        double q = p / s;
        if (c->f32) q = (double)(float)q;
        double o = q < c->eps ? c->eps : q > c->one_m_eps ? c->one_m_eps : q;
        loss -= t * log(o);
        if (q >= c->eps && q <= c->one_m_eps) gp += (-t / o) * p;
    }
    if (c->dy) {
        for (int64_t j = 0; j < c->K; j++) {
            int64_t ip = r->p0 + j * c->stride;
            double t = smooth_cat(c, ck_loss_true(c, r->t0 + j * c->stride));
            double q = ck_loss_pred(c, ip) / s;
            if (c->f32) q = (double)(float)q;
            double o = q < c->eps ? c->eps : q > c->one_m_eps ? c->one_m_eps : q;
            double g = q >= c->eps && q <= c->one_m_eps ? -t / o : 0.0;
            ck_loss_put(c->dy, c->yp_dtype, ip, r->coef * (g / s - gp / (s * s)));
        }
    }
    return loss;
}

bool ck_loss_sparse_ignored(const ck_loss *loss, const ck_tensor *y_true, int64_t i)
{
    return loss->has_ignore_class && (int64_t)ck_tensor_get(y_true, i) == loss->ignore_class;
}

ck_status ck_loss_sparse_labels(const ck_loss *loss, const ck_tensor *y_true, int64_t K, int64_t *valid)
{
    int64_t n = 0;
    for (int64_t i = 0; i < y_true->size; i++) {
        double v = ck_tensor_get(y_true, i);
        if (!isfinite(v) || fabs(v) > 9.2e18)
            return ck_error(CK_VALUE_ERROR, "sparse_categorical_crossentropy: label %g is not a class id", v);
        if (ck_loss_sparse_ignored(loss, y_true, i)) continue;
        int64_t lab = (int64_t)v;
        if (lab < 0 || lab >= K)
            return ck_error(CK_VALUE_ERROR, "Received a label value of %lld which is outside the valid "
                            "range of [0, %lld).", (long long)lab, (long long)K);
        n++;
    }
    *valid = n;
    return CK_OK;
}

/* Probabilities: z = log(clip(p, eps, 1 - eps)) fed to the softmax
 * crossentropy, i.e. log(sum c) - log(c_y); logits: lse(x) - x_y.  Rows whose
 * label is ignore_class give 0 and no gradient.  Labels were checked. */
static double row_scce(const ck_loss_ctx *c, const ck_loss_row *r)
{
    int64_t y = (int64_t)ck_loss_get(c->yt, c->yt_dtype, r->t0);
    if (c->loss->has_ignore_class && y == c->loss->ignore_class) {
        for (int64_t j = 0; c->dy && j < c->K; j++) ck_loss_put(c->dy, c->yp_dtype, r->p0 + j * c->stride, 0.0);
        return 0.0;
    }
    if (c->loss->from_logits) {
        double m, lz;
        log_sum_exp(c, r, &m, &lz);
        for (int64_t j = 0; c->dy && j < c->K; j++) {
            int64_t ip = r->p0 + j * c->stride;
            double sm = exp(ck_loss_pred(c, ip) - m - lz);
            ck_loss_put(c->dy, c->yp_dtype, ip, r->coef * (sm - (j == y ? 1.0 : 0.0)));
        }
        return lz - (ck_loss_pred(c, r->p0 + y * c->stride) - m);
    }
    double S = 0.0;
    for (int64_t j = 0; j < c->K; j++) {
        double p = ck_loss_pred(c, r->p0 + j * c->stride);
        S += p < c->eps ? c->eps : p > c->one_m_eps ? c->one_m_eps : p;
    }
    double py = ck_loss_pred(c, r->p0 + y * c->stride);
    double cy = py < c->eps ? c->eps : py > c->one_m_eps ? c->one_m_eps : py;
    for (int64_t j = 0; c->dy && j < c->K; j++) {
        int64_t ip = r->p0 + j * c->stride;
        double p = ck_loss_pred(c, ip);
        double o = p < c->eps ? c->eps : p > c->one_m_eps ? c->one_m_eps : p;
        double g = p >= c->eps && p <= c->one_m_eps ? (o / S - (j == y ? 1.0 : 0.0)) / o : 0.0;
        ck_loss_put(c->dy, c->yp_dtype, ip, r->coef * g);
    }
    return log(S) - log(cy);
}

ck_loss_kernel ck_loss_crossentropy_kernel(ck_loss_kind kind)
{
    switch (kind) {
    case CK_LOSS_BCE: return row_bce;
    case CK_LOSS_BFCE: return row_bfce;
    case CK_LOSS_CCE: return row_cce;
    case CK_LOSS_SCCE: return row_scce;
    default: return NULL;
    }
}
