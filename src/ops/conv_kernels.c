/* The direct channels_last convolution's entry point (conv_kernels.h):
 * the CPU check and the split over the thread pool. */
#include "ops/conv_kernels.h"
#include "ops/ops.h"
#include "ops/thread_pool.h"

/* The kernels' width: 2 AVX-512, 1 AVX2, 0 none.  Tests force the
 * reference paths through the batch_dot path switch: PORTABLE and BLAS
 * keep the im2col route, AVX2 the narrower kernels. */
static int family(void)
{
    const int path = ck_bd_path;
    if ((path == CK_BD_PATH_AUTO || path == CK_BD_PATH_AVX512) && ck_cpu_has_avx512()) return 2;
    if ((path == CK_BD_PATH_AUTO || path == CK_BD_PATH_AVX512 || path == CK_BD_PATH_AVX2) && ck_cpu_has_avx2_fma())
        return 1;
    return 0;
}

int ck_conv2d_nhwc_f32_available(void) { return family() > 0; }

int ck_conv2d_nhwc_f32_runs(int64_t c)
{
    const int fam = family();
    return fam == 2 || (fam == 1 && c <= 64);
}

int ck_conv2d_nhwc_avx512_available(void) { return family() == 2; }

typedef struct conv_job {
    const ck_conv_nhwc *g;
    const float *x, *kernel;
    const ck_conv_epilogue *e;
    float *out;
    int wide; /* AVX-512 */
} conv_job;

static void conv_part(void *arg, int64_t p0, int64_t p1)
{
    const conv_job *j = arg;
    (j->wide ? ck_conv2d_nhwc_f32_avx512 : ck_conv2d_nhwc_f32_avx2)(j->g, j->x, j->kernel, j->e,
                                                                    j->out + p0 * j->g->f, p0, p1);
}

int ck_conv2d_nhwc_f32(const ck_conv_nhwc *g, const float *x, const float *kernel, const ck_conv_epilogue *e,
                       float *out)
{
    const int fam = family();
    if (!ck_conv2d_nhwc_f32_runs(g->c)) return 0;
    const int64_t positions = g->batch * g->oh * g->ow;
    if (positions == 0 || g->f == 0) return 1;
    conv_job job = {g, x, kernel, e, out, fam == 2};
    const double work = 2.0 * (double)positions * (double)g->f * (double)(g->kh * g->kw * g->c);
    const int64_t tile = fam == 2 ? ck_conv2d_nhwc_tile_rows_avx512(g->f) : ck_conv2d_nhwc_tile_rows_avx2(g->f);
    ck_pool_for(positions, tile, work, conv_part, &job);
    return 1;
}
