/* Floating batch_dot: picks, per plan, between a fused dot loop, the small
 * register-blocked kernels and CBLAS (GEMV / one GEMM per batch item). */
#include <cblas.h>
#include <ctype.h>
#include <limits.h>
#include <stdatomic.h>
#include <string.h>

#include "ops/ops.h"
#include "ops/thread_pool.h"

/* Rows of a band when one product is split across threads. */
#define ROW_GRAIN 16

/* A transposed B is copied into this much stack to feed the small kernel. */
#define PACK_BYTES 32768

enum { BLAS_OLD, BLAS_AVX2, BLAS_AVX512 };
enum { FAM_C, FAM_AVX2, FAM_AVX512 };   /* our kernel families */

/* The class of kernels OpenBLAS runs.  OpenBLAS 0.3.21 does not know some
 * newer CPUs (this project's Xeon among them) and then falls back to its
 * SSE3 "Prescott" kernels, which our AVX2 kernels beat at every size. */
static int blas_class(void)
{
    static atomic_int cached = -1;
    int v = atomic_load_explicit(&cached, memory_order_relaxed);
    if (v < 0) {
        static const struct { const char *name; int cls; } known[] = {
            {"haswell", BLAS_AVX2}, {"zen", BLAS_AVX2}, {"excavator", BLAS_AVX2},
            {"skylakex", BLAS_AVX512}, {"cooperlake", BLAS_AVX512},
            {"sapphirerapids", BLAS_AVX512}};
        char name[32] = "";
        const char *core = openblas_get_corename();
        for (size_t i = 0; core && core[i] && i + 1 < sizeof name; i++)
            name[i] = (char)tolower((unsigned char)core[i]);
        v = BLAS_OLD;
        for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
            if (strcmp(name, known[i].name) == 0) v = known[i].cls;
        atomic_store_explicit(&cached, v, memory_order_relaxed);
    }
    return v;
}

/* Whether our kernels beat a BLAS call per item for (M,N,K) products (tb:
 * B stored transposed).  Measured with a batch of 256 (fewer for large
 * products) on this project's AVX-512 Xeon, one thread, OpenBLAS forced
 * to each class with OPENBLAS_CORETYPE (own vs BLAS, GFLOP/s):
 * - AVX2 kernels: against the SSE "Prescott" kernels ours win 2-3x at
 *   every size up to 128x512x128; against Haswell (AVX2) ones too
 *   (10x10x64 49 vs 21, 64^3 78 vs 63); against SkylakeX (AVX-512, twice
 *   as wide) only for small products (16^3 81 vs 80, 10x10x256 44 vs 37,
 *   but 32^3 73 vs 119).
 * - AVX-512 kernels: against Haswell ones at every size and layout tried
 *   (64^3 166 vs 62, 256^3 155 vs 81, 1024^3 100 vs 82); against SkylakeX
 *   ones for A B up to 256^3 and 64x4096x64 (64^3 165 vs 159, 256^3 158
 *   vs 151, 32x784x256 158 vs 100; 512^3 139 vs 148, 1024^3 102 vs 148),
 *   but for A B^T (nt kernel or a copy of B^T) only for small products
 *   (32^3 37 vs 32, 48^3 53 vs 55, 128^3 56 vs 71). */
/* AMD's AVX-512 cores (Zen 4 on), unlike the Xeon above: our A B kernels
 * beat OpenBLAS' AVX-512 (Cooperlake) kernels up to products of 2^28
 * multiply-adds (thread CPU time, one thread, GFLOP/s ours vs BLAS:
 * 256x784x256 112 vs 103, 512^3 112 vs 104, 256x1024x1024 101 vs 97,
 * 64x4096x64 107 vs 73, 4096x256x256 108 vs 99), then lose a little
 * (1024^3 96 vs 98, 2048x1024x1024 94 vs 99). */
static int amd_cpu(void)
{
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
    static atomic_int cached = -1;
    int v = atomic_load_explicit(&cached, memory_order_relaxed);
    if (v < 0) {
        __builtin_cpu_init();
        v = __builtin_cpu_is("amd") != 0;
        atomic_store_explicit(&cached, v, memory_order_relaxed);
    }
    return v;
#else
    return 0;
#endif
}

static int own_is_faster(int fam, int tb, int64_t M, int64_t N, int64_t K)
{
    double mnk = (double)M * (double)N * (double)K;
    if (fam == FAM_C) return mnk <= 4096;
    switch (blas_class()) {
    case BLAS_AVX512:
        if (fam == FAM_AVX512 && !tb) return mnk <= (amd_cpu() ? 268435456.0 : 16777216.0);
        return mnk <= (fam == FAM_AVX512 ? 32768 : 16384) || (double)M * (double)N <= 128;
    case BLAS_AVX2: return fam == FAM_AVX512 || (K <= 2048 && mnk <= 8388608);
    default: return 1;
    }
}

_Atomic int ck_bd_path = CK_BD_PATH_AUTO;

/* The kernel family for a path: the widest the CPU runs unless a test
 * asks for a narrower one. */
static int kernel_family(int path)
{
    if (path == CK_BD_PATH_PORTABLE) return FAM_C;
    if (path != CK_BD_PATH_AVX2 && ck_cpu_has_avx512()) return FAM_AVX512;
    return ck_cpu_has_avx2_fma() ? FAM_AVX2 : FAM_C;
}

/* The same question for the products of training (matmul.c's ck_gemm; ta:
 * A stored transposed, a weight gradient's X^T dZ).  Against wide BLAS
 * kernels ours win the skinny products of convolutions, where OpenBLAS'
 * packing costs more than the arithmetic (measured against its Cooperlake
 * kernels, one thread, GFLOP/s ours vs BLAS: A B with K = 9, 43264x32, 86
 * vs 49; A^T B of 9x32 over K = 43264, 105 vs 37).  On Zen 4 (zmm split in
 * two: ck_cpu_splits_zmm) ours also win wherever one side of C is at most
 * 64 wide and K at least four times that side: OpenBLAS packs the other,
 * long operand for 64 or fewer columns of work, which is the im2col
 * products of a CNN's training step (7744x288 by 288x64 forward, the
 * kernel gradient 288x64 over K = 7744); and A B with K <= 64, where
 * OpenBLAS first zeroes C (a pass as long as the product's loads).  A
 * step of bench_train's CNN (batch 64, interleaved in one process, median
 * of 20 rounds): 16.3 ms with BLAS, 15.7 with ours for A B, 14.4-14.6 for
 * A^T B too, 14.1-14.3 with the input gradient's A B^T turned into A B
 * (conv2d_grad.c); batch 32: 7.5 vs 6.9 ms.  Where one side is wider (an
 * MLP's 128x784x512, 784x512 over K = 128 or 32), BLAS and ours are within
 * 2%, and A^T B of a short K loses (ours adds into C through a buffer), so
 * those stay with BLAS; so does A B^T (our nt kernel lost 4% on the CNN).
 * Against older kernels the batch_dot rules above hold. */
int ck_own_gemm_wins(int ta, int tb, int64_t M, int64_t N, int64_t K)
{
    const int fam = kernel_family(CK_BD_PATH_AUTO);
    if (fam == FAM_C) return (double)M * (double)N * (double)K <= 4096;
    if (blas_class() == BLAS_AVX512) {
        if (tb) return 0;
        if (!ck_cpu_splits_zmm()) return K <= 16 || ((double)M * (double)N <= 4096 && K >= 1024);
        const int64_t side = M < N ? M : N;
        return K <= 16 || (side <= 64 && K >= 4 * side) || (!ta && K <= 64);
    }
    return own_is_faster(fam, tb, M, N, K);
}

static int fits_blas(int64_t M, int64_t N, int64_t K)
{
    return M <= INT_MAX && N <= INT_MAX && K <= INT_MAX;
}

/* The same dispatch for both floating types.  Per batch item A is (M,K) or
 * stored transposed (K,M) (ta), B is (K,N) or (N,K) (tb), C is (M,N). */
/* EP_NN: the A B kernel with an epilogue, EP_PASS: the epilogue as a pass
 * (ck_bd_plan.epilogue) */
#define DEFINE_RUN(NAME, T, SFX, BLAS_GEMM, BLAS_GEMV, EP_NN, EP_PASS)                        \
    static void NAME##_generic(const ck_bd_plan *p, const T *a, const T *b, T *c) \
    {                                                                         \
        const int64_t M = p->M, N = p->N, K = p->K;                           \
        for (int64_t i = 0; i < p->batch; i++) {                              \
            const T *A = a + i * M * K, *B = b + i * K * N;                   \
            for (int64_t r = 0; r < M; r++)                                   \
                for (int64_t j = 0; j < N; j++) {                             \
                    T s = 0;                                                  \
                    for (int64_t k = 0; k < K; k++)                           \
                        s += (p->trans_a ? A[k * M + r] : A[r * K + k]) *     \
                             (p->trans_b ? B[j * K + k] : B[k * N + j]);      \
                    c[(i * M + r) * N + j] = s;                               \
                }                                                             \
        }                                                                     \
    }                                                                         \
                                                                              \
    static void NAME##_gemm(const ck_bd_plan *p, const T *a, const T *b, T *c) \
    {                                                                         \
        const int64_t M = p->M, N = p->N, K = p->K;                           \
        const int ta = p->trans_a, tb = p->trans_b;                           \
        if (!fits_blas(M, N, K)) {                                            \
            NAME##_generic(p, a, b, c);                                       \
            return;                                                           \
        }                                                                     \
        for (int64_t i = 0; i < p->batch; i++)                                \
            BLAS_GEMM(CblasRowMajor, ta ? CblasTrans : CblasNoTrans,          \
                      tb ? CblasTrans : CblasNoTrans, (int)M, (int)N, (int)K, \
                      1, a + i * M * K, (int)(ta ? M : K), b + i * K * N,     \
                      (int)(tb ? K : N), 0, c + i * M * N, (int)N);           \
    }                                                                         \
                                                                              \
    /* whole: p is the caller's plan (not a band of rows of it); small,  */ \
    /* copy_bt: -1 (decide here) or the whole plan's decisions, so that a */ \
    /* band runs the kernels the whole product would.                     */ \
    static int NAME##_body(const ck_bd_plan *p, const T *a, const T *b, T *c, \
                            int whole, int small_in, int copy_in)             \
    {                                                                         \
        const int64_t nb = p->batch, M = p->M, N = p->N, K = p->K;            \
        const int64_t sa = M * K, sb = K * N, sc = M * N;                     \
        const int ta = p->trans_a, tb = p->trans_b;                           \
        if (nb == 0 || M == 0 || N == 0) return 0;                            \
        if (K == 0) {                                                         \
            for (int64_t i = 0; i < nb * sc; i++) c[i] = 0;                   \
            return 0;                                                         \
        }                                                                     \
        const int path = ck_bd_path;                                          \
        const int fam = kernel_family(path);                                  \
        void (*dot)(int64_t, int64_t, const T *, int64_t, const T *, int64_t, \
                    T *) = fam == FAM_AVX512 ? ck_##SFX##dot_rows_avx512      \
                         : fam == FAM_AVX2   ? ck_##SFX##dot_rows_avx2        \
                                             : ck_##SFX##dot_rows_c;          \
        void (*nn)(int64_t, int64_t, int64_t, const T *, int64_t, int64_t,    \
                   const T *, int64_t, T *, int64_t) =                        \
            fam == FAM_AVX512 ? ck_##SFX##gemm_small_avx512                   \
            : fam == FAM_AVX2 ? ck_##SFX##gemm_small_avx2                     \
                              : ck_##SFX##gemm_small_c;                       \
        void (*nt)(int64_t, int64_t, int64_t, const T *, int64_t, const T *,  \
                   int64_t, T *, int64_t) =                                   \
            fam == FAM_AVX512 ? ck_##SFX##gemm_nt_avx512                      \
            : fam == FAM_AVX2 ? ck_##SFX##gemm_nt_avx2                        \
                              : ck_##SFX##gemm_nt_c;                          \
        /* row-wise dots, fused over the batch: (b,K).(b,K), (M,K).(K),    */ \
        /* (K).(N,K) (not on the all-BLAS path of the tests)                */ \
        const int fused = path != CK_BD_PATH_BLAS;                            \
        if (fused && whole && M == 1 && N == 1) {                             \
            dot(nb, K, a, sa, b, sb, c);                                      \
            return 0;                                                         \
        }                                                                     \
        if (fused && N == 1 && !ta) {                                         \
            for (int64_t i = 0; i < nb; i++)                                  \
                dot(M, K, a + i * sa, K, b + i * sb, 0, c + i * sc);          \
            return 0;                                                         \
        }                                                                     \
        if (fused && whole && M == 1 && tb) {                                 \
            for (int64_t i = 0; i < nb; i++)                                  \
                dot(N, K, b + i * sb, K, a + i * sa, 0, c + i * sc);          \
            return 0;                                                         \
        }                                                                     \
        const int blas = fits_blas(M, N, K);                                  \
        const int small = small_in >= 0 ? small_in                            \
                          : !blas || (path == CK_BD_PATH_AUTO                 \
                                      ? own_is_faster(fam, tb, M, N, K)       \
                                      : path != CK_BD_PATH_BLAS);             \
        if ((whole && M == 1) || N == 1) {                                    \
            /* GEMV: a vector times the other operand, stored (K, W) when  */ \
            /* kw (the only layout left here on the non-BLAS paths) or     */ \
            /* (W, K) otherwise                                             */ \
            const T *mat = M == 1 ? b : a, *vec = M == 1 ? a : b;             \
            const int64_t smat = M == 1 ? sb : sa, svec = M == 1 ? sa : sb;   \
            const int64_t W = M == 1 ? N : M;                                 \
            const int kw = M == 1 ? !tb : ta;                                 \
            if (small && kw) {                                                \
                for (int64_t i = 0; i < nb; i++)                              \
                    nn(1, W, K, vec + i * svec, 0, 1, mat + i * smat, W,      \
                       c + i * sc, W);                                        \
            } else if (!blas) {                                               \
                NAME##_generic(p, a, b, c);                                   \
            } else {                                                          \
                for (int64_t i = 0; i < nb; i++)                              \
                    BLAS_GEMV(CblasRowMajor, kw ? CblasTrans : CblasNoTrans,  \
                              (int)(kw ? K : W), (int)(kw ? W : K), 1,        \
                              mat + i * smat, (int)(kw ? W : K),              \
                              vec + i * svec, 1, 0, c + i * sc, 1);           \
            }                                                                 \
            return 0;                                                         \
        }                                                                     \
        const int64_t cap = (int64_t)(PACK_BYTES / sizeof(T));                \
        /* A B^T: the nt kernel sums each entry across its vector lanes at */ \
        /* the end, about 3 operations per entry; copying B^T (K*N moves) */  \
        /* and running nn is cheaper when K <= M (measured with both SIMD */  \
        /* families: 64x16x64 40 -> 110 GFLOP/s, 10x10x64 19 -> 38; but   */  \
        /* 10x64x10 74 -> 25 without the copy).                            */ \
        const int copy_bt = copy_in >= 0 ? copy_in                            \
                            : small && tb && K * N <= cap &&                  \
                              (ta || (fam != FAM_C && K <= M));               \
        if (small && !tb && nb == 1 && p->epilogue && fam == FAM_AVX512) {   \
            /* the epilogue in the registers */                             \
            EP_NN(M, N, K, a, ta ? 1 : K, ta ? M : 1, b, N, c, N, p->epilogue); \
            return 1;                                                         \
        }                                                                     \
        if (small && !(ta && tb) && !copy_bt) {                               \
            for (int64_t i = 0; i < nb; i++) {                                \
                if (tb) nt(M, N, K, a + i * sa, K, b + i * sb, K, c + i * sc, N); \
                else nn(M, N, K, a + i * sa, ta ? 1 : K, ta ? M : 1, b + i * sb, \
                        N, c + i * sc, N);                                    \
            }                                                                 \
            return 0;                                                         \
        }                                                                     \
        /* 32 KiB of stack, aligned for whole-vector stores */                \
        _Alignas(64) T buf[PACK_BYTES / sizeof(T)];                           \
        if (small && ta && tb && M <= K && M * N <= cap) {                    \
            /* A^T B^T = (B A)^T: one small product, then a small transpose */ \
            for (int64_t i = 0; i < nb; i++) {                                \
                T *C = c + i * sc;                                            \
                nn(N, M, K, b + i * sb, K, 1, a + i * sa, M, buf, M);         \
                for (int64_t r = 0; r < M; r++)                               \
                    for (int64_t j = 0; j < N; j++) C[r * N + j] = buf[j * M + r]; \
            }                                                                 \
            return 0;                                                         \
        }                                                                     \
        if (copy_bt) {                                                        \
            /* copy B^T into (K, N) order: rows of buf written whole (the  */ \
            /* faster order of the two)                                     */ \
            for (int64_t i = 0; i < nb; i++) {                                \
                const T *B = b + i * sb;                                      \
                for (int64_t k = 0; k < K; k++)                               \
                    for (int64_t j = 0; j < N; j++) buf[k * N + j] = B[j * K + k]; \
                nn(M, N, K, a + i * sa, ta ? 1 : K, ta ? M : 1, buf, N, c + i * sc, N); \
            }                                                                 \
            return 0;                                                         \
        }                                                                     \
        NAME##_gemm(p, a, b, c);                                              \
        return 0;                                                             \
    }                                                                         \
                                                                              \
    /* The body, then the plan's epilogue as a pass if no kernel applied  */ \
    /* it (float32 single products only).                                 */ \
    static void NAME##_body_ep(const ck_bd_plan *p, const T *a, const T *b, T *c, \
                               int whole, int small_in, int copy_in)          \
    {                                                                         \
        if (!NAME##_body(p, a, b, c, whole, small_in, copy_in) && p->epilogue && p->batch == 1) \
            EP_PASS(c, p->M, p->N, p->epilogue);                              \
    }                                                                         \
                                                                              \
    typedef struct NAME##_job {                                               \
        const ck_bd_plan *p;                                                  \
        const T *a, *b;                                                       \
        T *c;                                                                 \
        int small, copy_bt;                                                   \
    } NAME##_job;                                                             \
                                                                              \
    static void NAME##_items(void *arg, int64_t i0, int64_t i1)               \
    {                                                                         \
        const NAME##_job *j = arg;                                            \
        ck_bd_plan q = *j->p;                                                 \
        q.batch = i1 - i0;                                                    \
        NAME##_body(&q, j->a + i0 * q.M * q.K, j->b + i0 * q.K * q.N,         \
                    j->c + i0 * q.M * q.N, 1, -1, -1);                        \
    }                                                                         \
                                                                              \
    static void NAME##_rows(void *arg, int64_t i0, int64_t i1)                \
    {                                                                         \
        const NAME##_job *j = arg;                                            \
        ck_bd_plan q = *j->p;                                                 \
        q.M = q.pre_x = i1 - i0;                                              \
        NAME##_body_ep(&q, j->a + i0 * q.K, j->b, j->c + i0 * q.N, 0, j->small, \
                    j->copy_bt);                                              \
        if (q.then) q.then(q.then_arg, i0, i1);                               \
    }                                                                         \
                                                                              \
    void NAME(const ck_bd_plan *p, const T *a, const T *b, T *c)              \
    {                                                                         \
        const int64_t M = p->M, N = p->N, K = p->K;                           \
        const double work = 2.0 * (double)p->batch * (double)M * (double)N * (double)K; \
        NAME##_job job = {p, a, b, c, -1, -1};                                \
        if (p->batch >= 2) {                                                  \
            /* whole batch items per part: each item runs as it would alone */ \
            ck_pool_for(p->batch, 1, work, NAME##_items, &job);               \
            return;                                                           \
        }                                                                     \
        if (p->batch == 1 && !p->trans_a && M >= 2 * ROW_GRAIN && N > 1 &&    \
            ck_pool_parts(M, ROW_GRAIN, work) > 1) {                          \
            /* one product (Dense): bands of rows, decided as a whole */      \
            const int path = ck_bd_path, fam = kernel_family(path);           \
            const int64_t cap = (int64_t)(PACK_BYTES / sizeof(T));            \
            job.small = !fits_blas(M, N, K) || (path == CK_BD_PATH_AUTO       \
                                                ? own_is_faster(fam, p->trans_b, M, N, K) \
                                                : path != CK_BD_PATH_BLAS);   \
            job.copy_bt = job.small && p->trans_b && K * N <= cap &&          \
                          fam != FAM_C && K <= M;                             \
            /* CBLAS packs all of B on each call: one band per thread */    \
            (job.small ? ck_pool_for : ck_pool_for_parts)(M, ROW_GRAIN, work, NAME##_rows, &job); \
            return;                                                           \
        }                                                                     \
        NAME##_body_ep(p, a, b, c, 1, -1, -1);                                \
        if (p->then && p->batch == 1) p->then(p->then_arg, 0, M);             \
    }

/* The epilogue's kernel and pass: float32 only; ck_bd_run_f64 has none to
 * apply (ck_bd_plan.epilogue), so its two are never called. */
static void dgemm_ep_none(int64_t M, int64_t N, int64_t K, const double *a, int64_t rs, int64_t cs,
                          const double *b, int64_t ldb, double *c, int64_t ldc, const ck_epilogue_f32 *ep)
{
    (void)ep;
    ck_dgemm_small_avx512(M, N, K, a, rs, cs, b, ldb, c, ldc);
}
static void depilogue_none(double *c, int64_t rows, int64_t cols, const ck_epilogue_f32 *ep)
{
    (void)c, (void)rows, (void)cols, (void)ep;
}

DEFINE_RUN(ck_bd_run_f32, float, s, cblas_sgemm, cblas_sgemv, ck_sgemm_small_ep_avx512, ck_epilogue_rows_f32)
DEFINE_RUN(ck_bd_run_f64, double, d, cblas_dgemm, cblas_dgemv, dgemm_ep_none, depilogue_none)
