/* Plain row-major matrix products for the layers (Dense), through the same
 * kernel choice as batch_dot: our AVX-512 / AVX2 kernels where they beat
 * the BLAS this machine's OpenBLAS runs, CBLAS otherwise. */
#include <cblas.h>

#include "ckeras.h"
#include "ops/ops.h"
#include "ops/thread_pool.h"

/* Rows or columns of a part of a split product: a multiple of the kernels'
 * 16-wide column tiles and of their row blocks. */
#define SPLIT_GRAIN 16

void ck_matmul_f32(int64_t M, int64_t N, int64_t K, const float *a, const float *b, float *c)
{
    ck_matmul_f32_then(M, N, K, a, b, c, NULL, NULL);
}

void ck_matmul_f32_then(int64_t M, int64_t N, int64_t K, const float *a, const float *b, float *c,
                        void (*then)(void *arg, int64_t r0, int64_t r1), void *arg)
{
    ck_bd_plan p = {.batch = 1, .M = M, .N = N, .K = K, .pre_x = M, .post_x = 1, .pre_y = 1, .post_y = N,
                    .then = then, .then_arg = arg};
    ck_bd_run_f32(&p, a, b, c);
}

void ck_matmul_f32_ep(int64_t M, int64_t N, int64_t K, const float *a, const float *b, float *c,
                      const ck_epilogue_f32 *ep)
{
    ck_bd_plan p = {.batch = 1, .M = M, .N = N, .K = K, .pre_x = M, .post_x = 1, .pre_y = 1, .post_y = N,
                    .epilogue = ep};
    ck_bd_run_f32(&p, a, b, c);
}

/* The operations of nn_epi_f32 (gemm_nn_avx512.c), one element at a time;
 * the product and the sum are separate statements, never one fused
 * multiply-add. */
void ck_epilogue_rows_f32(float *c, int64_t rows, int64_t cols, const ck_epilogue_f32 *ep)
{
    for (int64_t r = 0; r < rows; r++, c += cols)
        for (int64_t u = 0; u < cols; u++) {
            float v = c[u];
            if (ep->bias) v += ep->bias[u];
            if (ep->relu) v = v > 0 || v != v ? v : 0.0f;
            if (ep->scale) {
                const float t = v * ep->scale[u];
                v = t + ep->shift[u];
            }
            c[u] = v;
        }
}

int ck_dense_row_f32(int64_t N, int64_t K, const float *x, const float *w, const float *bias, int relu, float *y)
{
    /* ck_bd_run_f32 runs such a row (M = 1, N >= 2, N K <= 2^24) through
     * ck_sgemm_small_avx512 on every BLAS class (own_is_faster) */
    if (ck_bd_path != CK_BD_PATH_AUTO || N < 2 || (double)N * (double)K > 16777216.0 || !ck_cpu_has_avx512())
        return 0;
    ck_sdense_row_avx512(N, K, x, w, bias, relu, y);
    return 1;
}

void ck_matmul_f64(int64_t M, int64_t N, int64_t K, const double *a, const double *b, double *c)
{
    ck_bd_plan p = {.batch = 1, .M = M, .N = N, .K = K, .pre_x = M, .post_x = 1, .pre_y = 1, .post_y = N};
    ck_bd_run_f64(&p, a, b, c);
}

/* ---- the products of training: ours or CBLAS ---------------------------- */

/* Rows of C per block when adding into C: the block is computed into this
 * much stack, then added (our kernels overwrite their output). */
#define ADD_BLOCK_BYTES 32768

/* The kernels of a path (ck_bd_path: tests force each; AUTO takes the
 * widest this CPU runs, and only where ck_own_gemm_wins). */
static int gemm_family(int trans_a, int trans_b, int64_t M, int64_t N, int64_t K)
{
    switch ((int)ck_bd_path) { /* clang refuses a switch on an _Atomic */
    case CK_BD_PATH_BLAS: return -1;
    case CK_BD_PATH_PORTABLE: return 0;
    case CK_BD_PATH_AVX2: return ck_cpu_has_avx2_fma() ? 1 : 0;
    case CK_BD_PATH_AVX512: return ck_cpu_has_avx512() ? 2 : ck_cpu_has_avx2_fma() ? 1 : 0;
    default:
        if (!ck_cpu_has_avx2_fma() || !ck_own_gemm_wins(trans_a, trans_b, M, N, K)) return -1;
        return ck_cpu_has_avx512() ? 2 : 1;
    }
}

/* One product on the calling thread with the family `fam` (-1: CBLAS). */
#define DEFINE_GEMM(NAME, T, SMALL, NT, BLAS)                                                           \
    static void NAME##_on(int fam, int trans_a, int trans_b, int64_t M, int64_t N, int64_t K, const T *a, \
                          int64_t lda, const T *b, int64_t ldb, T beta, T *c, int64_t ldc)              \
    {                                                                                                   \
        if (fam >= 0) {                                                                                 \
            const int64_t block = ADD_BLOCK_BYTES / (int64_t)sizeof(T) / N;                             \
            /* A(i, k) = a[i * rs + k * cs]; rows i0.. start at a + i0 * rs */                          \
            const int64_t rs = trans_a ? 1 : lda, cs = trans_a ? lda : 1;                               \
            _Alignas(64) T buf[ADD_BLOCK_BYTES / sizeof(T)];                                            \
            const int64_t step = beta == 0 ? M : block;                                                 \
            for (int64_t i0 = 0; i0 < M; i0 += step) {                                                  \
                const int64_t rows = M - i0 < step ? M - i0 : step;                                     \
                T *out = beta == 0 ? c + i0 * ldc : buf;                                                \
                const int64_t ldo = beta == 0 ? ldc : N;                                                \
                if (trans_b)                                                                            \
                    (fam == 2 ? NT##_avx512 : fam == 1 ? NT##_avx2 : NT##_c)(rows, N, K, a + i0 * rs, lda, b, \
                                                                             ldb, out, ldo);            \
                else                                                                                    \
                    (fam == 2 ? SMALL##_avx512 : fam == 1 ? SMALL##_avx2 : SMALL##_c)(                  \
                        rows, N, K, a + i0 * rs, rs, cs, b, ldb, out, ldo);                             \
                if (beta != 0)                                                                          \
                    for (int64_t i = 0; i < rows; i++)                                                  \
                        for (int64_t j = 0; j < N; j++) c[(i0 + i) * ldc + j] += buf[i * N + j];        \
            }                                                                                           \
            return;                                                                                     \
        }                                                                                               \
        BLAS(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans,   \
             (blasint)M, (blasint)N, (blasint)K, 1, a, (blasint)lda, b, (blasint)ldb, beta, c, (blasint)ldc); \
    }                                                                                                   \
                                                                                                        \
    typedef struct NAME##_job {                                                                         \
        int fam, trans_a, trans_b, by_rows;                                                             \
        int64_t M, N, K, lda, ldb, ldc;                                                                 \
        const T *a, *b;                                                                                 \
        T beta, *c;                                                                                     \
    } NAME##_job;                                                                                       \
                                                                                                        \
    /* Rows [i0, i1) of C (by_rows) or its columns [i0, i1). */                                        \
    static void NAME##_part(void *arg, int64_t i0, int64_t i1)                                          \
    {                                                                                                   \
        const NAME##_job *j = arg;                                                                      \
        if (j->by_rows)                                                                                 \
            NAME##_on(j->fam, j->trans_a, j->trans_b, i1 - i0, j->N, j->K,                              \
                      j->a + (j->trans_a ? i0 : i0 * j->lda), j->lda, j->b, j->ldb, j->beta,            \
                      j->c + i0 * j->ldc, j->ldc);                                                      \
        else                                                                                            \
            NAME##_on(j->fam, j->trans_a, j->trans_b, j->M, i1 - i0, j->K, j->a, j->lda,                \
                      j->b + (j->trans_b ? i0 * j->ldb : i0), j->ldb, j->beta, j->c + i0, j->ldc);      \
    }                                                                                                   \
                                                                                                        \
    void NAME(int trans_a, int trans_b, int64_t M, int64_t N, int64_t K, const T *a, int64_t lda,        \
              const T *b, int64_t ldb, T beta, T *c, int64_t ldc)                                       \
    {                                                                                                   \
        if (M == 0 || N == 0) return;                                                                   \
        const int64_t block = ADD_BLOCK_BYTES / (int64_t)sizeof(T) / N;                                 \
        const int fam = K > 0 && !(trans_a && trans_b) && (beta == 0 || block >= 1)                    \
                            ? gemm_family(trans_a, trans_b, M, N, K) : -1;                                       \
        /* The family is chosen once for the whole product, so that every  */                          \
        /* part runs the same kernel and the result does not depend on the */                          \
        /* number of threads.  Rows are split when there are enough of them */                         \
        /* (every kernel computes each row alike), else columns.            */                          \
        /* CBLAS packs the operand that is not split on every call: split */                          \
        /* the side that leaves the smaller one to pack twice, in one part */                           \
        /* per thread.                                                      */                          \
        const int by_rows = M >= N || (fam >= 0 && M >= 2 * SPLIT_GRAIN * ck_get_num_threads());        \
        NAME##_job job = {fam, trans_a, trans_b, by_rows, M, N, K, lda, ldb, ldc, a, b, beta, c};       \
        (fam >= 0 ? ck_pool_for : ck_pool_for_parts)(by_rows ? M : N, SPLIT_GRAIN,                      \
                                                      2.0 * (double)M * (double)N * (double)K, NAME##_part, &job); \
    }

DEFINE_GEMM(ck_gemm_f32, float, ck_sgemm_small, ck_sgemm_nt, cblas_sgemm)
DEFINE_GEMM(ck_gemm_f64, double, ck_dgemm_small, ck_dgemm_nt, cblas_dgemm)

/* ---- the products of backward passes (beta 0 overwrites c, 1 adds) ---- */

void ck_gemm_tn_f32(int64_t M, int64_t N, int64_t K, const float *a, const float *b, float beta, float *c)
{
    ck_gemm_f32(1, 0, M, N, K, a, M, b, N, beta, c, N);
}

void ck_gemm_tn_f64(int64_t M, int64_t N, int64_t K, const double *a, const double *b, double beta, double *c)
{
    ck_gemm_f64(1, 0, M, N, K, a, M, b, N, beta, c, N);
}

void ck_gemm_nt_f32(int64_t M, int64_t N, int64_t K, const float *a, const float *b, float beta, float *c)
{
    ck_gemm_f32(0, 1, M, N, K, a, K, b, K, beta, c, N);
}

void ck_gemm_nt_f64(int64_t M, int64_t N, int64_t K, const double *a, const double *b, double beta, double *c)
{
    ck_gemm_f64(0, 1, M, N, K, a, K, b, K, beta, c, N);
}
