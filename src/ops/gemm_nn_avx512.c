/* C = A B with AVX-512: the register-block kernels of the small products
 * (Dense, batch_dot, convolutions' im2col products) that ck_bd_run picks
 * where they beat the BLAS.  No packing: each block of C keeps its
 * accumulators in registers over a slice of K.  Compiled through the
 * target attribute only; callers check ck_cpu_has_avx512() first.
 * Elsewhere the AVX2 entry points stand in. */
#include "ops/ops.h"

#if defined(__GNUC__) && defined(__x86_64__)
#include <immintrin.h>

#define TGT __attribute__((target("avx512f,avx512vl,avx512dq,fma")))
#define INL static inline __attribute__((always_inline)) TGT

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
 * computed with it (Dense gives the same numbers for any batch size).
 * On Zen 4 a partial last vector of 8 floats or fewer may live in a ymm
 * register (HALF, below), and the last slice of K may apply an epilogue
 * (ops.h: bias, relu, scale and shift) before the store; neither changes
 * those chains. */
enum { NN_NV = 8, NN_MR = 12 };
static const int nn_mr_max[NN_NV] = {12, 12, 8, 6, 1, 1, 1, 1};

/* The epilogue (ops.h) on a float32 block's sums, before they are stored:
 * per column vector its bias, scale and shift (masked loads for the last,
 * which may be partial), then the rows.  Multiply then add, as the pass
 * (ck_epilogue_rows_f32) does: the same bits. */
INL void nn_epi_f32(const int MR, const int NV, const ck_epilogue_f32 *ep, __mmask16 m,
                    __m512 acc[NN_MR][NN_NV])
{
#pragma GCC unroll 8
    for (int j = 0; j < NV; j++) {
        const __mmask16 mj = j + 1 < NV ? (__mmask16)0xFFFF : m;
        const __m512 zero = _mm512_setzero_ps();
        const __m512 b = ep->bias ? _mm512_maskz_loadu_ps(mj, ep->bias + j * 16) : zero;
        const __m512 sc = ep->scale ? _mm512_maskz_loadu_ps(mj, ep->scale + j * 16) : zero;
        const __m512 sh = ep->scale ? _mm512_maskz_loadu_ps(mj, ep->shift + j * 16) : zero;
#pragma GCC unroll 12
        for (int r = 0; r < MR; r++) {
            __m512 v = acc[r][j];
            if (ep->bias) v = _mm512_add_ps(v, b);
            if (ep->relu) /* v > 0, or NaN: kept; else +0 */
                v = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(v, zero, _CMP_GT_OQ) | _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q),
                                        v);
            if (ep->scale) v = _mm512_add_ps(_mm512_mul_ps(v, sc), sh);
            acc[r][j] = v;
        }
    }
}

/* float64 products take no epilogue (ck_bd_plan's is float32 only) */
INL void nn_epi_f64(const int MR, const int NV, const ck_epilogue_f32 *ep, __mmask8 m, __m512d acc[NN_MR][NN_NV])
{
    (void)MR, (void)NV, (void)ep, (void)m, (void)acc;
}

/* The half vector.  Zen 4 runs a zmm operation as two 256-bit halves
 * (ck_cpu_splits_zmm), so a masked zmm FMA of 8 useful floats costs a
 * whole one: N = 200 (12.5 vectors) took as long as N = 208.  There a
 * panel whose last vector has W / 2 columns or fewer keeps that vector in
 * a ymm register (HALF), whose FMAs cost half; each element is the same
 * chain of FMAs either way, so the bits do not change.  Its sums join the
 * zmm ones, zero-extended, before the epilogue and the store. */
INL __m256 half_load_f32(const int MASKED, __mmask16 m, const float *p)
{
    return MASKED ? _mm256_maskz_loadu_ps((__mmask8)m, p) : _mm256_loadu_ps(p);
}
INL __m256 half_fma_f32(__m512 av, __m256 b, __m256 acc) { return _mm256_fmadd_ps(_mm512_castps512_ps256(av), b, acc); }
INL __m512 half_widen_f32(__m256 v) { return _mm512_zextps256_ps512(v); }
INL __m256 half_zero_f32(void) { return _mm256_setzero_ps(); }
INL __m256d half_load_f64(const int MASKED, __mmask8 m, const double *p)
{
    return MASKED ? _mm256_maskz_loadu_pd(m, p) : _mm256_loadu_pd(p);
}
INL __m256d half_fma_f64(__m512d av, __m256d b, __m256d acc)
{
    return _mm256_fmadd_pd(_mm512_castpd512_pd256(av), b, acc);
}
INL __m512d half_widen_f64(__m256d v) { return _mm512_zextpd256_pd512(v); }
INL __m256d half_zero_f64(void) { return _mm256_setzero_pd(); }

#define NN_BLOCK(SFX, T, V, HV, W, MASKT, ZERO, SET1, LOADU, MLOADU, FMA, ADD, STOREU, MSTOREU) \
    /* acc += A(:, k) * B(k, :) for one k; the last vector of B's row     */      \
    /* through the mask or (MASKED == 0) plain, in acch when HALF         */      \
    INL void nn_step_##SFX(const int MR, const int NV, const int HALF,           \
                           const int MASKED, int64_t k, const T *a, int64_t rs,   \
                           int64_t cs, const T *b, int64_t ldb, MASKT m,          \
                           V acc[NN_MR][NN_NV], HV acch[NN_MR])                   \
    {                                                                             \
        const T *bk = b + k * ldb, *ak = a + k * cs;                              \
        V bv[NN_NV];                                                              \
        HV bh = half_zero_##SFX();                                                \
        _Pragma("GCC unroll 8") for (int j = 0; j + 1 < NV; j++)                  \
            bv[j] = LOADU(bk + j * W);                                            \
        if (HALF) bh = half_load_##SFX(MASKED, m, bk + (NV - 1) * W);             \
        else bv[NV - 1] = MASKED ? MLOADU(m, bk + (NV - 1) * W) : LOADU(bk + (NV - 1) * W); \
        _Pragma("GCC unroll 12") for (int r = 0; r < MR; r++) {                   \
            const V av = SET1(ak[r * rs]);                                        \
            _Pragma("GCC unroll 8") for (int j = 0; j < NV - HALF; j++)           \
                acc[r][j] = FMA(av, bv[j], acc[r][j]);                            \
            if (HALF) acch[r] = half_fma_##SFX(av, bh, acch[r]);                  \
        }                                                                         \
    }                                                                             \
                                                                                  \
    INL void nn_blk_##SFX(const int MR, const int NV, const int HALF, int64_t K,  \
                          int64_t kplain, const T *a, int64_t rs, int64_t cs,     \
                          const T *b, int64_t ldb, T *c, int64_t ldc, MASKT m,    \
                          int addc, const ck_epilogue_f32 *ep)                    \
    {                                                                             \
        V acc[NN_MR][NN_NV];                                                      \
        HV acch[NN_MR];                                                           \
        _Pragma("GCC unroll 12") for (int r = 0; r < MR; r++) {                   \
            _Pragma("GCC unroll 8") for (int j = 0; j < NV; j++) acc[r][j] = ZERO(); \
            acch[r] = half_zero_##SFX();                                          \
        }                                                                         \
        int64_t k = 0;                                                            \
        for (; k < kplain; k++)                                                   \
            nn_step_##SFX(MR, NV, HALF, 0, k, a, rs, cs, b, ldb, m, acc, acch);   \
        for (; k < K; k++)                                                        \
            nn_step_##SFX(MR, NV, HALF, 1, k, a, rs, cs, b, ldb, m, acc, acch);   \
        if (HALF)                                                                 \
            _Pragma("GCC unroll 12") for (int r = 0; r < MR; r++)                 \
                acc[r][NV - 1] = half_widen_##SFX(acch[r]);                       \
        if (addc) /* a later slice of K: add to what C holds */                 \
            _Pragma("GCC unroll 12") for (int r = 0; r < MR; r++) {               \
                const T *cr = c + r * ldc;                                        \
                _Pragma("GCC unroll 8") for (int j = 0; j + 1 < NV; j++)          \
                    acc[r][j] = ADD(acc[r][j], LOADU(cr + j * W));                \
                acc[r][NV - 1] = ADD(acc[r][NV - 1], MLOADU(m, cr + (NV - 1) * W)); \
            }                                                                     \
        if (ep) nn_epi_##SFX(MR, NV, ep, m, acc);                                 \
        _Pragma("GCC unroll 12") for (int r = 0; r < MR; r++) {                   \
            T *cr = c + r * ldc;                                                  \
            _Pragma("GCC unroll 8") for (int j = 0; j + 1 < NV; j++)              \
                STOREU(cr + j * W, acc[r][j]);                                    \
            MSTOREU(cr + (NV - 1) * W, m, acc[r][NV - 1]);                        \
        }                                                                         \
    }

NN_BLOCK(f32, float, __m512, __m256, 16, __mmask16, _mm512_setzero_ps, _mm512_set1_ps,
         _mm512_loadu_ps, _mm512_maskz_loadu_ps, _mm512_fmadd_ps, _mm512_add_ps,
         _mm512_storeu_ps, _mm512_mask_storeu_ps)
NN_BLOCK(f64, double, __m512d, __m256d, 8, __mmask8, _mm512_setzero_pd, _mm512_set1_pd,
         _mm512_loadu_pd, _mm512_maskz_loadu_pd, _mm512_fmadd_pd, _mm512_add_pd,
         _mm512_storeu_pd, _mm512_mask_storeu_pd)

typedef void (*nn_f32_fn)(int64_t, int64_t, const float *, int64_t, int64_t, const float *,
                          int64_t, float *, int64_t, __mmask16, int, const ck_epilogue_f32 *);
typedef void (*nn_f64_fn)(int64_t, int64_t, const double *, int64_t, int64_t, const double *,
                          int64_t, double *, int64_t, __mmask8, int, const ck_epilogue_f32 *);

/* nn_<type>_<rows>_<vectors>, and for the panels of 1 to 4 vectors
 * nn_<type>_h<rows>_<vectors> with the last vector half (HALF) */
#define NN_FN1(SFX, T, MASKT, NAME, MR, NV, HALF)                                 \
    static TGT void NAME(int64_t K, int64_t kplain, const T *a, int64_t rs,       \
                         int64_t cs, const T *b, int64_t ldb, T *c, int64_t ldc,  \
                         MASKT m, int addc, const ck_epilogue_f32 *ep)            \
    {                                                                             \
        nn_blk_##SFX(MR, NV, HALF, K, kplain, a, rs, cs, b, ldb, c, ldc, m, addc, ep); \
    }
#define NN_FN(SFX, T, MASKT, MR, NV) NN_FN1(SFX, T, MASKT, nn_##SFX##_##MR##_##NV, MR, NV, 0)
#define NN_FN2(SFX, T, MASKT, MR, NV)                                             \
    NN_FN(SFX, T, MASKT, MR, NV) NN_FN1(SFX, T, MASKT, nn_##SFX##_h##MR##_##NV, MR, NV, 1)
#define NN_UPTO6(SFX, T, MASKT, NV)                                               \
    NN_FN2(SFX, T, MASKT, 1, NV) NN_FN2(SFX, T, MASKT, 2, NV)                     \
    NN_FN2(SFX, T, MASKT, 3, NV) NN_FN2(SFX, T, MASKT, 4, NV)                     \
    NN_FN2(SFX, T, MASKT, 5, NV) NN_FN2(SFX, T, MASKT, 6, NV)
#define NN_UPTO8(SFX, T, MASKT, NV)                                               \
    NN_UPTO6(SFX, T, MASKT, NV) NN_FN2(SFX, T, MASKT, 7, NV) NN_FN2(SFX, T, MASKT, 8, NV)
#define NN_UPTO12(SFX, T, MASKT, NV)                                              \
    NN_UPTO8(SFX, T, MASKT, NV) NN_FN2(SFX, T, MASKT, 9, NV)                      \
    NN_FN2(SFX, T, MASKT, 10, NV) NN_FN2(SFX, T, MASKT, 11, NV)                   \
    NN_FN2(SFX, T, MASKT, 12, NV)
#define NN_ALL(SFX, T, MASKT)                                                     \
    NN_UPTO12(SFX, T, MASKT, 1) NN_UPTO12(SFX, T, MASKT, 2)                       \
    NN_UPTO8(SFX, T, MASKT, 3) NN_UPTO6(SFX, T, MASKT, 4)                         \
    NN_FN(SFX, T, MASKT, 1, 5) NN_FN(SFX, T, MASKT, 1, 6)                         \
    NN_FN(SFX, T, MASKT, 1, 7) NN_FN(SFX, T, MASKT, 1, 8)
NN_ALL(f32, float, __mmask16)
NN_ALL(f64, double, __mmask8)

#define NN_ROW6(P, NV)                                                            \
    P##1_##NV, P##2_##NV, P##3_##NV, P##4_##NV, P##5_##NV, P##6_##NV
#define NN_ROW8(P, NV) NN_ROW6(P, NV), P##7_##NV, P##8_##NV
#define NN_ROW12(P, NV) NN_ROW8(P, NV), P##9_##NV, P##10_##NV, P##11_##NV, P##12_##NV
#define NN_TABLE(P)                                                               \
    {{NN_ROW12(P, 1)}, {NN_ROW12(P, 2)}, {NN_ROW8(P, 3)}, {NN_ROW6(P, 4)},        \
     {P##1_5}, {P##1_6}, {P##1_7}, {P##1_8}}
#define NN_HALF_TABLE(P) {{NN_ROW12(P, 1)}, {NN_ROW12(P, 2)}, {NN_ROW8(P, 3)}, {NN_ROW6(P, 4)}}
static const nn_f32_fn nn_f32_table[NN_NV][NN_MR] = NN_TABLE(nn_f32_);
static const nn_f64_fn nn_f64_table[NN_NV][NN_MR] = NN_TABLE(nn_f64_);
static const nn_f32_fn nn_f32_htable[4][NN_MR] = NN_HALF_TABLE(nn_f32_h);
static const nn_f64_fn nn_f64_htable[4][NN_MR] = NN_HALF_TABLE(nn_f64_h);

/* K in slices of at most KC (near-equal), so that a slice of a B panel
 * stays in L2 and a slice of A's row block in L1 however large K is
 * (unsliced, 1024^3 ran at 55 GFLOP/s and 256x4096x256 at 45); later
 * slices add to C.  512 rather than 256: half the passes over C, and on
 * Zen 4 (1 MiB L2) one thread, interleaved runs, GFLOP/s 512 vs 256:
 * 1024^3 95 vs 90, 512^3 106 vs 101, 256x4096x256 91 vs 88, 256x1024x1024
 * 98.5 vs 96.7, 256x784x256 113.5 vs 111.8, 128x1024x512 equal.  Per
 * slice, column panels of PW columns (the last one narrower), each cut
 * into row blocks of near-equal height (64 rows of 6-row blocks: 9 of 6
 * and 2 of 5, rather than 10 of 6 and one lone row). */
enum { NN_KC = 512 };

#define GEMM_SMALL(SFX, W)                                                        \
    do {                                                                          \
        /* Every row block streams its panel of B: once a 4-vector panel */      \
        /* outgrows L1 (K > 128), 8 x 3 blocks, which need 25% fewer     */      \
        /* bytes of B per FMA, win on a Xeon (32x784x256: 150 vs 131     */      \
        /* GFLOP/s; 64x64x64: 147 vs 160).  Not on Zen 4, whose zmm      */      \
        /* FMAs (one a cycle) share the cycle with the broadcasts: there  */      \
        /* 6 x 4 blocks, 6 broadcasts per 24 FMAs rather than 8, win at   */      \
        /* every K (one thread, interleaved, GFLOP/s 6x4 vs 8x3 of a     */      \
        /* 117.5 peak: 256x1024x1024 108-112 vs 104-108, 1024^3 108 vs    */      \
        /* 105-106, 256x784x256 115.5 vs 114.5, 64x4096x64 115-116 vs 112, */     \
        /* 16x2048x1000 111 vs 108), except at M = 7, which they would    */      \
        /* cut into blocks of 4 and 3 rows (104 vs 115).                  */      \
        const int splits = ck_cpu_splits_zmm();                                   \
        const int64_t PW = (M == 1 ? 8 : K <= 128 || (splits && M != 7) ? 4 : 3) * W; \
        /* Panels: for M = 1 full ones, then the rest; otherwise the       */      \
        /* vectors of a row shared out evenly, larger panels first, so     */      \
        /* that no panel is left with one or two vectors, whose blocks     */      \
        /* broadcast A for few FMAs (N = 200, 13 vectors: 4 3 3 3 rather   */      \
        /* than 4 4 4 1).                                                  */      \
        const int64_t nvec = (N + W - 1) / W, pv = PW / W;                        \
        const int64_t npan = (nvec + pv - 1) / pv;                                \
        const int64_t nks = (K + NN_KC - 1) / NN_KC;                              \
        const int64_t KC = nks > 1 ? (K + nks - 1) / nks : K;                     \
        int64_t k0 = 0;                                                           \
        do {                                                                      \
            const int64_t kc = K - k0 < KC ? K - k0 : KC;                         \
            for (int64_t pan = 0, j0 = 0; pan < npan; pan++) {                    \
                const int64_t pvec = M == 1 ? pv : nvec / npan + (pan < nvec % npan); \
                const int64_t w = N - j0 < pvec * W ? N - j0 : pvec * W;          \
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
                /* the epilogue with the last slice, its columns from j0 */      \
                const ck_epilogue_f32 pe = {                                      \
                    ep && ep->bias ? ep->bias + j0 : NULL, ep ? ep->relu : 0,     \
                    ep && ep->scale ? ep->scale + j0 : NULL,                      \
                    ep && ep->scale ? ep->shift + j0 : NULL};                     \
                const ck_epilogue_f32 *pep = ep && k0 + kc == K ? &pe : NULL;     \
                const int64_t mr = nn_mr_max[nv - 1];                             \
                const int64_t nblk = (M + mr - 1) / mr, base = M / nblk;          \
                const int64_t more = M % nblk;                                    \
                const int half = nv <= 4 && M > 1 && 2 * tail <= W && splits;     \
                int64_t i0 = 0;                                                   \
                for (int64_t blk = 0; blk < nblk; blk++) {                        \
                    const int64_t h = base + (blk < more);                        \
                    (half ? nn_##SFX##_htable : nn_##SFX##_table)[nv - 1][h - 1]( \
                        kc, kp, a + i0 * rs + k0 * cs, rs, cs, b + k0 * ldb + j0, \
                        ldb, c + i0 * ldc + j0, ldc, m, k0 > 0, pep);             \
                    i0 += h;                                                      \
                }                                                                 \
                j0 += w;                                                          \
            }                                                                     \
            k0 += kc;                                                             \
        } while (k0 < K);                                                         \
    } while (0)

TGT void ck_sgemm_small_ep_avx512(int64_t M, int64_t N, int64_t K, const float *a,
                                  int64_t rs, int64_t cs, const float *b, int64_t ldb,
                                  float *c, int64_t ldc, const ck_epilogue_f32 *ep)
{
    if (M <= 0) return;
    GEMM_SMALL(f32, 16);
}

TGT void ck_sgemm_small_avx512(int64_t M, int64_t N, int64_t K, const float *a,
                               int64_t rs, int64_t cs, const float *b, int64_t ldb,
                               float *c, int64_t ldc)
{
    ck_sgemm_small_ep_avx512(M, N, K, a, rs, cs, b, ldb, c, ldc, NULL);
}

TGT void ck_dgemm_small_avx512(int64_t M, int64_t N, int64_t K, const double *a,
                               int64_t rs, int64_t cs, const double *b, int64_t ldb,
                               double *c, int64_t ldc)
{
    const ck_epilogue_f32 *ep = NULL;
    if (M <= 0) return;
    GEMM_SMALL(f64, 8);
}

/* ------------------------------------------------- one row with its epilogue
 *
 * y = x W (+ bias) (then relu, NaN kept) for a lone row: Dense at batch 1,
 * where the product is so short (Dense 64->64: 4,096 multiply-adds, about
 * 80 ns) that a second pass for the bias and relu, the slicing's
 * divisions and the product's dispatch cost half as much again.  The same
 * panels, slices and chains as ck_sgemm_small_avx512 with M = 1 (a later
 * slice's sums added to the earlier ones, acc + C), then the bias added
 * and relu applied in the registers as the separate passes would: the
 * numbers are those of the product followed by the passes, bit for bit. */
INL void row_blk_f32(const int NV, int64_t K, int64_t kplain, const float *x, const float *w,
                     int64_t ldw, const float *bias, int relu, float *y, __mmask16 m)
{
    const int64_t nks = K > NN_KC ? (K + NN_KC - 1) / NN_KC : 1;
    const int64_t KC = nks > 1 ? (K + nks - 1) / nks : K;
    __m512 tot[NN_MR][NN_NV];
    int64_t k0 = 0;
    do {
        const int64_t kc = K - k0 < KC ? K - k0 : KC;
        const int64_t kp = kplain - k0 < 0 ? 0 : kplain - k0 > kc ? kc : kplain - k0;
        __m512 acc[NN_MR][NN_NV];
#pragma GCC unroll 8
        for (int j = 0; j < NV; j++) acc[0][j] = _mm512_setzero_ps();
        int64_t k = 0;
        __m256 unused[NN_MR];
        for (; k < kp; k++) nn_step_f32(1, NV, 0, 0, k, x + k0, 0, 1, w + k0 * ldw, ldw, m, acc, unused);
        for (; k < kc; k++) nn_step_f32(1, NV, 0, 1, k, x + k0, 0, 1, w + k0 * ldw, ldw, m, acc, unused);
#pragma GCC unroll 8
        for (int j = 0; j < NV; j++) tot[0][j] = k0 ? _mm512_add_ps(acc[0][j], tot[0][j]) : acc[0][j];
        k0 += kc;
    } while (k0 < K);
    const ck_epilogue_f32 ep = {bias, relu, NULL, NULL};
    nn_epi_f32(1, NV, &ep, m, tot);
#pragma GCC unroll 8
    for (int j = 0; j < NV; j++) _mm512_mask_storeu_ps(y + j * 16, j + 1 < NV ? (__mmask16)0xFFFF : m, tot[0][j]);
}

#define ROW_FN(NV)                                                                \
    static TGT void row_f32_##NV(int64_t K, int64_t kplain, const float *x, const float *w, \
                                 int64_t ldw, const float *bias, int relu, float *y, uint16_t m) \
    {                                                                             \
        row_blk_f32(NV, K, kplain, x, w, ldw, bias, relu, y, (__mmask16)m);       \
    }
ROW_FN(1) ROW_FN(2) ROW_FN(3) ROW_FN(4) ROW_FN(5) ROW_FN(6) ROW_FN(7) ROW_FN(8)
static const ck_row_kernel_f32 row_f32_table[NN_NV] = {row_f32_1, row_f32_2, row_f32_3, row_f32_4,
                                                row_f32_5, row_f32_6, row_f32_7, row_f32_8};

/* The kernel, its plain steps and last vector's mask for the panel of
 * columns j0 .. j0 + 16 NN_NV of a row of N. */
static void row_panel(int64_t N, int64_t K, int64_t j0, ck_row_plan_f32 *p)
{
    const int64_t wd = N - j0 < NN_NV * 16 ? N - j0 : NN_NV * 16;
    const int nv = (int)((wd + 15) / 16);
    const int64_t tail = wd - (int64_t)(nv - 1) * 16;
    /* whole loads of the last vector while they stay inside W (as in
     * GEMM_SMALL) */
    const int64_t over = j0 + (int64_t)nv * 16 - N;
    p->kernel = row_f32_table[nv - 1];
    p->N = N;
    p->K = K;
    p->kplain = over == 0 ? K : K - (over + N - 1) / N;
    p->mask = tail == 16 ? (uint16_t)0xFFFF : (uint16_t)((1u << tail) - 1u);
}

TGT void ck_sdense_row_avx512(int64_t N, int64_t K, const float *x, const float *w, const float *bias,
                              int relu, float *y)
{
    for (int64_t j0 = 0; j0 < N; j0 += NN_NV * 16) {
        ck_row_plan_f32 p;
        row_panel(N, K, j0, &p);
        p.kernel(K, p.kplain, x, w + j0, N, bias ? bias + j0 : NULL, relu, y + j0, p.mask);
    }
}

int ck_row_plan_f32_make(ck_row_plan_f32 *p, int64_t N, int64_t K)
{
    *p = (ck_row_plan_f32){0};
    if (N < 2 || N > NN_NV * 16 || (double)N * (double)K > 16777216.0 || !ck_cpu_has_avx512()) return 0;
    row_panel(N, K, 0, p);
    return 1;
}

#else /* not x86-64 with GCC: the AVX2 entry points (themselves portable there) */

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
void ck_sgemm_small_ep_avx512(int64_t M, int64_t N, int64_t K, const float *a,
                              int64_t rs, int64_t cs, const float *b, int64_t ldb,
                              float *c, int64_t ldc, const ck_epilogue_f32 *ep)
{
    ck_sgemm_small_avx2(M, N, K, a, rs, cs, b, ldb, c, ldc);
    for (int64_t i = 0; ep && i < M; i++) ck_epilogue_rows_f32(c + i * ldc, 1, N, ep);
}
void ck_sdense_row_avx512(int64_t N, int64_t K, const float *x, const float *w, const float *bias,
                          int relu, float *y)
{
    (void)N, (void)K, (void)x, (void)w, (void)bias, (void)relu, (void)y; /* callers check ck_cpu_has_avx512() */
}
int ck_row_plan_f32_make(ck_row_plan_f32 *p, int64_t N, int64_t K)
{
    (void)N, (void)K;
    *p = (ck_row_plan_f32){0};
    return 0;
}
#endif
