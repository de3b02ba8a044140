/* The direct channels_last convolution's entry point (conv_kernels.h):
 * the CPU check and the split over the thread pool. */
#include "ops/conv_kernels.h"
#include "ops/ops.h"
#include "ops/thread_pool.h"

int ck_conv2d_nhwc_f32_available(void)
{
    /* Tests force the reference paths through the batch_dot path switch:
     * anything but AUTO and AVX512 keeps the im2col route. */
    int path = ck_bd_path;
    return (path == CK_BD_PATH_AUTO || path == CK_BD_PATH_AVX512) && ck_cpu_has_avx512();
}

typedef struct conv_job {
    const ck_conv_nhwc *g;
    const float *x, *kernel;
    const ck_conv_epilogue *e;
    float *out;
} conv_job;

static void conv_part(void *arg, int64_t p0, int64_t p1)
{
    const conv_job *j = arg;
    ck_conv2d_nhwc_f32_avx512(j->g, j->x, j->kernel, j->e, j->out + p0 * j->g->f, p0, p1);
}

int ck_conv2d_nhwc_f32(const ck_conv_nhwc *g, const float *x, const float *kernel, const ck_conv_epilogue *e,
                       float *out)
{
    if (!ck_conv2d_nhwc_f32_available()) return 0;
    const int64_t positions = g->batch * g->oh * g->ow;
    if (positions == 0 || g->f == 0) return 1;
    conv_job job = {g, x, kernel, e, out};
    const double work = 2.0 * (double)positions * (double)g->f * (double)(g->kh * g->kw * g->c);
    ck_pool_for(positions, ck_conv2d_nhwc_tile_rows(g->f), work, conv_part, &job);
    return 1;
}
