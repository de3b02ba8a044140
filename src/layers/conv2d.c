/* keras.layers.Conv2D: activation(conv2d(inputs, kernel) + bias), a
 * cross-correlation with TF's "valid" / "same" padding, strides and
 * dilation.  Forward pass: the input patches are unrolled (im2col) into a
 * bounded scratch buffer, a chunk of output positions at a time, and each
 * chunk is one GEMM against the kernel viewed as a (kh*kw*C, filters)
 * matrix, accumulating onto the bias pre-filled in the output.  A 1x1
 * kernel with stride 1 needs no unrolling: the input is the matrix.  The
 * training hooks are in conv2d_grad.c. */
#include <cblas.h>
#include <string.h>

#include "layers/conv2d.h"
#include "layers/conv_layer.h"
#include "ops/ops.h"

static void conv2d_destroy(ck_layer *layer)
{
    ck_kernel_params_free(&((ck_conv2d_layer *)layer)->params);
}

static ck_status conv2d_output_shape(const ck_layer *layer, int n, const ck_shape *in, ck_shape *out)
{
    const ck_conv2d_layer *c = (const ck_conv2d_layer *)layer;
    const ck_shape *s = &in[0];
    char buf[160];
    (void)n;
    if (s->rank < 4)
        return ck_error(CK_VALUE_ERROR, "Input 0 of layer \"%s\" is incompatible with the layer: expected "
                        "min_ndim=4, found ndim=%d. Full shape received: %s", layer->name, s->rank,
                        ck_shape_fmt(buf, sizeof buf, s));
    int hi, wi, ci;
    ck_conv2d_axes(c->channels_first, s->rank, &hi, &wi, &ci);
    /* The channels_first half of Keras' InputSpec(axes={-3: C}); the
     * channels_last half is the base's last-dim check. */
    if (layer->built && s->dims[ci] >= 0 && s->dims[ci] != c->in_channels)
        return ck_error(CK_VALUE_ERROR, "Input 0 of layer \"%s\" is incompatible with the layer: expected axis %d "
                        "of input shape to have value %lld, but received input with shape %s", layer->name,
                        c->channels_first ? -3 : -1, (long long)c->in_channels, ck_shape_fmt(buf, sizeof buf, s));
    int64_t oh = ck_conv_output_length(s->dims[hi], c->kernel_size[0], c->same, c->strides[0], c->dilation[0]);
    int64_t ow = ck_conv_output_length(s->dims[wi], c->kernel_size[1], c->same, c->strides[1], c->dilation[1]);
    if ((s->dims[hi] >= 0 && oh < 0) || (s->dims[wi] >= 0 && ow < 0))
        return ck_error(CK_VALUE_ERROR, "One of the dimensions in the output is <= 0 due to downsampling in %s. "
                        "Consider increasing the input size. Received input shape %s which would produce output "
                        "shape with a zero or negative value in a dimension.", layer->name,
                        ck_arg_list_fmt(buf, sizeof buf, s->dims, s->rank));
    *out = *s;
    out->dims[hi] = oh;
    out->dims[wi] = ow;
    out->dims[ci] = c->filters;
    return CK_OK;
}

static ck_status conv2d_build(ck_layer *layer, int n, const ck_shape *shapes)
{
    ck_conv2d_layer *c = (ck_conv2d_layer *)layer;
    const ck_shape *s = &shapes[0];
    char buf[160];
    int hi, wi, ci;
    ck_conv2d_axes(c->channels_first, s->rank, &hi, &wi, &ci);
    int64_t channels = s->dims[ci];
    if (channels < 0)
        return ck_error(CK_VALUE_ERROR, "The channel dimension of the inputs should be defined. The input_shape "
                        "received is %s, where axis %d (0-based) is the channel dimension, which found to be "
                        "`None`. (layer \"%s\")", ck_shape_fmt(buf, sizeof buf, s), c->channels_first ? -3 : -1,
                        layer->name);
    ck_shape ignored;
    CK_TRY(conv2d_output_shape(layer, n, shapes, &ignored));
    ck_shape kshape = {4, {c->kernel_size[0], c->kernel_size[1], channels, c->filters}};
    ck_shape bshape = {1, {c->filters}};
    ck_status st = ck_kernel_params_add_weights(&c->params, layer, &kshape, &bshape, c->use_bias, &c->kernel,
                                                &c->bias);
    if (st != CK_OK) {
        c->kernel = c->bias = NULL; /* the base drops what was added */
        return st;
    }
    c->in_channels = channels;
    layer->spec = (ck_input_spec){.min_ndim = 4, .has_last_dim = !c->channels_first, .last_dim = channels};
    return CK_OK;
}

/* ---- forward pass ------------------------------------------------------------ */

/* Copies one element of es (4 or 8) bytes; the constant sizes let the
 * compiler turn memcpy into a move. */
static inline void copy_elem(char *d, const char *s, size_t es)
{
    if (es == 4) memcpy(d, s, 4);
    else memcpy(d, s, 8);
}

/* channels_last: rows r = positions p0 + r of the flattened (batch, oh, ow)
 * grid, each row (kh, kw, C) in the kernel's order; outside the input is 0. */
void ck_conv2d_im2col_last(const ck_conv_geom *g, const char *x, char *cols, int64_t p0, int64_t np)
{
    const size_t es = g->es, cbytes = (size_t)g->c * es;
    const int64_t plane = g->oh * g->ow;
    for (int64_t r = 0; r < np; r++) {
        int64_t p = p0 + r, b = p / plane, q = p % plane, oy = q / g->ow, ox = q % g->ow;
        const char *xb = x + (size_t)(b * g->h * g->w) * cbytes;
        char *row = cols + (size_t)(r * g->kh * g->kw) * cbytes;
        /* The kernel columns inside the input: with dilation 1 they are one
         * contiguous run of the input row, copied at once (a 3x3 kernel on
         * one channel made 9 calls of 4 bytes per position). */
        const int64_t ix0 = ox * g->sw - g->pw;
        int64_t lo = 0, hi = g->kw;
        if (g->dw == 1) {
            if (ix0 < 0) lo = -ix0 < g->kw ? -ix0 : g->kw;
            if (ix0 + hi > g->w) hi = g->w - ix0 > lo ? g->w - ix0 : lo;
        }
        for (int64_t ky = 0; ky < g->kh; ky++) {
            int64_t iy = oy * g->sh - g->ph + ky * g->dh;
            char *dst = row + (size_t)(ky * g->kw) * cbytes;
            if (iy < 0 || iy >= g->h) {
                memset(dst, 0, (size_t)g->kw * cbytes);
                continue;
            }
            if (g->dw == 1) {
                if (lo > 0) memset(dst, 0, (size_t)lo * cbytes);
                if (hi > lo)
                    memcpy(dst + (size_t)lo * cbytes, xb + (size_t)(iy * g->w + ix0 + lo) * cbytes,
                           (size_t)(hi - lo) * cbytes);
                if (hi < g->kw) memset(dst + (size_t)hi * cbytes, 0, (size_t)(g->kw - hi) * cbytes);
                continue;
            }
            for (int64_t kx = 0; kx < g->kw; kx++) {
                int64_t ix = ix0 + kx * g->dw;
                if (ix >= 0 && ix < g->w)
                    memcpy(dst + (size_t)kx * cbytes, xb + (size_t)(iy * g->w + ix) * cbytes, cbytes);
                else
                    memset(dst + (size_t)kx * cbytes, 0, cbytes);
            }
        }
    }
}

/* channels_first, one image xb (C, h, w): column r = position p0 + r of
 * the (oh, ow) grid, row (ky * kw + kx) * C + c as in the kernel. */
void ck_conv2d_im2col_first(const ck_conv_geom *g, const char *xb, char *cols, int64_t p0, int64_t np)
{
    const size_t es = g->es;
    for (int64_t ky = 0; ky < g->kh; ky++)
        for (int64_t kx = 0; kx < g->kw; kx++)
            for (int64_t ci = 0; ci < g->c; ci++) {
                char *row = cols + (size_t)(((ky * g->kw + kx) * g->c + ci) * np) * es;
                const char *plane = xb + (size_t)(ci * g->h * g->w) * es;
                for (int64_t r = 0; r < np; r++) {
                    int64_t p = p0 + r, oy = p / g->ow, ox = p % g->ow;
                    int64_t iy = oy * g->sh - g->ph + ky * g->dh, ix = ox * g->sw - g->pw + kx * g->dw;
                    if (iy >= 0 && iy < g->h && ix >= 0 && ix < g->w)
                        copy_elem(row + (size_t)r * es, plane + (size_t)(iy * g->w + ix) * es, es);
                    else
                        memset(row + (size_t)r * es, 0, es);
                }
            }
}

void ck_conv2d_gemm(ck_dtype dt, int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, const void *a, int64_t lda,
                 const void *b, int64_t ldb, double beta, void *c, int64_t ldc)
{
    /* Through the ops floor's choice: its own kernels win the skinny
     * products of small kernels or few channels (3x3 on one channel). */
    if (dt == CK_FLOAT32) ck_gemm_f32(trans_a, trans_b, m, n, k, a, lda, b, ldb, (float)beta, c, ldc);
    else ck_gemm_f64(trans_a, trans_b, m, n, k, a, lda, b, ldb, beta, c, ldc);
}

/* The output before the GEMMs: the bias broadcast over the positions. */
static void fill_bias(const ck_conv_geom *g, int channels_first, const void *bias, char *out)
{
    const size_t es = g->es, fbytes = (size_t)g->f * es;
    const int64_t plane = g->oh * g->ow;
    if (!channels_first) {
        for (int64_t p = 0; p < g->batch * plane; p++) memcpy(out + (size_t)p * fbytes, bias, fbytes);
        return;
    }
    for (int64_t b = 0; b < g->batch; b++)
        for (int64_t f = 0; f < g->f; f++) {
            char *row = out + (size_t)((b * g->f + f) * plane) * es;
            const char *v = (const char *)bias + (size_t)f * es;
            for (int64_t p = 0; p < plane; p++) copy_elem(row + (size_t)p * es, v, es);
        }
}

int64_t ck_conv2d_chunk(const ck_conv_geom *g, int channels_first)
{
    const int64_t k = g->kh * g->kw * g->c, limit = channels_first ? g->oh * g->ow : g->batch * g->oh * g->ow;
    int64_t chunk = k > 0 ? CK_CONV_SCRATCH_ELEMS / k : 1;
    if (chunk < 1) chunk = 1;
    if (chunk > limit) chunk = limit;
    return chunk;
}

int ck_conv2d_is_direct(const ck_conv_geom *g)
{
    return g->kh == 1 && g->kw == 1 && g->sh == 1 && g->sw == 1;
}

/* The convolution proper, onto an output holding the bias (beta 1) or
 * garbage (beta 0); `cols` holds ck_conv2d_chunk rows of k elements. */
static void convolve(const ck_conv2d_layer *c, const ck_conv_geom *g, ck_dtype dt, const char *x, const void *kern,
                     char *out, double beta, char *cols)
{
    const size_t es = g->es;
    const int64_t k = g->kh * g->kw * g->c, plane = g->oh * g->ow, chunk = ck_conv2d_chunk(g, c->channels_first);
    const int direct = ck_conv2d_is_direct(g);
    if (!c->channels_first) {
        if (direct) {
            ck_conv2d_gemm(dt, 0, 0, g->batch * plane, g->f, k, x, k, kern, g->f, beta, out, g->f);
            return;
        }
        const int64_t total = g->batch * plane;
        for (int64_t p0 = 0; p0 < total; p0 += chunk) {
            int64_t np = total - p0 < chunk ? total - p0 : chunk;
            ck_conv2d_im2col_last(g, x, cols, p0, np);
            ck_conv2d_gemm(dt, 0, 0, np, g->f, k, cols, k, kern, g->f, beta, out + (size_t)(p0 * g->f) * es, g->f);
        }
        return;
    }
    const size_t in_image = (size_t)(g->c * g->h * g->w) * es, out_image = (size_t)(g->f * plane) * es;
    if (direct) {
        for (int64_t b = 0; b < g->batch; b++)
            ck_conv2d_gemm(dt, 1, 0, g->f, plane, k, kern, g->f, x + (size_t)b * in_image, plane, beta,
                           out + (size_t)b * out_image, plane);
        return;
    }
    for (int64_t b = 0; b < g->batch; b++)
        for (int64_t p0 = 0; p0 < plane; p0 += chunk) {
            int64_t np = plane - p0 < chunk ? plane - p0 : chunk;
            ck_conv2d_im2col_first(g, x + (size_t)b * in_image, cols, p0, np);
            ck_conv2d_gemm(dt, 1, 0, g->f, np, k, kern, g->f, cols, np, beta,
                           out + (size_t)b * out_image + (size_t)p0 * es, plane);
        }
}

ck_conv_geom ck_conv2d_geometry(const ck_conv2d_layer *c, const ck_shape *in, const ck_shape *out, ck_dtype dt)
{
    int r = in->rank, hi, wi, ci;
    ck_conv2d_axes(c->channels_first, r, &hi, &wi, &ci);
    ck_conv_geom g = {.batch = 1, .h = in->dims[hi], .w = in->dims[wi], .c = in->dims[ci], .oh = out->dims[hi],
                      .ow = out->dims[wi], .f = c->filters, .kh = c->kernel_size[0], .kw = c->kernel_size[1],
                      .sh = c->strides[0], .sw = c->strides[1], .dh = c->dilation[0], .dw = c->dilation[1],
                      .es = ck_dtype_size(dt)};
    for (int i = 0; i < r - 3; i++) g.batch *= in->dims[i];
    g.ph = ck_conv_pad_before(g.h, g.oh, g.kh, c->same, g.sh, g.dh);
    g.pw = ck_conv_pad_before(g.w, g.ow, g.kw, c->same, g.sw, g.dw);
    return g;
}

ck_status ck_conv2d_preactivation(const ck_conv2d_layer *c, const ck_tensor *x, ck_tensor *out, void *scratch)
{
    ck_shape is = ck_tensor_shape(x), os = ck_tensor_shape(out);
    ck_conv_geom g = ck_conv2d_geometry(c, &is, &os, out->dtype);
    if (out->size == 0) return CK_OK;
    const int64_t k = g.kh * g.kw * g.c, plane = g.oh * g.ow;
    /* Every BLAS dimension and leading dimension must fit an int. */
    if (k > INT32_MAX || g.f > INT32_MAX || plane > INT32_MAX || (!c->channels_first && g.batch * plane > INT32_MAX))
        return ck_error(CK_VALUE_ERROR, "Conv2D \"%s\": dims exceed the BLAS int range", c->base.name);
    double beta = 0.0;
    if (c->bias) {
        fill_bias(&g, c->channels_first, c->bias->value->data, out->data);
        beta = 1.0;
    }
    if (k == 0) {
        if (!c->bias) memset(out->data, 0, (size_t)out->size * g.es);
        return CK_OK;
    }
    char *cols = scratch;
    if (!cols && !ck_conv2d_is_direct(&g)) {
        cols = ck_malloc((size_t)(ck_conv2d_chunk(&g, c->channels_first) * k) * g.es);
        if (!cols) return ck_oom("the Conv2D im2col buffer");
    }
    convolve(c, &g, out->dtype, x->data, c->kernel->value->data, out->data, beta, cols);
    if (cols != scratch) ck_free(cols);
    return CK_OK;
}

/* The im2col rows, planned with the predict buffers (none for a direct
 * 1x1 convolution). */
static size_t conv2d_scratch_bytes(const ck_layer *layer, int n, const ck_shape *in, const ck_shape *out)
{
    const ck_conv2d_layer *c = (const ck_conv2d_layer *)layer;
    (void)n;
    for (int d = 0; d < out->rank; d++)
        if (out->dims[d] <= 0) return 0;
    ck_conv_geom g = ck_conv2d_geometry(c, &in[0], out, layer->dtype);
    const int64_t k = g.kh * g.kw * g.c;
    /* the Winograd kernels' memory, or the im2col rows should a test have
     * switched the direct kernels off since planning */
    const size_t wino = ck_conv2d_direct_scratch_bytes(c, &in[0], out);
    if (k == 0 || ck_conv2d_is_direct(&g)) return wino;
    const size_t rows = (size_t)(ck_conv2d_chunk(&g, c->channels_first) * k) * g.es;
    return rows > wino ? rows : wino;
}

static ck_status conv2d_call_scratch(ck_layer *layer, int n, const ck_tensor *const *in, ck_tensor *const *outs,
                                     void *scratch)
{
    ck_conv2d_layer *c = (ck_conv2d_layer *)layer;
    ck_tensor *out = outs[0];
    (void)n;
    if (out->size == 0) return CK_OK;
    int done;
    CK_TRY(ck_conv2d_call_direct(c, in[0], out, NULL, NULL, scratch, &done));
    if (done) return CK_OK;
    CK_TRY(ck_conv2d_preactivation(c, in[0], out, scratch));
    /* Keras applies the activation along the last axis whatever the data
     * format (softmax of a channels_first output runs over its columns). */
    int64_t cols = out->shape[out->rank - 1];
    return ck_kernel_params_activate(&c->params, out->dtype, out->data, out->size / cols, cols);
}

/* ---- configs ------------------------------------------------------------------ */

static ck_status conv2d_get_config(const ck_layer *layer, json_t *j)
{
    const ck_conv2d_layer *c = (const ck_conv2d_layer *)layer;
    ck_status st = ck_json_set(j, "filters", json_integer(c->filters));
    if (st == CK_OK) st = ck_json_set(j, "kernel_size", ck_conv_pair_to_json(c->kernel_size));
    if (st == CK_OK) st = ck_json_set(j, "strides", ck_conv_pair_to_json(c->strides));
    if (st == CK_OK) st = ck_json_set(j, "padding", json_string(c->same ? "same" : "valid"));
    if (st == CK_OK)
        st = ck_json_set(j, "data_format", json_string(c->channels_first ? "channels_first" : "channels_last"));
    if (st == CK_OK) st = ck_json_set(j, "dilation_rate", ck_conv_pair_to_json(c->dilation));
    if (st == CK_OK) st = ck_json_set(j, "groups", json_integer(c->groups));
    if (st == CK_OK) st = ck_kernel_params_to_json(&c->params, c->use_bias, layer->activity_regularizer, j);
    return st;
}

/* The parsed arguments, from C options or from a config. */
typedef struct conv2d_args {
    int64_t filters, groups;
    int64_t kernel_size[2], strides[2], dilation[2];
    int same, channels_first, use_bias;
    ck_kernel_params params;
} conv2d_args;

/* Conv's constructor checks (_validate_init) on the parsed numbers. */
static ck_status conv2d_check(const conv2d_args *a)
{
    if (a->filters <= 0)
        return ck_error(CK_VALUE_ERROR, "Invalid value for argument `filters`. Expected a strictly positive value. "
                        "Received filters=%lld.", (long long)a->filters);
    if (a->groups <= 0)
        return ck_error(CK_VALUE_ERROR, "Conv2D: `groups` must be a positive integer. Received groups=%lld",
                        (long long)a->groups);
    if (a->filters % a->groups != 0)
        return ck_error(CK_VALUE_ERROR, "The number of filters must be evenly divisible by the number of groups. "
                        "Received: groups=%lld, filters=%lld", (long long)a->groups, (long long)a->filters);
    if (a->strides[0] == 0 || a->strides[1] == 0)
        return ck_error(CK_VALUE_ERROR, "The argument `strides` cannot contains 0(s). Received: (%lld, %lld)",
                        (long long)a->strides[0], (long long)a->strides[1]);
    if ((a->strides[0] > 1 || a->strides[1] > 1) && (a->dilation[0] > 1 || a->dilation[1] > 1))
        return ck_error(CK_VALUE_ERROR, "`strides > 1` not supported in conjunction with `dilation_rate > 1`. "
                        "Received: strides=(%lld, %lld) and dilation_rate=(%lld, %lld)", (long long)a->strides[0],
                        (long long)a->strides[1], (long long)a->dilation[0], (long long)a->dilation[1]);
    return CK_OK;
}

/* Defaults for what was not given; then hands everything to the layer. */
static ck_status conv2d_finish(ck_layer *layer, conv2d_args *a)
{
    ck_conv2d_layer *c = (ck_conv2d_layer *)layer;
    CK_TRY(ck_kernel_params_defaults(&a->params));
    c->filters = a->filters;
    c->groups = a->groups;
    memcpy(c->kernel_size, a->kernel_size, sizeof c->kernel_size);
    memcpy(c->strides, a->strides, sizeof c->strides);
    memcpy(c->dilation, a->dilation, sizeof c->dilation);
    c->same = a->same;
    c->channels_first = a->channels_first;
    c->use_bias = a->use_bias;
    c->params = a->params;
    memset(a, 0, sizeof *a);
    layer->spec = (ck_input_spec){.min_ndim = 4};
    return CK_OK;
}

ck_status ck_conv2d(ck_layer **out, const ck_conv2d_opts *o)
{
    CK_NEED(out);
    static const int64_t ones[2] = {1, 1}, none[2] = {0, 0};
    if (!o) return ck_error(CK_VALUE_ERROR, "Conv2D: options are required (filters, kernel_size)");
    if (o->kernel_size[0] == 0 && o->kernel_size[1] == 0)
        return ck_error(CK_VALUE_ERROR, "Conv2D: `kernel_size` is required");
    /* Grouped convolutions are computed by the N-d engine (conv_layer.c). */
    if (o->groups > 1) return ck_conv2d_grouped_from_opts(out, o);
    conv2d_args a = {.filters = o->filters, .groups = o->groups ? o->groups : 1, .use_bias = !o->no_bias};
    CK_TRY(ck_conv_pair_opts(o->kernel_size, none, "Conv2D", "kernel_size", 0, a.kernel_size));
    CK_TRY(ck_conv_pair_opts(o->strides, ones, "Conv2D", "strides", 1, a.strides));
    CK_TRY(ck_conv_pair_opts(o->dilation_rate, ones, "Conv2D", "dilation_rate", 0, a.dilation));
    CK_TRY(ck_conv_parse_padding(o->padding, "Conv2D", &a.same));
    CK_TRY(ck_conv_parse_data_format(o->data_format, 0, &a.channels_first));
    CK_TRY(conv2d_check(&a));
    ck_status st = ck_kernel_params_from_opts(&a.params, o->activation, o->kernel_initializer, o->bias_initializer,
                                              o->kernel_regularizer, o->bias_regularizer, o->kernel_constraint,
                                              o->bias_constraint);
    ck_layer *layer = NULL;
    if (st == CK_OK) st = CK_ARG_CREATE(&ck_conv2d_class, o, &layer);
    if (st == CK_OK) st = conv2d_finish(layer, &a);
    ck_kernel_params_free(&a.params);
    if (st != CK_OK) {
        ck_layer_free(layer);
        return st;
    }
    *out = layer;
    return CK_OK;
}

/* A Keras 1 value or pair: config[k1] (e.g. nb_row) and config[k2]. */
static ck_status keras1_kernel(const json_t *c, int64_t out[2], int *has)
{
    const json_t *r = json_object_get(c, "nb_row"), *col = json_object_get(c, "nb_col");
    if (!r && !col) return CK_OK;
    int64_t v[2] = {0, 0};
    CK_TRY(ck_arg_int(r, "Convolution2D", "nb_row", &v[0], NULL));
    CK_TRY(ck_arg_int(col, "Convolution2D", "nb_col", &v[1], NULL));
    if (v[0] <= 0 || v[1] <= 0)
        return ck_error(CK_VALUE_ERROR, "Convolution2D config: `nb_row` and `nb_col` must be positive ints");
    out[0] = v[0];
    out[1] = v[1];
    *has = 1;
    return CK_OK;
}

static ck_status conv2d_from_config(const json_t *c, ck_layer **out)
{
    static const char *const keys[] = {
        "filters", "kernel_size", "strides", "padding", "data_format", "dilation_rate", "groups", "activation",
        "use_bias", "kernel_initializer", "bias_initializer", "kernel_regularizer", "bias_regularizer",
        "kernel_constraint", "bias_constraint",
        /* Keras 1 */
        "nb_filter", "nb_row", "nb_col", "subsample", "border_mode", "dim_ordering", "init", "bias",
        "W_regularizer", "b_regularizer", "W_constraint", "b_constraint",
        /* Keras 3 */
        "lora_rank", "lora_alpha", NULL};
    const char *cls = "Conv2D";
    if (!json_is_object(c)) return ck_error(CK_FORMAT_ERROR, "Conv2D config must be a JSON object");
    const json_t *lora = json_object_get(c, "lora_rank");
    if (lora && !json_is_null(lora))
        return ck_error(CK_NOT_IMPLEMENTED, "Conv2D with LoRA (lora_rank) is not supported");
    conv2d_args a = {.groups = 1, .use_bias = 1, .strides = {1, 1}, .dilation = {1, 1}};
    int has_filters = 0, has_kernel = 0;
    CK_TRY(ck_arg_int(ck_arg_get2(c, "filters", "nb_filter"), cls, "filters", &a.filters, &has_filters));
    if (!has_filters) return ck_error(CK_VALUE_ERROR, "Conv2D config: `filters` is required");
    const json_t *ks = json_object_get(c, "kernel_size");
    if (ks && !json_is_null(ks)) {
        CK_TRY(ck_conv_pair_json(ks, cls, "kernel_size", 0, a.kernel_size));
        has_kernel = 1;
    } else {
        CK_TRY(keras1_kernel(c, a.kernel_size, &has_kernel));
    }
    if (!has_kernel) return ck_error(CK_VALUE_ERROR, "Conv2D config: `kernel_size` is required");
    CK_TRY(ck_conv_pair_json(ck_arg_get2(c, "strides", "subsample"), cls, "strides", 1, a.strides));
    CK_TRY(ck_conv_pair_json(json_object_get(c, "dilation_rate"), cls, "dilation_rate", 0, a.dilation));
    CK_TRY(ck_conv_padding_json(ck_arg_get2(c, "padding", "border_mode"), cls, "padding", &a.same));
    if (json_object_get(c, "data_format"))
        CK_TRY(ck_conv_data_format_json(json_object_get(c, "data_format"), cls, "data_format", 0,
                                        &a.channels_first));
    else
        CK_TRY(ck_conv_data_format_json(json_object_get(c, "dim_ordering"), cls, "dim_ordering", 1,
                                        &a.channels_first));
    int64_t groups = 1;
    CK_TRY(ck_arg_int(json_object_get(c, "groups"), cls, "groups", &groups, NULL));
    a.groups = groups == 0 ? 1 : groups; /* `groups or 1` */
    if (a.groups > 1) return ck_conv_layer_from_config(&ck_conv2d_grouped_class, c, out);
    CK_TRY(ck_arg_bool(ck_arg_get2(c, "use_bias", "bias"), cls, "use_bias", &a.use_bias));
    CK_TRY(conv2d_check(&a));

    ck_status st = ck_kernel_params_from_json(&a.params, c);
    ck_layer *layer = NULL;
    if (st == CK_OK) st = ck_layer_create_from_config(&ck_conv2d_class, c, keys, &layer);
    if (st == CK_OK) st = conv2d_finish(layer, &a);
    ck_kernel_params_free(&a.params);
    if (st != CK_OK) {
        ck_layer_free(layer);
        return st;
    }
    *out = layer;
    return CK_OK;
}

const ck_layer_class ck_conv2d_class = {
    .class_name = "Conv2D",
    .size = sizeof(ck_conv2d_layer),
    .arity = CK_ONE_INPUT,
    /* tf.nn.convolution takes no integers; casting them like Dense does is
     * the useful reading of such an input. */
    .cast_all_inputs = 1,
    .build = conv2d_build,
    .call = ck_layer_call_own_scratch,
    .call_scratch_bytes = conv2d_scratch_bytes,
    .call_scratch = conv2d_call_scratch,
    .compute_output_shape = conv2d_output_shape,
    .get_config = conv2d_get_config,
    .from_config = conv2d_from_config,
    .destroy = conv2d_destroy,
    .saved_bytes = ck_conv2d_saved_bytes,
    .train_call = ck_conv2d_train_call,
    .backward = ck_conv2d_backward,
};

/* Keras 1's class name (tf.keras keeps `Convolution2D = Conv2D`): its
 * configs are read into a Conv2D, which then writes the modern form. */
const ck_layer_class ck_convolution2d_legacy_class = {
    .class_name = "Convolution2D",
    .size = sizeof(ck_conv2d_layer),
    .arity = CK_ONE_INPUT,
    .compute_output_shape = conv2d_output_shape,
    .from_config = conv2d_from_config,
};
