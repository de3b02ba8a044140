#include <criterion/criterion.h>
#include <string.h>

#include "ckeras.h"
#include "support/support.h"

Test(status, names_and_last_error)
{
    cr_expect_str_eq(ck_status_name(CK_VALUE_ERROR), "ValueError");
    cr_expect_str_eq(ck_status_name(CK_NOT_IMPLEMENTED), "NotImplementedError");
    cr_expect_str_eq(ck_status_name((ck_status)99), "UnknownError");
    cr_expect_eq(ck_error(CK_TYPE_ERROR, "bad %s %d", "thing", 3), CK_TYPE_ERROR);
    cr_expect_str_eq(ck_last_error(), "bad thing 3");
    cr_expect_eq(ck_last_status(), CK_TYPE_ERROR);
    ck_clear_error();
    cr_expect_str_eq(ck_last_error(), "");
    cr_expect_str_eq(ck_version(), CK_VERSION_STRING);
}

Test(tensor, new_is_zeroed_and_shaped)
{
    ck_tensor *t = NULL;
    int64_t shape[] = {2, 3, 4};
    cr_assert_eq(ck_tensor_new(&t, CK_FLOAT64, 3, shape), CK_OK);
    cr_expect_eq(t->size, 24);
    cr_expect_eq(t->rank, 3);
    cr_expect_eq(t->shape[2], 4);
    for (int i = 0; i < 24; i++) cr_expect_eq(((double *)t->data)[i], 0.0);
    ck_tensor_free(t);
    ck_tensor_free(NULL);
}

Test(tensor, scalar_and_empty)
{
    ck_tensor *t = NULL;
    cr_assert_eq(ck_tensor_new(&t, CK_INT32, 0, NULL), CK_OK);
    cr_expect_eq(t->size, 1);
    ck_tensor_free(t);
    int64_t shape[] = {0, 5};
    cr_assert_eq(ck_tensor_new(&t, CK_INT64, 2, shape), CK_OK);
    cr_expect_eq(t->size, 0);
    ck_tensor_free(t);
}

Test(tensor, bad_shapes_are_value_errors)
{
    ck_tensor *t = (ck_tensor *)0x1;
    int64_t neg[] = {2, -1};
    cr_expect_eq(ck_tensor_new(&t, CK_FLOAT32, 2, neg), CK_VALUE_ERROR);
    cr_expect(strstr(ck_last_error(), "(2, None)") != NULL, "%s", ck_last_error());
    int64_t huge[] = {INT64_MAX / 2, 3};
    cr_expect_eq(ck_tensor_new(&t, CK_FLOAT32, 2, huge), CK_VALUE_ERROR);
    int64_t big[] = {1LL << 31, 1LL << 31, 1LL << 2};
    cr_expect_eq(ck_tensor_new(&t, CK_FLOAT64, 3, big), CK_VALUE_ERROR);
    int64_t nine[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
    cr_expect_eq(ck_tensor_new(&t, CK_FLOAT32, 9, nine), CK_VALUE_ERROR);
    cr_expect_eq(ck_tensor_new(&t, (ck_dtype)0, 1, nine), CK_TYPE_ERROR);
    cr_expect_eq(t, (ck_tensor *)0x1, "output untouched on error");
}

Test(tensor, from_data_copies_and_wrap_borrows)
{
    float data[6] = {1, 2, 3, 4, 5, 6};
    int64_t shape[] = {2, 3};
    ck_tensor *c = NULL, *w = NULL;
    cr_assert_eq(ck_tensor_from_data(&c, CK_FLOAT32, 2, shape, data), CK_OK);
    cr_assert_eq(ck_tensor_wrap(&w, CK_FLOAT32, 2, shape, data), CK_OK);
    data[0] = 42;
    cr_expect_eq(((float *)c->data)[0], 1.0f);
    cr_expect_eq(((float *)w->data)[0], 42.0f);
    cr_expect_eq(w->data, (void *)data);
    ck_tensor_free(c);
    ck_tensor_free(w); /* must not free the user's array */
    cr_expect_eq(data[5], 6.0f);
}

Test(tensor, reshape_infers_and_validates)
{
    ck_tensor *t = NULL;
    int64_t shape[] = {2, 3, 4};
    cr_assert_eq(ck_tensor_new(&t, CK_INT32, 3, shape), CK_OK);
    int64_t s1[] = {6, -1};
    cr_assert_eq(ck_tensor_reshape(t, 2, s1), CK_OK);
    cr_expect_eq(t->rank, 2);
    cr_expect_eq(t->shape[1], 4);
    int64_t bad[] = {5, 5};
    cr_expect_eq(ck_tensor_reshape(t, 2, bad), CK_VALUE_ERROR);
    cr_expect_eq(t->shape[0], 6, "unchanged after a failed reshape");
    int64_t two_unknown[] = {-1, -1};
    cr_expect_eq(ck_tensor_reshape(t, 2, two_unknown), CK_VALUE_ERROR);
    int64_t not_div[] = {5, -1};
    cr_expect_eq(ck_tensor_reshape(t, 2, not_div), CK_VALUE_ERROR);
    ck_tensor_free(t);
}

Test(tensor, cast_truncates_like_numpy)
{
    double d[4] = {1.75, -2.5, 3.0, 1e10};
    int64_t shape[] = {4};
    ck_tensor *t = NULL, *i32 = NULL, *f32 = NULL, *i64 = NULL;
    cr_assert_eq(ck_tensor_from_data(&t, CK_FLOAT64, 1, shape, d), CK_OK);
    cr_assert_eq(ck_tensor_cast(&i64, t, CK_INT64), CK_OK);
    cr_expect_eq(((int64_t *)i64->data)[0], 1);
    cr_expect_eq(((int64_t *)i64->data)[1], -2);
    cr_expect_eq(((int64_t *)i64->data)[3], 10000000000LL);
    cr_assert_eq(ck_tensor_cast(&f32, i64, CK_FLOAT32), CK_OK);
    cr_expect_eq(((float *)f32->data)[2], 3.0f);
    cr_assert_eq(ck_tensor_cast(&i32, f32, CK_INT32), CK_OK);
    cr_expect_eq(((int32_t *)i32->data)[1], -2);
    cr_expect_eq(i32->dtype, CK_INT32);
    ck_tensor_free(t); ck_tensor_free(i32); ck_tensor_free(f32); ck_tensor_free(i64);
}

Test(tensor, shape_str_matches_python)
{
    char buf[64];
    int64_t s[] = {-1, 3};
    cr_expect_str_eq(ck_shape_str(buf, sizeof buf, 2, s), "(None, 3)");
    int64_t one[] = {2};
    cr_expect_str_eq(ck_shape_str(buf, sizeof buf, 1, one), "(2,)");
    cr_expect_str_eq(ck_shape_str(buf, sizeof buf, 0, NULL), "()");
}

Test(dtype, names_roundtrip)
{
    ck_dtype d;
    cr_expect_eq(ck_dtype_from_name("int64", &d), CK_OK);
    cr_expect_eq(d, CK_INT64);
    cr_expect_eq(ck_dtype_from_name("float16", &d), CK_VALUE_ERROR);
    cr_expect_eq(ck_dtype_size(CK_FLOAT64), 8u);
    cr_expect(ck_dtype_is_floating(CK_FLOAT32));
    cr_expect(!ck_dtype_is_floating(CK_INT32));
}

static ck_status make_and_copy(void *ctx)
{
    ck_tensor **pair = ctx;
    int64_t shape[] = {3, 3};
    ck_tensor *a = NULL;
    ck_status st0 = ck_tensor_new(&a, CK_FLOAT32, 2, shape);
    if (st0 != CK_OK) return st0;
    ck_status st = ck_tensor_cast(&pair[1], a, CK_FLOAT64);
    if (st != CK_OK) { ck_tensor_free(a); return st; }
    pair[0] = a;
    return CK_OK;
}

static void free_pair(void *ctx)
{
    ck_tensor **pair = ctx;
    ck_tensor_free(pair[0]);
    ck_tensor_free(pair[1]);
}

Test(alloc, every_failure_is_clean)
{
    ck_tensor *pair[2] = {NULL, NULL};
    long points = ck_test_every_allocation_fails(make_and_copy, free_pair, pair);
    cr_expect_eq(points, 2, "two tensors of one block each");
}

Test(alloc, calloc_overflow_is_null)
{
    cr_expect_null(ck_calloc(SIZE_MAX / 2, 4));
    char *s = ck_strdup("abc");
    cr_expect_str_eq(s, "abc");
    ck_free(s);
    ck_free(NULL);
}

Test(tensor, owned_data_is_cache_line_aligned)
{
    for (int64_t n = 0; n < 70; n += 7) {
        ck_tensor *a = NULL, *b = NULL;
        cr_assert_eq(ck_tensor_new(&a, CK_FLOAT32, 1, &n), CK_OK);
        cr_assert_eq(ck_tensor_cast(&b, a, CK_FLOAT64), CK_OK);
        cr_expect_eq((uintptr_t)a->data % 64, 0u);
        cr_expect_eq((uintptr_t)b->data % 64, 0u);
        ck_tensor_free(a);
        ck_tensor_free(b);
    }
}
