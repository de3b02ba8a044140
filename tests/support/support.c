#include "support.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static char path_buf[4][4096];
static int path_slot;

static const char *join(const char *base, const char *rel)
{
    char *buf = path_buf[path_slot++ % 4];
    snprintf(buf, sizeof path_buf[0], "%s/%s", base, rel);
    return buf;
}

const char *ck_test_data(const char *relpath)
{
    const char *base = getenv("CK_TEST_DATA");
    return join(base ? base : "tests/data", relpath);
}

const char *ck_test_shared(const char *relpath)
{
    const char *base = getenv("CK_SHARED_DATA");
    if (!base || access(base, R_OK) != 0) return NULL;
    const char *p = join(base, relpath);
    return access(p, R_OK) == 0 ? p : NULL;
}

const char *ck_test_shared_keras(const char *relpath)
{
    char buf[1024];
    snprintf(buf, sizeof buf, "keras/%s", relpath);
    return ck_test_shared(buf);
}

const char *ck_test_fixture(const char *relpath)
{
    static char buf[4][1024];
    static int slot;
    char *b = buf[slot++ % 4];
    snprintf(b, sizeof buf[0], "%s", ck_test_data(relpath));
    return b;
}

const char *ck_test_tmp(const char *name)
{
    const char *base = getenv("CK_TMP");
    char *buf = path_buf[path_slot++ % 4];
    snprintf(buf, sizeof path_buf[0], "%s/%ld_%s", base ? base : "/tmp", (long)getpid(), name);
    return buf;
}

static long fail_after = -1, alloc_count, live;

static void *test_alloc(void *user, void *ptr, size_t size)
{
    (void)user;
    if (size == 0) {
        if (ptr) live--;
        free(ptr);
        return NULL;
    }
    if (fail_after >= 0 && alloc_count >= fail_after) return NULL;
    alloc_count++;
    void *p = realloc(ptr, size);
    if (p && !ptr) live++;
    return p;
}

void ck_test_fail_after(long n)
{
    fail_after = n;
    alloc_count = 0;
    live = 0;
    ck_set_allocator(test_alloc, NULL);
}

void ck_test_alloc_reset(void) { ck_set_allocator(NULL, NULL); }
long ck_test_alloc_count(void) { return alloc_count; }
long ck_test_alloc_live(void) { return live; }

long ck_test_every_allocation_fails(ck_status (*fn)(void *ctx),
                                    void (*cleanup)(void *ctx), void *ctx)
{
    for (long k = 0; k < 100000; k++) {
        ck_test_fail_after(k);
        ck_status st = fn(ctx);
        if (st == CK_OK) {
            cleanup(ctx);
            cr_expect_eq(ck_test_alloc_live(), 0, "leak after success with %ld allocations", k);
            ck_test_alloc_reset();
            return k;
        }
        long leaked = ck_test_alloc_live();
        ck_test_alloc_reset();
        cr_expect_eq(st, CK_OUT_OF_MEMORY, "allocation %ld failing gave %s: %s", k,
                     ck_status_name(st), ck_last_error());
        cr_expect_eq(leaked, 0, "allocation %ld failing leaked %ld blocks", k, leaked);
    }
    ck_test_alloc_reset();
    cr_assert_fail("never succeeded");
    return -1;
}

double ck_test_max_abs_diff(const ck_tensor *a, const ck_tensor *b)
{
    if (a->rank != b->rank || a->size != b->size) return INFINITY;
    for (int i = 0; i < a->rank; i++)
        if (a->shape[i] != b->shape[i]) return INFINITY;
    double m = 0;
    for (int64_t i = 0; i < a->size; i++) {
        double d = fabs(ck_tensor_get(a, i) - ck_tensor_get(b, i));
        if (d != d) return INFINITY;
        if (d > m) m = d;
    }
    return m;
}

#include <jansson.h>

ck_tensor *ck_test_f32(int rank, const int64_t *shape, const float *values)
{
    ck_tensor *t = NULL;
    cr_assert_eq(ck_tensor_from_data(&t, CK_FLOAT32, rank, shape, values), CK_OK, "%s", ck_last_error());
    return t;
}

ck_tensor *ck_test_f64(int rank, const int64_t *shape, const double *values)
{
    ck_tensor *t = NULL;
    cr_assert_eq(ck_tensor_from_data(&t, CK_FLOAT64, rank, shape, values), CK_OK, "%s", ck_last_error());
    return t;
}

ck_tensor *ck_test_i64(int rank, const int64_t *shape, const int64_t *values)
{
    ck_tensor *t = NULL;
    cr_assert_eq(ck_tensor_from_data(&t, CK_INT64, rank, shape, values), CK_OK, "%s", ck_last_error());
    return t;
}

ck_tensor *ck_test_json_tensor(const json_t *obj, int batch1)
{
    const json_t *data = json_object_get(obj, "data"), *shape = json_object_get(obj, "shape");
    cr_assert(json_is_array(data) && json_is_array(shape), "bad JSON tensor");
    int64_t dims[CK_MAX_RANK];
    int rank = 0;
    if (batch1) dims[rank++] = 1;
    for (size_t i = 0; i < json_array_size(shape); i++) dims[rank++] = json_integer_value(json_array_get(shape, i));
    ck_tensor *t = NULL;
    cr_assert_eq(ck_tensor_new(&t, CK_FLOAT32, rank, dims), CK_OK);
    cr_assert_eq((size_t)t->size, json_array_size(data));
    for (int64_t i = 0; i < t->size; i++) ((float *)t->data)[i] = (float)json_number_value(json_array_get(data, (size_t)i));
    return t;
}

json_t *ck_test_load_json(const char *path)
{
    json_error_t err;
    json_t *j = json_load_file(path, 0, &err);
    cr_assert_not_null(j, "cannot load %s: %s", path, err.text);
    return j;
}

ck_tensor *ck_test_npy(const char *name)
{
    char rel[128];
    snprintf(rel, sizeof rel, "layers/%s.npy", name);
    ck_tensor *t = NULL;
    cr_assert_eq(ck_npy_load(ck_test_data(rel), &t), CK_OK, "%s: %s", rel, ck_last_error());
    return t;
}

ck_tensor *ck_test_call1(ck_layer *l, ck_tensor *x)
{
    ck_tensor *out = NULL;
    cr_assert_eq(ck_layer_call(l, 1, &x, &out), CK_OK, "%s", ck_last_error());
    return out;
}

char *ck_test_config_of(const ck_layer *l)
{
    char *text = NULL;
    cr_assert_eq(ck_layer_get_config(l, &text), CK_OK, "%s", ck_last_error());
    return text;
}

void ck_test_round_trip(const char *text, const char *want)
{
    ck_layer *l = NULL;
    cr_assert_eq(ck_layer_from_config(text, &l), CK_OK, "%s: %s", text, ck_last_error());
    char *got = ck_test_config_of(l);
    cr_expect_str_eq(got, want ? want : text);
    ck_layer *again = NULL;
    cr_assert_eq(ck_layer_from_config(got, &again), CK_OK, "%s", ck_last_error());
    char *got2 = ck_test_config_of(again);
    cr_expect_str_eq(got2, got);
    ck_free(got);
    ck_free(got2);
    ck_layer_free(l);
    ck_layer_free(again);
}

ck_tensor *ck_test_npy_named(const char *fmt, const char *name)
{
    char rel[256];
    snprintf(rel, sizeof rel, fmt, name);
    ck_tensor *t = NULL;
    cr_assert_eq(ck_npy_load(ck_test_data(rel), &t), CK_OK, "%s: %s", rel, ck_last_error());
    return t;
}

void ck_test_expect_near(const ck_tensor *got, const ck_tensor *want, double tol, const char *what)
{
    cr_assert_eq(got->rank, want->rank, "%s: rank %d vs %d", what, got->rank, want->rank);
    for (int i = 0; i < got->rank; i++)
        cr_assert_eq(got->shape[i], want->shape[i], "%s: dim %d is %lld, expected %lld", what, i,
                     (long long)got->shape[i], (long long)want->shape[i]);
    cr_assert_eq(got->dtype, want->dtype, "%s: dtype", what);
    double d = ck_test_max_abs_diff(got, want);
    cr_expect_leq(d, tol, "%s: max abs diff %g", what, d);
}
