/* Conv2D followed by MaxPooling2D in one pass (conv_kernels.h).
 *
 * Why: in a batch the convolution's whole output (MNIST's first one: 64
 * images of 26x26x32 floats, 5.5 MB) leaves the caches before the pooling
 * reads it back, and the pooling then runs at memory speed.  Here each
 * pooled row is made from the convolution rows under it, computed into a
 * band on the thread's stack, so they are still in L1 when pooled. */
#include "ops/conv_kernels.h"
#include "ops/ops.h"
#include "ops/thread_pool.h"

#if defined(__GNUC__) && defined(__x86_64__)
#include <immintrin.h>

#define TGT __attribute__((target("avx512f,avx512vl,avx512dq,fma")))

/* The band of convolution rows under one pooled row, in floats (on the
 * stack of a pool thread). */
#define BAND_FLOATS 8192

/* The window of output index o along one axis, clipped to [0, len). */
static inline void window(int64_t o, int64_t stride, int64_t pad, int64_t k, int64_t len, int64_t *lo, int64_t *hi)
{
    int64_t a = o * stride - pad, b = a + k;
    *lo = a < 0 ? 0 : a;
    *hi = b > len ? len : b;
}

static int winograd_pools(const ck_conv_nhwc *g, const ck_pool_nhwc *p)
{
    return p->kh == 2 && p->kw == 2 && p->sh == 2 && p->sw == 2 && p->ph == 0 && p->pw == 0 &&
           p->oh == g->oh / 2 && p->ow == g->ow / 2 && ck_conv2d_nhwc_avx512_available() &&
           ck_conv2d_winograd_floats(g) > 0;
}

int ck_conv2d_pool_fusable(const ck_conv_nhwc *g, const ck_pool_nhwc *p)
{
    if (!ck_conv2d_nhwc_avx512_available() || p->batch != g->batch || p->h != g->oh || p->w != g->ow || p->c != g->f)
        return 0;
    return winograd_pools(g, p) || p->kh * g->ow * g->f <= BAND_FLOATS;
}

typedef struct cp_job {
    const ck_conv_nhwc *g;
    const ck_pool_nhwc *p;
    const float *x, *kernel;
    const ck_conv_epilogue *e;
    float *y;
} cp_job;

/* Pooled rows [r0, r1) of the flattened (batch, p->oh) grid. */
static TGT void pooled_rows(void *arg, int64_t r0, int64_t r1)
{
    const cp_job *j = arg;
    const ck_conv_nhwc *g = j->g;
    const ck_pool_nhwc *p = j->p;
    const int64_t F = g->f;
    _Alignas(64) float band[BAND_FLOATS];
    for (int64_t r = r0; r < r1; r++) {
        const int64_t b = r / p->oh, py = r % p->oh;
        int64_t y0, y1;
        window(py, p->sh, p->ph, p->kh, p->h, &y0, &y1);
        const int64_t first = (b * g->oh + y0) * g->ow;
        ck_conv2d_nhwc_f32_avx512(g, j->x, j->kernel, j->e, band, first, first + (y1 - y0) * g->ow);
        float *out = j->y + r * p->ow * F;
        for (int64_t px = 0; px < p->ow; px++, out += F) {
            int64_t x0, x1;
            window(px, p->sw, p->pw, p->kw, p->w, &x0, &x1);
            for (int64_t f0 = 0; f0 < F; f0 += 16) {
                const __mmask16 m = F - f0 >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (F - f0)) - 1);
                __m512 best = _mm512_maskz_loadu_ps(m, band + x0 * F + f0);
                for (int64_t iy = 0; iy < y1 - y0; iy++)
                    for (int64_t ix = x0; ix < x1; ix++) {
                        const __m512 v = _mm512_maskz_loadu_ps(m, band + (iy * g->ow + ix) * F + f0);
                        /* MaxPooling2D's rule: v wins when greater or NaN */
                        const __mmask16 take =
                            _mm512_cmp_ps_mask(v, best, _CMP_GT_OQ) | _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
                        best = _mm512_mask_mov_ps(best, take, v);
                    }
                _mm512_mask_storeu_ps(out + f0, m, best);
            }
        }
    }
}

int ck_conv2d_pool_nhwc_f32(const ck_conv_nhwc *g, const float *x, const float *kernel, const ck_conv_epilogue *e,
                            const ck_pool_nhwc *p, float *y, float *scratch)
{
    if (!ck_conv2d_pool_fusable(g, p)) return 0;
    if (scratch && winograd_pools(g, p)) return ck_conv2d_winograd_pool_f32(g, x, kernel, e, y, scratch);
    if (p->kh * g->ow * g->f > BAND_FLOATS) return 0;
    if (p->batch * p->oh * p->ow == 0) return 1;
    cp_job job = {g, p, x, kernel, e, y};
    const double work = 2.0 * (double)(g->batch * g->oh * g->ow) * (double)(g->kh * g->kw * g->c * g->f);
    ck_pool_for(p->batch * p->oh, 1, work, pooled_rows, &job);
    return 1;
}

#else

int ck_conv2d_pool_fusable(const ck_conv_nhwc *g, const ck_pool_nhwc *p)
{
    (void)g, (void)p;
    return 0;
}

int ck_conv2d_pool_nhwc_f32(const ck_conv_nhwc *g, const float *x, const float *kernel, const ck_conv_epilogue *e,
                            const ck_pool_nhwc *p, float *y, float *scratch)
{
    (void)g, (void)x, (void)kernel, (void)e, (void)p, (void)y, (void)scratch;
    return 0;
}

#endif
