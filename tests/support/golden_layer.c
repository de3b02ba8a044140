/* Layers against golden cases (golden_layer.h). */
#include "golden_layer.h"

#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>

#include "layers/layer.h"
#include "support/golden_json.h"
#include "support/gradcheck.h"
#include "support/layer_train_run.h"
#include "support/support.h"

/* The most outputs of a golden layer (Bidirectional with return_state and
 * merge_mode None: 2 sequences and 4 states). */
#define MAX_OUT 8

ck_layer *ck_test_layer_from_json(const json_t *config)
{
    char *text = json_dumps(config, 0);
    ck_layer *l = NULL;
    cr_assert_eq(ck_layer_from_config(text, &l), CK_OK, "%s: %s", text, ck_last_error());
    free(text);
    return l;
}

void ck_test_set_golden_weights(ck_layer *l, const json_t *weights, ck_dtype dt)
{
    int n = (int)json_array_size(weights);
    ck_tensor *w[CK_TEST_MAX_WEIGHTS] = {0};
    cr_assert_leq(n, CK_TEST_MAX_WEIGHTS);
    for (int i = 0; i < n; i++) w[i] = ck_test_golden_tensor(json_array_get(weights, (size_t)i), dt);
    cr_assert_eq(ck_layer_set_weights(l, n, w), CK_OK, "%s", ck_last_error());
    for (int i = 0; i < n; i++) ck_tensor_free(w[i]);
}

ck_layer *ck_test_golden_layer(const json_t *config, const json_t *weights, ck_dtype dt, const ck_shape *shape)
{
    json_t *wrap = json_deep_copy(config);
    ck_test_set_dtypes(wrap, dt == CK_FLOAT32 ? "float32" : "float64");
    ck_layer *l = ck_test_layer_from_json(wrap);
    json_decref(wrap);
    cr_assert_eq(ck_layer_build(l, 1, shape), CK_OK, "%s", ck_last_error());
    ck_test_set_golden_weights(l, weights, dt);
    return l;
}

ck_layer *ck_test_case_layer(const json_t *c, ck_dtype dt, const ck_tensor *x)
{
    ck_shape s = ck_tensor_shape(x);
    return ck_test_golden_layer(json_object_get(c, "layer"), json_object_get(c, "weights"), dt, &s);
}

void ck_test_for_each_case(const json_t *cases, ck_dtype dt, ck_test_case_layer_fn *make, ck_test_case_check_fn *check,
                           void *ctx)
{
    size_t i;
    const json_t *c;
    json_array_foreach(cases, i, c) {
        ck_tensor *x = ck_test_golden_tensor(json_object_get(c, "x"), dt);
        ck_layer *l = make(c, dt, x);
        check(json_string_value(json_object_get(c, "name")), c, l, x, ctx);
        ck_tensor_free(x);
        ck_layer_free(l);
    }
}

void ck_test_expect_weight_names(const char *name, const ck_layer *l, const json_t *names)
{
    cr_assert_eq(ck_layer_weight_count(l), (int)json_array_size(names), "%s", name);
    for (int k = 0; k < ck_layer_weight_count(l); k++)
        cr_expect_str_eq(ck_weight_name(ck_layer_weight(l, k)), json_string_value(json_array_get(names, (size_t)k)),
                         "%s", name);
}

void ck_test_expect_outputs_like_tf(const json_t *cases, ck_test_case_layer_fn *make, double f32_tol)
{
    size_t i;
    const json_t *c;
    json_array_foreach(cases, i, c) {
        const char *name = json_string_value(json_object_get(c, "name"));
        for (int p = 0; p < 2; p++) {
            ck_clear_session();
            ck_dtype dt = p ? CK_FLOAT64 : CK_FLOAT32;
            ck_tensor *x = ck_test_golden_tensor(json_object_get(c, "x"), dt);
            ck_layer *l = make(c, dt, x);
            ck_tensor *y = ck_test_call1(l, x);
            ck_tensor *want = ck_test_golden_tensor(json_object_get(json_object_get(c, p ? "f64" : "f32"), "y"), dt);
            ck_test_expect_close(name, p ? "y (float64)" : "y (float32)", -1, y, want, p ? 1e-12 : f32_tol);
            ck_test_expect_weight_names(name, l, json_object_get(c, "weight_names"));
            ck_tensor_free(want);
            ck_tensor_free(y);
            ck_tensor_free(x);
            ck_layer_free(l);
        }
    }
}

void ck_test_expect_step_like_tf(const char *name, ck_layer *l, const ck_tensor *x, const ck_tensor *dy,
                                 const json_t *f64, double y_tol, double grad_tol)
{
    ck_test_step s;
    ck_test_train_step(l, x, dy, 1, 7, &s);
    ck_tensor *want = ck_test_golden_tensor(json_object_get(f64, "y"), CK_FLOAT64);
    ck_test_expect_close(name, "train y", -1, s.y, want, y_tol);
    ck_tensor_free(want);
    want = ck_test_golden_tensor(json_object_get(f64, "dx"), CK_FLOAT64);
    ck_test_expect_close(name, "dx", -1, s.dx, want, grad_tol);
    ck_tensor_free(want);
    const json_t *dw = json_object_get(f64, "dweights");
    cr_assert_eq(s.n_grads, (int)json_array_size(dw), "%s", name);
    for (int k = 0; k < s.n_grads; k++) {
        want = ck_test_golden_tensor(json_array_get(dw, (size_t)k), CK_FLOAT64);
        ck_test_expect_close(name, ck_weight_name(ck_layer_trainable_weight(l, k)), -1, s.grads[k], want, grad_tol);
        ck_tensor_free(want);
    }
    ck_test_step_free(&s);
}

typedef struct step_tols {
    double y, grad;
} step_tols;

static void step_like_tf(const char *name, const json_t *c, ck_layer *l, ck_tensor *x, void *ctx)
{
    const step_tols *tol = ctx;
    ck_tensor *dy = ck_test_golden_tensor(json_object_get(c, "dy"), CK_FLOAT64);
    ck_test_expect_step_like_tf(name, l, x, dy, json_object_get(c, "f64"), tol->y, tol->grad);
    ck_tensor_free(dy);
}

void ck_test_expect_gradients_like_tf(const json_t *cases, ck_test_case_layer_fn *make, double y_tol,
                                      double grad_tol)
{
    step_tols tol = {y_tol, grad_tol};
    ck_test_for_each_case(cases, CK_FLOAT64, make, step_like_tf, &tol);
}

void ck_test_expect_multi_step_like_tf(const char *name, ck_layer *l, const ck_tensor *x, const json_t *dys,
                                       const json_t *f64, double grad_tol)
{
    int n = (int)json_array_size(dys), nw = ck_layer_trainable_weight_count(l);
    ck_shape is = ck_tensor_shape(x), os[MAX_OUT];
    int n_out = 0;
    cr_assert_eq(ck_layer_compute_output_shapes(l, 1, &is, MAX_OUT, os, &n_out), CK_OK);
    cr_assert_eq(n_out, n, "%s", name);
    ck_tensor *ys[MAX_OUT], *grads[CK_TEST_MAX_WEIGHTS], *dx = NULL;
    ck_tensor yh[MAX_OUT], dh[MAX_OUT];
    ck_tensor *dyt[MAX_OUT];
    for (int k = 0; k < n; k++) {
        cr_assert_eq(ck_tensor_new(&ys[k], CK_FLOAT64, os[k].rank, os[k].dims), CK_OK);
        dyt[k] = ck_test_golden_tensor(json_array_get(dys, (size_t)k), CK_FLOAT64);
    }
    cr_assert_leq(nw, CK_TEST_MAX_WEIGHTS);
    for (int j = 0; j < nw; j++) {
        const ck_tensor *v = ck_weight_value(ck_layer_trainable_weight(l, j));
        cr_assert_eq(ck_tensor_new(&grads[j], CK_FLOAT64, v->rank, v->shape), CK_OK);
        ck_layer_trainable_weight(l, j)->grad = grads[j];
    }
    size_t bytes = ck_layer_saved_bytes(l, 1, &is, os);
    cr_assert_neq(bytes, SIZE_MAX, "%s", ck_last_error());
    void *saved = aligned_alloc(64, bytes ? (bytes + 63) / 64 * 64 : 64);
    ck_rng rng;
    ck_rng_seed(&rng, 3);
    ck_train_ctx ctx = {.training = 1, .rng = &rng};
    const ck_tensor *ins[1] = {x};
    cr_assert_eq(ck_layer_train_call(l, &ctx, 1, ins, ys, saved), CK_OK, "%s: %s", name, ck_last_error());
    for (int k = 0; k < n; k++) {
        ck_tensor *w = ck_test_golden_tensor(json_array_get(json_object_get(f64, "y"), (size_t)k), CK_FLOAT64);
        ck_test_expect_close(name, "training output", k, ys[k], w, 1e-12);
        ck_tensor_free(w);
        yh[k] = *ys[k], dh[k] = *dyt[k];
    }
    cr_assert_eq(ck_tensor_new(&dx, CK_FLOAT64, x->rank, x->shape), CK_OK);
    cr_assert_eq(ck_layer_backward(l, &ctx, 1, ins, yh, dh, saved, &dx), CK_OK, "%s: %s", name, ck_last_error());
    ck_tensor *want = ck_test_golden_tensor(json_object_get(f64, "dx"), CK_FLOAT64);
    ck_test_expect_close(name, "dx", 0, dx, want, grad_tol);
    ck_tensor_free(want);
    const json_t *dws = json_object_get(f64, "dweights");
    cr_assert_eq((int)json_array_size(dws), nw, "%s", name);
    for (int j = 0; j < nw; j++) {
        want = ck_test_golden_tensor(json_array_get(dws, (size_t)j), CK_FLOAT64);
        ck_test_expect_close(name, "dweight", j, grads[j], want, grad_tol);
        ck_tensor_free(want);
        ck_layer_trainable_weight(l, j)->grad = NULL;
        ck_tensor_free(grads[j]);
    }
    for (int k = 0; k < n; k++) ck_tensor_free(ys[k]), ck_tensor_free(dyt[k]);
    free(saved);
    ck_tensor_free(dx);
}

static void gradcheck_case(const char *name, const json_t *c, ck_layer *l, ck_tensor *x, void *ctx)
{
    (void)c;
    long n = ck_test_gradcheck(l, 1, &x, 1, 1e-6);
    cr_expect_gt(n, 0, "%s", name);
    *(long *)ctx += n;
}

long ck_test_gradcheck_cases(const json_t *cases, ck_test_case_layer_fn *make)
{
    long total = 0;
    ck_test_for_each_case(cases, CK_FLOAT64, make, gradcheck_case, &total);
    return total;
}

void ck_test_expect_constructed_like_tf(const json_t *c, ck_layer *l, double tol)
{
    const char *name = json_string_value(json_object_get(c, "name"));
    ck_tensor *x = ck_test_golden_tensor(json_object_get(c, "x"), CK_FLOAT32);
    ck_shape s = ck_tensor_shape(x);
    cr_assert_eq(ck_layer_build(l, 1, &s), CK_OK, "%s", ck_last_error());
    ck_test_set_golden_weights(l, json_object_get(c, "weights"), CK_FLOAT32);
    ck_tensor *y = ck_test_call1(l, x);
    ck_tensor *want = ck_test_golden_tensor(json_object_get(json_object_get(c, "f32"), "y"), CK_FLOAT32);
    ck_test_expect_close(name, "C constructor y", -1, y, want, tol);
    ck_test_expect_weight_names(name, l, json_object_get(c, "weight_names"));
    ck_tensor_free(y);
    ck_tensor_free(want);
    ck_tensor_free(x);
}
