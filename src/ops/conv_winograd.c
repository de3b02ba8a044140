/* Winograd F(2x2, 3x3) convolution of channels_last float32 data
 * (conv_kernels.h), after Lavin & Gray, "Fast Algorithms for Convolutional
 * Neural Networks" (2015).
 *
 * Each 2x2 block of outputs ("tile") is A^T [U (.) V] A where, per input
 * channel c and filter f, U = G g G^T is the 3x3 kernel g taken to a 4x4
 * "frequency" grid and V = B^T d B the tile's 4x4 input patch d.  Summing
 * over channels turns the 16 frequencies into 16 independent matrix
 * products M_xi(tiles, F) = V_xi(tiles, C) U_xi(C, F), which run on the
 * register tiles of the direct convolution (ck_sgemm_rows_avx512).  16
 * multiplications per tile and channel pair instead of 36.
 *
 * Memory (the caller's scratch, ck_conv2d_winograd_floats): U for every
 * (xi, c, f), recomputed on every call from the live kernel (a few
 * microseconds; a cached copy could go stale when weights change), then
 * SLOTS work areas, each holding V and M of one block of tiles sized to
 * stay in L2.  The thread pool runs the slots; each slot walks its own
 * contiguous blocks.  A tile's arithmetic does not depend on its block
 * or slot, so results do not depend on the thread count. */
#include "ops/conv_kernels.h"
#include "ops/ops.h"
#include "ops/thread_pool.h"

#if defined(__GNUC__) && defined(__x86_64__)
#include <immintrin.h>

#define TGT __attribute__((target("avx512f,avx512vl,avx512dq,fma")))

#define SLOTS 4
/* V and M of one block (floats): 256 KiB, a quarter of a 1 MiB L2 */
#define BLOCK_FLOATS (64 * 1024)
/* U at most 4 MiB (C * F <= 65536, e.g. 256 -> 256) */
#define MAX_U_FLOATS (1 << 20)

typedef struct wplan {
    int64_t th, tw, tiles;   /* tiles per column / row of an image; all */
    int64_t nt, blocks;      /* tiles per block, blocks                 */
    int64_t u, v, m, slot;   /* floats of U, of V and M per slot, per slot */
    int64_t us, vs, ms;      /* floats between frequencies in U, V, M   */
} wplan;

/* A frequency's slice of floats n, padded by a cache line more than a
 * whole number of lines: with C * F a multiple of 1024 the 16 slices
 * would otherwise start at the same offset modulo 4 KiB, one L1 set, and
 * the transforms that write all 16 would evict each other. */
static int64_t slice(int64_t n) { return (n + 15) / 16 * 16 + 16; }

/* pool: only the tiles under a 2x2 / 2 pooling window (a partial last
 * tile row or column is not computed at all). */
static int plan(const ck_conv_nhwc *g, int pool, wplan *p)
{
    if (g->kh != 3 || g->kw != 3 || g->sh != 1 || g->sw != 1 || g->dh != 1 || g->dw != 1 || g->c < 8 ||
        g->oh <= 0 || g->ow <= 0 || g->batch <= 0 || g->f <= 0 || 16 * g->c * g->f > MAX_U_FLOATS ||
        !ck_cpu_has_avx512())
        return 0;
    p->th = pool ? g->oh / 2 : (g->oh + 1) / 2;
    p->tw = pool ? g->ow / 2 : (g->ow + 1) / 2;
    p->tiles = g->batch * p->th * p->tw;
    if (p->tiles == 0) { /* a pooling with nothing to pool */
        *p = (wplan){0};
        return 1;
    }
    int64_t cap = BLOCK_FLOATS / (16 * (g->c + g->f));
    if (cap < 8) cap = 8;
    p->blocks = (p->tiles + cap - 1) / cap;
    /* two blocks at least, so that two threads share a single image */
    if (p->blocks < 2 && p->tiles >= 24) p->blocks = 2;
    p->nt = (p->tiles + p->blocks - 1) / p->blocks;
    p->blocks = (p->tiles + p->nt - 1) / p->nt;
    p->us = slice(g->c * g->f);
    p->vs = slice(p->nt * g->c);
    p->ms = slice(p->nt * g->f);
    p->u = 16 * p->us;
    p->v = 16 * p->vs;
    p->m = 16 * p->ms;
    p->slot = p->v + p->m;
    return 1;
}

static int64_t floats(const wplan *p)
{
    return p->u + (p->blocks < SLOTS ? p->blocks : SLOTS) * p->slot;
}

int64_t ck_conv2d_winograd_floats(const ck_conv_nhwc *g)
{
    /* enough for the pooled variant too (its blocks may be larger) */
    wplan p, q;
    if (!plan(g, 0, &p)) return 0;
    if (!plan(g, 1, &q) || q.tiles == 0) return floats(&p);
    return floats(&p) > floats(&q) ? floats(&p) : floats(&q);
}

static inline __mmask16 tail_mask(int64_t left)
{
    return left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1);
}

/* U[xi][c][f] = (G g G^T)[xi] for every channel c and filter f. */
static TGT void kernel_transform(const ck_conv_nhwc *g, const wplan *p, const float *w, float *U)
{
    const int64_t C = g->c, F = g->f;
    const __m512 half = _mm512_set1_ps(0.5f);
    for (int64_t c = 0; c < C; c++)
        for (int64_t f0 = 0; f0 < F; f0 += 16) {
            const __mmask16 m = tail_mask(F - f0);
            __m512 k[3][3], t[4][3];
            _Pragma("GCC unroll 3") for (int i = 0; i < 3; i++)
                _Pragma("GCC unroll 3") for (int j = 0; j < 3; j++) k[i][j] = _mm512_maskz_loadu_ps(m, w + ((i * 3 + j) * C + c) * F + f0);
            _Pragma("GCC unroll 3") for (int j = 0; j < 3; j++) {
                const __m512 s = _mm512_add_ps(k[0][j], k[2][j]);
                t[0][j] = k[0][j];
                t[1][j] = _mm512_mul_ps(half, _mm512_add_ps(s, k[1][j]));
                t[2][j] = _mm512_mul_ps(half, _mm512_sub_ps(s, k[1][j]));
                t[3][j] = k[2][j];
            }
            _Pragma("GCC unroll 4") for (int i = 0; i < 4; i++) {
                const __m512 s = _mm512_add_ps(t[i][0], t[i][2]);
                const __m512 u[4] = {t[i][0], _mm512_mul_ps(half, _mm512_add_ps(s, t[i][1])),
                                     _mm512_mul_ps(half, _mm512_sub_ps(s, t[i][1])), t[i][2]};
                _Pragma("GCC unroll 4") for (int j = 0; j < 4; j++) _mm512_mask_storeu_ps(U + (i * 4 + j) * p->us + c * F + f0, m, u[j]);
            }
        }
}

typedef struct wjob {
    const ck_conv_nhwc *g;
    const wplan *p;
    const float *x, *U;
    const ck_conv_epilogue *e;
    float *out, *slots;
    int64_t nslots;
    int pool; /* out is the 2x2 / stride 2 max pooling of the outputs */
} wjob;

/* V[xi][ti][c] = (B^T d B)[xi] of tile t (block position ti). */
static TGT void input_tile(const wjob *j, int64_t t, int64_t ti, float *V)
{
    const ck_conv_nhwc *g = j->g;
    const int64_t C = g->c, vs = j->p->vs, per = j->p->th * j->p->tw;
    const int64_t b = t / per, q = t % per, iy0 = (q / j->p->tw) * 2 - g->ph, ix0 = (q % j->p->tw) * 2 - g->pw;
    const float *xb = j->x + b * g->h * g->w * C;
    for (int64_t c0 = 0; c0 < C; c0 += 16) {
        const __mmask16 m = tail_mask(C - c0);
        __m512 d[4][4], r[4][4];
        for (int i = 0; i < 4; i++)
            for (int k = 0; k < 4; k++) {
                const int64_t iy = iy0 + i, ix = ix0 + k;
                d[i][k] = iy >= 0 && iy < g->h && ix >= 0 && ix < g->w
                              ? _mm512_maskz_loadu_ps(m, xb + (iy * g->w + ix) * C + c0)
                              : _mm512_setzero_ps();
            }
        for (int k = 0; k < 4; k++) { /* B^T d: rows */
            r[0][k] = _mm512_sub_ps(d[0][k], d[2][k]);
            r[1][k] = _mm512_add_ps(d[1][k], d[2][k]);
            r[2][k] = _mm512_sub_ps(d[2][k], d[1][k]);
            r[3][k] = _mm512_sub_ps(d[1][k], d[3][k]);
        }
        for (int i = 0; i < 4; i++) { /* (B^T d) B: columns */
            const __m512 v[4] = {_mm512_sub_ps(r[i][0], r[i][2]), _mm512_add_ps(r[i][1], r[i][2]),
                                 _mm512_sub_ps(r[i][2], r[i][1]), _mm512_sub_ps(r[i][1], r[i][3])};
            for (int k = 0; k < 4; k++) _mm512_mask_storeu_ps(V + (i * 4 + k) * vs + ti * C + c0, m, v[k]);
        }
    }
}

/* The 2x2 outputs of tile t from M[xi][ti][f], through the epilogue. */
static TGT void output_tile(const wjob *j, int64_t t, int64_t ti, const float *M)
{
    const ck_conv_nhwc *g = j->g;
    const ck_conv_epilogue *e = j->e;
    const int64_t F = g->f, ms = j->p->ms, per = j->p->th * j->p->tw;
    const int64_t b = t / per, q = t % per, oy0 = (q / j->p->tw) * 2, ox0 = (q % j->p->tw) * 2;
    const int rows = oy0 + 1 < g->oh ? 2 : 1, cols = ox0 + 1 < g->ow ? 2 : 1;
    float *ob = j->pool ? NULL : j->out + ((b * g->oh + oy0) * g->ow + ox0) * F;
    for (int64_t f0 = 0; f0 < F; f0 += 16) {
        const __mmask16 m = tail_mask(F - f0);
        __m512 s[2][4];
        for (int k = 0; k < 4; k++) { /* A^T M: rows */
            const __m512 m0 = _mm512_maskz_loadu_ps(m, M + (0 * 4 + k) * ms + ti * F + f0);
            const __m512 m1 = _mm512_maskz_loadu_ps(m, M + (1 * 4 + k) * ms + ti * F + f0);
            const __m512 m2 = _mm512_maskz_loadu_ps(m, M + (2 * 4 + k) * ms + ti * F + f0);
            const __m512 m3 = _mm512_maskz_loadu_ps(m, M + (3 * 4 + k) * ms + ti * F + f0);
            s[0][k] = _mm512_add_ps(_mm512_add_ps(m0, m1), m2);
            s[1][k] = _mm512_sub_ps(_mm512_sub_ps(m1, m2), m3);
        }
        const __m512 bias = e->bias ? _mm512_maskz_loadu_ps(m, e->bias + f0) : _mm512_setzero_ps();
        const __m512 scale = e->scale ? _mm512_maskz_loadu_ps(m, e->scale + f0) : _mm512_setzero_ps();
        const __m512 shift = e->scale ? _mm512_maskz_loadu_ps(m, e->shift + f0) : _mm512_setzero_ps();
        __m512 best = _mm512_setzero_ps();
        for (int a = 0; a < rows; a++) {
            const __m512 y[2] = {_mm512_add_ps(_mm512_add_ps(s[a][0], s[a][1]), s[a][2]),
                                 _mm512_sub_ps(_mm512_sub_ps(s[a][1], s[a][2]), s[a][3])};
            for (int c = 0; c < cols; c++) {
                __m512 v = _mm512_add_ps(y[c], bias);
                if (e->scale) v = _mm512_add_ps(_mm512_mul_ps(v, scale), shift);
                if (e->relu) v = _mm512_max_ps(v, _mm512_setzero_ps());
                if (!j->pool) {
                    _mm512_mask_storeu_ps(ob + (a * g->ow + c) * F + f0, m, v);
                } else if (a == 0 && c == 0) {
                    best = v;
                } else { /* MaxPooling2D's rule, in its window order */
                    const __mmask16 take =
                        _mm512_cmp_ps_mask(v, best, _CMP_GT_OQ) | _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
                    best = _mm512_mask_mov_ps(best, take, v);
                }
            }
        }
        /* a pooled output needs the whole window: partial tiles drop out */
        if (j->pool && rows == 2 && cols == 2)
            _mm512_mask_storeu_ps(j->out + ((b * (g->oh / 2) + oy0 / 2) * (g->ow / 2) + ox0 / 2) * F + f0, m, best);
    }
}

/* Slots [s0, s1): each its contiguous share of the blocks. */
static void run_slots(void *arg, int64_t s0, int64_t s1)
{
    const wjob *j = arg;
    const wplan *p = j->p;
    const int64_t C = j->g->c, F = j->g->f;
    for (int64_t s = s0; s < s1; s++) {
        float *V = j->slots + s * p->slot, *M = V + p->v;
        const int64_t b0 = s * p->blocks / j->nslots, b1 = (s + 1) * p->blocks / j->nslots;
        for (int64_t blk = b0; blk < b1; blk++) {
            const int64_t t0 = blk * p->nt, n = p->tiles - t0 < p->nt ? p->tiles - t0 : p->nt;
            for (int64_t ti = 0; ti < n; ti++) input_tile(j, t0 + ti, ti, V);
            for (int xi = 0; xi < 16; xi++)
                ck_sgemm_rows_avx512(n, F, C, V + xi * p->vs, C, j->U + xi * p->us, F, M + xi * p->ms, F);
            for (int64_t ti = 0; ti < n; ti++) output_tile(j, t0 + ti, ti, M);
        }
    }
}

static int winograd(const ck_conv_nhwc *g, const float *x, const float *kernel, const ck_conv_epilogue *e,
                    float *out, float *scratch, int pool)
{
    wplan p;
    /* the scratch size follows the CPU alone, so that a plan made while a
     * test had the kernels switched off still holds enough; whether they
     * run is decided here */
    if (!scratch || !ck_conv2d_nhwc_avx512_available() || !plan(g, pool, &p)) return 0;
    if (p.tiles == 0) return 1;
    kernel_transform(g, &p, kernel, scratch);
    wjob j = {g, &p, x, scratch, e, out, scratch + p.u, p.blocks < SLOTS ? p.blocks : SLOTS, pool};
    /* the work of the direct convolution this replaces: the pool's unit
     * of "enough work to wake a thread" was measured on such kernels */
    const double work = 2.0 * (double)(g->batch * g->oh * g->ow) * (double)(9 * g->c * g->f);
    /* every part reads all of U, written just now by this thread */
    ck_pool_for_shared(j.nslots, 1, work, 4.0 * (double)p.u, run_slots, &j);
    return 1;
}

int ck_conv2d_winograd_f32(const ck_conv_nhwc *g, const float *x, const float *kernel, const ck_conv_epilogue *e,
                           float *out, float *scratch)
{
    return winograd(g, x, kernel, e, out, scratch, 0);
}

int ck_conv2d_winograd_pool_f32(const ck_conv_nhwc *g, const float *x, const float *kernel,
                                const ck_conv_epilogue *e, float *out, float *scratch)
{
    return winograd(g, x, kernel, e, out, scratch, 1);
}

#else

int ck_conv2d_winograd_pool_f32(const ck_conv_nhwc *g, const float *x, const float *kernel,
                                const ck_conv_epilogue *e, float *out, float *scratch)
{
    (void)g, (void)x, (void)kernel, (void)e, (void)out, (void)scratch;
    return 0;
}

int64_t ck_conv2d_winograd_floats(const ck_conv_nhwc *g)
{
    (void)g;
    return 0;
}

int ck_conv2d_winograd_f32(const ck_conv_nhwc *g, const float *x, const float *kernel, const ck_conv_epilogue *e,
                           float *out, float *scratch)
{
    (void)g, (void)x, (void)kernel, (void)e, (void)out, (void)scratch;
    return 0;
}

#endif
