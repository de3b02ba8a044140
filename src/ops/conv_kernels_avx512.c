/* AVX-512 register tiles of the direct channels_last convolution
 * (conv_kernels.h).
 *
 * A tile is MR consecutive output positions x NV vectors of 16 filters,
 * MR * NV accumulators held in zmm registers over the whole reduction
 * (kh, kw, C).  Per reduction step it loads NV vectors of the kernel's row
 * (the kernel is (kh*kw*C, F) row-major as stored) and broadcasts one
 * input float per position.  A patch row is contiguous in the input: with
 * dilation 1 the kw pixels of a kernel row are one run of kw*C floats, so
 * the inner loop is a plain stream of kernel rows.
 *
 * Positions whose patch lies wholly inside the input ("interior") are
 * gathered into tiles; the others (the frame that "same" padding adds)
 * run one at a time with their kernel window clipped to the input, which
 * is exact for zero padding.  Every output element sees the same sequence
 * of FMAs whichever tile computes it, so results do not depend on how
 * positions were grouped (nor on the thread split).  Compiled through the
 * target attribute only; callers check ck_cpu_has_avx512() first. */
#include "ops/conv_kernels.h"
#include "ops/ops.h"

#if defined(__GNUC__) && defined(__x86_64__)
#include <immintrin.h>

#define TGT __attribute__((target("avx512f,avx512vl,avx512dq,fma")))

/* Strides of one tile's reduction, in floats. */
typedef struct tile_geo {
    int64_t nky, nkx, run; /* kernel rows, runs per row, floats per run   */
    int64_t xky, xkx;      /* input offset between kernel rows / runs     */
    int64_t wky, wkx;      /* kernel offset between kernel rows / runs    */
    int64_t ldw;           /* kernel offset between reduction steps (F)   */
} tile_geo;

typedef void (*tile_fn)(const float *const *xs, const float *wp, const tile_geo *g, __mmask16 m,
                        const ck_conv_epilogue *e, int64_t f0, float *out, int64_t ldo);

/* xs[j]: position j's input at the tile's first (ky, kx, c); wp: the
 * kernel at the same (ky, kx, 0) and filter f0; out: position 0's output
 * at filter f0, positions ldo apart.  m masks the last vector's filters. */
#define DEFINE_TILE(MR, NV)                                                                                    \
    static TGT void tile_##MR##_##NV(const float *const *xs, const float *wp, const tile_geo *g, __mmask16 m, \
                                     const ck_conv_epilogue *e, int64_t f0, float *out, int64_t ldo)          \
    {                                                                                                          \
        __m512 acc[MR][NV];                                                                                    \
        _Pragma("GCC unroll 16") for (int j = 0; j < MR; j++)                                                  \
            _Pragma("GCC unroll 4") for (int v = 0; v < NV; v++) acc[j][v] = _mm512_setzero_ps();              \
        for (int64_t ky = 0; ky < g->nky; ky++)                                                                \
            for (int64_t kx = 0; kx < g->nkx; kx++) {                                                          \
                const int64_t xo = ky * g->xky + kx * g->xkx;                                                  \
                const float *w = wp + ky * g->wky + kx * g->wkx;                                               \
                const float *x[MR];                                                                            \
                _Pragma("GCC unroll 16") for (int j = 0; j < MR; j++) x[j] = xs[j] + xo;                       \
                for (int64_t t = 0; t < g->run; t++, w += g->ldw) {                                            \
                    __m512 b[NV];                                                                              \
                    _Pragma("GCC unroll 4") for (int v = 0; v < NV; v++) b[v] =                                \
                        v == NV - 1 ? _mm512_maskz_loadu_ps(m, w + 16 * v) : _mm512_loadu_ps(w + 16 * v);      \
                    _Pragma("GCC unroll 16") for (int j = 0; j < MR; j++) {                                    \
                        const __m512 a = _mm512_set1_ps(x[j][t]);                                              \
                        _Pragma("GCC unroll 4") for (int v = 0; v < NV; v++) acc[j][v] =                       \
                            _mm512_fmadd_ps(a, b[v], acc[j][v]);                                               \
                    }                                                                                          \
                }                                                                                              \
            }                                                                                                  \
        _Pragma("GCC unroll 4") for (int v = 0; v < NV; v++) {                                                 \
            const __mmask16 mv = v == NV - 1 ? m : (__mmask16)0xFFFF;                                          \
            const int64_t f = f0 + 16 * v;                                                                     \
            const __m512 bias = e->bias ? _mm512_maskz_loadu_ps(mv, e->bias + f) : _mm512_setzero_ps();       \
            const __m512 scale = e->scale ? _mm512_maskz_loadu_ps(mv, e->scale + f) : _mm512_setzero_ps();    \
            const __m512 shift = e->scale ? _mm512_maskz_loadu_ps(mv, e->shift + f) : _mm512_setzero_ps();    \
            _Pragma("GCC unroll 16") for (int j = 0; j < MR; j++) {                                            \
                /* the bias is added after the sum, as the unfused path */                                     \
                __m512 s = _mm512_add_ps(acc[j][v], bias);                                                     \
                if (e->scale) s = _mm512_add_ps(_mm512_mul_ps(s, scale), shift);                               \
                if (e->relu) s = _mm512_max_ps(s, _mm512_setzero_ps());                                        \
                _mm512_mask_storeu_ps(out + j * ldo + 16 * v, mv, s);                                          \
            }                                                                                                  \
        }                                                                                                      \
    }

/* Tallest tiles: MR * NV accumulators + NV kernel vectors + a broadcast
 * within the 32 registers, MR a multiple of 2 for the remainder tiles. */
#define MR1 14
#define MR2 12
#define MR3 8
#define MR4 6

DEFINE_TILE(14, 1)
DEFINE_TILE(12, 2)
DEFINE_TILE(8, 3)
DEFINE_TILE(6, 4)
DEFINE_TILE(4, 1)
DEFINE_TILE(4, 2)
DEFINE_TILE(4, 3)
DEFINE_TILE(4, 4)
DEFINE_TILE(2, 1)
DEFINE_TILE(2, 2)
DEFINE_TILE(2, 3)
DEFINE_TILE(2, 4)
DEFINE_TILE(1, 1)
DEFINE_TILE(1, 2)
DEFINE_TILE(1, 3)
DEFINE_TILE(1, 4)

/* [NV - 1][size]: the tallest tile, then 4, 2 and 1 positions. */
static const tile_fn tiles[4][4] = {
    {tile_14_1, tile_4_1, tile_2_1, tile_1_1},
    {tile_12_2, tile_4_2, tile_2_2, tile_1_2},
    {tile_8_3, tile_4_3, tile_2_3, tile_1_3},
    {tile_6_4, tile_4_4, tile_2_4, tile_1_4},
};
static const int tile_rows[4][4] = {{MR1, 4, 2, 1}, {MR2, 4, 2, 1}, {MR3, 4, 2, 1}, {MR4, 4, 2, 1}};

int64_t ck_conv2d_nhwc_tile_rows(int64_t f)
{
    return f >= 64 ? MR4 : tile_rows[(f + 15) / 16 - 1][0];
}

/* The kernel rows [lo, hi) that land inside an input of n pixels for an
 * output whose window starts at i0 (may be negative), step d. */
static void clip(int64_t i0, int64_t n, int64_t k, int64_t d, int64_t *lo, int64_t *hi)
{
    int64_t l = i0 >= 0 ? 0 : (-i0 + d - 1) / d;
    int64_t h = i0 > n - 1 ? 0 : (n - 1 - i0) / d + 1;
    if (h > k) h = k;
    if (l > h) l = h;
    *lo = l;
    *hi = h;
}

void ck_conv2d_nhwc_f32_avx512(const ck_conv_nhwc *g, const float *x, const float *kernel,
                               const ck_conv_epilogue *e, float *out, int64_t p0, int64_t p1)
{
    const int64_t C = g->c, F = g->f, plane = g->oh * g->ow;
    const int merge = g->dw == 1; /* a kernel row's pixels form one run */
    tile_geo full = {.nky = g->kh, .nkx = merge ? 1 : g->kw, .run = merge ? g->kw * C : C,
                     .xky = g->dh * g->w * C, .xkx = g->dw * C, .wky = g->kw * C * F, .wkx = C * F, .ldw = F};
    for (int64_t f0 = 0; f0 < F; f0 += 64) {
        const int64_t nf = F - f0 < 64 ? F - f0 : 64;
        const int nv = (int)((nf + 15) / 16);
        const __mmask16 m = nf % 16 ? (__mmask16)((1u << (nf % 16)) - 1) : (__mmask16)0xFFFF;
        const tile_fn *fns = tiles[nv - 1];
        const int *rows = tile_rows[nv - 1];
        const float *xs[MR1];
        int64_t p = p0;
        /* position p is (b, oy, ox), stepped along without divisions */
        int64_t b = p0 / plane, oy = p0 % plane / g->ow, ox = p0 % g->ow;
#define NEXT_POSITION() (p++, ++ox == g->ow ? (ox = 0, ++oy == g->oh ? (oy = 0, b++) : 0) : 0)
        while (p < p1) {
            /* gather up to a tallest tile of consecutive interior positions */
            int n = 0;
            int64_t first = p;
            while (p < p1 && n < rows[0]) {
                const int64_t iy = oy * g->sh - g->ph, ix = ox * g->sw - g->pw;
                const int inside = iy >= 0 && iy + (g->kh - 1) * g->dh < g->h && ix >= 0 &&
                                   ix + (g->kw - 1) * g->dw < g->w;
                if (!inside) {
                    if (n > 0) break; /* run the tile gathered so far first */
                    /* one position, its window clipped to the input */
                    int64_t ky0, ky1, kx0, kx1;
                    clip(iy, g->h, g->kh, g->dh, &ky0, &ky1);
                    clip(ix, g->w, g->kw, g->dw, &kx0, &kx1);
                    tile_geo cg = full;
                    cg.nky = ky1 - ky0;
                    if (merge) cg.run = (kx1 - kx0) * C;
                    else cg.nkx = kx1 - kx0;
                    const float *xp = x;
                    if (cg.nky > 0 && kx1 > kx0)
                        xp = x + ((b * g->h + iy + ky0 * g->dh) * g->w + ix + kx0 * g->dw) * C;
                    else
                        cg.nky = 0;
                    const float *wp = kernel + (ky0 * g->kw + kx0) * C * F + f0;
                    fns[3](&xp, wp, &cg, m, e, f0, out + (p - p0) * F + f0, F);
                    NEXT_POSITION();
                    continue;
                }
                if (n == 0) first = p;
                xs[n++] = x + ((b * g->h + iy) * g->w + ix) * C;
                NEXT_POSITION();
            }
            for (int done = 0, k = 0; done < n;) {
                while (n - done < rows[k]) k++;
                fns[k](xs + done, kernel + f0, &full, m, e, f0, out + (first - p0 + done) * F + f0, F);
                done += rows[k];
            }
        }
#undef NEXT_POSITION
    }
}

void ck_sgemm_rows_avx512(int64_t M, int64_t N, int64_t K, const float *a, int64_t lda, const float *b, int64_t ldb,
                          float *c, int64_t ldc)
{
    static const ck_conv_epilogue none = {0};
    const tile_geo geo = {.nky = 1, .nkx = 1, .run = K, .ldw = ldb};
    const float *xs[MR1];
    for (int64_t f0 = 0; f0 < N; f0 += 64) {
        const int64_t nf = N - f0 < 64 ? N - f0 : 64;
        const int nv = (int)((nf + 15) / 16);
        const __mmask16 m = nf % 16 ? (__mmask16)((1u << (nf % 16)) - 1) : (__mmask16)0xFFFF;
        const tile_fn *fns = tiles[nv - 1];
        const int *rows = tile_rows[nv - 1];
        for (int64_t i = 0; i < M;) {
            int k = 0;
            while (M - i < rows[k]) k++;
            for (int j = 0; j < rows[k]; j++) xs[j] = a + (i + j) * lda;
            fns[k](xs, b + f0, &geo, m, &none, f0, c + i * ldc + f0, ldc);
            i += rows[k];
        }
    }
}

#else

void ck_sgemm_rows_avx512(int64_t M, int64_t N, int64_t K, const float *a, int64_t lda, const float *b, int64_t ldb,
                          float *c, int64_t ldc)
{
    (void)M, (void)N, (void)K, (void)a, (void)lda, (void)b, (void)ldb, (void)c, (void)ldc;
}

int64_t ck_conv2d_nhwc_tile_rows(int64_t f)
{
    (void)f;
    return 1;
}

void ck_conv2d_nhwc_f32_avx512(const ck_conv_nhwc *g, const float *x, const float *kernel,
                               const ck_conv_epilogue *e, float *out, int64_t p0, int64_t p1)
{
    (void)g, (void)x, (void)kernel, (void)e, (void)out, (void)p0, (void)p1;
}

#endif
