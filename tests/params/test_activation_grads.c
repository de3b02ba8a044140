/* Activation derivatives: float64 central differences of
 * ck_activation_apply for every activation and option (self-consistency),
 * then TensorFlow's own float32 gradients at and around the kinks
 * (tools/gen_activation_grad_goldens.py), which fix TF's choices there. */
#include <stdlib.h>

#include "params/fixture.h"
#include "params/params.h"

typedef struct grad_case {
    const char *name;
    ck_activation_opts opts;
} grad_case;

static const grad_case CASES[] = {
    {"linear", {.naxes = 0}},
    {"relu", {.naxes = 0}},
    {"relu", {.alpha = {true, 0.1}}},
    {"relu", {.max_value = {true, 6}}},
    {"relu", {.max_value = {true, 2.5}}},
    {"relu", {.threshold = 1.0}},
    {"relu", {.alpha = {true, 0.3}, .max_value = {true, 3}, .threshold = -1}},
    {"relu", {.alpha = {true, 0.2}, .threshold = 0.5}},
    {"elu", {.naxes = 0}},
    {"elu", {.alpha = {true, 0.5}}},
    {"elu", {.alpha = {true, -0.5}}},
    {"selu", {.naxes = 0}},
    {"softplus", {.naxes = 0}},
    {"softsign", {.naxes = 0}},
    {"sigmoid", {.naxes = 0}},
    {"hard_sigmoid", {.naxes = 0}},
    {"exponential", {.naxes = 0}},
    {"tanh", {.naxes = 0}},
    {"softmax", {.naxes = 0}},
    {"softmax", {.naxes = 1, .axes = {1}}},
    {"softmax", {.naxes = 2, .axes = {1, 2}}},
    {"softmax", {.naxes = 2, .axes = {0, -1}}},
    {"swish", {.naxes = 0}},
    {"silu", {.naxes = 0}},
    {"gelu", {.naxes = 0}},
    {"gelu", {.approximate = true}},
    {"relu6", {.naxes = 0}},
    {"leaky_relu", {.naxes = 0}},
    {"leaky_relu", {.alpha = {true, -0.3}}},
    {"mish", {.naxes = 0}},
    {"log_softmax", {.naxes = 0}},
    {"log_softmax", {.naxes = 2, .axes = {0, 2}}},
    {"hard_silu", {.naxes = 0}},
    {"hard_swish", {.naxes = 0}},
    {"hard_tanh", {.naxes = 0}},
    {"log_sigmoid", {.naxes = 0}},
    {"celu", {.naxes = 0}},
    {"celu", {.alpha = {true, 2.0}}},
};

static ck_tensor *new64(int rank, const int64_t *shape)
{
    ck_tensor *t = NULL;
    cr_assert_eq(ck_tensor_new(&t, CK_FLOAT64, rank, shape), CK_OK, "%s", ck_last_error());
    return t;
}

/* sum(f(x) * dy) */
static double objective(const ck_activation *a, const ck_tensor *x, ck_tensor *y, const ck_tensor *dy)
{
    cr_assert_eq(ck_activation_apply(a, x, y), CK_OK, "%s", ck_last_error());
    double f = 0;
    for (int64_t i = 0; i < y->size; i++) f += ((double *)y->data)[i] * ((double *)dy->data)[i];
    return f;
}

Test(activation_grads, central_differences_float64)
{
    const int64_t shape[3] = {3, 4, 5};
    ck_rng rng;
    ck_rng_seed(&rng, 42);
    for (size_t c = 0; c < sizeof CASES / sizeof CASES[0]; c++) {
        ck_activation *a = NULL;
        cr_assert_eq(ck_activation_new(&a, CASES[c].name, &CASES[c].opts), CK_OK, "%s", ck_last_error());
        ck_tensor *x = new64(3, shape), *y = new64(3, shape), *dy = new64(3, shape), *dz = new64(3, shape);
        ck_tensor *dz2 = new64(3, shape);
        double *xd = x->data, *dyd = dy->data;
        for (int64_t i = 0; i < x->size; i++) {
            xd[i] = 8 * ck_rng_uniform(&rng) - 4;
            dyd[i] = 2 * ck_rng_uniform(&rng) - 1;
        }
        cr_assert_eq(ck_activation_apply(a, x, y), CK_OK);
        int need = ck_activation_grad_needs_input(a);
        /* Pass only what the contract promises is read. */
        cr_assert_eq(ck_activation_grad(a, need ? x : NULL, need ? NULL : y, dy, dz), CK_OK, "%s: %s",
                     CASES[c].name, ck_last_error());
        /* In place (dz = dy) on a copy gives the same. */
        memcpy(dz2->data, dy->data, (size_t)dy->size * sizeof(double));
        cr_assert_eq(ck_activation_grad(a, x, y, dz2, dz2), CK_OK);
        for (int64_t i = 0; i < x->size; i++) {
            double keep = xd[i], h = 1e-6;
            xd[i] = keep + h;
            double fp = objective(a, x, y, dy);
            xd[i] = keep - h;
            double fm = objective(a, x, y, dy);
            xd[i] = keep;
            double num = (fp - fm) / (2 * h), got = ((double *)dz->data)[i];
            cr_expect(fabs(got - num) <= 1e-6 * fmax(1, fabs(num)), "%s case %zu [%lld] x=%g: %.12g vs %.12g",
                      CASES[c].name, c, (long long)i, keep, got, num);
            cr_expect_eq(((double *)dz2->data)[i], got, "%s in place [%lld]", CASES[c].name, (long long)i);
        }
        ck_tensor_free(x);
        ck_tensor_free(y);
        ck_tensor_free(dy);
        ck_tensor_free(dz);
        ck_tensor_free(dz2);
        ck_activation_free(a);
    }
}

/* The rows entry point is the rank-2 view: softmax along the last axis. */
Test(activation_grads, rows_matches_tensor)
{
    const int64_t shape[2] = {4, 6};
    ck_activation *a = NULL;
    cr_assert_eq(ck_activation_new(&a, "softmax", NULL), CK_OK);
    ck_tensor *x = new64(2, shape), *y = new64(2, shape), *dy = new64(2, shape), *dz = new64(2, shape);
    double rows[24];
    for (int i = 0; i < 24; i++) {
        ((double *)x->data)[i] = sin(i * 1.3);
        ((double *)dy->data)[i] = cos(i * 0.7);
    }
    cr_assert_eq(ck_activation_apply(a, x, y), CK_OK);
    cr_assert_eq(ck_activation_grad(a, NULL, y, dy, dz), CK_OK);
    cr_assert_eq(ck_activation_grad_rows(a, CK_FLOAT64, NULL, y->data, dy->data, rows, 4, 6), CK_OK);
    for (int i = 0; i < 24; i++) cr_expect_eq(rows[i], ((double *)dz->data)[i]);
    cr_expect(ck_activation_is_linear(NULL));
    ck_tensor_free(x);
    ck_tensor_free(y);
    ck_tensor_free(dy);
    ck_tensor_free(dz);
    ck_activation_free(a);
}

static ck_activation_opts opts_from(const json_t *o)
{
    ck_activation_opts opts = {0};
    const json_t *v;
    if ((v = json_object_get(o, "alpha"))) {
        opts.alpha = ck_double(json_number_value(v));
    }
    if ((v = json_object_get(o, "max_value"))) {
        opts.max_value = ck_double(json_number_value(v));
    }
    if ((v = json_object_get(o, "threshold"))) opts.threshold = json_number_value(v);
    if ((v = json_object_get(o, "approximate"))) opts.approximate = json_is_true(v);
    if ((v = json_object_get(o, "axis"))) {
        opts.naxes = (int)json_array_size(v);
        for (int i = 0; i < opts.naxes; i++) opts.axes[i] = (int)json_integer_value(json_array_get(v, (size_t)i));
    }
    return opts;
}

Test(activation_grads, tensorflow_goldens_float32)
{
    json_t *root = fx_load_data("train/activation_grads/goldens.json");
    const json_t *cases = json_object_get(root, "cases");
    cr_assert(json_array_size(cases) > 0);
    for (size_t c = 0; c < json_array_size(cases); c++) {
        const json_t *k = json_array_get(cases, c);
        const char *name = json_string_value(json_object_get(k, "name"));
        ck_activation_opts opts = opts_from(json_object_get(k, "opts"));
        ck_activation *a = NULL;
        cr_assert_eq(ck_activation_new(&a, name, &opts), CK_OK, "%s: %s", name, ck_last_error());
        const json_t *shape = json_object_get(k, "shape");
        ck_tensor *x = fx_tensor(shape, json_object_get(k, "x"), CK_FLOAT32);
        ck_tensor *dy = fx_tensor(shape, json_object_get(k, "dy"), CK_FLOAT32);
        ck_tensor *y = NULL, *dz = NULL;
        cr_assert_eq(ck_tensor_new(&y, CK_FLOAT32, x->rank, x->shape), CK_OK);
        cr_assert_eq(ck_tensor_new(&dz, CK_FLOAT32, x->rank, x->shape), CK_OK);
        cr_assert_eq(ck_activation_apply(a, x, y), CK_OK, "%s", ck_last_error());
        cr_assert_eq(ck_activation_grad(a, x, y, dy, dz), CK_OK, "%s: %s", name, ck_last_error());
        const json_t *dx = json_object_get(k, "dx");
        char *ot = json_dumps(json_object_get(k, "opts"), JSON_COMPACT);
        for (int64_t i = 0; i < dz->size; i++) {
            double e = fx_num(json_array_get(dx, (size_t)i)), g = ck_tensor_get(dz, i);
            cr_expect(fx_close(g, e, 1e-5, 1e-6), "%s %s [%lld] x=%.9g: got %.9g, TF %.9g", name, ot,
                      (long long)i, ck_tensor_get(x, i), g, e);
        }
        free(ot);
        ck_tensor_free(x);
        ck_tensor_free(dy);
        ck_tensor_free(y);
        ck_tensor_free(dz);
        ck_activation_free(a);
    }
    json_decref(root);
}
