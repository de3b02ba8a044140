/* Conv2D's training hooks.  The forward pass computes what inference does,
 * with the im2col scratch taken from `saved` (a training step allocates
 * nothing) and the pre-activation kept when the activation's derivative
 * needs it; channels_last through im2col, it runs chunk by chunk (below).
 *
 * Backward, with dz = dy * activation'(z) on the same (rows, last axis)
 * view the forward activation used:
 *   bias.grad   += dz summed over the positions;
 *   kernel.grad += cols^T . dz      (cols: the im2col matrix, rebuilt chunk
 *                                    by chunk from the input);
 *   dx           = col2im(dz . kernel^T), the patches' gradients added back
 *                  onto the input positions they were read from (padding
 *                  positions are dropped); for float32 channels_last with
 *                  strides and dilation 1, the convolution of dz with the
 *                  kernel turned half a turn instead, through the direct
 *                  or Winograd kernels (ck_conv2d_input_grad_direct).
 * A 1x1 kernel with stride 1 skips im2col both ways: the input is the
 * matrix.
 *
 * saved = [z, if the derivative needs it][dz, unless the activation is
 *          linear][im2col: ck_conv2d_chunk rows of scratch, none when
 *          direct, or the whole matrix when it is kept, or a chunk per run
 *          (below)][the kernel transposed or turned, channels_last through
 *          im2col][the runs' kernel gradients][the Winograd kernels'
 *          scratch, where they may run][the runs' bias gradients, for a
 *          plain relu] (grad_areas).
 *
 * channels_last keeps the forward pass's whole im2col matrix when a row is
 * no longer than an output row (kh kw C <= filters, a CNN's first layer)
 * and it has at most KEEP_COLS_ELEMS elements: the kernel gradient reads
 * it instead of rebuilding it (im2col was about a sixth of a small CNN's
 * step).  Otherwise the matrix is several times the output, and three
 * trips of it through memory (written, read by the forward product and by
 * the kernel gradient's) cost more than building it twice: both passes
 * then take TRAIN_CHUNK_ELEMS elements of it at a time, which stay in L2
 * from im2col through the products and col2im, and the forward pass
 * adds the bias and applies the activation to each chunk of the output
 * while it is in cache.  bench_train's CNN, whose second convolution has
 * a 7744 x 288 matrix for a 7744 x 64 output, took 13.1-13.4 ms a step
 * rather than 14.4 (one thread, interleaved; chunks of 2^15 to 2^17
 * elements alike); its first (7744 x 9 for 7744 x 32) was slower chunked,
 * 14.2-14.5 ms. */
#include <string.h>

#include "layers/conv2d.h"
#include "ops/ops.h"
#include "ops/thread_pool.h"
#include "params/params.h"

#define KEEP_COLS_ELEMS ((int64_t)1 << 23)
#define TRAIN_CHUNK_ELEMS ((int64_t)1 << 17)
/* Runs of images a chunked layer is cut into, each with its own chunk of
 * the matrix and its own kernel gradient, summed in order at the end: a
 * thread builds the chunks it multiplies (reading rows another core has
 * just written costs more than building them), col2im's additions of one
 * run never meet another's, and the sums do not depend on the thread
 * count.  Four, as the Winograd kernels' slots. */
#define TRAIN_SLOTS 4

typedef struct grad_layout {
    size_t z_bytes, dz_bytes, cols_bytes, kt_bytes, kgs_bytes, wino_bytes, bgp_bytes;
    int64_t slots; /* runs of images (1 when the matrix is kept or not built) */
} grad_layout;

/* Where each of those areas starts in `saved`, in that order. */
typedef struct grad_areas {
    char *z, *dz, *cols, *kt, *kgs, *wino, *bgp;
} grad_areas;

static grad_areas areas_of(const grad_layout *l, void *saved)
{
    grad_areas a;
    a.z = saved;
    a.dz = a.z + l->z_bytes;
    a.cols = a.dz + l->dz_bytes;
    a.kt = a.cols + l->cols_bytes;
    a.kgs = a.kt + l->kt_bytes;
    a.wino = a.kgs + l->kgs_bytes;
    a.bgp = a.wino + l->wino_bytes;
    return a;
}

/* dz = dy * relu'(y) and the bias gradient in one pass (a plain relu,
 * float32, channels_last, a bias), by TRAIN_SLOTS runs of rows on the
 * threads, each summing its bias gradient from zero into its own row of
 * `bgp`, added in order at the end (thread-count independent). */
static int fused_relu_bias(const ck_conv2d_layer *c)
{
    return !c->channels_first && c->base.dtype == CK_FLOAT32 && c->bias &&
           ck_activation_is_plain_relu(c->params.activation);
}

typedef struct relu_bias_job {
    int64_t rows, cols;
    const float *y, *dy;
    float *dz, *bgp;
} relu_bias_job;

static void relu_bias_runs(void *arg, int64_t s0, int64_t s1)
{
    const relu_bias_job *j = arg;
    for (int64_t s = s0; s < s1; s++) {
        const int64_t r0 = j->rows * s / TRAIN_SLOTS, r1 = j->rows * (s + 1) / TRAIN_SLOTS, at = r0 * j->cols;
        float *part = j->bgp + s * j->cols;
        memset(part, 0, (size_t)j->cols * sizeof(float));
        ck_relu_grad_bias_f32(r1 - r0, j->cols, j->y + at, j->dy + at, j->dz + at, part);
    }
}

static void relu_bias_grad(int64_t rows, int64_t cols, const float *y, const float *dy, float *dz, float *bgp,
                           float *bg)
{
    relu_bias_job j = {rows, cols, y, dy, dz, bgp};
    ck_pool_for(TRAIN_SLOTS, 1, 3.0 * (double)rows * (double)cols, relu_bias_runs, &j);
    for (int64_t s = 0; s < TRAIN_SLOTS; s++)
        for (int64_t f = 0; f < cols; f++) bg[f] += bgp[s * cols + f];
}

static int keeps_z(const ck_conv2d_layer *c)
{
    return !ck_activation_is_linear(c->params.activation) && ck_activation_grad_needs_input(c->params.activation);
}

static int keeps_cols(const ck_conv2d_layer *c, const ck_conv_geom *g)
{
    const int64_t k = g->kh * g->kw * g->c, total = g->batch * g->oh * g->ow;
    return !c->channels_first && !ck_conv2d_is_direct(g) && k > 0 && k <= g->f && total > 0 &&
           total <= KEEP_COLS_ELEMS / k;
}

/* Positions per chunk of the im2col matrix (channels_last): all when it
 * is kept, else TRAIN_CHUNK_ELEMS elements' worth. */
static int64_t chunk_rows(const ck_conv2d_layer *c, const ck_conv_geom *g)
{
    const int64_t k = g->kh * g->kw * g->c, total = g->batch * g->oh * g->ow;
    if (keeps_cols(c, g)) return total;
    const int64_t rows = k > 0 ? TRAIN_CHUNK_ELEMS / k : 1;
    return rows < 1 ? 1 : rows > total ? total : rows;
}

static grad_layout layout_of(const ck_conv2d_layer *c, const ck_conv_geom *g, int64_t out_elems)
{
    grad_layout l = {0, 0, 0, 0, 0, 0, 0, 1};
    size_t bytes = (size_t)out_elems * g->es;
    if (!ck_activation_is_linear(c->params.activation)) l.dz_bytes = bytes;
    if (keeps_z(c)) l.z_bytes = bytes;
    if (fused_relu_bias(c)) l.bgp_bytes = (size_t)(TRAIN_SLOTS * g->f) * g->es;
    int64_t k = g->kh * g->kw * g->c;
    if (ck_conv2d_is_direct(g) || k == 0) return l;
    if (c->channels_first) {
        l.cols_bytes = (size_t)(ck_conv2d_chunk(g, 1) * k) * g->es;
        return l;
    }
    if (!keeps_cols(c, g)) l.slots = g->batch < TRAIN_SLOTS ? (g->batch > 0 ? g->batch : 1) : TRAIN_SLOTS;
    l.cols_bytes = (size_t)(l.slots * chunk_rows(c, g) * k) * g->es;
    l.kt_bytes = (size_t)(k * g->f) * g->es;
    if (l.slots > 1) l.kgs_bytes = (size_t)(l.slots * k * g->f) * g->es;
    /* the Winograd kernels' scratch, for the forward pass (when it does not
     * keep z) and for the input gradient */
    const ck_shape is = {4, {g->batch, g->h, g->w, g->c}}, os = {4, {g->batch, g->oh, g->ow, g->f}};
    const size_t fwd = l.z_bytes ? 0 : ck_conv2d_direct_scratch_bytes(c, &is, &os);
    const size_t bwd = ck_conv2d_input_grad_scratch_bytes(c, &is, &os);
    l.wino_bytes = fwd > bwd ? fwd : bwd;
    return l;
}

/* Images [b0, b1) of run s of `slots`. */
static void slot_images(int64_t batch, int64_t slots, int64_t s, int64_t *b0, int64_t *b1)
{
    *b0 = batch * s / slots;
    *b1 = batch * (s + 1) / slots;
}

size_t ck_conv2d_saved_bytes(const ck_layer *layer, int n, const ck_shape *in, const ck_shape *out)
{
    const ck_conv2d_layer *c = (const ck_conv2d_layer *)layer;
    (void)n;
    int64_t count = 1;
    for (int i = 0; i < out->rank; i++) count *= out->dims[i] > 0 ? out->dims[i] : 0;
    for (int i = 0; i < in->rank; i++)
        if (in->dims[i] < 0) return 0; /* not a concrete call: nothing to plan */
    ck_conv_geom g = ck_conv2d_geometry(c, in, out, layer->dtype);
    grad_layout l = layout_of(c, &g, count);
    return l.z_bytes + l.dz_bytes + l.cols_bytes + l.kt_bytes + l.kgs_bytes + l.wino_bytes + l.bgp_bytes;
}

typedef struct fwd_job {
    const ck_conv2d_layer *c;
    const ck_conv_geom *g;
    const grad_layout *l;
    const char *x;
    char *out, *z, *cols;
    const void *bias;
    int64_t chunk;
    ck_dtype dt;
    ck_status st[TRAIN_SLOTS];
} fwd_job;

/* The forward pass of runs [s0, s1): per chunk the product, then the bias
 * (conv, then bias_add, as TF) and the activation on that chunk of the
 * output while it is in cache. */
static void fwd_slots(void *arg, int64_t s0, int64_t s1)
{
    fwd_job *j = arg;
    const ck_conv_geom *g = j->g;
    const ck_dtype dt = j->dt;
    const int64_t k = g->kh * g->kw * g->c, plane = g->oh * g->ow;
    for (int64_t s = s0; s < s1; s++) {
        int64_t b0, b1;
        slot_images(g->batch, j->l->slots, s, &b0, &b1);
        char *cols = j->cols + (size_t)(s * j->chunk * k) * g->es;
        for (int64_t p0 = b0 * plane; p0 < b1 * plane && j->st[s] == CK_OK; p0 += j->chunk) {
            const int64_t np = b1 * plane - p0 < j->chunk ? b1 * plane - p0 : j->chunk;
            const size_t at = (size_t)(p0 * g->f) * g->es;
            char *o = j->out + at;
            ck_conv2d_im2col_last(g, j->x, cols, p0, np);
            ck_conv2d_gemm(dt, 0, 0, np, g->f, k, cols, k, j->c->kernel->value->data, g->f, 0.0, o, g->f);
            if (!j->l->z_bytes) {
                j->st[s] = ck_kernel_params_bias_activate(&j->c->params, dt, j->bias, o, np, g->f);
                continue;
            }
            if (j->bias) ck_add_bias_rows(dt, j->bias, o, np, g->f);
            memcpy(j->z + at, o, (size_t)(np * g->f) * g->es);
            j->st[s] = ck_kernel_params_activate(&j->c->params, dt, o, np, g->f);
        }
    }
}

ck_status ck_conv2d_train_call(ck_layer *layer, const ck_train_ctx *ctx, int n, const ck_tensor *const *in,
                               ck_tensor *const *outs, void *saved)
{
    ck_conv2d_layer *c = (ck_conv2d_layer *)layer;
    const ck_tensor *x = in[0];
    ck_tensor *out = outs[0];
    (void)ctx, (void)n;
    if (out->size == 0) return CK_OK;
    ck_shape is = ck_tensor_shape(x), os = ck_tensor_shape(out);
    ck_conv_geom g = ck_conv2d_geometry(c, &is, &os, out->dtype);
    grad_layout l = layout_of(c, &g, out->size);
    const grad_areas a = areas_of(&l, saved);
    char *z = a.z, *cols = a.cols;
    const void *bias = c->bias ? c->bias->value->data : NULL;
    const int64_t last = out->shape[out->rank - 1];
    if (c->channels_first || ck_conv2d_is_direct(&g)) {
        CK_TRY(ck_conv2d_preactivation(c, x, out, l.cols_bytes ? cols : NULL));
        if (l.z_bytes) memcpy(z, out->data, l.z_bytes);
        return ck_kernel_params_activate(&c->params, out->dtype, out->data, out->size / last, last);
    }
    if (!l.z_bytes) {
        /* Where inference's direct or Winograd kernels run (float32, one
         * group), they add the bias and apply a relu in their epilogue; a
         * layer that keeps its matrix then builds it for the kernel
         * gradient.  bench_train's CNN, interleaved: 13.2 -> 13.0 ms a step
         * with the direct kernels for the second convolution, 13.8 -> 13.6
         * for the first too, 12.9 -> 12.2 with Winograd for the second
         * (within 1e-5 of tf.keras: conv2d_tf_winograd_relu). */
        int done = 0;
        char *wino = l.wino_bytes ? a.wino : NULL;
        CK_TRY(ck_conv2d_call_direct(c, x, out, NULL, NULL, wino, &done));
        if (done) {
            if (keeps_cols(c, &g)) ck_conv2d_im2col_last(&g, x->data, cols, 0, g.batch * g.oh * g.ow);
            return CK_OK;
        }
    }
    /* channels_last through im2col, a chunk of positions at a time */
    fwd_job j = {c, &g, &l, x->data, out->data, z, cols, bias, chunk_rows(c, &g), out->dtype, {CK_OK}};
    const double work = 2.0 * (double)(g.batch * g.oh * g.ow) * (double)g.f * (double)(g.kh * g.kw * g.c);
    ck_pool_for(l.slots, 1, work, fwd_slots, &j);
    for (int64_t s = 0; s < l.slots; s++) CK_TRY(j.st[s]);
    return CK_OK;
}

/* The inverse of im2col: adds each patch row / column back onto the input
 * positions it was read from (dx must start at zero). */
#define CK_COL2IM(T, SUFFIX)                                                                      \
    static void col2im_last_##SUFFIX(const ck_conv_geom *g, const T *cols, T *dx, int64_t p0, int64_t np) \
    {                                                                                             \
        const int64_t plane = g->oh * g->ow;                                                      \
        for (int64_t r = 0; r < np; r++) {                                                        \
            int64_t p = p0 + r, b = p / plane, q = p % plane, oy = q / g->ow, ox = q % g->ow;     \
            T *xb = dx + b * g->h * g->w * g->c;                                                  \
            const T *row = cols + r * g->kh * g->kw * g->c;                                       \
            for (int64_t ky = 0; ky < g->kh; ky++) {                                              \
                int64_t iy = oy * g->sh - g->ph + ky * g->dh;                                     \
                if (iy < 0 || iy >= g->h) continue;                                               \
                for (int64_t kx = 0; kx < g->kw; kx++) {                                          \
                    int64_t ix = ox * g->sw - g->pw + kx * g->dw;                                 \
                    if (ix < 0 || ix >= g->w) continue;                                           \
                    T *dst = xb + (iy * g->w + ix) * g->c;                                        \
                    const T *src = row + (ky * g->kw + kx) * g->c;                                \
                    for (int64_t ci = 0; ci < g->c; ci++) dst[ci] += src[ci];                     \
                }                                                                                 \
            }                                                                                     \
        }                                                                                         \
    }                                                                                             \
    static void col2im_first_##SUFFIX(const ck_conv_geom *g, const T *cols, T *dxb, int64_t p0, int64_t np) \
    {                                                                                             \
        for (int64_t ky = 0; ky < g->kh; ky++)                                                    \
            for (int64_t kx = 0; kx < g->kw; kx++)                                                \
                for (int64_t ci = 0; ci < g->c; ci++) {                                           \
                    const T *row = cols + ((ky * g->kw + kx) * g->c + ci) * np;                   \
                    T *plane = dxb + ci * g->h * g->w;                                            \
                    for (int64_t r = 0; r < np; r++) {                                            \
                        int64_t p = p0 + r, oy = p / g->ow, ox = p % g->ow;                       \
                        int64_t iy = oy * g->sh - g->ph + ky * g->dh, ix = ox * g->sw - g->pw + kx * g->dw; \
                        if (iy >= 0 && iy < g->h && ix >= 0 && ix < g->w) plane[iy * g->w + ix] += row[r]; \
                    }                                                                             \
                }                                                                                 \
    }                                                                                             \
    /* bias.grad += dz summed over positions. */                                                  \
    static void bias_grad_##SUFFIX(const ck_conv_geom *g, int channels_first, const T *dz, T *bg) \
    {                                                                                             \
        const int64_t plane = g->oh * g->ow;                                                      \
        if (!channels_first) {                                                                    \
            for (int64_t p = 0; p < g->batch * plane; p++, dz += g->f)                            \
                for (int64_t f = 0; f < g->f; f++) bg[f] += dz[f];                                \
            return;                                                                               \
        }                                                                                         \
        for (int64_t b = 0; b < g->batch; b++)                                                    \
            for (int64_t f = 0; f < g->f; f++, dz += plane) {                                     \
                T s = 0;                                                                          \
                for (int64_t p = 0; p < plane; p++) s += dz[p];                                   \
                bg[f] += s;                                                                       \
            }                                                                                     \
    }

CK_COL2IM(float, f32)
CK_COL2IM(double, f64)

static void col2im_last(const ck_conv_geom *g, ck_dtype dt, const void *cols, void *dx, int64_t p0, int64_t np)
{
    if (dt == CK_FLOAT32) col2im_last_f32(g, cols, dx, p0, np);
    else col2im_last_f64(g, cols, dx, p0, np);
}

static void col2im_first(const ck_conv_geom *g, ck_dtype dt, const void *cols, void *dxb, int64_t p0, int64_t np)
{
    if (dt == CK_FLOAT32) col2im_first_f32(g, cols, dxb, p0, np);
    else col2im_first_f64(g, cols, dxb, p0, np);
}

/* The input gradient's product dz (P, F) . kernel^T, the kernel stored
 * (K, F): where our kernels would take it as A B (ck_own_gemm_wins: the
 * short F of a CNN), the kernel transposed into `kt` (K F elements), as
 * their A B^T kernel and OpenBLAS' (which first zeroes C) are both slower
 * (a CNN's training step 1-2% faster); else the kernel itself (NULL). */
static const void *input_grad_kernel(ck_dtype dt, int64_t rows, int64_t k, int64_t f, const void *kern, void *kt)
{
    if (!ck_own_gemm_wins(0, 0, rows, k, f)) return NULL;
    if (dt == CK_FLOAT32) {
        const float *s = kern;
        float *t = kt;
        for (int64_t i = 0; i < k; i++)
            for (int64_t j = 0; j < f; j++) t[j * k + i] = s[i * f + j];
    } else {
        const double *s = kern;
        double *t = kt;
        for (int64_t i = 0; i < k; i++)
            for (int64_t j = 0; j < f; j++) t[j * k + i] = s[i * f + j];
    }
    return kt;
}

typedef struct bwd_job {
    const ck_conv_geom *g;
    const grad_layout *l;
    ck_dtype dt;
    const char *x, *dz;
    const void *kern, *kern_t;
    void *kg;        /* NULL: no kernel gradient                       */
    char *kgs;       /* per run kernel gradients (l->slots > 1)        */
    char *dx, *cols; /* dx NULL: no input gradient                    */
    int64_t chunk;
} bwd_job;

/* The kernel and input gradients of runs [s0, s1), chunk by chunk: the
 * chunk's im2col rows for the kernel gradient, then the same rows'
 * gradients (dz . kernel^T) added back onto the run's own images. */
static void bwd_slots(void *arg, int64_t s0, int64_t s1)
{
    const bwd_job *j = arg;
    const ck_conv_geom *g = j->g;
    const int64_t k = g->kh * g->kw * g->c, f = g->f, plane = g->oh * g->ow;
    const size_t es = g->es;
    for (int64_t s = s0; s < s1; s++) {
        int64_t b0, b1;
        slot_images(g->batch, j->l->slots, s, &b0, &b1);
        char *cols = j->cols + (size_t)(s * j->chunk * k) * es;
        /* one run alone adds into the gradient itself; several start their
         * own sums from zero */
        void *kg = j->l->slots > 1 ? j->kgs + (size_t)(s * k * f) * es : j->kg;
        double beta = j->l->slots > 1 ? 0.0 : 1.0;
        for (int64_t p0 = b0 * plane; p0 < b1 * plane; p0 += j->chunk) {
            const int64_t np = b1 * plane - p0 < j->chunk ? b1 * plane - p0 : j->chunk;
            const char *dzc = j->dz + (size_t)(p0 * f) * es;
            if (j->kg) {
                ck_conv2d_im2col_last(g, j->x, cols, p0, np);
                ck_conv2d_gemm(j->dt, 1, 0, k, f, np, cols, k, dzc, f, beta, kg, f);
                beta = 1.0;
            }
            if (j->dx) {
                if (j->kern_t) ck_conv2d_gemm(j->dt, 0, 0, np, k, f, dzc, f, j->kern_t, k, 0.0, cols, k);
                else ck_conv2d_gemm(j->dt, 0, 1, np, k, f, dzc, f, j->kern, f, 0.0, cols, k);
                col2im_last(g, j->dt, cols, j->dx, p0, np);
            }
        }
    }
}

/* Kernel and input gradients, channels_last: positions are the rows of dz
 * (P, F) and of the im2col matrix (P, K), in the areas `a` of saved (the
 * matrix or its chunks, the transposed kernel, the runs' gradients). */
static void backward_last(const ck_conv2d_layer *c, const ck_conv_geom *g, const grad_layout *l, ck_dtype dt,
                          const char *x, const char *dz, void *kg, char *dx, const grad_areas *a)
{
    const int64_t k = g->kh * g->kw * g->c, total = g->batch * g->oh * g->ow, f = g->f;
    const void *kern = c->kernel->value->data;
    char *cols = a->cols;
    if (ck_conv2d_is_direct(g)) {
        if (kg) ck_conv2d_gemm(dt, 1, 0, k, f, total, x, k, dz, f, 1.0, kg, f);
        if (dx) ck_conv2d_gemm(dt, 0, 1, total, k, f, dz, f, kern, f, 0.0, dx, k);
        return;
    }
    const int64_t chunk = chunk_rows(c, g);
    if (keeps_cols(c, g) && kg) {
        /* The forward pass's im2col matrix: one product for the kernel
         * gradient, after which the buffer is scratch for dx. */
        ck_conv2d_gemm(dt, 1, 0, k, f, total, cols, k, dz, f, 1.0, kg, f);
        kg = NULL;
    }
    if (!kg && !dx) return;
    char *kt = a->kt, *kgs = a->kgs;
    bwd_job j = {g, l, dt, x, dz, kern, dx ? input_grad_kernel(dt, chunk, k, f, kern, kt) : NULL,
                 kg, kgs, dx, cols, chunk};
    const double work = 2.0 * (double)total * (double)k * (double)f * ((kg != NULL) + (dx != NULL));
    ck_pool_for(l->slots, 1, work, bwd_slots, &j);
    if (kg && l->slots > 1) /* the runs' sums, in order (as a bias added to one row) */
        for (int64_t s = 0; s < l->slots; s++) ck_add_bias_rows(dt, kgs + (size_t)(s * k * f) * g->es, kg, 1, k * f);
}

/* channels_first, image by image: dz is (F, plane), the im2col matrix
 * (K, positions). */
static void backward_first(const ck_conv_geom *g, ck_dtype dt, const char *x, const char *dz, const void *kern,
                           void *kg, char *dx, char *cols)
{
    const int64_t k = g->kh * g->kw * g->c, plane = g->oh * g->ow, f = g->f;
    const size_t es = g->es, in_image = (size_t)(g->c * g->h * g->w) * es, out_image = (size_t)(f * plane) * es;
    const int direct = ck_conv2d_is_direct(g);
    const int64_t chunk = ck_conv2d_chunk(g, 1);
    for (int64_t b = 0; b < g->batch; b++) {
        const char *xb = x + (size_t)b * in_image, *dzb = dz + (size_t)b * out_image;
        char *dxb = dx ? dx + (size_t)b * in_image : NULL;
        if (direct) {
            if (kg) ck_conv2d_gemm(dt, 0, 1, k, f, plane, xb, plane, dzb, plane, 1.0, kg, f);
            if (dxb) ck_conv2d_gemm(dt, 0, 0, k, plane, f, kern, f, dzb, plane, 0.0, dxb, plane);
            continue;
        }
        for (int64_t p0 = 0; p0 < plane; p0 += chunk) {
            int64_t np = plane - p0 < chunk ? plane - p0 : chunk;
            const char *dzc = dzb + (size_t)p0 * es;
            if (kg) {
                ck_conv2d_im2col_first(g, xb, cols, p0, np);
                ck_conv2d_gemm(dt, 0, 1, k, f, np, cols, np, dzc, plane, 1.0, kg, f);
            }
            if (dxb) {
                ck_conv2d_gemm(dt, 0, 0, k, np, f, kern, f, dzc, plane, 0.0, cols, np);
                col2im_first(g, dt, cols, dxb, p0, np);
            }
        }
    }
}

ck_status ck_conv2d_backward(ck_layer *layer, const ck_train_ctx *ctx, int n, const ck_tensor *const *in,
                             const ck_tensor *out, const ck_tensor *dout, void *saved, ck_tensor *const *din)
{
    ck_conv2d_layer *c = (ck_conv2d_layer *)layer;
    const ck_tensor *x = in[0];
    ck_tensor *dx = din ? din[0] : NULL;
    (void)ctx, (void)n;
    if (out->size == 0) {
        if (dx) memset(dx->data, 0, (size_t)dx->size * ck_dtype_size(dx->dtype));
        return CK_OK;
    }
    ck_shape is = ck_tensor_shape(x), os = ck_tensor_shape(out);
    ck_conv_geom g = ck_conv2d_geometry(c, &is, &os, out->dtype);
    grad_layout l = layout_of(c, &g, out->size);
    const grad_areas a = areas_of(&l, saved);
    char *z = a.z, *dzbuf = a.dz, *cols = a.cols;
    const void *dz = dout->data;
    ck_tensor *kg = c->kernel->grad, *bg = c->bias ? c->bias->grad : NULL;
    const int64_t last = out->shape[out->rank - 1];
    if (l.dz_bytes && bg && l.bgp_bytes && out->dtype == CK_FLOAT32) {
        /* dz and the bias gradient in one pass over the positions */
        relu_bias_grad(out->size / last, last, out->data, dout->data, (float *)dzbuf, (float *)a.bgp, bg->data);
        dz = dzbuf;
        bg = NULL;
    } else if (l.dz_bytes) {
        CK_TRY(ck_activation_grad_rows(c->params.activation, out->dtype, l.z_bytes ? z : NULL, out->data, dout->data,
                                       dzbuf, out->size / last, last));
        dz = dzbuf;
    }
    if (bg) {
        if (out->dtype == CK_FLOAT32) bias_grad_f32(&g, c->channels_first, dz, bg->data);
        else bias_grad_f64(&g, c->channels_first, dz, bg->data);
    }
    char *dxd = dx ? dx->data : NULL;
    if (dxd && l.kt_bytes) {
        /* through the direct or Winograd kernels, where they run: no
         * im2col rows, no col2im, and Winograd's fewer multiplications
         * (bench_train's CNN, interleaved: 12.2-12.5 -> 11.8-12.2 ms a step) */
        if (ck_conv2d_input_grad_direct(c, &is, &os, dz, (float *)dxd, (float *)a.kt, l.wino_bytes ? a.wino : NULL))
            dxd = NULL;
    }
    if (dxd) memset(dxd, 0, (size_t)dx->size * ck_dtype_size(dx->dtype)); /* col2im adds into it */
    if (g.kh * g.kw * g.c == 0 || (!kg && !dxd)) return CK_OK;
    void *kgd = kg ? kg->data : NULL;
    if (c->channels_first) backward_first(&g, out->dtype, x->data, dz, c->kernel->value->data, kgd, dxd, cols);
    else backward_last(c, &g, &l, out->dtype, x->data, dz, kgd, dxd, &a);
    return CK_OK;
}
