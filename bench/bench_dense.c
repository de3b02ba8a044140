/* bench_dense: Dense forward (matmul + bias + activation) in GFLOP/s on one
 * thread, beside a plain cblas_sgemm of the same product (no bias, no
 * activation) measured in the same run, then the same Dense on all cores
 * (ckeras' own pool) and its speed-up over one thread.  Not a test: it
 * prints figures. */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "ckeras.h"

void openblas_set_num_threads(int);

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Best time of `reps` repetitions of a 0.05 s loop. */
#define TIME_BEST(best, BODY)                                                \
    do {                                                                     \
        best = 1e30;                                                         \
        for (int rep_ = 0; rep_ < 5; rep_++) {                               \
            int n_ = 0;                                                      \
            double t0_ = now(), t_;                                          \
            do {                                                             \
                BODY;                                                        \
                n_++;                                                        \
            } while ((t_ = now() - t0_) < 0.05);                             \
            if (t_ / n_ < best) best = t_ / n_;                              \
        }                                                                    \
    } while (0)

int main(void)
{
    openblas_set_num_threads(1);
    static const int64_t cases[][3] = {{1, 256, 256}, {32, 784, 256}, {256, 256, 256}, {1024, 64, 64}, {32, 339, 200}, {1, 64, 64}, {64, 64, 64}, {256, 1024, 1024}};
    const int cores = ck_get_num_threads();
    printf("OpenBLAS core: %s, 1 thread; ckeras 1 thread, then %d\n", openblas_get_corename(), cores);
    printf("%-22s %10s %9s %10s %9s %7s %11s %8s\n", "(rows, in, units)", "dense us", "GFLOP/s", "sgemm us", "GFLOP/s",
           "ratio", "all-core us", "speedup");
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        int64_t rows = cases[c][0], k = cases[c][1], units = cases[c][2];
        ck_layer *d = NULL;
        ck_tensor *x = NULL, *out = NULL;
        if (ck_dense(&d, &(ck_dense_opts){.units = units, .activation = "relu"}) != CK_OK ||
            ck_tensor_new(&x, CK_FLOAT32, 2, (int64_t[]){rows, k}) != CK_OK ||
            ck_tensor_new(&out, CK_FLOAT32, 2, (int64_t[]){rows, units}) != CK_OK) {
            fprintf(stderr, "bench_dense: %s\n", ck_last_error());
            return 1;
        }
        for (int64_t i = 0; i < x->size; i++) ((float *)x->data)[i] = (float)((i * 7919) % 1000) / 1000.0f - 0.5f;
        ck_tensor *in[1] = {x};
        ck_tensor *outs[1] = {out};
        if (ck_layer_call_into(d, 1, in, outs) != CK_OK) return 1;
        const float *kern = ck_weight_value(ck_layer_weight(d, 0))->data;
        float *c_ = malloc((size_t)(rows * units) * sizeof(float));
        double t_dense, t_blas, t_all;
        ck_set_num_threads(1);
        TIME_BEST(t_dense, ck_layer_call_into(d, 1, in, outs));
        ck_set_num_threads(cores);
        TIME_BEST(t_all, ck_layer_call_into(d, 1, in, outs));
        TIME_BEST(t_blas, cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)rows, (int)units, (int)k, 1.0f,
                                      x->data, (int)k, kern, (int)units, 0.0f, c_, (int)units));
        double flops = 2.0 * rows * k * units;
        char label[64];
        snprintf(label, sizeof label, "(%lld, %lld, %lld)", (long long)rows, (long long)k, (long long)units);
        printf("%-22s %10.2f %9.1f %10.2f %9.1f %6.2fx %11.2f %7.2fx\n", label, t_dense * 1e6, flops / t_dense * 1e-9,
               t_blas * 1e6, flops / t_blas * 1e-9, t_blas / t_dense, t_all * 1e6, t_dense / t_all);
        free(c_);
        ck_tensor_free(x);
        ck_tensor_free(out);
        ck_layer_free(d);
    }
    return 0;
}
