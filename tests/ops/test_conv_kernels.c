/* The direct channels_last convolution (ops/conv_kernels.h) against a
 * plain loop in double, with the AVX-512 and the AVX2 tiles: padding on
 * every side, strides, dilations, filter counts around the 8- and 16-wide
 * vectors and 16- and 64-wide column blocks (every masked tail), channel
 * counts from 1 up, batches, every epilogue; and the result must depend
 * neither on the thread count nor on the vector width.  Skipped where the
 * CPU lacks the kernels (the layer then keeps its im2col path). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ckeras.h"
#include "ops/conv_kernels.h"
#include "ops/ops.h"

static float value(int64_t i, int salt) { return (float)((i * 7919 + salt * 104729) % 2001) / 1000.0f - 1.0f; }

/* output length and padding before, as TF computes them */
static void axis(int64_t n, int64_t k, int64_t s, int64_t d, int same, int64_t *o, int64_t *pad)
{
    const int64_t ek = (k - 1) * d + 1;
    *o = same ? (n + s - 1) / s : (n - ek + s) / s;
    const int64_t total = (*o - 1) * s + ek - n;
    *pad = same && total > 0 ? total / 2 : 0;
}

/* wino: through the Winograd kernels (which must apply) */
/* The worst error of the case relative to 1 + the sum of the magnitudes
 * of each output's terms. */
static double run_case(const int64_t spec[9], int same, int epi, int threads, float **keep, int wino)
{
    /* spec: batch, h, w, c, f, kh, kw, stride, dilation */
    ck_conv_nhwc g = {.batch = spec[0], .h = spec[1], .w = spec[2], .c = spec[3], .f = spec[4], .kh = spec[5],
                      .kw = spec[6], .sh = spec[7], .sw = spec[7], .dh = spec[8], .dw = spec[8]};
    axis(g.h, g.kh, g.sh, g.dh, same, &g.oh, &g.ph);
    axis(g.w, g.kw, g.sw, g.dw, same, &g.ow, &g.pw);
    const int64_t nx = g.batch * g.h * g.w * g.c, nk = g.kh * g.kw * g.c * g.f, no = g.batch * g.oh * g.ow * g.f;
    float *x = malloc(sizeof(float) * (size_t)nx), *k = malloc(sizeof(float) * (size_t)nk);
    float *out = malloc(sizeof(float) * (size_t)(no + 16)), *bias = malloc(sizeof(float) * (size_t)g.f);
    float *scale = malloc(sizeof(float) * (size_t)g.f), *shift = malloc(sizeof(float) * (size_t)g.f);
    for (int64_t i = 0; i < nx; i++) x[i] = value(i, 1);
    for (int64_t i = 0; i < nk; i++) k[i] = value(i, 2);
    for (int64_t i = 0; i < g.f; i++) bias[i] = value(i, 3), scale[i] = 0.5f + value(i, 4), shift[i] = value(i, 5);
    for (int64_t i = 0; i < no + 16; i++) out[i] = 1234.0f;
    ck_conv_epilogue e = {.bias = epi & 1 ? bias : NULL, .scale = epi & 2 ? scale : NULL,
                          .shift = epi & 2 ? shift : NULL, .relu = (epi & 4) != 0};
    ck_set_num_threads(threads);
    if (wino) {
        const int64_t floats = ck_conv2d_winograd_floats(&g);
        cr_assert_gt(floats, 0);
        float *scratch = aligned_alloc(64, (size_t)(floats * 4 + 63) / 64 * 64);
        for (int64_t i = 0; i < floats; i++) scratch[i] = NAN; /* nothing may be read before written */
        cr_assert_eq(ck_conv2d_winograd_f32(&g, x, k, &e, out, scratch), 1);
        free(scratch);
    } else {
        cr_assert_eq(ck_conv2d_nhwc_f32(&g, x, k, &e, out), 1);
    }
    ck_set_num_threads(0);
    for (int64_t i = no; i < no + 16; i++) cr_expect_eq(out[i], 1234.0f, "written past the output");
    double worst = 0;
    for (int64_t b = 0; b < g.batch; b++)
        for (int64_t oy = 0; oy < g.oh; oy++)
            for (int64_t ox = 0; ox < g.ow; ox++)
                for (int64_t f = 0; f < g.f; f++) {
                    double s = 0, mag = 0; /* the sum and the sum of its terms' magnitudes */
                    for (int64_t ky = 0; ky < g.kh; ky++)
                        for (int64_t kx = 0; kx < g.kw; kx++) {
                            int64_t iy = oy * g.sh - g.ph + ky * g.dh, ix = ox * g.sw - g.pw + kx * g.dw;
                            if (iy < 0 || iy >= g.h || ix < 0 || ix >= g.w) continue;
                            for (int64_t c = 0; c < g.c; c++) {
                                double t = (double)x[((b * g.h + iy) * g.w + ix) * g.c + c] *
                                           (double)k[((ky * g.kw + kx) * g.c + c) * g.f + f];
                                s += t;
                                mag += fabs(t);
                            }
                        }
                    if (e.bias) s += bias[f], mag += fabs(bias[f]);
                    if (e.scale) s = s * scale[f] + shift[f], mag = mag * fabs(scale[f]) + fabs(shift[f]);
                    if (e.relu && s < 0) s = 0;
                    double got = out[((b * g.oh + oy) * g.ow + ox) * g.f + f];
                    /* float32 rounding grows with the terms summed, not with the sum */
                    double d = fabs(got - s) / (1.0 + mag);
                    if (!(d <= worst)) worst = d; /* NaN counts */
                }
    free(x), free(k), free(bias), free(scale), free(shift);
    if (keep) *keep = out;
    else free(out);
    return worst;
}

static const int64_t specs[][9] = {
    /* batch, h, w, c, f, kh, kw, stride, dilation */
    {1, 28, 28, 1, 32, 3, 3, 1, 1},  {1, 13, 13, 32, 64, 3, 3, 1, 1}, {2, 7, 9, 3, 17, 3, 3, 1, 1},
    {3, 6, 5, 5, 1, 2, 3, 1, 1},     {1, 9, 11, 4, 65, 3, 2, 2, 1},   {2, 10, 10, 2, 100, 3, 3, 1, 2},
    {1, 5, 5, 7, 16, 1, 1, 1, 1},    {1, 4, 4, 3, 48, 5, 5, 1, 1},    {1, 8, 3, 6, 33, 3, 1, 3, 1},
    {2, 12, 12, 1, 15, 4, 4, 2, 1},  {1, 3, 3, 2, 130, 3, 3, 1, 1},   {1, 1, 1, 9, 7, 1, 1, 1, 1},
    {1, 16, 16, 8, 64, 3, 3, 1, 3},  {4, 7, 7, 16, 49, 2, 2, 2, 1},
};

/* The widths to test: AUTO takes the widest, AVX2 forces the narrower
 * tiles (on an AVX-512 CPU too). */
static const int widths[2] = {CK_BD_PATH_AUTO, CK_BD_PATH_AVX2};
static const char *const width_names[2] = {"widest", "AVX2"};

Test(conv_kernels, every_geometry_against_loops)
{
    int ran = 0;
    for (int wi = 0; wi < 2; wi++) {
        ck_bd_path = widths[wi];
        if (!ck_conv2d_nhwc_f32_available()) continue;
        ran++;
        for (size_t s = 0; s < sizeof specs / sizeof specs[0]; s++)
            for (int same = 0; same < 2; same++)
                for (int epi = 0; epi < 8; epi++) {
                    /* valid padding must leave an output */
                    int64_t ek_h = (specs[s][5] - 1) * specs[s][8] + 1, ek_w = (specs[s][6] - 1) * specs[s][8] + 1;
                    if (!same && (ek_h > specs[s][1] || ek_w > specs[s][2])) continue;
                    double worst = run_case(specs[s], same, epi, 1, NULL, 0);
                    if (getenv("CK_TEST_VERBOSE"))
                        fprintf(stderr, "direct %s %zu %d %d: %g\n", width_names[wi], s, same, epi, worst);
                    cr_expect(worst <= 1e-6, "%s case %zu same %d epilogue %d: error %g", width_names[wi], s, same,
                              epi, worst);
                }
    }
    ck_bd_path = CK_BD_PATH_AUTO;
    if (!ran) cr_skip_test("no AVX2 nor AVX-512: the direct kernels do not run here");
}

/* Every output is the same chain of FMAs in both widths: the same bits. */
Test(conv_kernels, widths_do_not_change_bits)
{
    if (!ck_cpu_has_avx512()) cr_skip_test("no AVX-512: one width only");
    for (size_t s = 0; s < sizeof specs / sizeof specs[0]; s++) {
        float *wide = NULL, *narrow = NULL;
        ck_bd_path = CK_BD_PATH_AUTO;
        cr_expect(run_case(specs[s], 1, 7, 1, &wide, 0) <= 1e-6);
        ck_bd_path = CK_BD_PATH_AVX2;
        cr_expect(run_case(specs[s], 1, 7, 1, &narrow, 0) <= 1e-6);
        ck_bd_path = CK_BD_PATH_AUTO;
        const size_t n = (size_t)(specs[s][0] * ((specs[s][1] + specs[s][7] - 1) / specs[s][7]) *
                                  ((specs[s][2] + specs[s][7] - 1) / specs[s][7]) * specs[s][4]);
        cr_expect(memcmp(wide, narrow, n * sizeof(float)) == 0, "case %zu: AVX2 differs from AVX-512", s);
        free(wide);
        free(narrow);
    }
}

Test(conv_kernels, threads_do_not_change_bits)
{
    if (!ck_conv2d_nhwc_avx512_available()) cr_skip_test("no AVX-512: the Winograd kernels do not run here");
    /* a batch large enough to be split: 16 x 13 x 13 positions, 64 filters */
    const int64_t spec[9] = {16, 15, 15, 32, 64, 3, 3, 1, 1};
    for (int wino = 0; wino < 2; wino++)
    for (int same = 0; same < 2; same++) {
        float *one = NULL, *two = NULL;
        cr_expect(run_case(spec, same, 5, 1, &one, wino) <= 1e-5);
        cr_expect(run_case(spec, same, 5, 2, &two, wino) <= 1e-5);
        const size_t n = (size_t)(16 * (same ? 15 * 15 : 13 * 13) * 64);
        cr_expect(memcmp(one, two, n * sizeof(float)) == 0, "2 threads differ from 1 (same %d, winograd %d)", same, wino);
        free(one);
        free(two);
    }
}

/* Winograd F(2x2, 3x3): odd and even output sizes (partial tiles), both
 * paddings, channel and filter counts off the vector width, batches that
 * make several blocks and slots, every epilogue. */
Test(conv_kernels, winograd_against_loops)
{
    if (!ck_conv2d_nhwc_avx512_available()) cr_skip_test("no AVX-512: the Winograd kernels do not run here");
    static const int64_t wspecs[][9] = {
        {1, 13, 13, 32, 64, 3, 3, 1, 1}, {1, 8, 8, 8, 16, 3, 3, 1, 1},   {2, 7, 10, 9, 17, 3, 3, 1, 1},
        {3, 6, 5, 20, 70, 3, 3, 1, 1},   {1, 3, 3, 33, 5, 3, 3, 1, 1},   {40, 12, 12, 16, 32, 3, 3, 1, 1},
        {2, 30, 31, 64, 130, 3, 3, 1, 1},
    };
    for (size_t s = 0; s < sizeof wspecs / sizeof wspecs[0]; s++)
        for (int same = 0; same < 2; same++)
            for (int epi = 0; epi < 8; epi += (s == 6 ? 7 : 1)) {
                double worst = run_case(wspecs[s], same, epi, 1, NULL, 1);
                if (getenv("CK_TEST_VERBOSE")) fprintf(stderr, "winograd %zu %d %d: %g\n", s, same, epi, worst);
                cr_expect(worst <= 1e-6, "winograd case %zu same %d epilogue %d: error %g", s, same, epi, worst);
            }
    /* it does not apply to other geometries */
    ck_conv_nhwc g = {.batch = 1, .h = 9, .w = 9, .c = 16, .oh = 4, .ow = 4, .f = 8, .kh = 3, .kw = 3, .sh = 2,
                      .sw = 2, .dh = 1, .dw = 1};
    cr_expect_eq(ck_conv2d_winograd_floats(&g), 0);
    g = (ck_conv_nhwc){.batch = 1, .h = 9, .w = 9, .c = 4, .oh = 7, .ow = 7, .f = 8, .kh = 3, .kw = 3, .sh = 1,
                       .sw = 1, .dh = 1, .dw = 1};
    cr_expect_eq(ck_conv2d_winograd_floats(&g), 0);
}
