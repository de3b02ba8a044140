/* ck_gemm_f32 / ck_gemm_f64 (the products of training) on every kernel
 * path against a plain triple loop in long double: all four transpose
 * combinations but A^T B^T (which always goes to BLAS, checked too), beta
 * 0 and 1, leading dimensions wider than the matrices, shapes around the
 * kernels' block sizes and an accumulation larger than one stack block. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ckeras.h"
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

/* A float32 product's epilogue (ops.h: bias, relu, then scale and shift)
 * applied in the kernels' registers gives the bits of the product followed
 * by the pass ck_epilogue_rows_f32, on every path, at 1 and 2 threads (2
 * cuts the rows into bands), over shapes with partial vectors, several
 * panels, K in several slices and a lone row; NaN, negative and zero sums
 * meet the relu.  The pass itself is checked against its definition. */
Test(gemm, epilogue_same_bits_as_the_pass)
{
    static const int64_t eshapes[][3] = {{1, 200, 339}, {7, 3, 5},     {37, 33, 64},
                                         {256, 200, 339}, {64, 256, 1100}, {300, 16, 9}};
    for (size_t s = 0; s < sizeof eshapes / sizeof eshapes[0]; s++) {
        const int64_t M = eshapes[s][0], N = eshapes[s][1], K = eshapes[s][2];
        float *a = malloc(sizeof(float) * (size_t)(M * K)), *b = malloc(sizeof(float) * (size_t)(K * N));
        float *want = malloc(sizeof(float) * (size_t)(M * N)), *got = malloc(sizeof(float) * (size_t)(M * N));
        float *bias = malloc(sizeof(float) * (size_t)N), *sc = malloc(sizeof(float) * (size_t)N);
        float *sh = malloc(sizeof(float) * (size_t)N);
        for (int64_t i = 0; i < M * K; i++) a[i] = (float)value(i, 1);
        for (int64_t i = 0; i < K * N; i++) b[i] = (float)value(i, 2);
        a[0] = NAN; /* row 0 of C is NaN */
        for (int64_t j = 0; j < N; j++)
            bias[j] = (float)value(j, 4), sc[j] = (float)value(j, 5) * 3.0f, sh[j] = (float)value(j, 6);
        const ck_epilogue_f32 eps[] = {{bias, 0, NULL, NULL}, {NULL, 1, NULL, NULL}, {bias, 1, NULL, NULL},
                                       {bias, 1, sc, sh},     {NULL, 0, sc, sh}};
        for (size_t p = 0; p < sizeof paths / sizeof paths[0]; p++)
            for (size_t e = 0; e < sizeof eps / sizeof eps[0]; e++)
                for (int threads = 1; threads <= 2; threads++) {
                    ck_set_num_threads(threads);
                    ck_bd_path = paths[p];
                    ck_matmul_f32(M, N, K, a, b, want);
                    const float c01 = M > 1 && N > 1 ? want[N + 1] : 0.0f; /* an element before its pass */
                    ck_epilogue_rows_f32(want, M, N, &eps[e]);
                    ck_matmul_f32_ep(M, N, K, a, b, got, &eps[e]);
                    ck_bd_path = CK_BD_PATH_AUTO;
                    ck_set_num_threads(0);
                    int64_t bad = -1;
                    for (int64_t i = 0; i < M * N && bad < 0; i++)
                        if (memcmp(&want[i], &got[i], sizeof(float)) != 0) bad = i;
                    cr_expect(bad < 0, "path %d, %lldx%lldx%lld, epilogue %zu, %d thread(s): [%lld] %.9g, pass %.9g",
                              paths[p], (long long)M, (long long)N, (long long)K, e, threads, (long long)bad,
                              bad < 0 ? 0.0 : (double)got[bad], bad < 0 ? 0.0 : (double)want[bad]);
                    cr_expect(isnan(got[0]), "a NaN sum stays NaN through the relu");
                    if (M > 1 && N > 1) {
                        float v = c01;
                        if (eps[e].bias) v += bias[1];
                        if (eps[e].relu && v < 0) v = 0.0f;
                        if (eps[e].scale) {
                            const float t = v * sc[1];
                            v = t + sh[1];
                        }
                        cr_expect_eq(want[N + 1], v, "the pass: %.9g, by its definition %.9g", want[N + 1], v);
                    }
                }
        free(a), free(b), free(want), free(got), free(bias), free(sc), free(sh);
    }
}

/* Every element of C is the same chain of FMAs whatever the panel: with N
 * columns ending in a partial vector (on Zen 4 a half vector of 8 or fewer
 * columns runs in a ymm register) C's columns equal, bit for bit, those
 * of the product with B widened to whole vectors, on every kernel path. */
Test(gemm, partial_vectors_same_bits_as_whole)
{
    static const int64_t ms[] = {1, 6, 37, 256}, ks[] = {5, 339, 1100}, ns[] = {2, 8, 33, 40, 200, 100};
    /* our kernels (BLAS keeps no such promise; N = 1 takes the dot kernels) */
    static const int ours[] = {CK_BD_PATH_PORTABLE, CK_BD_PATH_AVX2, CK_BD_PATH_AVX512};
    for (size_t p = 0; p < sizeof ours / sizeof ours[0]; p++)
        for (size_t im = 0; im < 4; im++)
            for (size_t ik = 0; ik < 3; ik++)
                for (size_t in = 0; in < 6; in++) {
                    const int64_t M = ms[im], K = ks[ik], N = ns[in], NW = (N + 15) / 16 * 16;
                    float *a = malloc(sizeof(float) * (size_t)(M * K)), *b = malloc(sizeof(float) * (size_t)(K * N));
                    float *bw = malloc(sizeof(float) * (size_t)(K * NW)), *c = malloc(sizeof(float) * (size_t)(M * N));
                    float *cw = malloc(sizeof(float) * (size_t)(M * NW));
                    for (int64_t i = 0; i < M * K; i++) a[i] = (float)value(i, 1);
                    for (int64_t k = 0; k < K; k++)
                        for (int64_t j = 0; j < NW; j++) {
                            bw[k * NW + j] = (float)value(k * NW + j, 2);
                            if (j < N) b[k * N + j] = bw[k * NW + j];
                        }
                    ck_bd_path = ours[p];
                    ck_matmul_f32(M, N, K, a, b, c);
                    ck_matmul_f32(M, NW, K, a, bw, cw);
                    ck_bd_path = CK_BD_PATH_AUTO;
                    int same = 1;
                    for (int64_t i = 0; i < M; i++) same &= memcmp(c + i * N, cw + i * NW, sizeof(float) * (size_t)N) == 0;
                    cr_expect(same, "path %d, %lldx%lldx%lld: columns differ from the widened product's", ours[p],
                              (long long)M, (long long)N, (long long)K);
                    free(a), free(b), free(bw), free(c), free(cw);
                }
}
