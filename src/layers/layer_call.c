/* The call flow of a layer (tf.keras 2.x Layer.__call__, eager path):
 * input checks, build once, autocast, call, activity loss, mask. */
#include <string.h>

#include "layers/layer.h"

static ck_status check_arity(const ck_layer *layer, int n)
{
    const ck_layer_class *c = layer->cls;
    if (n > CK_MAX_LAYER_INPUTS)
        return ck_error(CK_NOT_IMPLEMENTED, "layer \"%s\" called on %d inputs: ckeras takes at most %d",
                        layer->name, n, CK_MAX_LAYER_INPUTS);
    if (layer->fixed_inputs > 0) {
        if (n != layer->fixed_inputs)
            return ck_error(CK_VALUE_ERROR, "Layer \"%s\" expects %d input(s), but it received %d input tensors",
                            layer->name, layer->fixed_inputs, n);
        return CK_OK;
    }
    if (c->arity == CK_ONE_INPUT) {
        if (n != 1)
            return ck_error(CK_VALUE_ERROR, "Layer \"%s\" expects 1 input, but it received %d input tensors",
                            layer->name, n);
        return CK_OK;
    }
    if (n < c->min_inputs || n > c->max_inputs) {
        if (c->min_inputs == c->max_inputs)
            return ck_error(CK_VALUE_ERROR, "A `%s` layer should be called on a list of %d inputs. Received: %d inputs",
                            c->class_name, c->min_inputs, n);
        return ck_error(CK_VALUE_ERROR, "A `%s` layer should be called on a list of at least %d inputs. Received: %d inputs",
                        c->class_name, c->min_inputs, n);
    }
    return CK_OK;
}

/* Keras' input_spec_compatibility check, with its message. */
static ck_status check_spec(const ck_layer *layer, int index, const ck_shape *s)
{
    const ck_input_spec *spec = &layer->spec;
    char buf[128];
    if (index > 0 && layer->cls->spec_first_input_only) return CK_OK;
    if (spec->ndim && s->rank != spec->ndim)
        return ck_error(CK_VALUE_ERROR, "Input %d of layer \"%s\" is incompatible with the layer: "
                        "expected ndim=%d, found ndim=%d. Full shape received: %s",
                        index, layer->name, spec->ndim, s->rank, ck_shape_fmt(buf, sizeof buf, s));
    if (spec->min_ndim && s->rank < spec->min_ndim)
        return ck_error(CK_VALUE_ERROR, "Input %d of layer \"%s\" is incompatible with the layer: "
                        "expected min_ndim=%d, found ndim=%d. Full shape received: %s",
                        index, layer->name, spec->min_ndim, s->rank, ck_shape_fmt(buf, sizeof buf, s));
    if (spec->max_ndim && s->rank > spec->max_ndim)
        return ck_error(CK_VALUE_ERROR, "Input %d of layer \"%s\" is incompatible with the layer: "
                        "expected max_ndim=%d, found ndim=%d. Full shape received: %s",
                        index, layer->name, spec->max_ndim, s->rank, ck_shape_fmt(buf, sizeof buf, s));
    if (spec->has_last_dim && s->rank > 0) {
        int64_t d = s->dims[s->rank - 1];
        if (d >= 0 && d != spec->last_dim)
            return ck_error(CK_VALUE_ERROR, "Input %d of layer \"%s\" is incompatible with the layer: "
                            "expected axis -1 of input shape to have value %lld, but received input with shape %s",
                            index, layer->name, (long long)spec->last_dim, ck_shape_fmt(buf, sizeof buf, s));
    }
    return CK_OK;
}

ck_status ck_layer_check_inputs(const ck_layer *layer, int n, const ck_shape *shapes)
{
    CK_TRY(check_arity(layer, n));
    if (layer->cls->arity == CK_ONE_INPUT || layer->built)
        for (int i = 0; i < n; i++) CK_TRY(check_spec(layer, i, &shapes[i]));
    return CK_OK;
}

ck_status ck_layer_build(ck_layer *layer, int n, const ck_shape *shapes)
{
    CK_NEED(layer);
    CK_NEED(shapes);
    if (layer->built) return CK_OK;
    if (n < 1 || n > CK_MAX_LAYER_INPUTS || !shapes)
        return ck_error(CK_VALUE_ERROR, "layer \"%s\": build expects 1 to %d input shapes, got %d", layer->name,
                        CK_MAX_LAYER_INPUTS, n);
    ck_shape *recorded = ck_malloc((size_t)n * sizeof *recorded);
    if (!recorded) return ck_oom("the build shapes");
    if (layer->cls->arity == CK_ONE_INPUT) {
        for (int i = 0; i < n; i++) {
            ck_status st = check_spec(layer, i, &shapes[i]);
            if (st != CK_OK) {
                ck_free(recorded);
                return st;
            }
        }
    }
    int keep = layer->n_weights;
    ck_input_spec saved = layer->spec;
    if (layer->cls->build) {
        ck_status st = layer->cls->build(layer, n, shapes);
        if (st != CK_OK) {
            ck_layer_drop_weights_from(layer, keep);
            layer->spec = saved;
            ck_free(recorded);
            return st;
        }
    }
    if (layer->initial_weights) {
        /* Keras applies weights= with set_weights right after the first
         * build; if they do not fit, the build is undone. */
        ck_status st = ck_layer_set_weights(layer, layer->n_initial_weights, layer->initial_weights);
        if (st != CK_OK) {
            ck_layer_drop_weights_from(layer, keep);
            layer->spec = saved;
            ck_free(recorded);
            return st;
        }
        ck_tensors_free(layer->initial_weights, layer->n_initial_weights);
        layer->initial_weights = NULL;
        layer->n_initial_weights = 0;
    }
    for (int i = 0; i < n; i++) recorded[i] = shapes[i];
    ck_free(layer->build_shapes);
    layer->build_shapes = recorded;
    layer->n_build_shapes = n;
    layer->built = 1;
    return CK_OK;
}

ck_status ck_layer_set_initial_weights(ck_layer *layer, int n, ck_tensor *const *values)
{
    CK_NEED(layer);
    if (n < 0 || (n > 0 && !values)) return ck_error(CK_VALUE_ERROR, "layer \"%s\": bad initial weights", layer->name);
    if (layer->built) return ck_layer_set_weights(layer, n, values);
    ck_tensor **copies = ck_calloc((size_t)(n ? n : 1), sizeof *copies);
    if (!copies) return ck_oom("initial weights");
    for (int i = 0; i < n; i++) {
        ck_status st = values[i] ? ck_tensor_copy(&copies[i], values[i])
                                 : ck_error(CK_VALUE_ERROR, "layer \"%s\": initial weight %d is NULL", layer->name, i);
        if (st != CK_OK) {
            ck_tensors_free(copies, i);
            return st;
        }
    }
    ck_tensors_free(layer->initial_weights, layer->n_initial_weights);
    layer->initial_weights = copies;
    layer->n_initial_weights = n;
    return CK_OK;
}

int ck_layer_outputs_of(const ck_layer *layer)
{
    return layer->cls->output_count ? layer->cls->output_count(layer) : 1;
}

void ck_layer_output_dtypes_of(const ck_layer *layer, int n, const ck_dtype *in, ck_dtype *out)
{
    if (layer->cls->output_dtypes) {
        layer->cls->output_dtypes(layer, n, in, out);
        return;
    }
    ck_dtype dt = ck_layer_output_dtype(layer, n, in);
    for (int k = 0; k < ck_layer_outputs_of(layer); k++) out[k] = dt;
}

ck_status ck_layer_output_shapes_of(const ck_layer *layer, int n, const ck_shape *in, ck_shape *out)
{
    int count = ck_layer_outputs_of(layer);
    if (count < 1 || count > CK_MAX_LAYER_OUTPUTS)
        return ck_error(CK_NOT_IMPLEMENTED, "layer \"%s\" returns %d outputs: ckeras takes 1 to %d", layer->name,
                        count, CK_MAX_LAYER_OUTPUTS);
    return layer->cls->compute_output_shape(layer, n, in, out);
}

ck_status ck_layer_compute_output_shape(const ck_layer *layer, int n, const ck_shape *in, ck_shape *out)
{
    CK_NEED(layer);
    CK_NEED(in);
    CK_NEED(out);
    if (!in || n < 1) return ck_error(CK_VALUE_ERROR, "layer \"%s\": no input shapes given", layer->name);
    ck_shape result[CK_MAX_LAYER_OUTPUTS];
    CK_TRY(ck_layer_output_shapes_of(layer, n, in, result));
    *out = result[0];
    return CK_OK;
}

ck_status ck_layer_compute_output_shapes(const ck_layer *layer, int n_inputs, const ck_shape *in, int max,
                                         ck_shape *out, int *n_outputs)
{
    CK_NEED(layer);
    CK_NEED(in);
    CK_NEED(out);
    CK_NEED(n_outputs);
    if (n_inputs < 1) return ck_error(CK_VALUE_ERROR, "layer \"%s\": no input shapes given", layer->name);
    ck_shape result[CK_MAX_LAYER_OUTPUTS];
    CK_TRY(ck_layer_output_shapes_of(layer, n_inputs, in, result));
    int count = ck_layer_outputs_of(layer);
    if (count > max)
        return ck_error(CK_VALUE_ERROR, "layer \"%s\" has %d outputs: they do not fit in an array of %d", layer->name,
                        count, max);
    for (int k = 0; k < count; k++) out[k] = result[k];
    *n_outputs = count;
    return CK_OK;
}

int ck_layer_output_count(const ck_layer *layer)
{
    CK_NEED_OR(layer, 0);
    return ck_layer_outputs_of(layer);
}

/* compute_mask on the tensors the class sees. */
static ck_status compute_mask(const ck_layer *layer, int n, const ck_tensor *const *inputs,
                              const ck_tensor *const *masks, ck_tensor **out_mask)
{
    if (layer->cls->compute_mask) return layer->cls->compute_mask(layer, n, inputs, masks, out_mask);
    if (!masks || !masks[0]) {
        *out_mask = NULL;
        return CK_OK;
    }
    if (!layer->cls->supports_masking)
        return ck_error(CK_TYPE_ERROR, "Layer %s does not support masking, but was passed an input_mask",
                        layer->name);
    /* supports_masking: the mask passes through unchanged (a copy the
     * caller owns). */
    return ck_tensor_copy(out_mask, masks[0]);
}

ck_status ck_layer_compute_mask(const ck_layer *layer, int n, ck_tensor *const *inputs, ck_tensor *const *masks,
                                ck_tensor **out_mask)
{
    CK_NEED(layer);
    CK_NEED(inputs);
    CK_NEED(out_mask);
    return compute_mask(layer, n, ck_const_tensors(inputs), ck_const_tensors(masks), out_mask);
}

/* Checks the inputs, builds once, casts; fills `cast` (owned copies, NULL
 * where the input is used as it is) and `use` (what the class sees). */
static ck_status prepare_inputs(ck_layer *layer, int n, const ck_tensor *const *inputs,
                                ck_tensor **cast, const ck_tensor **use, ck_shape *shapes)
{
    if (!inputs) return ck_error(CK_VALUE_ERROR, "layer \"%s\": inputs is NULL", layer->name);
    CK_TRY(check_arity(layer, n));
    for (int i = 0; i < n; i++) {
        if (!inputs[i] || !inputs[i]->data)
            return ck_error(CK_VALUE_ERROR, "layer \"%s\": input %d has no data (apply a layer to symbolic "
                            "tensors with ck_layer_apply)", layer->name, i);
        shapes[i] = ck_tensor_shape(inputs[i]);
        if (layer->cls->arity == CK_ONE_INPUT || layer->built) CK_TRY(check_spec(layer, i, &shapes[i]));
    }
    CK_TRY(ck_layer_build(layer, n, shapes));
    for (int i = 0; i < n; i++) {
        cast[i] = NULL;
        use[i] = inputs[i];
        int floating = ck_dtype_is_floating(inputs[i]->dtype);
        if (!layer->cls->no_autocast && inputs[i]->dtype != layer->dtype && (floating || layer->cls->cast_all_inputs)) {
            ck_status st = ck_tensor_cast(&cast[i], inputs[i], layer->dtype);
            if (st != CK_OK) {
                for (int j = 0; j < i; j++) ck_tensor_free(cast[j]);
                return st;
            }
            use[i] = cast[i];
        }
    }
    return CK_OK;
}

ck_status ck_layer_record_activity_loss(ck_layer *layer, const ck_tensor *output)
{
    layer->n_activity_losses = 0;
    if (!layer->activity_regularizer) return CK_OK;
    double loss;
    CK_TRY(ck_regularizer_loss(layer->activity_regularizer, output, &loss));
    /* tf.keras 2.x divides by the batch size (divide_no_nan: 0 for an
     * empty batch). */
    int64_t batch = output->rank > 0 ? output->shape[0] : 1;
    layer->activity_loss = batch > 0 ? loss / (double)batch : 0.0;
    layer->n_activity_losses = 1;
    return CK_OK;
}

ck_dtype ck_layer_output_dtype(const ck_layer *layer, int n, const ck_dtype *in)
{
    if (layer->cls->output_dtype) return layer->cls->output_dtype(layer, n, in);
    if (layer->cls->cast_all_inputs || ck_dtype_is_floating(in[0])) return layer->dtype;
    return in[0];
}

/* The output shapes and dtypes for inputs `use` of shapes `in` (those
 * prepare_inputs took: a cast keeps its input's shape). */
static ck_status output_spec(ck_layer *layer, int n, const ck_tensor *const *use, const ck_shape *in,
                             ck_shape *shapes, ck_dtype *dtypes)
{
    ck_dtype dt[CK_MAX_LAYER_INPUTS];
    for (int i = 0; i < n; i++) dt[i] = use[i]->dtype;
    CK_TRY(ck_layer_output_shapes_of(layer, n, in, shapes));
    ck_layer_output_dtypes_of(layer, n, dt, dtypes);
    return CK_OK;
}

static void free_casts(ck_tensor **cast, int n)
{
    for (int i = 0; i < n; i++) ck_tensor_free(cast[i]);
}

size_t ck_layer_call_scratch_bytes(const ck_layer *layer, int n, const ck_shape *in, const ck_shape *out)
{
    if (!layer->cls->call_scratch_bytes) return 0;
    size_t b = layer->cls->call_scratch_bytes(layer, n, in, out);
    return (b + 63) / 64 * 64;
}

ck_status ck_layer_call_own_scratch(ck_layer *layer, int n, const ck_tensor *const *in, ck_tensor *const *out)
{
    ck_shape shapes[CK_MAX_LAYER_INPUTS];
    for (int i = 0; i < n; i++) shapes[i] = ck_tensor_shape(in[i]);
    ck_shape os[CK_MAX_LAYER_OUTPUTS];
    int count = ck_layer_outputs_of(layer);
    for (int k = 0; k < count && k < CK_MAX_LAYER_OUTPUTS; k++) os[k] = ck_tensor_shape(out[k]);
    size_t bytes = ck_layer_call_scratch_bytes(layer, n, shapes, os);
    void *scratch = bytes ? ck_malloc(bytes) : NULL;
    if (bytes && !scratch) return ck_oom("a layer's call scratch");
    ck_status st = layer->cls->call_scratch(layer, n, in, out, scratch);
    ck_free(scratch);
    return st;
}

/* Whether prepare_inputs casts an input of dtype `dt` to the layer's. */
static int casts_input(const ck_layer *layer, ck_dtype dt)
{
    return !layer->cls->no_autocast && dt != layer->dtype && (ck_dtype_is_floating(dt) || layer->cls->cast_all_inputs);
}

size_t ck_layer_cast_scratch_bytes(const ck_layer *layer, int n, const ck_dtype *dtypes, const ck_shape *in)
{
    size_t bytes = 0;
    for (int i = 0; i < n; i++) {
        if (!casts_input(layer, dtypes[i])) continue;
        size_t count = 1;
        for (int d = 0; d < in[i].rank; d++) count *= in[i].dims[d] > 0 ? (size_t)in[i].dims[d] : 0;
        bytes += (count * ck_dtype_size(layer->dtype) + 63) / 64 * 64;
    }
    return bytes;
}

/* dst[i] = (dst type)src[i] for the four dtypes, without allocating. */
static void convert_values(const void *src, ck_dtype from, void *dst, ck_dtype to, int64_t n)
{
#define CK_CONVERT_TO(T_OUT)                                                                   \
    do {                                                                                       \
        T_OUT *o = dst;                                                                        \
        switch (from) {                                                                        \
        case CK_FLOAT32: for (int64_t i = 0; i < n; i++) o[i] = (T_OUT)((const float *)src)[i]; break;   \
        case CK_FLOAT64: for (int64_t i = 0; i < n; i++) o[i] = (T_OUT)((const double *)src)[i]; break;  \
        case CK_INT32: for (int64_t i = 0; i < n; i++) o[i] = (T_OUT)((const int32_t *)src)[i]; break;   \
        case CK_INT64: for (int64_t i = 0; i < n; i++) o[i] = (T_OUT)((const int64_t *)src)[i]; break;   \
        }                                                                                      \
    } while (0)
    switch (to) {
    case CK_FLOAT32: CK_CONVERT_TO(float); break;
    case CK_FLOAT64: CK_CONVERT_TO(double); break;
    case CK_INT32: CK_CONVERT_TO(int32_t); break;
    case CK_INT64: CK_CONVERT_TO(int64_t); break;
    }
#undef CK_CONVERT_TO
}

/* The checks of prepare_inputs for a planned call, with its casts made
 * into the front of the scratch (ck_layer_cast_scratch_bytes): `use`
 * receives the inputs to call with, *rest the scratch after the casts. */
static ck_status planned_inputs(ck_layer *layer, int n, const ck_tensor *const *inputs, const ck_tensor **use,
                                ck_tensor *casts, void *scratch, void **rest)
{
    if (n > CK_MAX_LAYER_INPUTS) return check_arity(layer, n);
    if (!inputs) return ck_error(CK_VALUE_ERROR, "layer \"%s\": inputs is NULL", layer->name);
    /* The output shape was checked when the plan was made. */
    ck_shape shapes[CK_MAX_LAYER_INPUTS];
    for (int i = 0; i < n; i++) {
        if (!inputs[i] || !inputs[i]->data)
            return ck_error(CK_VALUE_ERROR, "layer \"%s\": input %d has no data", layer->name, i);
        shapes[i] = ck_tensor_shape(inputs[i]);
    }
    CK_TRY(ck_layer_check_inputs(layer, n, shapes));
    CK_TRY(ck_layer_build(layer, n, shapes));
    char *at = scratch;
    for (int i = 0; i < n; i++) {
        use[i] = inputs[i];
        if (!casts_input(layer, inputs[i]->dtype)) continue;
        if (!at) return ck_oom("a planned call's input casts");
        casts[i] = *inputs[i];
        casts[i].dtype = layer->dtype;
        casts[i].data = at;
        casts[i].owns_data = 0;
        casts[i].keras_history = NULL;
        convert_values(inputs[i]->data, inputs[i]->dtype, at, layer->dtype, inputs[i]->size);
        at += ((size_t)inputs[i]->size * ck_dtype_size(layer->dtype) + 63) / 64 * 64;
        use[i] = &casts[i];
    }
    *rest = at;
    return CK_OK;
}

ck_status ck_layer_call_planned(ck_layer *layer, int n, const ck_tensor *const *inputs,
                                ck_tensor *const *outputs, void *scratch)
{
    const ck_tensor *use[CK_MAX_LAYER_INPUTS];
    ck_tensor casts[CK_MAX_LAYER_INPUTS];
    void *at = NULL;
    CK_TRY(planned_inputs(layer, n, inputs, use, casts, scratch, &at));
    return layer->cls->call_scratch ? layer->cls->call_scratch(layer, n, use, outputs, at)
                                    : layer->cls->call(layer, n, use, outputs);
}

/* The eager call: every output (new tensors) and, when `out_masks` is
 * given, the output masks. */
static ck_status call_eager(ck_layer *layer, int n, ck_tensor *const *inputs, ck_tensor *const *masks,
                            ck_tensor **outputs, ck_tensor **out_masks, int *n_out)
{
    ck_tensor *cast[CK_MAX_LAYER_INPUTS]; /* prepare_inputs sets the first n */
    const ck_tensor *use[CK_MAX_LAYER_INPUTS];
    ck_shape shapes[CK_MAX_LAYER_INPUTS], oshapes[CK_MAX_LAYER_OUTPUTS];
    ck_dtype odtypes[CK_MAX_LAYER_OUTPUTS];
    ck_tensor *outs[CK_MAX_LAYER_OUTPUTS] = {NULL}, *mask = NULL;
    if (n > CK_MAX_LAYER_INPUTS) return check_arity(layer, n);
    CK_TRY(prepare_inputs(layer, n, ck_const_tensors(inputs), cast, use, shapes));
    int count = 0;
    ck_status st = output_spec(layer, n, use, shapes, oshapes, odtypes);
    if (st == CK_OK) count = ck_layer_outputs_of(layer);
    for (int k = 0; st == CK_OK && k < count; k++)
        st = ck_tensor_new_uninit(&outs[k], odtypes[k], oshapes[k].rank, oshapes[k].dims);
    int any_mask = 0;
    for (int i = 0; masks && i < n; i++) any_mask |= masks[i] != NULL;
    if (st == CK_OK && any_mask && layer->cls->call_masks) {
        /* A class that reads several inputs' masks (the attention layers). */
        size_t bytes = ck_layer_call_scratch_bytes(layer, n, shapes, oshapes);
        void *scratch = bytes ? ck_malloc(bytes) : NULL;
        st = bytes && !scratch ? ck_oom("a layer's call scratch")
                               : layer->cls->call_masks(layer, n, use, ck_const_tensors(masks), outs, scratch);
        ck_free(scratch);
    } else if (st == CK_OK && masks && masks[0] && layer->cls->call_masked) {
        /* A class that reads masks (the recurrent layers) gets input 0's. */
        size_t bytes = ck_layer_call_scratch_bytes(layer, n, shapes, oshapes);
        void *scratch = bytes ? ck_malloc(bytes) : NULL;
        st = bytes && !scratch ? ck_oom("a layer's call scratch")
                               : layer->cls->call_masked(layer, n, use, masks[0], outs, scratch);
        ck_free(scratch);
    } else if (st == CK_OK) {
        st = layer->cls->call(layer, n, use, outs);
    }
    if (st == CK_OK) st = ck_layer_record_activity_loss(layer, outs[0]);
    if (st == CK_OK && out_masks) st = compute_mask(layer, n, use, ck_const_tensors(masks), &mask);
    free_casts(cast, n);
    if (st != CK_OK) {
        for (int k = 0; k < count; k++) ck_tensor_free(outs[k]);
        return st;
    }
    for (int k = 0; k < count; k++) outputs[k] = outs[k];
    if (out_masks) out_masks[0] = mask;
    *n_out = count;
    return CK_OK;
}

ck_status ck_layer_call_planned_masked(ck_layer *layer, int n, const ck_tensor *const *inputs,
                                       const ck_tensor *mask, ck_tensor *const *outputs, void *scratch)
{
    ck_tensor *cast[CK_MAX_LAYER_INPUTS]; /* prepare_inputs sets the first n */
    const ck_tensor *use[CK_MAX_LAYER_INPUTS];
    ck_shape shapes[CK_MAX_LAYER_INPUTS];
    if (n > CK_MAX_LAYER_INPUTS) return check_arity(layer, n);
    CK_TRY(prepare_inputs(layer, n, inputs, cast, use, shapes));
    ck_status st = layer->cls->call_masked(layer, n, use, mask, outputs, scratch);
    free_casts(cast, n);
    return st;
}

ck_status ck_layer_call_planned_masks(ck_layer *layer, int n, const ck_tensor *const *inputs,
                                      const ck_tensor *const *masks, ck_tensor *const *outputs, void *scratch)
{
    const ck_tensor *use[CK_MAX_LAYER_INPUTS];
    ck_tensor casts[CK_MAX_LAYER_INPUTS];
    void *at = NULL;
    CK_TRY(planned_inputs(layer, n, inputs, use, casts, scratch, &at));
    return layer->cls->call_masks(layer, n, use, masks, outputs, at);
}

ck_status ck_layer_call_masked(ck_layer *layer, int n, ck_tensor *const *inputs, ck_tensor *const *masks,
                               ck_tensor **outputs, ck_tensor **out_masks)
{
    CK_NEED(layer);
    CK_NEED(inputs);
    CK_NEED(outputs);
    ck_tensor *outs[CK_MAX_LAYER_OUTPUTS];
    int count = 0;
    CK_TRY(call_eager(layer, n, inputs, masks, outs, out_masks, &count));
    /* One output wanted: the others (a layer with several) are dropped. */
    for (int k = 1; k < count; k++) ck_tensor_free(outs[k]);
    outputs[0] = outs[0];
    return CK_OK;
}

ck_status ck_layer_call(ck_layer *layer, int n, ck_tensor *const *inputs, ck_tensor **outputs)
{
    CK_NEED(layer);
    CK_NEED(inputs);
    CK_NEED(outputs);
    return ck_layer_call_masked(layer, n, inputs, NULL, outputs, NULL);
}

ck_status ck_layer_call_multi(ck_layer *layer, int n_inputs, ck_tensor *const *inputs, int max,
                              ck_tensor **outputs, int *n_outputs)
{
    CK_NEED(layer);
    CK_NEED(inputs);
    CK_NEED(outputs);
    CK_NEED(n_outputs);
    int count = ck_layer_outputs_of(layer);
    if (count > max)
        return ck_error(CK_VALUE_ERROR, "layer \"%s\" returns %d outputs: they do not fit in an array of %d",
                        layer->name, count, max);
    return call_eager(layer, n_inputs, inputs, NULL, outputs, NULL, n_outputs);
}

/* Whether a call of `in` into `out` is the memo's (see ck_call_memo). */
static int memo_matches(const ck_call_memo *m, const ck_tensor *in, const ck_tensor *out)
{
    if (!m->valid || !in || !in->data || in->dtype != m->in_dtype || in->rank != m->in.rank ||
        out->dtype != m->out_dtype || out->rank != m->out.rank)
        return 0;
    for (int i = 0; i < m->in.rank; i++)
        if (in->shape[i] != m->in.dims[i]) return 0;
    for (int i = 0; i < m->out.rank; i++)
        if (out->shape[i] != m->out.dims[i]) return 0;
    return 1;
}

ck_status ck_layer_call_into(ck_layer *layer, int n, ck_tensor *const *inputs, ck_tensor *const *outputs)
{
    CK_NEED(layer);
    CK_NEED(inputs);
    CK_NEED(outputs);
    ck_tensor *cast[CK_MAX_LAYER_INPUTS]; /* prepare_inputs sets the first n */
    const ck_tensor *use[CK_MAX_LAYER_INPUTS];
    ck_shape shapes[CK_MAX_LAYER_INPUTS], oshapes[CK_MAX_LAYER_OUTPUTS];
    ck_dtype odtypes[CK_MAX_LAYER_OUTPUTS];
    char a[128], b[128];
    if (n == 1 && outputs[0] && outputs[0]->data && memo_matches(&layer->last_call, inputs[0], outputs[0])) {
        ck_status st = layer->cls->call(layer, 1, ck_const_tensors(inputs), outputs);
        return st == CK_OK ? ck_layer_record_activity_loss(layer, outputs[0]) : st;
    }
    int count = ck_layer_outputs_of(layer);
    for (int k = 0; k < count; k++)
        if (!outputs || !outputs[k] || !outputs[k]->data)
            return ck_error(CK_VALUE_ERROR, "layer \"%s\": no output tensor %d given", layer->name, k);
    if (n > CK_MAX_LAYER_INPUTS) return check_arity(layer, n);
    CK_TRY(prepare_inputs(layer, n, ck_const_tensors(inputs), cast, use, shapes));
    ck_status st = output_spec(layer, n, use, shapes, oshapes, odtypes);
    for (int k = 0; st == CK_OK && k < count; k++) {
        ck_shape given = ck_tensor_shape(outputs[k]);
        int same = given.rank == oshapes[k].rank && outputs[k]->dtype == odtypes[k];
        for (int i = 0; same && i < given.rank; i++) same = given.dims[i] == oshapes[k].dims[i];
        if (!same)
            st = ck_error(CK_VALUE_ERROR, "layer \"%s\": output tensor %d is %s %s, expected %s %s", layer->name, k,
                          ck_dtype_name(outputs[k]->dtype), ck_shape_fmt(a, sizeof a, &given),
                          ck_dtype_name(odtypes[k]), ck_shape_fmt(b, sizeof b, &oshapes[k]));
    }
    if (st == CK_OK) st = layer->cls->call(layer, n, use, outputs);
    if (st == CK_OK) st = ck_layer_record_activity_loss(layer, outputs[0]);
    if (st == CK_OK && n == 1 && count == 1 && !cast[0] && !layer->cls->shapes_from_user_code)
        layer->last_call = (ck_call_memo){.valid = 1, .in_dtype = inputs[0]->dtype, .out_dtype = odtypes[0],
                                          .in = shapes[0], .out = oshapes[0]};
    free_casts(cast, n);
    return st;
}
