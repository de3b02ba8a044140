/* Helpers shared by the test programs (not part of the library). */
#ifndef CK_TEST_SUPPORT_H
#define CK_TEST_SUPPORT_H

#include <stddef.h>
#include "ckeras.h"

/* Path of a committed fixture under tests/data (static buffer). */
const char *ck_test_data(const char *relpath);

/* Path under ../shared/testdata, or NULL if ../shared is absent
 * (tests that need it then skip). */
const char *ck_test_shared(const char *relpath);

/* ck_test_shared("keras/" relpath): a Keras file of ../shared/testdata,
 * or NULL if ../shared is absent. */
const char *ck_test_shared_keras(const char *relpath);

/* ck_test_data(relpath) copied into a ring of its own, so that a test can
 * hold four such paths beside those of ck_test_data's own ring. */
const char *ck_test_fixture(const char *relpath);

/* A scratch file path in the build tree's tmp/ directory. */
const char *ck_test_tmp(const char *name);

/* Failing allocator: after `n` more successful allocations every further
 * allocation fails.  n < 0 disables failures.  Installs itself. */
void ck_test_fail_after(long n);
/* Restores the default allocator. */
void ck_test_alloc_reset(void);
/* Number of allocations made since the last ck_test_fail_after. */
long ck_test_alloc_count(void);
/* Live blocks allocated through the test allocator (leak check). */
long ck_test_alloc_live(void);

/* Runs `fn(ctx)` with allocation k failing, for k = 0, 1, ... until fn
 * succeeds; asserts that every failure returned CK_OUT_OF_MEMORY and leaked
 * nothing.  `cleanup(ctx)` frees what a successful run produced.  Returns
 * the number of failure points exercised. */
long ck_test_every_allocation_fails(ck_status (*fn)(void *ctx),
                                    void (*cleanup)(void *ctx), void *ctx);

/* Max absolute difference between two tensors (same shape required, else
 * returns +inf). */
double ck_test_max_abs_diff(const ck_tensor *a, const ck_tensor *b);

/* A new float32 / float64 / int64 tensor from values (asserts success). */
ck_tensor *ck_test_f32(int rank, const int64_t *shape, const float *values);
ck_tensor *ck_test_f64(int rank, const int64_t *shape, const double *values);
ck_tensor *ck_test_i64(int rank, const int64_t *shape, const int64_t *values);

/* A float32 tensor from a JSON {"data": [...], "shape": [...]} object;
 * batch1 != 0 prepends a batch dim of 1. */
struct json_t;
ck_tensor *ck_test_json_tensor(const struct json_t *obj, int batch1);

/* Loads a JSON file (asserts success); json_decref it. */
struct json_t *ck_test_load_json(const char *path);

/* tests/data/layers/<name>.npy (asserts success). */
ck_tensor *ck_test_npy(const char *name);

/* tests/data/<fmt with name> as a .npy tensor (asserts success). */
ck_tensor *ck_test_npy_named(const char *fmt, const char *name);
/* Asserts same rank, dims and dtype, and expects max |got - want| <= tol;
 * failures name `what`. */
void ck_test_expect_near(const ck_tensor *got, const ck_tensor *want, double tol, const char *what);
/* Calls a one-input layer on x (asserts success); the caller frees. */
ck_tensor *ck_test_call1(ck_layer *l, ck_tensor *x);

/* get_config text of a layer (asserts success); ck_free it. */
char *ck_test_config_of(const ck_layer *l);

/* from_config(text) -> get_config must give `want` (text if NULL), and a
 * second round trip the same again. */
void ck_test_round_trip(const char *text, const char *want);

/* Shape literal helper: CK_TEST_SHAPE(2, 3) -> (ck_shape){2, {2, 3}}. */
#define CK_TEST_SHAPE(...) ((ck_shape){(int)(sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t)), {__VA_ARGS__}})
#endif
