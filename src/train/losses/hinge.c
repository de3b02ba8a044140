/* hinge, squared_hinge, categorical_hinge, kl_divergence and
 * cosine_similarity, with TF's gradients (max(x, 0) passes the gradient
 * where x >= 0; reduce_max shares it equally between tied maxima;
 * l2_normalize divides by sqrt(max(sum x^2, 1e-12))). */
#include <math.h>

#include "train/losses/loss_impl.h"

/* hinge and squared_hinge: labels that are all 0 / 1 become -1 / +1. */
static double hinge_label(const ck_loss_ctx *c, int64_t i)
{
    double t = ck_loss_true(c, i);
    return c->hinge_binary ? 2.0 * t - 1.0 : t;
}

/* mean(max(1 - t p, 0)) or mean(max(1 - t p, 0)^2) */
static double row_hinge(const ck_loss_ctx *c, const ck_loss_row *r)
{
    bool squared = c->loss->kind == CK_LOSS_SQUARED_HINGE;
    double s = 0.0, k = (double)c->K;
    for (int64_t j = 0; j < c->K; j++) {
        int64_t ip = r->p0 + j * c->stride;
        double t = hinge_label(c, r->t0 + j * c->stride), p = ck_loss_pred(c, ip);
        double m = 1.0 - t * p, h = fmax(m, 0.0);
        s += squared ? h * h : h;
        if (c->dy) {
            double g = m >= 0.0 ? -t * (squared ? 2.0 * h : 1.0) : 0.0;
            ck_loss_put(c->dy, c->yp_dtype, ip, r->coef * g / k);
        }
    }
    return s / k;
}

/* max(max((1 - t) p) - sum(t p) + 1, 0) */
static double row_categorical_hinge(const ck_loss_ctx *c, const ck_loss_row *r)
{
    double pos = 0.0, neg = -INFINITY;
    for (int64_t j = 0; j < c->K; j++) {
        double t = ck_loss_true(c, r->t0 + j * c->stride), p = ck_loss_pred(c, r->p0 + j * c->stride);
        pos += t * p;
        neg = fmax(neg, (1.0 - t) * p);
    }
    double m = neg - pos + 1.0;
    if (c->dy) {
        double ties = 0.0;
        for (int64_t j = 0; j < c->K; j++) {
            double t = ck_loss_true(c, r->t0 + j * c->stride), p = ck_loss_pred(c, r->p0 + j * c->stride);
            if ((1.0 - t) * p == neg) ties += 1.0;
        }
        for (int64_t j = 0; j < c->K; j++) {
            int64_t ip = r->p0 + j * c->stride;
            double t = ck_loss_true(c, r->t0 + j * c->stride), p = ck_loss_pred(c, ip);
            double g = 0.0;
            if (m >= 0.0) g = ((1.0 - t) * p == neg ? (1.0 - t) / ties : 0.0) - t;
            ck_loss_put(c->dy, c->yp_dtype, ip, r->coef * g);
        }
    }
    return fmax(m, 0.0);
}

static double clip(double x, double lo, double hi) { return x < lo ? lo : x > hi ? hi : x; }

/* sum(t log(t / p)), t and p clipped to [eps, 1] */
static double row_kld(const ck_loss_ctx *c, const ck_loss_row *r)
{
    double s = 0.0;
    for (int64_t j = 0; j < c->K; j++) {
        int64_t ip = r->p0 + j * c->stride;
        double t = clip(ck_loss_true(c, r->t0 + j * c->stride), c->eps, 1.0);
        double p = ck_loss_pred(c, ip), o = clip(p, c->eps, 1.0);
        s += t * log(t / o);
        if (c->dy) ck_loss_put(c->dy, c->yp_dtype, ip, p >= c->eps && p <= 1.0 ? r->coef * (-t / o) : 0.0);
    }
    return s;
}

/* -sum(l2_normalize(t) l2_normalize(p)) along the axis */
static double row_cosine(const ck_loss_ctx *c, const ck_loss_row *r)
{
    const double floor_sq = c->f32 ? (double)(float)1e-12 : 1e-12;
    double tt = 0.0, pp = 0.0, tp = 0.0;
    for (int64_t j = 0; j < c->K; j++) {
        double t = ck_loss_true(c, r->t0 + j * c->stride), p = ck_loss_pred(c, r->p0 + j * c->stride);
        tt += t * t;
        pp += p * p;
        tp += t * p;
    }
    double rt = 1.0 / sqrt(fmax(tt, floor_sq)), rp = 1.0 / sqrt(fmax(pp, floor_sq));
    if (c->dy) {
        bool pass = pp >= floor_sq; /* else the norm is the constant floor */
        for (int64_t j = 0; j < c->K; j++) {
            int64_t ip = r->p0 + j * c->stride;
            double t = ck_loss_true(c, r->t0 + j * c->stride), p = ck_loss_pred(c, ip);
            double g = -t * rt * rp;
            if (pass) g += tp * rt * p * rp * rp * rp;
            ck_loss_put(c->dy, c->yp_dtype, ip, r->coef * g);
        }
    }
    return -tp * rt * rp;
}

ck_loss_kernel ck_loss_other_kernel(ck_loss_kind kind)
{
    switch (kind) {
    case CK_LOSS_HINGE:
    case CK_LOSS_SQUARED_HINGE: return row_hinge;
    case CK_LOSS_CATEGORICAL_HINGE: return row_categorical_hinge;
    case CK_LOSS_KLD: return row_kld;
    case CK_LOSS_COSINE: return row_cosine;
    default: return NULL;
    }
}
