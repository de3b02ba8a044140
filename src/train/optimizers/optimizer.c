/* The optimizer base: learning rate, building the slots, gradient clipping,
 * decoupled weight decay, one step of apply_gradients, and the optimizer
 * variables (get / set weights and their tf.keras names). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "train/optimizers/opt_impl.h"

const char *ck_optimizer_name(const ck_optimizer *opt) {
    CK_NEED_OR(opt, NULL);
    return opt->cls->name;
}

int64_t ck_optimizer_iterations(const ck_optimizer *opt) {
    CK_NEED_OR(opt, 0);
    return opt->iterations;
}

static float current_lr(const ck_optimizer *o)
{
    return o->schedule ? ck_lr_schedule_eval(o->schedule, o->iterations) : o->lr;
}

double ck_optimizer_learning_rate(const ck_optimizer *opt) {
    CK_NEED_OR(opt, NAN);
    return (double)current_lr(opt);
}

ck_status ck_optimizer_set_learning_rate(ck_optimizer *opt, double lr)
{
    CK_NEED(opt);
    if (!(lr >= 0) || isinf(lr))
        return ck_error(CK_VALUE_ERROR, "%s: the learning rate must be a finite number >= 0, "
                        "got %g", opt->cls->name, lr);
    ck_lr_schedule_free(opt->schedule);
    opt->schedule = NULL;
    opt->lr = (float)lr;
    return CK_OK;
}

void ck_opt_nadam_reset(ck_optimizer *o)
{
    float uf = 1.0f;
    double ud = 1.0;
    if (o->cls->kind == OPT_NADAM)
        for (int64_t t = 1; t <= o->iterations; t++) {
            uf = uf * ck_opt_nadam_u_f32(o->h[H_ADAM_BETA_1], t);
            ud = ud * ck_opt_nadam_u_f64(o->h[H_ADAM_BETA_1], t);
        }
    o->nadam_u_f32 = uf;
    o->nadam_u_f64 = ud;
}

/* ---- checks ---------------------------------------------------------------- */

static int same_shape(const ck_tensor *a, const ck_tensor *b)
{
    if (a->rank != b->rank) return 0;
    for (int d = 0; d < a->rank; d++)
        if (a->shape[d] != b->shape[d]) return 0;
    return 1;
}

static ck_status shape_error(const char *cls, const char *what, int i, const ck_tensor *got,
                             const ck_tensor *want)
{
    char a[96], b[96];
    ck_shape_str(a, sizeof a, got->rank, got->shape);
    ck_shape_str(b, sizeof b, want->rank, want->shape);
    return ck_error(CK_VALUE_ERROR, "%s: %s %d has shape %s, expected %s", cls, what, i, a, b);
}

/* The variables must be float tensors with data; once built, the same
 * count, shapes and dtypes as when the slots were made. */
static ck_status check_vars(const ck_optimizer *o, int n, ck_tensor *const *vars)
{
    const char *cls = o->cls->name;
    if (n <= 0 || !vars)
        return ck_error(CK_VALUE_ERROR, "%s: no variables to update (n=%d)", cls, n);
    if (o->built && n != o->n_vars)
        return ck_error(CK_VALUE_ERROR, "%s: got %d variables, but the optimizer was built "
                        "for %d (pass the same variables in the same order)", cls, n, o->n_vars);
    for (int i = 0; i < n; i++) {
        const ck_tensor *v = vars[i];
        if (!v) return ck_error(CK_VALUE_ERROR, "%s: variable %d is NULL", cls, i);
        if (v->dtype != CK_FLOAT32 && v->dtype != CK_FLOAT64)
            return ck_error(CK_TYPE_ERROR, "%s: variable %d has dtype %s; only float32 and "
                            "float64 variables can be trained", cls, i, ck_dtype_name(v->dtype));
        if (v->size > 0 && !v->data)
            return ck_error(CK_VALUE_ERROR, "%s: variable %d has no data (symbolic?)", cls, i);
        if (o->built) {
            const ck_tensor *s = NULL;
            for (int k = 0; k < OPT_MAX_SLOTS && !s; k++) s = o->slots[i * OPT_MAX_SLOTS + k];
            if (s && !same_shape(v, s)) return shape_error(cls, "variable", i, v, s);
            if (s && s->dtype != v->dtype)
                return ck_error(CK_VALUE_ERROR, "%s: variable %d has dtype %s, but the optimizer "
                                "was built for %s", cls, i, ck_dtype_name(v->dtype),
                                ck_dtype_name(s->dtype));
        }
    }
    return CK_OK;
}

/* ---- building -------------------------------------------------------------- */

static void fill(ck_tensor *t, double v)
{
    if (v == 0) return; /* new tensors are zeroed */
    if (t->dtype == CK_FLOAT32)
        for (int64_t i = 0; i < t->size; i++) ((float *)t->data)[i] = (float)v;
    else
        for (int64_t i = 0; i < t->size; i++) ((double *)t->data)[i] = v;
}

static ck_status build(ck_optimizer *o, int n, ck_tensor *const *vars)
{
    ck_tensor **slots = ck_calloc((size_t)n * OPT_MAX_SLOTS, sizeof *slots);
    if (!slots) return ck_oom("the optimizer slots");
    int64_t largest = 0;
    ck_status st = CK_OK;
    for (int i = 0; i < n && st == CK_OK; i++) {
        const ck_tensor *v = vars[i];
        if (v->size > largest) largest = v->size;
        for (int k = 0; k < OPT_MAX_SLOTS && st == CK_OK; k++) {
            if (!o->slot_present[k]) continue;
            st = ck_tensor_new(&slots[i * OPT_MAX_SLOTS + k], v->dtype, v->rank, v->shape);
            int h = o->cls->slots[k].init_hyper;
            if (st == CK_OK && h >= 0) fill(slots[i * OPT_MAX_SLOTS + k], o->h[h]);
        }
    }
    void *scratch = NULL;
    int clips = o->clipnorm > 0 || o->global_clipnorm > 0 || o->clipvalue > 0;
    if (st == CK_OK && clips) {
        scratch = ck_malloc((size_t)(largest ? largest : 1) * sizeof(double));
        if (!scratch) st = ck_oom("the optimizer's clipped gradients");
    }
    if (st != CK_OK) {
        for (int i = 0; i < n * OPT_MAX_SLOTS; i++) ck_tensor_free(slots[i]);
        ck_free(slots);
        return st;
    }
    o->slots = slots;
    o->scratch = scratch;
    o->n_vars = n;
    o->built = 1;
    return CK_OK;
}

/* ---- clipping (tf.clip_by_norm / clip_by_global_norm / clip_by_value) ----- */

static double sum_squares(const ck_tensor *g)
{
    if (g->dtype == CK_FLOAT32) {
        float s = 0;
        const float *p = g->data;
        for (int64_t i = 0; i < g->size; i++) s += p[i] * p[i];
        return s;
    }
    double s = 0;
    const double *p = g->data;
    for (int64_t i = 0; i < g->size; i++) s += p[i] * p[i];
    return s;
}

/* Global norm over all gradients, as tf.linalg.global_norm: the sum of the
 * l2_loss (sum of squares / 2) of each, times 2, square-rooted (in float32
 * when the gradients are float32). */
static double global_norm(int n, const ck_tensor *const *grads)
{
    int f32 = grads[0]->dtype == CK_FLOAT32;
    float hf = 0;
    double hd = 0;
    for (int i = 0; i < n; i++) {
        double s = sum_squares(grads[i]);
        if (f32) hf += (float)s / 2.0f;
        else hd += s / 2.0;
    }
    return f32 ? (double)sqrtf(hf * 2.0f) : sqrt(hd * 2.0);
}

#define CLIP_LOOP(T)                                                                           \
    do {                                                                                       \
        const T *src = g->data;                                                                \
        T *dst = o->scratch;                                                                   \
        if (mode == 1) {                                                                       \
            T cn = (T)o->clipnorm, l2sum = (T)sum_squares(g);                                  \
            T norm = l2sum > 0 ? sqrt(l2sum) : l2sum;                                          \
            T den = norm > cn ? norm : cn;                                                     \
            for (int64_t i = 0; i < g->size; i++) dst[i] = src[i] * cn / den;                  \
        } else if (mode == 2) {                                                                \
            T cn = (T)o->global_clipnorm, gn = (T)gnorm;                                       \
            T a = (T)1 / gn, b = (T)1 / cn;                                                    \
            T scale = isfinite(gn) ? cn * (a < b ? a : b) : (T)NAN;                            \
            for (int64_t i = 0; i < g->size; i++) dst[i] = src[i] * scale;                     \
        } else {                                                                               \
            T cv = (T)o->clipvalue;                                                            \
            for (int64_t i = 0; i < g->size; i++)                                              \
                dst[i] = src[i] < -cv ? -cv : src[i] > cv ? cv : src[i];                       \
        }                                                                                      \
    } while (0)

/* The gradient as clipped in the scratch buffer (mode 1 clipnorm, 2 global
 * clipnorm, 3 clipvalue). */
static const void *clipped(const ck_optimizer *o, const ck_tensor *g, int mode, double gnorm)
{
    if (g->dtype == CK_FLOAT32) CLIP_LOOP(float);
    else CLIP_LOOP(double);
    return o->scratch;
}

/* ---- apply_gradients ------------------------------------------------------- */

static void weight_decay(const ck_optimizer *o, ck_tensor *v, float lr)
{
    if (v->dtype == CK_FLOAT32) {
        float *w = v->data, wd = (float)o->weight_decay;
        for (int64_t i = 0; i < v->size; i++) w[i] -= w[i] * wd * lr;
    } else {
        double *w = v->data, wd = (float)o->weight_decay, l = lr; /* tf.cast via float32 */
        for (int64_t i = 0; i < v->size; i++) w[i] -= w[i] * wd * l;
    }
}

ck_status ck_optimizer_apply_gradients(ck_optimizer *opt, int n, ck_tensor *const *vars, ck_tensor *const *given)
{
    CK_NEED(opt);
    if (n > 0) CK_NEED(vars);
    if (n > 0) CK_NEED(given);
    const ck_tensor *const *grads = ck_const_tensors(given);
    ck_optimizer *o = opt;
    const char *cls = o->cls->name;
    CK_TRY(check_vars(o, n, vars));
    if (!grads) return ck_error(CK_VALUE_ERROR, "%s: no gradients", cls);
    for (int i = 0; i < n; i++) {
        const ck_tensor *g = grads[i];
        if (!g) return ck_error(CK_VALUE_ERROR, "%s: the gradient of variable %d is NULL", cls, i);
        if (g->dtype != vars[i]->dtype)
            return ck_error(CK_TYPE_ERROR, "%s: the gradient of variable %d is %s, the variable "
                            "%s", cls, i, ck_dtype_name(g->dtype), ck_dtype_name(vars[i]->dtype));
        if (!same_shape(g, vars[i])) return shape_error(cls, "gradient", i, g, vars[i]);
        if (g->size > 0 && !g->data)
            return ck_error(CK_VALUE_ERROR, "%s: gradient %d has no data", cls, i);
    }
    if (!o->built) CK_TRY(build(o, n, vars));

    const float lr = current_lr(o);
    int mode = o->clipnorm > 0 ? 1 : o->global_clipnorm > 0 ? 2 : o->clipvalue > 0 ? 3 : 0;
    double gnorm = mode == 2 ? global_norm(n, grads) : 0;
    if (o->has_weight_decay)
        for (int i = 0; i < n; i++) weight_decay(o, vars[i], lr);
    if (o->cls->kind == OPT_NADAM) {
        o->nadam_u_f32 = o->nadam_u_f32 * ck_opt_nadam_u_f32(o->h[H_ADAM_BETA_1], o->iterations + 1);
        o->nadam_u_f64 = o->nadam_u_f64 * ck_opt_nadam_u_f64(o->h[H_ADAM_BETA_1], o->iterations + 1);
    }
    for (int i = 0; i < n; i++) {
        ck_tensor *v = vars[i];
        opt_step st = {.n = v->size, .w = v->data, .lr = lr, .iter = o->iterations};
        st.g = mode ? clipped(o, grads[i], mode, gnorm) : grads[i]->data;
        for (int k = 0; k < OPT_MAX_SLOTS; k++) {
            ck_tensor *s = o->slots[i * OPT_MAX_SLOTS + k];
            st.s[k] = s ? s->data : NULL;
        }
        if (v->dtype == CK_FLOAT32) {
            st.u_product = o->nadam_u_f32;
            o->cls->update_f32(o, &st);
        } else {
            st.u_product = o->nadam_u_f64;
            o->cls->update_f64(o, &st);
        }
    }
    o->iterations++;
    return CK_OK;
}

/* ---- optimizer variables ----------------------------------------------------- */

/* Lists (variable, slot) pairs in tf.keras' variable order; returns the count. */
static int slot_order(const ck_optimizer *o, int n_vars, int *var_of, int *slot_of)
{
    int m = 0;
    for (int grp = 0; grp < OPT_MAX_SLOTS; grp++)
        for (int i = 0; i < n_vars; i++)
            for (int k = 0; k < OPT_MAX_SLOTS; k++)
                if (o->slot_present[k] && o->cls->slots[k].group == grp) {
                    if (var_of) var_of[m] = i;
                    if (slot_of) slot_of[m] = k;
                    m++;
                }
    return m;
}

static int slots_per_var(const ck_optimizer *o)
{
    int c = 0;
    for (int k = 0; k < OPT_MAX_SLOTS; k++) c += o->slot_present[k];
    return c;
}

ck_status ck_optimizer_get_weights(const ck_optimizer *opt, ck_tensor ***out, int *n)
{
    CK_NEED(opt);
    CK_NEED(out);
    CK_NEED(n);
    const ck_optimizer *o = opt;
    int m = o->built ? o->n_vars * slots_per_var(o) : 0;
    ck_tensor **ts = ck_calloc((size_t)m + 1, sizeof *ts);
    int *var_of = ck_malloc(((size_t)m + 1) * sizeof(int));
    int *slot_of = ck_malloc(((size_t)m + 1) * sizeof(int));
    ck_status st = ts && var_of && slot_of ? CK_OK : ck_oom("the optimizer weights");
    if (st == CK_OK) st = ck_tensor_new(&ts[0], CK_INT64, 0, NULL);
    if (st == CK_OK) {
        *(int64_t *)ts[0]->data = o->iterations;
        if (o->built) slot_order(o, o->n_vars, var_of, slot_of);
        for (int j = 0; j < m && st == CK_OK; j++)
            st = ck_tensor_copy(&ts[j + 1], o->slots[var_of[j] * OPT_MAX_SLOTS + slot_of[j]]);
    }
    ck_free(var_of);
    ck_free(slot_of);
    if (st != CK_OK) {
        if (ts) ck_tensors_free(ts, m + 1);
        return st;
    }
    *out = ts;
    *n = m + 1;
    return CK_OK;
}

static void copy_into(ck_tensor *dst, const ck_tensor *src)
{
    for (int64_t i = 0; i < dst->size; i++) {
        double v = ck_tensor_get(src, i);
        if (dst->dtype == CK_FLOAT32) ((float *)dst->data)[i] = (float)v;
        else ((double *)dst->data)[i] = v;
    }
}

ck_status ck_optimizer_set_weights(ck_optimizer *opt, int n_vars, ck_tensor *const *vars, int n,
                                   ck_tensor *const *values)
{
    CK_NEED(opt);
    if (n_vars > 0) CK_NEED(vars);
    if (n > 0) CK_NEED(values);
    ck_optimizer *o = opt;
    const char *cls = o->cls->name;
    if (n < 1 || !values)
        return ck_error(CK_VALUE_ERROR, "%s: set_weights needs at least the iterations", cls);
    for (int j = 0; j < n; j++)
        if (!values[j] || (values[j]->size > 0 && !values[j]->data))
            return ck_error(CK_VALUE_ERROR, "%s: weight %d is NULL or has no data", cls, j);
    const ck_tensor *it = values[0];
    if (it->size != 1)
        return ck_error(CK_VALUE_ERROR, "%s: the first weight (iterations) must be a scalar", cls);
    double itv = ck_tensor_get(it, 0);
    if (!(itv >= 0 && itv < 9.2e18) || itv != floor(itv))
        return ck_error(CK_VALUE_ERROR, "%s: bad iteration count %g", cls, itv);
    if (n == 1 && !o->built) {
        o->iterations = (int64_t)itv;
        ck_opt_nadam_reset(o);
        return CK_OK;
    }
    CK_TRY(check_vars(o, n_vars, vars));
    int m = n_vars * slots_per_var(o);
    if (n != m + 1)
        return ck_error(CK_VALUE_ERROR, "%s: You called `set_weights(weights)` on optimizer %s "
                        "with a weight list of length %d, but the optimizer was expecting %d "
                        "weights for %d variables.", cls, o->name, n, m + 1, n_vars);
    int *var_of = ck_malloc(((size_t)m + 1) * sizeof(int));
    int *slot_of = ck_malloc(((size_t)m + 1) * sizeof(int));
    if (!var_of || !slot_of) {
        ck_free(var_of);
        ck_free(slot_of);
        return ck_oom("the optimizer weights");
    }
    slot_order(o, n_vars, var_of, slot_of);
    ck_status st = CK_OK;
    for (int j = 0; j < m && st == CK_OK; j++) {
        const ck_tensor *v = values[j + 1], *want = vars[var_of[j]];
        if (!same_shape(v, want)) st = shape_error(cls, "weight", j + 1, v, want);
        else if (v->dtype != CK_FLOAT32 && v->dtype != CK_FLOAT64)
            st = ck_error(CK_TYPE_ERROR, "%s: weight %d has dtype %s", cls, j + 1,
                          ck_dtype_name(v->dtype));
    }
    if (st == CK_OK && !o->built) st = build(o, n_vars, vars);
    if (st == CK_OK) {
        for (int j = 0; j < m; j++)
            copy_into(o->slots[var_of[j] * OPT_MAX_SLOTS + slot_of[j]], values[j + 1]);
        o->iterations = (int64_t)itv;
        ck_opt_nadam_reset(o);
    }
    ck_free(var_of);
    ck_free(slot_of);
    return st;
}

ck_status ck_optimizer_weight_names(const ck_optimizer *opt, int n_vars,
                                    const char *const *var_names, char ***names, int *n)
{
    const ck_optimizer *o = opt;
    if (n_vars < 0 || (n_vars > 0 && !var_names))
        return ck_error(CK_VALUE_ERROR, "%s: weight_names needs the variable names", o->cls->name);
    for (int i = 0; i < n_vars; i++)
        if (!var_names[i])
            return ck_error(CK_VALUE_ERROR, "%s: variable name %d is NULL", o->cls->name, i);
    int m = slot_order(o, n_vars, NULL, NULL);
    char **out = ck_calloc((size_t)m + 1, sizeof *out);
    int *var_of = ck_malloc(((size_t)m + 1) * sizeof(int));
    int *slot_of = ck_malloc(((size_t)m + 1) * sizeof(int));
    ck_status st = out && var_of && slot_of ? CK_OK : ck_oom("the optimizer weight names");
    if (st == CK_OK) {
        slot_order(o, n_vars, var_of, slot_of);
        out[0] = ck_strdup("iteration:0");
        if (!out[0]) st = ck_oom("the optimizer weight names");
    }
    for (int j = 0; j < m && st == CK_OK; j++) {
        /* "dense/kernel:0" -> shared name "dense/kernel". */
        const char *vn = var_names[var_of[j]];
        size_t len = strlen(vn);
        const char *colon = strrchr(vn, ':');
        if (colon && colon[1]) {
            const char *p = colon + 1;
            while (*p >= '0' && *p <= '9') p++;
            if (*p == '\0') len = (size_t)(colon - vn);
        }
        const char *slot = o->cls->slots[slot_of[j]].name;
        size_t sz = strlen(o->name) + strlen(slot) + len + 8;
        out[j + 1] = ck_malloc(sz);
        if (!out[j + 1]) st = ck_oom("the optimizer weight names");
        else snprintf(out[j + 1], sz, "%s/%s/%.*s:0", o->name, slot, (int)len, vn);
    }
    ck_free(var_of);
    ck_free(slot_of);
    if (st != CK_OK) {
        if (out)
            for (int j = 0; j <= m; j++) ck_free(out[j]);
        ck_free(out);
        return st;
    }
    *names = out;
    *n = m + 1;
    return CK_OK;
}
