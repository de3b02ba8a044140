/* AVX-512 versions of the small-matrix kernels of batch_dot_avx2.c.
 *
 * Same jobs and the same "no packing, whole K range in registers" design,
 * but twice as wide, with 32 vector registers (so taller register blocks)
 * and mask registers: partial vectors at the edges are masked loads and
 * stores, never scalar tails.  Compiled through the target attribute only
 * (the library is built for baseline x86-64); callers check
 * ck_cpu_has_avx512() first.  Elsewhere the AVX2 entry points stand in.
 * The A B kernels are in gemm_nn_avx512.c. */
#include <stdatomic.h>

#include "ops/ops.h"

#if defined(__GNUC__) && defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>

int ck_cpu_has_avx512(void)
{
    static atomic_int cached = -1;
    int v = atomic_load_explicit(&cached, memory_order_relaxed);
    if (v < 0) {
        /* libgcc also checks (XGETBV) that the OS saves the zmm state */
        __builtin_cpu_init();
        v = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
            __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("fma");
        atomic_store_explicit(&cached, v, memory_order_relaxed);
    }
    return v;
}

/* AMD family 0x19 with AVX-512: Zen 4, whose 512-bit operations run as two
 * 256-bit halves (one zmm FMA a cycle rather than two), so a kernel's
 * broadcasts compete with its FMAs (gemm_nn_avx512.c picks its blocks by
 * this). */
int ck_cpu_splits_zmm(void)
{
    static atomic_int cached = -1;
    int v = atomic_load_explicit(&cached, memory_order_relaxed);
    if (v < 0) {
        unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
        __builtin_cpu_init();
        v = 0;
        if (ck_cpu_has_avx512() && __builtin_cpu_is("amd") && __get_cpuid(1, &eax, &ebx, &ecx, &edx)) {
            const unsigned base = (eax >> 8) & 0xF, ext = (eax >> 20) & 0xFF;
            v = (base == 0xF ? base + ext : base) == 0x19;
        }
        atomic_store_explicit(&cached, v, memory_order_relaxed);
    }
    return v;
}

#define TGT __attribute__((target("avx512f,avx512vl,avx512dq,fma")))
#define INL static inline __attribute__((always_inline)) TGT

/* ------------------------------------------------- horizontal sums
 *
 * Turning 16 (float) or 8 (double) accumulators into one vector of their
 * sums is a tree: each level halves the lanes that still hold one
 * accumulator's partial sums and packs two accumulators into one vector.
 * A level costs one cross-lane shuffle, one blend and one add per pair
 * (instead of two shuffles), so the whole tree is about three operations
 * per accumulator.  The tree leaves the sums in a scrambled lane order;
 * callers feed the accumulators in the order the RHO tables give, so that
 * lane i ends up holding the sum of accumulator i. */

/* lanes 0-7: a's partial sums, 8-15: b's */
INL __m512 lvl1_f32(__m512 a, __m512 b)
{
    return _mm512_add_ps(_mm512_mask_blend_ps(0xFF00, a, b),
                         _mm512_shuffle_f32x4(a, b, _MM_SHUFFLE(1, 0, 3, 2)));
}

/* 128-bit blocks: c's first half, d's first half, c's second, d's second */
INL __m512 lvl2_f32(__m512 c, __m512 d)
{
    const __m512i idx = _mm512_setr_epi32(4, 5, 6, 7, 16, 17, 18, 19, 12, 13, 14, 15, 24,
                                          25, 26, 27);
    return _mm512_add_ps(_mm512_mask_blend_ps(0xF0F0, c, d),
                         _mm512_permutex2var_ps(c, idx, d));
}

/* in each block: lanes 0-1 from e's block, 2-3 from f's */
INL __m512 lvl3_f32(__m512 e, __m512 f)
{
    return _mm512_add_ps(_mm512_mask_blend_ps(0xCCCC, e, f),
                         _mm512_shuffle_ps(e, f, _MM_SHUFFLE(1, 0, 3, 2)));
}

/* in each block: g's lanes 0-1, h's 0-1, g's 2-3, h's 2-3 */
INL __m512 lvl4_f32(__m512 g, __m512 h)
{
    return _mm512_add_ps(_mm512_mask_blend_ps(0xAAAA, g, h),
                         _mm512_permute_ps(_mm512_mask_blend_ps(0x5555, g, h),
                                           _MM_SHUFFLE(2, 3, 0, 1)));
}

/* Lane i of the result is the sum of v[i] when v[p] holds accumulator
 * RHO16[p]. */
static const int RHO16[16] = {0, 8, 4, 12, 2, 10, 6, 14, 1, 9, 5, 13, 3, 11, 7, 15};

INL __m512 sum16_f32(const __m512 *acc)
{
    __m512 v[16], w[8], x[4];
#pragma GCC unroll 16
    for (int p = 0; p < 16; p++) v[p] = acc[RHO16[p]];
#pragma GCC unroll 8
    for (int j = 0; j < 8; j++) w[j] = lvl1_f32(v[2 * j], v[2 * j + 1]);
#pragma GCC unroll 4
    for (int m = 0; m < 4; m++) x[m] = lvl2_f32(w[2 * m], w[2 * m + 1]);
    return lvl4_f32(lvl3_f32(x[0], x[1]), lvl3_f32(x[2], x[3]));
}

INL __m512d lvl1_f64(__m512d a, __m512d b)
{
    return _mm512_add_pd(_mm512_mask_blend_pd(0xF0, a, b),
                         _mm512_shuffle_f64x2(a, b, _MM_SHUFFLE(1, 0, 3, 2)));
}

INL __m512d lvl2_f64(__m512d c, __m512d d)
{
    const __m512i idx = _mm512_setr_epi64(2, 3, 8, 9, 6, 7, 12, 13);
    return _mm512_add_pd(_mm512_mask_blend_pd(0xCC, c, d),
                         _mm512_permutex2var_pd(c, idx, d));
}

INL __m512d lvl3_f64(__m512d e, __m512d f)
{
    return _mm512_add_pd(_mm512_mask_blend_pd(0xAA, e, f),
                         _mm512_permute_pd(_mm512_mask_blend_pd(0x55, e, f), 0x55));
}

static const int RHO8[8] = {0, 4, 2, 6, 1, 5, 3, 7};

INL __m512d sum8_f64(const __m512d *acc)
{
    __m512d v[8], w[4];
#pragma GCC unroll 8
    for (int p = 0; p < 8; p++) v[p] = acc[RHO8[p]];
#pragma GCC unroll 4
    for (int j = 0; j < 4; j++) w[j] = lvl1_f64(v[2 * j], v[2 * j + 1]);
    return lvl3_f64(lvl2_f64(w[0], w[1]), lvl2_f64(w[2], w[3]));
}

/* The sum of one vector, pairing lanes exactly as the trees above do
 * (i with i+8, then i+4, i+2, i+1; addition is commutative), so a row
 * summed alone gets the same bits as in a block. */
INL float sum1_f32(__m512 v)
{
    const __m256 h = _mm256_add_ps(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1));
    __m128 q = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
    q = _mm_add_ps(q, _mm_movehl_ps(q, q));
    return _mm_cvtss_f32(_mm_add_ss(q, _mm_movehdup_ps(q)));
}

INL double sum1_f64(__m512d v)
{
    const __m256d h = _mm256_add_pd(_mm512_castpd512_pd256(v), _mm512_extractf64x4_pd(v, 1));
    const __m128d q = _mm_add_pd(_mm256_castpd256_pd128(h), _mm256_extractf128_pd(h, 1));
    return _mm_cvtsd_f64(_mm_add_sd(q, _mm_unpackhi_pd(q, q)));
}

/* ------------------------------------------------- row-wise dots
 *
 * Blocks of R rows (16 floats / 8 doubles fill one vector of sums; fewer
 * leave zero accumulators).  A row count that is not a multiple of the
 * block is finished by one block shifted back to end at the last row: the
 * rows it shares with the previous block are recomputed by the very same
 * operations, so they are rewritten with identical values.  Every row,
 * in a block or alone, is the same two chains of FMAs and the same sum of
 * lanes, so its value does not depend on the number of rows (the batch
 * size).  SV0: every row is dotted with the same vector (sv == 0). */

#define DOT_BLOCK(SFX, T, V, W, MASKT, ZERO, ADD, LOADU, MLOADU, FMA, SUMALL, SUM1, STORE, MSTORE) \
    /* Row after row (two pointers live, not 2R), each with two sums;     */ \
    /* out-of-order execution overlaps the rows' independent chains.      */ \
    INL void dot_blk_##SFX(const int R, const int SV0, int64_t K, const T *a,    \
                           int64_t sa, const T *v, int64_t sv, T *c)            \
    {                                                                           \
        const int64_t KW = K & ~(int64_t)(W - 1);                               \
        const MASKT m = (MASKT)((1u << (K - KW)) - 1u);                         \
        V acc[W];                                                               \
        _Pragma("GCC unroll 16") for (int r = 0; r < W; r++) acc[r] = ZERO();   \
        _Pragma("GCC unroll 16") for (int r = 0; r < R; r++) {                  \
            const T *ar = a + r * sa, *vr = SV0 ? v : v + r * sv;               \
            V s0 = ZERO(), s1 = ZERO();                                         \
            int64_t k = 0;                                                      \
            for (; k + 2 * W <= KW; k += 2 * W) {                               \
                s0 = FMA(LOADU(ar + k), LOADU(vr + k), s0);                     \
                s1 = FMA(LOADU(ar + k + W), LOADU(vr + k + W), s1);             \
            }                                                                   \
            if (k < KW) s0 = FMA(LOADU(ar + k), LOADU(vr + k), s0);             \
            if (KW < K) s1 = FMA(MLOADU(m, ar + KW), MLOADU(m, vr + KW), s1);   \
            acc[r] = ADD(s0, s1);                                               \
        }                                                                       \
        if (R == W) STORE(c, SUMALL(acc));                                      \
        else MSTORE(c, (MASKT)((1u << R) - 1u), SUMALL(acc));                   \
    }                                                                           \
                                                                                \
    /* one row: two accumulators to halve the dependency chain */               \
    INL T dot1_##SFX(int64_t K, const T *a, const T *v)                         \
    {                                                                           \
        const int64_t KW = K & ~(int64_t)(W - 1);                               \
        V s0 = ZERO(), s1 = ZERO();                                             \
        int64_t k = 0;                                                          \
        for (; k + 2 * W <= KW; k += 2 * W) {                                   \
            s0 = FMA(LOADU(a + k), LOADU(v + k), s0);                           \
            s1 = FMA(LOADU(a + k + W), LOADU(v + k + W), s1);                   \
        }                                                                       \
        if (k < KW) s0 = FMA(LOADU(a + k), LOADU(v + k), s0);                   \
        if (KW < K) {                                                           \
            const MASKT m = (MASKT)((1u << (K - KW)) - 1u);                     \
            s1 = FMA(MLOADU(m, a + KW), MLOADU(m, v + KW), s1);                 \
        }                                                                       \
        return SUM1(s0, s1);                                                    \
    }

#define ZERO_F32 _mm512_setzero_ps
#define ZERO_F64 _mm512_setzero_pd
#define SUM1_F32(s0, s1) sum1_f32(_mm512_add_ps(s0, s1))
#define SUM1_F64(s0, s1) sum1_f64(_mm512_add_pd(s0, s1))

DOT_BLOCK(f32, float, __m512, 16, __mmask16, ZERO_F32, _mm512_add_ps, _mm512_loadu_ps, _mm512_maskz_loadu_ps,
          _mm512_fmadd_ps, sum16_f32, SUM1_F32, _mm512_storeu_ps, _mm512_mask_storeu_ps)
DOT_BLOCK(f64, double, __m512d, 8, __mmask8, ZERO_F64, _mm512_add_pd, _mm512_loadu_pd, _mm512_maskz_loadu_pd,
          _mm512_fmadd_pd, sum8_f64, SUM1_F64, _mm512_storeu_pd, _mm512_mask_storeu_pd)

/* The instances: full blocks and half and quarter ones for short calls. */
#define DOT_FN(SFX, T, R, SV0)                                                  \
    static TGT void dot_##SFX##_##R##_##SV0(int64_t K, const T *a, int64_t sa,  \
                                            const T *v, int64_t sv, T *c)       \
    {                                                                           \
        dot_blk_##SFX(R, SV0, K, a, sa, v, sv, c);                              \
    }
DOT_FN(f32, float, 16, 0) DOT_FN(f32, float, 16, 1) DOT_FN(f32, float, 8, 0)
DOT_FN(f32, float, 8, 1) DOT_FN(f32, float, 4, 0) DOT_FN(f32, float, 4, 1)
DOT_FN(f64, double, 8, 0) DOT_FN(f64, double, 8, 1) DOT_FN(f64, double, 4, 0)
DOT_FN(f64, double, 4, 1)

/* Rows in blocks of the widest instance that fits, the last block shifted
 * back; fewer than 4 rows one by one. */
#define DOT_ROWS(SFX, T, B0, B1, B2)                                            \
    do {                                                                        \
        if (n < B2) {                                                           \
            for (int64_t i = 0; i < n; i++) c[i] = dot1_##SFX(K, a + i * sa, v + i * sv); \
            return;                                                             \
        }                                                                       \
        const int sv0 = sv == 0;                                                \
        void (*blk)(int64_t, const T *, int64_t, const T *, int64_t, T *);      \
        int64_t R;                                                              \
        if (n >= B0) {                                                          \
            R = B0;                                                             \
            blk = sv0 ? dot_##SFX##_##B0##_1 : dot_##SFX##_##B0##_0;            \
        } else if (n >= B1) {                                                   \
            R = B1;                                                             \
            blk = sv0 ? dot_##SFX##_##B1##_1 : dot_##SFX##_##B1##_0;            \
        } else {                                                                \
            R = B2;                                                             \
            blk = sv0 ? dot_##SFX##_##B2##_1 : dot_##SFX##_##B2##_0;            \
        }                                                                       \
        for (int64_t i = 0;; i += R) {                                          \
            if (i + R > n) i = n - R;                                           \
            blk(K, a + i * sa, sa, v + i * sv, sv, c + i);                      \
            if (i + R >= n) break;                                              \
        }                                                                       \
    } while (0)

TGT void ck_sdot_rows_avx512(int64_t n, int64_t K, const float *a, int64_t sa,
                             const float *v, int64_t sv, float *c)
{
    DOT_ROWS(f32, float, 16, 8, 4);
}

TGT void ck_ddot_rows_avx512(int64_t n, int64_t K, const double *a, int64_t sa,
                             const double *v, int64_t sv, double *c)
{
    DOT_ROWS(f64, double, 8, 4, 4);
}

/* ------------------------------------------------- C = A B^T
 *
 * Each entry is a dot product along K.  A block of R rows of A by S rows
 * of B keeps R*S vector sums (R, S <= 4: eight loads feed sixteen FMAs
 * per step), then one horizontal-sum tree (float; two for double) gives
 * the whole R x S block of C. */

INL void nt_blk_f32(const int R, const int S, int64_t K, const float *a, int64_t lda,
                    const float *b, int64_t ldb, float *c, int64_t ldc)
{
    const int64_t KW = K & ~(int64_t)15;
    const __mmask16 m = (__mmask16)((1u << (K - KW)) - 1u);
    __m512 acc[16];
#pragma GCC unroll 16
    for (int i = 0; i < 16; i++) acc[i] = _mm512_setzero_ps();
    for (int64_t k = 0; k < KW; k += 16) {
        __m512 av[4];
#pragma GCC unroll 4
        for (int r = 0; r < R; r++) av[r] = _mm512_loadu_ps(a + r * lda + k);
#pragma GCC unroll 4
        for (int s = 0; s < S; s++) {
            const __m512 bv = _mm512_loadu_ps(b + s * ldb + k);
#pragma GCC unroll 4
            for (int r = 0; r < R; r++) acc[4 * r + s] = _mm512_fmadd_ps(av[r], bv, acc[4 * r + s]);
        }
    }
    if (KW < K) {
        __m512 av[4];
#pragma GCC unroll 4
        for (int r = 0; r < R; r++) av[r] = _mm512_maskz_loadu_ps(m, a + r * lda + KW);
#pragma GCC unroll 4
        for (int s = 0; s < S; s++) {
            const __m512 bv = _mm512_maskz_loadu_ps(m, b + s * ldb + KW);
#pragma GCC unroll 4
            for (int r = 0; r < R; r++) acc[4 * r + s] = _mm512_fmadd_ps(av[r], bv, acc[4 * r + s]);
        }
    }
    const __m512 sums = sum16_f32(acc);   /* lane 4r+s: entry (r, s) */
    const __mmask8 ms = (__mmask8)((1u << S) - 1u);
    _mm_mask_storeu_ps(c, ms, _mm512_castps512_ps128(sums));
    if (R > 1) _mm_mask_storeu_ps(c + ldc, ms, _mm512_extractf32x4_ps(sums, 1));
    if (R > 2) _mm_mask_storeu_ps(c + 2 * ldc, ms, _mm512_extractf32x4_ps(sums, 2));
    if (R > 3) _mm_mask_storeu_ps(c + 3 * ldc, ms, _mm512_extractf32x4_ps(sums, 3));
}

INL void nt_blk_f64(const int R, const int S, int64_t K, const double *a, int64_t lda,
                    const double *b, int64_t ldb, double *c, int64_t ldc)
{
    const int64_t KW = K & ~(int64_t)7;
    const __mmask8 m = (__mmask8)((1u << (K - KW)) - 1u);
    __m512d acc[16];
#pragma GCC unroll 16
    for (int i = 0; i < 16; i++) acc[i] = _mm512_setzero_pd();
    for (int64_t k = 0; k < KW; k += 8) {
        __m512d av[4];
#pragma GCC unroll 4
        for (int r = 0; r < R; r++) av[r] = _mm512_loadu_pd(a + r * lda + k);
#pragma GCC unroll 4
        for (int s = 0; s < S; s++) {
            const __m512d bv = _mm512_loadu_pd(b + s * ldb + k);
#pragma GCC unroll 4
            for (int r = 0; r < R; r++) acc[4 * r + s] = _mm512_fmadd_pd(av[r], bv, acc[4 * r + s]);
        }
    }
    if (KW < K) {
        __m512d av[4];
#pragma GCC unroll 4
        for (int r = 0; r < R; r++) av[r] = _mm512_maskz_loadu_pd(m, a + r * lda + KW);
#pragma GCC unroll 4
        for (int s = 0; s < S; s++) {
            const __m512d bv = _mm512_maskz_loadu_pd(m, b + s * ldb + KW);
#pragma GCC unroll 4
            for (int r = 0; r < R; r++) acc[4 * r + s] = _mm512_fmadd_pd(av[r], bv, acc[4 * r + s]);
        }
    }
    const __mmask8 ms = (__mmask8)((1u << S) - 1u);
    const __m512d s01 = sum8_f64(acc);   /* lane 4r+s: entry (r, s), r < 2 */
    _mm256_mask_storeu_pd(c, ms, _mm512_castpd512_pd256(s01));
    if (R > 1) _mm256_mask_storeu_pd(c + ldc, ms, _mm512_extractf64x4_pd(s01, 1));
    if (R > 2) {
        const __m512d s23 = sum8_f64(acc + 8);
        _mm256_mask_storeu_pd(c + 2 * ldc, ms, _mm512_castpd512_pd256(s23));
        if (R > 3) _mm256_mask_storeu_pd(c + 3 * ldc, ms, _mm512_extractf64x4_pd(s23, 1));
    }
}

typedef void (*nt_f32_fn)(int64_t, const float *, int64_t, const float *, int64_t, float *,
                          int64_t);
typedef void (*nt_f64_fn)(int64_t, const double *, int64_t, const double *, int64_t,
                          double *, int64_t);
#define NT_FN(SFX, T, R, S)                                                       \
    static TGT void nt_##SFX##_##R##_##S(int64_t K, const T *a, int64_t lda,      \
                                         const T *b, int64_t ldb, T *c, int64_t ldc) \
    {                                                                             \
        nt_blk_##SFX(R, S, K, a, lda, b, ldb, c, ldc);                            \
    }
#define NT_ROW(SFX, T, R)                                                         \
    NT_FN(SFX, T, R, 1) NT_FN(SFX, T, R, 2) NT_FN(SFX, T, R, 3) NT_FN(SFX, T, R, 4)
NT_ROW(f32, float, 1) NT_ROW(f32, float, 2) NT_ROW(f32, float, 3) NT_ROW(f32, float, 4)
NT_ROW(f64, double, 1) NT_ROW(f64, double, 2) NT_ROW(f64, double, 3) NT_ROW(f64, double, 4)
#define NT_TABLE_ROW(SFX, R) {nt_##SFX##_##R##_1, nt_##SFX##_##R##_2, nt_##SFX##_##R##_3, nt_##SFX##_##R##_4}
static const nt_f32_fn nt_f32_table[4][4] = {NT_TABLE_ROW(f32, 1), NT_TABLE_ROW(f32, 2),
                                             NT_TABLE_ROW(f32, 3), NT_TABLE_ROW(f32, 4)};
static const nt_f64_fn nt_f64_table[4][4] = {NT_TABLE_ROW(f64, 1), NT_TABLE_ROW(f64, 2),
                                             NT_TABLE_ROW(f64, 3), NT_TABLE_ROW(f64, 4)};

/* Near-equal blocks of at most 4 along both M and N (10 -> 4, 3, 3). */
#define GEMM_NT(SFX)                                                              \
    do {                                                                          \
        if (M <= 0 || N <= 0) return;                                             \
        const int64_t nbi = (M + 3) / 4, bi = M / nbi, mi = M % nbi;              \
        const int64_t nbj = (N + 3) / 4, bj = N / nbj, mj = N % nbj;              \
        int64_t i0 = 0;                                                           \
        for (int64_t p = 0; p < nbi; p++) {                                       \
            const int64_t r = bi + (p < mi);                                      \
            int64_t j0 = 0;                                                       \
            for (int64_t q = 0; q < nbj; q++) {                                   \
                const int64_t s = bj + (q < mj);                                  \
                nt_##SFX##_table[r - 1][s - 1](K, a + i0 * lda, lda, b + j0 * ldb, \
                                               ldb, c + i0 * ldc + j0, ldc);      \
                j0 += s;                                                          \
            }                                                                     \
            i0 += r;                                                              \
        }                                                                         \
    } while (0)

TGT void ck_sgemm_nt_avx512(int64_t M, int64_t N, int64_t K, const float *a,
                            int64_t lda, const float *b, int64_t ldb, float *c,
                            int64_t ldc)
{
    GEMM_NT(f32);
}

TGT void ck_dgemm_nt_avx512(int64_t M, int64_t N, int64_t K, const double *a,
                            int64_t lda, const double *b, int64_t ldb, double *c,
                            int64_t ldc)
{
    GEMM_NT(f64);
}

#else /* not x86-64 with GCC: the AVX2 entry points (themselves portable there) */

int ck_cpu_has_avx512(void) { return 0; }
int ck_cpu_splits_zmm(void) { return 0; }

void ck_sdot_rows_avx512(int64_t n, int64_t K, const float *a, int64_t sa,
                         const float *v, int64_t sv, float *c)
{
    ck_sdot_rows_avx2(n, K, a, sa, v, sv, c);
}
void ck_ddot_rows_avx512(int64_t n, int64_t K, const double *a, int64_t sa,
                         const double *v, int64_t sv, double *c)
{
    ck_ddot_rows_avx2(n, K, a, sa, v, sv, c);
}
void ck_sgemm_nt_avx512(int64_t M, int64_t N, int64_t K, const float *a,
                        int64_t lda, const float *b, int64_t ldb, float *c,
                        int64_t ldc)
{
    ck_sgemm_nt_avx2(M, N, K, a, lda, b, ldb, c, ldc);
}
void ck_dgemm_nt_avx512(int64_t M, int64_t N, int64_t K, const double *a,
                        int64_t lda, const double *b, int64_t ldb, double *c,
                        int64_t ldc)
{
    ck_dgemm_nt_avx2(M, N, K, a, lda, b, ldb, c, ldc);
}
#endif
