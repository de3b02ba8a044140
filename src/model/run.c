/* Running a model: shape inference through the graph, buffers planned once
 * per input-shape signature (in a predictor's pair of plans), and predict
 * in batches.  A repeated predict with the same shapes allocates nothing:
 * each layer's working memory is the plan's scratch. */
#include <string.h>

#include "layers/rnn_common.h"
#include "model/bidirectional.h"
#include "model/model.h"

ck_status ck_model_infer_shapes(const ck_model *m, int n, const ck_shape *in, ck_shape *slot_shapes)
{
    char a[128], b[128];
    if (n != m->n_inputs)
        return ck_error(CK_VALUE_ERROR, "Model \"%s\" expects %d input(s), but it received %d input tensors",
                        m->base.name, m->n_inputs, n);
    for (int i = 0; i < n; i++) {
        const ck_tensor *sym = m->inputs[i];
        int ok = in[i].rank == sym->rank;
        for (int d = 0; ok && d < sym->rank; d++) ok = sym->shape[d] < 0 || in[i].dims[d] < 0 || sym->shape[d] == in[i].dims[d];
        if (!ok)
            return ck_error(CK_VALUE_ERROR, "Input %d of model \"%s\" is incompatible with the model: expected shape=%s, "
                            "found shape=%s", i, m->base.name, ck_shape_str(a, sizeof a, sym->rank, sym->shape),
                            ck_shape_fmt(b, sizeof b, &in[i]));
        slot_shapes[m->input_slots[i]] = in[i];
    }
    ck_shape ins[CK_MAX_LAYER_INPUTS];
    for (int s = 0; s < m->n_steps; s++) {
        const ck_step *step = &m->steps[s];
        for (int k = 0; k < step->n_in; k++) ins[k] = slot_shapes[step->in_slots[k]];
        CK_TRY(ck_layer_check_inputs(step->node->layer, step->n_in, ins));
        CK_TRY(ck_layer_output_shapes_of(step->node->layer, step->n_in, ins, &slot_shapes[step->out_slot]));
        if (step->made_mask) {
            ck_shape ms[CK_MAX_LAYER_INPUTS];
            for (int k = 0; k < step->n_in; k++)
                ms[k] = step->in_masks[k] >= 0 ? slot_shapes[step->in_masks[k]] : (ck_shape){-1, {0}};
            CK_TRY(ck_rule_mask_shape(step->node->layer, step->mask_rule, step->n_in, ins, ms,
                                      &slot_shapes[step->out_masks[0]]));
        }
    }
    return CK_OK;
}

static int same_shapes(const ck_shape *a, const ck_shape *b, int n)
{
    for (int i = 0; i < n; i++) {
        if (a[i].rank != b[i].rank) return 0;
        for (int d = 0; d < a[i].rank; d++)
            if (a[i].dims[d] != b[i].dims[d]) return 0;
    }
    return 1;
}

void ck_model_plan_free(const ck_model *m, ck_plan *plan)
{
    for (int i = 0; plan->buffers && i < m->n_slots; i++) ck_tensor_free(plan->buffers[i]);
    for (int b = 0; plan->blocks && b < plan->n_blocks; b++) ck_free(plan->blocks[b]);
    ck_free(plan->buffers);
    ck_free(plan->blocks);
    ck_free(plan->input_shapes);
    ck_free(plan->scratch);
    for (int o = 0; plan->loss_w && plan->loss_w[o]; o++) ck_tensor_free(plan->loss_w[o]);
    ck_free(plan->loss_w);
    ck_fuse_free(plan);
    memset(plan, 0, sizeof *plan);
}

/* Memory planning: each computed value lives from the step that writes it
 * to the last step that reads it (model outputs to the end).  Values whose
 * lifetimes do not overlap share a block; a step's output never shares
 * with its inputs, which are still alive while it runs.  Blocks are sized
 * in a first pass and allocated once, so the tensors can point into them. */
typedef struct block_use {
    size_t bytes;
    int busy_until;   /* last step reading the current tenant */
} block_use;

static ck_status assign_blocks(const ck_model *m, const ck_shape *slot_shapes, const unsigned char *kind,
                               int *block_of, block_use *blocks, int *n_blocks)
{
    /* An alias step's output is its input's buffer (fuse.c): reads of it
     * keep the root value's block alive, and it gets no block of its own. */
    int *last_use = ck_calloc((size_t)m->n_slots, sizeof *last_use);
    int *root = ck_malloc((size_t)m->n_slots * sizeof *root);
    if (!last_use || !root) {
        ck_free(last_use);
        ck_free(root);
        return ck_oom("a model plan");
    }
    for (int i = 0; i < m->n_slots; i++) root[i] = i;
    for (int s = 0; s < m->n_steps; s++) {
        if (kind && kind[s] == CK_STEP_ALIAS) root[m->steps[s].out_slot] = root[m->steps[s].in_slots[0]];
        for (int k = 0; k < m->steps[s].n_in; k++) last_use[root[m->steps[s].in_slots[k]]] = s;
        for (int k = 0; k < m->steps[s].n_in; k++)
            if (m->steps[s].in_masks[k] >= 0) last_use[m->steps[s].in_masks[k]] = s;
    }
    for (int o = 0; o < m->n_outputs; o++) last_use[root[m->output_slots[o]]] = m->n_steps;
    for (int o = 0; o < m->n_outputs; o++)
        if (m->output_mask_slots[o] >= 0) last_use[m->output_mask_slots[o]] = m->n_steps;
    ck_free(root);
    *n_blocks = 0;
    ck_status st = CK_OK;
    for (int s = 0; s < m->n_steps && st == CK_OK; s++) {
        const ck_step *step = &m->steps[s];
        if (kind && kind[s] == CK_STEP_ALIAS && !step->made_mask) continue;
        /* The step's outputs, then the mask it makes (an alias step only
         * that). */
        int first = kind && kind[s] == CK_STEP_ALIAS ? step->n_out : 0;
        for (int k = first; k < step->n_out + step->made_mask && st == CK_OK; k++) {
            int slot = k < step->n_out ? step->out_slot + k : step->out_masks[0];
            const ck_shape *os = &slot_shapes[slot];
            int64_t count = 1;
            for (int d = 0; d < os->rank; d++) {
                if (os->dims[d] < 0) {
                    st = ck_error(CK_VALUE_ERROR, "layer \"%s\": output shape is not fully known for these inputs",
                                  step->node->layer->name);
                    break;
                }
                count *= os->dims[d];
            }
            if (st != CK_OK) break;
            size_t need = (size_t)count * ck_dtype_size(m->slot_tensors[slot]->dtype);
            /* Best fit among the free blocks; else grow the largest free
             * one; else a new block. */
            int best = -1, largest = -1;
            for (int b = 0; b < *n_blocks; b++) {
                if (blocks[b].busy_until >= s) continue;
                if (blocks[b].bytes >= need && (best < 0 || blocks[b].bytes < blocks[best].bytes)) best = b;
                if (largest < 0 || blocks[b].bytes > blocks[largest].bytes) largest = b;
            }
            if (best < 0) best = largest;
            if (best < 0) {
                best = (*n_blocks)++;
                blocks[best].bytes = 0;
            }
            if (blocks[best].bytes < need) blocks[best].bytes = need;
            /* An output nobody reads is still written by this step: it
             * keeps its block at least until the step is over, so the
             * step's other outputs never land in it. */
            blocks[best].busy_until = last_use[slot] > s ? last_use[slot] : s;
            block_of[slot] = best;
        }
    }
    ck_free(last_use);
    return st;
}

/* The widest call scratch of the steps (they run one at a time). */
static size_t steps_scratch(const ck_model *m, const ck_shape *slot_shapes)
{
    ck_shape ins[CK_MAX_LAYER_INPUTS];
    ck_dtype dts[CK_MAX_LAYER_INPUTS];
    size_t widest = 0;
    for (int s = 0; s < m->n_steps; s++) {
        const ck_step *step = &m->steps[s];
        for (int k = 0; k < step->n_in; k++) {
            ins[k] = slot_shapes[step->in_slots[k]];
            dts[k] = m->slot_tensors[step->in_slots[k]]->dtype;
        }
        size_t b = ck_layer_cast_scratch_bytes(step->node->layer, step->n_in, dts, ins) +
                   ck_layer_call_scratch_bytes(step->node->layer, step->n_in, ins, &slot_shapes[step->out_slot]);
        if (b > widest) widest = b;
    }
    return widest;
}

ck_status ck_model_plan(ck_model *m, int which, int n, const ck_shape *shapes, ck_plan **out)
{
    ck_predictor *p = ck_model_default_predictor(m);
    if (!p) return ck_last_status();
    return ck_plans_get(m, p->plans, which, n, shapes, out);
}

ck_status ck_plans_get(ck_model *m, ck_plan plans[2], int which, int n, const ck_shape *shapes, ck_plan **out)
{
    for (int p = 0; p < 2; p++) {
        if (plans[p].valid && same_shapes(plans[p].input_shapes, shapes, n)) {
            *out = &plans[p];
            return CK_OK;
        }
    }
    ck_plan fresh = {0};
    ck_shape *slot_shapes = ck_calloc((size_t)m->n_slots, sizeof *slot_shapes);
    int *block_of = ck_calloc((size_t)m->n_slots, sizeof *block_of);
    block_use *blocks = ck_calloc((size_t)(m->n_slots ? m->n_slots : 1), sizeof *blocks);
    int n_blocks = 0;
    ck_status st = slot_shapes && block_of && blocks ? CK_OK : ck_oom("a model plan");
    if (st == CK_OK) st = ck_model_infer_shapes(m, n, shapes, slot_shapes);
    if (st == CK_OK) st = ck_fuse_plan(m, slot_shapes, &fresh);
    if (st == CK_OK) st = assign_blocks(m, slot_shapes, fresh.step_kind, block_of, blocks, &n_blocks);
    if (st == CK_OK) {
        fresh.input_shapes = ck_malloc((size_t)n * sizeof *fresh.input_shapes);
        fresh.buffers = ck_calloc((size_t)m->n_slots, sizeof *fresh.buffers);
        fresh.blocks = ck_calloc((size_t)(n_blocks ? n_blocks : 1), sizeof *fresh.blocks);
        if (!fresh.input_shapes || !fresh.buffers || !fresh.blocks) st = ck_oom("a model plan");
    }
    size_t scratch = st == CK_OK ? steps_scratch(m, slot_shapes) : 0;
    if (st == CK_OK && scratch && !(fresh.scratch = ck_malloc(scratch))) st = ck_oom("a model's call scratch");
    for (int i = 0; st == CK_OK && i < n; i++) fresh.input_shapes[i] = shapes[i];
    for (int b = 0; st == CK_OK && b < n_blocks; b++) {
        fresh.blocks[b] = ck_calloc(1, blocks[b].bytes ? blocks[b].bytes : 1);
        if (!fresh.blocks[b]) st = ck_oom("a model buffer");
        else fresh.n_blocks = b + 1;
    }
    for (int s = 0; st == CK_OK && s < m->n_steps; s++) {
        for (int k = 0; st == CK_OK && k < m->steps[s].n_out; k++) {
            int slot = m->steps[s].out_slot + k;
            const ck_shape *os = &slot_shapes[slot];
            /* An alias's data pointer is set when it runs (its input may
             * be a model input, known only then). */
            static char unbound;
            int alias = fresh.step_kind && fresh.step_kind[s] == CK_STEP_ALIAS;
            st = ck_tensor_wrap(&fresh.buffers[slot], m->slot_tensors[slot]->dtype, os->rank, os->dims,
                                alias ? (void *)&unbound : fresh.blocks[block_of[slot]]);
        }
        int mk = m->steps[s].made_mask ? m->steps[s].out_masks[0] : -1;
        if (st == CK_OK && mk >= 0)
            st = ck_tensor_wrap(&fresh.buffers[mk], CK_INT32, slot_shapes[mk].rank, slot_shapes[mk].dims,
                                fresh.blocks[block_of[mk]]);
    }
    /* evaluate's loss weights of the masked outputs (NULL-terminated). */
    if (st == CK_OK && !(fresh.loss_w = ck_calloc((size_t)m->n_outputs + 1, sizeof *fresh.loss_w)))
        st = ck_oom("a model plan");
    for (int o = 0, k = 0; st == CK_OK && o < m->n_outputs; o++) {
        int ms = m->output_mask_slots[o];
        if (ms >= 0) st = ck_tensor_new(&fresh.loss_w[k++], CK_FLOAT64, slot_shapes[ms].rank, slot_shapes[ms].dims);
    }
    ck_free(slot_shapes);
    ck_free(block_of);
    ck_free(blocks);
    if (st != CK_OK) {
        ck_model_plan_free(m, &fresh);
        return st;
    }
    ck_plan *slot = &plans[which];
    ck_model_plan_free(m, slot);
    *slot = fresh;
    slot->valid = 1;
    *out = slot;
    return CK_OK;
}

ck_status ck_model_run(ck_model *m, ck_plan *plan, const ck_tensor *const *inputs)
{
    /* Views of the inputs live on the stack: nothing is allocated. */
    ck_tensor views[CK_MAX_LAYER_INPUTS];
    ck_tensor *args[CK_MAX_LAYER_INPUTS];
    if (m->n_inputs > CK_MAX_LAYER_INPUTS)
        return ck_error(CK_NOT_IMPLEMENTED, "model \"%s\" has more than %d inputs", m->base.name, CK_MAX_LAYER_INPUTS);
    for (int i = 0; i < m->n_inputs; i++) {
        views[i] = *inputs[i];
        views[i].owns_data = 0;
        views[i].keras_history = NULL;
        plan->buffers[m->input_slots[i]] = &views[i];
    }
    ck_status st = CK_OK;
    for (int s = 0; st == CK_OK && s < m->n_steps; s++) {
        const ck_step *step = &m->steps[s];
        for (int k = 0; k < step->n_in; k++) args[k] = plan->buffers[step->in_slots[k]];
        ck_tensor *out = plan->buffers[step->out_slot];
        ck_tensor *const *outs = &plan->buffers[step->out_slot]; /* consecutive slots */
        int kind = plan->step_kind ? plan->step_kind[s] : CK_STEP_CALL;
        int mask_in = ck_step_mask_in(step);
        if (kind == CK_STEP_ALIAS) out->data = args[0]->data;
        else if (kind == CK_STEP_DENSE) st = ck_fuse_dense_step(plan, s, step->node->layer, args[0], out);
        else if (plan->step_cache && (plan->step_cache[2 * s] || plan->step_cache[2 * s + 1])) {
            /* a recurrent step fed by an Embedding (fuse.c): float32 in and
             * out, as the plan's shapes were checked when it was made */
            const ck_tensor *mask = mask_in >= 0 ? plan->buffers[mask_in] : NULL;
            ck_layer *layer = step->node->layer;
            st = layer->cls == &ck_bidirectional_class
                     ? ck_bidi_call_cached(layer, step->n_in, ck_const_tensors(args), mask, outs, plan->scratch,
                                           &plan->step_cache[2 * s])
                     : ck_rnn_call_cached(layer, step->n_in, ck_const_tensors(args), mask, outs, plan->scratch,
                                          plan->step_cache[2 * s]);
        }
        else if (ck_step_reads_masks(step)) {
            const ck_tensor *masks[CK_MAX_LAYER_INPUTS];
            for (int k = 0; k < step->n_in; k++) masks[k] = step->in_masks[k] >= 0 ? plan->buffers[step->in_masks[k]] : NULL;
            st = ck_layer_call_planned_masks(step->node->layer, step->n_in, ck_const_tensors(args), masks, outs,
                                             plan->scratch);
        } else if (mask_in >= 0)
            st = ck_layer_call_planned_masked(step->node->layer, step->n_in, ck_const_tensors(args),
                                              plan->buffers[mask_in], outs, plan->scratch);
        else st = ck_layer_call_planned(step->node->layer, step->n_in, ck_const_tensors(args), outs, plan->scratch);
        if (st == CK_OK && step->made_mask) {
            const ck_tensor *masks[CK_MAX_LAYER_INPUTS];
            for (int k = 0; k < step->n_in; k++) masks[k] = step->in_masks[k] >= 0 ? plan->buffers[step->in_masks[k]] : NULL;
            st = ck_step_make_mask(step, ck_const_tensors(args), masks, plan->buffers[step->out_masks[0]]);
        }
    }
    for (int i = 0; i < m->n_inputs; i++) plan->buffers[m->input_slots[i]] = NULL;
    return st;
}

const ck_tensor *ck_model_plan_output_loss_weights(ck_model *m, ck_plan *plan, int o, const ck_tensor *sample_weight)
{
    int ms = m->output_mask_slots[o];
    if (ms < 0) return NULL;
    int k = 0;
    for (int j = 0; j < o; j++) k += m->output_mask_slots[j] >= 0;
    ck_mask_loss_weights(plan->buffers[ms], sample_weight, plan->loss_w[k]);
    return plan->loss_w[k];
}

/* Copies rows [r0, r0 + rows) of the batch axis between tensors. */
static void copy_rows(ck_tensor *dst, int64_t dst_row, const ck_tensor *src, int64_t src_row, int64_t rows)
{
    size_t row_bytes = src->shape[0] ? (size_t)(src->size / src->shape[0]) * ck_dtype_size(src->dtype) : 0;
    memcpy((char *)dst->data + (size_t)dst_row * row_bytes, (const char *)src->data + (size_t)src_row * row_bytes,
           (size_t)rows * row_bytes);
}

/* A view of rows [r0, r0 + rows) of t. */
static ck_tensor row_view(const ck_tensor *t, int64_t r0, int64_t rows)
{
    ck_tensor v = *t;
    size_t row_bytes = t->shape[0] ? (size_t)(t->size / t->shape[0]) * ck_dtype_size(t->dtype) : 0;
    v.data = (char *)t->data + (size_t)r0 * row_bytes;
    v.shape[0] = rows;
    v.size = t->shape[0] ? t->size / t->shape[0] * rows : 0;
    v.owns_data = 0;
    v.keras_history = NULL;
    return v;
}

static ck_status check_predict_inputs(const ck_model *m, int n, const ck_tensor *const *inputs, int64_t *batch)
{
    if (n != m->n_inputs)
        return ck_error(CK_VALUE_ERROR, "Model \"%s\" expects %d input(s), but it received %d input tensors",
                        m->base.name, m->n_inputs, n);
    for (int i = 0; i < n; i++) {
        if (!inputs[i] || !inputs[i]->data || inputs[i]->rank < 1)
            return ck_error(CK_VALUE_ERROR, "predict: input %d of model \"%s\" has no data or no batch axis", i,
                            m->base.name);
        if (inputs[i]->dtype != m->inputs[i]->dtype &&
            !(ck_dtype_is_floating(inputs[i]->dtype) && ck_dtype_is_floating(m->inputs[i]->dtype)))
            return ck_error(CK_TYPE_ERROR, "predict: input %d of model \"%s\" is %s, the model expects %s", i,
                            m->base.name, ck_dtype_name(inputs[i]->dtype), ck_dtype_name(m->inputs[i]->dtype));
        if (i > 0 && inputs[i]->shape[0] != inputs[0]->shape[0])
            return ck_error(CK_VALUE_ERROR, "Data cardinality is ambiguous: model \"%s\" inputs have %lld and %lld "
                            "samples. Make sure all arrays contain the same number of samples.", m->base.name,
                            (long long)inputs[0]->shape[0], (long long)inputs[i]->shape[0]);
    }
    *batch = inputs[0]->shape[0];
    return CK_OK;
}

/* The value of output `o` after a run: its planned buffer, or the input
 * itself when a model outputs one of its inputs (Model(x, x): that slot
 * has no buffer of its own). */
static const ck_tensor *output_value(const ck_model *m, const ck_plan *plan, int o, const ck_tensor *const *inputs)
{
    int slot = m->output_slots[o];
    if (plan->buffers[slot]) return plan->buffers[slot];
    for (int i = 0; i < m->n_inputs; i++)
        if (m->input_slots[i] == slot) return inputs[i];
    return NULL;
}

/* Runs all batches; `outputs` already have the full output shapes. */
static ck_status predict_batches(ck_model *m, ck_plan plans[2], const ck_tensor *const *inputs, ck_tensor *const *outputs,
                                 int64_t total, int64_t batch_size)
{
    ck_tensor views[CK_MAX_LAYER_INPUTS];
    const ck_tensor *args[CK_MAX_LAYER_INPUTS];
    ck_shape shapes[CK_MAX_LAYER_INPUTS];
    for (int64_t r0 = 0; r0 < total; r0 += batch_size) {
        int64_t rows = total - r0 < batch_size ? total - r0 : batch_size;
        for (int i = 0; i < m->n_inputs; i++) {
            views[i] = row_view(inputs[i], r0, rows);
            args[i] = &views[i];
            shapes[i] = ck_tensor_shape(&views[i]);
        }
        ck_plan *plan = NULL;
        CK_TRY(ck_plans_get(m, plans, rows == batch_size ? 0 : 1, m->n_inputs, shapes, &plan));
        CK_TRY(ck_model_run(m, plan, args));
        for (int o = 0; o < m->n_outputs; o++) copy_rows(outputs[o], r0, output_value(m, plan, o, args), 0, rows);
    }
    return CK_OK;
}

/* Converts floating inputs of another precision (Keras casts them too). */
static ck_status cast_inputs(const ck_model *m, int n, const ck_tensor *const *inputs, ck_tensor **cast,
                             const ck_tensor **use)
{
    for (int i = 0; i < n; i++) {
        cast[i] = NULL;
        use[i] = inputs[i];
        if (inputs[i]->dtype != m->inputs[i]->dtype) {
            ck_status st = ck_tensor_cast(&cast[i], inputs[i], m->inputs[i]->dtype);
            if (st != CK_OK) {
                for (int k = 0; k < i; k++) ck_tensor_free(cast[k]);
                return st;
            }
            use[i] = cast[i];
        }
    }
    return CK_OK;
}

static ck_status output_shapes(ck_model *m, ck_plan plans[2], int n, const ck_tensor *const *inputs, int64_t total, int64_t batch_size,
                               ck_shape *out_shapes)
{
    ck_shape shapes[CK_MAX_LAYER_INPUTS];
    for (int i = 0; i < n; i++) {
        shapes[i] = ck_tensor_shape(inputs[i]);
        shapes[i].dims[0] = total < batch_size ? total : batch_size;
    }
    ck_plan *plan = NULL;
    if (total == 0) {
        ck_shape *slot_shapes = ck_calloc((size_t)m->n_slots, sizeof *slot_shapes);
        if (!slot_shapes) return ck_oom("predict");
        for (int i = 0; i < n; i++) shapes[i].dims[0] = 0;
        ck_status st = ck_model_infer_shapes(m, n, shapes, slot_shapes);
        for (int o = 0; st == CK_OK && o < m->n_outputs; o++) out_shapes[o] = slot_shapes[m->output_slots[o]];
        ck_free(slot_shapes);
        return st;
    }
    CK_TRY(ck_plans_get(m, plans, total >= batch_size ? 0 : 1, n, shapes, &plan));
    for (int o = 0; o < m->n_outputs; o++) {
        out_shapes[o] = ck_tensor_shape(output_value(m, plan, o, inputs));
        out_shapes[o].dims[0] = total;
    }
    return CK_OK;
}

ck_status ck_model_predict_with(ck_model *m, ck_plan plans[2], int n, const ck_tensor *const *inputs,
                                ck_tensor **outputs, int64_t batch_size)
{
    int64_t total;
    if (batch_size < 0) return ck_error(CK_VALUE_ERROR, "predict: batch_size must be positive, got %lld", (long long)batch_size);
    if (batch_size == 0) batch_size = 32;
    CK_TRY(check_predict_inputs(m, n, inputs, &total));
    ck_tensor *cast[CK_MAX_LAYER_INPUTS];
    const ck_tensor *use[CK_MAX_LAYER_INPUTS];
    CK_TRY(cast_inputs(m, n, inputs, cast, use));
    ck_shape oshapes[CK_MAX_LAYER_INPUTS];
    ck_tensor *outs[CK_MAX_LAYER_INPUTS] = {NULL};
    ck_status st = m->n_outputs <= CK_MAX_LAYER_INPUTS ? CK_OK
                   : ck_error(CK_NOT_IMPLEMENTED, "more than %d model outputs", CK_MAX_LAYER_INPUTS);
    if (st == CK_OK) st = output_shapes(m, plans, n, use, total, batch_size, oshapes);
    for (int o = 0; st == CK_OK && o < m->n_outputs; o++)
        st = ck_tensor_new(&outs[o], m->outputs[o]->dtype, oshapes[o].rank, oshapes[o].dims);
    if (st == CK_OK) st = predict_batches(m, plans, use, outs, total, batch_size);
    for (int i = 0; i < n; i++) ck_tensor_free(cast[i]);
    for (int o = 0; o < m->n_outputs; o++) {
        if (st == CK_OK) outputs[o] = outs[o];
        else ck_tensor_free(outs[o]);
    }
    return st;
}

ck_status ck_model_predict_into_with(ck_model *m, ck_plan plans[2], int n, const ck_tensor *const *inputs,
                                     ck_tensor *const *outputs, int64_t batch_size)
{
    int64_t total;
    char a[128], b[128];
    if (batch_size < 0) return ck_error(CK_VALUE_ERROR, "predict: batch_size must be positive, got %lld", (long long)batch_size);
    if (batch_size == 0) batch_size = 32;
    CK_TRY(check_predict_inputs(m, n, inputs, &total));
    for (int i = 0; i < n; i++)
        if (inputs[i]->dtype != m->inputs[i]->dtype)
            return ck_error(CK_TYPE_ERROR, "predict_into: input %d is %s, the model expects %s (no conversion here)",
                            i, ck_dtype_name(inputs[i]->dtype), ck_dtype_name(m->inputs[i]->dtype));
    ck_shape oshapes[CK_MAX_LAYER_INPUTS];
    CK_TRY(output_shapes(m, plans, n, inputs, total, batch_size, oshapes));
    for (int o = 0; o < m->n_outputs; o++) {
        ck_shape got = outputs[o] ? ck_tensor_shape(outputs[o]) : (ck_shape){0, {0}};
        int ok = outputs[o] && outputs[o]->data && outputs[o]->dtype == m->outputs[o]->dtype &&
                 same_shapes(&got, &oshapes[o], 1);
        if (!ok)
            return ck_error(CK_VALUE_ERROR, "predict_into: output %d must be %s %s, got %s", o,
                            ck_dtype_name(m->outputs[o]->dtype), ck_shape_fmt(a, sizeof a, &oshapes[o]),
                            outputs[o] ? ck_shape_fmt(b, sizeof b, &got) : "NULL");
    }
    return predict_batches(m, plans, inputs, outputs, total, batch_size);
}
