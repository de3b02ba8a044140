/* C implementations of the Python pieces of tests/data/custom (made by
 * tools/gen_custom_layer_goldens.py), used by test_custom_layers.c:
 *   normalize       Lambda: x / ||x|| over the last axis; the row norms go
 *                   to the scratch, where backward finds them again;
 *   affine          the anonymous Lambda: t * alpha + 1, alpha read from
 *                   the config's "arguments";
 *   ScaledDense     scale * (x @ kernel + bias), units / scale from the
 *                   config, get_config giving them back.
 * float32 and float64 (the gradient check runs in float64). */
#ifndef CK_TEST_CUSTOM_IMPLS_H
#define CK_TEST_CUSTOM_IMPLS_H

#include <math.h>
#include <stdio.h>

#include "ckeras.h"

static double get_at(const ck_tensor *t, int64_t i)
{
    return t->dtype == CK_FLOAT64 ? ((const double *)t->data)[i] : ((const float *)t->data)[i];
}

static void set_at(ck_tensor *t, int64_t i, double v)
{
    if (t->dtype == CK_FLOAT64) ((double *)t->data)[i] = v;
    else ((float *)t->data)[i] = (float)v;
}

static void add_at(ck_tensor *t, int64_t i, double v) { set_at(t, i, get_at(t, i) + v); }

/* ---- normalize ------------------------------------------------------------ */

static int64_t last_dim(const ck_tensor *t) { return t->shape[t->rank - 1]; }

static size_t normalize_scratch(const ck_custom_ctx *ctx, int n, const ck_shape *in, const ck_shape *out)
{
    (void)ctx, (void)n, (void)out;
    int64_t rows = 1;
    for (int d = 0; d < in[0].rank - 1; d++) rows *= in[0].dims[d];
    return (size_t)rows * sizeof(double);
}

static ck_status normalize_call(const ck_custom_ctx *ctx, int n, const ck_tensor *const *in, ck_tensor *out)
{
    (void)n;
    double *norms = ctx->scratch;
    int64_t d = last_dim(in[0]), rows = in[0]->size / d;
    for (int64_t r = 0; r < rows; r++) {
        double s = 0;
        for (int64_t j = 0; j < d; j++) s += get_at(in[0], r * d + j) * get_at(in[0], r * d + j);
        norms[r] = sqrt(s);
        for (int64_t j = 0; j < d; j++) set_at(out, r * d + j, get_at(in[0], r * d + j) / norms[r]);
    }
    return CK_OK;
}

/* dx = (dy - y (y . dy)) / ||x|| */
static ck_status normalize_backward(const ck_custom_ctx *ctx, int n, const ck_tensor *const *in,
                                    const ck_tensor *out, const ck_tensor *dout, ck_tensor *const *din)
{
    (void)n;
    if (!din[0]) return CK_OK;
    const double *norms = ctx->scratch;
    int64_t d = last_dim(in[0]), rows = in[0]->size / d;
    for (int64_t r = 0; r < rows; r++) {
        double dot = 0;
        for (int64_t j = 0; j < d; j++) dot += get_at(out, r * d + j) * get_at(dout, r * d + j);
        for (int64_t j = 0; j < d; j++)
            set_at(din[0], r * d + j, (get_at(dout, r * d + j) - get_at(out, r * d + j) * dot) / norms[r]);
    }
    return CK_OK;
}

static const ck_custom_layer_class normalize_impl = {
    .version = CK_CUSTOM_LAYER_VERSION,
    .scratch_bytes = normalize_scratch,
    .call = normalize_call,
    .backward = normalize_backward,
};

/* ---- affine (the anonymous lambda) ------------------------------------------ */

static ck_status affine_from_config(const ck_custom_ctx *ctx, const char *config, void **state)
{
    double *alpha = ck_malloc(sizeof *alpha);
    if (!alpha) return ck_error(CK_OUT_OF_MEMORY, "affine");
    *state = alpha;
    (void)ctx;
    return ck_config_number(config, "arguments.alpha", alpha);
}

static void free_state(void *state, void *user)
{
    (void)user;
    ck_free(state);
}

static ck_status affine_call(const ck_custom_ctx *ctx, int n, const ck_tensor *const *in, ck_tensor *out)
{
    (void)n;
    double alpha = *(const double *)ctx->state;
    for (int64_t i = 0; i < out->size; i++) set_at(out, i, get_at(in[0], i) * alpha + 1.0);
    return CK_OK;
}

static ck_status affine_backward(const ck_custom_ctx *ctx, int n, const ck_tensor *const *in, const ck_tensor *out,
                                 const ck_tensor *dout, ck_tensor *const *din)
{
    (void)n, (void)in, (void)out;
    double alpha = *(const double *)ctx->state;
    if (din[0])
        for (int64_t i = 0; i < dout->size; i++) set_at(din[0], i, get_at(dout, i) * alpha);
    return CK_OK;
}

static const ck_custom_layer_class affine_impl = {
    .version = CK_CUSTOM_LAYER_VERSION,
    .from_config = affine_from_config,
    .free_state = free_state,
    .call = affine_call,
    .backward = affine_backward,
};

/* ---- ScaledDense -------------------------------------------------------------- */

typedef struct scaled_dense {
    int64_t units;
    double scale;
} scaled_dense;

static ck_status sd_from_config(const ck_custom_ctx *ctx, const char *config, void **state)
{
    (void)ctx;
    scaled_dense *s = ck_calloc(1, sizeof *s);
    if (!s) return ck_error(CK_OUT_OF_MEMORY, "ScaledDense");
    *state = s;
    double units = 0, scale = 1.0;
    ck_status st = ck_config_number(config, "units", &units);
    if (st != CK_OK) return st;
    if (units < 1) return ck_error(CK_VALUE_ERROR, "ScaledDense: units must be >= 1");
    if (ck_config_number(config, "scale", &scale) != CK_OK) ck_clear_error(); /* Python default 1.0 */
    s->units = (int64_t)units;
    s->scale = scale;
    return CK_OK;
}

static ck_status sd_get_config(const ck_custom_ctx *ctx, char **config)
{
    const scaled_dense *s = ctx->state;
    char buf[128];
    snprintf(buf, sizeof buf, "{\"units\": %lld, \"scale\": %.17g}", (long long)s->units, s->scale);
    *config = ck_strdup(buf);
    return *config ? CK_OK : ck_error(CK_OUT_OF_MEMORY, "ScaledDense config");
}

static ck_status sd_build(const ck_custom_ctx *ctx, int n, const ck_shape *shapes)
{
    (void)n;
    const scaled_dense *s = ctx->state;
    int64_t in = shapes[0].dims[shapes[0].rank - 1];
    if (in < 0) return ck_error(CK_VALUE_ERROR, "ScaledDense: the last input dim must be known");
    ck_weight_opts k = {.name = "kernel", .shape = {2, {in, s->units}}};
    ck_weight_opts b = {.name = "bias", .shape = {1, {s->units}}, .initializer = "zeros"};
    ck_status st = ck_layer_add_weight(ctx->layer, &k, NULL);
    return st == CK_OK ? ck_layer_add_weight(ctx->layer, &b, NULL) : st;
}

static ck_status sd_output_shape(const ck_custom_ctx *ctx, int n, const ck_shape *in, ck_shape *out)
{
    (void)n;
    const scaled_dense *s = ctx->state;
    *out = in[0];
    out->dims[out->rank - 1] = s->units;
    return CK_OK;
}

static ck_status sd_call(const ck_custom_ctx *ctx, int n, const ck_tensor *const *in, ck_tensor *out)
{
    (void)n;
    const scaled_dense *s = ctx->state;
    const ck_tensor *kernel = ck_weight_value(ck_layer_weight(ctx->layer, 0));
    const ck_tensor *bias = ck_weight_value(ck_layer_weight(ctx->layer, 1));
    int64_t d = last_dim(in[0]), rows = in[0]->size / d, u = s->units;
    for (int64_t r = 0; r < rows; r++)
        for (int64_t j = 0; j < u; j++) {
            double acc = get_at(bias, j);
            for (int64_t k = 0; k < d; k++) acc += get_at(in[0], r * d + k) * get_at(kernel, k * u + j);
            set_at(out, r * u + j, s->scale * acc);
        }
    return CK_OK;
}

static ck_status sd_backward(const ck_custom_ctx *ctx, int n, const ck_tensor *const *in, const ck_tensor *out,
                             const ck_tensor *dout, ck_tensor *const *din)
{
    (void)n, (void)out;
    const scaled_dense *s = ctx->state;
    ck_weight *kw = ck_layer_weight(ctx->layer, 0), *bw = ck_layer_weight(ctx->layer, 1);
    const ck_tensor *kernel = ck_weight_value(kw);
    ck_tensor *dk = ck_weight_grad(kw), *db = ck_weight_grad(bw);
    int64_t d = last_dim(in[0]), rows = in[0]->size / d, u = s->units;
    for (int64_t r = 0; r < rows; r++) {
        for (int64_t k = 0; k < d && din[0]; k++) {
            double acc = 0;
            for (int64_t j = 0; j < u; j++) acc += get_at(dout, r * u + j) * get_at(kernel, k * u + j);
            set_at(din[0], r * d + k, s->scale * acc);
        }
        for (int64_t j = 0; j < u; j++) {
            double g = s->scale * get_at(dout, r * u + j);
            if (db) add_at(db, j, g);
            for (int64_t k = 0; dk && k < d; k++) add_at(dk, k * u + j, g * get_at(in[0], r * d + k));
        }
    }
    return CK_OK;
}

static const ck_custom_layer_class scaled_dense_impl = {
    .version = CK_CUSTOM_LAYER_VERSION,
    .class_name = "ScaledDense",
    .from_config = sd_from_config,
    .get_config = sd_get_config,
    .free_state = free_state,
    .build = sd_build,
    .compute_output_shape = sd_output_shape,
    .call = sd_call,
    .backward = sd_backward,
};

#endif
