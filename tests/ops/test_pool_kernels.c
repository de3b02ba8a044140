/* The vector max pooling (ops/pool_kernels.h) against the scalar rule in a
 * plain loop, bit for bit: channel counts around 16 (every masked tail),
 * "same" windows clipped at every edge, strides other than the window,
 * NaNs (one wins once seen, whatever follows) and infinities. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ckeras.h"
#include "ops/ops.h"
#include "ops/pool_kernels.h"

static void check(int64_t batch, int64_t h, int64_t w, int64_t c, int64_t k, int64_t s, int same)
{
    ck_pool_nhwc g = {.batch = batch, .h = h, .w = w, .c = c, .kh = k, .kw = k, .sh = s, .sw = s};
    g.oh = same ? (h + s - 1) / s : (h - k) / s + 1;
    g.ow = same ? (w + s - 1) / s : (w - k) / s + 1;
    int64_t th = (g.oh - 1) * s + k - h, tw = (g.ow - 1) * s + k - w;
    g.ph = same && th > 0 ? th / 2 : 0;
    g.pw = same && tw > 0 ? tw / 2 : 0;
    const int64_t nx = batch * h * w * c, ny = batch * g.oh * g.ow * c;
    float *x = malloc(sizeof(float) * (size_t)nx), *y = malloc(sizeof(float) * (size_t)(ny + 16));
    for (int64_t i = 0; i < nx; i++) {
        unsigned r = (unsigned)(i * 2654435761u) >> 7;
        x[i] = r % 97 == 0 ? NAN : r % 89 == 0 ? -INFINITY : (float)(r % 1000) / 100.0f - 5.0f;
    }
    for (int64_t i = 0; i < ny + 16; i++) y[i] = 99.0f;
    ck_set_num_threads(2);
    cr_assert_eq(ck_maxpool_nhwc_f32(&g, x, y), 1);
    ck_set_num_threads(0);
    for (int64_t i = ny; i < ny + 16; i++) cr_expect_eq(y[i], 99.0f, "written past the output");
    for (int64_t b = 0; b < batch; b++)
        for (int64_t oy = 0; oy < g.oh; oy++)
            for (int64_t ox = 0; ox < g.ow; ox++)
                for (int64_t ch = 0; ch < c; ch++) {
                    int64_t y0 = oy * s - g.ph, x0 = ox * s - g.pw, y1 = y0 + k, x1 = x0 + k;
                    if (y0 < 0) y0 = 0;
                    if (x0 < 0) x0 = 0;
                    if (y1 > h) y1 = h;
                    if (x1 > w) x1 = w;
                    float m = x[((b * h + y0) * w + x0) * c + ch];
                    for (int64_t iy = y0; iy < y1; iy++)
                        for (int64_t ix = x0; ix < x1; ix++) {
                            float v = x[((b * h + iy) * w + ix) * c + ch];
                            if (v > m || v != v) m = v;
                        }
                    float got = y[((b * g.oh + oy) * g.ow + ox) * c + ch];
                    cr_expect(memcmp(&got, &m, sizeof m) == 0, "%lldx%lldx%lld c %lld k %lld s %lld same %d: got %g want %g",
                              (long long)batch, (long long)h, (long long)w, (long long)c, (long long)k, (long long)s,
                              same, got, m);
                }
    free(x);
    free(y);
}

Test(pool_kernels, max_against_scalar_rule)
{
    if (!ck_cpu_has_avx512()) cr_skip_test("no AVX-512: the layer keeps its scalar loops");
    static const int64_t cs[] = {1, 3, 15, 16, 17, 32, 40};
    for (size_t i = 0; i < sizeof cs / sizeof cs[0]; i++)
        for (int same = 0; same < 2; same++) {
            check(2, 26, 26, cs[i], 2, 2, same);
            check(1, 7, 9, cs[i], 3, 2, same);
            check(3, 5, 4, cs[i], 2, 1, same);
            check(1, 6, 6, cs[i], 3, 3, same);
        }
}
