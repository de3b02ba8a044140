/* keras.layers.Masking: a timestep whose features all equal mask_value is
 * masked: its output is zeros and the output mask (any feature differs,
 * over the last axis) is 0 there, for the layers downstream that skip
 * masked steps (the recurrent layers, masked pooling, masked losses). */
#include <math.h>

#include "layers/layer_args.h"

typedef struct ck_masking_layer {
    ck_layer base;
    double mask_value;
} ck_masking_layer;

static ck_status masking_output_shape(const ck_layer *layer, int n, const ck_shape *in, ck_shape *out)
{
    (void)layer, (void)n;
    *out = in[0];
    return CK_OK;
}

/* 1 where row r (the last axis' `width` values) has a value != mask_value. */
static int row_kept(const ck_tensor *x, int64_t r, int64_t width, double mask_value)
{
    for (int64_t j = 0; j < width; j++)
        if (ck_tensor_get(x, r * width + j) != mask_value) return 1;
    return 0;
}

/* Outputs and input gradients have the (floating) layer dtype. */
static void set_at(ck_tensor *t, int64_t i, double v)
{
    if (t->dtype == CK_FLOAT32) ((float *)t->data)[i] = (float)v;
    else ((double *)t->data)[i] = v;
}

static int64_t last_dim(const ck_tensor *x) { return x->rank > 0 ? x->shape[x->rank - 1] : 1; }

static ck_status masking_call(ck_layer *layer, int n, const ck_tensor *const *in, ck_tensor *const *outs)
{
    const ck_masking_layer *m = (const ck_masking_layer *)layer;
    const ck_tensor *x = in[0];
    (void)n;
    int64_t width = last_dim(x), rows = width ? x->size / width : 0;
    for (int64_t r = 0; r < rows; r++) {
        int keep = row_kept(x, r, width, m->mask_value);
        for (int64_t j = 0; j < width; j++)
            set_at(outs[0], r * width + j, keep ? ck_tensor_get(x, r * width + j) : 0.0);
    }
    return CK_OK;
}

/* d out / d x is 1 on kept rows, 0 on masked ones (the equality test has
 * no gradient). */
static ck_status masking_backward(ck_layer *layer, const ck_train_ctx *ctx, int n, const ck_tensor *const *in,
                                  const ck_tensor *out, const ck_tensor *dout, void *saved, ck_tensor *const *din)
{
    const ck_masking_layer *m = (const ck_masking_layer *)layer;
    (void)ctx, (void)n, (void)out, (void)saved;
    if (!din || !din[0]) return CK_OK;
    const ck_tensor *x = in[0];
    int64_t width = last_dim(x), rows = width ? x->size / width : 0;
    for (int64_t r = 0; r < rows; r++) {
        int keep = row_kept(x, r, width, m->mask_value);
        for (int64_t j = 0; j < width; j++)
            set_at(din[0], r * width + j, keep ? ck_tensor_get(dout, r * width + j) : 0.0);
    }
    return CK_OK;
}

static int masking_rule(const ck_layer *layer)
{
    (void)layer;
    return CK_MASK_MAKE;
}

static ck_shape masking_mask_shape(const ck_layer *layer, const ck_shape *in0)
{
    (void)layer;
    ck_shape s = *in0;
    if (s.rank > 0) s.rank--;
    return s;
}

static ck_status masking_make_mask(const ck_layer *layer, int n, const ck_tensor *const *in, ck_tensor *mask)
{
    const ck_masking_layer *m = (const ck_masking_layer *)layer;
    (void)n;
    int64_t width = last_dim(in[0]);
    int32_t *o = mask->data;
    for (int64_t r = 0; r < mask->size; r++) o[r] = row_kept(in[0], r, width, m->mask_value);
    return CK_OK;
}

/* Eager compute_mask (ck_layer_call_masked): the same mask, allocated. */
static ck_status masking_compute_mask(const ck_layer *layer, int n, const ck_tensor *const *in,
                                      const ck_tensor *const *masks, ck_tensor **out)
{
    (void)masks;
    ck_shape in0 = ck_tensor_shape(in[0]), s = masking_mask_shape(layer, &in0);
    ck_tensor *t = NULL;
    CK_TRY(ck_tensor_new_uninit(&t, CK_INT32, s.rank, s.dims));
    masking_make_mask(layer, n, in, t);
    *out = t;
    return CK_OK;
}

static ck_status masking_get_config(const ck_layer *layer, json_t *c)
{
    return ck_json_set(c, "mask_value", json_real(((const ck_masking_layer *)layer)->mask_value));
}

ck_status ck_masking(ck_layer **out, const ck_masking_opts *o)
{
    CK_NEED(out);
    static const ck_masking_opts defaults;
    if (!o) o = &defaults;
    ck_layer *layer = NULL;
    CK_TRY(CK_ARG_CREATE(&ck_masking_class, o, &layer));
    ((ck_masking_layer *)layer)->mask_value = o->mask_value;
    *out = layer;
    return CK_OK;
}

static ck_status masking_from_config(const json_t *c, ck_layer **out)
{
    static const char *const keys[] = {"mask_value", NULL};
    const json_t *mv = json_object_get(c, "mask_value");
    if (mv && !json_is_number(mv))
        return ck_error(CK_TYPE_ERROR, "Masking: mask_value must be a number");
    ck_layer *layer = NULL;
    CK_TRY(ck_layer_create_from_config(&ck_masking_class, c, keys, &layer));
    ((ck_masking_layer *)layer)->mask_value = mv ? json_number_value(mv) : 0.0;
    *out = layer;
    return CK_OK;
}

const ck_layer_class ck_masking_class = {
    .class_name = "Masking",
    .size = sizeof(ck_masking_layer),
    .arity = CK_ONE_INPUT,
    .supports_masking = 1,
    .compute_output_shape = masking_output_shape,
    .call = masking_call,
    .compute_mask = masking_compute_mask,
    .get_config = masking_get_config,
    .from_config = masking_from_config,
    .backward = masking_backward,
    .mask_rule = masking_rule,
    .made_mask_shape = masking_mask_shape,
    .make_mask = masking_make_mask,
};
