/* The N-d convolution engine (see conv_nd.h).  Every primitive walks the
 * output positions in chunks: channels_last chunks run across images (the
 * output rows of consecutive images are contiguous), channels_first chunks
 * stay inside one image (its output is (f, positions)).  For each chunk
 * and group, im2col unrolls the group's input patches into rows of
 * (kernel position, group channel) -- the kernel's own row order -- and
 * one GEMM against the group's kernel columns does the rest. */
#include <string.h>

#include "layers/conv_nd.h"
#include "ops/ops.h"

/* Elements of im2col per chunk (4 MiB of float32): large enough for BLAS
 * to run at full speed, small enough for any image size. */
#define SCRATCH_ELEMS ((int64_t)1 << 20)

static void gemm(ck_dtype dt, int ta, int tb, int64_t m, int64_t n, int64_t k, const char *a, int64_t lda,
                 const char *b, int64_t ldb, double beta, char *c, int64_t ldc)
{
    if (dt == CK_FLOAT32)
        ck_gemm_f32(ta, tb, m, n, k, (const float *)a, lda, (const float *)b, ldb, (float)beta, (float *)c, ldc);
    else
        ck_gemm_f64(ta, tb, m, n, k, (const double *)a, lda, (const double *)b, ldb, beta, (double *)c, ldc);
}

static int64_t kernel_positions(const ck_convnd_geom *g) { return g->k[0] * g->k[1] * g->k[2]; }

/* Rows of one group's im2col matrix: kernel positions x group channels. */
static int64_t group_k(const ck_convnd_geom *g) { return kernel_positions(g) * (g->c / g->groups); }

static int is_direct(const ck_convnd_geom *g)
{
    for (int i = 0; i < 3; i++)
        if (g->k[i] != 1 || g->s[i] != 1 || g->pad[i] != 0 || g->in[i] != g->out[i]) return 0;
    return g->groups == 1;
}

static int64_t chunk_of(const ck_convnd_geom *g)
{
    const int64_t plane = ck_convnd_out_plane(g), limit = g->channels_first ? plane : g->batch * plane;
    int64_t chunk = SCRATCH_ELEMS / (group_k(g) > 0 ? group_k(g) : 1);
    if (chunk < 1) chunk = 1;
    return chunk < limit ? chunk : limit;
}

int64_t ck_convnd_cols_elems(const ck_convnd_geom *g)
{
    if (group_k(g) == 0 || ck_convnd_out_plane(g) == 0 || g->batch == 0 || is_direct(g) || ck_convnd_is_depthwise(g))
        return 0;
    return chunk_of(g) * group_k(g);
}

ck_status ck_convnd_check_size(const ck_convnd_geom *g, const char *who)
{
    const int64_t rows = g->batch * (ck_convnd_out_plane(g) > ck_convnd_in_plane(g) ? ck_convnd_out_plane(g)
                                                                                   : ck_convnd_in_plane(g));
    if (rows > INT32_MAX || group_k(g) > INT32_MAX || g->f > INT32_MAX || g->c > INT32_MAX)
        return ck_error(CK_VALUE_ERROR, "%s: the convolution's dims exceed the BLAS int range", who);
    return CK_OK;
}

/* The input element offsets of one image / group / channel layout. */
typedef struct layout {
    int64_t plane_in, cstride, pstride, cg;
} layout;

static layout layout_of(const ck_convnd_geom *g)
{
    layout l = {ck_convnd_in_plane(g), 0, 0, g->c / g->groups};
    l.cstride = g->channels_first ? l.plane_in : 1;
    l.pstride = g->channels_first ? 1 : g->c;
    return l;
}

/* Splits output position p (over batch x out plane) into its image and
 * its first input coordinate per dim (before the kernel offset). */
static int64_t position(const ck_convnd_geom *g, int64_t p, int64_t start[3])
{
    const int64_t plane = ck_convnd_out_plane(g), q = p % plane;
    int64_t o2 = q % g->out[2], t = q / g->out[2], o1 = t % g->out[1], o0 = t / g->out[1];
    start[0] = o0 * g->s[0] - g->pad[0];
    start[1] = o1 * g->s[1] - g->pad[1];
    start[2] = o2 * g->s[2] - g->pad[2];
    return p / plane;
}

/* Rows r = positions p0 + r, each (kernel position, group channel);
 * outside the input is 0. */
static void im2col(const ck_convnd_geom *g, const char *x, int64_t grp, char *cols, int64_t p0, int64_t np)
{
    const size_t es = g->es;
    const layout l = layout_of(g);
    const size_t run = (size_t)l.cg * es;
    for (int64_t r = 0; r < np; r++) {
        int64_t st[3], b = position(g, p0 + r, st);
        const char *xb = x + (size_t)(b * l.plane_in * g->c + grp * l.cg * l.cstride) * es;
        char *dst = cols + (size_t)(r * group_k(g)) * es;
        for (int64_t k0 = 0; k0 < g->k[0]; k0++) {
            int64_t i0 = st[0] + k0 * g->d[0];
            for (int64_t k1 = 0; k1 < g->k[1]; k1++) {
                int64_t i1 = st[1] + k1 * g->d[1];
                for (int64_t k2 = 0; k2 < g->k[2]; k2++, dst += run) {
                    int64_t i2 = st[2] + k2 * g->d[2];
                    if (i0 < 0 || i0 >= g->in[0] || i1 < 0 || i1 >= g->in[1] || i2 < 0 || i2 >= g->in[2]) {
                        memset(dst, 0, run);
                        continue;
                    }
                    const char *src = xb + (size_t)(((i0 * g->in[1] + i1) * g->in[2] + i2) * l.pstride) * es;
                    if (l.cstride == 1) {
                        memcpy(dst, src, run);
                        continue;
                    }
                    for (int64_t c = 0; c < l.cg; c++)
                        memcpy(dst + (size_t)c * es, src + (size_t)(c * l.cstride) * es, es);
                }
            }
        }
    }
}

/* The inverse of im2col: adds each row back onto the input positions it
 * was read from. */
#define CK_CONVND_COL2IM(T, SUFFIX)                                                                          \
    static void col2im_##SUFFIX(const ck_convnd_geom *g, const T *cols, int64_t grp, T *dx, int64_t p0,       \
                                int64_t np)                                                                   \
    {                                                                                                         \
        const layout l = layout_of(g);                                                                        \
        for (int64_t r = 0; r < np; r++) {                                                                    \
            int64_t st[3], b = position(g, p0 + r, st);                                                       \
            T *xb = dx + b * l.plane_in * g->c + grp * l.cg * l.cstride;                                      \
            const T *src = cols + r * group_k(g);                                                             \
            for (int64_t k0 = 0; k0 < g->k[0]; k0++) {                                                        \
                int64_t i0 = st[0] + k0 * g->d[0];                                                            \
                for (int64_t k1 = 0; k1 < g->k[1]; k1++) {                                                    \
                    int64_t i1 = st[1] + k1 * g->d[1];                                                        \
                    for (int64_t k2 = 0; k2 < g->k[2]; k2++, src += l.cg) {                                   \
                        int64_t i2 = st[2] + k2 * g->d[2];                                                    \
                        if (i0 < 0 || i0 >= g->in[0] || i1 < 0 || i1 >= g->in[1] || i2 < 0 || i2 >= g->in[2]) \
                            continue;                                                                         \
                        T *dst = xb + ((i0 * g->in[1] + i1) * g->in[2] + i2) * l.pstride;                     \
                        for (int64_t c = 0; c < l.cg; c++) dst[c * l.cstride] += src[c];                      \
                    }                                                                                         \
                }                                                                                             \
            }                                                                                                 \
        }                                                                                                     \
    }

CK_CONVND_COL2IM(float, f32)
CK_CONVND_COL2IM(double, f64)

static void col2im(const ck_convnd_geom *g, ck_dtype dt, const void *cols, int64_t grp, void *dx, int64_t p0,
                   int64_t np)
{
    if (dt == CK_FLOAT32) col2im_f32(g, cols, grp, dx, p0, np);
    else col2im_f64(g, cols, grp, dx, p0, np);
}

/* The chunk walk every primitive shares: for each chunk, `pg` is its
 * first position over batch x plane, `ob` its image (channels_first) and
 * `p0` its first position inside the image. */
#define FOR_EACH_CHUNK(g, pg, ob, p0, np)                                                                     \
    for (int64_t ob = 0, outer_ = (g)->channels_first ? (g)->batch : 1; ob < outer_; ob++)                   \
        for (int64_t p0 = 0, span_ = (g)->channels_first ? ck_convnd_out_plane(g)                           \
                                                         : (g)->batch * ck_convnd_out_plane(g),              \
                             chunk_ = chunk_of(g), np = 0, pg = 0;                                           \
             p0 < span_ && (np = span_ - p0 < chunk_ ? span_ - p0 : chunk_, pg = ob * span_ + p0, 1); p0 += chunk_)

static int empty(const ck_convnd_geom *g) { return g->batch == 0 || ck_convnd_out_plane(g) == 0 || g->f == 0; }

void ck_convnd_forward(const ck_convnd_geom *g, ck_dtype dt, const void *x, const void *kern, void *out,
                       double beta, void *cols)
{
    const size_t es = g->es;
    const int64_t kg = group_k(g), plane = ck_convnd_out_plane(g), F = g->f, fg = g->f / g->groups;
    const char *xc = x, *kc = kern;
    char *oc = out;
    if (empty(g)) return;
    if (kg == 0) {
        if (beta == 0.0) memset(out, 0, (size_t)(g->batch * plane * F) * es);
        return;
    }
    if (ck_convnd_is_depthwise(g)) {
        ck_convnd_depthwise_forward(g, dt, x, kern, out, beta);
        return;
    }
    if (is_direct(g)) {
        if (!g->channels_first) {
            gemm(dt, 0, 0, g->batch * plane, F, g->c, xc, g->c, kc, F, beta, oc, F);
            return;
        }
        for (int64_t b = 0; b < g->batch; b++)
            gemm(dt, 1, 0, F, plane, g->c, kc, F, xc + (size_t)(b * g->c * plane) * es, plane, beta,
                 oc + (size_t)(b * F * plane) * es, plane);
        return;
    }
    FOR_EACH_CHUNK(g, pg, ob, p0, np) {
        for (int64_t grp = 0; grp < g->groups; grp++) {
            im2col(g, xc, grp, cols, pg, np);
            if (!g->channels_first)
                gemm(dt, 0, 0, np, fg, kg, cols, kg, kc + (size_t)(grp * fg) * es, F, beta,
                     oc + (size_t)(pg * F + grp * fg) * es, F);
            else
                gemm(dt, 1, 1, fg, np, kg, kc + (size_t)(grp * fg) * es, F, cols, kg, beta,
                     oc + (size_t)(ob * F * plane + grp * fg * plane + p0) * es, plane);
        }
    }
}

void ck_convnd_input_grad(const ck_convnd_geom *g, ck_dtype dt, const void *dz, const void *kern, void *dx,
                          void *cols)
{
    const size_t es = g->es;
    const int64_t kg = group_k(g), plane = ck_convnd_out_plane(g), F = g->f, fg = g->f / g->groups;
    const char *dc = dz, *kc = kern;
    char *xc = dx;
    memset(dx, 0, (size_t)(g->batch * ck_convnd_in_plane(g) * g->c) * es);
    if (empty(g) || kg == 0) return;
    if (ck_convnd_is_depthwise(g)) {
        ck_convnd_depthwise_input_grad(g, dt, dz, kern, dx);
        return;
    }
    if (is_direct(g)) {
        if (!g->channels_first) {
            gemm(dt, 0, 1, g->batch * plane, g->c, F, dc, F, kc, F, 0.0, xc, g->c);
            return;
        }
        for (int64_t b = 0; b < g->batch; b++)
            gemm(dt, 0, 0, g->c, plane, F, kc, F, dc + (size_t)(b * F * plane) * es, plane, 0.0,
                 xc + (size_t)(b * g->c * plane) * es, plane);
        return;
    }
    FOR_EACH_CHUNK(g, pg, ob, p0, np) {
        for (int64_t grp = 0; grp < g->groups; grp++) {
            if (!g->channels_first)
                gemm(dt, 0, 1, np, kg, fg, dc + (size_t)(pg * F + grp * fg) * es, F, kc + (size_t)(grp * fg) * es,
                     F, 0.0, cols, kg);
            else
                gemm(dt, 1, 1, np, kg, fg, dc + (size_t)(ob * F * plane + grp * fg * plane + p0) * es, plane,
                     kc + (size_t)(grp * fg) * es, F, 0.0, cols, kg);
            col2im(g, dt, cols, grp, dx, pg, np);
        }
    }
}

void ck_convnd_kernel_grad(const ck_convnd_geom *g, ck_dtype dt, const void *x, const void *dz, void *kgrad,
                           void *cols)
{
    const size_t es = g->es;
    const int64_t kg = group_k(g), plane = ck_convnd_out_plane(g), F = g->f, fg = g->f / g->groups;
    const char *xc = x, *dc = dz;
    char *gc = kgrad;
    if (empty(g) || kg == 0) return;
    if (ck_convnd_is_depthwise(g)) {
        ck_convnd_depthwise_kernel_grad(g, dt, x, dz, kgrad);
        return;
    }
    if (is_direct(g)) {
        if (!g->channels_first) {
            gemm(dt, 1, 0, g->c, F, g->batch * plane, xc, g->c, dc, F, 1.0, gc, F);
            return;
        }
        for (int64_t b = 0; b < g->batch; b++)
            gemm(dt, 0, 1, g->c, F, plane, xc + (size_t)(b * g->c * plane) * es, plane,
                 dc + (size_t)(b * F * plane) * es, plane, 1.0, gc, F);
        return;
    }
    FOR_EACH_CHUNK(g, pg, ob, p0, np) {
        for (int64_t grp = 0; grp < g->groups; grp++) {
            im2col(g, xc, grp, cols, pg, np);
            if (!g->channels_first)
                gemm(dt, 1, 0, kg, fg, np, cols, kg, dc + (size_t)(pg * F + grp * fg) * es, F, 1.0,
                     gc + (size_t)(grp * fg) * es, F);
            else
                gemm(dt, 1, 1, kg, fg, np, cols, kg, dc + (size_t)(ob * F * plane + grp * fg * plane + p0) * es,
                     plane, 1.0, gc + (size_t)(grp * fg) * es, F);
        }
    }
}

#define CK_CONVND_BIAS(T, SUFFIX)                                                                             \
    static void bias_add_##SUFFIX(int cf, int64_t batch, int64_t plane, int64_t f, const T *bias, T *out)    \
    {                                                                                                         \
        if (!cf) {                                                                                            \
            for (int64_t p = 0; p < batch * plane; p++, out += f)                                             \
                for (int64_t j = 0; j < f; j++) out[j] += bias[j];                                            \
            return;                                                                                           \
        }                                                                                                     \
        for (int64_t b = 0; b < batch; b++)                                                                   \
            for (int64_t j = 0; j < f; j++, out += plane)                                                     \
                for (int64_t p = 0; p < plane; p++) out[p] += bias[j];                                        \
    }                                                                                                         \
    static void bias_grad_##SUFFIX(int cf, int64_t batch, int64_t plane, int64_t f, const T *dz, T *bg)      \
    {                                                                                                         \
        if (!cf) {                                                                                            \
            for (int64_t p = 0; p < batch * plane; p++, dz += f)                                              \
                for (int64_t j = 0; j < f; j++) bg[j] += dz[j];                                               \
            return;                                                                                           \
        }                                                                                                     \
        for (int64_t b = 0; b < batch; b++)                                                                   \
            for (int64_t j = 0; j < f; j++, dz += plane) {                                                    \
                T s = 0;                                                                                      \
                for (int64_t p = 0; p < plane; p++) s += dz[p];                                               \
                bg[j] += s;                                                                                   \
            }                                                                                                 \
    }

CK_CONVND_BIAS(float, f32)
CK_CONVND_BIAS(double, f64)

void ck_convnd_bias_add(ck_dtype dt, int channels_first, int64_t batch, int64_t plane, int64_t f, const void *bias,
                        void *out)
{
    if (dt == CK_FLOAT32) bias_add_f32(channels_first, batch, plane, f, bias, out);
    else bias_add_f64(channels_first, batch, plane, f, bias, out);
}

void ck_convnd_bias_grad(ck_dtype dt, int channels_first, int64_t batch, int64_t plane, int64_t f, const void *dz,
                         void *bg)
{
    if (dt == CK_FLOAT32) bias_grad_f32(channels_first, batch, plane, f, dz, bg);
    else bias_grad_f64(channels_first, batch, plane, f, dz, bg);
}
