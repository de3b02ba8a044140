/* The engine's path for depthwise convolutions (one group per input
 * channel: DepthwiseConvND and the first step of SeparableConvND).  There
 * im2col + GEMM would run one tiny product per channel over strided
 * copies (ten times slower than a full convolution of the same shape), so
 * these loops compute directly: for every output position and kernel tap
 * inside the input, output channel c * M + m gains x[c] * kernel[tap, c, m]
 * -- along the contiguous channel axis for channels_last. */
#include <string.h>

#include "layers/conv_nd.h"

int ck_convnd_is_depthwise(const ck_convnd_geom *g) { return g->groups > 1 && g->groups == g->c; }

/* Per position q of the output plane: the input coordinates of tap 0. */
static void tap_origin(const ck_convnd_geom *g, int64_t q, int64_t st[3])
{
    int64_t o2 = q % g->out[2], t = q / g->out[2], o1 = t % g->out[1], o0 = t / g->out[1];
    st[0] = o0 * g->s[0] - g->pad[0];
    st[1] = o1 * g->s[1] - g->pad[1];
    st[2] = o2 * g->s[2] - g->pad[2];
}

/* The input position of tap (k0, k1, k2), or -1 outside the input. */
static int64_t tap_input(const ck_convnd_geom *g, const int64_t st[3], int64_t k0, int64_t k1, int64_t k2)
{
    int64_t i0 = st[0] + k0 * g->d[0], i1 = st[1] + k1 * g->d[1], i2 = st[2] + k2 * g->d[2];
    if (i0 < 0 || i0 >= g->in[0] || i1 < 0 || i1 >= g->in[1] || i2 < 0 || i2 >= g->in[2]) return -1;
    return (i0 * g->in[1] + i1) * g->in[2] + i2;
}

/* The walk every primitive shares: for each image b, output position q
 * and kernel tap t whose input position pos is inside the input, BODY runs
 * with xo / oo the offsets of the (image, position) rows of the input and
 * the output, and ko the offset of the tap's (C, M) kernel block. */
#define DW_WALK(g, ...)                                                                                       \
    do {                                                                                                      \
        const int64_t C_ = (g)->c, F_ = (g)->f, PI_ = ck_convnd_in_plane(g), PO_ = ck_convnd_out_plane(g);  \
        const int64_t xps_ = (g)->channels_first ? 1 : C_, ops_ = (g)->channels_first ? 1 : F_;             \
        for (int64_t b = 0; b < (g)->batch; b++)                                                              \
            for (int64_t q = 0; q < PO_; q++) {                                                               \
                int64_t st_[3], t_ = 0;                                                                       \
                tap_origin(g, q, st_);                                                                        \
                const int64_t oo = b * F_ * PO_ + q * ops_;                                                   \
                for (int64_t k0 = 0; k0 < (g)->k[0]; k0++)                                                    \
                    for (int64_t k1 = 0; k1 < (g)->k[1]; k1++)                                                \
                        for (int64_t k2 = 0; k2 < (g)->k[2]; k2++, t_++) {                                    \
                            int64_t pos_ = tap_input(g, st_, k0, k1, k2);                                     \
                            if (pos_ < 0) continue;                                                           \
                            const int64_t xo = b * C_ * PI_ + pos_ * xps_, ko = t_ * F_;                      \
                            __VA_ARGS__                                                                       \
                        }                                                                                     \
            }                                                                                                 \
    } while (0)

#define CK_DW(T, SUFFIX)                                                                                      \
    static void forward_##SUFFIX(const ck_convnd_geom *g, const T *x, const T *k, T *out)                    \
    {                                                                                                         \
        const int64_t M = g->f / g->c, xcs = g->channels_first ? ck_convnd_in_plane(g) : 1,                  \
                      ocs = g->channels_first ? ck_convnd_out_plane(g) : 1;                                   \
        DW_WALK(g, {                                                                                          \
            T *restrict o = out + oo;                                                                         \
            const T *restrict xr = x + xo, *restrict kr = k + ko;                                             \
            if (M == 1 && !g->channels_first) {                                                               \
                for (int64_t c = 0; c < g->c; c++) o[c] += xr[c] * kr[c];                                     \
            } else {                                                                                          \
                for (int64_t c = 0; c < g->c; c++)                                                            \
                    for (int64_t m = 0; m < M; m++) o[(c * M + m) * ocs] += xr[c * xcs] * kr[c * M + m];      \
            }                                                                                                 \
        });                                                                                                   \
    }                                                                                                         \
    static void input_grad_##SUFFIX(const ck_convnd_geom *g, const T *dz, const T *k, T *dx)                 \
    {                                                                                                         \
        const int64_t M = g->f / g->c, xcs = g->channels_first ? ck_convnd_in_plane(g) : 1,                  \
                      ocs = g->channels_first ? ck_convnd_out_plane(g) : 1;                                   \
        DW_WALK(g, {                                                                                          \
            const T *restrict d = dz + oo, *restrict kr = k + ko;                                             \
            T *restrict xr = dx + xo;                                                                                 \
            if (M == 1 && !g->channels_first) {                                                               \
                for (int64_t c = 0; c < g->c; c++) xr[c] += d[c] * kr[c];                                     \
            } else {                                                                                          \
                for (int64_t c = 0; c < g->c; c++)                                                            \
                    for (int64_t m = 0; m < M; m++) xr[c * xcs] += d[(c * M + m) * ocs] * kr[c * M + m];      \
            }                                                                                                 \
        });                                                                                                   \
    }                                                                                                         \
    static void kernel_grad_##SUFFIX(const ck_convnd_geom *g, const T *x, const T *dz, T *kg)                \
    {                                                                                                         \
        const int64_t M = g->f / g->c, xcs = g->channels_first ? ck_convnd_in_plane(g) : 1,                  \
                      ocs = g->channels_first ? ck_convnd_out_plane(g) : 1;                                   \
        DW_WALK(g, {                                                                                          \
            const T *restrict d = dz + oo, *restrict xr = x + xo;                                             \
            T *restrict kr = kg + ko;                                                                                 \
            if (M == 1 && !g->channels_first) {                                                               \
                for (int64_t c = 0; c < g->c; c++) kr[c] += d[c] * xr[c];                                     \
            } else {                                                                                          \
                for (int64_t c = 0; c < g->c; c++)                                                            \
                    for (int64_t m = 0; m < M; m++) kr[c * M + m] += d[(c * M + m) * ocs] * xr[c * xcs];      \
            }                                                                                                 \
        });                                                                                                   \
    }

CK_DW(float, f32)
CK_DW(double, f64)

void ck_convnd_depthwise_forward(const ck_convnd_geom *g, ck_dtype dt, const void *x, const void *kern, void *out,
                                 double beta)
{
    if (beta == 0.0) memset(out, 0, (size_t)(g->batch * ck_convnd_out_plane(g) * g->f) * g->es);
    if (dt == CK_FLOAT32) forward_f32(g, x, kern, out);
    else forward_f64(g, x, kern, out);
}

void ck_convnd_depthwise_input_grad(const ck_convnd_geom *g, ck_dtype dt, const void *dz, const void *kern, void *dx)
{
    /* dx was zeroed by the caller. */
    if (dt == CK_FLOAT32) input_grad_f32(g, dz, kern, dx);
    else input_grad_f64(g, dz, kern, dx);
}

void ck_convnd_depthwise_kernel_grad(const ck_convnd_geom *g, ck_dtype dt, const void *x, const void *dz, void *kg)
{
    if (dt == CK_FLOAT32) kernel_grad_f32(g, x, dz, kg);
    else kernel_grad_f64(g, x, dz, kg);
}
