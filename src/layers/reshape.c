/* keras.layers.Reshape: (batch, ...) -> (batch,) + target_shape, with at
 * most one -1 dim inferred as numpy's _fix_unknown_dimension does. */
#include <string.h>

#include "layers/layer_args.h"

typedef struct ck_reshape_layer {
    ck_layer base;
    ck_shape target;   /* -1 = the inferred dim */
} ck_reshape_layer;

/* Keras' _fix_unknown_dimension on the non-batch dims `in` (all known). */
static ck_status fix_unknown(const ck_reshape_layer *r, const int64_t *in, int in_rank, ck_shape *out)
{
    char a[160], b[160];
    int64_t original = 1, known = 1;
    int unknown = -1;
    for (int i = 0; i < in_rank; i++)
        if (ck_mul_overflow_i64(original, in[i], &original)) goto mismatch;
    for (int i = 0; i < r->target.rank; i++) {
        if (r->target.dims[i] < 0) unknown = i;
        else if (ck_mul_overflow_i64(known, r->target.dims[i], &known)) goto mismatch;
    }
    *out = r->target;
    if (unknown >= 0) {
        if (known == 0 || original % known != 0) goto mismatch;
        out->dims[unknown] = original / known;
    } else if (original != known) {
        goto mismatch;
    }
    return CK_OK;
mismatch:
    return ck_error(CK_VALUE_ERROR, "total size of new array must be unchanged, input_shape = %s, "
                    "output_shape = %s (layer \"%s\")", ck_arg_list_fmt(a, sizeof a, in, in_rank),
                    ck_arg_list_fmt(b, sizeof b, r->target.dims, r->target.rank), r->base.name);
}

static ck_status reshape_output_shape(const ck_layer *layer, int n, const ck_shape *in, ck_shape *out)
{
    const ck_reshape_layer *r = (const ck_reshape_layer *)layer;
    char buf[128];
    (void)n;
    if (in[0].rank < 1)
        return ck_error(CK_VALUE_ERROR, "Reshape \"%s\": the input needs a batch dim, got shape %s", layer->name,
                        ck_shape_fmt(buf, sizeof buf, &in[0]));
    ck_shape res = {r->target.rank + 1, {in[0].dims[0]}};
    int partly_unknown = 0;
    for (int i = 1; i < in[0].rank; i++) partly_unknown |= in[0].dims[i] < 0;
    if (partly_unknown) {
        /* tf.keras: the -1 stays unknown (None). */
        for (int i = 0; i < r->target.rank; i++) res.dims[i + 1] = r->target.dims[i];
    } else {
        ck_shape fixed = {0, {0}};
        CK_TRY(fix_unknown(r, in[0].dims + 1, in[0].rank - 1, &fixed));
        for (int i = 0; i < fixed.rank; i++) res.dims[i + 1] = fixed.dims[i];
    }
    *out = res;
    return CK_OK;
}

static ck_status reshape_call(ck_layer *layer, int n, const ck_tensor *const *in, ck_tensor *const *outs)
{
    (void)layer, (void)n;
    ck_arg_copy_data(in[0], outs[0]);
    return CK_OK;
}

/* A reshape only renames the shape: the gradient is dout's data as is. */
static ck_status reshape_backward(ck_layer *layer, const ck_train_ctx *ctx, int n, const ck_tensor *const *in,
                                  const ck_tensor *out, const ck_tensor *dout, void *saved, ck_tensor *const *din)
{
    (void)layer, (void)ctx, (void)n, (void)in, (void)out, (void)saved;
    if (din && din[0]) ck_arg_copy_data(dout, din[0]);
    return CK_OK;
}

static ck_status reshape_get_config(const ck_layer *layer, json_t *c)
{
    const ck_reshape_layer *r = (const ck_reshape_layer *)layer;
    /* The tuple as given: -1 stays -1 (not null). */
    json_t *a = json_array();
    for (int i = 0; a && i < r->target.rank; i++) {
        if (json_array_append_new(a, json_integer(r->target.dims[i])) != 0) {
            json_decref(a);
            a = NULL;
        }
    }
    return ck_json_set(c, "target_shape", a);
}

static ck_status check_target(const ck_shape *t)
{
    char buf[160];
    int unknown = 0;
    if (t->rank < 0 || t->rank + 1 > CK_MAX_RANK)
        return ck_error(CK_VALUE_ERROR, "Reshape: target_shape has rank %d; ckeras supports 0 to %d", t->rank,
                        CK_MAX_RANK - 1);
    for (int i = 0; i < t->rank; i++) {
        if (t->dims[i] < -1)
            return ck_error(CK_VALUE_ERROR, "Reshape: target_shape %s has a negative dim other than -1",
                            ck_arg_list_fmt(buf, sizeof buf, t->dims, t->rank));
        unknown += t->dims[i] == -1;
    }
    if (unknown > 1)
        return ck_error(CK_VALUE_ERROR, "There must be at most one unknown dimension in output_shape. "
                        "Received: output_shape=%s.", ck_arg_list_fmt(buf, sizeof buf, t->dims, t->rank));
    return CK_OK;
}

ck_status ck_reshape(ck_layer **out, const ck_reshape_opts *o)
{
    CK_NEED(out);
    if (!o || o->target_shape.rank < 1)
        return ck_error(CK_VALUE_ERROR, "Reshape: `target_shape` is required (rank >= 1)");
    CK_TRY(check_target(&o->target_shape));
    ck_layer *layer = NULL;
    CK_TRY(CK_ARG_CREATE(&ck_reshape_class, o, &layer));
    ((ck_reshape_layer *)layer)->target = o->target_shape;
    *out = layer;
    return CK_OK;
}

static ck_status reshape_from_config(const json_t *c, ck_layer **out)
{
    static const char *const keys[] = {"target_shape", "input_dtype", NULL};
    const json_t *t = json_object_get(c, "target_shape");
    if (!json_is_array(t))
        return ck_error(CK_TYPE_ERROR, "Reshape config: `target_shape` must be a list of ints");
    size_t n = json_array_size(t);
    if (n + 1 > CK_MAX_RANK)
        return ck_error(CK_VALUE_ERROR, "Reshape config: target_shape has %zu dims; ckeras supports at most %d", n,
                        CK_MAX_RANK - 1);
    ck_shape target = {(int)n, {0}};
    for (size_t i = 0; i < n; i++) {
        const json_t *d = json_array_get(t, i);
        if (!json_is_integer(d))
            return ck_error(CK_TYPE_ERROR, "Reshape config: target_shape entries must be ints");
        target.dims[i] = json_integer_value(d);
    }
    CK_TRY(check_target(&target));
    ck_layer *layer = NULL;
    CK_TRY(ck_layer_create_from_config(&ck_reshape_class, c, keys, &layer));
    ((ck_reshape_layer *)layer)->target = target;
    *out = layer;
    return CK_OK;
}

const ck_layer_class ck_reshape_class = {
    .class_name = "Reshape",
    .size = sizeof(ck_reshape_layer),
    .arity = CK_ONE_INPUT,
    .compute_output_shape = reshape_output_shape,
    .call = reshape_call,
    .backward = reshape_backward,
    .get_config = reshape_get_config,
    .from_config = reshape_from_config,
};
