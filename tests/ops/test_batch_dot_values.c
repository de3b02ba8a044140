/* batch_dot values: numpy goldens over ranks x axes x dtypes through every
 * kernel path and spelling of the axes, the worked examples of spec 1.5 and
 * the Keras test cases of keras-cases.md section A. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>

#include "ckeras.h"
#include "ops/ops.h"
#include "support/batch_dot_check.h"
#include "support/support.h"

static const int all_paths[] = {CK_BD_PATH_AUTO, CK_BD_PATH_BLAS, CK_BD_PATH_AVX2,
                                CK_BD_PATH_PORTABLE, CK_BD_PATH_AVX512};

static ck_tensor *load(const char *file)
{
    char rel[256];
    snprintf(rel, sizeof rel, "batch_dot/%s", file);
    ck_tensor *t = NULL;
    cr_assert_eq(ck_npy_load(ck_test_data(rel), &t), CK_OK, "%s: %s", rel, ck_last_error());
    return t;
}

/* Runs one form of the axes and compares with the golden output. */
static int run_form(const char *name, const char *form, const ck_tensor *x,
                    const ck_tensor *y, ck_axes axes, const ck_tensor *want)
{
    ck_tensor *got = NULL;
    char why[256];
    ck_status st = ck_batch_dot(x, y, axes, &got);
    if (st != CK_OK) {
        cr_log_error("%s %s: %s: %s", name, form, ck_status_name(st), ck_last_error());
        return 0;
    }
    int ok = bd_matches_golden(got, want, why, sizeof why);
    if (!ok) cr_log_error("%s %s: %s", name, form, why);
    ck_tensor_free(got);
    return ok;
}

Test(batch_dot_golden, grid_of_ranks_axes_and_dtypes)
{
    FILE *f = fopen(ck_test_data("batch_dot/manifest.txt"), "r");
    cr_assert(f, "missing tests/data/batch_dot/manifest.txt");
    char name[128], dt[16], xf[128], yf[128], of[128];
    int xr, yr, a0, a1, cases = 0, failures = 0, forms = 0;
    int per_dtype[5] = {0};
    while (fscanf(f, "%127s %d %d %d %d %15s %127s %127s %127s", name, &xr, &yr, &a0,
                  &a1, dt, xf, yf, of) == 9) {
        ck_dtype dtype;
        cr_assert_eq(ck_dtype_from_name(dt, &dtype), CK_OK);
        ck_tensor *x = load(xf), *y = load(yf), *want = load(of);
        cr_assert_eq(x->dtype, dtype, "%s", name);
        cr_assert_eq(x->rank, xr, "%s", name);
        cr_assert_eq(y->rank, yr, "%s", name);
        per_dtype[dtype]++;

        /* every kernel path, with the plain pair of axes */
        for (size_t p = 0; p < sizeof all_paths / sizeof all_paths[0]; p++) {
            ck_bd_path = all_paths[p];
            char form[32];
            snprintf(form, sizeof form, "(%d, %d) path %d", a0, a1, all_paths[p]);
            failures += !run_form(name, form, x, y, PAIR(a0, a1), want);
            forms++;
        }
        ck_bd_path = CK_BD_PATH_AUTO;

        /* the equivalent spellings of the same axes */
        failures += !run_form(name, "negative pair", x, y, PAIR(a0 - xr, a1 - yr), want);
        failures += !run_form(name, "mixed pair 1", x, y, PAIR(a0 - xr, a1), want);
        failures += !run_form(name, "mixed pair 2", x, y, PAIR(a0, a1 - yr), want);
        forms += 3;
        if (a0 == a1) {
            failures += !run_form(name, "int", x, y, ONE(a0), want);
            forms++;
        }
        if (a0 - xr == a1 - yr) {
            failures += !run_form(name, "negative int", x, y, ONE(a0 - xr), want);
            forms++;
        }
        int d0 = xr - 1, d1 = yr == 2 ? 1 : yr - 2;
        if (a0 == d0 && a1 == d1) {
            failures += !run_form(name, "None", x, y, NONE, want);
            forms++;
        }

        /* into a preallocated output */
        ck_tensor *into = bd_make(dtype, want->rank, want->shape, NULL);
        char why[256];
        ck_status st = ck_batch_dot_into(x, y, PAIR(a0, a1), into);
        if (st != CK_OK || !bd_matches_golden(into, want, why, sizeof why)) {
            cr_log_error("%s into: %s", name, st != CK_OK ? ck_last_error() : why);
            failures++;
        }
        forms++;

        ck_tensor_free(into);
        ck_tensor_free(x);
        ck_tensor_free(y);
        ck_tensor_free(want);
        cases++;
    }
    fclose(f);
    cr_expect_eq(cases, 400, "manifest has %d cases", cases);
    for (int d = 1; d <= 4; d++) cr_expect_eq(per_dtype[d], 100, "dtype %d: %d cases", d, per_dtype[d]);
    cr_expect_eq(failures, 0, "%d of %d runs failed (see the log)", failures, forms);
}

/* -------------------------------------------- every path vs reference */

/* ------------------------------------------ spec 1.5 worked examples */

Test(batch_dot_examples, rank2_docstring)
{
    int64_t s[] = {2, 2}, os[] = {2, 1};
    double xv[] = {1, 2, 3, 4}, yv[] = {5, 6, 7, 8}, want[] = {17, 53};
    for (size_t d = 0; d < 4; d++) {
        ck_tensor *x = bd_make(all_dtypes[d], 2, s, xv), *y = bd_make(all_dtypes[d], 2, s, yv);
        ck_tensor *out = NULL;
        cr_assert_eq(ck_batch_dot(x, y, ONE(1), &out), CK_OK, "%s", ck_last_error());
        cr_expect_eq(out->dtype, all_dtypes[d]);
        bd_expect_values(out, 2, os, want, "docstring axes=1");
        ck_tensor_free(out);
        cr_assert_eq(ck_batch_dot(x, y, NONE, &out), CK_OK);   /* None -> [1, 1] */
        bd_expect_values(out, 2, os, want, "docstring axes=None");
        ck_tensor_free(out);
        ck_tensor_free(x);
        ck_tensor_free(y);
    }
}

Test(batch_dot_examples, rank3_batch_of_one)
{
    int64_t s[] = {1, 2, 2};
    double xv[] = {1, 2, 3, 4}, yv[] = {5, 6, 7, 8};
    struct { ck_axes axes; double want[4]; const char *what; } ex[] = {
        {ONE(1), {26, 30, 38, 44}, "axes=1 (x^T y)"},
        {ONE(2), {17, 23, 39, 53}, "axes=2 (x y^T)"},
        {PAIR(1, 2), {23, 31, 34, 46}, "axes=(1,2)"},
        {PAIR(2, 1), {19, 22, 43, 50}, "axes=(2,1)"},
        {NONE, {19, 22, 43, 50}, "axes=None"},
    };
    for (size_t d = 0; d < 4; d++) {
        ck_tensor *x = bd_make(all_dtypes[d], 3, s, xv), *y = bd_make(all_dtypes[d], 3, s, yv);
        for (size_t e = 0; e < sizeof ex / sizeof ex[0]; e++) {
            ck_tensor *out = NULL;
            cr_assert_eq(ck_batch_dot(x, y, ex[e].axes, &out), CK_OK, "%s", ck_last_error());
            bd_expect_values(out, 3, s, ex[e].want, ex[e].what);
            ck_tensor_free(out);
        }
        ck_tensor_free(x);
        ck_tensor_free(y);
    }
}

Test(batch_dot_examples, dot_seed_int64)
{
    int64_t xs[] = {1, 5, 2}, ys[] = {1, 2, 5}, os[] = {1, 2, 2};
    double xv[10], yv[10], want[] = {260, 360, 320, 445};
    for (int i = 0; i < 10; i++) {
        xv[i] = i;
        yv[i] = 10 + i;
    }
    ck_tensor *x = bd_make(CK_INT64, 3, xs, xv), *y = bd_make(CK_INT64, 3, ys, yv), *out = NULL;
    cr_assert_eq(ck_batch_dot(x, y, PAIR(1, 2), &out), CK_OK);
    cr_expect_eq(out->dtype, CK_INT64);
    bd_expect_values(out, 3, os, want, "Dot seed");
    ck_tensor_free(out);
    ck_tensor_free(x);
    ck_tensor_free(y);
}

Test(batch_dot_examples, docstring_shapes)
{
    int64_t xs[] = {32, 20, 1}, ys[] = {32, 30, 20};
    ck_tensor *x = bd_make_fill(CK_FLOAT32, 3, xs, 1), *y = bd_make_fill(CK_FLOAT32, 3, ys, 1);
    ck_tensor *out = NULL;
    cr_assert_eq(ck_batch_dot(x, y, PAIR(1, 2), &out), CK_OK, "%s", ck_last_error());
    int64_t os[] = {32, 1, 30};
    cr_assert(bd_same_shape(out, 3, os), "%s", bd_shape_of(out));
    for (int64_t i = 0; i < out->size; i++) cr_expect_eq(((float *)out->data)[i], 20.0f);
    ck_tensor_free(out);
    ck_tensor_free(x);
    ck_tensor_free(y);

    int64_t xs2[] = {100, 20}, ys2[] = {100, 30, 20};
    x = bd_make_fill(CK_FLOAT64, 2, xs2, 1);
    y = bd_make_fill(CK_FLOAT64, 3, ys2, 1);
    cr_assert_eq(ck_batch_dot(x, y, PAIR(1, 2), &out), CK_OK, "%s", ck_last_error());
    int64_t os2[] = {100, 30};
    cr_assert(bd_same_shape(out, 2, os2), "%s", bd_shape_of(out));
    for (int64_t i = 0; i < out->size; i++) cr_expect_eq(((double *)out->data)[i], 20.0);
    ck_tensor_free(out);
    ck_tensor_free(x);
    ck_tensor_free(y);
}

/* ----------------------------------------- keras-cases.md section A */

typedef struct keras_case {
    const char *src;
    int xr, yr;
    int64_t xs[5], ys[5];
    ck_axes axes;
    int orank;
    int64_t os[8];
} keras_case;

static const keras_case keras_cases[] = {
    {"A1.1", 4, 4, {2, 3, 4, 5}, {2, 5, 6, 7}, PAIR(3, 1), 5, {2, 3, 4, 6, 7}},
    {"A1.2", 3, 3, {2, 20, 1}, {2, 30, 20}, PAIR(1, 2), 3, {2, 1, 30}},
    {"A1.3", 3, 3, {4, 2, 3}, {4, 5, 3}, PAIR(2, 2), 3, {4, 2, 5}},
    {"A1.4", 2, 3, {4, 2}, {4, 2, 3}, PAIR(1, 1), 2, {4, 3}},
    {"A1.5", 2, 3, {4, 2}, {4, 2, 3}, ONE(1), 2, {4, 3}},
    {"A1.6", 3, 2, {4, 2, 3}, {4, 3}, PAIR(2, 1), 2, {4, 2}},
    {"A2.4", 2, 2, {32, 20}, {32, 20}, ONE(1), 2, {32, 1}},
    {"A2.5", 2, 2, {32, 20}, {32, 20}, PAIR(1, 1), 2, {32, 1}},
    {"A3.1", 4, 4, {7, 3, 4, 5}, {7, 2, 3, 4}, PAIR(2, 3), 5, {7, 3, 5, 2, 3}},
    {"A3.2", 4, 3, {7, 3, 4, 5}, {7, 2, 4}, ONE(2), 4, {7, 3, 5, 2}},
    {"A3.3", 3, 4, {7, 3, 4}, {7, 2, 3, 4}, PAIR(2, 3), 4, {7, 3, 2, 3}},
    {"A3.4", 3, 3, {7, 4, 3}, {7, 3, 5}, PAIR(2, 1), 3, {7, 4, 5}},
    {"A3.5", 2, 3, {7, 4}, {7, 3, 4}, PAIR(1, 2), 2, {7, 3}},
    {"A3.6", 2, 2, {7, 4}, {7, 4}, NONE, 2, {7, 1}},
    {"A7.1", 3, 3, {2, 3, 4}, {2, 4, 5}, NONE, 3, {2, 3, 5}},
    {"A7.2", 3, 2, {2, 3, 4}, {2, 4}, NONE, 2, {2, 3}},
    {"A7.3", 4, 4, {2, 3, 4, 5}, {2, 3, 5, 6}, NONE, 5, {2, 3, 4, 3, 6}},
    {"A7.4", 3, 3, {2, 3, 4}, {2, 5, 4}, ONE(-1), 3, {2, 3, 5}},
    {"A7.5", 3, 3, {2, 3, 4}, {2, 3, 5}, PAIR(-2, -2), 3, {2, 4, 5}},
    {"A7.6", 3, 4, {1, 3, 2}, {1, 1, 2, 3}, PAIR(-2, -1), 4, {1, 2, 1, 2}},
    /* the K2.2/TF.js agreement list of A7 */
    {"A7.r1", 3, 3, {3, 4, 3}, {3, 3, 5}, PAIR(2, 1), 3, {3, 4, 5}},
    {"A7.r2", 2, 3, {3, 4}, {3, 3, 4}, PAIR(1, 2), 2, {3, 3}},
    {"A7.r3", 3, 3, {3, 2, 3}, {3, 2, 3}, ONE(1), 3, {3, 3, 3}},
    {"A7.r4", 3, 3, {3, 2, 3}, {3, 3, 2}, PAIR(1, 2), 3, {3, 3, 3}},
    {"A7.r5", 3, 3, {3, 2, 3}, {3, 3, 2}, PAIR(2, 1), 3, {3, 2, 2}},
    {"A7.r6", 3, 3, {3, 2, 3}, {3, 2, 4}, PAIR(1, 1), 3, {3, 3, 4}},
    {"A7.r7", 3, 2, {3, 3, 2}, {3, 3}, PAIR(1, 1), 2, {3, 2}},
    {"A7.r8", 3, 3, {3, 2, 4}, {3, 4, 2}, NONE, 3, {3, 2, 2}},
    {"A7.r9", 2, 2, {5, 6}, {5, 6}, PAIR(1, 1), 2, {5, 1}},
};

Test(batch_dot_keras, shapes_and_values)
{
    unsigned seed = 7;
    for (size_t c = 0; c < sizeof keras_cases / sizeof keras_cases[0]; c++) {
        const keras_case *kc = &keras_cases[c];
        int a[2], rank;
        int64_t shape[CK_MAX_RANK];
        cr_assert_eq(ck_batch_dot_shape(kc->xr, kc->xs, kc->yr, kc->ys, kc->axes, a, &rank,
                                        shape), CK_OK, "%s: %s", kc->src, ck_last_error());
        cr_expect_eq(rank, kc->orank, "%s: rank %d", kc->src, rank);
        for (int i = 0; i < rank; i++)
            cr_expect_eq(shape[i], kc->os[i], "%s: dim %d is %lld", kc->src, i,
                         (long long)shape[i]);
        /* values against the per-sample reference (atol 1e-5 in Keras) */
        ck_tensor *x = bd_make_random(CK_FLOAT32, kc->xr, kc->xs, &seed);
        ck_tensor *y = bd_make_random(CK_FLOAT32, kc->yr, kc->ys, &seed);
        ck_tensor *out = NULL;
        cr_assert_eq(ck_batch_dot(x, y, kc->axes, &out), CK_OK, "%s: %s", kc->src,
                     ck_last_error());
        ref_result r = bd_reference(x, y, a[0], a[1]);
        char why[256];
        cr_expect(bd_matches_ref(out, &r, x->shape[a[0]], why, sizeof why), "%s: %s", kc->src, why);
        bd_ref_free(&r);
        ck_tensor_free(out);
        ck_tensor_free(x);
        ck_tensor_free(y);
    }
}

Test(batch_dot_keras, legacy_ones_case)
{
    /* A4.1: ones(32,20) . ones(32,20), axes 1 -> 20 * ones(32,1) */
    int64_t s[] = {32, 20}, os[] = {32, 1};
    ck_tensor *x = bd_make_fill(CK_FLOAT32, 2, s, 1), *out = NULL;
    cr_assert_eq(ck_batch_dot(x, x, ONE(1), &out), CK_OK);
    double want[32];
    for (int i = 0; i < 32; i++) want[i] = 20;
    bd_expect_values(out, 2, os, want, "A4.1");
    ck_tensor_free(out);
    ck_tensor_free(x);
}
