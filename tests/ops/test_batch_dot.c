/* batch_dot: numpy goldens over ranks x axes x dtypes, the worked examples
 * and Keras test cases of the spec, every error in Keras' order, and each
 * kernel path against an independent reference. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ckeras.h"
#include "ops/ops.h"
#include "support/support.h"

#define PAIR(a, b) ((ck_axes){2, {(a), (b)}})
#define ONE(a) ((ck_axes){1, {(a), 0}})
#define NONE ((ck_axes){0, {0, 0}})

static const ck_dtype all_dtypes[] = {CK_FLOAT32, CK_FLOAT64, CK_INT32, CK_INT64};
static const int all_paths[] = {CK_BD_PATH_AUTO, CK_BD_PATH_BLAS, CK_BD_PATH_AVX2,
                                CK_BD_PATH_PORTABLE, CK_BD_PATH_AVX512};
#define LAST_PATH (CK_BD_PATH_COUNT - 1)

/* ------------------------------------------------------------ helpers */

static ck_tensor *make(ck_dtype dt, int rank, const int64_t *shape, const double *v)
{
    ck_tensor *t = NULL;
    cr_assert_eq(ck_tensor_new(&t, dt, rank, shape), CK_OK, "%s", ck_last_error());
    for (int64_t i = 0; v && i < t->size; i++) {
        switch (dt) {
        case CK_FLOAT32: ((float *)t->data)[i] = (float)v[i]; break;
        case CK_FLOAT64: ((double *)t->data)[i] = v[i]; break;
        case CK_INT32: ((int32_t *)t->data)[i] = (int32_t)v[i]; break;
        case CK_INT64: ((int64_t *)t->data)[i] = (int64_t)v[i]; break;
        }
    }
    return t;
}

static ck_tensor *make_fill(ck_dtype dt, int rank, const int64_t *shape, double value)
{
    ck_tensor *t = make(dt, rank, shape, NULL);
    for (int64_t i = 0; i < t->size; i++) {
        switch (dt) {
        case CK_FLOAT32: ((float *)t->data)[i] = (float)value; break;
        case CK_FLOAT64: ((double *)t->data)[i] = value; break;
        case CK_INT32: ((int32_t *)t->data)[i] = (int32_t)value; break;
        case CK_INT64: ((int64_t *)t->data)[i] = (int64_t)value; break;
        }
    }
    return t;
}

/* Deterministic values: small integers for int dtypes, floats in [-1, 1). */
static ck_tensor *make_random(ck_dtype dt, int rank, const int64_t *shape, unsigned *seed)
{
    ck_tensor *t = make(dt, rank, shape, NULL);
    for (int64_t i = 0; i < t->size; i++) {
        *seed = *seed * 1664525u + 1013904223u;
        double u = (double)(*seed >> 8) / 16777216.0;   /* [0, 1) */
        switch (dt) {
        case CK_FLOAT32: ((float *)t->data)[i] = (float)(2 * u - 1); break;
        case CK_FLOAT64: ((double *)t->data)[i] = 2 * u - 1; break;
        case CK_INT32: ((int32_t *)t->data)[i] = (int32_t)(u * 11) - 5; break;
        case CK_INT64: ((int64_t *)t->data)[i] = (int64_t)(u * 11) - 5; break;
        }
    }
    return t;
}

static int same_shape(const ck_tensor *t, int rank, const int64_t *shape)
{
    if (t->rank != rank) return 0;
    for (int i = 0; i < rank; i++)
        if (t->shape[i] != shape[i]) return 0;
    return 1;
}

static const char *shape_of(const ck_tensor *t)
{
    static char buf[4][128];
    static int slot;
    char *b = buf[slot++ % 4];
    return ck_shape_str(b, 128, t->rank, t->shape);
}

/* The closed form of spec 1.4, written independently of the library:
 * out[b, I, J] = sum_k x[b, I with k at a0] * y[b, J with k at a1].
 * Also gives, per element, sum_k |x*y| (for a rounding-error bound). */
typedef struct ref_result {
    int rank;
    int64_t shape[16];
    int64_t size;
    double *val, *mag;
    int64_t *ival;
} ref_result;

static void strides_of(const ck_tensor *t, int64_t *st)
{
    int64_t s = 1;
    for (int i = t->rank - 1; i >= 0; i--) {
        st[i] = s;
        s *= t->shape[i];
    }
}

static ref_result reference(const ck_tensor *x, const ck_tensor *y, int a0, int a1)
{
    ref_result r = {0};
    int xk[8], yk[8], nxk = 0, nyk = 0;
    for (int i = 1; i < x->rank; i++)
        if (i != a0) xk[nxk++] = i;
    for (int j = 1; j < y->rank; j++)
        if (j != a1) yk[nyk++] = j;
    r.shape[r.rank++] = x->shape[0];
    for (int i = 0; i < nxk; i++) r.shape[r.rank++] = x->shape[xk[i]];
    for (int j = 0; j < nyk; j++) r.shape[r.rank++] = y->shape[yk[j]];
    int logical = r.rank;
    if (r.rank == 1) r.shape[r.rank++] = 1;
    r.size = 1;
    for (int i = 0; i < r.rank; i++) r.size *= r.shape[i];
    r.val = calloc((size_t)r.size + 1, sizeof *r.val);
    r.mag = calloc((size_t)r.size + 1, sizeof *r.mag);
    r.ival = calloc((size_t)r.size + 1, sizeof *r.ival);
    int64_t xst[8], yst[8];
    strides_of(x, xst);
    strides_of(y, yst);
    int64_t K = x->shape[a0];
    for (int64_t o = 0; o < r.size; o++) {
        int64_t idx[16], rem = o;
        for (int i = logical - 1; i >= 0; i--) {
            idx[i] = rem % r.shape[i];
            rem /= r.shape[i];
        }
        int64_t xo = idx[0] * xst[0], yo = idx[0] * yst[0];
        for (int i = 0; i < nxk; i++) xo += idx[1 + i] * xst[xk[i]];
        for (int j = 0; j < nyk; j++) yo += idx[1 + nxk + j] * yst[yk[j]];
        double s = 0, m = 0;
        uint64_t is = 0;
        for (int64_t k = 0; k < K; k++) {
            int64_t xi = xo + k * xst[a0], yi = yo + k * yst[a1];
            double p = ck_tensor_get(x, xi) * ck_tensor_get(y, yi);
            s += p;
            m += fabs(p);
            if (x->dtype == CK_INT32)
                is += (uint64_t)(int64_t)((int32_t *)x->data)[xi] *
                      (uint64_t)(int64_t)((int32_t *)y->data)[yi];
            else if (x->dtype == CK_INT64)
                is += (uint64_t)((int64_t *)x->data)[xi] * (uint64_t)((int64_t *)y->data)[yi];
        }
        r.val[o] = s;
        r.mag[o] = m;
        r.ival[o] = (int64_t)is;
    }
    return r;
}

static void ref_free(ref_result *r)
{
    free(r->val);
    free(r->mag);
    free(r->ival);
}

/* Compares `got` with the reference: ints exactly, floats within the
 * classic bound (K+2) * u * sum|x*y| (plus a tiny absolute slack). */
static int matches_ref(const ck_tensor *got, const ref_result *r, int64_t K, char *why, size_t n)
{
    if (!same_shape(got, r->rank, r->shape)) {
        char want[128];
        snprintf(why, n, "shape %s, expected %s", shape_of(got),
                 ck_shape_str(want, sizeof want, r->rank, r->shape));
        return 0;
    }
    double u = got->dtype == CK_FLOAT32 ? 6e-8 : 1.2e-16;
    for (int64_t i = 0; i < got->size; i++) {
        if (got->dtype == CK_INT32 || got->dtype == CK_INT64) {
            int64_t g = got->dtype == CK_INT32 ? ((int32_t *)got->data)[i]
                                               : ((int64_t *)got->data)[i];
            int64_t w = got->dtype == CK_INT32 ? (int32_t)r->ival[i] : r->ival[i];
            if (g != w) {
                snprintf(why, n, "element %lld is %lld, expected %lld", (long long)i,
                         (long long)g, (long long)w);
                return 0;
            }
        } else {
            double g = ck_tensor_get(got, i);
            double tol = (double)(K + 2) * u * r->mag[i] + 1e-300;
            if (!(fabs(g - r->val[i]) <= tol)) {
                snprintf(why, n, "element %lld is %.9g, expected %.9g", (long long)i, g,
                         r->val[i]);
                return 0;
            }
        }
    }
    return 1;
}

/* Compares against a golden tensor: ints exactly, floats within tol. */
static int matches_golden(const ck_tensor *got, const ck_tensor *want, char *why, size_t n)
{
    if (got->dtype != want->dtype) {
        snprintf(why, n, "dtype %s, expected %s", ck_dtype_name(got->dtype),
                 ck_dtype_name(want->dtype));
        return 0;
    }
    if (!same_shape(got, want->rank, want->shape)) {
        snprintf(why, n, "shape %s, expected %s", shape_of(got), shape_of(want));
        return 0;
    }
    double tol = got->dtype == CK_FLOAT32 ? 2e-6 : got->dtype == CK_FLOAT64 ? 1e-14 : 0;
    for (int64_t i = 0; i < got->size; i++) {
        int ok;
        if (got->dtype == CK_INT64)
            ok = ((int64_t *)got->data)[i] == ((int64_t *)want->data)[i];
        else if (got->dtype == CK_INT32)
            ok = ((int32_t *)got->data)[i] == ((int32_t *)want->data)[i];
        else
            ok = fabs(ck_tensor_get(got, i) - ck_tensor_get(want, i)) <= tol;
        if (!ok) {
            snprintf(why, n, "element %lld is %.17g, expected %.17g", (long long)i,
                     ck_tensor_get(got, i), ck_tensor_get(want, i));
            return 0;
        }
    }
    return 1;
}

static void expect_values(const ck_tensor *t, int rank, const int64_t *shape,
                          const double *v, const char *what)
{
    cr_assert(same_shape(t, rank, shape), "%s: shape %s", what, shape_of(t));
    for (int64_t i = 0; i < t->size; i++)
        cr_expect_eq(ck_tensor_get(t, i), v[i], "%s: element %lld is %g, expected %g", what,
                     (long long)i, ck_tensor_get(t, i), v[i]);
}

/* ------------------------------------------------------ numpy goldens */

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
    int ok = matches_golden(got, want, why, sizeof why);
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
        ck_tensor *into = make(dtype, want->rank, want->shape, NULL);
        char why[256];
        ck_status st = ck_batch_dot_into(x, y, PAIR(a0, a1), into);
        if (st != CK_OK || !matches_golden(into, want, why, sizeof why)) {
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

typedef struct shape_case {
    int xr, yr;
    int64_t xs[5], ys[5];
    ck_axes axes;
} shape_case;

/* Shapes chosen to hit every branch of the dispatch and the edges of the
 * register blocks (M, N around 1, 4, 6, 8, 16; K around 8 and 4) and of
 * the AVX-512 ones (rows of dots in blocks of 16, 8 and 4 with the last
 * block shifted back; nn row blocks of up to 12, 8 and 6; column panels
 * of 64, or 48 past K = 128, with partial last vectors; K around 16). */
static const shape_case path_cases[] = {
    /* (b, M, K) . (b, K, N): A and B as stored */
    {3, 3, {3, 10, 64}, {3, 64, 10}, NONE},
    {3, 3, {2, 7, 9}, {2, 9, 17}, NONE},
    {3, 3, {2, 6, 8}, {2, 8, 16}, NONE},
    {3, 3, {2, 13, 33}, {2, 33, 5}, NONE},
    {3, 3, {1, 64, 64}, {1, 64, 64}, NONE},
    {3, 3, {2, 40, 130}, {2, 130, 24}, NONE},
    {3, 3, {2, 13, 130}, {2, 130, 40}, NONE},     /* 48-wide panels, 7 + 6 rows */
    {3, 3, {2, 7, 20}, {2, 20, 70}, NONE},        /* 64 + 6 columns */
    {3, 3, {2, 25, 17}, {2, 17, 3}, NONE},        /* N < 16: masked last rows of B */
    {3, 3, {2, 1, 7}, {2, 7, 21}, NONE},          /* M == 1: vector x matrix */
    {3, 3, {2, 1, 33}, {2, 33, 70}, NONE},        /* odd K, two sets of sums */
    {3, 3, {2, 19, 7}, {2, 7, 1}, NONE},          /* N == 1: matrix x vector */
    {3, 3, {5, 1, 67}, {5, 67, 1}, NONE},         /* M == N == 1 */
    {2, 2, {37, 67}, {37, 67}, ONE(1)},           /* row-wise dot */
    {2, 2, {9, 8}, {9, 8}, ONE(-1)},
    {2, 2, {5, 40}, {5, 40}, ONE(1)},             /* 4 + shifted 4 rows */
    {2, 2, {3, 33}, {3, 33}, ONE(1)},             /* rows one by one */
    {3, 2, {3, 10, 64}, {3, 64}, NONE},           /* 10 rows . one vector */
    {3, 2, {4, 9, 13}, {4, 13}, NONE},            /* (b,M,K).(b,K) */
    {2, 3, {4, 13}, {4, 13, 11}, PAIR(1, 1)},     /* (b,K).(b,K,N) */
    /* A stored (K, M) */
    {3, 3, {3, 64, 10}, {3, 64, 10}, ONE(1)},
    {3, 3, {2, 9, 14}, {2, 9, 3}, ONE(1)},
    {3, 2, {3, 11, 6}, {3, 11}, PAIR(1, 1)},      /* N == 1 with A transposed */
    /* B stored (N, K) */
    {3, 3, {3, 10, 64}, {3, 10, 64}, ONE(2)},
    {3, 3, {2, 5, 11}, {2, 7, 11}, ONE(2)},
    {2, 3, {3, 12}, {3, 9, 12}, PAIR(1, 2)},      /* M == 1 with B transposed */
    {3, 3, {2, 20, 9}, {2, 13, 9}, ONE(2)},       /* K <= M: B^T copied */
    {3, 3, {2, 6, 35}, {2, 18, 35}, ONE(2)},      /* 4 + 2 by 4 + 4 + ... blocks */
    /* both transposed */
    {3, 3, {2, 9, 6}, {2, 7, 9}, PAIR(1, 2)},     /* M <= K: (B A)^T */
    {3, 3, {2, 4, 30}, {2, 5, 4}, PAIR(1, 2)},    /* M > K: B copied */
    {3, 3, {1, 64, 64}, {1, 64, 64}, PAIR(1, 2)},
    /* contracted axis in the middle: permuted copies */
    {4, 4, {2, 3, 5, 4}, {2, 2, 5, 3}, PAIR(2, 2)},
    {4, 3, {2, 6, 9, 7}, {2, 9, 5}, PAIR(2, 1)},
    {3, 4, {2, 6, 9}, {2, 4, 9, 3}, PAIR(2, 2)},
    {5, 5, {2, 2, 3, 4, 3}, {2, 3, 2, 4, 2}, PAIR(3, 3)},
};

static void check_paths(ck_dtype dt, int first_path, int last_path)
{
    unsigned seed = 12345;
    int failures = 0;
    for (size_t c = 0; c < sizeof path_cases / sizeof path_cases[0]; c++) {
        const shape_case *sc = &path_cases[c];
        ck_tensor *x = make_random(dt, sc->xr, sc->xs, &seed);
        ck_tensor *y = make_random(dt, sc->yr, sc->ys, &seed);
        int a[2], rank;
        int64_t shape[CK_MAX_RANK];
        cr_assert_eq(ck_batch_dot_shape(x->rank, x->shape, y->rank, y->shape, sc->axes, a,
                                        &rank, shape), CK_OK, "%s", ck_last_error());
        ref_result r = reference(x, y, a[0], a[1]);
        for (int p = first_path; p <= last_path; p++) {
            ck_bd_path = p;
            ck_tensor *got = NULL;
            char why[256];
            ck_status st = ck_batch_dot(x, y, sc->axes, &got);
            if (st != CK_OK || !matches_ref(got, &r, x->shape[a[0]], why, sizeof why)) {
                cr_log_error("%s %s . %s axes (%d, %d) path %d: %s", ck_dtype_name(dt),
                             shape_of(x), shape_of(y), a[0], a[1], p,
                             st != CK_OK ? ck_last_error() : why);
                failures++;
            }
            ck_tensor_free(got);
        }
        ck_bd_path = CK_BD_PATH_AUTO;
        ref_free(&r);
        ck_tensor_free(x);
        ck_tensor_free(y);
    }
    cr_expect_eq(failures, 0, "%d failures (see the log)", failures);
}

Test(batch_dot_paths, float32_every_path) { check_paths(CK_FLOAT32, CK_BD_PATH_AUTO, LAST_PATH); }
Test(batch_dot_paths, float64_every_path) { check_paths(CK_FLOAT64, CK_BD_PATH_AUTO, LAST_PATH); }
Test(batch_dot_paths, int32) { check_paths(CK_INT32, CK_BD_PATH_AUTO, CK_BD_PATH_AUTO); }
Test(batch_dot_paths, int64) { check_paths(CK_INT64, CK_BD_PATH_AUTO, CK_BD_PATH_AUTO); }

/* A row of a product must not depend on how many rows are computed with
 * it (a layer gives the same numbers for any batch size): the AVX-512 and
 * portable kernels compute every element the same way in any block.  Each
 * row computed alone is compared bit for bit with the same row inside the
 * whole product: matrix products (K long enough to be cut into slices)
 * and row-wise dots. */
Test(batch_dot_paths, rows_do_not_depend_on_the_batch_size)
{
    static const int paths[] = {CK_BD_PATH_AVX512, CK_BD_PATH_PORTABLE};
    enum { M = 23, N = 37, K = 300, R = 37, D = 27 };   /* D: odd vector counts */
    unsigned seed = 99;
    int64_t as[] = {M, K}, bs[] = {K, N}, vs[] = {R, D};
    for (size_t d = 0; d < 2; d++) {
        ck_dtype dt = d ? CK_FLOAT64 : CK_FLOAT32;
        size_t es = d ? 8 : 4;
        ck_tensor *a = make_random(dt, 2, as, &seed), *b = make_random(dt, 2, bs, &seed);
        ck_tensor *x = make_random(dt, 2, vs, &seed), *y = make_random(dt, 2, vs, &seed);
        for (size_t p = 0; p < sizeof paths / sizeof paths[0]; p++) {
            ck_bd_path = paths[p];
            char all[M * N * 8], one[N * 8], dots[R * 8], dot1[8];
            if (d) ck_matmul_f64(M, N, K, a->data, b->data, (double *)all);
            else ck_matmul_f32(M, N, K, a->data, b->data, (float *)all);
            for (int64_t i = 0; i < M; i++) {
                const char *ai = (const char *)a->data + (size_t)(i * K) * es;
                if (d) ck_matmul_f64(1, N, K, (const double *)ai, b->data, (double *)one);
                else ck_matmul_f32(1, N, K, (const float *)ai, b->data, (float *)one);
                cr_expect(memcmp(one, all + (size_t)(i * N) * es, (size_t)N * es) == 0,
                          "%s path %d: row %lld of a %dx%dx%d product differs when alone",
                          ck_dtype_name(dt), paths[p], (long long)i, M, K, N);
            }
            ck_tensor *out = NULL;
            cr_assert_eq(ck_batch_dot(x, y, ONE(1), &out), CK_OK, "%s", ck_last_error());
            memcpy(dots, out->data, (size_t)R * es);
            ck_tensor_free(out);
            for (int64_t i = 0; i < R; i++) {
                int64_t s1[] = {1, D};
                ck_tensor *xi = make(dt, 2, s1, NULL), *yi = make(dt, 2, s1, NULL);
                memcpy(xi->data, (const char *)x->data + (size_t)(i * D) * es, (size_t)D * es);
                memcpy(yi->data, (const char *)y->data + (size_t)(i * D) * es, (size_t)D * es);
                cr_assert_eq(ck_batch_dot(xi, yi, ONE(1), &out), CK_OK, "%s", ck_last_error());
                memcpy(dot1, out->data, es);
                cr_expect(memcmp(dot1, dots + (size_t)i * es, es) == 0,
                          "%s path %d: dot of row %lld differs when alone", ck_dtype_name(dt),
                          paths[p], (long long)i);
                ck_tensor_free(out);
                ck_tensor_free(xi);
                ck_tensor_free(yi);
            }
        }
        ck_bd_path = CK_BD_PATH_AUTO;
        ck_tensor_free(a);
        ck_tensor_free(b);
        ck_tensor_free(x);
        ck_tensor_free(y);
    }
}

Test(batch_dot_paths, zero_sized_dims)
{
    for (size_t d = 0; d < 4; d++) {
        /* K == 0: every output element is an empty sum */
        int64_t xs[] = {2, 3, 0}, ys[] = {2, 0, 4};
        ck_tensor *x = make(all_dtypes[d], 3, xs, NULL), *y = make(all_dtypes[d], 3, ys, NULL);
        ck_tensor *out = NULL;
        cr_assert_eq(ck_batch_dot(x, y, NONE, &out), CK_OK, "%s", ck_last_error());
        int64_t os[] = {2, 3, 4};
        double zeros[24] = {0};
        expect_values(out, 3, os, zeros, "K == 0");
        ck_tensor_free(out);
        ck_tensor_free(x);
        ck_tensor_free(y);
        /* batch 0 */
        int64_t xb[] = {0, 3, 2}, yb[] = {0, 2, 4};
        x = make(all_dtypes[d], 3, xb, NULL);
        y = make(all_dtypes[d], 3, yb, NULL);
        cr_assert_eq(ck_batch_dot(x, y, NONE, &out), CK_OK, "%s", ck_last_error());
        int64_t ob[] = {0, 3, 4};
        cr_expect(same_shape(out, 3, ob), "%s", shape_of(out));
        ck_tensor_free(out);
        ck_tensor_free(x);
        ck_tensor_free(y);
    }
}

Test(batch_dot_paths, int32_wraps_like_numpy)
{
    /* numpy: (np.array([[65536, 65536]], np.int32) @ same.T) wraps to 0
     * (2^33 mod 2^32), and 46341*46341 = 2147488281 wraps to -2147479015. */
    int64_t s[] = {1, 2};
    double big[] = {65536, 65536};
    ck_tensor *x = make(CK_INT32, 2, s, big), *out = NULL;
    cr_assert_eq(ck_batch_dot(x, x, ONE(1), &out), CK_OK);
    cr_expect_eq(((int32_t *)out->data)[0], 0);
    ck_tensor_free(out);
    ck_tensor_free(x);
    int64_t s1[] = {1, 1};
    double v[] = {46341};
    x = make(CK_INT32, 2, s1, v);
    cr_assert_eq(ck_batch_dot(x, x, ONE(1), &out), CK_OK);
    cr_expect_eq(((int32_t *)out->data)[0], -2147479015);
    ck_tensor_free(out);
    ck_tensor_free(x);
    /* int64 stays exact where int32 would wrap */
    x = make(CK_INT64, 2, s, big);
    cr_assert_eq(ck_batch_dot(x, x, ONE(1), &out), CK_OK);
    cr_expect_eq(((int64_t *)out->data)[0], 8589934592LL);
    ck_tensor_free(out);
    ck_tensor_free(x);
}

/* ------------------------------------------ spec 1.5 worked examples */

Test(batch_dot_examples, rank2_docstring)
{
    int64_t s[] = {2, 2}, os[] = {2, 1};
    double xv[] = {1, 2, 3, 4}, yv[] = {5, 6, 7, 8}, want[] = {17, 53};
    for (size_t d = 0; d < 4; d++) {
        ck_tensor *x = make(all_dtypes[d], 2, s, xv), *y = make(all_dtypes[d], 2, s, yv);
        ck_tensor *out = NULL;
        cr_assert_eq(ck_batch_dot(x, y, ONE(1), &out), CK_OK, "%s", ck_last_error());
        cr_expect_eq(out->dtype, all_dtypes[d]);
        expect_values(out, 2, os, want, "docstring axes=1");
        ck_tensor_free(out);
        cr_assert_eq(ck_batch_dot(x, y, NONE, &out), CK_OK);   /* None -> [1, 1] */
        expect_values(out, 2, os, want, "docstring axes=None");
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
        ck_tensor *x = make(all_dtypes[d], 3, s, xv), *y = make(all_dtypes[d], 3, s, yv);
        for (size_t e = 0; e < sizeof ex / sizeof ex[0]; e++) {
            ck_tensor *out = NULL;
            cr_assert_eq(ck_batch_dot(x, y, ex[e].axes, &out), CK_OK, "%s", ck_last_error());
            expect_values(out, 3, s, ex[e].want, ex[e].what);
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
    ck_tensor *x = make(CK_INT64, 3, xs, xv), *y = make(CK_INT64, 3, ys, yv), *out = NULL;
    cr_assert_eq(ck_batch_dot(x, y, PAIR(1, 2), &out), CK_OK);
    cr_expect_eq(out->dtype, CK_INT64);
    expect_values(out, 3, os, want, "Dot seed");
    ck_tensor_free(out);
    ck_tensor_free(x);
    ck_tensor_free(y);
}

Test(batch_dot_examples, docstring_shapes)
{
    int64_t xs[] = {32, 20, 1}, ys[] = {32, 30, 20};
    ck_tensor *x = make_fill(CK_FLOAT32, 3, xs, 1), *y = make_fill(CK_FLOAT32, 3, ys, 1);
    ck_tensor *out = NULL;
    cr_assert_eq(ck_batch_dot(x, y, PAIR(1, 2), &out), CK_OK, "%s", ck_last_error());
    int64_t os[] = {32, 1, 30};
    cr_assert(same_shape(out, 3, os), "%s", shape_of(out));
    for (int64_t i = 0; i < out->size; i++) cr_expect_eq(((float *)out->data)[i], 20.0f);
    ck_tensor_free(out);
    ck_tensor_free(x);
    ck_tensor_free(y);

    int64_t xs2[] = {100, 20}, ys2[] = {100, 30, 20};
    x = make_fill(CK_FLOAT64, 2, xs2, 1);
    y = make_fill(CK_FLOAT64, 3, ys2, 1);
    cr_assert_eq(ck_batch_dot(x, y, PAIR(1, 2), &out), CK_OK, "%s", ck_last_error());
    int64_t os2[] = {100, 30};
    cr_assert(same_shape(out, 2, os2), "%s", shape_of(out));
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
        ck_tensor *x = make_random(CK_FLOAT32, kc->xr, kc->xs, &seed);
        ck_tensor *y = make_random(CK_FLOAT32, kc->yr, kc->ys, &seed);
        ck_tensor *out = NULL;
        cr_assert_eq(ck_batch_dot(x, y, kc->axes, &out), CK_OK, "%s: %s", kc->src,
                     ck_last_error());
        ref_result r = reference(x, y, a[0], a[1]);
        char why[256];
        cr_expect(matches_ref(out, &r, x->shape[a[0]], why, sizeof why), "%s: %s", kc->src, why);
        ref_free(&r);
        ck_tensor_free(out);
        ck_tensor_free(x);
        ck_tensor_free(y);
    }
}

Test(batch_dot_keras, legacy_ones_case)
{
    /* A4.1: ones(32,20) . ones(32,20), axes 1 -> 20 * ones(32,1) */
    int64_t s[] = {32, 20}, os[] = {32, 1};
    ck_tensor *x = make_fill(CK_FLOAT32, 2, s, 1), *out = NULL;
    cr_assert_eq(ck_batch_dot(x, x, ONE(1), &out), CK_OK);
    double want[32];
    for (int i = 0; i < 32; i++) want[i] = 20;
    expect_values(out, 2, os, want, "A4.1");
    ck_tensor_free(out);
    ck_tensor_free(x);
}

/* ---------------------------------------------------------- errors */

/* Expects ck_batch_dot_shape to fail with a value error whose message
 * contains every fragment given. */
static void expect_shape_error(const char *what, int xr, const int64_t *xs, int yr,
                               const int64_t *ys, ck_axes axes, const char *frag1,
                               const char *frag2)
{
    int a[2] = {-7, -7}, rank = -7;
    int64_t shape[CK_MAX_RANK] = {-7};
    ck_status st = ck_batch_dot_shape(xr, xs, yr, ys, axes, a, &rank, shape);
    cr_expect_eq(st, CK_VALUE_ERROR, "%s: got %s (%s)", what, ck_status_name(st), ck_last_error());
    cr_expect(strstr(ck_last_error(), frag1) != NULL, "%s: message '%s' lacks '%s'", what,
              ck_last_error(), frag1);
    if (frag2)
        cr_expect(strstr(ck_last_error(), frag2) != NULL, "%s: message '%s' lacks '%s'", what,
                  ck_last_error(), frag2);
    cr_expect(a[0] == -7 && rank == -7 && shape[0] == -7, "%s: outputs touched", what);
}

#define RANK_MSG "rank < 2"
#define BATCH_MSG "different batch sizes"
#define FORM_MSG "Multiple target dimensions are not supported"
#define AXIS0_MSG "over axis 0"
#define RANGE_MSG "out of range"

Test(batch_dot_errors, keras_a6_cases)
{
    int64_t s4[] = {4}, s42[] = {4, 2}, s52[] = {5, 2}, s423[] = {4, 2, 3}, s432[] = {4, 3, 2},
            s424[] = {4, 2, 4};
    expect_shape_error("A6.1", 1, s4, 2, s42, ONE(1), RANK_MSG, "(4,) and (4, 2)");
    expect_shape_error("A6.1 y", 2, s42, 1, s4, ONE(1), RANK_MSG, NULL);
    expect_shape_error("A6.2", 2, s42, 2, s52, ONE(1), BATCH_MSG, "(4, 2) and (5, 2)");
    expect_shape_error("A6.3", 3, s423, 3, s432, (ck_axes){3, {1, 2}}, FORM_MSG, "(4, 2, 3)");
    expect_shape_error("A6.3 count -1", 3, s423, 3, s432, (ck_axes){-1, {1, 2}}, FORM_MSG, NULL);
    expect_shape_error("A6.4", 3, s423, 3, s423, ONE(0), AXIS0_MSG, "expand_dims");
    expect_shape_error("A6.5", 3, s423, 3, s432, PAIR(0, 1), AXIS0_MSG, "(4, 2, 3) and (4, 3, 2)");
    expect_shape_error("A6.5 y", 3, s423, 3, s432, PAIR(1, 0), AXIS0_MSG, NULL);
    expect_shape_error("A6.6", 3, s423, 3, s432, PAIR(-3, 1), AXIS0_MSG, NULL);
    expect_shape_error("A6.7", 3, s423, 3, s424, ONE(2), "x.shape[2] != y.shape[2] (3 != 4)",
                       "(4, 2, 3) and (4, 2, 4)");
    int64_t n23[] = {-1, 2, 3}, n24[] = {-1, 2, 4};
    expect_shape_error("A6.8", 3, n23, 3, n24, ONE(2), "x.shape[2] != y.shape[2] (3 != 4)",
                       "(None, 2, 3) and (None, 2, 4)");
    /* A6.9: an unknown contracted dim is not checked statically */
    int64_t nn[] = {-1, -1}, n4[] = {-1, 4};
    int rank;
    int64_t shape[CK_MAX_RANK];
    cr_expect_eq(ck_batch_dot_shape(2, nn, 2, n4, ONE(1), NULL, &rank, shape), CK_OK);
    cr_expect(rank == 2 && shape[0] == -1 && shape[1] == 1);
    /* A4.2-4 under K2.3+ rules */
    int64_t s3220[] = {32, 20}, s2032[] = {20, 32};
    expect_shape_error("A4.2", 2, s3220, 2, s3220, ONE(0), AXIS0_MSG, NULL);
    expect_shape_error("A4.3", 2, s3220, 2, s2032, PAIR(0, 1), BATCH_MSG, NULL);
    expect_shape_error("A4.4", 2, s3220, 2, s2032, PAIR(1, 0), BATCH_MSG, NULL);
}

Test(batch_dot_errors, out_of_range_axes_are_value_errors)
{
    int64_t s423[] = {4, 2, 3}, s432[] = {4, 3, 2};
    expect_shape_error("axis = rank", 3, s423, 3, s432, PAIR(3, 1), RANGE_MSG, "axis 3 of x");
    expect_shape_error("y axis = rank", 3, s423, 3, s432, PAIR(1, 3), RANGE_MSG, "axis 3 of y");
    /* wrapped once: -5 + 3 = -2 stays negative and is caught here */
    expect_shape_error("axis < -rank", 3, s423, 3, s432, PAIR(-5, 1), RANGE_MSG, "axis -5");
    expect_shape_error("int axis too big", 3, s423, 3, s432, ONE(7), RANGE_MSG, NULL);
    expect_shape_error("y axis < -rank", 3, s423, 3, s432, PAIR(1, -4), RANGE_MSG, "of y");
}

Test(batch_dot_errors, which_error_wins)
{
    int64_t s4[] = {4}, s52[] = {5, 2}, s42[] = {4, 2}, s423[] = {4, 2, 3}, s523[] = {5, 2, 3},
            s424[] = {4, 2, 4};
    /* rank before batch */
    expect_shape_error("rank vs batch", 1, s4, 2, s52, ONE(1), RANK_MSG, NULL);
    /* batch before the axes form, axis 0, range and dims */
    expect_shape_error("batch vs form", 2, s42, 2, s52, (ck_axes){5, {0, 0}}, BATCH_MSG, NULL);
    expect_shape_error("batch vs axis 0", 3, s423, 3, s523, ONE(0), BATCH_MSG, NULL);
    expect_shape_error("batch vs range", 3, s423, 3, s523, ONE(9), BATCH_MSG, NULL);
    /* form before axis 0 */
    expect_shape_error("form vs axis 0", 3, s423, 3, s424, (ck_axes){3, {0, 0}}, FORM_MSG, NULL);
    /* axis 0 before an out-of-range axis and before dims */
    expect_shape_error("axis 0 vs range", 3, s423, 3, s424, PAIR(0, 9), AXIS0_MSG, NULL);
    expect_shape_error("range vs axis 0", 3, s423, 3, s424, PAIR(9, 0), AXIS0_MSG, NULL);
    expect_shape_error("axis 0 vs dims", 3, s423, 3, s424, PAIR(2, 0), AXIS0_MSG, NULL);
    /* range before dims */
    expect_shape_error("range vs dims", 3, s423, 3, s424, PAIR(2, 5), RANGE_MSG, NULL);
    /* unknown batch dims are not compared */
    int64_t n23[] = {-1, 2, 3}, s73[] = {7, 3, 4};
    int rank, a[2];
    int64_t shape[CK_MAX_RANK];
    cr_expect_eq(ck_batch_dot_shape(3, n23, 3, s73, PAIR(2, 1), a, &rank, shape), CK_OK,
                 "%s", ck_last_error());
    cr_expect(rank == 3 && shape[0] == 7 && shape[1] == 2 && shape[2] == 4);
}

Test(batch_dot_errors, ranks_beyond_the_limit)
{
    int64_t s9[9] = {2, 2, 2, 2, 2, 2, 2, 2, 2};
    expect_shape_error("rank 9", 9, s9, 2, s9, ONE(1), "rank 2 to 8", NULL);
    /* rank 6 x rank 6 would give rank 9 */
    expect_shape_error("output rank 9", 6, s9, 6, s9, PAIR(5, 1), "rank 9", NULL);
    int rank;
    int64_t shape[CK_MAX_RANK];
    cr_expect_eq(ck_batch_dot_shape(6, s9, 5, s9, PAIR(5, 1), NULL, &rank, shape), CK_OK);
    cr_expect_eq(rank, 8);
    cr_expect_eq(ck_batch_dot_shape(2, NULL, 2, s9, ONE(1), NULL, &rank, shape), CK_VALUE_ERROR);
}

Test(batch_dot_errors, unknown_dims_in_shape_inference)
{
    int rank, a[2];
    int64_t shape[CK_MAX_RANK];
    /* A3 with only ndim known: every dim unknown */
    int64_t u4[] = {-1, -1, -1, -1}, u3[] = {-1, -1, -1};
    cr_assert_eq(ck_batch_dot_shape(4, u4, 4, u4, PAIR(2, 3), a, &rank, shape), CK_OK);
    cr_expect_eq(rank, 5);
    for (int i = 0; i < 5; i++) cr_expect_eq(shape[i], -1);
    cr_expect(a[0] == 2 && a[1] == 3);
    cr_assert_eq(ck_batch_dot_shape(4, u4, 3, u3, ONE(-1), a, &rank, shape), CK_OK);
    cr_expect(a[0] == 3 && a[1] == 2);
    /* the known dims stay where they belong */
    int64_t xs[] = {-1, 3, -1, 5}, ys[] = {-1, 5, 6};
    cr_assert_eq(ck_batch_dot_shape(4, xs, 3, ys, NONE, a, &rank, shape), CK_OK, "%s",
                 ck_last_error());
    cr_expect(a[0] == 3 && a[1] == 1, "default axes (%d, %d)", a[0], a[1]);
    cr_expect(rank == 4 && shape[0] == -1 && shape[1] == 3 && shape[2] == -1 && shape[3] == 6);
    /* None defaults: rank-2 y gives (xr-1, 1) */
    int64_t x2[] = {-1, 4}, y2[] = {-1, 4};
    cr_assert_eq(ck_batch_dot_shape(2, x2, 2, y2, NONE, a, &rank, shape), CK_OK);
    cr_expect(a[0] == 1 && a[1] == 1 && rank == 2 && shape[1] == 1);
}

Test(batch_dot_errors, dtypes_and_data)
{
    int64_t s[] = {2, 3};
    ck_tensor *f = make_fill(CK_FLOAT32, 2, s, 1), *d = make_fill(CK_FLOAT64, 2, s, 1);
    ck_tensor *i = make_fill(CK_INT32, 2, s, 1), *out = (ck_tensor *)0x1;
    cr_expect_eq(ck_batch_dot(f, d, ONE(1), &out), CK_TYPE_ERROR);
    cr_expect(strstr(ck_last_error(), "float32") && strstr(ck_last_error(), "float64"), "%s",
              ck_last_error());
    cr_expect_eq(ck_batch_dot(i, f, ONE(1), &out), CK_TYPE_ERROR);
    /* a shape error is reported before a dtype mismatch, as in Keras */
    cr_expect_eq(ck_batch_dot(f, d, ONE(0), &out), CK_VALUE_ERROR);
    /* symbolic tensors have no data */
    ck_tensor sym = *f;
    sym.data = NULL;
    cr_expect_eq(ck_batch_dot(&sym, f, ONE(1), &out), CK_VALUE_ERROR);
    cr_expect(strstr(ck_last_error(), "data"), "%s", ck_last_error());
    sym.shape[0] = -1;
    cr_expect_eq(ck_batch_dot(f, &sym, ONE(1), &out), CK_VALUE_ERROR);
    cr_expect_eq(ck_batch_dot(NULL, f, ONE(1), &out), CK_VALUE_ERROR);
    cr_expect_eq(ck_batch_dot(f, f, ONE(1), NULL), CK_VALUE_ERROR);
    cr_expect_eq(out, (ck_tensor *)0x1, "output untouched on error");
    ck_tensor_free(f);
    ck_tensor_free(d);
    ck_tensor_free(i);
}

Test(batch_dot_errors, into_checks_the_output)
{
    int64_t xs[] = {2, 3, 4}, ys[] = {2, 4, 5}, os[] = {2, 3, 5}, bad[] = {2, 5, 3};
    ck_tensor *x = make_fill(CK_FLOAT32, 3, xs, 1), *y = make_fill(CK_FLOAT32, 3, ys, 1);
    ck_tensor *wrong_shape = make_fill(CK_FLOAT32, 3, bad, -3);
    ck_tensor *wrong_dtype = make_fill(CK_FLOAT64, 3, os, -3);
    ck_tensor *wrong_rank = make_fill(CK_FLOAT32, 2, os, -3);
    cr_expect_eq(ck_batch_dot_into(x, y, NONE, wrong_shape), CK_VALUE_ERROR);
    cr_expect(strstr(ck_last_error(), "(2, 5, 3)") && strstr(ck_last_error(), "(2, 3, 5)"),
              "%s", ck_last_error());
    cr_expect_eq(ck_batch_dot_into(x, y, NONE, wrong_dtype), CK_VALUE_ERROR);
    cr_expect(strstr(ck_last_error(), "float64"), "%s", ck_last_error());
    cr_expect_eq(ck_batch_dot_into(x, y, NONE, wrong_rank), CK_VALUE_ERROR);
    cr_expect_eq(ck_batch_dot_into(x, y, NONE, NULL), CK_VALUE_ERROR);
    for (int64_t i = 0; i < wrong_shape->size; i++)
        cr_expect_eq(((float *)wrong_shape->data)[i], -3.0f, "output untouched");
    /* output sharing an input's memory */
    int64_t sq[] = {2, 4, 4};
    ck_tensor *q = make_fill(CK_FLOAT32, 3, sq, 1);
    cr_expect_eq(ck_batch_dot_into(q, q, NONE, q), CK_VALUE_ERROR);
    /* an output without data */
    ck_tensor *ok = make(CK_FLOAT32, 3, os, NULL);
    ck_tensor nodata = *ok;
    nodata.data = NULL;
    cr_expect_eq(ck_batch_dot_into(x, y, NONE, &nodata), CK_VALUE_ERROR);
    cr_expect_eq(ck_batch_dot_into(x, y, NONE, ok), CK_OK, "%s", ck_last_error());
    for (int64_t i = 0; i < ok->size; i++) cr_expect_eq(((float *)ok->data)[i], 4.0f);
    ck_tensor_free(ok);
    ck_tensor_free(q);
    ck_tensor_free(x);
    ck_tensor_free(y);
    ck_tensor_free(wrong_shape);
    ck_tensor_free(wrong_dtype);
    ck_tensor_free(wrong_rank);
}

/* ------------------------------------------------------- allocation */

Test(batch_dot_alloc, into_allocates_nothing_without_a_permutation)
{
    unsigned seed = 3;
    static const shape_case cases[] = {
        {3, 3, {4, 10, 16}, {4, 16, 10}, NONE},
        {3, 3, {4, 16, 10}, {4, 10, 16}, PAIR(1, 2)},   /* both transposed */
        {3, 3, {4, 10, 16}, {4, 10, 16}, ONE(2)},
        {2, 2, {64, 32}, {64, 32}, ONE(1)},
        {4, 3, {2, 3, 4, 5}, {2, 5, 6}, NONE},          /* rank 4, last axis */
        {4, 4, {2, 5, 3, 4}, {2, 5, 6, 7}, PAIR(1, 1)}, /* first axes */
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        for (size_t d = 0; d < 4; d++) {
            for (int p = CK_BD_PATH_AUTO; p <= LAST_PATH; p++) {
                ck_tensor *x = make_random(all_dtypes[d], cases[c].xr, cases[c].xs, &seed);
                ck_tensor *y = make_random(all_dtypes[d], cases[c].yr, cases[c].ys, &seed);
                int rank;
                int64_t shape[CK_MAX_RANK];
                cr_assert_eq(ck_batch_dot_shape(x->rank, x->shape, y->rank, y->shape,
                                                cases[c].axes, NULL, &rank, shape), CK_OK);
                ck_tensor *out = make(all_dtypes[d], rank, shape, NULL);
                ck_bd_path = p;
                ck_test_fail_after(0);
                ck_status st = ck_batch_dot_into(x, y, cases[c].axes, out);
                long count = ck_test_alloc_count();
                ck_test_alloc_reset();
                ck_bd_path = CK_BD_PATH_AUTO;
                cr_expect_eq(st, CK_OK, "case %zu dtype %zu path %d: %s", c, d, p,
                             ck_last_error());
                cr_expect_eq(count, 0, "case %zu made %ld allocations", c, count);
                ck_tensor_free(out);
                ck_tensor_free(x);
                ck_tensor_free(y);
            }
        }
    }
}

typedef struct alloc_ctx {
    ck_tensor *x, *y, *out;
    ck_axes axes;
} alloc_ctx;

static ck_status run_alloc(void *p)
{
    alloc_ctx *c = p;
    return ck_batch_dot(c->x, c->y, c->axes, &c->out);
}

static void free_alloc(void *p)
{
    alloc_ctx *c = p;
    ck_tensor_free(c->out);
    c->out = NULL;
}

Test(batch_dot_alloc, every_allocation_fails_with_permuted_copies)
{
    unsigned seed = 5;
    int64_t xs[] = {2, 3, 5, 4}, ys[] = {2, 2, 5, 3};
    for (size_t d = 0; d < 4; d++) {
        alloc_ctx c = {make_random(all_dtypes[d], 4, xs, &seed),
                       make_random(all_dtypes[d], 4, ys, &seed), NULL, PAIR(2, 2)};
        long points = ck_test_every_allocation_fails(run_alloc, free_alloc, &c);
        /* the tensor (one block with its data) and one copy per input */
        cr_expect_geq(points, 3, "only %ld allocations", points);
        /* and the result is still right */
        ck_tensor *out = NULL;
        cr_assert_eq(ck_batch_dot(c.x, c.y, c.axes, &out), CK_OK);
        ref_result r = reference(c.x, c.y, 2, 2);
        char why[256];
        cr_expect(matches_ref(out, &r, 5, why, sizeof why), "%s", why);
        ref_free(&r);
        ck_tensor_free(out);
        ck_tensor_free(c.x);
        ck_tensor_free(c.y);
    }
}

Test(batch_dot_alloc, into_with_a_permutation_reports_oom)
{
    int64_t xs[] = {2, 3, 5, 4}, ys[] = {2, 5, 3}, os[] = {2, 3, 4, 3};
    ck_tensor *x = make_fill(CK_FLOAT32, 4, xs, 1), *y = make_fill(CK_FLOAT32, 3, ys, 1);
    ck_tensor *out = make_fill(CK_FLOAT32, 4, os, -1);
    ck_test_fail_after(0);
    ck_status st = ck_batch_dot_into(x, y, PAIR(2, 1), out);
    long live = ck_test_alloc_live();
    ck_test_alloc_reset();
    cr_expect_eq(st, CK_OUT_OF_MEMORY, "%s", ck_status_name(st));
    cr_expect_eq(live, 0);
    for (int64_t i = 0; i < out->size; i++) cr_expect_eq(((float *)out->data)[i], -1.0f);
    cr_expect_eq(ck_batch_dot_into(x, y, PAIR(2, 1), out), CK_OK);
    for (int64_t i = 0; i < out->size; i++) cr_expect_eq(((float *)out->data)[i], 5.0f);
    ck_tensor_free(x);
    ck_tensor_free(y);
    ck_tensor_free(out);
}
