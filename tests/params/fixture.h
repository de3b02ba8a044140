/* Reading the JSON fixtures of tests/data/params (header-only helpers shared
 * by the params tests). */
#ifndef CK_TEST_PARAMS_FIXTURE_H
#define CK_TEST_PARAMS_FIXTURE_H

#include <criterion/criterion.h>
#include <jansson.h>
#include <math.h>
#include <string.h>

#include "ckeras.h"
#include "support/support.h"

static inline json_t *fx_load(const char *path)
{
    json_error_t err;
    json_t *j = json_load_file(path, 0, &err);
    cr_assert(j != NULL, "cannot read %s: %s", path, err.text);
    return j;
}

static inline json_t *fx_load_data(const char *rel) { return fx_load(ck_test_data(rel)); }

/* A fixture number: a JSON number or "inf" / "-inf" / "nan". */
static inline double fx_num(const json_t *v)
{
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        if (strcmp(s, "inf") == 0) return INFINITY;
        if (strcmp(s, "-inf") == 0) return -INFINITY;
        return NAN;
    }
    return json_number_value(v);
}

/* A tensor of `dtype` with the fixture's shape and values. */
static inline ck_tensor *fx_tensor(const json_t *shape, const json_t *values, ck_dtype dtype)
{
    int64_t dims[CK_MAX_RANK];
    int rank = (int)json_array_size(shape);
    for (int i = 0; i < rank; i++) dims[i] = json_integer_value(json_array_get(shape, i));
    ck_tensor *t = NULL;
    cr_assert_eq(ck_tensor_new(&t, dtype, rank, dims), CK_OK, "%s", ck_last_error());
    cr_assert_eq((size_t)t->size, json_array_size(values));
    for (int64_t i = 0; i < t->size; i++) {
        double v = fx_num(json_array_get(values, (size_t)i));
        if (dtype == CK_FLOAT32) ((float *)t->data)[i] = (float)v;
        else ((double *)t->data)[i] = v;
    }
    return t;
}

/* got ~ expected: same non-finite class, or |got-exp| <= atol + rtol|exp|. */
static inline int fx_close(double got, double exp, double rtol, double atol)
{
    if (isnan(exp)) return isnan(got);
    if (isinf(exp)) return got == exp;
    if (!isfinite(got)) return 0;
    return fabs(got - exp) <= atol + rtol * fabs(exp);
}

#endif
