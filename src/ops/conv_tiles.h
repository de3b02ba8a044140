/* The register tiles of the direct channels_last convolution, written
 * once for every vector width (conv_kernels.h).  Included by
 * conv_kernels_avx512.c and conv_kernels_avx2.c after they define:
 *
 *   CT_SFX            the suffix of what this file defines (avx512, avx2)
 *   CT_TGT            the target attribute of the instruction set
 *   CT_W              floats per vector
 *   CT_NV             vectors of filters per tile at most (a filter chunk
 *                     is CT_NV * CT_W filters)
 *   CT_ROWS           {{tallest, 4, 2, 1} per NV}: positions per tile,
 *                     tallest first, so that MR * NV accumulators, NV
 *                     kernel vectors and a broadcast fit the registers
 *   CT_INSTANTIATE    CT_DEFINE_TILE(MR, NV) for each of those tiles
 *   CT_TILE_TABLE     their names, CT_NAME(tile_MR_NV), in CT_ROWS' order
 *   ct_vec, ct_mask   the vector and the lane-mask types
 *   CT_ZERO() CT_SET1(f) CT_LOADU(p) CT_MLOADU(m, p) (masked-off lanes 0,
 *   never read) CT_FMA(a, b, c) CT_ADD CT_MUL CT_MAX CT_MSTOREU(p, m, v)
 *   CT_MASK(n)        the mask of the first n lanes (1 <= n <= CT_W)
 *
 * A tile is MR consecutive output positions x NV vectors of filters, its
 * MR * NV accumulators held in registers over the whole reduction (kh, kw,
 * C).  Per reduction step it loads NV vectors of the kernel's row (the
 * kernel is (kh*kw*C, F) row-major as stored) and broadcasts one input
 * float per position.  A patch row is contiguous in the input: with
 * dilation 1 the kw pixels of a kernel row are one run of kw*C floats, so
 * the inner loop is a plain stream of kernel rows.
 *
 * Positions whose patch lies wholly inside the input ("interior") are
 * gathered into tiles; the others (the frame that "same" padding adds)
 * run one at a time with their kernel window clipped to the input, which
 * is exact for zero padding.  Every output element sees the same sequence
 * of FMAs whichever tile (and whichever vector width) computes it, so
 * results depend neither on how positions were grouped, nor on the thread
 * split, nor on the CPU's instruction set. */

#define CT_CAT_(a, b) a##_##b
#define CT_CAT(a, b) CT_CAT_(a, b)
#define CT_NAME(n) CT_CAT(n, CT_SFX)
#define CT_FCHUNK (CT_NV * CT_W)

/* Strides of one tile's reduction, in floats. */
typedef struct CT_NAME(tile_geo) {
    int64_t nky, nkx, run; /* kernel rows, runs per row, floats per run   */
    int64_t xky, xkx;      /* input offset between kernel rows / runs     */
    int64_t wky, wkx;      /* kernel offset between kernel rows / runs    */
    int64_t ldw;           /* kernel offset between reduction steps (F)   */
} CT_NAME(tile_geo);

typedef void (*CT_NAME(tile_fn))(const float *const *xs, const float *wp, const CT_NAME(tile_geo) * g, ct_mask m,
                                  const ck_conv_epilogue *e, int64_t f0, float *out, int64_t ldo);

/* xs[j]: position j's input at the tile's first (ky, kx, c); wp: the
 * kernel at the same (ky, kx, 0) and filter f0; out: position 0's output
 * at filter f0, positions ldo apart.  m masks the last vector's filters. */
#define CT_DEFINE_TILE(MR, NV)                                                                                     \
    static CT_TGT void CT_NAME(tile_##MR##_##NV)(const float *const *xs, const float *wp,                         \
                                                 const CT_NAME(tile_geo) * g, ct_mask m,                         \
                                                 const ck_conv_epilogue *e, int64_t f0, float *out, int64_t ldo) \
    {                                                                                                              \
        ct_vec acc[MR][NV];                                                                                        \
        _Pragma("GCC unroll 16") for (int j = 0; j < MR; j++)                                                      \
            _Pragma("GCC unroll 4") for (int v = 0; v < NV; v++) acc[j][v] = CT_ZERO();                            \
        for (int64_t ky = 0; ky < g->nky; ky++)                                                                    \
            for (int64_t kx = 0; kx < g->nkx; kx++) {                                                              \
                const int64_t xo = ky * g->xky + kx * g->xkx;                                                      \
                const float *w = wp + ky * g->wky + kx * g->wkx;                                                   \
                const float *x[MR];                                                                                \
                _Pragma("GCC unroll 16") for (int j = 0; j < MR; j++) x[j] = xs[j] + xo;                           \
                for (int64_t t = 0; t < g->run; t++, w += g->ldw) {                                                \
                    ct_vec b[NV];                                                                                  \
                    _Pragma("GCC unroll 4") for (int v = 0; v < NV; v++) b[v] =                                    \
                        v == NV - 1 ? CT_MLOADU(m, w + CT_W * v) : CT_LOADU(w + CT_W * v);                         \
                    _Pragma("GCC unroll 16") for (int j = 0; j < MR; j++) {                                        \
                        const ct_vec a = CT_SET1(x[j][t]);                                                         \
                        _Pragma("GCC unroll 4") for (int v = 0; v < NV; v++) acc[j][v] =                           \
                            CT_FMA(a, b[v], acc[j][v]);                                                            \
                    }                                                                                              \
                }                                                                                                  \
            }                                                                                                      \
        _Pragma("GCC unroll 4") for (int v = 0; v < NV; v++) {                                                     \
            const ct_mask mv = v == NV - 1 ? m : CT_MASK(CT_W);                                                    \
            const int64_t f = f0 + CT_W * v;                                                                       \
            const ct_vec bias = e->bias ? CT_MLOADU(mv, e->bias + f) : CT_ZERO();                                  \
            const ct_vec scale = e->scale ? CT_MLOADU(mv, e->scale + f) : CT_ZERO();                               \
            const ct_vec shift = e->scale ? CT_MLOADU(mv, e->shift + f) : CT_ZERO();                               \
            _Pragma("GCC unroll 16") for (int j = 0; j < MR; j++) {                                                \
                /* the bias is added after the sum, as the unfused path */                                         \
                ct_vec s = CT_ADD(acc[j][v], bias);                                                                \
                if (e->scale) s = CT_ADD(CT_MUL(s, scale), shift);                                                 \
                if (e->relu) s = CT_MAX(s, CT_ZERO());                                                             \
                CT_MSTOREU(out + j * ldo + CT_W * v, mv, s);                                                       \
            }                                                                                                      \
        }                                                                                                          \
    }

CT_INSTANTIATE

/* [NV - 1][k]: the tallest tile, then 4, 2 and 1 positions. */
static const CT_NAME(tile_fn) CT_NAME(tiles)[CT_NV][4] = CT_TILE_TABLE;
static const int CT_NAME(tile_rows)[CT_NV][4] = CT_ROWS;

/* The kernel rows [lo, hi) that land inside an input of n pixels for an
 * output whose window starts at i0 (may be negative), step d. */
static void CT_NAME(clip)(int64_t i0, int64_t n, int64_t k, int64_t d, int64_t *lo, int64_t *hi)
{
    int64_t l = i0 >= 0 ? 0 : (-i0 + d - 1) / d;
    int64_t h = i0 > n - 1 ? 0 : (n - 1 - i0) / d + 1;
    if (h > k) h = k;
    if (l > h) l = h;
    *lo = l;
    *hi = h;
}

int64_t CT_NAME(ck_conv2d_nhwc_tile_rows)(int64_t f)
{
    return f >= CT_FCHUNK ? CT_NAME(tile_rows)[CT_NV - 1][0] : CT_NAME(tile_rows)[(f + CT_W - 1) / CT_W - 1][0];
}

CT_TGT void CT_NAME(ck_conv2d_nhwc_f32)(const ck_conv_nhwc *g, const float *x, const float *kernel,
                                        const ck_conv_epilogue *e, float *out, int64_t p0, int64_t p1)
{
    const int64_t C = g->c, F = g->f, plane = g->oh * g->ow;
    const int merge = g->dw == 1; /* a kernel row's pixels form one run */
    CT_NAME(tile_geo) full = {.nky = g->kh, .nkx = merge ? 1 : g->kw, .run = merge ? g->kw * C : C,
                              .xky = g->dh * g->w * C, .xkx = g->dw * C, .wky = g->kw * C * F, .wkx = C * F,
                              .ldw = F};
    enum { TALLEST = 16 };
    for (int64_t f0 = 0; f0 < F; f0 += CT_FCHUNK) {
        const int64_t nf = F - f0 < CT_FCHUNK ? F - f0 : CT_FCHUNK;
        const int nv = (int)((nf + CT_W - 1) / CT_W);
        const ct_mask m = CT_MASK(nf % CT_W ? (int)(nf % CT_W) : CT_W);
        const CT_NAME(tile_fn) *fns = CT_NAME(tiles)[nv - 1];
        const int *rows = CT_NAME(tile_rows)[nv - 1];
        const float *xs[TALLEST];
        int64_t p = p0;
        /* position p is (b, oy, ox), stepped along without divisions */
        int64_t b = p0 / plane, oy = p0 % plane / g->ow, ox = p0 % g->ow;
#define CT_NEXT_POSITION() (p++, ++ox == g->ow ? (ox = 0, ++oy == g->oh ? (oy = 0, b++) : 0) : 0)
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
                    CT_NAME(clip)(iy, g->h, g->kh, g->dh, &ky0, &ky1);
                    CT_NAME(clip)(ix, g->w, g->kw, g->dw, &kx0, &kx1);
                    CT_NAME(tile_geo) cg = full;
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
                    CT_NEXT_POSITION();
                    continue;
                }
                if (n == 0) first = p;
                xs[n++] = x + ((b * g->h + iy) * g->w + ix) * C;
                CT_NEXT_POSITION();
            }
            for (int done = 0, k = 0; done < n;) {
                while (n - done < rows[k]) k++;
                fns[k](xs + done, kernel + f0, &full, m, e, f0, out + (first - p0 + done) * F + f0, F);
                done += rows[k];
            }
        }
#undef CT_NEXT_POSITION
    }
}
