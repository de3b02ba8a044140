/* keras.layers.Dense: outputs = activation(inputs . kernel + bias), the
 * last axis contracted.  Forward pass: one matrix product (GEMV-like for a
 * single row) through the ops floor's kernel choice, then bias and
 * activation in place: no allocation beyond the output. */
#include <string.h>

#include "layers/kernel_params.h"
#include "layers/layer_args.h"
#include "ops/ops.h"
#include "layers/dense.h"

typedef struct ck_dense_layer {
    ck_layer base;
    int64_t units;
    int use_bias;
    ck_kernel_params params;
    ck_weight *kernel, *bias;
    ck_row_plan_f32 row; /* batch 1 (float32, from the build) */
    int relu;            /* the activation is a plain relu */
} ck_dense_layer;

static void dense_destroy(ck_layer *layer)
{
    ck_kernel_params_free(&((ck_dense_layer *)layer)->params);
}

static ck_status dense_build(ck_layer *layer, int n, const ck_shape *shapes)
{
    ck_dense_layer *d = (ck_dense_layer *)layer;
    char buf[128];
    (void)n;
    const ck_shape *s = &shapes[0];
    int64_t last = s->rank > 0 ? s->dims[s->rank - 1] : -1;
    if (last < 0)
        return ck_error(CK_VALUE_ERROR, "The last dimension of the inputs to a Dense layer should be defined. "
                        "Found None. Full input shape received: %s (layer \"%s\")",
                        ck_shape_fmt(buf, sizeof buf, s), layer->name);
    ck_shape kshape = {2, {last, d->units}}, bshape = {1, {d->units}};
    CK_TRY(ck_kernel_params_add_weights(&d->params, layer, &kshape, &bshape, d->use_bias, &d->kernel, &d->bias));
    layer->spec = (ck_input_spec){.min_ndim = 2, .has_last_dim = 1, .last_dim = last};
    if (layer->dtype == CK_FLOAT32) ck_row_plan_f32_make(&d->row, d->units, last);
    d->relu = ck_activation_is_plain_relu(d->params.activation);
    return CK_OK;
}

static ck_status dense_output_shape(const ck_layer *layer, int n, const ck_shape *in, ck_shape *out)
{
    const ck_dense_layer *d = (const ck_dense_layer *)layer;
    char buf[128];
    (void)n;
    if (in[0].rank < 2)
        return ck_error(CK_VALUE_ERROR, "Shape %s must have rank at least 2 (layer \"%s\")",
                        ck_shape_fmt(buf, sizeof buf, &in[0]), layer->name);
    if (in[0].dims[in[0].rank - 1] < 0)
        return ck_error(CK_VALUE_ERROR, "The last dimension of the input shape of a Dense layer should be "
                        "defined. Found None. Received: input_shape=%s", ck_shape_fmt(buf, sizeof buf, &in[0]));
    *out = in[0];
    out->dims[out->rank - 1] = d->units;
    return CK_OK;
}

/* inputs . kernel into `out`: one product for all leading positions (the
 * last axis is contracted). */
static void dense_product(const ck_dense_layer *d, const ck_tensor *x, ck_tensor *out, int64_t rows)
{
    int64_t k = x->shape[x->rank - 1], units = d->units;
    const void *kern = d->kernel->value->data;
    if (out->dtype == CK_FLOAT32) ck_matmul_f32(rows, units, k, x->data, kern, out->data);
    else ck_matmul_f64(rows, units, k, x->data, kern, out->data);
}

/* Rows of float64 output per block: the product, then the bias, the
 * activation and the folded scale and shift as passes over the block. */
static ck_status dense_blocks_f64(const ck_dense_layer *d, const ck_tensor *x, ck_tensor *out, int64_t rows,
                                  int64_t k, int64_t block, const double *sc, const double *sh)
{
    const int64_t units = d->units;
    const double *b = d->bias ? d->bias->value->data : NULL;
    for (int64_t r0 = 0; r0 < rows; r0 += block) {
        const int64_t n = rows - r0 < block ? rows - r0 : block;
        double *ob = (double *)out->data + r0 * units;
        ck_matmul_f64(n, units, k, (const double *)x->data + r0 * k, d->kernel->value->data, ob);
        if (b) ck_add_bias_rows(CK_FLOAT64, b, ob, n, units);
        CK_TRY(ck_kernel_params_activate(&d->params, CK_FLOAT64, ob, n, units));
        for (int64_t r = 0; sc && r < n; r++) {
            double *row = ob + r * units;
            for (int64_t u = 0; u < units; u++) row[u] = row[u] * sc[u] + sh[u];
        }
    }
    return CK_OK;
}

/* float32: the bias, a relu and the folded scale and shift in the
 * product's epilogue (ops.h: in the registers where our kernels run);
 * another activation as a pass between the bias and the scale. */
static ck_status dense_blocks_f32(const ck_dense_layer *d, const ck_tensor *x, ck_tensor *out, int64_t rows,
                                  int64_t k, int64_t block, const float *sc, const float *sh)
{
    const int64_t units = d->units;
    const int in_epilogue = d->relu || ck_activation_is_linear(d->params.activation);
    const ck_epilogue_f32 ep = {d->bias ? d->bias->value->data : NULL, d->relu, in_epilogue ? sc : NULL, sh};
    const ck_epilogue_f32 after = {NULL, 0, sc, sh};
    for (int64_t r0 = 0; r0 < rows; r0 += block) {
        const int64_t n = rows - r0 < block ? rows - r0 : block;
        float *ob = (float *)out->data + r0 * units;
        ck_matmul_f32_ep(n, units, k, (const float *)x->data + r0 * k, d->kernel->value->data, ob,
                         ep.bias || ep.relu || ep.scale ? &ep : NULL);
        if (in_epilogue) continue;
        CK_TRY(ck_kernel_params_activate(&d->params, CK_FLOAT32, ob, n, units));
        if (sc) ck_epilogue_rows_f32(ob, n, units, &after);
    }
    return CK_OK;
}

/* The whole product, its bias and activation (ck_dense_call_fused's
 * blocks with one block, no scale). */
static ck_status dense_biased(const ck_dense_layer *d, const ck_tensor *x, ck_tensor *out, int64_t rows)
{
    const int64_t k = x->shape[x->rank - 1];
    if (out->dtype == CK_FLOAT32) return dense_blocks_f32(d, x, out, rows, k, rows, NULL, NULL);
    return dense_blocks_f64(d, x, out, rows, k, rows, NULL, NULL);
}

static ck_status dense_call(ck_layer *layer, int n, const ck_tensor *const *in, ck_tensor *const *outs)
{
    ck_dense_layer *d = (ck_dense_layer *)layer;
    ck_tensor *out = outs[0];
    (void)n;
    if (out->size == 0) return CK_OK;
    if (out->size == d->units && out->dtype == CK_FLOAT32) {
        /* batch 1: the bias and a relu in the product's registers */
        const int relu = d->relu;
        const float *bias = d->bias ? d->bias->value->data : NULL;
        if (d->row.kernel && ck_bd_path == CK_BD_PATH_AUTO) {
            ck_row_plan_f32_run(&d->row, in[0]->data, d->kernel->value->data, bias, relu, out->data);
            return relu ? CK_OK : ck_kernel_params_activate(&d->params, out->dtype, out->data, 1, d->units);
        }
        if (ck_dense_row_f32(d->units, in[0]->shape[in[0]->rank - 1], in[0]->data, d->kernel->value->data,
                             bias, relu, out->data))
            return relu ? CK_OK : ck_kernel_params_activate(&d->params, out->dtype, out->data, 1, d->units);
    }
    return dense_biased(d, in[0], out, out->size / d->units);
}

/* ---- fused inference (model/fuse.c decides when at plan time) ----------
 * The plain call makes three passes over the whole output (product, bias,
 * activation); this one applies bias, an optional per-unit scale and shift
 * (a following BatchNormalization's inv and off, folded here) and the
 * activation to each block of rows right after that block's product, while
 * it is still in cache.  The arithmetic is the unfused one, operation for
 * operation (z = x.W + b, then the activation, then y * inv + off: the
 * BatchNormalization reads the Dense's activated output), so results match
 * the unfused path. */

/* Rows per block: the whole output when it fits in about half an L2 (one
 * product call, as the plain path; CBLAS packs the kernel on every call),
 * else blocks of that size. */
#define FUSED_BLOCK_BYTES (256 * 1024)

int ck_dense_fusable(const ck_layer *layer, int need_linear)
{
    const ck_dense_layer *d = (const ck_dense_layer *)layer;
    if (layer->cls != &ck_dense_class || !layer->built || !d->kernel) return 0;
    if (layer->dtype != CK_FLOAT32 && layer->dtype != CK_FLOAT64) return 0;
    return !need_linear || ck_activation_is_linear(d->params.activation);
}

int64_t ck_dense_units(const ck_layer *layer) { return ((const ck_dense_layer *)layer)->units; }

ck_status ck_dense_call_fused(const ck_layer *layer, const ck_tensor *x, ck_tensor *out, const void *inv,
                              const void *off)
{
    const ck_dense_layer *d = (const ck_dense_layer *)layer;
    int64_t units = d->units, k = x->shape[x->rank - 1];
    int64_t rows = units > 0 ? out->size / units : 0;
    if (out->size == 0) return CK_OK;
    size_t row_bytes = (size_t)units * ck_dtype_size(out->dtype);
    int64_t block = (int64_t)(FUSED_BLOCK_BYTES / row_bytes);
    if (block < 16) block = 16;
    block = block / 16 * 16;
    if ((size_t)rows * row_bytes <= 2 * FUSED_BLOCK_BYTES) block = rows;
    const int relu = d->relu;
    if (rows == 1 && out->dtype == CK_FLOAT32 && !inv &&
        ck_dense_row_f32(units, k, x->data, d->kernel->value->data, d->bias ? d->bias->value->data : NULL, relu,
                         out->data))
        return relu ? CK_OK : ck_kernel_params_activate(&d->params, out->dtype, out->data, rows, units);
    if (out->dtype == CK_FLOAT32) return dense_blocks_f32(d, x, out, rows, k, block, inv, off);
    return dense_blocks_f64(d, x, out, rows, k, block, inv, off);
}

/* ---- training: saved = [z if the activation's derivative needs it]
 *      [dz unless the activation is linear] ---- */

static int dense_keeps_z(const ck_dense_layer *d)
{
    return !ck_activation_is_linear(d->params.activation) && ck_activation_grad_needs_input(d->params.activation);
}

static size_t dense_saved_bytes(const ck_layer *layer, int n, const ck_shape *in, const ck_shape *out)
{
    const ck_dense_layer *d = (const ck_dense_layer *)layer;
    (void)n, (void)in;
    if (ck_activation_is_linear(d->params.activation)) return 0;
    size_t count = 1;
    for (int i = 0; i < out->rank; i++) count *= (size_t)out->dims[i];
    return count * ck_dtype_size(layer->dtype) * (dense_keeps_z(d) ? 2 : 1);
}

static ck_status dense_train_call(ck_layer *layer, const ck_train_ctx *ctx, int n, const ck_tensor *const *in,
                                  ck_tensor *const *outs, void *saved)
{
    ck_dense_layer *d = (ck_dense_layer *)layer;
    ck_tensor *out = outs[0];
    (void)ctx, (void)n;
    int64_t rows = out->size / d->units;
    if (out->size == 0) return CK_OK;
    if (!dense_keeps_z(d)) return dense_biased(d, in[0], out, rows);
    dense_product(d, in[0], out, rows);
    const void *bias = d->bias ? d->bias->value->data : NULL;
    if (bias) ck_add_bias_rows(out->dtype, bias, out->data, rows, d->units);
    memcpy(saved, out->data, (size_t)out->size * ck_dtype_size(out->dtype));
    return ck_kernel_params_activate(&d->params, out->dtype, out->data, rows, d->units);
}

/* Given dz (rows, units): kernel.grad += x^T dz, bias.grad += sum_rows dz,
 * dx = dz kernel^T. */
static ck_status dense_backward(ck_layer *layer, const ck_train_ctx *ctx, int n, const ck_tensor *const *in,
                                const ck_tensor *out, const ck_tensor *dout, void *saved, ck_tensor *const *din)
{
    ck_dense_layer *d = (ck_dense_layer *)layer;
    const ck_tensor *x = in[0];
    (void)ctx, (void)n;
    int64_t units = d->units, k = x->shape[x->rank - 1], rows = out->size / units;
    size_t bytes = (size_t)out->size * ck_dtype_size(out->dtype);
    const void *dz = dout->data;
    ck_tensor *kg = d->kernel->grad, *bg = d->bias ? d->bias->grad : NULL, *dx = din ? din[0] : NULL;
    if (out->dtype == CK_FLOAT32 && ck_activation_is_plain_relu(d->params.activation)) {
        /* relu' and the bias gradient row by row, while the row of dz is
         * in L1 (the same sums in the same order as the loops below). */
        float *buf = saved, *g = bg ? bg->data : NULL;
        const float *y = out->data, *gy = dout->data;
        for (int64_t r = 0; r < rows; r++, y += units, gy += units, buf += units) {
            ck_relu_grad_f32(units, y, gy, buf);
            for (int64_t u = 0; g && u < units; u++) g[u] += buf[u];
        }
        if (kg) ck_gemm_tn_f32(k, units, rows, x->data, saved, 1.0f, kg->data);
        if (dx) ck_gemm_nt_f32(rows, k, units, saved, d->kernel->value->data, 0.0f, dx->data);
        return CK_OK;
    }
    if (!ck_activation_is_linear(d->params.activation)) {
        const void *z = dense_keeps_z(d) ? saved : NULL;
        void *buf = dense_keeps_z(d) ? (char *)saved + bytes : saved;
        CK_TRY(ck_activation_grad_rows(d->params.activation, out->dtype, z, out->data, dout->data, buf, rows,
                                       units));
        dz = buf;
    }
    if (out->dtype == CK_FLOAT32) {
        if (kg) ck_gemm_tn_f32(k, units, rows, x->data, dz, 1.0f, kg->data);
        if (bg) {
            float *g = bg->data;
            const float *p = dz;
            for (int64_t r = 0; r < rows; r++, p += units)
                for (int64_t u = 0; u < units; u++) g[u] += p[u];
        }
        if (dx) ck_gemm_nt_f32(rows, k, units, dz, d->kernel->value->data, 0.0f, dx->data);
    } else {
        if (kg) ck_gemm_tn_f64(k, units, rows, x->data, dz, 1.0, kg->data);
        if (bg) {
            double *g = bg->data;
            const double *p = dz;
            for (int64_t r = 0; r < rows; r++, p += units)
                for (int64_t u = 0; u < units; u++) g[u] += p[u];
        }
        if (dx) ck_gemm_nt_f64(rows, k, units, dz, d->kernel->value->data, 0.0, dx->data);
    }
    return CK_OK;
}

static ck_status dense_get_config(const ck_layer *layer, json_t *c)
{
    const ck_dense_layer *d = (const ck_dense_layer *)layer;
    ck_status st = ck_json_set(c, "units", json_integer(d->units));
    if (st == CK_OK) st = ck_kernel_params_to_json(&d->params, d->use_bias, layer->activity_regularizer, c);
    return st;
}

/* Hands the parsed arguments to the layer (defaults filled in). */
static ck_status dense_finish(ck_layer *layer, int64_t units, int use_bias, ck_kernel_params *p)
{
    ck_dense_layer *d = (ck_dense_layer *)layer;
    CK_TRY(ck_kernel_params_defaults(p));
    d->units = units;
    d->use_bias = use_bias;
    d->params = *p;
    memset(p, 0, sizeof *p);
    layer->spec = (ck_input_spec){.min_ndim = 2};
    return CK_OK;
}

ck_status ck_dense(ck_layer **out, const ck_dense_opts *o)
{
    CK_NEED(out);
    if (!o) return ck_error(CK_VALUE_ERROR, "Dense: options are required (units)");
    if (o->units <= 0)
        return ck_error(CK_VALUE_ERROR, "Received an invalid value for `units`, expected a positive integer. "
                        "Received: units=%lld", (long long)o->units);
    ck_kernel_params p = {0};
    ck_status st = ck_kernel_params_from_opts(&p, o->activation, o->kernel_initializer, o->bias_initializer,
                                              o->kernel_regularizer, o->bias_regularizer, o->kernel_constraint,
                                              o->bias_constraint);
    ck_layer *layer = NULL;
    if (st == CK_OK)
        st = ck_layer_create(&ck_dense_class, o->name, !o->frozen, o->dtype, &o->input_shape, o->batch_size,
                             o->activity_regularizer, &layer);
    if (st == CK_OK) st = dense_finish(layer, o->units, !o->no_bias, &p);
    ck_kernel_params_free(&p);
    if (st != CK_OK) {
        ck_layer_free(layer);
        return st;
    }
    *out = layer;
    return CK_OK;
}

static ck_status dense_from_config(const json_t *c, ck_layer **out)
{
    static const char *const keys[] = {
        "units", "activation", "use_bias", "kernel_initializer", "bias_initializer", "kernel_regularizer",
        "bias_regularizer", "kernel_constraint", "bias_constraint",
        /* Keras 1 */
        "output_dim", "init", "bias", "W_regularizer", "b_regularizer", "W_constraint", "b_constraint",
        /* Keras 3 */
        "lora_rank", "lora_alpha", "quantization_config", NULL};
    const json_t *units = ck_arg_get2(c, "units", "output_dim");
    if (!json_is_integer(units) || json_integer_value(units) < 0)
        return ck_error(CK_VALUE_ERROR, "Received an invalid value for `units`, expected a positive integer "
                        "(Dense config)");
    const json_t *lora = json_object_get(c, "lora_rank");
    if (lora && !json_is_null(lora))
        return ck_error(CK_NOT_IMPLEMENTED, "Dense with LoRA (lora_rank) is not supported");
    const json_t *quant = json_object_get(c, "quantization_config");
    if (quant && !json_is_null(quant))
        return ck_error(CK_NOT_IMPLEMENTED, "quantized Dense (quantization_config) is not supported");
    const json_t *bias = ck_arg_get2(c, "use_bias", "bias");
    if (bias && !json_is_boolean(bias)) return ck_error(CK_TYPE_ERROR, "Dense config: use_bias must be a boolean");

    ck_kernel_params p = {0};
    ck_status st = ck_kernel_params_from_json(&p, c);
    ck_layer *layer = NULL;
    if (st == CK_OK) st = ck_layer_create_from_config(&ck_dense_class, c, keys, &layer);
    if (st == CK_OK) st = dense_finish(layer, json_integer_value(units), !bias || json_is_true(bias), &p);
    ck_kernel_params_free(&p);
    if (st != CK_OK) {
        ck_layer_free(layer);
        return st;
    }
    *out = layer;
    return CK_OK;
}

const ck_layer_class ck_dense_class = {
    .class_name = "Dense",
    .size = sizeof(ck_dense_layer),
    .arity = CK_ONE_INPUT,
    .cast_all_inputs = 1,
    .supports_masking = 1,
    .build = dense_build,
    .call = dense_call,
    .compute_output_shape = dense_output_shape,
    .get_config = dense_get_config,
    .from_config = dense_from_config,
    .destroy = dense_destroy,
    .saved_bytes = dense_saved_bytes,
    .train_call = dense_train_call,
    .backward = dense_backward,
};
