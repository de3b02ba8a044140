/* model.fit, fit from a data callback, evaluate, train_on_batch and
 * test_on_batch: tf.keras 2.x's loop (epochs of batches, callbacks, the
 * progress bar, validation at the end of each epoch). */
#include <math.h>
#include <string.h>

#include "train/batches.h"

static int verbosity(ck_opt_int v) { return v.set ? (int)v.value : 1; }

static ck_status for_callbacks(const ck_fit_opts *o, int event, ck_model *m, int epoch, int64_t batch,
                               const ck_logs *logs)
{
    for (int i = 0; i < o->n_callbacks; i++) {
        const ck_callback *cb = o->callbacks[i];
        if (!cb) continue;
        ck_status st = CK_OK;
        switch (event) {
        case 0: if (cb->fns.on_train_begin) st = cb->fns.on_train_begin(cb->user, m); break;
        case 1: if (cb->fns.on_epoch_begin) st = cb->fns.on_epoch_begin(cb->user, m, epoch); break;
        case 2: if (cb->fns.on_batch_end) st = cb->fns.on_batch_end(cb->user, m, batch, logs); break;
        case 3: if (cb->fns.on_epoch_end) st = cb->fns.on_epoch_end(cb->user, m, epoch, logs); break;
        default: if (cb->fns.on_train_end) st = cb->fns.on_train_end(cb->user, m, logs); break;
        }
        if (st != CK_OK) return st;
    }
    return CK_OK;
}

/* Evaluates rows [offset, offset + n) of the source with the trainer's
 * metrics (already reset by the caller). */
static ck_status run_eval(ck_model *m, ck_trainer *t, ck_batches *b, const ck_batch_source *src, int64_t n,
                          ck_progbar *bar)
{
    ck_batch_view v;
    int64_t bs = b->capacity, steps = (n + bs - 1) / bs;
    for (int64_t s = 0; s < steps; s++) {
        int64_t rows = n - s * bs < bs ? n - s * bs : bs;
        CK_TRY(ck_batches_fill(b, src, s * bs, rows));
        ck_batches_views(b, rows, &v);
        CK_TRY(ck_trainer_eval(m, t, rows == bs ? 0 : 1, v.x, v.y, v.sw));
        if (bar) {
            ck_logs logs = {0};
            ck_trainer_logs(m, t, "", &logs);
            ck_progbar_update(bar, s + 1, &logs, s + 1 == steps);
        }
    }
    return CK_OK;
}

typedef struct fit_run {
    ck_model *m;
    ck_trainer *t;
    const ck_fit_opts *o;
    int verbose, epochs;
    FILE *out;
    ck_history *history;
    ck_batches train, val;
    ck_batch_source tsrc, vsrc;
    int64_t n_train, n_val;
    ck_rng shuffle_rng;
    ck_batch_fn fn;             /* fit_batches: the data callback */
    void *fn_user;
    int64_t steps_per_epoch;
} fit_run;

/* One epoch of training batches (from arrays or from the callback). */
static ck_status train_epoch(fit_run *r, int epoch, ck_progbar *bar)
{
    ck_batch_view v;
    int64_t bs = r->train.capacity;
    int64_t steps = r->fn ? r->steps_per_epoch : (r->n_train + bs - 1) / bs;
    if (!r->fn) ck_batches_order(&r->train, r->n_train, !r->o->no_shuffle, &r->shuffle_rng);
    for (int64_t s = 0; s < steps && !r->m->stop_training; s++) {
        int64_t rows;
        if (r->fn) {
            if (r->train.sw)
                for (int64_t i = 0; i < bs; i++) ((float *)r->train.sw->data)[i] = 1.0f;
            rows = 0;
            CK_TRY(r->fn(r->fn_user, epoch, s, bs, r->train.x, r->train.y, r->train.sw, &rows));
            if (rows <= 0) break;
            if (rows > bs) return ck_error(CK_VALUE_ERROR, "fit: the data callback returned %lld rows for a "
                                           "batch of %lld", (long long)rows, (long long)bs);
        } else {
            rows = r->n_train - s * bs < bs ? r->n_train - s * bs : bs;
            CK_TRY(ck_batches_fill(&r->train, &r->tsrc, s * bs, rows));
        }
        ck_batches_views(&r->train, rows, &v);
        CK_TRY(ck_trainer_step(r->m, r->t, 1, v.x, v.y, v.sw));
        ck_logs logs = {0};
        ck_trainer_logs(r->m, r->t, "", &logs);
        CK_TRY(for_callbacks(r->o, 2, r->m, epoch, s, &logs));
        if (r->verbose == 1 && s + 1 < steps) ck_progbar_update(bar, s + 1, &logs, 0);
    }
    return CK_OK;
}

static ck_status fit_loop(fit_run *r)
{
    ck_model *m = r->m;
    ck_trainer *t = r->t;
    ck_logs logs = {0};
    int64_t bs = r->train.capacity;
    int64_t steps = r->fn ? r->steps_per_epoch : (r->n_train + bs - 1) / bs;
    m->stop_training = 0;
    CK_TRY(for_callbacks(r->o, 0, m, 0, 0, NULL));
    for (int epoch = r->o->initial_epoch; epoch < r->epochs && !m->stop_training; epoch++) {
        CK_TRY(for_callbacks(r->o, 1, m, epoch, 0, NULL));
        if (r->verbose && r->epochs > 1) {
            fprintf(r->out, "Epoch %d/%d\n", epoch + 1, r->epochs);
            fflush(r->out);
        }
        ck_progbar bar;
        ck_progbar_start(&bar, r->out, r->verbose, steps);
        ck_trainer_reset(t);
        CK_TRY(train_epoch(r, epoch, &bar));
        memset(&logs, 0, sizeof logs);
        ck_trainer_logs(m, t, "", &logs);
        if (r->n_val > 0) {
            ck_trainer_reset(t);
            CK_TRY(run_eval(m, t, &r->val, &r->vsrc, r->n_val, NULL));
            ck_trainer_logs(m, t, "val_", &logs);
        }
        if (r->verbose) ck_progbar_update(&bar, steps, &logs, 1);
        CK_TRY(for_callbacks(r->o, 3, m, epoch, 0, &logs));
        if (r->history) CK_TRY(ck_history_add(r->history, epoch, &logs));
    }
    return for_callbacks(r->o, 4, m, 0, 0, &logs);
}

static ck_status fit_setup(fit_run *r, ck_model *m, const ck_fit_opts *o, ck_history **history)
{
    static const ck_fit_opts zero;
    memset(r, 0, sizeof *r);
    r->m = m;
    r->o = o ? o : &zero;
    CK_TRY(ck_trainer_of(m, &r->t));
    o = r->o;
    if (o->batch_size < 0) return ck_error(CK_VALUE_ERROR, "fit: batch_size must be positive, got %lld", (long long)o->batch_size);
    if (o->epochs < 0) return ck_error(CK_VALUE_ERROR, "fit: epochs must be positive, got %d", o->epochs);
    if (!(o->validation_split >= 0 && o->validation_split < 1))
        return ck_error(CK_VALUE_ERROR, "`validation_split` must be in [0, 1), got %g", o->validation_split);
    if (o->n_callbacks < 0 || (o->n_callbacks > 0 && !o->callbacks))
        return ck_error(CK_VALUE_ERROR, "fit: bad callback list");
    r->verbose = verbosity(o->verbose);
    r->epochs = o->epochs ? o->epochs : 1;
    r->out = o->progress ? o->progress : stdout;
    /* Trainable flags may have changed since compile (Keras re-reads
     * trainable_weights when the train function is rebuilt). */
    CK_TRY(ck_trainer_collect_vars(m, r->t));
    if (o->seed.set) {
        ck_rng_seed(&r->shuffle_rng, (uint64_t)o->seed.value);
        ck_rng_seed(&r->t->rng, (uint64_t)o->seed.value ^ 0x9e3779b97f4a7c15ull);
    } else {
        ck_rng_seed(&r->shuffle_rng, ck_rng_next(&r->t->rng));
    }
    if (history) CK_TRY(ck_history_new(&r->history));
    return CK_OK;
}

static void fit_cleanup(fit_run *r, ck_status st, ck_history **history)
{
    ck_batches_free(&r->train);
    ck_batches_free(&r->val);
    if (st == CK_OK && history) *history = r->history;
    else ck_history_free(r->history);
}

ck_status ck_model_fit(ck_model *m, int n_x, ck_tensor *const *given_x, int n_y, ck_tensor *const *given_y,
                       const ck_fit_opts *opts, ck_history **history)
{
    CK_NEED(m);
    CK_NEED(given_x);
    CK_NEED(given_y);
    const ck_tensor *const *x = ck_const_tensors(given_x), *const *y = ck_const_tensors(given_y);
    fit_run r;
    ck_status st = fit_setup(&r, m, opts, history);
    int64_t n = 0;
    const ck_fit_opts *o = r.o;
    if (st == CK_OK) st = ck_batches_check(m, r.t, n_x, x, n_y, y, o->sample_weight, &n);
    if (st == CK_OK && n == 0) st = ck_error(CK_VALUE_ERROR, "Expected input data to be non-empty.");
    for (int c = 0; st == CK_OK && c < o->n_class_weight; c++)
        if (!(o->class_weight[c] >= 0)) st = ck_error(CK_VALUE_ERROR, "class_weight[%d] must be >= 0", c);
    r.n_train = n;
    if (st == CK_OK && o->validation_split > 0) {
        /* Keras holds out the last samples, before any shuffling. */
        r.n_train = (int64_t)floor((double)n * (1.0 - o->validation_split));
        r.n_val = n - r.n_train;
        if (r.n_train == 0 || r.n_val == 0)
            st = ck_error(CK_VALUE_ERROR, "Training data contains %lld samples, which is not sufficient to split it "
                          "into a validation and training set as specified by `validation_split=%g`. Either "
                          "provide more data, or a different value for the `validation_split` argument.",
                          (long long)n, o->validation_split);
    }
    int64_t bs = o->batch_size ? o->batch_size : 32;
    int weighted = o->sample_weight || o->n_class_weight > 0;
    r.tsrc = (ck_batch_source){x, y, o->sample_weight, o->n_class_weight ? o->class_weight : NULL, o->n_class_weight, 0};
    r.vsrc = r.tsrc;
    r.vsrc.offset = r.n_train;
    r.vsrc.class_weight = NULL; /* Keras weighs validation by sample_weight only */
    if (st == CK_OK && o->n_validation_x > 0) {
        int64_t nv = 0;
        if (r.n_val > 0) st = ck_error(CK_VALUE_ERROR, "fit: give validation_data or validation_split, not both");
        if (st == CK_OK)
            st = ck_batches_check(m, r.t, o->n_validation_x, ck_const_tensors(o->validation_x), o->n_validation_y,
                                  ck_const_tensors(o->validation_y), NULL, &nv);
        r.n_val = nv;
        r.vsrc = (ck_batch_source){ck_const_tensors(o->validation_x), ck_const_tensors(o->validation_y), NULL, NULL,
                                   0, 0};
    }
    if (st == CK_OK) st = ck_batches_init(&r.train, m, n_y, y, bs < r.n_train ? bs : r.n_train, r.n_train, weighted);
    if (st == CK_OK && r.n_val > 0)
        st = ck_batches_init(&r.val, m, n_y, r.vsrc.y, bs < r.n_val ? bs : r.n_val, 0,
                             r.vsrc.sample_weight != NULL);
    if (st == CK_OK) st = fit_loop(&r);
    fit_cleanup(&r, st, history);
    return st;
}

ck_status ck_model_fit_batches(ck_model *m, ck_batch_fn fn, void *user, int64_t steps_per_epoch,
                               const ck_fit_opts *opts, ck_history **history)
{
    CK_NEED(m);
    CK_NEED(fn);
    if (!fn || steps_per_epoch <= 0)
        return ck_error(CK_VALUE_ERROR, "fit_batches: a data callback and steps_per_epoch > 0 are required");
    fit_run r;
    ck_status st = fit_setup(&r, m, opts, history);
    r.fn = fn;
    r.fn_user = user;
    r.steps_per_epoch = steps_per_epoch;
    int64_t bs = r.o->batch_size ? r.o->batch_size : 32;
    /* y buffers: float32 with the outputs' shapes, int64 (batch,) for the
     * sparse losses. */
    ck_tensor *ys[CK_MAX_LAYER_INPUTS] = {NULL};
    for (int o = 0; st == CK_OK && o < m->n_outputs; o++) {
        const ck_tensor *sym = m->outputs[o];
        int64_t shape[CK_MAX_RANK];
        for (int d = 0; d < sym->rank; d++) shape[d] = sym->shape[d] < 0 ? 1 : sym->shape[d];
        int sparse = r.t->losses[o] && strcmp(ck_loss_canonical(r.t->losses[o]), "sparse_categorical_crossentropy") == 0;
        st = ck_tensor_new(&ys[o], sparse ? CK_INT64 : CK_FLOAT32, sparse ? 1 : sym->rank, shape);
    }
    if (st == CK_OK) st = ck_batches_init(&r.train, m, m->n_outputs, (const ck_tensor *const *)ys, bs, 0, 1);
    for (int o = 0; o < m->n_outputs; o++) ck_tensor_free(ys[o]);
    if (st == CK_OK) st = fit_loop(&r);
    fit_cleanup(&r, st, history);
    return st;
}

ck_status ck_model_evaluate(ck_model *m, int n_x, ck_tensor *const *given_x, int n_y, ck_tensor *const *given_y,
                            const ck_evaluate_opts *opts, ck_logs *logs)
{
    CK_NEED(m);
    CK_NEED(given_x);
    CK_NEED(given_y);
    CK_NEED(logs);
    const ck_tensor *const *x = ck_const_tensors(given_x), *const *y = ck_const_tensors(given_y);
    static const ck_evaluate_opts zero;
    const ck_evaluate_opts *o = opts ? opts : &zero;
    ck_trainer *t = NULL;
    int64_t n = 0;
    CK_TRY(ck_trainer_of(m, &t));
    if (o->batch_size < 0) return ck_error(CK_VALUE_ERROR, "evaluate: batch_size must be positive");
    CK_TRY(ck_batches_check(m, t, n_x, x, n_y, y, o->sample_weight, &n));
    if (n == 0) return ck_error(CK_VALUE_ERROR, "Expected input data to be non-empty.");
    int64_t bs = o->batch_size ? o->batch_size : 32;
    ck_batches b;
    CK_TRY(ck_batches_init(&b, m, n_y, y, bs < n ? bs : n, 0, o->sample_weight != NULL));
    ck_batch_source src = {x, y, o->sample_weight, NULL, 0, 0};
    ck_progbar bar;
    int verbose = verbosity(o->verbose);
    ck_progbar_start(&bar, o->progress ? o->progress : stdout, verbose, (n + b.capacity - 1) / b.capacity);
    ck_trainer_reset(t);
    ck_status st = run_eval(m, t, &b, &src, n, verbose ? &bar : NULL);
    ck_batches_free(&b);
    if (st == CK_OK && logs) {
        memset(logs, 0, sizeof *logs);
        ck_trainer_logs(m, t, "", logs);
    }
    return st;
}

/* train_on_batch / test_on_batch: the whole input is one batch. */
static ck_status on_batch(ck_model *m, int training, int n_x, const ck_tensor *const *x, int n_y,
                          const ck_tensor *const *y, const ck_tensor *sw, ck_logs *logs)
{
    ck_trainer *t = NULL;
    int64_t n = 0;
    CK_TRY(ck_trainer_of(m, &t));
    CK_TRY(ck_batches_check(m, t, n_x, x, n_y, y, sw, &n));
    if (n == 0) return ck_error(CK_VALUE_ERROR, "Expected input data to be non-empty.");
    ck_batches b;
    CK_TRY(ck_batches_init(&b, m, n_y, y, n, 0, sw != NULL));
    ck_batch_source src = {x, y, sw, NULL, 0, 0};
    ck_batch_view v;
    ck_status st = ck_batches_fill(&b, &src, 0, n);
    ck_batches_views(&b, n, &v);
    if (training && st == CK_OK) st = ck_trainer_collect_vars(m, t);
    ck_trainer_reset(t);
    if (st == CK_OK) st = training ? ck_trainer_step(m, t, 1, v.x, v.y, v.sw) : ck_trainer_eval(m, t, 0, v.x, v.y, v.sw);
    ck_batches_free(&b);
    if (st == CK_OK && logs) {
        memset(logs, 0, sizeof *logs);
        ck_trainer_logs(m, t, "", logs);
    }
    return st;
}

ck_status ck_model_train_on_batch(ck_model *m, int n_x, ck_tensor *const *x, int n_y, ck_tensor *const *y,
                                  const ck_tensor *sample_weight, ck_logs *logs)
{
    CK_NEED(m);
    CK_NEED(x);
    CK_NEED(y);
    return on_batch(m, 1, n_x, ck_const_tensors(x), n_y, ck_const_tensors(y), sample_weight, logs);
}

ck_status ck_model_test_on_batch(ck_model *m, int n_x, ck_tensor *const *x, int n_y, ck_tensor *const *y,
                                 const ck_tensor *sample_weight, ck_logs *logs)
{
    CK_NEED(m);
    CK_NEED(x);
    CK_NEED(y);
    return on_batch(m, 0, n_x, ck_const_tensors(x), n_y, ck_const_tensors(y), sample_weight, logs);
}
