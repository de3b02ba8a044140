/* Plain row-major matrix products for the layers (Dense), through the same
 * kernel choice as batch_dot: our AVX-512 / AVX2 kernels where they beat
 * the BLAS this machine's OpenBLAS runs, CBLAS otherwise. */
#include <cblas.h>

#include "ops/ops.h"

void ck_matmul_f32(int64_t M, int64_t N, int64_t K, const float *a, const float *b, float *c)
{
    ck_bd_plan p = {.batch = 1, .M = M, .N = N, .K = K, .pre_x = M, .post_x = 1, .pre_y = 1, .post_y = N};
    ck_bd_run_f32(&p, a, b, c);
}

void ck_matmul_f64(int64_t M, int64_t N, int64_t K, const double *a, const double *b, double *c)
{
    ck_bd_plan p = {.batch = 1, .M = M, .N = N, .K = K, .pre_x = M, .post_x = 1, .pre_y = 1, .post_y = N};
    ck_bd_run_f64(&p, a, b, c);
}

/* ---- the products of backward passes (beta 0 overwrites c, 1 adds) ---- */

void ck_gemm_tn_f32(int64_t M, int64_t N, int64_t K, const float *a, const float *b, float beta, float *c)
{
    if (M == 0 || N == 0) return;
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (blasint)M, (blasint)N, (blasint)K, 1.0f, a, (blasint)M,
                b, (blasint)N, beta, c, (blasint)N);
}

void ck_gemm_tn_f64(int64_t M, int64_t N, int64_t K, const double *a, const double *b, double beta, double *c)
{
    if (M == 0 || N == 0) return;
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (blasint)M, (blasint)N, (blasint)K, 1.0, a, (blasint)M,
                b, (blasint)N, beta, c, (blasint)N);
}

void ck_gemm_nt_f32(int64_t M, int64_t N, int64_t K, const float *a, const float *b, float beta, float *c)
{
    if (M == 0 || N == 0) return;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (blasint)M, (blasint)N, (blasint)K, 1.0f, a, (blasint)K,
                b, (blasint)K, beta, c, (blasint)N);
}

void ck_gemm_nt_f64(int64_t M, int64_t N, int64_t K, const double *a, const double *b, double beta, double *c)
{
    if (M == 0 || N == 0) return;
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (blasint)M, (blasint)N, (blasint)K, 1.0, a, (blasint)K,
                b, (blasint)K, beta, c, (blasint)N);
}
