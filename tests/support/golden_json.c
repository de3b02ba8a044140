/* JSON golden values (golden_json.h). */
#include "golden_json.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

ck_tensor *ck_test_golden_tensor(const json_t *j, ck_dtype dt)
{
    const json_t *shape = json_object_get(j, "shape"), *data = json_object_get(j, "data");
    cr_assert(json_is_array(shape) && json_is_array(data), "bad JSON tensor");
    int64_t dims[CK_MAX_RANK];
    int rank = (int)json_array_size(shape);
    cr_assert_leq(rank, CK_MAX_RANK);
    for (int i = 0; i < rank; i++) dims[i] = json_integer_value(json_array_get(shape, (size_t)i));
    ck_tensor *t = NULL;
    cr_assert_eq(ck_tensor_new(&t, dt, rank, dims), CK_OK);
    cr_assert_eq((size_t)t->size, json_array_size(data));
    for (int64_t i = 0; i < t->size; i++) {
        double v = json_number_value(json_array_get(data, (size_t)i));
        if (dt == CK_FLOAT32) ((float *)t->data)[i] = (float)v;
        else if (dt == CK_INT32) ((int32_t *)t->data)[i] = (int32_t)v;
        else ((double *)t->data)[i] = v;
    }
    return t;
}

const json_t *ck_test_golden_case(const json_t *cases, const char *name)
{
    size_t i;
    const json_t *c;
    json_array_foreach(cases, i, c) if (strcmp(json_string_value(json_object_get(c, "name")), name) == 0) return c;
    cr_assert_fail("no golden case %s", name);
    return NULL;
}

void ck_test_set_dtypes(json_t *v, const char *dtype)
{
    const char *key;
    json_t *item;
    size_t i;
    if (json_is_object(v)) {
        json_object_foreach(v, key, item) {
            if (strcmp(key, "dtype") == 0) json_object_set_new(v, key, json_string(dtype));
            else ck_test_set_dtypes(item, dtype);
        }
    } else if (json_is_array(v)) {
        json_array_foreach(v, i, item) ck_test_set_dtypes(item, dtype);
    }
}

void ck_test_expect_close(const char *name, const char *what, int k, const ck_tensor *got, const ck_tensor *want,
                          double atol)
{
    char at[32] = "";
    if (k >= 0) snprintf(at, sizeof at, " %d", k);
    cr_assert_eq(got->rank, want->rank, "%s %s%s: rank %d, expected %d", name, what, at, got->rank, want->rank);
    for (int i = 0; i < got->rank; i++)
        cr_assert_eq(got->shape[i], want->shape[i], "%s %s%s: dim %d", name, what, at, i);
    for (int64_t i = 0; i < got->size; i++) {
        double g = ck_tensor_get(got, i), e = ck_tensor_get(want, i);
        cr_expect(fabs(g - e) <= atol * (1 + fabs(e)), "%s %s%s [%lld]: got %.12g, expected %.12g", name, what, at,
                  (long long)i, g, e);
    }
}
