/* One training step of a layer for tests (see layer_train_run.h). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "support/layer_train_run.h"
#include "support/support.h"

void ck_test_train_step(ck_layer *layer, const ck_tensor *x, const ck_tensor *dy, int training, uint64_t seed,
                        ck_test_step *out)
{
    ck_rng rng;
    ck_rng_seed(&rng, seed);
    ck_train_ctx ctx = {.training = training, .rng = &rng};
    ck_shape is = ck_tensor_shape(x), os;
    cr_assert_eq(ck_layer_build(layer, 1, &is), CK_OK, "build: %s", ck_last_error());
    cr_assert_eq(ck_layer_compute_output_shape(layer, 1, &is, &os), CK_OK, "%s", ck_last_error());
    memset(out, 0, sizeof *out);
    cr_assert_eq(ck_tensor_new(&out->y, x->dtype, os.rank, os.dims), CK_OK);
    size_t bytes = ck_layer_saved_bytes(layer, 1, &is, &os);
    void *saved = aligned_alloc(64, bytes ? bytes : 64);
    cr_assert(saved);
    out->n_grads = ck_layer_trainable_weight_count(layer);
    cr_assert(out->n_grads <= 8);
    for (int j = 0; j < out->n_grads; j++) {
        ck_weight *w = ck_layer_trainable_weight(layer, j);
        const ck_tensor *v = ck_weight_value(w);
        cr_assert_eq(ck_tensor_new(&out->grads[j], v->dtype, v->rank, v->shape), CK_OK);
        w->grad = out->grads[j];
    }
    const ck_tensor *ins[1] = {x};
    ck_status st = ck_layer_train_call(layer, &ctx, 1, ins, &out->y, saved);
    cr_assert_eq(st, CK_OK, "train_call: %s", ck_last_error());
    cr_assert_eq(ck_tensor_new(&out->dx, x->dtype, x->rank, x->shape), CK_OK);
    ck_tensor *dcopy = NULL;
    cr_assert_eq(ck_tensor_copy(&dcopy, dy), CK_OK);
    st = ck_layer_backward(layer, &ctx, 1, ins, out->y, dcopy, saved, &out->dx);
    cr_assert_eq(st, CK_OK, "backward: %s", ck_last_error());
    ck_tensor_free(dcopy);
    for (int j = 0; j < out->n_grads; j++) ck_layer_trainable_weight(layer, j)->grad = NULL;
    free(saved);
}

void ck_test_step_free(ck_test_step *s)
{
    ck_tensor_free(s->y);
    ck_tensor_free(s->dx);
    for (int j = 0; j < s->n_grads; j++) ck_tensor_free(s->grads[j]);
    memset(s, 0, sizeof *s);
}

void ck_test_expect_dropout_only_in_training(ck_layer *with, ck_layer *without, ck_tensor *x, const ck_tensor *dy)
{
    ck_set_random_seed(5); /* the weights are drawn at the first call */
    ck_tensor *ya = ck_test_call1(with, x);
    ck_set_random_seed(5);
    ck_tensor *yb = ck_test_call1(without, x);
    cr_expect_eq(ck_test_max_abs_diff(ya, yb), 0.0);
    ck_test_step s0, s1;
    ck_test_train_step(with, x, dy, 0, 3, &s0); /* training=False: no dropout */
    ck_test_train_step(with, x, dy, 1, 3, &s1);
    cr_expect_eq(ck_test_max_abs_diff(s0.y, ya), 0.0);
    cr_expect_gt(ck_test_max_abs_diff(s1.y, ya), 1e-3);
    ck_test_step_free(&s0);
    ck_test_step_free(&s1);
    ck_tensor_free(ya);
    ck_tensor_free(yb);
}

void ck_test_expect_close_rel(const ck_tensor *got, const ck_tensor *want, double tol, const char *what)
{
    cr_assert_eq(got->size, want->size, "%s: %lld values, expected %lld", what, (long long)got->size,
                 (long long)want->size);
    cr_assert_eq(got->rank, want->rank, "%s: rank %d, expected %d", what, got->rank, want->rank);
    for (int i = 0; i < got->rank; i++) cr_assert_eq(got->shape[i], want->shape[i], "%s: dim %d", what, i);
    for (int64_t i = 0; i < got->size; i++) {
        double g = ck_tensor_get(got, i), w = ck_tensor_get(want, i), scale = fabs(w) > 1 ? fabs(w) : 1;
        cr_assert(fabs(g - w) <= tol * scale, "%s[%lld]: got %.9g, expected %.9g", what, (long long)i, g, w);
    }
}

ck_tensor *ck_test_uniform(ck_dtype dtype, int rank, const int64_t *shape, double lo, double hi, uint64_t seed)
{
    ck_tensor *t = NULL;
    cr_assert_eq(ck_tensor_new(&t, dtype, rank, shape), CK_OK);
    ck_rng rng;
    ck_rng_seed(&rng, seed);
    for (int64_t i = 0; i < t->size; i++) {
        double v = lo + (hi - lo) * ck_rng_uniform(&rng);
        if (dtype == CK_FLOAT32) ((float *)t->data)[i] = (float)v;
        else ((double *)t->data)[i] = v;
    }
    return t;
}
