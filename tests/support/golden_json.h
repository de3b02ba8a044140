/* Golden values in the JSON form of the tools/gen_*_goldens.py fixtures:
 * tensors as {"shape": [...], "data": [...]} (float64 text), layer configs
 * whose dtype keys a test rewrites, and the elementwise comparison with
 * its report.  Criterion asserts on every failure. */
#ifndef CK_TEST_GOLDEN_JSON_H
#define CK_TEST_GOLDEN_JSON_H

#include <jansson.h>

#include "ckeras.h"

/* A {"shape", "data"} tensor in `dt` (float32, float64 or int32); the
 * caller frees it. */
ck_tensor *ck_test_golden_tensor(const json_t *j, ck_dtype dt);

/* The case of a list of golden cases whose "name" is `name` (a borrowed
 * pointer into `cases`); asserts that there is one. */
const json_t *ck_test_golden_case(const json_t *cases, const char *name);

/* Sets every "dtype" key of a config tree (a wrapper's and its inner
 * layers') to `dtype`. */
void ck_test_set_dtypes(json_t *config, const char *dtype);

/* Expects `got` to have `want`'s shape and each element within
 * atol * (1 + |want|); failures name `name`, `what` and `k` (the index of
 * the output or weight compared; k < 0 for a single tensor, not named). */
void ck_test_expect_close(const char *name, const char *what, int k, const ck_tensor *got, const ck_tensor *want,
                          double atol);

#endif
