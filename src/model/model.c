/* The model as a layer (class "Functional" / "Sequential") and the public
 * model API: construction, layers, weights, predict. */
#include <stdio.h>
#include <string.h>

#include "model/model.h"

static int model_sublayer_count(const ck_layer *layer) { return ((const ck_model *)layer)->n_layers; }

static ck_layer *model_sublayer(const ck_layer *layer, int i) { return ((const ck_model *)layer)->layers[i]; }

static ck_status model_output_shape(const ck_layer *layer, int n, const ck_shape *in, ck_shape *out)
{
    const ck_model *m = (const ck_model *)layer;
    /* A model nested in a nested model is asked for its shape on every
     * call of the middle one (which infers its shapes in its scratch):
     * small graphs use the stack, so that predicting allocates nothing. */
    ck_shape local[48] = {{0}};
    ck_shape *slots = m->n_slots <= 48 ? local : ck_calloc((size_t)m->n_slots, sizeof *slots);
    if (!slots) return ck_oom("shape inference");
    ck_status st = ck_model_infer_shapes(m, n, in, slots);
    for (int o = 0; st == CK_OK && o < m->n_outputs; o++) out[o] = slots[m->output_slots[o]];
    if (slots != local) ck_free(slots);
    return st;
}

static ck_dtype model_output_dtype(const ck_layer *layer, int n, const ck_dtype *in)
{
    (void)n, (void)in;
    return ((const ck_model *)layer)->outputs[0]->dtype;
}

/* A nested model's output 0 carries the mask of its input 0 when its
 * graph passes that mask through (Keras runs the nested graph on the
 * masks it is called with: LSTM(return_sequences), Dense, ... pass it).
 * A mask the nested graph makes itself is not given out (NONE). */
static int model_mask_rule(const ck_layer *layer)
{
    const ck_model *m = (const ck_model *)layer;
    return m->fed_mask_ok && m->fed_out_mask0 == m->n_slots ? CK_MASK_PASS : CK_MASK_NONE;
}

static int model_output_count(const ck_layer *layer) { return ((const ck_model *)layer)->n_outputs; }

static void model_output_dtypes(const ck_layer *layer, int n, const ck_dtype *in, ck_dtype *out)
{
    const ck_model *m = (const ck_model *)layer;
    (void)n, (void)in;
    for (int o = 0; o < m->n_outputs; o++) out[o] = m->outputs[o]->dtype;
}

/* A nested model called by an outer graph runs inside the caller's plan:
 * its scratch holds the shapes and tensor headers of its values, every
 * computed value (64-aligned, no sharing: nested graphs are small), then
 * the widest of its own steps' scratch.  The nested model itself is only
 * read, so predictors of the outer model can run it at once, and a model
 * used twice in one graph gets two scratch regions. */
static size_t round64(size_t b) { return (b + 63) / 64 * 64; }

static size_t nested_layout(const ck_model *m, const ck_shape *slot_shapes, size_t *values_off, size_t *scratch_off)
{
    /* One more view than slots: a fed mask (slot n_slots). */
    size_t off = round64((size_t)m->n_slots * sizeof(ck_shape)) + round64((size_t)(m->n_slots + 1) * sizeof(ck_tensor));
    size_t widest = 0;
    ck_shape ins[CK_MAX_LAYER_INPUTS];
    if (values_off) *values_off = off;
    for (int s = 0; s < m->n_steps; s++) {
        const ck_step *step = &m->steps[s];
        const ck_shape *os = &slot_shapes[step->out_slot];
        for (int k = 0; k < step->n_out + step->made_mask; k++) {
            int slot = k < step->n_out ? step->out_slot + k : step->out_masks[0];
            size_t count = 1;
            for (int d = 0; d < slot_shapes[slot].rank; d++)
                count *= slot_shapes[slot].dims[d] > 0 ? (size_t)slot_shapes[slot].dims[d] : 0;
            off += round64(count * ck_dtype_size(m->slot_tensors[slot]->dtype));
        }
        ck_dtype dts[CK_MAX_LAYER_INPUTS];
        for (int k = 0; k < step->n_in; k++) {
            ins[k] = slot_shapes[step->in_slots[k]];
            dts[k] = m->slot_tensors[step->in_slots[k]]->dtype;
        }
        size_t b = ck_layer_cast_scratch_bytes(step->node->layer, step->n_in, dts, ins) +
                   ck_layer_call_scratch_bytes(step->node->layer, step->n_in, ins, os);
        if (b > widest) widest = b;
    }
    if (scratch_off) *scratch_off = off;
    /* then the memory of the fused steps (fuse.c) */
    return off + round64(widest) + ck_fuse_nested_bytes(m);
}

size_t ck_model_call_scratch_bytes(const ck_layer *layer, int n, const ck_shape *in, const ck_shape *out)
{
    const ck_model *m = (const ck_model *)layer;
    (void)out;
    ck_shape *slots = ck_calloc((size_t)m->n_slots, sizeof *slots);
    if (!slots) return 0; /* the call then reports the missing scratch */
    size_t bytes = ck_model_infer_shapes(m, n, in, slots) == CK_OK ? nested_layout(m, slots, NULL, NULL) : 0;
    ck_free(slots);
    return bytes;
}

ck_status ck_model_call_scratch(ck_layer *layer, int n, const ck_tensor *const *in, ck_tensor *const *out,
                                void *scratch)
{
    return ck_model_call_masked(layer, n, in, NULL, out, scratch);
}

ck_status ck_model_call_masked(ck_layer *layer, int n, const ck_tensor *const *in, const ck_tensor *mask,
                               ck_tensor *const *out, void *scratch)
{
    ck_model *m = (ck_model *)layer;
    int fed = ck_model_feeds_mask(m, mask);
    ck_shape shapes[CK_MAX_LAYER_INPUTS];
    if (!scratch) return ck_oom("a nested model's values");
    for (int i = 0; i < n; i++) shapes[i] = ck_tensor_shape(in[i]);
    ck_shape *slot_shapes = scratch;
    ck_tensor *views = (ck_tensor *)((char *)scratch + round64((size_t)m->n_slots * sizeof(ck_shape)));
    CK_TRY(ck_model_infer_shapes(m, n, shapes, slot_shapes));
    size_t off, scratch_off;
    size_t total = nested_layout(m, slot_shapes, &off, &scratch_off);
    void *fuse_mem = (char *)scratch + total - ck_fuse_nested_bytes(m);
    for (int i = 0; i < m->n_inputs; i++) {
        views[m->input_slots[i]] = *in[i];
        views[m->input_slots[i]].owns_data = 0;
        views[m->input_slots[i]].keras_history = NULL;
    }
    if (fed) {
        views[m->n_slots] = *mask;
        views[m->n_slots].owns_data = 0;
        views[m->n_slots].keras_history = NULL;
    }
    for (int s = 0; s < m->n_steps; s++) {
        for (int k = 0; k < m->steps[s].n_out + m->steps[s].made_mask; k++) {
            int slot = k < m->steps[s].n_out ? m->steps[s].out_slot + k : m->steps[s].out_masks[0];
            const ck_shape *os = &slot_shapes[slot];
            ck_tensor *v = &views[slot];
            *v = (ck_tensor){.dtype = m->slot_tensors[slot]->dtype, .rank = os->rank, .size = 1,
                             .data = (char *)scratch + off};
            for (int d = 0; d < os->rank; d++) {
                v->shape[d] = os->dims[d];
                v->size *= os->dims[d];
            }
            off += round64((size_t)v->size * ck_dtype_size(v->dtype));
        }
    }
    /* An output that a step computes is written straight into the
     * caller's buffer (which shares no memory with the inputs), not copied
     * there at the end; unless it is also an input or an earlier output,
     * or a step turns it into a view of another slot (a fused alias). */
    for (int o = 0; o < m->n_outputs; o++) {
        const int slot = m->output_slots[o];
        int direct = out[o]->data && out[o]->size == views[slot].size && out[o]->dtype == views[slot].dtype;
        for (int i = 0; i < m->n_inputs; i++) direct &= m->input_slots[i] != slot;
        for (int q = 0; q < o; q++) direct &= m->output_slots[q] != slot;
        if (direct) views[slot].data = out[o]->data;
    }
    const ck_tensor *args[CK_MAX_LAYER_INPUTS];
    ck_tensor *outs[CK_MAX_LAYER_OUTPUTS];
    for (int s = 0; s < m->n_steps; s++) {
        const ck_step *step = &m->steps[s];
        for (int k = 0; k < step->n_in; k++) args[k] = &views[step->in_slots[k]];
        for (int k = 0; k < step->n_out; k++) outs[k] = &views[step->out_slot + k];
        void *own = (char *)scratch + scratch_off;
        int mask_in = ck_step_mask_in_flow(step, fed), fused;
        const int *in_masks = ck_step_in_masks(step, fed);
        /* (the fusable steps, Dense, BatchNormalization, Dropout and
         * Reshape, make no mask and read none) */
        CK_TRY(ck_fuse_nested_step(m, s, slot_shapes, views, fuse_mem, &fused));
        if (fused) continue;
        if (mask_in >= 0)
            CK_TRY(ck_layer_call_planned_masked(step->node->layer, step->n_in, args, &views[mask_in], outs, own));
        else CK_TRY(ck_layer_call_planned(step->node->layer, step->n_in, args, outs, own));
        if (step->made_mask) {
            const ck_tensor *masks[CK_MAX_LAYER_INPUTS];
            for (int k = 0; k < step->n_in; k++) masks[k] = in_masks[k] >= 0 ? &views[in_masks[k]] : NULL;
            CK_TRY(ck_step_make_mask(step, args, masks, &views[step->out_masks[0]]));
        }
    }
    for (int o = 0; o < m->n_outputs; o++) {
        const ck_tensor *r = &views[m->output_slots[o]];
        if (r->data != out[o]->data) memcpy(out[o]->data, r->data, (size_t)r->size * ck_dtype_size(r->dtype));
    }
    return CK_OK;
}

static ck_status model_get_config(const ck_layer *layer, json_t *c)
{
    json_t *config = NULL;
    CK_TRY(ck_model_config_json((const ck_model *)layer, &config));
    json_object_clear(c);
    int failed = json_object_update(c, config);
    json_decref(config);
    return failed ? ck_oom("a model config") : CK_OK;
}

static ck_status functional_from_config(const json_t *c, ck_layer **out)
{
    ck_model *m = NULL;
    CK_TRY(ck_model_from_config_json(c, 0, &m));
    *out = &m->base;
    return CK_OK;
}

static ck_status sequential_from_config(const json_t *c, ck_layer **out)
{
    ck_model *m = NULL;
    CK_TRY(ck_model_from_config_json(c, 1, &m));
    *out = &m->base;
    return CK_OK;
}

#define CK_MODEL_CLASS(NAME, FROM_CONFIG)                                    \
    {                                                                        \
        .class_name = NAME,                                                  \
        .size = sizeof(ck_model),                                            \
        .arity = CK_ONE_INPUT,                                               \
        .supports_masking = 1,                                               \
        .call = ck_layer_call_own_scratch,                                   \
        .call_scratch_bytes = ck_model_call_scratch_bytes,                   \
        .call_scratch = ck_model_call_scratch,                               \
        .compute_output_shape = model_output_shape,                          \
        .output_dtype = model_output_dtype,                                  \
        .output_count = model_output_count,                                  \
        .mask_rule = model_mask_rule,                                        \
        .call_masked = ck_model_call_masked,                                 \
        .output_dtypes = model_output_dtypes,                                \
        .get_config = model_get_config,                                      \
        .from_config = FROM_CONFIG,                                          \
        .sublayer_count = model_sublayer_count,                              \
        .sublayer = model_sublayer,                                          \
        .destroy = ck_model_destroy,                                         \
        .saved_bytes = ck_model_saved_bytes,                                 \
        .train_call = ck_model_layer_train_call,                             \
        .backward = ck_model_layer_backward,                                 \
    }

const ck_layer_class ck_functional_class = CK_MODEL_CLASS("Functional", functional_from_config);
const ck_layer_class ck_sequential_class = CK_MODEL_CLASS("Sequential", sequential_from_config);

const char *ck_model_class_name(const ck_model *m) { return m->base.cls->class_name; }

/* The node that links a model's inputs to (copies of) its outputs: Keras
 * creates it when the model is made, so the calls of a nested model are
 * nodes 1, 2, ... as in saved configs. */
static ck_status add_creation_node(ck_model *m)
{
    ck_tensor *outs[CK_MAX_LAYER_INPUTS];
    if (m->n_outputs > CK_MAX_LAYER_INPUTS) return ck_error(CK_NOT_IMPLEMENTED, "too many model outputs");
    for (int i = 0; i < m->n_outputs; i++) {
        ck_shape s = ck_tensor_shape(m->outputs[i]);
        ck_status st = ck_symbolic_new(&outs[i], m->outputs[i]->dtype, &s, &m->base, 0, i);
        if (st != CK_OK) {
            for (int k = 0; k < i; k++) ck_symbolic_free(outs[k]);
            return st;
        }
    }
    return ck_layer_add_node(&m->base, m->n_inputs, m->inputs, m->n_outputs, outs, 0, NULL);
}

ck_status ck_model_create(const ck_layer_class *cls, int n_in, ck_tensor *const *inputs, int n_out,
                          ck_tensor *const *outputs, const char *name, bool trainable, ck_model **out)
{
    ck_layer *layer = NULL;
    char *auto_name = NULL;
    if (!name || !*name) {
        auto_name = ck_unique_name(cls == &ck_sequential_class ? "sequential" : "model");
        if (!auto_name) return ck_oom("a model name");
        name = auto_name;
    }
    ck_status st = ck_layer_create(cls, name, trainable, CK_FLOAT32, NULL, 0, NULL, &layer);
    ck_free(auto_name);
    if (st != CK_OK) return st;
    ck_model *m = (ck_model *)layer;
    m->sequential = cls == &ck_sequential_class;
    st = ck_model_init_graph(m, n_in, inputs, n_out, outputs);
    if (st == CK_OK) st = add_creation_node(m);
    if (st != CK_OK) {
        ck_layer_free(layer);
        return st;
    }
    layer->built = 1;
    layer->fixed_inputs = n_in;
    *out = m;
    return CK_OK;
}

ck_status ck_model_new(ck_model **out, int n_inputs, ck_tensor *const *inputs, int n_outputs,
                       ck_tensor *const *outputs, const char *name)
{
    CK_NEED(out);
    CK_NEED(inputs);
    CK_NEED(outputs);
    if (!out || !inputs || !outputs) return ck_error(CK_VALUE_ERROR, "ck_model_new: NULL argument");
    return ck_model_create(&ck_functional_class, n_inputs, inputs, n_outputs, outputs, name, true, out);
}

void ck_model_free(ck_model *m)
{
    if (m) ck_layer_free(&m->base);
}

ck_layer *ck_model_layer(ck_model *m) {
    CK_NEED_OR(m, NULL);
    return &m->base;
}

ck_model *ck_layer_as_model(ck_layer *layer)
{
    CK_NEED_OR(layer, NULL);
    return layer && (layer->cls == &ck_functional_class || layer->cls == &ck_sequential_class) ? (ck_model *)layer
                                                                                                : NULL;
}

const char *ck_model_name(const ck_model *m) {
    CK_NEED_OR(m, NULL);
    return m->base.name;
}
int ck_model_layer_count(const ck_model *m) {
    CK_NEED_OR(m, 0);
    return m->n_layers;
}

ck_layer *ck_model_layer_at(const ck_model *m, int i)
{
    CK_NEED_OR(m, NULL);
    return i >= 0 && i < m->n_layers ? m->layers[i] : NULL;
}

ck_status ck_model_get_layer(const ck_model *m, const char *name, ck_layer **out)
{
    CK_NEED(m);
    CK_NEED(out);
    for (int i = 0; name && i < m->n_layers; i++) {
        if (strcmp(m->layers[i]->name, name) == 0) {
            *out = m->layers[i];
            return CK_OK;
        }
    }
    return ck_error(CK_VALUE_ERROR, "No such layer: %s. Existing layers are: %d layers of model \"%s\"",
                    name ? name : "(null)", m->n_layers, m->base.name);
}

int ck_model_input_count(const ck_model *m) {
    CK_NEED_OR(m, 0);
    return m->n_inputs;
}
int ck_model_output_count(const ck_model *m) {
    CK_NEED_OR(m, 0);
    return m->n_outputs;
}
ck_tensor *ck_model_input(const ck_model *m, int i) {
    CK_NEED_OR(m, NULL);
    return i >= 0 && i < m->n_inputs ? m->inputs[i] : NULL;
}
ck_tensor *ck_model_output(const ck_model *m, int i) {
    CK_NEED_OR(m, NULL);
    return i >= 0 && i < m->n_outputs ? m->outputs[i] : NULL;
}

ck_status ck_model_count_params(const ck_model *m, int64_t *total, int64_t *trainable, int64_t *non_trainable)
{
    CK_NEED(m);
    int64_t t = 0, nt = 0;
    int n = ck_layer_trainable_weight_count(&m->base);
    for (int i = 0; i < n; i++) t += ck_weight_value(ck_layer_trainable_weight(&m->base, i))->size;
    n = ck_layer_non_trainable_weight_count(&m->base);
    for (int i = 0; i < n; i++) nt += ck_weight_value(ck_layer_non_trainable_weight(&m->base, i))->size;
    if (total) *total = t + nt;
    if (trainable) *trainable = t;
    if (non_trainable) *non_trainable = nt;
    return CK_OK;
}

/* ---- Sequential ----------------------------------------------------------- */

ck_status ck_sequential(ck_model **out, int n_layers, ck_layer *const *layers, const ck_shape *input_shape,
                        const char *name)
{
    CK_NEED(out);
    CK_NEED(layers);
    ck_shape shape;
    if (!out || n_layers < 1 || !layers)
        return ck_error(CK_VALUE_ERROR, "ck_sequential: give at least one layer");
    if (input_shape && input_shape->rank > 0) {
        shape = *input_shape;
    } else if (layers[0]->has_batch_input_shape) {
        shape.rank = layers[0]->batch_input_shape.rank - 1;
        for (int i = 0; i < shape.rank; i++) shape.dims[i] = layers[0]->batch_input_shape.dims[i + 1];
    } else {
        return ck_error(CK_VALUE_ERROR, "ck_sequential: the input shape is unknown: pass input_shape or create the "
                        "first layer with .input_shape (a Sequential without one is not built, as in Keras)");
    }
    ck_tensor *x = NULL;
    int64_t batch = layers[0]->has_batch_input_shape ? layers[0]->batch_input_shape.dims[0] : -1;
    /* tf.keras names the implicit input "<first layer>_input". */
    char input_name[160];
    snprintf(input_name, sizeof input_name, "%s_input", layers[0]->name);
    CK_TRY(ck_input(&x, &(ck_input_opts){.shape = shape, .batch_size = batch > 0 ? batch : 0, .name = input_name}));
    ck_layer *input_layer = ck_tensor_layer(x);
    ck_tensor *h = x;
    ck_status st = CK_OK;
    for (int i = 0; st == CK_OK && i < n_layers; i++) st = ck_layer_apply(layers[i], 1, &h, &h);
    if (st == CK_OK) st = ck_model_create(&ck_sequential_class, 1, &x, 1, &h, name, true, out);
    ck_layer_free(input_layer); /* the model holds its own reference */
    return st;
}
