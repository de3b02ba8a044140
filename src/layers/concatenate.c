/* keras.layers.Concatenate: joins a list of inputs along one axis.  The
 * copy is a loop of contiguous blocks: for each position before the axis,
 * every input contributes dims[axis] * (product of the dims after it)
 * elements in turn. */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "layers/merge.h"

typedef struct ck_concatenate_layer {
    ck_layer base;
    int axis;
} ck_concatenate_layer;

/* Python list indexing of `axis` for a shape of rank `rank`; -1 if out of
 * range. */
static int resolve(int axis, int rank)
{
    if (axis < -rank || axis >= rank) return -1;
    return axis < 0 ? axis + rank : axis;
}

static ck_status bad_shapes(const ck_layer *layer, int n, const ck_shape *s)
{
    char buf[512];
    return ck_error(CK_VALUE_ERROR, "A `Concatenate` layer requires inputs with matching shapes except for the "
                    "concatenation axis. Received: input_shape=%s (layer \"%s\")",
                    ck_merge_shapes_fmt(buf, sizeof buf, n, s), layer->name);
}

/* Concatenate.build's checks: one rank, the axis in range, and every other
 * dim equal where both are known. */
static ck_status check_shapes(const ck_layer *layer, int n, const ck_shape *s, int *axis_out)
{
    const ck_concatenate_layer *c = (const ck_concatenate_layer *)layer;
    char buf[512];
    if (n < 1)
        return ck_error(CK_VALUE_ERROR, "A `Concatenate` layer should be called on a list of at least 1 input. "
                        "Received: input_shape=[] (layer \"%s\")", layer->name);
    int axis = resolve(c->axis, s[0].rank);
    for (int i = 0; i < n; i++) {
        if (resolve(c->axis, s[i].rank) < 0)
            return ck_error(CK_VALUE_ERROR, "Concatenate layer \"%s\": axis %d is out of range for input %d of "
                            "shape %s (input shapes %s)", layer->name, c->axis, i,
                            ck_shape_fmt(buf, 128, &s[i]), ck_merge_shapes_fmt(buf + 128, sizeof buf - 128, n, s));
        if (s[i].rank != s[0].rank) return bad_shapes(layer, n, s);
    }
    for (int d = 0; d < s[0].rank; d++) {
        if (d == axis) continue;
        int64_t seen = -1;
        for (int i = 0; i < n; i++) {
            int64_t v = s[i].dims[d];
            if (v < 0) continue;
            if (seen >= 0 && v != seen) return bad_shapes(layer, n, s);
            seen = v;
        }
    }
    *axis_out = axis;
    return CK_OK;
}

static ck_status concatenate_build(ck_layer *layer, int n, const ck_shape *s)
{
    int axis;
    return check_shapes(layer, n, s, &axis);
}

static ck_status concatenate_output_shape(const ck_layer *layer, int n, const ck_shape *s, ck_shape *out)
{
    int axis;
    CK_TRY(check_shapes(layer, n, s, &axis));
    ck_shape r = s[0];
    for (int i = 1; i < n; i++) {
        if (r.dims[axis] < 0 || s[i].dims[axis] < 0) {
            r.dims[axis] = -1;
            break;
        }
        r.dims[axis] += s[i].dims[axis];
    }
    *out = r;
    return CK_OK;
}

/* Copies the inputs (all of out's dtype, shapes checked) into out. */
static void concat_into(int n, const ck_tensor *const *in, int axis, ck_tensor *out)
{
    size_t es = ck_dtype_size(out->dtype);
    int64_t outer = 1;
    for (int d = 0; d < axis; d++) outer *= out->shape[d];
    size_t block[CK_MAX_LAYER_INPUTS];
    for (int i = 0; i < n; i++) {
        int64_t b = 1;
        for (int d = axis; d < in[i]->rank; d++) b *= in[i]->shape[d];
        block[i] = (size_t)b * es;
    }
    char *dst = out->data;
    for (int64_t o = 0; o < outer; o++)
        for (int i = 0; i < n; i++) {
            if (block[i] == 0) continue;
            memcpy(dst, (const char *)in[i]->data + (size_t)o * block[i], block[i]);
            dst += block[i];
        }
}

static ck_status concatenate_call(ck_layer *layer, int n, const ck_tensor *const *in, ck_tensor *const *outs)
{
    const ck_concatenate_layer *c = (const ck_concatenate_layer *)layer;
    for (int i = 1; i < n; i++)
        if (in[i]->dtype != in[0]->dtype)
            return ck_error(CK_TYPE_ERROR, "Concatenate layer \"%s\": all inputs must have the same dtype, got %s "
                            "(input 0) and %s (input %d)", layer->name, ck_dtype_name(in[0]->dtype),
                            ck_dtype_name(in[i]->dtype), i);
    concat_into(n, in, resolve(c->axis, in[0]->rank), outs[0]);
    return CK_OK;
}

/* The gradient of concat_into: each input's blocks are copied back out of
 * dout (inputs with no din entry are skipped over). */
static ck_status concatenate_backward(ck_layer *layer, const ck_train_ctx *ctx, int n, const ck_tensor *const *in,
                                      const ck_tensor *out, const ck_tensor *dout, void *saved,
                                      ck_tensor *const *din)
{
    const ck_concatenate_layer *c = (const ck_concatenate_layer *)layer;
    (void)ctx, (void)saved;
    if (!din) return CK_OK;
    int axis = resolve(c->axis, in[0]->rank);
    size_t es = ck_dtype_size(dout->dtype);
    int64_t outer = 1;
    for (int d = 0; d < axis; d++) outer *= out->shape[d];
    size_t block[CK_MAX_LAYER_INPUTS];
    for (int i = 0; i < n; i++) {
        int64_t b = 1;
        for (int d = axis; d < in[i]->rank; d++) b *= in[i]->shape[d];
        block[i] = (size_t)b * es;
    }
    const char *src = dout->data;
    for (int64_t o = 0; o < outer; o++)
        for (int i = 0; i < n; i++) {
            if (din[i] && block[i]) memcpy((char *)din[i]->data + (size_t)o * block[i], src, block[i]);
            src += block[i];
        }
    return CK_OK;
}

/* Concatenate.compute_mask: each mask is widened to its input's rank (all
 * true for an input without one, a trailing axis of 1 for a mask one rank
 * short), the widened masks are concatenated along the layer's axis, then
 * ANDed over the last axis.  So along the time axis the masks are joined,
 * along the last axis they are ANDed; along another axis the widened
 * masks must agree in the other dims, as tf.keras' concat requires. */
static ck_shape widened(const ck_shape *in, const ck_shape *mask)
{
    if (mask->rank < 0) return *in;
    ck_shape w = *mask;
    if (w.rank < in->rank && w.rank < CK_MAX_RANK) w.dims[w.rank++] = 1;
    return w;
}

static ck_status concatenate_mask_shape(const ck_layer *layer, int n, const ck_shape *in, const ck_shape *masks,
                                        ck_shape *out)
{
    ck_shape wide[CK_MAX_LAYER_INPUTS], cat;
    for (int i = 0; i < n; i++) wide[i] = widened(&in[i], &masks[i]);
    ck_status st = concatenate_output_shape(layer, n, wide, &cat);
    if (st != CK_OK) {
        char msg[1024], buf[512];
        snprintf(msg, sizeof msg, "%s", ck_last_error());
        return ck_error(st, "Concatenate layer \"%s\": the input masks cannot be concatenated (widened to %s): %s",
                        layer->name, ck_merge_shapes_fmt(buf, sizeof buf, n, wide), msg);
    }
    *out = cat;
    out->rank--;
    return CK_OK;
}

static ck_shape shape_or_none(const ck_tensor *t) { return t ? ck_tensor_shape(t) : (ck_shape){-1, {0}}; }

/* Writes the mask (of concatenate_mask_shape, allocation-free): walks the
 * concatenated widened masks in order, clearing the output position of
 * every false entry (an input without a mask has none). */
static ck_status concatenate_combine_masks(const ck_layer *layer, int n, const ck_tensor *const *in,
                                           const ck_tensor *const *masks, ck_tensor *out)
{
    const ck_concatenate_layer *c = (const ck_concatenate_layer *)layer;
    ck_shape wide[CK_MAX_LAYER_INPUTS] = {{0, {0}}};
    if (n < 1) return CK_OK;
    for (int i = 0; i < n; i++) {
        ck_shape s = ck_tensor_shape(in[i]), m = shape_or_none(masks[i]);
        wide[i] = widened(&s, &m);
    }
    int rank = wide[0].rank, axis = resolve(c->axis, rank);
    int64_t outer = 1, last = 0;
    for (int d = 0; d < axis; d++) outer *= wide[0].dims[d];
    for (int i = 0; i < n; i++)
        if (axis == rank - 1 || i == 0) last += wide[i].dims[rank - 1];
    int32_t *o = out->data;
    for (int64_t k = 0; k < out->size; k++) o[k] = 1;
    if (last == 0) return CK_OK;
    int64_t pos = 0;
    for (int64_t r = 0; r < outer; r++)
        for (int i = 0; i < n; i++) {
            int64_t block = 1;
            for (int d = axis; d < rank; d++) block *= wide[i].dims[d];
            for (int64_t b = 0; masks[i] && b < block; b++)
                if (ck_tensor_get(masks[i], r * block + b) == 0) o[(pos + b) / last] = 0;
            pos += block;
        }
    return CK_OK;
}

static int concatenate_mask_rule(const ck_layer *layer)
{
    (void)layer;
    return CK_MASK_COMBINE;
}

/* The eager compute_mask: the same mask, allocated. */
static ck_status concatenate_mask(const ck_layer *layer, int n, const ck_tensor *const *in,
                                  const ck_tensor *const *masks, ck_tensor **out)
{
    int any = 0;
    for (int i = 0; masks && i < n; i++) any |= masks[i] != NULL;
    *out = NULL;
    if (!any) return CK_OK;
    ck_shape s[CK_MAX_LAYER_INPUTS], ms[CK_MAX_LAYER_INPUTS], r;
    for (int i = 0; i < n; i++) {
        s[i] = ck_tensor_shape(in[i]);
        ms[i] = shape_or_none(masks[i]);
    }
    CK_TRY(concatenate_mask_shape(layer, n, s, ms, &r));
    ck_tensor *t = NULL;
    CK_TRY(ck_tensor_new_uninit(&t, CK_INT32, r.rank, r.dims));
    concatenate_combine_masks(layer, n, in, masks, t);
    *out = t;
    return CK_OK;
}

static ck_status concatenate_get_config(const ck_layer *layer, json_t *c)
{
    return ck_json_set(c, "axis", json_integer(((const ck_concatenate_layer *)layer)->axis));
}

ck_status ck_concatenate(ck_layer **out, const ck_concatenate_opts *o)
{
    CK_NEED(out);
    static const ck_concatenate_opts defaults;
    if (!o) o = &defaults;
    ck_layer *layer = NULL;
    CK_TRY(CK_ARG_CREATE(&ck_concatenate_class, o, &layer));
    /* An axis beyond int's range can never be valid: keep it out of range
     * so that build reports it. */
    int64_t axis = o->axis.set ? o->axis.value : -1;
    ((ck_concatenate_layer *)layer)->axis = axis < INT_MIN ? INT_MIN : axis > INT_MAX ? INT_MAX : (int)axis;
    *out = layer;
    return CK_OK;
}

static ck_status concatenate_from_config(const json_t *c, ck_layer **out)
{
    static const char *const keys[] = {"axis", "input_dtype", NULL};
    int64_t axis = -1;
    CK_TRY(ck_arg_int(json_object_get(c, "axis"), "Concatenate", "axis", &axis, NULL));
    if (axis < -CK_MAX_RANK * 4 || axis > CK_MAX_RANK * 4)
        return ck_error(CK_VALUE_ERROR, "Concatenate config: axis %lld is out of range", (long long)axis);
    ck_layer *layer = NULL;
    CK_TRY(ck_layer_create_from_config(&ck_concatenate_class, c, keys, &layer));
    ((ck_concatenate_layer *)layer)->axis = (int)axis;
    *out = layer;
    return CK_OK;
}

const ck_layer_class ck_concatenate_class = {
    .class_name = "Concatenate",
    .size = sizeof(ck_concatenate_layer),
    .arity = CK_LIST_OF_INPUTS,
    .min_inputs = 1,
    .max_inputs = CK_MAX_LAYER_INPUTS,
    .supports_masking = 1,
    .build = concatenate_build,
    .call = concatenate_call,
    .compute_output_shape = concatenate_output_shape,
    .compute_mask = concatenate_mask,
    .mask_rule = concatenate_mask_rule,
    .combined_mask_shape = concatenate_mask_shape,
    .combine_masks = concatenate_combine_masks,
    .backward = concatenate_backward,
    .get_config = concatenate_get_config,
    .from_config = concatenate_from_config,
};
