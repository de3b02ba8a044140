/* Callbacks (keras.callbacks): the C interface, History, EarlyStopping,
 * ModelCheckpoint, ReduceLROnPlateau, LearningRateScheduler, CSVLogger and
 * TerminateOnNaN, with tf.keras 2.x's rules for monitors and modes. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "train/trainer.h"

ck_status ck_callback_new(ck_callback **out, const ck_callback_fns *fns, void *user)
{
    CK_NEED(out);
    CK_NEED(fns);
    if (!out || !fns) return ck_error(CK_VALUE_ERROR, "callback: out and fns are required");
    ck_callback *cb = ck_calloc(1, sizeof *cb);
    if (!cb) return ck_oom("a callback");
    cb->fns = *fns;
    cb->user = user;
    *out = cb;
    return CK_OK;
}

void ck_callback_free(ck_callback *cb)
{
    if (!cb) return;
    if (cb->fns.destroy) cb->fns.destroy(cb->user);
    ck_free(cb);
}

void ck_model_stop_training(ck_model *m)
{
    CK_NEED_VOID(m);
    if (m) m->stop_training = 1;
}

/* ---- History -------------------------------------------------------------- */

struct ck_history {
    int epochs, n;
    char names[CK_MAX_LOGS][64];
    double *values;     /* n x cap_epochs, row per name */
    int cap;
};

ck_status ck_history_new(ck_history **out)
{
    *out = ck_calloc(1, sizeof **out);
    return *out ? CK_OK : ck_oom("the history");
}

ck_status ck_history_add(ck_history *h, int epoch, const ck_logs *logs)
{
    (void)epoch;
    if (h->epochs == h->cap) {
        int cap = h->cap ? h->cap * 2 : 16;
        double *v = ck_calloc((size_t)CK_MAX_LOGS * (size_t)cap, sizeof *v);
        if (!v) return ck_oom("the history");
        for (int i = 0; i < CK_MAX_LOGS; i++)
            for (int e = 0; e < h->epochs; e++) v[i * cap + e] = h->values[i * h->cap + e];
        ck_free(h->values);
        h->values = v;
        h->cap = cap;
    }
    for (int k = 0; k < logs->n; k++) {
        int i = 0;
        while (i < h->n && strcmp(h->names[i], logs->names[k]) != 0) i++;
        if (i == h->n) {
            if (h->n == CK_MAX_LOGS) continue;
            snprintf(h->names[h->n], sizeof h->names[0], "%s", logs->names[k]);
            for (int e = 0; e < h->epochs; e++) h->values[i * h->cap + e] = NAN;
            h->n++;
        }
        h->values[i * h->cap + h->epochs] = logs->values[k];
    }
    h->epochs++;
    return CK_OK;
}

int ck_history_epochs(const ck_history *h) {
    CK_NEED_OR(h, 0);
    return h ? h->epochs : 0;
}
int ck_history_count(const ck_history *h) {
    CK_NEED_OR(h, 0);
    return h ? h->n : 0;
}
const char *ck_history_name(const ck_history *h, int i) {
    CK_NEED_OR(h, NULL);
    return h && i >= 0 && i < h->n ? h->names[i] : NULL;
}

double ck_history_get(const ck_history *h, const char *name, int e)
{
    CK_NEED_OR(h, NAN);
    CK_NEED_OR(name, NAN);
    if (!h || !name || e < 0 || e >= h->epochs) return NAN;
    for (int i = 0; i < h->n; i++)
        if (strcmp(h->names[i], name) == 0) return h->values[i * h->cap + e];
    return NAN;
}

void ck_history_free(ck_history *h)
{
    if (!h) return;
    ck_free(h->values);
    ck_free(h);
}

/* ---- monitors: Keras' mode "auto" is max for accuracy-like names -------- */

typedef struct monitor {
    char name[64];
    int maximize;
    double min_delta;
    double best;
} monitor;

static ck_status monitor_init(monitor *mo, const char *name, const char *mode, double min_delta, const char *who)
{
    snprintf(mo->name, sizeof mo->name, "%s", name ? name : "val_loss");
    if (!mode || strcmp(mode, "auto") == 0)
        mo->maximize = strstr(mo->name, "acc") != NULL || strstr(mo->name, "auc") != NULL ||
                       strncmp(mo->name, "fmeasure", 8) == 0;
    else if (strcmp(mode, "max") == 0) mo->maximize = 1;
    else if (strcmp(mode, "min") == 0) mo->maximize = 0;
    else return ck_error(CK_VALUE_ERROR, "%s mode %s is unknown, expected one of (auto, min, max)", who, mode);
    mo->min_delta = fabs(min_delta) * (mo->maximize ? 1 : -1);
    mo->best = mo->maximize ? -INFINITY : INFINITY;
    return CK_OK;
}

/* Keras' monitor_op(current - min_delta, reference). */
static int improved(const monitor *mo, double current, double reference)
{
    return mo->maximize ? current - mo->min_delta > reference : current - mo->min_delta < reference;
}

/* ---- EarlyStopping -------------------------------------------------------- */

typedef struct early {
    ck_early_stopping_opts o;
    monitor mo;
    int wait, stopped_epoch;
    double baseline_best;
    ck_tensor **best_weights;
    int n_best;
} early;

static void early_drop(early *e)
{
    ck_tensors_free(e->best_weights, e->n_best);
    e->best_weights = NULL;
    e->n_best = 0;
}

static ck_status early_begin(void *u, ck_model *m)
{
    early *e = u;
    (void)m;
    e->wait = 0;
    e->stopped_epoch = 0;
    e->mo.best = e->mo.maximize ? -INFINITY : INFINITY;
    early_drop(e);
    return CK_OK;
}

static ck_status early_epoch_end(void *u, ck_model *m, int epoch, const ck_logs *logs)
{
    early *e = u;
    double current = ck_logs_get(logs, e->mo.name);
    if (isnan(current) || epoch < e->o.start_from_epoch) return CK_OK;
    if (e->o.restore_best_weights && !e->best_weights)
        CK_TRY(ck_layer_get_weights(&m->base, &e->best_weights, &e->n_best));
    e->wait++;
    if (improved(&e->mo, current, e->mo.best)) {
        e->mo.best = current;
        if (e->o.restore_best_weights) {
            early_drop(e);
            CK_TRY(ck_layer_get_weights(&m->base, &e->best_weights, &e->n_best));
        }
        if (!e->o.baseline.set || improved(&e->mo, current, e->o.baseline.value)) e->wait = 0;
        return CK_OK;
    }
    if (e->wait >= e->o.patience && epoch > 0) {
        e->stopped_epoch = epoch;
        m->stop_training = 1;
        if (e->o.restore_best_weights && e->best_weights)
            CK_TRY(ck_layer_set_weights(&m->base, e->n_best, e->best_weights));
    }
    return CK_OK;
}

static ck_status early_end(void *u, ck_model *m, const ck_logs *logs)
{
    early *e = u;
    (void)m, (void)logs;
    if (e->stopped_epoch > 0 && e->o.verbose.set && e->o.verbose.value > 0)
        printf("Epoch %d: early stopping\n", e->stopped_epoch + 1);
    return CK_OK;
}

static void early_free(void *u)
{
    early_drop(u);
    ck_free(u);
}

ck_status ck_early_stopping(ck_callback **out, const ck_early_stopping_opts *opts)
{
    CK_NEED(out);
    ck_early_stopping_opts zero = {0};
    early *e = ck_calloc(1, sizeof *e);
    if (!e) return ck_oom("EarlyStopping");
    e->o = opts ? *opts : zero;
    ck_status st = monitor_init(&e->mo, e->o.monitor, e->o.mode, e->o.min_delta, "EarlyStopping");
    e->o.monitor = NULL;
    e->o.mode = NULL;
    if (st == CK_OK && e->o.patience < 0) st = ck_error(CK_VALUE_ERROR, "EarlyStopping: patience must be >= 0");
    ck_callback_fns fns = {.on_train_begin = early_begin, .on_epoch_end = early_epoch_end,
                           .on_train_end = early_end, .destroy = early_free};
    if (st == CK_OK) st = ck_callback_new(out, &fns, e);
    if (st != CK_OK) early_free(e);
    return st;
}

/* ---- ReduceLROnPlateau ---------------------------------------------------- */

typedef struct plateau {
    monitor mo;
    double factor, min_lr;
    int patience, cooldown, cooldown_counter, wait, verbose;
} plateau;

static ck_status plateau_begin(void *u, ck_model *m)
{
    plateau *p = u;
    (void)m;
    p->wait = p->cooldown_counter = 0;
    p->mo.best = p->mo.maximize ? -INFINITY : INFINITY;
    return CK_OK;
}

static ck_status plateau_epoch_end(void *u, ck_model *m, int epoch, const ck_logs *logs)
{
    plateau *p = u;
    double current = ck_logs_get(logs, p->mo.name);
    if (isnan(current)) return CK_OK;
    if (p->cooldown_counter > 0) {
        p->cooldown_counter--;
        p->wait = 0;
    }
    if (improved(&p->mo, current, p->mo.best)) {
        p->mo.best = current;
        p->wait = 0;
    } else if (p->cooldown_counter <= 0) {
        p->wait++;
        if (p->wait >= p->patience) {
            ck_optimizer *opt = ck_model_optimizer(m);
            double old = opt ? ck_optimizer_learning_rate(opt) : 0;
            if (opt && old > p->min_lr) {
                double lr = old * p->factor;
                if (lr < p->min_lr) lr = p->min_lr;
                CK_TRY(ck_optimizer_set_learning_rate(opt, lr));
                if (p->verbose) printf("\nEpoch %d: ReduceLROnPlateau reducing learning rate to %g.\n", epoch + 1, lr);
                p->cooldown_counter = p->cooldown;
                p->wait = 0;
            }
        }
    }
    return CK_OK;
}

ck_status ck_reduce_lr_on_plateau(ck_callback **out, const ck_reduce_lr_on_plateau_opts *o)
{
    CK_NEED(out);
    ck_reduce_lr_on_plateau_opts zero = {0};
    if (!o) o = &zero;
    double factor = o->factor.set ? o->factor.value : 0.1;
    if (factor >= 1.0)
        return ck_error(CK_VALUE_ERROR, "ReduceLROnPlateau does not support a factor >= 1.0. Got %g", factor);
    plateau *p = ck_calloc(1, sizeof *p);
    if (!p) return ck_oom("ReduceLROnPlateau");
    p->factor = factor;
    p->min_lr = o->min_lr;
    p->patience = o->patience.set ? (int)o->patience.value : 10;
    p->cooldown = o->cooldown;
    p->verbose = o->verbose.set && o->verbose.value > 0;
    ck_status st = monitor_init(&p->mo, o->monitor, o->mode, o->min_delta.set ? o->min_delta.value : 1e-4,
                                "ReduceLROnPlateau");
    ck_callback_fns fns = {.on_train_begin = plateau_begin, .on_epoch_end = plateau_epoch_end, .destroy = ck_free};
    if (st == CK_OK) st = ck_callback_new(out, &fns, p);
    if (st != CK_OK) ck_free(p);
    return st;
}

/* ---- LearningRateScheduler ------------------------------------------------ */

typedef struct scheduler {
    ck_lr_schedule_fn fn;
    void *user;
} scheduler;

static ck_status scheduler_epoch_begin(void *u, ck_model *m, int epoch)
{
    scheduler *s = u;
    ck_optimizer *opt = ck_model_optimizer(m);
    if (!opt) return ck_error(CK_VALUE_ERROR, "LearningRateScheduler: the model has no optimizer");
    double lr = s->fn(epoch, ck_optimizer_learning_rate(opt), s->user);
    if (!isfinite(lr))
        return ck_error(CK_VALUE_ERROR, "LearningRateScheduler: the schedule returned %g at epoch %d", lr, epoch);
    return ck_optimizer_set_learning_rate(opt, lr);
}

ck_status ck_learning_rate_scheduler(ck_callback **out, ck_lr_schedule_fn fn, void *user)
{
    CK_NEED(out);
    CK_NEED(fn);
    if (!fn) return ck_error(CK_VALUE_ERROR, "LearningRateScheduler: schedule is required");
    scheduler *s = ck_calloc(1, sizeof *s);
    if (!s) return ck_oom("LearningRateScheduler");
    s->fn = fn;
    s->user = user;
    ck_callback_fns fns = {.on_epoch_begin = scheduler_epoch_begin, .destroy = ck_free};
    ck_status st = ck_callback_new(out, &fns, s);
    if (st != CK_OK) ck_free(s);
    return st;
}

/* ---- TerminateOnNaN ------------------------------------------------------- */

static ck_status nan_batch_end(void *u, ck_model *m, int64_t batch, const ck_logs *logs)
{
    (void)u;
    double loss = ck_logs_get(logs, "loss");
    if (!isnan(loss) && !isinf(loss)) return CK_OK;
    printf("Batch %lld: Invalid loss, terminating training\n", (long long)batch);
    m->stop_training = 1;
    return CK_OK;
}

ck_status ck_terminate_on_nan(ck_callback **out)
{
    CK_NEED(out);
    ck_callback_fns fns = {.on_batch_end = nan_batch_end};
    return ck_callback_new(out, &fns, NULL);
}
