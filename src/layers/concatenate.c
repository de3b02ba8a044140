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

/* Concatenate.compute_mask: widen each mask to its input's rank (ones for
 * a missing mask, a trailing axis for a mask one rank short), concatenate
 * along the layer's axis, then AND over the last axis. */
static ck_status concatenate_mask(const ck_layer *layer, int n, const ck_tensor *const *in,
                                  const ck_tensor *const *masks, ck_tensor **out)
{
    const ck_concatenate_layer *c = (const ck_concatenate_layer *)layer;
    int any = 0;
    for (int i = 0; masks && i < n; i++) any |= masks[i] != NULL;
    if (!any) {
        *out = NULL;
        return CK_OK;
    }
    ck_tensor *wide[CK_MAX_LAYER_INPUTS] = {NULL};
    ck_shape shapes[CK_MAX_LAYER_INPUTS];
    ck_tensor *cat = NULL, *result = NULL;
    ck_status st = CK_OK;
    for (int i = 0; i < n && st == CK_OK; i++) {
        const ck_tensor *m = masks[i];
        if (!m) {
            st = ck_tensor_new_uninit(&wide[i], CK_INT32, in[i]->rank, in[i]->shape);
            for (int64_t k = 0; st == CK_OK && k < wide[i]->size; k++) ((int32_t *)wide[i]->data)[k] = 1;
        } else {
            int rank = m->rank < in[i]->rank ? m->rank + 1 : m->rank;
            int64_t shape[CK_MAX_RANK];
            for (int d = 0; d < m->rank; d++) shape[d] = m->shape[d];
            if (rank > m->rank) shape[m->rank] = 1;
            st = ck_tensor_new_uninit(&wide[i], CK_INT32, rank, shape);
            for (int64_t k = 0; st == CK_OK && k < m->size; k++)
                ((int32_t *)wide[i]->data)[k] = ck_tensor_get(m, k) != 0;
        }
        if (st == CK_OK) shapes[i] = ck_tensor_shape(wide[i]);
    }
    int axis = 0;
    ck_shape cat_shape;
    if (st == CK_OK) {
        st = check_shapes(layer, n, shapes, &axis);
        if (st != CK_OK) {
            char msg[1024];
            snprintf(msg, sizeof msg, "%s", ck_last_error());
            st = ck_error(st, "Concatenate layer \"%s\": the masks cannot be concatenated: %s", layer->name, msg);
        }
    }
    if (st == CK_OK) st = concatenate_output_shape(layer, n, shapes, &cat_shape);
    if (st == CK_OK) st = ck_tensor_new_uninit(&cat, CK_INT32, cat_shape.rank, cat_shape.dims);
    if (st == CK_OK) {
        concat_into(n, (const ck_tensor *const *)wide, resolve(c->axis, cat_shape.rank), cat);
        int64_t last = cat->shape[cat->rank - 1];
        st = ck_tensor_new_uninit(&result, CK_INT32, cat->rank - 1, cat->shape);
        for (int64_t r = 0; st == CK_OK && r < result->size; r++) {
            int v = 1;
            for (int64_t k = 0; k < last && v; k++) v = ((const int32_t *)cat->data)[r * last + k] != 0;
            ((int32_t *)result->data)[r] = v;
        }
    }
    for (int i = 0; i < n; i++) ck_tensor_free(wide[i]);
    ck_tensor_free(cat);
    if (st != CK_OK) return st;
    *out = result;
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
    .backward = concatenate_backward,
    .get_config = concatenate_get_config,
    .from_config = concatenate_from_config,
};
