/* AVX-512 versions of the small-matrix kernels of batch_dot_avx2.c.
 *
 * Same jobs and the same "no packing, whole K range in registers" design,
 * but twice as wide, with 32 vector registers (so taller register blocks)
 * and mask registers: partial vectors at the edges are masked loads and
 * stores, never scalar tails.  Compiled through the target attribute only
 * (the library is built for baseline x86-64); callers check
 * ck_cpu_has_avx512() first.  Elsewhere the AVX2 entry points stand in. */
#include <stdatomic.h>

#include "ops/ops.h"

#if defined(__GNUC__) && defined(__x86_64__)
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

/* ------------------------------------------------- C = A B
 *
 * One MR x (NV vectors) block of C over the whole K range: per step NV
 * vector loads of B and MR broadcasts of A feed MR*NV FMAs.  The last
 * vector of a row is stored through the mask `m` (all ones when the block
 * is full width).  Row block heights by NV keep accumulators + B vectors
 * within the 32 registers: 12 x 1, 12 x 2, 8 x 3, 6 x 4; a lone row (a
 * vector times a matrix) takes 8 vectors, so that 8 independent sums hide
 * the FMA latency.
 *
 * Every element of C is the same chain of FMAs over k whatever the block
 * and panel sizes, so a row of C does not depend on how many rows are
 * computed with it (Dense gives the same numbers for any batch size). */
enum { NN_NV = 8, NN_MR = 12 };
static const int nn_mr_max[NN_NV] = {12, 12, 8, 6, 1, 1, 1, 1};

#define NN_BLOCK(SFX, T, V, W, MASKT, ZERO, SET1, LOADU, MLOADU, FMA, ADD, STOREU, MSTOREU) \
    /* acc += A(:, k) * B(k, :) for one k; the last vector of B's row     */      \
    /* through the mask or (MASKED == 0) plain                            */      \
    INL void nn_step_##SFX(const int MR, const int NV, const int MASKED, int64_t k, \
                           const T *a, int64_t rs, int64_t cs, const T *b,        \
                           int64_t ldb, MASKT m, V acc[NN_MR][NN_NV])             \
    {                                                                             \
        const T *bk = b + k * ldb, *ak = a + k * cs;                              \
        V bv[NN_NV];                                                              \
        _Pragma("GCC unroll 8") for (int j = 0; j + 1 < NV; j++)                  \
            bv[j] = LOADU(bk + j * W);                                            \
        bv[NV - 1] = MASKED ? MLOADU(m, bk + (NV - 1) * W) : LOADU(bk + (NV - 1) * W); \
        _Pragma("GCC unroll 12") for (int r = 0; r < MR; r++) {                   \
            const V av = SET1(ak[r * rs]);                                        \
            _Pragma("GCC unroll 8") for (int j = 0; j < NV; j++)                  \
                acc[r][j] = FMA(av, bv[j], acc[r][j]);                            \
        }                                                                         \
    }                                                                             \
                                                                                  \
    INL void nn_blk_##SFX(const int MR, const int NV, int64_t K, int64_t kplain,  \
                          const T *a, int64_t rs, int64_t cs, const T *b,         \
                          int64_t ldb, T *c, int64_t ldc, MASKT m, int addc)      \
    {                                                                             \
        V acc[NN_MR][NN_NV];                                                      \
        _Pragma("GCC unroll 12") for (int r = 0; r < MR; r++)                     \
            _Pragma("GCC unroll 8") for (int j = 0; j < NV; j++) acc[r][j] = ZERO(); \
        int64_t k = 0;                                                            \
        for (; k < kplain; k++) nn_step_##SFX(MR, NV, 0, k, a, rs, cs, b, ldb, m, acc); \
        for (; k < K; k++) nn_step_##SFX(MR, NV, 1, k, a, rs, cs, b, ldb, m, acc); \
        if (addc) /* a later slice of K: add to what C holds */                 \
            _Pragma("GCC unroll 12") for (int r = 0; r < MR; r++) {               \
                const T *cr = c + r * ldc;                                        \
                _Pragma("GCC unroll 8") for (int j = 0; j + 1 < NV; j++)          \
                    acc[r][j] = ADD(acc[r][j], LOADU(cr + j * W));                \
                acc[r][NV - 1] = ADD(acc[r][NV - 1], MLOADU(m, cr + (NV - 1) * W)); \
            }                                                                     \
        _Pragma("GCC unroll 12") for (int r = 0; r < MR; r++) {                   \
            T *cr = c + r * ldc;                                                  \
            _Pragma("GCC unroll 8") for (int j = 0; j + 1 < NV; j++)              \
                STOREU(cr + j * W, acc[r][j]);                                    \
            MSTOREU(cr + (NV - 1) * W, m, acc[r][NV - 1]);                        \
        }                                                                         \
    }

NN_BLOCK(f32, float, __m512, 16, __mmask16, _mm512_setzero_ps, _mm512_set1_ps,
         _mm512_loadu_ps, _mm512_maskz_loadu_ps, _mm512_fmadd_ps, _mm512_add_ps,
         _mm512_storeu_ps, _mm512_mask_storeu_ps)
NN_BLOCK(f64, double, __m512d, 8, __mmask8, _mm512_setzero_pd, _mm512_set1_pd,
         _mm512_loadu_pd, _mm512_maskz_loadu_pd, _mm512_fmadd_pd, _mm512_add_pd,
         _mm512_storeu_pd, _mm512_mask_storeu_pd)

typedef void (*nn_f32_fn)(int64_t, int64_t, const float *, int64_t, int64_t, const float *,
                          int64_t, float *, int64_t, __mmask16, int);
typedef void (*nn_f64_fn)(int64_t, int64_t, const double *, int64_t, int64_t, const double *,
                          int64_t, double *, int64_t, __mmask8, int);

#define NN_FN(SFX, T, MASKT, MR, NV)                                              \
    static TGT void nn_##SFX##_##MR##_##NV(int64_t K, int64_t kplain, const T *a, \
                                           int64_t rs, int64_t cs, const T *b,    \
                                           int64_t ldb, T *c, int64_t ldc, MASKT m, \
                                           int addc)                              \
    {                                                                             \
        nn_blk_##SFX(MR, NV, K, kplain, a, rs, cs, b, ldb, c, ldc, m, addc);      \
    }
#define NN_UPTO6(SFX, T, MASKT, NV)                                               \
    NN_FN(SFX, T, MASKT, 1, NV) NN_FN(SFX, T, MASKT, 2, NV)                       \
    NN_FN(SFX, T, MASKT, 3, NV) NN_FN(SFX, T, MASKT, 4, NV)                       \
    NN_FN(SFX, T, MASKT, 5, NV) NN_FN(SFX, T, MASKT, 6, NV)
#define NN_UPTO8(SFX, T, MASKT, NV)                                               \
    NN_UPTO6(SFX, T, MASKT, NV) NN_FN(SFX, T, MASKT, 7, NV) NN_FN(SFX, T, MASKT, 8, NV)
#define NN_UPTO12(SFX, T, MASKT, NV)                                              \
    NN_UPTO8(SFX, T, MASKT, NV) NN_FN(SFX, T, MASKT, 9, NV)                       \
    NN_FN(SFX, T, MASKT, 10, NV) NN_FN(SFX, T, MASKT, 11, NV)                     \
    NN_FN(SFX, T, MASKT, 12, NV)
#define NN_ALL(SFX, T, MASKT)                                                     \
    NN_UPTO12(SFX, T, MASKT, 1) NN_UPTO12(SFX, T, MASKT, 2)                       \
    NN_UPTO8(SFX, T, MASKT, 3) NN_UPTO6(SFX, T, MASKT, 4)                         \
    NN_FN(SFX, T, MASKT, 1, 5) NN_FN(SFX, T, MASKT, 1, 6)                         \
    NN_FN(SFX, T, MASKT, 1, 7) NN_FN(SFX, T, MASKT, 1, 8)
NN_ALL(f32, float, __mmask16)
NN_ALL(f64, double, __mmask8)

#define NN_ROW6(SFX, NV)                                                          \
    nn_##SFX##_1_##NV, nn_##SFX##_2_##NV, nn_##SFX##_3_##NV, nn_##SFX##_4_##NV,   \
        nn_##SFX##_5_##NV, nn_##SFX##_6_##NV
#define NN_ROW8(SFX, NV) NN_ROW6(SFX, NV), nn_##SFX##_7_##NV, nn_##SFX##_8_##NV
#define NN_ROW12(SFX, NV)                                                         \
    NN_ROW8(SFX, NV), nn_##SFX##_9_##NV, nn_##SFX##_10_##NV, nn_##SFX##_11_##NV,  \
        nn_##SFX##_12_##NV
#define NN_TABLE(SFX)                                                             \
    {{NN_ROW12(SFX, 1)}, {NN_ROW12(SFX, 2)}, {NN_ROW8(SFX, 3)}, {NN_ROW6(SFX, 4)},  \
     {nn_##SFX##_1_5}, {nn_##SFX##_1_6}, {nn_##SFX##_1_7}, {nn_##SFX##_1_8}}
static const nn_f32_fn nn_f32_table[NN_NV][NN_MR] = NN_TABLE(f32);
static const nn_f64_fn nn_f64_table[NN_NV][NN_MR] = NN_TABLE(f64);

/* K in slices of at most KC (near-equal), so that a slice of a B panel
 * stays in L1 and a slice of A in L2 however large K is (1024^3: 55 ->
 * 102 GFLOP/s, 256x4096x256: 45 -> 134); later slices add to C.  Per slice, column panels of PW
 * columns (the last one narrower), each cut into row blocks of near-equal
 * height (64 rows of 6-row blocks: 9 of 6 and 2 of 5, rather than 10 of 6
 * and one lone row). */
enum { NN_KC = 256 };

#define GEMM_SMALL(SFX, W)                                                        \
    do {                                                                          \
        /* Every row block streams its panel of B: once a 4-vector panel */      \
        /* outgrows L1 (K > 128), 8 x 3 blocks, which need 25% fewer     */      \
        /* bytes of B per FMA, win (measured, 32x784x256: 150 vs 131     */      \
        /* GFLOP/s; 64x64x64: 147 vs 160).                               */      \
        const int64_t PW = (M == 1 ? 8 : K <= 128 ? 4 : 3) * W;                   \
        const int64_t nks = (K + NN_KC - 1) / NN_KC;                              \
        const int64_t KC = nks > 1 ? (K + nks - 1) / nks : K;                     \
        int64_t k0 = 0;                                                           \
        do {                                                                      \
            const int64_t kc = K - k0 < KC ? K - k0 : KC;                         \
            for (int64_t j0 = 0; j0 < N; j0 += PW) {                              \
                const int64_t w = N - j0 < PW ? N - j0 : PW;                      \
                const int nv = (int)((w + W - 1) / W);                            \
                const int64_t tail = w - (int64_t)(nv - 1) * W;                   \
                const uint32_t m = tail == W ? ~0u : (1u << tail) - 1u;           \
                /* Loading the last vector whole reads `over` elements past */   \
                /* the row: harmless (those lanes are never stored) while it */  \
                /* stays inside B, i.e. for k < kplain; masked loads after   */  \
                /* that, as they take an extra vector-port operation.        */  \
                const int64_t over = j0 + (int64_t)nv * W - N;                    \
                const int64_t back = over == 0 ? 0 : (over + ldb - 1) / ldb;      \
                const int64_t kplain = K - back - k0;                             \
                const int64_t kp = kplain < 0 ? 0 : kplain > kc ? kc : kplain;    \
                const int64_t mr = nn_mr_max[nv - 1];                             \
                const int64_t nblk = (M + mr - 1) / mr, base = M / nblk;          \
                const int64_t more = M % nblk;                                    \
                int64_t i0 = 0;                                                   \
                for (int64_t blk = 0; blk < nblk; blk++) {                        \
                    const int64_t h = base + (blk < more);                        \
                    nn_##SFX##_table[nv - 1][h - 1](                              \
                        kc, kp, a + i0 * rs + k0 * cs, rs, cs, b + k0 * ldb + j0, \
                        ldb, c + i0 * ldc + j0, ldc, m, k0 > 0);                  \
                    i0 += h;                                                      \
                }                                                                 \
            }                                                                     \
            k0 += kc;                                                             \
        } while (k0 < K);                                                         \
    } while (0)

TGT void ck_sgemm_small_avx512(int64_t M, int64_t N, int64_t K, const float *a,
                               int64_t rs, int64_t cs, const float *b, int64_t ldb,
                               float *c, int64_t ldc)
{
    if (M <= 0) return;
    GEMM_SMALL(f32, 16);
}

TGT void ck_dgemm_small_avx512(int64_t M, int64_t N, int64_t K, const double *a,
                               int64_t rs, int64_t cs, const double *b, int64_t ldb,
                               double *c, int64_t ldc)
{
    if (M <= 0) return;
    GEMM_SMALL(f64, 8);
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
void ck_sgemm_small_avx512(int64_t M, int64_t N, int64_t K, const float *a,
                           int64_t rs, int64_t cs, const float *b, int64_t ldb,
                           float *c, int64_t ldc)
{
    ck_sgemm_small_avx2(M, N, K, a, rs, cs, b, ldb, c, ldc);
}
void ck_dgemm_small_avx512(int64_t M, int64_t N, int64_t K, const double *a,
                           int64_t rs, int64_t cs, const double *b, int64_t ldb,
                           double *c, int64_t ldc)
{
    ck_dgemm_small_avx2(M, N, K, a, rs, cs, b, ldb, c, ldc);
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
