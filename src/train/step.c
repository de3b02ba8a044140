/* Metrics are updated without sample weights, as Keras' `metrics` (only
 * `weighted_metrics` see them; class weights included), except the mask of
 * a masked output: tf.keras 2.x (compile_utils.MetricsContainer) gives it
 * to every metric of that output as its sample weight.
 *
 * One training or test step: forward, losses, backward, optimizer,
 * constraints, metrics.  Nothing is allocated once a batch shape has been
 * seen (the layout, the forward block and the output gradients are kept). */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "train/trainer.h"

void ck_logs_put(ck_logs *logs, const char *name, double value)
{
    if (logs->n >= CK_MAX_LOGS) return;
    /* A longer name is cut to the 63 bytes ck_logs holds (Keras' names are
     * far shorter); the length is checked so that the compiler knows the
     * cut is meant. */
    size_t len = strlen(name), cap = sizeof logs->names[0] - 1;
    if (len > cap) len = cap;
    memcpy(logs->names[logs->n], name, len);
    logs->names[logs->n][len] = '\0';
    logs->values[logs->n++] = value;
}

double ck_logs_get(const ck_logs *logs, const char *name)
{
    CK_NEED_OR(logs, NAN);
    CK_NEED_OR(name, NAN);
    for (int i = 0; logs && name && i < logs->n; i++)
        if (strcmp(logs->names[i], name) == 0) return logs->values[i];
    return NAN;
}

void ck_trainer_reset(ck_trainer *t)
{
    t->loss_sum = t->loss_rows = 0;
    for (int o = 0; o < t->n_outputs; o++) t->out_loss_sum[o] = 0;
    for (int i = 0; i < t->n_outputs * t->n_metrics; i++) ck_metric_reset(t->metrics[i]);
}

static const char *output_name(const ck_model *m, int o)
{
    const ck_keras_history *h = ck_tensor_history(m->outputs[o]);
    return h ? h->layer->name : "output";
}

void ck_trainer_logs(const ck_model *m, const ck_trainer *t, const char *prefix, ck_logs *logs)
{
    char name[160];
    double rows = t->loss_rows > 0 ? t->loss_rows : 1;
    snprintf(name, sizeof name, "%sloss", prefix);
    ck_logs_put(logs, name, t->loss_sum / rows);
    if (t->n_outputs > 1)
        for (int o = 0; o < t->n_outputs; o++)
            if (t->losses[o]) {
                snprintf(name, sizeof name, "%s%s_loss", prefix, output_name(m, o));
                ck_logs_put(logs, name, t->out_loss_sum[o] / rows);
            }
    for (int o = 0; o < t->n_outputs; o++)
        for (int k = 0; k < t->n_metrics; k++) {
            const ck_metric *mt = t->metrics[o * t->n_metrics + k];
            if (t->n_outputs > 1) snprintf(name, sizeof name, "%s%s_%s", prefix, output_name(m, o), ck_metric_name(mt));
            else snprintf(name, sizeof name, "%s%s", prefix, ck_metric_name(mt));
            ck_logs_put(logs, name, ck_metric_result(mt));
        }
}

/* model.losses now: weight penalties, activity losses of the last forward
 * and add_loss values, through nested models. */
static ck_status regularization_loss(const ck_layer *layer, double *total)
{
    if (layer->cls->sublayer_count) {
        int k = layer->cls->sublayer_count(layer);
        for (int i = 0; i < k; i++) CK_TRY(regularization_loss(layer->cls->sublayer(layer, i), total));
    }
    for (int i = 0; i < layer->n_weights; i++) {
        const ck_weight *w = layer->weights[i];
        if (!w->regularizer) continue;
        double v;
        CK_TRY(ck_regularizer_loss(w->regularizer, w->value, &v));
        *total += v;
    }
    if (layer->n_activity_losses) *total += layer->activity_loss;
    for (int i = 0; i < layer->n_extra_losses; i++) {
        const ck_extra_loss *e = &layer->extra_losses[i];
        double v = e->value;
        if (e->fn) CK_TRY(e->fn(layer, e->user, &v));
        *total += v;
    }
    return CK_OK;
}

/* The forward block and the output gradients for this layout. */
static ck_status ensure_buffers(ck_model *m, ck_trainer *t, const ck_train_layout *L)
{
    if (t->block_bytes < L->fwd_bytes) {
        void *raw = ck_malloc(L->fwd_bytes + 64);
        if (!raw) return ck_oom("a training step");
        ck_free(t->block_raw);
        t->block_raw = raw;
        t->block = (void *)(((uintptr_t)raw + 63) / 64 * 64);
        t->block_bytes = L->fwd_bytes;
    }
    for (int o = 0; o < t->n_outputs; o++) {
        const ck_tensor *v = &L->values[m->output_slots[o]];
        ck_tensor *d = t->dy[o];
        int same = d && d->rank == v->rank && d->dtype == v->dtype;
        for (int i = 0; same && i < v->rank; i++) same = d->shape[i] == v->shape[i];
        if (same || !t->losses[o]) continue;
        ck_tensor *fresh = NULL;
        CK_TRY(ck_tensor_new(&fresh, v->dtype, v->rank, v->shape));
        ck_tensor_free(t->dy[o]);
        t->dy[o] = fresh;
    }
    return CK_OK;
}

static ck_status apply_update(ck_trainer *t)
{
    if (t->n_vars == 0) return CK_OK;
    CK_TRY(ck_optimizer_apply_gradients(t->optimizer, t->n_vars, t->var_values, t->grads));
    for (int i = 0; i < t->n_vars; i++)
        if (t->vars[i]->constraint) CK_TRY(ck_constraint_apply(t->vars[i]->constraint, t->vars[i]->value));
    return CK_OK;
}

ck_status ck_trainer_step(ck_model *m, ck_trainer *t, int training, const ck_tensor *const *x,
                          const ck_tensor *const *y, const ck_tensor *sample_weight)
{
    ck_shape shapes[CK_MAX_LAYER_INPUTS];
    for (int i = 0; i < m->n_inputs; i++) shapes[i] = ck_tensor_shape(x[i]);
    ck_train_layout *L = NULL;
    CK_TRY(ck_model_train_layout(m, m->n_inputs, shapes, &L));
    CK_TRY(ensure_buffers(m, t, L));
    ck_train_ctx ctx = {.training = training, .rng = &t->rng};
    CK_TRY(ck_model_train_forward(m, L, &ctx, x, t->block));

    double total = 0, rows = (double)x[0]->shape[0];
    const ck_tensor *douts[CK_MAX_LAYER_INPUTS] = {NULL};
    for (int o = 0; o < t->n_outputs; o++) {
        if (!t->losses[o]) continue;
        const ck_tensor *pred = &L->values[m->output_slots[o]];
        double v = 0;
        /* A masked output (a sequence from Embedding(mask_zero) / Masking)
         * weighs its loss by the mask. */
        const ck_tensor *masked = ck_model_output_loss_weights(m, L, o, sample_weight);
        CK_TRY(ck_loss_value_grad(t->losses[o], y[o], pred, masked ? masked : sample_weight, t->loss_weights[o],
                                  &v, training ? t->dy[o] : NULL));
        total += v;
        /* The per-output log shows the loss before its weight, as Keras. */
        t->out_loss_sum[o] += (t->loss_weights[o] != 0 ? v / t->loss_weights[o] : 0) * rows;
        douts[o] = t->dy[o];
    }
    double reg = 0;
    CK_TRY(regularization_loss(&m->base, &reg));
    total += reg;
    t->loss_sum += total * rows;
    t->loss_rows += rows;
    for (int o = 0; o < t->n_outputs; o++)
        for (int k = 0; k < t->n_metrics; k++)
            CK_TRY(ck_metric_update(t->metrics[o * t->n_metrics + k], y[o], &L->values[m->output_slots[o]],
                                    m->output_mask_slots[o] >= 0 ? &L->values[m->output_mask_slots[o]] : NULL));
    if (!training) return CK_OK;

    for (int i = 0; i < t->n_vars; i++)
        memset(t->grads[i]->data, 0, (size_t)t->grads[i]->size * ck_dtype_size(t->grads[i]->dtype));
    CK_TRY(ck_model_train_backward(m, L, &ctx, x, t->block, douts, NULL));
    for (int i = 0; i < t->n_vars; i++)
        if (t->vars[i]->regularizer)
            CK_TRY(ck_regularizer_add_grad(t->vars[i]->regularizer, t->vars[i]->value, 1.0, t->grads[i]));
    return apply_update(t);
}

ck_status ck_trainer_eval(ck_model *m, ck_trainer *t, int which, const ck_tensor *const *x,
                          const ck_tensor *const *y, const ck_tensor *sample_weight)
{
    ck_shape shapes[CK_MAX_LAYER_INPUTS];
    for (int i = 0; i < m->n_inputs; i++) shapes[i] = ck_tensor_shape(x[i]);
    ck_plan *plan = NULL;
    CK_TRY(ck_model_plan(m, which, m->n_inputs, shapes, &plan));
    CK_TRY(ck_model_run(m, plan, x));
    double total = 0, rows = (double)x[0]->shape[0];
    for (int o = 0; o < t->n_outputs; o++) {
        if (!t->losses[o]) continue;
        double v = 0;
        const ck_tensor *masked = ck_model_plan_output_loss_weights(m, plan, o, sample_weight);
        CK_TRY(ck_loss_value_grad(t->losses[o], y[o], plan->buffers[m->output_slots[o]],
                                  masked ? masked : sample_weight, t->loss_weights[o], &v, NULL));
        total += v;
        t->out_loss_sum[o] += (t->loss_weights[o] != 0 ? v / t->loss_weights[o] : 0) * rows;
    }
    double reg = 0;
    CK_TRY(regularization_loss(&m->base, &reg));
    t->loss_sum += (total + reg) * rows;
    t->loss_rows += rows;
    for (int o = 0; o < t->n_outputs; o++)
        for (int k = 0; k < t->n_metrics; k++)
            CK_TRY(ck_metric_update(t->metrics[o * t->n_metrics + k], y[o], plan->buffers[m->output_slots[o]],
                                    m->output_mask_slots[o] >= 0 ? plan->buffers[m->output_mask_slots[o]] : NULL));
    return CK_OK;
}
