/* AVX2+FMA kernels for small matrix products and row-wise dot products.
 *
 * For the small per-sample matrices batch_dot sees most (e.g. 10x64x10),
 * the fixed cost of a BLAS call is larger than the arithmetic, so these
 * kernels work straight on the operands: no packing, the whole K range kept
 * in registers.  They are compiled for AVX2+FMA through the target
 * attribute only (the library is built for baseline x86-64), and callers
 * check ck_cpu_has_avx2_fma() first.  On other targets the *_c versions
 * in batch_dot_small.c are used instead. */
#include <stdatomic.h>

#include "ops/ops.h"

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#define CK_HAVE_AVX2_KERNELS 1
#include <immintrin.h>

int ck_cpu_has_avx2_fma(void)
{
    static atomic_int cached = -1;
    int v = atomic_load_explicit(&cached, memory_order_relaxed);
    if (v < 0) {
        __builtin_cpu_init();
        v = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
        atomic_store_explicit(&cached, v, memory_order_relaxed);
    }
    return v;
}

#define TGT __attribute__((target("avx2,fma")))
#define INL static inline __attribute__((always_inline)) TGT

/* ---------------------------------------------------------------- float */

INL __m256i mask_f32(int64_t n)   /* lanes < n set */
{
    return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)n),
                              _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

INL float hsum_f32(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/* Four sums of four vectors at once: lane r of the result is hsum(v_r). */
INL __m128 hsum4_f32(__m256 v0, __m256 v1, __m256 v2, __m256 v3)
{
    __m256 t = _mm256_hadd_ps(_mm256_hadd_ps(v0, v1), _mm256_hadd_ps(v2, v3));
    return _mm_add_ps(_mm256_castps256_ps128(t), _mm256_extractf128_ps(t, 1));
}

TGT void ck_sdot_rows_avx2(int64_t n, int64_t K, const float *a, int64_t sa,
                           const float *v, int64_t sv, float *c)
{
    const int64_t K8 = K & ~(int64_t)7;
    const int64_t rem = K - K8;
    const __m256i m = mask_f32(rem);
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) {
        const float *a0 = a + i * sa, *a1 = a0 + sa, *a2 = a1 + sa, *a3 = a2 + sa;
        const float *v0 = v + i * sv, *v1 = v0 + sv, *v2 = v1 + sv, *v3 = v2 + sv;
        __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
        for (int64_t k = 0; k < K8; k += 8) {
            s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a0 + k), _mm256_loadu_ps(v0 + k), s0);
            s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a1 + k), _mm256_loadu_ps(v1 + k), s1);
            s2 = _mm256_fmadd_ps(_mm256_loadu_ps(a2 + k), _mm256_loadu_ps(v2 + k), s2);
            s3 = _mm256_fmadd_ps(_mm256_loadu_ps(a3 + k), _mm256_loadu_ps(v3 + k), s3);
        }
        if (rem) {
            s0 = _mm256_fmadd_ps(_mm256_maskload_ps(a0 + K8, m), _mm256_maskload_ps(v0 + K8, m), s0);
            s1 = _mm256_fmadd_ps(_mm256_maskload_ps(a1 + K8, m), _mm256_maskload_ps(v1 + K8, m), s1);
            s2 = _mm256_fmadd_ps(_mm256_maskload_ps(a2 + K8, m), _mm256_maskload_ps(v2 + K8, m), s2);
            s3 = _mm256_fmadd_ps(_mm256_maskload_ps(a3 + K8, m), _mm256_maskload_ps(v3 + K8, m), s3);
        }
        _mm_storeu_ps(c + i, hsum4_f32(s0, s1, s2, s3));
    }
    for (; i < n; i++) {
        const float *ai = a + i * sa, *vi = v + i * sv;
        __m256 s0 = _mm256_setzero_ps(), s1 = s0;
        int64_t k = 0;
        for (; k + 16 <= K8; k += 16) {
            s0 = _mm256_fmadd_ps(_mm256_loadu_ps(ai + k), _mm256_loadu_ps(vi + k), s0);
            s1 = _mm256_fmadd_ps(_mm256_loadu_ps(ai + k + 8), _mm256_loadu_ps(vi + k + 8), s1);
        }
        if (k < K8)
            s0 = _mm256_fmadd_ps(_mm256_loadu_ps(ai + k), _mm256_loadu_ps(vi + k), s0);
        if (rem)
            s1 = _mm256_fmadd_ps(_mm256_maskload_ps(ai + K8, m), _mm256_maskload_ps(vi + K8, m), s1);
        c[i] = hsum_f32(_mm256_add_ps(s0, s1));
    }
}

/* One MR x (8*NV) block of C over the whole K range.  MR, NV and MASK are
 * compile-time constants in every instance below.  With MASK, the last
 * vector of each row is partial (lanes set in m0 for NV == 1, m1 for 2). */
INL void mk_f32(const int MR, const int NV, const int MASK, int64_t K,
                const float *a, int64_t rs, int64_t cs, const float *b,
                int64_t ldb, float *c, int64_t ldc, __m256i m0, __m256i m1)
{
    __m256 acc[6][2];
#pragma GCC unroll 6
    for (int r = 0; r < 6; r++) acc[r][0] = acc[r][1] = _mm256_setzero_ps();
    for (int64_t k = 0; k < K; k++) {
        const float *bk = b + k * ldb;
        const float *ak = a + k * cs;
        __m256 b0, b1 = _mm256_setzero_ps();
        if (NV == 1) {
            b0 = MASK ? _mm256_maskload_ps(bk, m0) : _mm256_loadu_ps(bk);
        } else {
            b0 = _mm256_loadu_ps(bk);
            b1 = MASK ? _mm256_maskload_ps(bk + 8, m1) : _mm256_loadu_ps(bk + 8);
        }
#pragma GCC unroll 6
        for (int r = 0; r < MR; r++) {
            __m256 av = _mm256_broadcast_ss(ak + r * rs);
            acc[r][0] = _mm256_fmadd_ps(av, b0, acc[r][0]);
            if (NV == 2) acc[r][1] = _mm256_fmadd_ps(av, b1, acc[r][1]);
        }
    }
#pragma GCC unroll 6
    for (int r = 0; r < MR; r++) {
        float *cr = c + r * ldc;
        if (NV == 1) {
            if (MASK) _mm256_maskstore_ps(cr, m0, acc[r][0]);
            else _mm256_storeu_ps(cr, acc[r][0]);
        } else {
            _mm256_storeu_ps(cr, acc[r][0]);
            if (MASK) _mm256_maskstore_ps(cr + 8, m1, acc[r][1]);
            else _mm256_storeu_ps(cr + 8, acc[r][1]);
        }
    }
}

typedef void (*mk_f32_fn)(int64_t, const float *, int64_t, int64_t, const float *,
                          int64_t, float *, int64_t, __m256i, __m256i);

#define MK_F32(MR, NV, MASK)                                                  \
    static TGT void mk_f32_##MR##_##NV##_##MASK(                              \
        int64_t K, const float *a, int64_t rs, int64_t cs, const float *b,    \
        int64_t ldb, float *c, int64_t ldc, __m256i m0, __m256i m1)           \
    {                                                                         \
        mk_f32(MR, NV, MASK, K, a, rs, cs, b, ldb, c, ldc, m0, m1);           \
    }
#define MK_F32_ROW(MR) MK_F32(MR, 1, 0) MK_F32(MR, 1, 1) MK_F32(MR, 2, 0) MK_F32(MR, 2, 1)
MK_F32_ROW(1) MK_F32_ROW(2) MK_F32_ROW(3) MK_F32_ROW(4) MK_F32_ROW(5) MK_F32_ROW(6)
#define MK_F32_ENTRY(MR) \
    {{mk_f32_##MR##_1_0, mk_f32_##MR##_1_1}, {mk_f32_##MR##_2_0, mk_f32_##MR##_2_1}}
static const mk_f32_fn mk_f32_table[6][2][2] = {
    MK_F32_ENTRY(1), MK_F32_ENTRY(2), MK_F32_ENTRY(3),
    MK_F32_ENTRY(4), MK_F32_ENTRY(5), MK_F32_ENTRY(6)};

TGT void ck_sgemm_small_avx2(int64_t M, int64_t N, int64_t K, const float *a,
                             int64_t rs, int64_t cs, const float *b, int64_t ldb,
                             float *c, int64_t ldc)
{
    const __m256i ones = _mm256_set1_epi32(-1);
    for (int64_t j0 = 0; j0 < N; j0 += 16) {
        int64_t w = N - j0 < 16 ? N - j0 : 16;
        int nv = w > 8 ? 2 : 1;
        int masked = (w & 7) != 0;
        __m256i m0 = nv == 1 ? mask_f32(w) : ones;
        __m256i m1 = nv == 2 ? mask_f32(w - 8) : ones;
        for (int64_t i0 = 0; i0 < M; i0 += 6) {
            int mr = M - i0 < 6 ? (int)(M - i0) : 6;
            mk_f32_table[mr - 1][nv - 1][masked](K, a + i0 * rs, rs, cs, b + j0, ldb,
                                                 c + i0 * ldc + j0, ldc, m0, m1);
        }
    }
}

/* C(M,N) = A(M,K) B(N,K)^T: both operands are read along K, so each entry
 * is a dot product.  A block of R rows of A by S rows of B keeps R*S vector
 * sums; S == 4 lets one hsum4 give four neighbouring entries of C. */
INL void nt_f32(const int R, const int S, int64_t K, const float *a, int64_t lda,
                const float *b, int64_t ldb, float *c, int64_t ldc)
{
    const int64_t K8 = K & ~(int64_t)7;
    __m256 acc[3][4];
#pragma GCC unroll 3
    for (int r = 0; r < 3; r++)
#pragma GCC unroll 4
        for (int s = 0; s < 4; s++) acc[r][s] = _mm256_setzero_ps();
    for (int64_t k = 0; k < K8; k += 8) {
        __m256 av[3];
#pragma GCC unroll 3
        for (int r = 0; r < R; r++) av[r] = _mm256_loadu_ps(a + r * lda + k);
#pragma GCC unroll 4
        for (int s = 0; s < S; s++) {
            __m256 bv = _mm256_loadu_ps(b + s * ldb + k);
#pragma GCC unroll 3
            for (int r = 0; r < R; r++) acc[r][s] = _mm256_fmadd_ps(av[r], bv, acc[r][s]);
        }
    }
    if (K8 < K) {
        const __m256i m = mask_f32(K - K8);
        __m256 av[3];
#pragma GCC unroll 3
        for (int r = 0; r < R; r++) av[r] = _mm256_maskload_ps(a + r * lda + K8, m);
#pragma GCC unroll 4
        for (int s = 0; s < S; s++) {
            __m256 bv = _mm256_maskload_ps(b + s * ldb + K8, m);
#pragma GCC unroll 3
            for (int r = 0; r < R; r++) acc[r][s] = _mm256_fmadd_ps(av[r], bv, acc[r][s]);
        }
    }
#pragma GCC unroll 3
    for (int r = 0; r < R; r++) {
        if (S == 4) {
            _mm_storeu_ps(c + r * ldc, hsum4_f32(acc[r][0], acc[r][1], acc[r][2], acc[r][3]));
        } else {
#pragma GCC unroll 4
            for (int s = 0; s < S; s++) c[r * ldc + s] = hsum_f32(acc[r][s]);
        }
    }
}

typedef void (*nt_f32_fn)(int64_t, const float *, int64_t, const float *, int64_t,
                          float *, int64_t);
#define NT_F32(R, S)                                                          \
    static TGT void nt_f32_##R##_##S(int64_t K, const float *a, int64_t lda,  \
                                     const float *b, int64_t ldb, float *c,   \
                                     int64_t ldc)                             \
    {                                                                         \
        nt_f32(R, S, K, a, lda, b, ldb, c, ldc);                              \
    }
#define NT_F32_ROW(R) NT_F32(R, 1) NT_F32(R, 2) NT_F32(R, 3) NT_F32(R, 4)
NT_F32_ROW(1) NT_F32_ROW(2) NT_F32_ROW(3)
static const nt_f32_fn nt_f32_table[3][4] = {
    {nt_f32_1_1, nt_f32_1_2, nt_f32_1_3, nt_f32_1_4},
    {nt_f32_2_1, nt_f32_2_2, nt_f32_2_3, nt_f32_2_4},
    {nt_f32_3_1, nt_f32_3_2, nt_f32_3_3, nt_f32_3_4}};

TGT void ck_sgemm_nt_avx2(int64_t M, int64_t N, int64_t K, const float *a,
                          int64_t lda, const float *b, int64_t ldb, float *c,
                          int64_t ldc)
{
    for (int64_t i0 = 0; i0 < M; i0 += 3) {
        int r = M - i0 < 3 ? (int)(M - i0) : 3;
        for (int64_t j0 = 0; j0 < N; j0 += 4) {
            int s = N - j0 < 4 ? (int)(N - j0) : 4;
            nt_f32_table[r - 1][s - 1](K, a + i0 * lda, lda, b + j0 * ldb, ldb,
                                       c + i0 * ldc + j0, ldc);
        }
    }
}

/* --------------------------------------------------------------- double */

INL __m256i mask_f64(int64_t n)
{
    return _mm256_cmpgt_epi64(_mm256_set1_epi64x(n), _mm256_setr_epi64x(0, 1, 2, 3));
}

INL double hsum_f64(__m256d v)
{
    __m128d s = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
    return _mm_cvtsd_f64(_mm_add_sd(s, _mm_unpackhi_pd(s, s)));
}

INL __m256d hsum4_f64(__m256d s0, __m256d s1, __m256d s2, __m256d s3)
{
    __m256d h01 = _mm256_hadd_pd(s0, s1), h23 = _mm256_hadd_pd(s2, s3);
    return _mm256_add_pd(_mm256_permute2f128_pd(h01, h23, 0x20),
                         _mm256_permute2f128_pd(h01, h23, 0x31));
}

TGT void ck_ddot_rows_avx2(int64_t n, int64_t K, const double *a, int64_t sa,
                           const double *v, int64_t sv, double *c)
{
    const int64_t K4 = K & ~(int64_t)3;
    const int64_t rem = K - K4;
    const __m256i m = mask_f64(rem);
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) {
        const double *a0 = a + i * sa, *a1 = a0 + sa, *a2 = a1 + sa, *a3 = a2 + sa;
        const double *v0 = v + i * sv, *v1 = v0 + sv, *v2 = v1 + sv, *v3 = v2 + sv;
        __m256d s0 = _mm256_setzero_pd(), s1 = s0, s2 = s0, s3 = s0;
        for (int64_t k = 0; k < K4; k += 4) {
            s0 = _mm256_fmadd_pd(_mm256_loadu_pd(a0 + k), _mm256_loadu_pd(v0 + k), s0);
            s1 = _mm256_fmadd_pd(_mm256_loadu_pd(a1 + k), _mm256_loadu_pd(v1 + k), s1);
            s2 = _mm256_fmadd_pd(_mm256_loadu_pd(a2 + k), _mm256_loadu_pd(v2 + k), s2);
            s3 = _mm256_fmadd_pd(_mm256_loadu_pd(a3 + k), _mm256_loadu_pd(v3 + k), s3);
        }
        if (rem) {
            s0 = _mm256_fmadd_pd(_mm256_maskload_pd(a0 + K4, m), _mm256_maskload_pd(v0 + K4, m), s0);
            s1 = _mm256_fmadd_pd(_mm256_maskload_pd(a1 + K4, m), _mm256_maskload_pd(v1 + K4, m), s1);
            s2 = _mm256_fmadd_pd(_mm256_maskload_pd(a2 + K4, m), _mm256_maskload_pd(v2 + K4, m), s2);
            s3 = _mm256_fmadd_pd(_mm256_maskload_pd(a3 + K4, m), _mm256_maskload_pd(v3 + K4, m), s3);
        }
        _mm256_storeu_pd(c + i, hsum4_f64(s0, s1, s2, s3));
    }
    for (; i < n; i++) {
        const double *ai = a + i * sa, *vi = v + i * sv;
        __m256d s0 = _mm256_setzero_pd(), s1 = s0;
        int64_t k = 0;
        for (; k + 8 <= K4; k += 8) {
            s0 = _mm256_fmadd_pd(_mm256_loadu_pd(ai + k), _mm256_loadu_pd(vi + k), s0);
            s1 = _mm256_fmadd_pd(_mm256_loadu_pd(ai + k + 4), _mm256_loadu_pd(vi + k + 4), s1);
        }
        if (k < K4)
            s0 = _mm256_fmadd_pd(_mm256_loadu_pd(ai + k), _mm256_loadu_pd(vi + k), s0);
        if (rem)
            s1 = _mm256_fmadd_pd(_mm256_maskload_pd(ai + K4, m), _mm256_maskload_pd(vi + K4, m), s1);
        c[i] = hsum_f64(_mm256_add_pd(s0, s1));
    }
}

INL void mk_f64(const int MR, const int NV, const int MASK, int64_t K,
                const double *a, int64_t rs, int64_t cs, const double *b,
                int64_t ldb, double *c, int64_t ldc, __m256i m0, __m256i m1)
{
    __m256d acc[6][2];
#pragma GCC unroll 6
    for (int r = 0; r < 6; r++) acc[r][0] = acc[r][1] = _mm256_setzero_pd();
    for (int64_t k = 0; k < K; k++) {
        const double *bk = b + k * ldb;
        const double *ak = a + k * cs;
        __m256d b0, b1 = _mm256_setzero_pd();
        if (NV == 1) {
            b0 = MASK ? _mm256_maskload_pd(bk, m0) : _mm256_loadu_pd(bk);
        } else {
            b0 = _mm256_loadu_pd(bk);
            b1 = MASK ? _mm256_maskload_pd(bk + 4, m1) : _mm256_loadu_pd(bk + 4);
        }
#pragma GCC unroll 6
        for (int r = 0; r < MR; r++) {
            __m256d av = _mm256_broadcast_sd(ak + r * rs);
            acc[r][0] = _mm256_fmadd_pd(av, b0, acc[r][0]);
            if (NV == 2) acc[r][1] = _mm256_fmadd_pd(av, b1, acc[r][1]);
        }
    }
#pragma GCC unroll 6
    for (int r = 0; r < MR; r++) {
        double *cr = c + r * ldc;
        if (NV == 1) {
            if (MASK) _mm256_maskstore_pd(cr, m0, acc[r][0]);
            else _mm256_storeu_pd(cr, acc[r][0]);
        } else {
            _mm256_storeu_pd(cr, acc[r][0]);
            if (MASK) _mm256_maskstore_pd(cr + 4, m1, acc[r][1]);
            else _mm256_storeu_pd(cr + 4, acc[r][1]);
        }
    }
}

typedef void (*mk_f64_fn)(int64_t, const double *, int64_t, int64_t, const double *,
                          int64_t, double *, int64_t, __m256i, __m256i);

#define MK_F64(MR, NV, MASK)                                                  \
    static TGT void mk_f64_##MR##_##NV##_##MASK(                              \
        int64_t K, const double *a, int64_t rs, int64_t cs, const double *b,  \
        int64_t ldb, double *c, int64_t ldc, __m256i m0, __m256i m1)          \
    {                                                                         \
        mk_f64(MR, NV, MASK, K, a, rs, cs, b, ldb, c, ldc, m0, m1);           \
    }
#define MK_F64_ROW(MR) MK_F64(MR, 1, 0) MK_F64(MR, 1, 1) MK_F64(MR, 2, 0) MK_F64(MR, 2, 1)
MK_F64_ROW(1) MK_F64_ROW(2) MK_F64_ROW(3) MK_F64_ROW(4) MK_F64_ROW(5) MK_F64_ROW(6)
#define MK_F64_ENTRY(MR) \
    {{mk_f64_##MR##_1_0, mk_f64_##MR##_1_1}, {mk_f64_##MR##_2_0, mk_f64_##MR##_2_1}}
static const mk_f64_fn mk_f64_table[6][2][2] = {
    MK_F64_ENTRY(1), MK_F64_ENTRY(2), MK_F64_ENTRY(3),
    MK_F64_ENTRY(4), MK_F64_ENTRY(5), MK_F64_ENTRY(6)};

TGT void ck_dgemm_small_avx2(int64_t M, int64_t N, int64_t K, const double *a,
                             int64_t rs, int64_t cs, const double *b, int64_t ldb,
                             double *c, int64_t ldc)
{
    const __m256i ones = _mm256_set1_epi64x(-1);
    for (int64_t j0 = 0; j0 < N; j0 += 8) {
        int64_t w = N - j0 < 8 ? N - j0 : 8;
        int nv = w > 4 ? 2 : 1;
        int masked = (w & 3) != 0;
        __m256i m0 = nv == 1 ? mask_f64(w) : ones;
        __m256i m1 = nv == 2 ? mask_f64(w - 4) : ones;
        for (int64_t i0 = 0; i0 < M; i0 += 6) {
            int mr = M - i0 < 6 ? (int)(M - i0) : 6;
            mk_f64_table[mr - 1][nv - 1][masked](K, a + i0 * rs, rs, cs, b + j0, ldb,
                                                 c + i0 * ldc + j0, ldc, m0, m1);
        }
    }
}


INL void nt_f64(const int R, const int S, int64_t K, const double *a, int64_t lda,
                const double *b, int64_t ldb, double *c, int64_t ldc)
{
    const int64_t K4 = K & ~(int64_t)3;
    __m256d acc[3][4];
#pragma GCC unroll 3
    for (int r = 0; r < 3; r++)
#pragma GCC unroll 4
        for (int s = 0; s < 4; s++) acc[r][s] = _mm256_setzero_pd();
    for (int64_t k = 0; k < K4; k += 4) {
        __m256d av[3];
#pragma GCC unroll 3
        for (int r = 0; r < R; r++) av[r] = _mm256_loadu_pd(a + r * lda + k);
#pragma GCC unroll 4
        for (int s = 0; s < S; s++) {
            __m256d bv = _mm256_loadu_pd(b + s * ldb + k);
#pragma GCC unroll 3
            for (int r = 0; r < R; r++) acc[r][s] = _mm256_fmadd_pd(av[r], bv, acc[r][s]);
        }
    }
    if (K4 < K) {
        const __m256i m = mask_f64(K - K4);
        __m256d av[3];
#pragma GCC unroll 3
        for (int r = 0; r < R; r++) av[r] = _mm256_maskload_pd(a + r * lda + K4, m);
#pragma GCC unroll 4
        for (int s = 0; s < S; s++) {
            __m256d bv = _mm256_maskload_pd(b + s * ldb + K4, m);
#pragma GCC unroll 3
            for (int r = 0; r < R; r++) acc[r][s] = _mm256_fmadd_pd(av[r], bv, acc[r][s]);
        }
    }
#pragma GCC unroll 3
    for (int r = 0; r < R; r++) {
        if (S == 4) {
            _mm256_storeu_pd(c + r * ldc, hsum4_f64(acc[r][0], acc[r][1], acc[r][2], acc[r][3]));
        } else {
#pragma GCC unroll 4
            for (int s = 0; s < S; s++) c[r * ldc + s] = hsum_f64(acc[r][s]);
        }
    }
}

typedef void (*nt_f64_fn)(int64_t, const double *, int64_t, const double *, int64_t,
                          double *, int64_t);
#define NT_F64(R, S)                                                          \
    static TGT void nt_f64_##R##_##S(int64_t K, const double *a, int64_t lda, \
                                     const double *b, int64_t ldb, double *c, \
                                     int64_t ldc)                             \
    {                                                                         \
        nt_f64(R, S, K, a, lda, b, ldb, c, ldc);                              \
    }
#define NT_F64_ROW(R) NT_F64(R, 1) NT_F64(R, 2) NT_F64(R, 3) NT_F64(R, 4)
NT_F64_ROW(1) NT_F64_ROW(2) NT_F64_ROW(3)
static const nt_f64_fn nt_f64_table[3][4] = {
    {nt_f64_1_1, nt_f64_1_2, nt_f64_1_3, nt_f64_1_4},
    {nt_f64_2_1, nt_f64_2_2, nt_f64_2_3, nt_f64_2_4},
    {nt_f64_3_1, nt_f64_3_2, nt_f64_3_3, nt_f64_3_4}};

TGT void ck_dgemm_nt_avx2(int64_t M, int64_t N, int64_t K, const double *a,
                          int64_t lda, const double *b, int64_t ldb, double *c,
                          int64_t ldc)
{
    for (int64_t i0 = 0; i0 < M; i0 += 3) {
        int r = M - i0 < 3 ? (int)(M - i0) : 3;
        for (int64_t j0 = 0; j0 < N; j0 += 4) {
            int s = N - j0 < 4 ? (int)(N - j0) : 4;
            nt_f64_table[r - 1][s - 1](K, a + i0 * lda, lda, b + j0 * ldb, ldb,
                                       c + i0 * ldc + j0, ldc);
        }
    }
}

#else /* not x86: the portable kernels stand in */

int ck_cpu_has_avx2_fma(void) { return 0; }

void ck_sdot_rows_avx2(int64_t n, int64_t K, const float *a, int64_t sa,
                       const float *v, int64_t sv, float *c)
{
    ck_sdot_rows_c(n, K, a, sa, v, sv, c);
}
void ck_ddot_rows_avx2(int64_t n, int64_t K, const double *a, int64_t sa,
                       const double *v, int64_t sv, double *c)
{
    ck_ddot_rows_c(n, K, a, sa, v, sv, c);
}
void ck_sgemm_small_avx2(int64_t M, int64_t N, int64_t K, const float *a,
                         int64_t rs, int64_t cs, const float *b, int64_t ldb,
                         float *c, int64_t ldc)
{
    ck_sgemm_small_c(M, N, K, a, rs, cs, b, ldb, c, ldc);
}
void ck_dgemm_small_avx2(int64_t M, int64_t N, int64_t K, const double *a,
                         int64_t rs, int64_t cs, const double *b, int64_t ldb,
                         double *c, int64_t ldc)
{
    ck_dgemm_small_c(M, N, K, a, rs, cs, b, ldb, c, ldc);
}
void ck_sgemm_nt_avx2(int64_t M, int64_t N, int64_t K, const float *a,
                      int64_t lda, const float *b, int64_t ldb, float *c,
                      int64_t ldc)
{
    ck_sgemm_nt_c(M, N, K, a, lda, b, ldb, c, ldc);
}
void ck_dgemm_nt_avx2(int64_t M, int64_t N, int64_t K, const double *a,
                      int64_t lda, const double *b, int64_t ldb, double *c,
                      int64_t ldc)
{
    ck_dgemm_nt_c(M, N, K, a, lda, b, ldb, c, ldc);
}
#endif
