/* Fused inference plans (issue 11, item 2), decided once when predict
 * plans a model for an input-shape signature; the layers' own call paths
 * (eager calls, training) are untouched.
 *
 *  - Steps that only rename data (Flatten of channels_last data, Reshape,
 *    the Dropout family at inference, whose call is a copy) become aliases:
 *    their output slot points at their input's buffer, no copy.  Memory
 *    planning keeps the aliased buffer alive as long as any alias is read,
 *    and a step's output never shares memory with what it reads, so no
 *    consumer writes into a buffer it reads.
 *  - A float Dense runs with its epilogue fused (bias and activation per
 *    block of rows right after that block's product, ck_dense_call_fused).
 *  - A BatchNormalization that normalises only the last axis and is the
 *    only consumer of a Dense that is not a model output is folded into
 *    that Dense's epilogue (y = act(x.W + b) * inv + off) and its step
 *    becomes an alias of the Dense's output.
 *  - A nested model (a model called as a layer, e.g. the shared tower of
 *    a siamese model) runs in its caller's plan without a plan of its own;
 *    the same decisions are taken for its steps on each call (they cost a
 *    few comparisons), see ck_fuse_nested_step.
 *
 *  - Likewise a BatchNormalization over the last axis that is the only
 *    consumer of a linear float32 channels_last Conv2D (not a model
 *    output) is folded into the direct convolution's epilogue (ops/
 *    conv_kernels.h), when those kernels run on this CPU.
 *  - A Conv2D (linear or ReLU) whose only reader is a MaxPooling2D is
 *    computed with the pooling in one pass (the pooled values written to
 *    the start of the Conv2D's buffer, which the pooling step aliases).
 *    The pair is a CK_STEP_DENSE step whose step_bn is the pooling layer.
 *
 * Why BN is folded into the epilogue rather than into a copy of the
 * kernel: the coefficients inv and off are recomputed from the live
 * weights on every run (units values, against the product's K * units),
 * into memory the plan owns.  A plan can therefore never run on stale
 * folded weights whoever writes them (set_weights, loading, an optimizer
 * step, a caller writing a weight tensor's data directly, another
 * predictor's plan), and no weights version counter is needed; the
 * arithmetic is also the unfused one operation for operation, so fused
 * predictions equal the unfused ones.
 *
 *  - A float32 SimpleRNN, LSTM or GRU whose input is an Embedding's output
 *    takes its input projections from a cache the plan owns (layers/
 *    rnn_input_cache.h): each of the vocabulary's rows is projected once,
 *    by the product the call would run, and found again by its bits.  The
 *    cache checks the layer's kernel and bias on every call, so it is
 *    never stale either.
 *
 * CK_FUSE=0 in the environment (read at each planning) or ck_fuse_override
 * = 0 turns fusion off, for comparisons. */
#include <stdlib.h>
#include <string.h>

#include "layers/batch_normalization.h"
#include "layers/conv2d.h"
#include "layers/dense.h"
#include "layers/dropout.h"
#include "layers/rnn_common.h"
#include "layers/rnn_input_cache.h"
#include "model/bidirectional.h"
#include "model/model.h"
#include "ops/conv_kernels.h"

_Atomic int ck_fuse_override = -1;

static int fuse_enabled(void)
{
    int o = ck_fuse_override;
    if (o >= 0) return o;
    const char *e = getenv("CK_FUSE");
    return !(e && strcmp(e, "0") == 0);
}

void ck_fuse_free(ck_plan *plan)
{
    ck_free(plan->step_kind);
    ck_free(plan->step_bn);
    ck_free(plan->step_coef);
    ck_free(plan->fuse_mem);
    for (int s = 0; plan->step_cache && s < 2 * plan->n_cache_steps; s++) ck_rnn_input_cache_free(plan->step_cache[s]);
    ck_free(plan->step_cache);
    plan->step_cache = NULL;
    plan->n_cache_steps = 0;
    plan->step_kind = NULL;
    plan->step_bn = NULL;
    plan->step_coef = NULL;
    plan->fuse_mem = NULL;
}

/* A linear float32 Conv2D that the direct kernels run (so that a BN can
 * be folded into their epilogue). */
static int conv_foldable(const ck_layer *layer)
{
    const ck_conv2d_layer *c = (const ck_conv2d_layer *)layer;
    return layer->cls == &ck_conv2d_class && layer->built && c->kernel && layer->dtype == CK_FLOAT32 &&
           !c->channels_first && c->groups == 1 && ck_activation_is_linear(c->params.activation) &&
           ck_conv2d_nhwc_f32_runs(c->kernel->value->shape[2]);
}

/* The channels of a fused step's output (its BN coefficients). */
static int64_t fused_units(const ck_layer *layer)
{
    if (layer->cls == &ck_conv2d_class) return ((const ck_conv2d_layer *)layer)->filters;
    return ck_dense_units(layer);
}

static int64_t shape_count(const ck_shape *s)
{
    int64_t c = 1;
    for (int d = 0; d < s->rank; d++) c *= s->dims[d];
    return c;
}

/* Flatten moves the channel axis of channels_first data first (a real
 * transpose); its data_format is only visible through its config. */
static int flatten_is_rename(const ck_layer *layer, const ck_shape *in)
{
    if (in->rank < 3) return 1;
    json_t *c = json_object();
    if (!c) return 0;
    int rename = layer->cls->get_config && layer->cls->get_config(layer, c) == CK_OK;
    const char *df = json_string_value(json_object_get(c, "data_format"));
    if (df && strcmp(df, "channels_first") == 0) rename = 0;
    json_decref(c);
    return rename;
}

static int is_rename(const ck_model *m, const ck_step *step, const ck_shape *slot_shapes)
{
    const ck_layer *layer = step->node->layer;
    int in = step->in_slots[0], out = step->out_slot;
    if (step->n_in != 1 || m->slot_tensors[in]->dtype != m->slot_tensors[out]->dtype) return 0;
    if (shape_count(&slot_shapes[in]) != shape_count(&slot_shapes[out])) return 0;
    if (layer->cls == &ck_reshape_class || layer->cls->call == ck_dropout_call) return 1;
    return layer->cls == &ck_flatten_class && flatten_is_rename(layer, &slot_shapes[in]);
}

/* How many step inputs read `slot` (a model output counts as a reader). */
static int readers(const ck_model *m, int slot, int *only_step)
{
    int n = 0;
    for (int s = 0; s < m->n_steps; s++)
        for (int k = 0; k < m->steps[s].n_in; k++)
            if (m->steps[s].in_slots[k] == slot) n++, *only_step = s;
    for (int o = 0; o < m->n_outputs; o++)
        if (m->output_slots[o] == slot) n += 2;
    return n;
}

/* A Conv2D whose only reader is a MaxPooling2D that its kernels can
 * compute in the same pass: marks the pair (the pooling's step becomes an
 * alias of the Conv2D's buffer, which receives the pooled values). */
static int pool_foldable(const ck_model *m, const ck_step *step, const ck_shape *slot_shapes, ck_plan *plan)
{
    const ck_layer *layer = step->node->layer;
    int in = step->in_slots[0], out = step->out_slot, t = -1;
    if (layer->cls != &ck_conv2d_class || !layer->built || step->n_in != 1 ||
        m->slot_tensors[in]->dtype != CK_FLOAT32 || m->slot_tensors[out]->dtype != CK_FLOAT32 ||
        readers(m, out, &t) != 1)
        return 0;
    const ck_step *next = &m->steps[t];
    if (next->n_in != 1 || m->slot_tensors[next->out_slot]->dtype != CK_FLOAT32 ||
        !ck_conv2d_pool_foldable((const ck_conv2d_layer *)layer, next->node->layer, &slot_shapes[in],
                                 &slot_shapes[out]))
        return 0;
    int s = (int)(step - m->steps);
    plan->step_kind[s] = CK_STEP_DENSE;
    plan->step_bn[s] = next->node->layer;
    plan->step_kind[t] = CK_STEP_ALIAS;
    return 1;
}

/* The vocabulary of the Embedding whose output is `slot`, or 0 when no
 * Embedding makes it. */
static int64_t embedding_vocabulary(const ck_model *m, int slot)
{
    for (int p = 0; p < m->n_steps; p++) {
        const ck_layer *e = m->steps[p].node->layer;
        if (m->steps[p].out_slot != slot || e->cls != &ck_embedding_class || e->n_weights < 1) continue;
        const ck_tensor *table = ck_weight_value(e->weights[0]);
        return table->rank == 2 ? table->shape[0] : 0;
    }
    return 0;
}

/* A cache for recurrent layer `layer` reading rows of `features` from an
 * Embedding of `vocabulary` rows, into *out (left NULL when it has none). */
static ck_status input_cache(const ck_layer *layer, int64_t features, int64_t vocabulary,
                             struct ck_rnn_input_cache **out)
{
    if (layer->cls->call_masked != ck_rnn_call_masked || !layer->built || layer->dtype != CK_FLOAT32) return CK_OK;
    const ck_tensor *kernel = ((const ck_rnn_layer *)layer)->kernel->value;
    if (kernel->rank != 2 || kernel->shape[0] != features) return CK_OK;
    return ck_rnn_input_cache_new(out, kernel->shape[0], kernel->shape[1], vocabulary);
}

/* Input caches for the float32 recurrent steps fed by an Embedding: the
 * layer's own, or a Bidirectional's two. */
static ck_status plan_input_caches(const ck_model *m, const ck_shape *slot_shapes, ck_plan *plan)
{
    for (int s = 0; s < m->n_steps; s++) {
        const ck_step *step = &m->steps[s];
        const ck_layer *layer = step->node->layer;
        const int in = step->in_slots[0];
        const int bidi = layer->cls == &ck_bidirectional_class;
        if (step->n_in != 1 || (!bidi && layer->cls->call_masked != ck_rnn_call_masked) || !layer->built ||
            layer->dtype != CK_FLOAT32 || m->slot_tensors[in]->dtype != CK_FLOAT32 || slot_shapes[in].rank != 3)
            continue;
        const int64_t vocabulary = embedding_vocabulary(m, in), features = slot_shapes[in].dims[2];
        if (vocabulary < 2) continue;
        if (!plan->step_cache) {
            plan->step_cache = ck_calloc(2 * (size_t)m->n_steps, sizeof *plan->step_cache);
            if (!plan->step_cache) return ck_oom("a fused plan");
            plan->n_cache_steps = m->n_steps;
        }
        if (!bidi) {
            CK_TRY(input_cache(layer, features, vocabulary, &plan->step_cache[2 * s]));
            continue;
        }
        const bidi_layer *b = (const bidi_layer *)layer;
        CK_TRY(input_cache(b->fwd, features, vocabulary, &plan->step_cache[2 * s]));
        CK_TRY(input_cache(b->bwd, features, vocabulary, &plan->step_cache[2 * s + 1]));
    }
    return CK_OK;
}

ck_status ck_fuse_plan(const ck_model *m, const ck_shape *slot_shapes, ck_plan *plan)
{
    if (!fuse_enabled() || m->n_steps == 0) return CK_OK;
    size_t n = (size_t)m->n_steps;
    plan->step_kind = ck_calloc(n, sizeof *plan->step_kind);
    plan->step_bn = ck_calloc(n, sizeof *plan->step_bn);
    plan->step_coef = ck_calloc(n, sizeof *plan->step_coef);
    if (!plan->step_kind || !plan->step_bn || !plan->step_coef) {
        ck_fuse_free(plan);
        return ck_oom("a fused plan");
    }
    size_t coef_bytes = 0;
    size_t *coef_off = ck_calloc(n, sizeof *coef_off);
    if (!coef_off) {
        ck_fuse_free(plan);
        return ck_oom("a fused plan");
    }
    for (int s = 0; s < m->n_steps; s++) {
        const ck_step *step = &m->steps[s];
        ck_layer *layer = step->node->layer;
        if (plan->step_kind[s] != CK_STEP_CALL) continue;   /* a folded BN */
        if (is_rename(m, step, slot_shapes)) {
            plan->step_kind[s] = CK_STEP_ALIAS;
            continue;
        }
        int in = step->in_slots[0], out = step->out_slot;
        if (pool_foldable(m, step, slot_shapes, plan)) continue;
        const int conv = conv_foldable(layer);
        if (step->n_in != 1 || !(conv || ck_dense_fusable(layer, 0)) || m->slot_tensors[in]->dtype != layer->dtype ||
            m->slot_tensors[out]->dtype != layer->dtype)
            continue;
        /* a Conv2D is a fused step only with a BN folded in */
        if (!conv) plan->step_kind[s] = CK_STEP_DENSE;
        int t = -1;
        if (readers(m, out, &t) != 1) continue;
        const ck_step *next = &m->steps[t];
        ck_layer *bn = next->node->layer;
        if (next->n_in != 1 || !ck_bn_last_axis_only(bn, slot_shapes[out].rank) || bn->dtype != layer->dtype ||
            m->slot_tensors[next->out_slot]->dtype != layer->dtype)
            continue;
        plan->step_bn[s] = bn;
        plan->step_kind[s] = CK_STEP_DENSE;
        plan->step_kind[t] = CK_STEP_ALIAS;
        coef_off[s] = coef_bytes;
        coef_bytes += 2 * (((size_t)fused_units(layer) * ck_dtype_size(layer->dtype) + 63) / 64 * 64);
    }
    if (coef_bytes && !(plan->fuse_mem = ck_malloc(coef_bytes))) {
        ck_free(coef_off);
        ck_fuse_free(plan);
        return ck_oom("a fused plan's coefficients");
    }
    for (int s = 0; s < m->n_steps; s++)
        /* (a Conv2D->MaxPooling2D step has a step_bn but no coefficients,
         * and without any folded BN there is no fuse_mem at all) */
        if (plan->step_bn[s] && plan->fuse_mem) plan->step_coef[s] = (char *)plan->fuse_mem + coef_off[s];
    ck_free(coef_off);
    ck_status st = plan_input_caches(m, slot_shapes, plan);
    if (st != CK_OK) ck_fuse_free(plan);
    return st;
}

/* A Conv2D with its BN folded in.  The direct kernels were available
 * when the plan was made; should a test have switched them off since, the
 * convolution runs on the im2col path (allocating its rows) and the BN's
 * coefficients are applied after. */
static ck_status conv_bn_step(const ck_layer *layer, const ck_tensor *x, ck_tensor *out, const float *inv,
                              const float *off, void *scratch)
{
    const ck_conv2d_layer *c = (const ck_conv2d_layer *)layer;
    int done;
    CK_TRY(ck_conv2d_call_direct(c, x, out, inv, off, scratch, &done));
    if (done) return CK_OK;
    CK_TRY(ck_conv2d_preactivation(c, x, out, NULL));
    float *o = out->data;
    const int64_t f = c->filters;
    for (int64_t i = 0; i < out->size; i++) o[i] = o[i] * inv[i % f] + off[i % f];
    return CK_OK;
}

/* A Conv2D with the MaxPooling2D after it: the pooled values go to the
 * start of the Conv2D's buffer.  Should a test have switched the kernels
 * off since planning, both layers run through their calls, the
 * convolution's output in memory allocated here. */
static ck_status conv_pool_step(ck_plan *plan, const ck_layer *layer, const ck_layer *pool, const ck_tensor *x,
                                ck_tensor *out)
{
    int done;
    CK_TRY(ck_conv2d_call_pooled((const ck_conv2d_layer *)layer, pool, x, out, plan->scratch, &done));
    if (done) return CK_OK;
    ck_shape cs = ck_tensor_shape(out), ps;
    CK_TRY(pool->cls->compute_output_shape(pool, 1, &cs, &ps));
    ck_tensor *conv_out = NULL;
    CK_TRY(ck_tensor_new(&conv_out, CK_FLOAT32, cs.rank, cs.dims));
    ck_tensor pooled = *out;
    pooled.owns_data = 0;
    pooled.size = 1;
    for (int d = 0; d < ps.rank; d++) pooled.shape[d] = ps.dims[d], pooled.size *= ps.dims[d];
    ck_tensor *pooled_p = &pooled;
    ck_status st = layer->cls->call((ck_layer *)layer, 1, &x, &conv_out);
    if (st == CK_OK) st = pool->cls->call((ck_layer *)pool, 1, ck_const_tensors(&conv_out), &pooled_p);
    ck_tensor_free(conv_out);
    return st;
}

ck_status ck_fuse_dense_step(ck_plan *plan, int s, const ck_layer *layer, const ck_tensor *x, ck_tensor *out)
{
    const ck_layer *bn = plan->step_bn[s];
    if (!bn) return ck_dense_call_fused(layer, x, out, NULL, NULL);
    if (bn->cls == &ck_max_pooling2d_class) return conv_pool_step(plan, layer, bn, x, out);
    size_t half = ((size_t)fused_units(layer) * ck_dtype_size(layer->dtype) + 63) / 64 * 64;
    char *inv = plan->step_coef[s];
    ck_bn_coefficients(bn, inv, inv + half);
    if (layer->cls == &ck_conv2d_class)
        return conv_bn_step(layer, x, out, (float *)inv, (float *)(inv + half), plan->scratch);
    return ck_dense_call_fused(layer, x, out, inv, inv + half);
}

/* ---- nested models ----------------------------------------------------------- */

/* The BatchNormalization step a Dense step `s` of `m` can fold (its only
 * reader, over the last axis, same dtype), or -1. */
static int nested_bn_step(const ck_model *m, int s, const ck_shape *slot_shapes)
{
    const ck_step *step = &m->steps[s];
    int out = step->out_slot, t = -1;
    if (readers(m, out, &t) != 1 || t <= s) return -1;
    const ck_step *next = &m->steps[t];
    const ck_layer *bn = next->node->layer;
    if (next->n_in != 1 || next->made_mask || ck_step_mask_in(next) >= 0 ||
        !ck_bn_last_axis_only(bn, slot_shapes[out].rank) || bn->dtype != step->node->layer->dtype ||
        m->slot_tensors[next->out_slot]->dtype != bn->dtype)
        return -1;
    return t;
}

/* The coefficients' room of one folded BN: inv, then off at `half`. */
static size_t coef_half(const ck_layer *layer)
{
    return ((size_t)ck_dense_units(layer) * ck_dtype_size(layer->dtype) + 63) / 64 * 64;
}

/* One flag per step (its BN folded), then whether fusion is on for this
 * call (CK_FUSE is read once per call, not per step). */
static size_t flags_bytes(const ck_model *m) { return ((size_t)m->n_steps + 1 + 63) / 64 * 64; }

size_t ck_fuse_nested_bytes(const ck_model *m)
{
    size_t coef = 0;
    for (int s = 0; s < m->n_steps; s++) {
        const ck_layer *layer = m->steps[s].node->layer;
        if (ck_dense_fusable(layer, 0) && 2 * coef_half(layer) > coef) coef = 2 * coef_half(layer);
    }
    return flags_bytes(m) + coef;
}

ck_status ck_fuse_nested_step(const ck_model *m, int s, const ck_shape *slot_shapes, ck_tensor *views, void *mem,
                              int *done)
{
    unsigned char *folded = mem;
    const ck_step *step = &m->steps[s];
    const ck_layer *layer = step->node->layer;
    *done = 0;
    if (s == 0) {
        memset(folded, 0, (size_t)m->n_steps);
        folded[m->n_steps] = (unsigned char)fuse_enabled();
    }
    if (folded[s]) { /* a BN its Dense already applied */
        *done = 1;
        return CK_OK;
    }
    if (!folded[m->n_steps] || step->n_in != 1 || step->n_out != 1 || step->made_mask || ck_step_mask_in(step) >= 0)
        return CK_OK;
    int in = step->in_slots[0], out = step->out_slot;
    /* renames (not Flatten: telling its data format reads the config,
     * which allocates) */
    if (layer->cls != &ck_flatten_class && views[in].dtype == views[out].dtype && is_rename(m, step, slot_shapes)) {
        views[out].data = views[in].data; /* nested values never share memory */
        *done = 1;
        return CK_OK;
    }
    if (!ck_dense_fusable(layer, 0) || m->slot_tensors[in]->dtype != layer->dtype ||
        m->slot_tensors[out]->dtype != layer->dtype || views[in].dtype != layer->dtype)
        return CK_OK;
    *done = 1;
    int t = nested_bn_step(m, s, slot_shapes);
    if (t < 0) return ck_dense_call_fused(layer, &views[in], &views[out], NULL, NULL);
    char *inv = (char *)mem + flags_bytes(m);
    ck_bn_coefficients(m->steps[t].node->layer, inv, inv + coef_half(layer));
    folded[t] = 1;
    return ck_dense_call_fused(layer, &views[in], &views[m->steps[t].out_slot], inv, inv + coef_half(layer));
}
