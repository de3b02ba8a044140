/* bench_conv: the direct channels_last convolution kernels (ops/
 * conv_kernels.h) in GFLOP/s on one thread, beside OpenBLAS' sgemm of the
 * same product on an already unrolled (im2col) input, for the convolutions
 * of the MNIST CNN of bench_infer and a few others; then the AVX2 tiles
 * (what a CPU without AVX-512 runs) beside ckeras' own AVX2 GEMM on the
 * unrolled input (the im2col route such a CPU took before, without the
 * unrolling's cost).  Timed in thread CPU time, so a loaded machine
 * distorts the figures less.  Not a test. */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "ckeras.h"
#include "ops/conv_kernels.h"
#include "ops/ops.h"

void openblas_set_num_threads(int);

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Best per-call time of 5 windows of 0.05 s. */
#define TIME_BEST(best, BODY)                                                \
    do {                                                                     \
        best = 1e30;                                                         \
        for (int rep_ = 0; rep_ < 5; rep_++) {                               \
            int n_ = 0;                                                      \
            double t0_ = cpu_now(), t_;                                      \
            do {                                                             \
                BODY;                                                        \
                n_++;                                                        \
            } while ((t_ = cpu_now() - t0_) < 0.05);                         \
            if (t_ / n_ < best) best = t_ / n_;                              \
        }                                                                    \
    } while (0)

int main(void)
{
    openblas_set_num_threads(1);
    ck_set_num_threads(1);
    /* batch, h, w, c, f, k (square, valid, stride 1) */
    static const int64_t cases[][6] = {{1, 28, 28, 1, 32, 3},  {1, 13, 13, 32, 64, 3}, {64, 28, 28, 1, 32, 3},
                                       {64, 13, 13, 32, 64, 3}, {1, 32, 32, 64, 64, 3}, {8, 16, 16, 128, 128, 3}};
    printf("%-26s %10s %10s %10s %10s %10s %10s %10s\n", "conv (b,h,w,c->f,k)", "direct us", "GFLOP/s", "wino us",
           "eq GFLOP/s", "sgemm GF/s", "AVX2 GF/s", "AVX2 gemm");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const int64_t *c = cases[i];
        ck_conv_nhwc g = {.batch = c[0], .h = c[1], .w = c[2], .c = c[3], .f = c[4], .kh = c[5], .kw = c[5],
                          .sh = 1, .sw = 1, .dh = 1, .dw = 1};
        g.oh = g.h - g.kh + 1;
        g.ow = g.w - g.kw + 1;
        const int64_t P = g.batch * g.oh * g.ow, K = g.kh * g.kw * g.c;
        float *x = calloc((size_t)(g.batch * g.h * g.w * g.c), sizeof(float));
        float *k = calloc((size_t)(K * g.f), sizeof(float)), *y = calloc((size_t)(P * g.f), sizeof(float));
        float *cols = calloc((size_t)(P * K), sizeof(float)), *bias = calloc((size_t)g.f, sizeof(float));
        for (int64_t j = 0; j < g.batch * g.h * g.w * g.c; j++) x[j] = (float)(j % 7) * 0.1f;
        ck_conv_epilogue e = {.bias = bias, .relu = 1};
        double t_direct, t_gemm, t_wino = 0;
        TIME_BEST(t_direct, ck_conv2d_nhwc_f32(&g, x, k, &e, y));
        const int64_t wf = ck_conv2d_winograd_floats(&g);
        float *ws = wf ? aligned_alloc(64, (size_t)(wf * 4 + 63) / 64 * 64) : NULL;
        if (ws) TIME_BEST(t_wino, ck_conv2d_winograd_f32(&g, x, k, &e, y, ws));
        free(ws);
        TIME_BEST(t_gemm, cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)P, (int)g.f, (int)K, 1.0f,
                                      cols, (int)K, k, (int)g.f, 0.0f, y, (int)g.f));
        double t_avx2 = 0, t_avx2_gemm = 0;
        if (ck_cpu_has_avx2_fma()) {
            ck_bd_path = CK_BD_PATH_AVX2;
            TIME_BEST(t_avx2, ck_conv2d_nhwc_f32(&g, x, k, &e, y));
            ck_bd_path = CK_BD_PATH_AUTO;
            TIME_BEST(t_avx2_gemm, ck_sgemm_small_avx2(P, g.f, K, cols, K, 1, k, g.f, y, g.f));
        }
        const double flops = 2.0 * (double)P * (double)K * (double)g.f;
        char name[64];
        snprintf(name, sizeof name, "%lld,%lld,%lld,%lld->%lld,%lld", (long long)c[0], (long long)c[1],
                 (long long)c[2], (long long)c[3], (long long)c[4], (long long)c[5]);
        printf("%-26s %10.2f %10.1f %10.2f %10.1f %10.1f %10.1f %10.1f\n", name, t_direct * 1e6,
               flops / t_direct * 1e-9, t_wino * 1e6, t_wino > 0 ? flops / t_wino * 1e-9 : 0.0, flops / t_gemm * 1e-9,
               t_avx2 > 0 ? flops / t_avx2 * 1e-9 : 0.0, t_avx2_gemm > 0 ? flops / t_avx2_gemm * 1e-9 : 0.0);
        free(x), free(k), free(y), free(cols), free(bias);
    }
    /* the products of Dense layers: ck_matmul_f32 (what Dense calls), the
     * register-tile kernel alone, and sgemm */
    static const int64_t mm[][3] = {{256, 256, 784}, {256, 256, 256}, {256, 10, 256}, {1, 64, 64},
                                    {64, 64, 64},    {256, 128, 64},  {1, 256, 784}, {32, 512, 128}};
    printf("\n%-20s %12s %12s %12s\n", "matmul M,N,K", "matmul GF/s", "tiles GF/s", "sgemm GF/s");
    for (size_t i = 0; i < sizeof mm / sizeof mm[0]; i++) {
        const int64_t M = mm[i][0], N = mm[i][1], K = mm[i][2];
        float *a = calloc((size_t)(M * K), sizeof(float)), *b = calloc((size_t)(K * N), sizeof(float));
        float *c = calloc((size_t)(M * N), sizeof(float));
        double t_mm, t_tiles, t_blas;
        TIME_BEST(t_mm, ck_matmul_f32(M, N, K, a, b, c));
        TIME_BEST(t_tiles, ck_sgemm_rows_avx512(M, N, K, a, K, b, N, c, N));
        TIME_BEST(t_blas, cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)M, (int)N, (int)K, 1.0f, a,
                                      (int)K, b, (int)N, 0.0f, c, (int)N));
        const double flops = 2.0 * (double)(M * N * K);
        char name[64];
        snprintf(name, sizeof name, "%lld,%lld,%lld", (long long)M, (long long)N, (long long)K);
        printf("%-20s %12.1f %12.1f %12.1f\n", name, flops / t_mm * 1e-9, flops / t_tiles * 1e-9,
               flops / t_blas * 1e-9);
        free(a), free(b), free(c);
    }
    return 0;
}
