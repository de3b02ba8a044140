/* JSON golden values (golden_json.h). */
#include "golden_json.h"

#include <criterion/criterion.h>
#include <math.h>
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
        else ((double *)t->data)[i] = v;
    }
    return t;
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
    cr_assert_eq(got->rank, want->rank, "%s %s %d: rank %d, expected %d", name, what, k, got->rank, want->rank);
    for (int i = 0; i < got->rank; i++)
        cr_assert_eq(got->shape[i], want->shape[i], "%s %s %d: dim %d", name, what, k, i);
    for (int64_t i = 0; i < got->size; i++) {
        double g = ck_tensor_get(got, i), e = ck_tensor_get(want, i);
        cr_expect(fabs(g - e) <= atol * (1 + fabs(e)), "%s %s %d [%lld]: got %.12g, expected %.12g", name, what, k,
                  (long long)i, g, e);
    }
}
