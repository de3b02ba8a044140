/* Small helpers shared by the layer gradient tests (header only). */
#ifndef CK_TEST_GRAD_HELPERS_H
#define CK_TEST_GRAD_HELPERS_H

#include <criterion/criterion.h>

#include "support/gradcheck.h"

#define GRAD_TOL 1e-6

/* A float64 tensor of uniform values in [lo, hi) from a seeded stream. */
static inline ck_tensor *grad_rand(uint64_t seed, int rank, const int64_t *shape, double lo, double hi)
{
    ck_tensor *t = NULL;
    cr_assert_eq(ck_tensor_new(&t, CK_FLOAT64, rank, shape), CK_OK, "%s", ck_last_error());
    ck_rng rng;
    ck_rng_seed(&rng, seed);
    for (int64_t i = 0; i < t->size; i++) ((double *)t->data)[i] = lo + (hi - lo) * ck_rng_uniform(&rng);
    return t;
}

/* Runs the gradient check on `layer` (consumed) with n inputs (freed). */
static inline void grad_run(ck_layer *layer, int n, ck_tensor **in)
{
    long checked = ck_test_gradcheck(layer, n, in, 1, GRAD_TOL);
    cr_expect(checked > 0, "nothing compared for %s", ck_layer_name(layer));
    for (int i = 0; i < n; i++) ck_tensor_free(in[i]);
    ck_layer_free(layer);
}

static inline ck_layer *grad_from_config(const char *json)
{
    ck_layer *l = NULL;
    cr_assert_eq(ck_layer_from_config(json, &l), CK_OK, "%s: %s", json, ck_last_error());
    return l;
}

#endif
