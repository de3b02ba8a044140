/* The update rules of tf.keras 2.11+ (2.15) optimizers, written once for a
 * scalar type T and included by kernels.c for float and double.  The
 * arithmetic follows TF's graph op by op in T: a Python float hyperparameter
 * meets a tensor as (T)value (so `1 - beta_1` is computed in double first),
 * while tf.cast(beta, dtype) goes through a float32 tensor first (TCAST:
 * for float64 variables beta_2 = 0.999 becomes 0.99900001287...), and the
 * math after it stays in T.
 * <tgmath.h> picks sqrtf / powf for float.
 *
 * The includer defines T (float or double) and F(name) (a suffixed name). */

#define TCAST(x) ((T)(float)(x))

static void F(sgd)(const ck_optimizer *o, const opt_step *st)
{
    T *w = st->w, *m = st->s[0];
    const T *g = st->g;
    const T lr = (T)st->lr, mom = TCAST(o->h[H_SGD_MOMENTUM]);
    const int nesterov = o->h[H_SGD_NESTEROV] != 0;
    for (int64_t i = 0; i < st->n; i++) {
        m[i] = -g[i] * lr + m[i] * mom;
        if (nesterov) w[i] += -g[i] * lr + m[i] * mom;
        else w[i] += m[i];
    }
}

/* Adam and AdamW (weight decay is applied before, by the base). */
static void F(adam)(const ck_optimizer *o, const opt_step *st)
{
    T *w = st->w, *m = st->s[0], *v = st->s[1], *vhat = st->s[2];
    const T *g = st->g;
    const double b1 = o->h[H_ADAM_BETA_1], b2 = o->h[H_ADAM_BETA_2];
    const T lr = (T)st->lr, step = (T)(st->iter + 1);
    const T b1p = pow(TCAST(b1), step), b2p = pow(TCAST(b2), step);
    const T alpha = lr * sqrt((T)1 - b2p) / ((T)1 - b1p);
    const T c1 = (T)(1 - b1), c2 = (T)(1 - b2), eps = (T)o->h[H_ADAM_EPSILON];
#ifdef ADAM_SIMD
    /* float32: the same operations in vectors (kernels_simd.c). */
    if (ADAM_SIMD(st->n, w, m, v, vhat, g, &(ck_adam_coeffs){alpha, c1, c2, eps})) return;
#endif
    for (int64_t i = 0; i < st->n; i++) {
        m[i] += (g[i] - m[i]) * c1;
        v[i] += (g[i] * g[i] - v[i]) * c2;
        T vv = v[i];
        if (vhat) {
            if (vhat[i] < vv) vhat[i] = vv;
            vv = vhat[i];
        }
        w[i] -= (m[i] * alpha) / (sqrt(vv) + eps);
    }
}

static void F(rmsprop)(const ck_optimizer *o, const opt_step *st)
{
    T *w = st->w, *vel = st->s[0], *mom = st->s[1], *avg = st->s[2];
    const T *g = st->g;
    const double rho = o->h[H_RMS_RHO];
    const T lr = (T)st->lr, r = (T)rho, c = (T)(1 - rho), eps = (T)o->h[H_RMS_EPSILON];
    const T mu = (T)o->h[H_RMS_MOMENTUM];
    for (int64_t i = 0; i < st->n; i++) {
        vel[i] = r * vel[i] + c * (g[i] * g[i]);
        T denom;
        if (avg) {
            avg[i] = r * avg[i] + c * g[i];
            denom = vel[i] - avg[i] * avg[i] + eps;
        } else {
            denom = vel[i] + eps;
        }
        T inc = lr * g[i] * ((T)1 / sqrt(denom));
        if (mom) {
            mom[i] = mu * mom[i] + inc;
            w[i] += -mom[i];
        } else {
            w[i] += -inc;
        }
    }
}

static void F(adagrad)(const ck_optimizer *o, const opt_step *st)
{
    T *w = st->w, *acc = st->s[0];
    const T *g = st->g;
    const T lr = (T)st->lr, eps = (T)o->h[H_ADAGRAD_EPSILON];
    for (int64_t i = 0; i < st->n; i++) {
        acc[i] += g[i] * g[i];
        w[i] -= lr * g[i] / sqrt(acc[i] + eps);
    }
}

static void F(adadelta)(const ck_optimizer *o, const opt_step *st)
{
    T *w = st->w, *ag = st->s[0], *ad = st->s[1];
    const T *g = st->g;
    const double rho = o->h[H_ADADELTA_RHO];
    const T lr = (T)st->lr, r = (T)rho, c = (T)(1 - rho), eps = (T)o->h[H_ADADELTA_EPSILON];
    for (int64_t i = 0; i < st->n; i++) {
        ag[i] = r * ag[i] + c * g[i] * g[i];
        T delta = -sqrt(ad[i] + eps) * g[i] / sqrt(ag[i] + eps);
        ad[i] = r * ad[i] + c * delta * delta;
        w[i] += lr * delta;
    }
}

static void F(adamax)(const ck_optimizer *o, const opt_step *st)
{
    T *w = st->w, *m = st->s[0], *u = st->s[1];
    const T *g = st->g;
    const double b1 = o->h[H_ADAMAX_BETA_1];
    const T lr = (T)st->lr, step = (T)(st->iter + 1);
    const T b1p = pow(TCAST(b1), step), c1 = (T)(1 - b1), b2 = (T)o->h[H_ADAMAX_BETA_2];
    const T eps = (T)o->h[H_ADAMAX_EPSILON];
    for (int64_t i = 0; i < st->n; i++) {
        m[i] += (g[i] - m[i]) * c1;
        T a = b2 * u[i], ag = fabs(g[i]);
        u[i] = a > ag ? a : ag;
        w[i] -= (lr * m[i]) / (((T)1 - b1p) * (u[i] + eps));
    }
}

/* u_t = beta_1 * (1 - 0.5 * 0.96^t), in T. */
static T F(nadam_u)(double beta_1, int64_t t)
{
    return TCAST(beta_1) * ((T)1 - (T)0.5 * pow(TCAST(0.96), (T)t));
}

static void F(nadam)(const ck_optimizer *o, const opt_step *st)
{
    T *w = st->w, *m = st->s[0], *v = st->s[1];
    const T *g = st->g;
    const T lr = (T)st->lr, step = (T)(st->iter + 1);
    const T b1 = TCAST(o->h[H_ADAM_BETA_1]), b2 = TCAST(o->h[H_ADAM_BETA_2]);
    const T eps = (T)o->h[H_ADAM_EPSILON];
    const T u_t = F(nadam_u)(o->h[H_ADAM_BETA_1], st->iter + 1);
    const T u_t1 = F(nadam_u)(o->h[H_ADAM_BETA_1], st->iter + 2);
    const T up = (T)st->u_product, up1 = up * u_t1;
    const T b2p = pow(b2, step);
    for (int64_t i = 0; i < st->n; i++) {
        m[i] += (g[i] - m[i]) * ((T)1 - b1);
        v[i] += (g[i] * g[i] - v[i]) * ((T)1 - b2);
        T m_hat = u_t1 * m[i] / ((T)1 - up1) + ((T)1 - u_t) * g[i] / ((T)1 - up);
        T v_hat = v[i] / ((T)1 - b2p);
        w[i] -= (m_hat * lr) / (sqrt(v_hat) + eps);
    }
}

static void F(ftrl)(const ck_optimizer *o, const opt_step *st)
{
    T *w = st->w, *acc = st->s[0], *lin = st->s[1];
    const T *g = st->g;
    const T lr = (T)st->lr;
    const T p = (T)(-o->h[H_FTRL_POWER]);
    const T l2 = (T)o->h[H_FTRL_L2] + (T)o->h[H_FTRL_BETA] / ((T)2 * lr);
    const T shrink2 = (T)(2 * o->h[H_FTRL_SHRINK]), l1 = (T)o->h[H_FTRL_L1];
    for (int64_t i = 0; i < st->n; i++) {
        T gg = g[i] + shrink2 * w[i];
        T na = acc[i] + g[i] * g[i];
        T pna = pow(na, p);
        lin[i] += gg - (pna - pow(acc[i], p)) / lr * w[i];
        T quad = pna / lr + (T)2 * l2;
        T lc = lin[i] < -l1 ? -l1 : lin[i] > l1 ? l1 : lin[i];
        w[i] = (lc - lin[i]) / quad;
        acc[i] = na;
    }
}

#undef TCAST
