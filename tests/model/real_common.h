/* Helpers shared by test_real_files.c and test_real_predict.c: where a real
 * Keras file lives (the permissively licensed copy under tests/data/keras,
 * else ../shared/testdata/keras) and small wrappers that assert. */
#ifndef CK_TEST_REAL_COMMON_H
#define CK_TEST_REAL_COMMON_H

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ckeras.h"
#include "support/support.h"

/* Path of <folder>/<file>: the committed copy (tests/data/keras) when there
 * is one, else the shared test data; NULL when neither exists (then the
 * caller skips).  buf must hold 4096 bytes. */
static inline const char *real_path(char *buf, const char *folder, const char *file)
{
    char rel[1024];
    snprintf(rel, sizeof rel, "keras/%s/%s", folder, file);
    const char *p = ck_test_data(rel);
    if (access(p, R_OK) != 0) p = ck_test_shared(rel);
    if (!p) return NULL;
    snprintf(buf, 4096, "%s", p);
    return buf;
}

/* A committed fixture of tools/gen_real_expected.py (asserts). */
static inline ck_tensor *expected_npy(const char *folder, const char *name)
{
    char rel[1024];
    snprintf(rel, sizeof rel, "keras_expected/%s/%s", folder, name);
    ck_tensor *t = NULL;
    cr_assert_eq(ck_npy_load(ck_test_data(rel), &t), CK_OK, "%s: %s", rel, ck_last_error());
    return t;
}

/* ck_model_load of <folder>/<file>, then load_weights of <weights> (same
 * folder) when not NULL.  Returns the status; *out only on success.  A
 * missing file sets *missing (the caller skips). */
static inline ck_status real_load(const char *folder, const char *file, const char *weights, ck_model **out,
                                  int *missing)
{
    char a[4096], b[4096];
    const char *p = real_path(a, folder, file), *w = weights ? real_path(b, folder, weights) : NULL;
    *missing = !p || (weights && !w);
    if (*missing) return CK_IO_ERROR;
    ck_model *m = NULL;
    ck_status st = ck_model_load(p, &m);
    if (st == CK_OK && w) {
        st = ck_model_load_weights(m, w, 0);
        if (st != CK_OK) ck_model_free(m);
    }
    if (st == CK_OK) *out = m;
    return st;
}

/* Like real_load, but asserts success; NULL when the file is absent. */
static inline ck_model *real_model(const char *folder, const char *file, const char *weights)
{
    ck_model *m = NULL;
    int missing = 0;
    ck_status st = real_load(folder, file, weights, &m, &missing);
    if (missing) return NULL;
    cr_assert_eq(st, CK_OK, "%s/%s%s%s: %s: %s", folder, file, weights ? " + " : "", weights ? weights : "",
                 ck_status_name(st), ck_last_error());
    return m;
}

/* predict with one output (asserts). */
static inline ck_tensor *predict1(ck_model *m, int n, ck_tensor *const *in, int64_t batch)
{
    ck_tensor *out = NULL;
    cr_assert_eq(ck_model_output_count(m), 1);
    ck_status st = ck_model_predict(m, n, in, &out, batch);
    cr_assert_eq(st, CK_OK, "predict %s: %s", ck_model_name(m), ck_last_error());
    return out;
}

#endif
