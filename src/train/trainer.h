/* The training floor's internal interface: the compile state a model
 * carries, one training / test step, and the progress bar. */
#ifndef CK_TRAIN_TRAINER_H
#define CK_TRAIN_TRAINER_H

#include <jansson.h>

#include "model/model.h"
#include "train/losses/loss.h"
#include "train/metrics/metric.h"
#include "train/optimizers/optimizer.h"

/* Most metrics one compile takes. */
#define CK_MAX_METRICS 16

/* What compile sets up, and the buffers a step reuses. */
typedef struct ck_trainer {
    ck_optimizer *optimizer;
    int n_outputs;
    ck_loss **losses;           /* per output; NULL: no loss there */
    double *loss_weights;       /* per output */
    int n_metrics;              /* per output */
    ck_metric **metrics;        /* n_outputs * n_metrics */
    json_t *loss_json;          /* as given (for training_config) */
    json_t *metrics_json;
    json_t *loss_weights_json;
    /* trainable variables (model.trainable_weights) and their gradients */
    int n_vars;
    ck_weight **vars;
    ck_tensor **var_values;
    ck_tensor **grads;
    /* the forward block of a step and the output gradients */
    void *block_raw;
    void *block;
    size_t block_bytes;
    ck_tensor **dy;             /* per output */
    ck_rng rng;
    /* running means of the losses over an epoch (weighted by batch rows) */
    double loss_sum, loss_rows;
    double *out_loss_sum;       /* per output */
} ck_trainer;

/* The model's trainer, or a CK_RUNTIME_ERROR when it is not compiled. */
ck_status ck_trainer_of(ck_model *m, ck_trainer **out);

/* (Re)collects the trainable variables and their gradient tensors (after
 * compile and whenever trainable flags may have changed). */
ck_status ck_trainer_collect_vars(ck_model *m, ck_trainer *t);

/* One step on a batch whose tensors already have the model's dtypes:
 * training != 0 runs the forward in training mode, backpropagates and
 * applies the optimizer; 0 only evaluates (inference mode).  Updates the
 * metrics and the running loss means.  sample_weight: NULL or (rows,). */
ck_status ck_trainer_step(ck_model *m, ck_trainer *t, int training, const ck_tensor *const *x,
                          const ck_tensor *const *y, const ck_tensor *sample_weight);

/* One inference-mode step through predict's plans (`which` 0 for full
 * batches, 1 for the last, shorter one): losses and metrics, no update. */
ck_status ck_trainer_eval(ck_model *m, ck_trainer *t, int which, const ck_tensor *const *x,
                          const ck_tensor *const *y, const ck_tensor *sample_weight);

/* Resets the metrics and the loss means (epoch start). */
void ck_trainer_reset(ck_trainer *t);

/* The current logs: "loss", per-output losses, metrics; names prefixed by
 * `prefix` ("" or "val_"); appended to `logs`. */
void ck_trainer_logs(const ck_model *m, const ck_trainer *t, const char *prefix, ck_logs *logs);

/* The compile configuration as a .keras archive's config.json keeps it
 * (Model.get_compile_config of tf.keras 2.15: the optimizer with its
 * "module", the loss and metrics as given, run_eagerly /
 * steps_per_execution / jit_compile null).  JSON text to ck_free;
 * CK_RUNTIME_ERROR before compile.  (ck_model_training_config gives the
 * .h5 form.) */
ck_status ck_trainer_compile_config(const ck_model *m, char **out);

/* Appends name = value to logs (ignored when full). */
void ck_logs_put(ck_logs *logs, const char *name, double value);

/* ---- the progress bar (progbar.c): Keras' Progbar ---------------------- */
typedef struct ck_progbar {
    FILE *out;
    int verbose;                /* 1: the bar, 2: one line at the end */
    int dynamic;                /* a terminal: redraw with \r */
    int64_t target;
    double start, last_update, after_first;
    size_t total_width;
} ck_progbar;

void ck_progbar_start(ck_progbar *p, FILE *out, int verbose, int64_t target);
/* Shows `current` of target with these logs (values shown as they are,
 * like Keras' stateful metrics); finalize at the last step. */
void ck_progbar_update(ck_progbar *p, int64_t current, const ck_logs *logs, int finalize);

/* Monotonic seconds. */
double ck_now(void);

/* ---- callbacks (callbacks.c) ------------------------------------------- */
struct ck_callback {
    ck_callback_fns fns;
    void *user;
};

/* History: appends one epoch's logs. */
ck_status ck_history_new(ck_history **out);
ck_status ck_history_add(ck_history *h, int epoch, const ck_logs *logs);

#endif
