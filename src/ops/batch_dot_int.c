/* Integer batch_dot: exact, accumulated in 64 bits.
 *
 * Sums are formed in uint64_t so that overflow wraps instead of being
 * undefined; the int64 result is then what numpy's int64 matmul gives, and
 * the int32 result (the low 32 bits) is what numpy's int32 matmul gives,
 * wrap-around included. */
#include "ops/ops.h"

/* Columns of C accumulated at once when B's rows are contiguous. */
#define CHUNK 256

#define DEFINE_RUN_INT(NAME, T)                                               \
    void NAME(const ck_bd_plan *p, const T *a, const T *b, T *c)              \
    {                                                                         \
        const int64_t nb = p->batch, M = p->M, N = p->N, K = p->K;            \
        const int64_t sa = M * K, sb = K * N, sc = M * N;                     \
        /* A(i,k) = a[i*ra + k*ka], B(k,j) = b[k*rb + j*jb] */                \
        const int64_t ra = p->trans_a ? 1 : K, ka = p->trans_a ? M : 1;       \
        const int64_t rb = p->trans_b ? 1 : N, jb = p->trans_b ? K : 1;       \
        for (int64_t bi = 0; bi < nb; bi++) {                                 \
            const T *A = a + bi * sa, *B = b + bi * sb;                       \
            T *C = c + bi * sc;                                               \
            if (jb == 1) {                                                    \
                uint64_t acc[CHUNK];                                          \
                for (int64_t i = 0; i < M; i++)                               \
                    for (int64_t j0 = 0; j0 < N; j0 += CHUNK) {               \
                        int64_t w = N - j0 < CHUNK ? N - j0 : CHUNK;          \
                        for (int64_t j = 0; j < w; j++) acc[j] = 0;           \
                        for (int64_t k = 0; k < K; k++) {                     \
                            uint64_t aik = (uint64_t)(int64_t)A[i * ra + k * ka]; \
                            const T *bk = B + k * rb + j0;                    \
                            for (int64_t j = 0; j < w; j++)                   \
                                acc[j] += aik * (uint64_t)(int64_t)bk[j];     \
                        }                                                     \
                        for (int64_t j = 0; j < w; j++)                       \
                            C[i * N + j0 + j] = (T)(int64_t)acc[j];           \
                    }                                                         \
            } else {                                                          \
                for (int64_t i = 0; i < M; i++)                               \
                    for (int64_t j = 0; j < N; j++) {                         \
                        uint64_t s = 0;                                       \
                        for (int64_t k = 0; k < K; k++)                       \
                            s += (uint64_t)(int64_t)A[i * ra + k * ka] *      \
                                 (uint64_t)(int64_t)B[k * rb + j * jb];       \
                        C[i * N + j] = (T)(int64_t)s;                         \
                    }                                                         \
            }                                                                 \
        }                                                                     \
    }

DEFINE_RUN_INT(ck_bd_run_i32, int32_t)
DEFINE_RUN_INT(ck_bd_run_i64, int64_t)
