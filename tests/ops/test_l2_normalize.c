/* l2_normalize: numpy goldens (tests/data/l2_normalize, written by
 * tools/gen_batch_dot_goldens.py), in place and into, and the errors. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ckeras.h"
#include "support/support.h"

static ck_tensor *load(const char *file)
{
    char rel[256];
    snprintf(rel, sizeof rel, "l2_normalize/%s", file);
    ck_tensor *t = NULL;
    cr_assert_eq(ck_npy_load(ck_test_data(rel), &t), CK_OK, "%s: %s", rel, ck_last_error());
    return t;
}

/* Both sides round a float64 computation once, so float32 results agree
 * to an ulp of 1 at most. */
static double tolerance(ck_dtype dt) { return dt == CK_FLOAT32 ? 1.2e-7 : 1e-15; }

static void expect_close(const ck_tensor *got, const ck_tensor *want, const char *what)
{
    cr_assert_eq(got->dtype, want->dtype, "%s", what);
    double d = ck_test_max_abs_diff(got, want);
    cr_expect(d <= tolerance(got->dtype), "%s: max |diff| %g", what, d);
}

Test(l2_normalize, numpy_goldens)
{
    FILE *f = fopen(ck_test_data("l2_normalize/manifest.txt"), "r");
    cr_assert(f, "missing tests/data/l2_normalize/manifest.txt");
    char name[128], dt[16], xf[160], of[160];
    int axis, cases = 0;
    double eps;
    while (fscanf(f, "%127s %15s %d %lf %159s %159s", name, dt, &axis, &eps, xf, of) == 6) {
        ck_tensor *x = load(xf), *want = load(of), *got = NULL;
        cr_assert_str_eq(ck_dtype_name(x->dtype), dt, "%s", name);
        cr_assert_eq(ck_l2_normalize(x, axis, eps, &got), CK_OK, "%s: %s", name, ck_last_error());
        expect_close(got, want, name);
        /* into a separate tensor, then in place */
        ck_tensor *into = NULL;
        cr_assert_eq(ck_tensor_new(&into, x->dtype, x->rank, x->shape), CK_OK);
        cr_assert_eq(ck_l2_normalize_into(x, axis, eps, into), CK_OK, "%s", ck_last_error());
        expect_close(into, want, name);
        cr_assert_eq(ck_l2_normalize_into(x, axis, eps, x), CK_OK, "%s", ck_last_error());
        expect_close(x, want, name);
        ck_tensor_free(into);
        ck_tensor_free(got);
        ck_tensor_free(x);
        ck_tensor_free(want);
        cases++;
    }
    fclose(f);
    cr_expect_eq(cases, 20, "%d cases", cases);
}

/* The spec's distinguishing case: TF2.x floors the squared norm at 1e-12,
 * so [1e-5, 0] normalises to [1, 0] (TF.js and Keras 3.0 give 0.001). */
Test(l2_normalize, tiny_and_zero_rows)
{
    int64_t s[] = {3, 2};
    double v[] = {1e-5, 0, 3, 4, 0, 0};
    ck_tensor *x = NULL, *out = NULL;
    cr_assert_eq(ck_tensor_from_data(&x, CK_FLOAT64, 2, s, v), CK_OK);
    cr_assert_eq(ck_l2_normalize(x, 1, 1e-12, &out), CK_OK);
    const double *o = out->data;
    cr_expect(fabs(o[0] - 1) < 1e-15 && o[1] == 0, "%g %g", o[0], o[1]);
    cr_expect(fabs(o[2] - 0.6) < 1e-15 && fabs(o[3] - 0.8) < 1e-15);
    cr_expect(o[4] == 0 && o[5] == 0);
    /* the dot of the normalised rows is the cosine similarity */
    cr_expect(fabs(o[0] * o[0] + o[1] * o[1] - 1) < 1e-15);
    ck_tensor_free(out);
    /* with Keras 3.0's floor of 1e-7 the tiny row shrinks instead */
    cr_assert_eq(ck_l2_normalize(x, -1, 1e-7, &out), CK_OK);
    o = out->data;
    cr_expect(fabs(o[0] - 1e-5 / sqrt(1e-7)) < 1e-15, "%g", o[0]);
    ck_tensor_free(out);
    ck_tensor_free(x);
}

Test(l2_normalize, nan_propagates)
{
    int64_t s[] = {2, 2};
    float v[] = {NAN, 1, 3, 4};
    ck_tensor *x = NULL, *out = NULL;
    cr_assert_eq(ck_tensor_from_data(&x, CK_FLOAT32, 2, s, v), CK_OK);
    cr_assert_eq(ck_l2_normalize(x, 1, 1e-12, &out), CK_OK);
    const float *o = out->data;
    cr_expect(isnan(o[0]) && isnan(o[1]));
    cr_expect(fabsf(o[2] - 0.6f) < 1e-7f && fabsf(o[3] - 0.8f) < 1e-7f);
    ck_tensor_free(out);
    ck_tensor_free(x);
}

Test(l2_normalize, errors)
{
    int64_t s[] = {2, 3};
    ck_tensor *i = NULL, *x = NULL, *out = (ck_tensor *)0x1;
    cr_assert_eq(ck_tensor_new(&i, CK_INT32, 2, s), CK_OK);
    cr_assert_eq(ck_tensor_new(&x, CK_FLOAT32, 2, s), CK_OK);
    cr_expect_eq(ck_l2_normalize(i, 1, 1e-12, &out), CK_TYPE_ERROR);
    cr_expect(strstr(ck_last_error(), "int32"), "%s", ck_last_error());
    cr_expect_eq(ck_l2_normalize(x, 2, 1e-12, &out), CK_VALUE_ERROR);
    cr_expect(strstr(ck_last_error(), "axis 2"), "%s", ck_last_error());
    cr_expect_eq(ck_l2_normalize(x, -3, 1e-12, &out), CK_VALUE_ERROR);
    cr_expect_eq(ck_l2_normalize(NULL, 0, 1e-12, &out), CK_VALUE_ERROR);
    cr_expect_eq(ck_l2_normalize(x, 0, 1e-12, NULL), CK_VALUE_ERROR);
    ck_tensor *scalar = NULL;
    cr_assert_eq(ck_tensor_new(&scalar, CK_FLOAT64, 0, NULL), CK_OK);
    cr_expect_eq(ck_l2_normalize(scalar, 0, 1e-12, &out), CK_VALUE_ERROR);
    ck_tensor sym = *x;
    sym.data = NULL;
    cr_expect_eq(ck_l2_normalize(&sym, 0, 1e-12, &out), CK_VALUE_ERROR);
    cr_expect_eq(out, (ck_tensor *)0x1, "output untouched on error");

    /* into: the output must match x's dtype and shape */
    int64_t t[] = {3, 2};
    ck_tensor *wrong = NULL, *wrong_dt = NULL;
    cr_assert_eq(ck_tensor_new(&wrong, CK_FLOAT32, 2, t), CK_OK);
    cr_assert_eq(ck_tensor_new(&wrong_dt, CK_FLOAT64, 2, s), CK_OK);
    cr_expect_eq(ck_l2_normalize_into(x, 1, 1e-12, wrong), CK_VALUE_ERROR);
    cr_expect(strstr(ck_last_error(), "(3, 2)") && strstr(ck_last_error(), "(2, 3)"), "%s",
              ck_last_error());
    cr_expect_eq(ck_l2_normalize_into(x, 1, 1e-12, wrong_dt), CK_VALUE_ERROR);
    cr_expect_eq(ck_l2_normalize_into(x, 1, 1e-12, NULL), CK_VALUE_ERROR);
    cr_expect_eq(ck_l2_normalize_into(i, 1, 1e-12, i), CK_TYPE_ERROR);
    ck_tensor nodata = *x;
    nodata.data = NULL;
    cr_expect_eq(ck_l2_normalize_into(x, 1, 1e-12, &nodata), CK_VALUE_ERROR);
    ck_tensor_free(wrong);
    ck_tensor_free(wrong_dt);
    ck_tensor_free(scalar);
    ck_tensor_free(i);
    ck_tensor_free(x);
}

typedef struct ctx {
    ck_tensor *x, *out;
} ctx;

static ck_status run(void *p)
{
    ctx *c = p;
    return ck_l2_normalize(c->x, 1, 1e-12, &c->out);
}

static void cleanup(void *p)
{
    ctx *c = p;
    ck_tensor_free(c->out);
    c->out = NULL;
}

Test(l2_normalize, allocation)
{
    int64_t s[] = {4, 300, 3};
    ctx c = {NULL, NULL};
    cr_assert_eq(ck_tensor_new(&c.x, CK_FLOAT32, 3, s), CK_OK);
    for (int64_t i = 0; i < c.x->size; i++) ((float *)c.x->data)[i] = (float)(i % 7) - 3;
    cr_expect_geq(ck_test_every_allocation_fails(run, cleanup, &c), 1); /* the tensor, one block with its data */
    /* into allocates nothing */
    ck_test_fail_after(0);
    ck_status st = ck_l2_normalize_into(c.x, 1, 1e-12, c.x);
    long n = ck_test_alloc_count();
    ck_test_alloc_reset();
    cr_expect_eq(st, CK_OK);
    cr_expect_eq(n, 0);
    ck_tensor_free(c.x);
}
