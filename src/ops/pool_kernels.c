/* Vector max pooling of channels_last float32 data (pool_kernels.h).
 * Compiled through the target attribute; callers fall back to the layer's
 * scalar loops when the CPU lacks AVX-512. */
#include "ops/pool_kernels.h"
#include "ops/ops.h"
#include "ops/thread_pool.h"

#if defined(__GNUC__) && defined(__x86_64__)
#include <immintrin.h>

#define TGT __attribute__((target("avx512f,avx512vl,avx512dq,fma")))

/* The window of output index o along one axis, clipped to [0, len). */
static inline void window(int64_t o, int64_t stride, int64_t pad, int64_t k, int64_t len, int64_t *lo, int64_t *hi)
{
    int64_t a = o * stride - pad, b = a + k;
    *lo = a < 0 ? 0 : a;
    *hi = b > len ? len : b;
}

typedef struct pool_job {
    const ck_pool_nhwc *g;
    const float *x;
    float *y;
} pool_job;

/* Output rows [r0, r1) of the flattened (batch, oh) grid. */
static TGT void pool_rows(void *arg, int64_t r0, int64_t r1)
{
    const pool_job *j = arg;
    const ck_pool_nhwc *g = j->g;
    const int64_t C = g->c;
    for (int64_t r = r0; r < r1; r++) {
        const int64_t b = r / g->oh, oy = r % g->oh;
        const float *xb = j->x + b * g->h * g->w * C;
        float *y = j->y + r * g->ow * C;
        int64_t y0, y1;
        window(oy, g->sh, g->ph, g->kh, g->h, &y0, &y1);
        for (int64_t ox = 0; ox < g->ow; ox++, y += C) {
            int64_t x0, x1;
            window(ox, g->sw, g->pw, g->kw, g->w, &x0, &x1);
            for (int64_t c = 0; c < C; c += 16) {
                const __mmask16 m = C - c >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (C - c)) - 1);
                __m512 best = _mm512_maskz_loadu_ps(m, xb + (y0 * g->w + x0) * C + c);
                for (int64_t iy = y0; iy < y1; iy++)
                    for (int64_t ix = x0; ix < x1; ix++) {
                        const __m512 v = _mm512_maskz_loadu_ps(m, xb + (iy * g->w + ix) * C + c);
                        /* the scalar rule: take v when v > best or v is NaN */
                        const __mmask16 take =
                            _mm512_cmp_ps_mask(v, best, _CMP_GT_OQ) | _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
                        best = _mm512_mask_mov_ps(best, take, v);
                    }
                _mm512_mask_storeu_ps(y + c, m, best);
            }
        }
    }
}

int ck_maxpool_nhwc_f32(const ck_pool_nhwc *g, const float *x, float *y)
{
    if (!ck_cpu_has_avx512()) return 0;
    pool_job job = {g, x, y};
    const int64_t rows = g->batch * g->oh;
    /* memory-bound: a compare per input element read counts as a few flops */
    const double work = 4.0 * (double)rows * (double)(g->ow * g->kh * g->kw * g->c);
    ck_pool_for(rows, 1, work, pool_rows, &job);
    return 1;
}

#else

int ck_maxpool_nhwc_f32(const ck_pool_nhwc *g, const float *x, float *y)
{
    (void)g, (void)x, (void)y;
    return 0;
}

#endif
