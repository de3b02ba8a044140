/* Benchmark of float32 batch_dot, one thread and all cores.
 *
 * For each case x (B, n, d), y (B, d, m) with default axes it prints the
 * time per call of ck_batch_dot_into on one thread, its GFLOP/s
 * (2*B*n*d*m flops) and the ratio against a plain loop of one cblas_sgemm
 * per batch item measured in the same run, then the time of the same call
 * with ckeras' pool on all cores and its speed-up over one thread.  Each
 * figure is the median (and best) of several timed runs after a warm-up; a
 * run repeats the call for about RUN_SECONDS.
 *
 * Usage: bench_batch_dot [seconds-per-run]   (default 0.05)
 * OpenBLAS is limited to one thread (as OPENBLAS_NUM_THREADS=1 would) in
 * both: the ratio column compares one thread with one thread. */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ckeras.h"
#include "ops/ops.h"

#define RUNS 7

static double run_seconds = 0.05;
static int cores = 1; /* ckeras' pool size at start: the all-core column */

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
/* Throughput of independent 8-wide FMAs: what the kernels could reach. */
__attribute__((target("avx2,fma"))) static double fma_peak(void)
{
    __m256 a0 = _mm256_set1_ps(1.0f), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0,
           a6 = a0, a7 = a0, a8 = a0, a9 = a0;
    const __m256 m = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-7f);
    double best = 0;
    for (int run = 0; run < 5; run++) {
        const long n = 2000000;
        double t = now();
        for (long i = 0; i < n; i++) {
            a0 = _mm256_fmadd_ps(a0, m, c); a1 = _mm256_fmadd_ps(a1, m, c);
            a2 = _mm256_fmadd_ps(a2, m, c); a3 = _mm256_fmadd_ps(a3, m, c);
            a4 = _mm256_fmadd_ps(a4, m, c); a5 = _mm256_fmadd_ps(a5, m, c);
            a6 = _mm256_fmadd_ps(a6, m, c); a7 = _mm256_fmadd_ps(a7, m, c);
            a8 = _mm256_fmadd_ps(a8, m, c); a9 = _mm256_fmadd_ps(a9, m, c);
            __asm__ volatile("" : "+x"(a0), "+x"(a1), "+x"(a2), "+x"(a3), "+x"(a4),
                             "+x"(a5), "+x"(a6), "+x"(a7), "+x"(a8), "+x"(a9));
        }
        t = now() - t;
        double g = (double)n * 10 * 16 / t * 1e-9;
        if (g > best) best = g;
    }
    return best;
}
/* The same with 16-wide AVX-512 FMAs (twelve chains: two FMA units). */
__attribute__((target("avx512f,fma"))) static double fma512_peak(void)
{
    __m512 a0 = _mm512_set1_ps(1.0f), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0,
           a6 = a0, a7 = a0, a8 = a0, a9 = a0, a10 = a0, a11 = a0;
    const __m512 m = _mm512_set1_ps(0.999999f), c = _mm512_set1_ps(1e-7f);
    double best = 0;
    for (int run = 0; run < 5; run++) {
        const long n = 2000000;
        double t = now();
        for (long i = 0; i < n; i++) {
            a0 = _mm512_fmadd_ps(a0, m, c); a1 = _mm512_fmadd_ps(a1, m, c);
            a2 = _mm512_fmadd_ps(a2, m, c); a3 = _mm512_fmadd_ps(a3, m, c);
            a4 = _mm512_fmadd_ps(a4, m, c); a5 = _mm512_fmadd_ps(a5, m, c);
            a6 = _mm512_fmadd_ps(a6, m, c); a7 = _mm512_fmadd_ps(a7, m, c);
            a8 = _mm512_fmadd_ps(a8, m, c); a9 = _mm512_fmadd_ps(a9, m, c);
            a10 = _mm512_fmadd_ps(a10, m, c); a11 = _mm512_fmadd_ps(a11, m, c);
            __asm__ volatile("" : "+v"(a0), "+v"(a1), "+v"(a2), "+v"(a3), "+v"(a4), "+v"(a5),
                             "+v"(a6), "+v"(a7), "+v"(a8), "+v"(a9), "+v"(a10), "+v"(a11));
        }
        t = now() - t;
        double g = (double)n * 12 * 32 / t * 1e-9;
        if (g > best) best = g;
    }
    return best;
}
#else
static double fma_peak(void) { return 0; }
static double fma512_peak(void) { return 0; }
#endif

typedef struct bench_case {
    const char *label;
    const char *target;     /* the goal on one core of the project machine */
    int xr, yr;
    int64_t xs[4], ys[4];
    ck_axes axes;
    int64_t B, n, d, m;     /* the GEMM each item is, for flops and baseline */
    int base_ta, base_tb;   /* layout of x[b] and y[b] for the baseline     */
} bench_case;

typedef struct timing {
    double median, best;    /* seconds per call */
} timing;

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Times fn(ctx): a warm-up, then RUNS runs of `reps` calls each. */
static timing measure(void (*fn)(void *), void *ctx)
{
    double t0 = now();
    long reps = 0;
    while (now() - t0 < run_seconds / 2 || reps < 3) {   /* warm-up and calibrate */
        fn(ctx);
        reps++;
    }
    double per = (now() - t0) / (double)reps;
    reps = (long)(run_seconds / per) + 1;
    double t[RUNS];
    for (int r = 0; r < RUNS; r++) {
        double s = now();
        for (long i = 0; i < reps; i++) fn(ctx);
        t[r] = (now() - s) / (double)reps;
    }
    qsort(t, RUNS, sizeof t[0], cmp_double);
    return (timing){t[RUNS / 2], t[0]};
}

typedef struct ctx {
    const bench_case *c;
    ck_tensor *x, *y, *out, *ref;
} ctx;

static void call_ckeras(void *p)
{
    ctx *c = p;
    if (ck_batch_dot_into(c->x, c->y, c->c->axes, c->out) != CK_OK) {
        fprintf(stderr, "batch_dot failed: %s\n", ck_last_error());
        exit(1);
    }
}

static void call_sgemm_loop(void *p)
{
    ctx *c = p;
    const bench_case *bc = c->c;
    int n = (int)bc->n, d = (int)bc->d, m = (int)bc->m;
    const float *x = c->x->data, *y = c->y->data;
    float *o = c->ref->data;
    for (int64_t b = 0; b < bc->B; b++)
        cblas_sgemm(CblasRowMajor, bc->base_ta ? CblasTrans : CblasNoTrans,
                    bc->base_tb ? CblasTrans : CblasNoTrans, n, m, d, 1.0f,
                    x + b * n * d, bc->base_ta ? n : d, y + b * d * m,
                    bc->base_tb ? d : m, 0.0f, o + b * n * m, m);
}

static void fill(ck_tensor *t, unsigned *seed)
{
    float *p = t->data;
    for (int64_t i = 0; i < t->size; i++) {
        *seed = *seed * 1103515245u + 12345u;
        p[i] = (float)((*seed >> 9) & 0xffff) / 65536.0f - 0.5f;
    }
}

static void run_case(const bench_case *bc)
{
    ctx c = {bc, NULL, NULL, NULL, NULL};
    unsigned seed = 42;
    int rank;
    int64_t shape[CK_MAX_RANK];
    if (ck_tensor_new(&c.x, CK_FLOAT32, bc->xr, bc->xs) != CK_OK ||
        ck_tensor_new(&c.y, CK_FLOAT32, bc->yr, bc->ys) != CK_OK ||
        ck_batch_dot_shape(bc->xr, bc->xs, bc->yr, bc->ys, bc->axes, NULL, &rank,
                           shape) != CK_OK ||
        ck_tensor_new(&c.out, CK_FLOAT32, rank, shape) != CK_OK ||
        ck_tensor_new(&c.ref, CK_FLOAT32, rank, shape) != CK_OK) {
        fprintf(stderr, "setup failed: %s\n", ck_last_error());
        exit(1);
    }
    fill(c.x, &seed);
    fill(c.y, &seed);
    call_ckeras(&c);
    call_sgemm_loop(&c);
    double err = 0;
    const float *o = c.out->data, *r = c.ref->data;
    for (int64_t i = 0; i < c.out->size; i++) err = fmax(err, fabs((double)o[i] - r[i]));

    timing tk = measure(call_ckeras, &c);
    timing tb = measure(call_sgemm_loop, &c);
    ck_set_num_threads(cores);
    timing ta = measure(call_ckeras, &c);
    ck_set_num_threads(1);
    double flops = 2.0 * (double)bc->B * (double)bc->n * (double)bc->d * (double)bc->m;
    printf("%-34s %9.2f %9.2f %8.1f %8.1f %9.2f %8.1f %6.2fx %11.2f %7.2fx  %.1e  %s\n", bc->label,
           tk.median * 1e6, tk.best * 1e6, flops / tk.median * 1e-9,
           flops / tk.best * 1e-9, tb.median * 1e6, flops / tb.median * 1e-9,
           tb.median / tk.median, ta.median * 1e6, tk.median / ta.median, err, bc->target);
    ck_tensor_free(c.x);
    ck_tensor_free(c.y);
    ck_tensor_free(c.out);
    ck_tensor_free(c.ref);
}

int main(int argc, char **argv)
{
    if (argc > 1) run_seconds = atof(argv[1]);
    if (!(run_seconds > 0)) run_seconds = 0.05;
    openblas_set_num_threads(1);
    cores = ck_get_num_threads();
    ck_set_num_threads(1); /* ckeras' own pool too, but for the all-core column */

    static const bench_case cases[] = {
        /* the four target shapes, x (B,n,d) . y (B,d,m), default axes */
        {"(1024,1,64,1)   (B,1,d).(B,d,1)", "", 3, 3, {1024, 1, 64}, {1024, 64, 1},
         {0, {0, 0}}, 1024, 1, 64, 1, 0, 0},
        {"(1024,1,64,1)   (B,d).(B,d) ax 1", "<= 12 us", 2, 2, {1024, 64}, {1024, 64},
         {1, {1, 0}}, 1024, 1, 64, 1, 0, 0},
        {"(1024,10,64,10) (B,n,d).(B,d,m)", ">= 30 GFLOP/s", 3, 3, {1024, 10, 64}, {1024, 64, 10},
         {0, {0, 0}}, 1024, 10, 64, 10, 0, 0},
        {"(32,64,64,64)   (B,n,d).(B,d,m)", ">= 70 GFLOP/s", 3, 3, {32, 64, 64}, {32, 64, 64},
         {0, {0, 0}}, 32, 64, 64, 64, 0, 0},
        {"(32,128,512,128)(B,n,d).(B,d,m)", "", 3, 3, {32, 128, 512}, {32, 512, 128},
         {0, {0, 0}}, 32, 128, 512, 128, 0, 0},
        /* other layouts of the same products, for information */
        {"extra (1024,10,64,10) x.y^T ax 2", "", 3, 3, {1024, 10, 64}, {1024, 10, 64},
         {1, {2, 0}}, 1024, 10, 64, 10, 0, 1},
        {"extra (1024,10,64,10) x^T.y ax 1", "", 3, 3, {1024, 64, 10}, {1024, 64, 10},
         {1, {1, 0}}, 1024, 10, 64, 10, 1, 0},
        {"extra (1024,10,64,1) (B,n,d).(B,d)", "", 3, 2, {1024, 10, 64}, {1024, 64},
         {0, {0, 0}}, 1024, 10, 64, 1, 0, 0},
        {"extra (32,64,64,64) x^T.y^T (1,2)", "", 3, 3, {32, 64, 64}, {32, 64, 64},
         {2, {1, 2}}, 32, 64, 64, 64, 1, 1},
    };

    const char *family = ck_cpu_has_avx512()     ? "AVX-512"
                         : ck_cpu_has_avx2_fma() ? "AVX2+FMA"
                                                 : "portable C";
    printf("OpenBLAS core: %s, 1 thread; ckeras kernels: %s, 1 thread, then %d; %d runs of %.3f s\n",
           openblas_get_corename(), family, cores, RUNS, run_seconds);
    if (ck_cpu_has_avx2_fma())
        printf("FMA peak of this core right now: AVX2 %.1f GFLOP/s", fma_peak());
    if (ck_cpu_has_avx512()) printf(", AVX-512 %.1f GFLOP/s", fma512_peak());
    if (ck_cpu_has_avx2_fma()) printf(" (the machine is shared: figures vary with it)\n");
    printf("%-34s %9s %9s %8s %8s %9s %8s %7s %11s %8s  %-9s %s\n", "case (B,n,d,m)", "us/call",
           "best us", "GFLOP/s", "best", "sgemm us", "GFLOP/s", "ratio", "all-core us", "speedup",
           "max|diff|", "target");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) run_case(&cases[i]);
    return 0;
}
