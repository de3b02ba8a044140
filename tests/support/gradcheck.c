/* Central-difference gradient check for layers (see gradcheck.h). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "support/gradcheck.h"

#define GC_SEED 1234u
#define GC_MAX_CHECKS 48
#define GC_STEP 1e-6

typedef struct gc_run {
    ck_layer *layer;
    int n;
    ck_tensor *const *inputs;
    ck_train_ctx ctx;
    ck_rng rng;
    int n_out;                  /* several for return_state, nested models */
    ck_tensor *out[CK_MAX_LAYER_OUTPUTS], *dout[CK_MAX_LAYER_OUTPUTS];
    void *saved;
} gc_run;

static double objective(gc_run *r)
{
    ck_rng_seed(&r->rng, GC_SEED);
    ck_status st = ck_layer_train_call(r->layer, &r->ctx, r->n, (const ck_tensor *const *)r->inputs, r->out,
                                       r->saved);
    cr_assert_eq(st, CK_OK, "gradcheck: forward of %s failed: %s", ck_layer_name(r->layer), ck_last_error());
    double f = 0;
    for (int k = 0; k < r->n_out; k++)
        for (int64_t i = 0; i < r->out[k]->size; i++) f += ck_tensor_get(r->out[k], i) * ck_tensor_get(r->dout[k], i);
    return f;
}

static double *element(ck_tensor *t, int64_t i)
{
    return (double *)t->data + i;
}

/* Compares the analytic gradient `g` of tensor `x` with differences. */
static long compare(gc_run *r, ck_tensor *x, const ck_tensor *g, const char *what, double tol)
{
    int64_t step = x->size <= GC_MAX_CHECKS ? 1 : x->size / GC_MAX_CHECKS;
    long checked = 0;
    for (int64_t i = 0; i < x->size; i += step) {
        double *p = element(x, i), keep = *p;
        *p = keep + GC_STEP;
        double fp = objective(r);
        *p = keep - GC_STEP;
        double fm = objective(r);
        *p = keep;
        double numeric = (fp - fm) / (2 * GC_STEP), analytic = ck_tensor_get(g, i);
        double scale = fabs(numeric) > 1 ? fabs(numeric) : 1;
        cr_assert(fabs(analytic - numeric) <= tol * scale,
                  "gradcheck %s: d/d %s[%lld]: backward gives %.10g, differences give %.10g",
                  ck_layer_name(r->layer), what, (long long)i, analytic, numeric);
        checked++;
    }
    return checked;
}

long ck_test_gradcheck(ck_layer *layer, int n, ck_tensor *const *inputs, int training, double tol)
{
    gc_run r = {.layer = layer, .n = n, .inputs = inputs};
    r.ctx.training = training;
    r.ctx.rng = &r.rng;
    ck_shape shapes[CK_MAX_LAYER_INPUTS], oshapes[CK_MAX_LAYER_OUTPUTS];
    ck_dtype dtypes[CK_MAX_LAYER_INPUTS];
    for (int i = 0; i < n; i++) {
        shapes[i] = ck_tensor_shape(inputs[i]);
        dtypes[i] = inputs[i]->dtype;
        cr_assert(!ck_dtype_is_floating(inputs[i]->dtype) || inputs[i]->dtype == CK_FLOAT64,
                  "gradcheck: floating inputs must be float64");
    }
    cr_assert_eq(ck_layer_build(layer, n, shapes), CK_OK, "gradcheck: build: %s", ck_last_error());
    cr_assert_eq(ck_layer_compute_output_shapes(layer, n, shapes, CK_MAX_LAYER_OUTPUTS, oshapes, &r.n_out), CK_OK,
                 "%s", ck_last_error());
    ck_dtype odtype = ck_layer_output_dtype(layer, n, dtypes);
    cr_assert_eq(odtype, CK_FLOAT64, "gradcheck: the layer must compute in float64");
    ck_rng drng;
    ck_rng_seed(&drng, 99);
    for (int k = 0; k < r.n_out; k++) {
        cr_assert_eq(ck_tensor_new(&r.out[k], odtype, oshapes[k].rank, oshapes[k].dims), CK_OK);
        cr_assert_eq(ck_tensor_new(&r.dout[k], odtype, oshapes[k].rank, oshapes[k].dims), CK_OK);
        for (int64_t i = 0; i < r.dout[k]->size; i++) ((double *)r.dout[k]->data)[i] = 2 * ck_rng_uniform(&drng) - 1;
    }
    size_t bytes = ck_layer_saved_bytes(layer, n, shapes, oshapes);
    r.saved = aligned_alloc(64, bytes ? bytes : 64);
    cr_assert(r.saved);

    /* Analytic gradients: the weights' accumulators start at zero. */
    int nw = ck_layer_trainable_weight_count(layer);
    ck_weight **ws = calloc((size_t)nw + 1, sizeof *ws);
    for (int j = 0; j < nw; j++) {
        ws[j] = ck_layer_trainable_weight(layer, j);
        const ck_tensor *v = ck_weight_value(ws[j]);
        cr_assert_eq(ck_tensor_new(&ws[j]->grad, v->dtype, v->rank, v->shape), CK_OK);
    }
    ck_tensor *din[CK_MAX_LAYER_INPUTS] = {NULL};
    for (int i = 0; i < n; i++)
        if (ck_dtype_is_floating(inputs[i]->dtype))
            cr_assert_eq(ck_tensor_new(&din[i], inputs[i]->dtype, inputs[i]->rank, inputs[i]->shape), CK_OK);
    objective(&r);
    /* backward takes the outputs and their gradients as arrays of tensor
     * headers (the layer contract); the gradients are copies it may
     * overwrite. */
    ck_tensor ohdr[CK_MAX_LAYER_OUTPUTS], dhdr[CK_MAX_LAYER_OUTPUTS], *dcopy[CK_MAX_LAYER_OUTPUTS];
    for (int k = 0; k < r.n_out; k++) {
        cr_assert_eq(ck_tensor_copy(&dcopy[k], r.dout[k]), CK_OK);
        ohdr[k] = *r.out[k];
        dhdr[k] = *dcopy[k];
    }
    ck_status st = ck_layer_backward(layer, &r.ctx, n, (const ck_tensor *const *)inputs, ohdr, dhdr, r.saved, din);
    cr_assert_eq(st, CK_OK, "gradcheck: backward of %s failed: %s", ck_layer_name(layer), ck_last_error());
    for (int k = 0; k < r.n_out; k++) ck_tensor_free(dcopy[k]);

    /* Detach the accumulators before the differences re-run the forward. */
    ck_tensor **grads = calloc((size_t)nw + 1, sizeof *grads);
    for (int j = 0; j < nw; j++) {
        grads[j] = ws[j]->grad;
        ws[j]->grad = NULL;
    }
    long checked = 0;
    char what[64];
    for (int i = 0; i < n; i++) {
        if (!din[i]) continue;
        snprintf(what, sizeof what, "input %d", i);
        checked += compare(&r, inputs[i], din[i], what, tol);
        ck_tensor_free(din[i]);
    }
    for (int j = 0; j < nw; j++) {
        checked += compare(&r, ck_weight_value(ws[j]), grads[j], ck_weight_name(ws[j]), tol);
        ck_tensor_free(grads[j]);
    }
    free(grads);
    free(ws);
    free(r.saved);
    for (int k = 0; k < r.n_out; k++) {
        ck_tensor_free(r.out[k]);
        ck_tensor_free(r.dout[k]);
    }
    return checked;
}
