/*
 * batch_dot_check.h -- helpers shared by the batch_dot test programs
 * (tests/ops/test_batch_dot_*.c): tensors built from values, and the
 * closed form of spec 1.4 written independently of the library, to which
 * every kernel path is compared.  Failures inside a helper are Criterion
 * assertions, so these are for test code only.
 */
#ifndef CK_TESTS_SUPPORT_BATCH_DOT_CHECK_H
#define CK_TESTS_SUPPORT_BATCH_DOT_CHECK_H

#include <stddef.h>
#include <stdint.h>

#include "ckeras.h"
#include "ops/ops.h"

/* The axes argument of ck_batch_dot spelt as Keras does: a pair, one int
 * for both inputs, or None. */
#define PAIR(a, b) ((ck_axes){2, {(a), (b)}})
#define ONE(a) ((ck_axes){1, {(a), 0}})
#define NONE ((ck_axes){0, {0, 0}})

/* The last kernel path of ck_bd_path (ops/ops.h). */
#define LAST_PATH (CK_BD_PATH_COUNT - 1)

/* Every dtype batch_dot supports. */
static const ck_dtype all_dtypes[] = {CK_FLOAT32, CK_FLOAT64, CK_INT32, CK_INT64};

/* A new tensor of `dt` and `shape` holding v[0..size) converted to `dt`
 * (left as allocated when v is NULL). */
ck_tensor *bd_make(ck_dtype dt, int rank, const int64_t *shape, const double *v);

/* A new tensor of `dt` and `shape` with every element `value`. */
ck_tensor *bd_make_fill(ck_dtype dt, int rank, const int64_t *shape, double value);

/* A new tensor of deterministic values from *seed (advanced): small
 * integers in [-5, 5] for the int dtypes, floats in [-1, 1). */
ck_tensor *bd_make_random(ck_dtype dt, int rank, const int64_t *shape, unsigned *seed);

/* 1 when t has exactly this rank and shape. */
int bd_same_shape(const ck_tensor *t, int rank, const int64_t *shape);

/* t's shape as Keras prints it, in one of 4 rotating static buffers (so a
 * message can hold up to 4 of them). */
const char *bd_shape_of(const ck_tensor *t);

/* The output of the closed form: values as doubles, per element the sum of
 * |x*y| (for a rounding-error bound) and, for int dtypes, the exact
 * wrapped integer sum. */
typedef struct ref_result {
    int rank;
    int64_t shape[16];
    int64_t size;
    double *val, *mag;
    int64_t *ival;
} ref_result;

/* out[b, I, J] = sum_k x[b, I with k at a0] * y[b, J with k at a1], with
 * the axes already made non-negative.  Free with bd_ref_free. */
ref_result bd_reference(const ck_tensor *x, const ck_tensor *y, int a0, int a1);
void bd_ref_free(ref_result *r);

/* 1 when `got` matches the reference: ints exactly, floats within
 * (K+2) * u * sum|x*y|; otherwise 0 with the first difference in why[n]. */
int bd_matches_ref(const ck_tensor *got, const ref_result *r, int64_t K, char *why, size_t n);

/* 1 when `got` matches a golden tensor: same dtype and shape, ints
 * exactly, floats within 2e-6 (float32) or 1e-14; otherwise 0 and why. */
int bd_matches_golden(const ck_tensor *got, const ck_tensor *want, char *why, size_t n);

/* Asserts t's shape and expects every element to equal v[i] exactly;
 * `what` names the case in the messages. */
void bd_expect_values(const ck_tensor *t, int rank, const int64_t *shape, const double *v,
                      const char *what);

#endif
