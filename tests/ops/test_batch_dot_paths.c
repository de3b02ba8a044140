/* batch_dot kernel paths: each path against the independent reference of
 * support/batch_dot_check.c, rows independent of the batch size, zero-sized
 * dims, int32 wrap-around, and allocations (none into a given output, every
 * failure handled with permuted copies). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ckeras.h"
#include "ops/ops.h"
#include "support/batch_dot_check.h"
#include "support/support.h"

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
        ck_tensor *x = bd_make_random(dt, sc->xr, sc->xs, &seed);
        ck_tensor *y = bd_make_random(dt, sc->yr, sc->ys, &seed);
        int a[2], rank;
        int64_t shape[CK_MAX_RANK];
        cr_assert_eq(ck_batch_dot_shape(x->rank, x->shape, y->rank, y->shape, sc->axes, a,
                                        &rank, shape), CK_OK, "%s", ck_last_error());
        ref_result r = bd_reference(x, y, a[0], a[1]);
        for (int p = first_path; p <= last_path; p++) {
            ck_bd_path = p;
            ck_tensor *got = NULL;
            char why[256];
            ck_status st = ck_batch_dot(x, y, sc->axes, &got);
            if (st != CK_OK || !bd_matches_ref(got, &r, x->shape[a[0]], why, sizeof why)) {
                cr_log_error("%s %s . %s axes (%d, %d) path %d: %s", ck_dtype_name(dt),
                             bd_shape_of(x), bd_shape_of(y), a[0], a[1], p,
                             st != CK_OK ? ck_last_error() : why);
                failures++;
            }
            ck_tensor_free(got);
        }
        ck_bd_path = CK_BD_PATH_AUTO;
        bd_ref_free(&r);
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
        ck_tensor *a = bd_make_random(dt, 2, as, &seed), *b = bd_make_random(dt, 2, bs, &seed);
        ck_tensor *x = bd_make_random(dt, 2, vs, &seed), *y = bd_make_random(dt, 2, vs, &seed);
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
                ck_tensor *xi = bd_make(dt, 2, s1, NULL), *yi = bd_make(dt, 2, s1, NULL);
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
        ck_tensor *x = bd_make(all_dtypes[d], 3, xs, NULL), *y = bd_make(all_dtypes[d], 3, ys, NULL);
        ck_tensor *out = NULL;
        cr_assert_eq(ck_batch_dot(x, y, NONE, &out), CK_OK, "%s", ck_last_error());
        int64_t os[] = {2, 3, 4};
        double zeros[24] = {0};
        bd_expect_values(out, 3, os, zeros, "K == 0");
        ck_tensor_free(out);
        ck_tensor_free(x);
        ck_tensor_free(y);
        /* batch 0 */
        int64_t xb[] = {0, 3, 2}, yb[] = {0, 2, 4};
        x = bd_make(all_dtypes[d], 3, xb, NULL);
        y = bd_make(all_dtypes[d], 3, yb, NULL);
        cr_assert_eq(ck_batch_dot(x, y, NONE, &out), CK_OK, "%s", ck_last_error());
        int64_t ob[] = {0, 3, 4};
        cr_expect(bd_same_shape(out, 3, ob), "%s", bd_shape_of(out));
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
    ck_tensor *x = bd_make(CK_INT32, 2, s, big), *out = NULL;
    cr_assert_eq(ck_batch_dot(x, x, ONE(1), &out), CK_OK);
    cr_expect_eq(((int32_t *)out->data)[0], 0);
    ck_tensor_free(out);
    ck_tensor_free(x);
    int64_t s1[] = {1, 1};
    double v[] = {46341};
    x = bd_make(CK_INT32, 2, s1, v);
    cr_assert_eq(ck_batch_dot(x, x, ONE(1), &out), CK_OK);
    cr_expect_eq(((int32_t *)out->data)[0], -2147479015);
    ck_tensor_free(out);
    ck_tensor_free(x);
    /* int64 stays exact where int32 would wrap */
    x = bd_make(CK_INT64, 2, s, big);
    cr_assert_eq(ck_batch_dot(x, x, ONE(1), &out), CK_OK);
    cr_expect_eq(((int64_t *)out->data)[0], 8589934592LL);
    ck_tensor_free(out);
    ck_tensor_free(x);
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
                ck_tensor *x = bd_make_random(all_dtypes[d], cases[c].xr, cases[c].xs, &seed);
                ck_tensor *y = bd_make_random(all_dtypes[d], cases[c].yr, cases[c].ys, &seed);
                int rank;
                int64_t shape[CK_MAX_RANK];
                cr_assert_eq(ck_batch_dot_shape(x->rank, x->shape, y->rank, y->shape,
                                                cases[c].axes, NULL, &rank, shape), CK_OK);
                ck_tensor *out = bd_make(all_dtypes[d], rank, shape, NULL);
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
        alloc_ctx c = {bd_make_random(all_dtypes[d], 4, xs, &seed),
                       bd_make_random(all_dtypes[d], 4, ys, &seed), NULL, PAIR(2, 2)};
        long points = ck_test_every_allocation_fails(run_alloc, free_alloc, &c);
        /* the tensor (one block with its data) and one copy per input */
        cr_expect_geq(points, 3, "only %ld allocations", points);
        /* and the result is still right */
        ck_tensor *out = NULL;
        cr_assert_eq(ck_batch_dot(c.x, c.y, c.axes, &out), CK_OK);
        ref_result r = bd_reference(c.x, c.y, 2, 2);
        char why[256];
        cr_expect(bd_matches_ref(out, &r, 5, why, sizeof why), "%s", why);
        bd_ref_free(&r);
        ck_tensor_free(out);
        ck_tensor_free(c.x);
        ck_tensor_free(c.y);
    }
}

Test(batch_dot_alloc, into_with_a_permutation_reports_oom)
{
    int64_t xs[] = {2, 3, 5, 4}, ys[] = {2, 5, 3}, os[] = {2, 3, 4, 3};
    ck_tensor *x = bd_make_fill(CK_FLOAT32, 4, xs, 1), *y = bd_make_fill(CK_FLOAT32, 3, ys, 1);
    ck_tensor *out = bd_make_fill(CK_FLOAT32, 4, os, -1);
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
