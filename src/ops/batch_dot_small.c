/* Portable versions of the small-matrix kernels, for CPUs without AVX2+FMA.
 * Written so that the compiler can vectorise the inner loops. */
#include "ops/ops.h"

#define DOT_ROWS(T)                                                           \
    for (int64_t i = 0; i < n; i++) {                                         \
        const T *ai = a + i * sa, *vi = v + i * sv;                           \
        T s0 = 0, s1 = 0, s2 = 0, s3 = 0;                                     \
        int64_t k = 0;                                                        \
        for (; k + 4 <= K; k += 4) {                                          \
            s0 += ai[k] * vi[k];                                              \
            s1 += ai[k + 1] * vi[k + 1];                                      \
            s2 += ai[k + 2] * vi[k + 2];                                      \
            s3 += ai[k + 3] * vi[k + 3];                                      \
        }                                                                     \
        for (; k < K; k++) s0 += ai[k] * vi[k];                               \
        c[i] = (s0 + s1) + (s2 + s3);                                         \
    }

void ck_sdot_rows_c(int64_t n, int64_t K, const float *a, int64_t sa,
                    const float *v, int64_t sv, float *c)
{
    DOT_ROWS(float)
}

void ck_ddot_rows_c(int64_t n, int64_t K, const double *a, int64_t sa,
                    const double *v, int64_t sv, double *c)
{
    DOT_ROWS(double)
}

#define GEMM_SMALL(T)                                                         \
    for (int64_t i = 0; i < M; i++) {                                         \
        T *ci = c + i * ldc;                                                  \
        for (int64_t j = 0; j < N; j++) ci[j] = 0;                            \
        for (int64_t k = 0; k < K; k++) {                                     \
            const T aik = a[i * rs + k * cs];                                 \
            const T *bk = b + k * ldb;                                        \
            for (int64_t j = 0; j < N; j++) ci[j] += aik * bk[j];             \
        }                                                                     \
    }

void ck_sgemm_small_c(int64_t M, int64_t N, int64_t K, const float *a,
                      int64_t rs, int64_t cs, const float *b, int64_t ldb,
                      float *c, int64_t ldc)
{
    GEMM_SMALL(float)
}

void ck_dgemm_small_c(int64_t M, int64_t N, int64_t K, const double *a,
                      int64_t rs, int64_t cs, const double *b, int64_t ldb,
                      double *c, int64_t ldc)
{
    GEMM_SMALL(double)
}

void ck_sgemm_nt_c(int64_t M, int64_t N, int64_t K, const float *a,
                   int64_t lda, const float *b, int64_t ldb, float *c,
                   int64_t ldc)
{
    for (int64_t i = 0; i < M; i++) ck_sdot_rows_c(N, K, b, ldb, a + i * lda, 0, c + i * ldc);
}

void ck_dgemm_nt_c(int64_t M, int64_t N, int64_t K, const double *a,
                   int64_t lda, const double *b, int64_t ldb, double *c,
                   int64_t ldc)
{
    for (int64_t i = 0; i < M; i++) ck_ddot_rows_c(N, K, b, ldb, a + i * lda, 0, c + i * ldc);
}
