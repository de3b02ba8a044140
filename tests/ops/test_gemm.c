/* ck_gemm_f32 / ck_gemm_f64 (the products of training) on every kernel
 * path against a plain triple loop in long double: all four transpose
 * combinations but A^T B^T (which always goes to BLAS, checked too), beta
 * 0 and 1, leading dimensions wider than the matrices, shapes around the
 * kernels' block sizes and an accumulation larger than one stack block. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>

#include "ops/ops.h"

static const int paths[] = {CK_BD_PATH_AUTO, CK_BD_PATH_BLAS, CK_BD_PATH_PORTABLE, CK_BD_PATH_AVX2,
                            CK_BD_PATH_AVX512};
static const int64_t shapes[][3] = {{1, 1, 1},  {3, 5, 7},   {12, 33, 9},   {17, 16, 64}, {40, 10, 300},
                                    {9, 32, 2000}, {300, 40, 5}, {64, 300, 20}, {5, 1, 17},  {1, 40, 3}};

static double value(int64_t i, int salt) { return (double)((i * 7919 + salt * 104729) % 2001) / 1000.0 - 1.0; }

#define CHECK_GEMM(T, FN, TOL)                                                                                \
    do {                                                                                                      \
        for (size_t p = 0; p < sizeof paths / sizeof paths[0]; p++)                                            \
            for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)                                      \
                for (int ta = 0; ta < 2; ta++)                                                                 \
                    for (int tb = 0; tb < 2; tb++)                                                             \
                        for (int beta = 0; beta < 2; beta++) {                                                 \
                            const int64_t M = shapes[s][0], N = shapes[s][1], K = shapes[s][2];                \
                            /* rows of each stored matrix, padded by 3 */                                      \
                            const int64_t lda = (ta ? M : K) + 3, ldb = (tb ? K : N) + 3, ldc = N + 3;         \
                            T *a = malloc(sizeof(T) * (size_t)((ta ? K : M) * lda));                           \
                            T *b = malloc(sizeof(T) * (size_t)((tb ? N : K) * ldb));                           \
                            T *c = malloc(sizeof(T) * (size_t)(M * ldc));                                      \
                            for (int64_t i = 0; i < (ta ? K : M) * lda; i++) a[i] = (T)value(i, 1);            \
                            for (int64_t i = 0; i < (tb ? N : K) * ldb; i++) b[i] = (T)value(i, 2);            \
                            for (int64_t i = 0; i < M * ldc; i++) c[i] = (T)value(i, 3);                       \
                            ck_bd_path = paths[p];                                                             \
                            FN(ta, tb, M, N, K, a, lda, b, ldb, (T)beta, c, ldc);                              \
                            ck_bd_path = CK_BD_PATH_AUTO;                                                      \
                            double worst = 0;                                                                  \
                            for (int64_t i = 0; i < M; i++)                                                    \
                                for (int64_t j = 0; j < N; j++) {                                              \
                                    long double want = beta ? (long double)(T)value(i * ldc + j, 3) : 0;       \
                                    for (int64_t k = 0; k < K; k++)                                            \
                                        want += (long double)(ta ? a[k * lda + i] : a[i * lda + k]) *          \
                                                (long double)(tb ? b[j * ldb + k] : b[k * ldb + j]);           \
                                    double d = fabs((double)(c[i * ldc + j] - want)) / (1.0 + fabs((double)want)); \
                                    if (d > worst) worst = d;                                                  \
                                }                                                                              \
                            /* the padding columns are left alone */                                           \
                            for (int64_t i = 0; i < M; i++)                                                    \
                                for (int64_t j = N; j < ldc; j++)                                              \
                                    cr_expect_eq(c[i * ldc + j], (T)value(i * ldc + j, 3), "padding written"); \
                            cr_expect(worst <= TOL, "path %d, %lldx%lldx%lld, ta %d tb %d beta %d: error %g",  \
                                      paths[p], (long long)M, (long long)N, (long long)K, ta, tb, beta, worst);  \
                            free(a);                                                                           \
                            free(b);                                                                           \
                            free(c);                                                                           \
                        }                                                                                      \
    } while (0)

Test(gemm, f32_every_path) { CHECK_GEMM(float, ck_gemm_f32, 2e-5 * 64); }

Test(gemm, f64_every_path) { CHECK_GEMM(double, ck_gemm_f64, 1e-12); }

/* The wrappers of the backward passes: contiguous operands. */
Test(gemm, tn_nt_wrappers)
{
    float a[6] = {1, 2, 3, 4, 5, 6}, b[6] = {1, 0, -1, 2, 1, 0}, c[4] = {1, 1, 1, 1};
    /* a as (K=2, M=3)^T times b as (K=2, N=3): first row of a^T b = [1*1 + 4*2, 1*0 + 4*1, -1 + 0] */
    float tn[9];
    ck_gemm_tn_f32(3, 3, 2, a, b, 0.0f, tn);
    cr_expect_eq(tn[0], 9.0f);
    cr_expect_eq(tn[1], 4.0f);
    cr_expect_eq(tn[2], -1.0f);
    /* (2x3) (2x3)^T, accumulated onto ones */
    ck_gemm_nt_f32(2, 2, 3, a, b, 1.0f, c);
    cr_expect_eq(c[0], 1.0f + (1 - 3));
    cr_expect_eq(c[1], 1.0f + (2 + 2 + 0));
    cr_expect_eq(c[2], 1.0f + (4 - 6));
    cr_expect_eq(c[3], 1.0f + (8 + 5 + 0));
}
