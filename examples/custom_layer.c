/* examples/custom_layer.c: Keras' custom_objects in C.
 *
 * tests/data/custom/model.h5 was saved by tf.keras 2.15 from
 *
 *     x -> Dense(5) -> Lambda(normalize) -> ScaledDense(3, scale=0.5)
 *       -> Lambda(lambda t, alpha: t * alpha + 1.0, arguments={"alpha": 0.3})
 *
 * where `normalize` is a Python function and ScaledDense a Layer subclass
 * (tools/gen_custom_layer_goldens.py).  This program registers C versions
 * of the three, loads the file, predicts and compares with Keras.
 *
 *     ./examples/custom_layer [model.h5|model.keras] [x.npy] [y.npy]
 *
 * (run from the source tree, the defaults are tests/data/custom/...). */
#include <math.h>
#include <stdio.h>

#include "ckeras.h"

/* Lambda(normalize): x / ||x|| over the last axis (float32 model). */
static ck_status normalize(const ck_custom_ctx *ctx, int n, const ck_tensor *const *in, ck_tensor *out)
{
    (void)ctx, (void)n;
    const float *x = in[0]->data;
    float *y = out->data;
    int64_t d = in[0]->shape[in[0]->rank - 1];
    for (int64_t r = 0; r < in[0]->size / d; r++) {
        double s = 0;
        for (int64_t j = 0; j < d; j++) s += (double)x[r * d + j] * x[r * d + j];
        for (int64_t j = 0; j < d; j++) y[r * d + j] = (float)(x[r * d + j] / sqrt(s));
    }
    return CK_OK;
}

/* The anonymous Lambda, registered under its layer name "lambda": its
 * `arguments` are read once, when the layer is made. */
static ck_status affine_config(const ck_custom_ctx *ctx, const char *config, void **state)
{
    (void)ctx;
    double *alpha = ck_malloc(sizeof *alpha);
    if (!alpha) return ck_error(CK_OUT_OF_MEMORY, "affine lambda");
    *state = alpha;
    return ck_config_number(config, "arguments.alpha", alpha);
}

static void free_state(void *state, void *user)
{
    (void)user;
    ck_free(state);
}

static ck_status affine(const ck_custom_ctx *ctx, int n, const ck_tensor *const *in, ck_tensor *out)
{
    (void)n;
    float alpha = (float)*(const double *)ctx->state;
    for (int64_t i = 0; i < out->size; i++) ((float *)out->data)[i] = ((const float *)in[0]->data)[i] * alpha + 1.0f;
    return CK_OK;
}

/* ScaledDense: scale * (x @ kernel + bias); units and scale come from the
 * config keys its Python get_config added. */
typedef struct { int64_t units; double scale; } scaled_dense;

static ck_status sd_config(const ck_custom_ctx *ctx, const char *config, void **state)
{
    (void)ctx;
    scaled_dense *s = ck_malloc(sizeof *s);
    double units = 0;
    if (!s) return ck_error(CK_OUT_OF_MEMORY, "ScaledDense");
    *state = s;
    s->scale = 1.0;
    ck_status st = ck_config_number(config, "units", &units);
    if (st == CK_OK) st = ck_config_number(config, "scale", &s->scale);
    s->units = (int64_t)units;
    return st;
}

static ck_status sd_build(const ck_custom_ctx *ctx, int n, const ck_shape *shapes)
{
    (void)n;
    const scaled_dense *s = ctx->state;
    ck_weight_opts kernel = {.name = "kernel", .shape = {2, {shapes[0].dims[shapes[0].rank - 1], s->units}}};
    ck_weight_opts bias = {.name = "bias", .shape = {1, {s->units}}, .initializer = "zeros"};
    ck_status st = ck_layer_add_weight(ctx->layer, &kernel, NULL);
    return st == CK_OK ? ck_layer_add_weight(ctx->layer, &bias, NULL) : st;
}

static ck_status sd_shape(const ck_custom_ctx *ctx, int n, const ck_shape *in, ck_shape *out)
{
    (void)n;
    *out = in[0];
    out->dims[out->rank - 1] = ((const scaled_dense *)ctx->state)->units;
    return CK_OK;
}

static ck_status sd_call(const ck_custom_ctx *ctx, int n, const ck_tensor *const *in, ck_tensor *out)
{
    (void)n;
    const scaled_dense *s = ctx->state;
    const float *k = ck_weight_value(ck_layer_weight(ctx->layer, 0))->data;
    const float *b = ck_weight_value(ck_layer_weight(ctx->layer, 1))->data;
    const float *x = in[0]->data;
    int64_t d = in[0]->shape[in[0]->rank - 1], u = s->units;
    for (int64_t r = 0; r < in[0]->size / d; r++)
        for (int64_t j = 0; j < u; j++) {
            double acc = b[j];
            for (int64_t i = 0; i < d; i++) acc += (double)x[r * d + i] * k[i * u + j];
            ((float *)out->data)[r * u + j] = (float)(s->scale * acc);
        }
    return CK_OK;
}

int main(int argc, char **argv)
{
    const char *model_path = argc > 1 ? argv[1] : "tests/data/custom/model.h5";
    const char *x_path = argc > 2 ? argv[2] : "tests/data/custom/x.npy";
    const char *y_path = argc > 3 ? argv[3] : "tests/data/custom/y.npy";
    ck_custom_layer_class normalize_fn = {.version = CK_CUSTOM_LAYER_VERSION, .call = normalize};
    ck_custom_layer_class affine_fn = {.version = CK_CUSTOM_LAYER_VERSION, .from_config = affine_config,
                                       .free_state = free_state, .call = affine};
    ck_custom_layer_class scaled = {.version = CK_CUSTOM_LAYER_VERSION, .class_name = "ScaledDense",
                                    .from_config = sd_config, .free_state = free_state, .build = sd_build,
                                    .compute_output_shape = sd_shape, .call = sd_call};
    ck_model *m = NULL;
    ck_tensor *x = NULL, *want = NULL, *y = NULL;
    /* Register first: the file is matched against the registry as it loads. */
    if (ck_register_lambda("normalize", &normalize_fn) != CK_OK || ck_register_lambda("lambda", &affine_fn) != CK_OK ||
        ck_register_layer_class(&scaled) != CK_OK || ck_model_load(model_path, &m) != CK_OK ||
        ck_npy_load(x_path, &x) != CK_OK || ck_npy_load(y_path, &want) != CK_OK ||
        ck_model_predict(m, 1, &x, &y, 0) != CK_OK) {
        fprintf(stderr, "custom_layer: %s: %s\n", ck_status_name(ck_last_status()), ck_last_error());
        ck_model_free(m);
        ck_tensor_free(x);
        ck_tensor_free(want);
        ck_custom_registry_reset();
        return 1;
    }
    double worst = 0;
    for (int64_t i = 0; i < y->size; i++) {
        double diff = fabs(ck_tensor_get(y, i) - ck_tensor_get(want, i));
        if (diff > worst) worst = diff;
        printf("%9.5f%s", ck_tensor_get(y, i), (i + 1) % y->shape[1] ? " " : "\n");
    }
    printf("largest difference from tf.keras: %.3g\n", worst);
    ck_tensor_free(y);
    ck_tensor_free(x);
    ck_tensor_free(want);
    ck_model_free(m);
    ck_custom_registry_reset();
    return worst <= 1e-5 ? 0 : 1;
}
