/* Training over a model's graph: the memory layout of a step, the forward
 * pass that keeps every value, and backpropagation in reverse graph order.
 *
 * Why values are not shared here as predict shares them: every value a
 * layer reads in its forward pass is read again by its backward pass, so
 * all of them live until the backward pass is over.  Gradients, on the
 * other hand, live in a block of the model's own, reused by every step. */
#include <stdint.h>
#include <string.h>

#include "model/model.h"

static size_t align64(size_t x) { return (x + 63) / 64 * 64; }

static size_t shape_bytes(const ck_shape *s, ck_dtype dtype)
{
    size_t count = 1;
    for (int d = 0; d < s->rank; d++) count *= (size_t)s->dims[d];
    return count * ck_dtype_size(dtype);
}

static void set_header(ck_tensor *t, ck_dtype dtype, const ck_shape *s)
{
    memset(t, 0, sizeof *t);
    t->dtype = dtype;
    t->rank = s->rank;
    t->size = 1;
    for (int d = 0; d < s->rank; d++) {
        t->shape[d] = s->dims[d];
        t->size *= s->dims[d];
    }
}

static void layout_free(ck_train_layout *L)
{
    ck_free(L->input_shapes);
    ck_free(L->value_off);
    ck_free(L->saved_off);
    ck_free(L->values);
    ck_free(L->grads);
    ck_free(L->grad_block);
    ck_free(L->written);
    for (int o = 0; L->loss_w && L->loss_w[o]; o++) ck_tensor_free(L->loss_w[o]);
    ck_free(L->loss_w);
    memset(L, 0, sizeof *L);
}

void ck_model_drop_train_layouts(ck_model *m)
{
    for (int i = 0; i < 2; i++) layout_free(&m->train[i]);
}

/* Offsets of every value and saved block, and the gradient block. */
static ck_status layout_fill(ck_model *m, const ck_shape *slot_shapes, ck_train_layout *L)
{
    size_t off = 0;
    for (int s = 0; s < m->n_steps; s++) {
        for (int k = 0; k < m->steps[s].n_out + m->steps[s].made_mask; k++) {
            int slot = k < m->steps[s].n_out ? m->steps[s].out_slot + k : m->steps[s].out_masks[0];
            const ck_shape *os = &slot_shapes[slot];
            for (int d = 0; d < os->rank; d++)
                if (os->dims[d] < 0)
                    return ck_error(CK_VALUE_ERROR, "layer \"%s\": output shape is not fully known for these "
                                    "inputs", m->steps[s].node->layer->name);
            L->value_off[slot] = off;
            off += align64(shape_bytes(os, m->slot_tensors[slot]->dtype));
        }
    }
    ck_shape ins[CK_MAX_LAYER_INPUTS];
    for (int s = 0; s < m->n_steps; s++) {
        const ck_step *step = &m->steps[s];
        for (int k = 0; k < step->n_in; k++) ins[k] = slot_shapes[step->in_slots[k]];
        size_t saved = ck_layer_saved_bytes(step->node->layer, step->n_in, ins, &slot_shapes[step->out_slot]);
        if (saved == SIZE_MAX) return ck_last_status() != CK_OK ? ck_last_status() : ck_oom("a training plan");
        L->saved_off[s] = off;
        off += saved;
    }
    L->fwd_bytes = off ? off : 64;

    /* Gradients: one per floating value that a layer produced; the model's
     * inputs get theirs bound to the caller's tensors at backward time. */
    size_t goff = 0, scratch = 0;
    size_t *goffs = ck_calloc((size_t)m->n_slots, sizeof *goffs);
    if (!goffs) return ck_oom("a training plan");
    for (int slot = 0; slot < m->n_slots; slot++) {
        ck_dtype dt = m->slot_tensors[slot]->dtype;
        set_header(&L->values[slot], dt, &slot_shapes[slot]);
        set_header(&L->grads[slot], dt, &slot_shapes[slot]);
    }
    for (int s = 0; s < m->n_steps; s++) {
        for (int k = 0; k < m->steps[s].n_out; k++) {
            int slot = m->steps[s].out_slot + k;
            if (!ck_dtype_is_floating(m->slot_tensors[slot]->dtype)) continue;
            goffs[slot] = goff + 1; /* 0 means none */
            goff += align64(shape_bytes(&slot_shapes[slot], m->slot_tensors[slot]->dtype));
        }
    }
    for (int s = 0; s < m->n_steps; s++) {
        size_t need = 0;
        for (int k = 0; k < m->steps[s].n_in; k++) {
            int slot = m->steps[s].in_slots[k];
            need += align64(shape_bytes(&slot_shapes[slot], m->slot_tensors[slot]->dtype));
        }
        if (need > scratch) scratch = need;
    }
    L->scratch_off = goff;
    goff += scratch;
    /* 64 spare bytes to align the block by hand (ck_malloc promises less). */
    L->grad_block = ck_malloc(goff + 64);
    if (!L->grad_block) {
        ck_free(goffs);
        return ck_oom("the gradients of a training plan");
    }
    char *base = (char *)(((uintptr_t)L->grad_block + 63) / 64 * 64);
    for (int slot = 0; slot < m->n_slots; slot++)
        if (goffs[slot]) L->grads[slot].data = base + goffs[slot] - 1;
    L->scratch_off = (size_t)(base - (char *)L->grad_block) + L->scratch_off;
    ck_free(goffs);
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

ck_status ck_model_train_layout(ck_model *m, int n, const ck_shape *shapes, ck_train_layout **out)
{
    for (int i = 0; i < 2; i++) {
        ck_train_layout *L = &m->train[i];
        if (L->valid && n == m->n_inputs && same_shapes(L->input_shapes, shapes, n)) {
            L->stamp = ++m->train_clock;
            *out = L;
            return CK_OK;
        }
    }
    ck_train_layout fresh;
    memset(&fresh, 0, sizeof fresh);
    ck_shape *slot_shapes = ck_calloc((size_t)m->n_slots, sizeof *slot_shapes);
    fresh.input_shapes = ck_malloc((size_t)(n ? n : 1) * sizeof *fresh.input_shapes);
    fresh.value_off = ck_calloc((size_t)m->n_slots, sizeof *fresh.value_off);
    fresh.saved_off = ck_calloc((size_t)(m->n_steps ? m->n_steps : 1), sizeof *fresh.saved_off);
    fresh.values = ck_calloc((size_t)m->n_slots, sizeof *fresh.values);
    fresh.grads = ck_calloc((size_t)m->n_slots, sizeof *fresh.grads);
    fresh.written = ck_calloc((size_t)m->n_slots, 1);
    ck_status st = slot_shapes && fresh.input_shapes && fresh.value_off && fresh.saved_off && fresh.values &&
                   fresh.grads && fresh.written ? CK_OK : ck_oom("a training plan");
    if (st == CK_OK) st = ck_model_infer_shapes(m, n, shapes, slot_shapes);
    if (st == CK_OK) st = layout_fill(m, slot_shapes, &fresh);
    /* Loss weights of the masked outputs (NULL-terminated by calloc). */
    if (st == CK_OK && !(fresh.loss_w = ck_calloc((size_t)m->n_outputs + 1, sizeof *fresh.loss_w)))
        st = ck_oom("a training plan");
    for (int o = 0, k = 0; st == CK_OK && o < m->n_outputs; o++) {
        int ms = m->output_mask_slots[o];
        if (ms >= 0) st = ck_tensor_new(&fresh.loss_w[k++], CK_FLOAT64, slot_shapes[ms].rank, slot_shapes[ms].dims);
    }
    ck_free(slot_shapes);
    if (st != CK_OK) {
        layout_free(&fresh);
        return st;
    }
    for (int i = 0; i < n; i++) fresh.input_shapes[i] = shapes[i];
    /* Replace the entry used least recently. */
    ck_train_layout *slot = m->train[0].stamp <= m->train[1].stamp ? &m->train[0] : &m->train[1];
    if (!m->train[0].valid) slot = &m->train[0];
    else if (!m->train[1].valid) slot = &m->train[1];
    layout_free(slot);
    *slot = fresh;
    slot->valid = 1;
    slot->stamp = ++m->train_clock;
    *out = slot;
    return CK_OK;
}

/* Points the value views at `block` and the model inputs' views at the
 * caller's tensors. */
static void bind_values(ck_model *m, ck_train_layout *L, const ck_tensor *const *inputs, void *block)
{
    for (int s = 0; s < m->n_steps; s++)
        for (int k = 0; k < m->steps[s].n_out + m->steps[s].made_mask; k++) {
            int slot = k < m->steps[s].n_out ? m->steps[s].out_slot + k : m->steps[s].out_masks[0];
            L->values[slot].data = (char *)block + L->value_off[slot];
        }
    for (int i = 0; i < m->n_inputs; i++) L->values[m->input_slots[i]].data = inputs[i]->data;
}

/* Every input's mask for the classes that read them (ctx->masks), or NULL. */
static const ck_tensor *const *step_masks(const ck_step *step, const ck_train_layout *L, const ck_tensor **masks)
{
    if (!ck_step_reads_masks(step)) return NULL;
    for (int k = 0; k < step->n_in; k++) masks[k] = step->in_masks[k] >= 0 ? &L->values[step->in_masks[k]] : NULL;
    return masks;
}

/* A mask slot's value: slot m->n_slots is the mask fed to a nested
 * model's input 0 (the caller's ctx->mask). */
static const ck_tensor *mask_value(const ck_model *m, ck_train_layout *L, int slot, const ck_train_ctx *ctx)
{
    if (slot < 0) return NULL;
    return slot == m->n_slots ? ctx->mask : &L->values[slot];
}

static int fed_of(const ck_model *m, const ck_train_ctx *ctx) { return ctx && ck_model_feeds_mask(m, ctx->mask); }

ck_status ck_model_train_forward(ck_model *m, ck_train_layout *L, const ck_train_ctx *ctx,
                                 const ck_tensor *const *inputs, void *block)
{
    int fed = fed_of(m, ctx);
    const ck_tensor *args[CK_MAX_LAYER_INPUTS];
    ck_tensor *outs[CK_MAX_LAYER_OUTPUTS];
    bind_values(m, L, inputs, block);
    for (int s = 0; s < m->n_steps; s++) {
        const ck_step *step = &m->steps[s];
        for (int k = 0; k < step->n_in; k++) args[k] = &L->values[step->in_slots[k]];
        for (int k = 0; k < step->n_out; k++) outs[k] = &L->values[step->out_slot + k];
        ck_train_ctx step_ctx = ctx ? *ctx : (ck_train_ctx){0};
        step_ctx.mask = mask_value(m, L, ck_step_mask_in_flow(step, fed), ctx);
        const ck_tensor *all_masks[CK_MAX_LAYER_INPUTS];
        step_ctx.masks = step_masks(step, L, all_masks);
        CK_TRY(ck_layer_train_call(step->node->layer, &step_ctx, step->n_in, args, outs,
                                   (char *)block + L->saved_off[s]));
        if (step->made_mask) {
            const ck_tensor *masks[CK_MAX_LAYER_INPUTS];
            const int *in_masks = ck_step_in_masks(step, fed);
            for (int k = 0; k < step->n_in; k++) masks[k] = mask_value(m, L, in_masks[k], ctx);
            CK_TRY(ck_step_make_mask(step, args, masks, &L->values[step->out_masks[0]]));
        }
    }
    return CK_OK;
}

static void add_into(ck_tensor *dst, const ck_tensor *src)
{
    if (dst->dtype == CK_FLOAT32) {
        float *d = dst->data;
        const float *p = src->data;
        for (int64_t i = 0; i < dst->size; i++) d[i] += p[i];
    } else {
        double *d = dst->data;
        const double *p = src->data;
        for (int64_t i = 0; i < dst->size; i++) d[i] += p[i];
    }
}

/* Adds a gradient contribution to a value's gradient (copies the first). */
static void contribute(ck_train_layout *L, int slot, const ck_tensor *g)
{
    ck_tensor *dst = &L->grads[slot];
    if (!dst->data || dst->data == g->data) {
        L->written[slot] = 1;
        return;
    }
    if (L->written[slot]) add_into(dst, g);
    else memcpy(dst->data, g->data, (size_t)dst->size * ck_dtype_size(dst->dtype));
    L->written[slot] = 1;
}

/* One step backwards: input gradients go straight into their values'
 * gradients when this is the first contribution, else into scratch that is
 * added afterwards (fan-out, or the same value twice in one call). */
static ck_status step_backward(ck_model *m, ck_train_layout *L, const ck_train_ctx *ctx, int s, void *block)
{
    const ck_step *step = &m->steps[s];
    ck_layer *layer = step->node->layer;
    const ck_tensor *args[CK_MAX_LAYER_INPUTS];
    ck_tensor *din[CK_MAX_LAYER_INPUTS];
    ck_tensor scratch[CK_MAX_LAYER_INPUTS];
    int direct[CK_MAX_LAYER_INPUTS];
    char *sbase = (char *)L->grad_block + L->scratch_off;
    int any = 0;
    for (int k = 0; k < step->n_in; k++) {
        int slot = step->in_slots[k];
        args[k] = &L->values[slot];
        din[k] = NULL;
        direct[k] = 0;
        if (!L->grads[slot].data || !ck_dtype_is_floating(L->values[slot].dtype)) continue;
        int first = !L->written[slot];
        for (int j = 0; j < k && first; j++) first = step->in_slots[j] != slot;
        if (first) {
            din[k] = &L->grads[slot];
            direct[k] = 1;
        } else {
            scratch[k] = L->grads[slot];
            scratch[k].data = sbase;
            din[k] = &scratch[k];
        }
        sbase += align64((size_t)L->grads[slot].size * ck_dtype_size(L->grads[slot].dtype));
        any = 1;
    }
    if (!any && ck_layer_trainable_weight_count(layer) == 0) return CK_OK;
    /* Outputs no gradient reached (a state nobody used) get zeros: a
     * class with several outputs reads every dout. */
    for (int k = 0; k < step->n_out; k++) {
        int slot = step->out_slot + k;
        if (!L->written[slot] && L->grads[slot].data) {
            memset(L->grads[slot].data, 0, (size_t)L->grads[slot].size * ck_dtype_size(L->grads[slot].dtype));
            L->written[slot] = 1;
        }
    }
    ck_train_ctx step_ctx = ctx ? *ctx : (ck_train_ctx){0};
    step_ctx.mask = mask_value(m, L, ck_step_mask_in_flow(step, fed_of(m, ctx)), ctx);
    const ck_tensor *all_masks[CK_MAX_LAYER_INPUTS];
    step_ctx.masks = step_masks(step, L, all_masks);
    CK_TRY(ck_layer_backward(layer, &step_ctx, step->n_in, args, &L->values[step->out_slot],
                             &L->grads[step->out_slot], (char *)block + L->saved_off[s], din));
    for (int k = 0; k < step->n_in; k++)
        if (din[k]) {
            if (direct[k]) L->written[step->in_slots[k]] = 1;
            else contribute(L, step->in_slots[k], din[k]);
        }
    return CK_OK;
}

ck_status ck_model_train_backward(ck_model *m, ck_train_layout *L, const ck_train_ctx *ctx,
                                  const ck_tensor *const *inputs, void *block, const ck_tensor *const *douts,
                                  ck_tensor *const *dins)
{
    bind_values(m, L, inputs, block);
    for (int i = 0; i < m->n_inputs; i++) L->grads[m->input_slots[i]].data = dins && dins[i] ? dins[i]->data : NULL;
    memset(L->written, 0, (size_t)m->n_slots);
    for (int o = 0; o < m->n_outputs; o++)
        if (douts[o]) contribute(L, m->output_slots[o], douts[o]);
    for (int s = m->n_steps - 1; s >= 0; s--) {
        int reached = 0;
        for (int k = 0; k < m->steps[s].n_out; k++) reached |= L->written[m->steps[s].out_slot + k];
        if (!reached) continue; /* no gradient reaches this step's values */
        CK_TRY(step_backward(m, L, ctx, s, block));
    }
    /* Inputs no gradient reached get zeros. */
    for (int i = 0; dins && i < m->n_inputs; i++) {
        int slot = m->input_slots[i];
        if (dins[i] && !L->written[slot]) memset(dins[i]->data, 0, (size_t)dins[i]->size * ck_dtype_size(dins[i]->dtype));
        L->written[slot] = 1;
    }
    return CK_OK;
}

const ck_tensor *ck_model_output_loss_weights(ck_model *m, ck_train_layout *L, int o,
                                              const ck_tensor *sample_weight)
{
    int ms = m->output_mask_slots[o];
    if (ms < 0) return NULL;
    int k = 0;
    for (int j = 0; j < o; j++) k += m->output_mask_slots[j] >= 0;
    ck_mask_loss_weights(&L->values[ms], sample_weight, L->loss_w[k]);
    return L->loss_w[k];
}

void ck_mask_loss_weights(const ck_tensor *mask_t, const ck_tensor *sample_weight, ck_tensor *w)
{
    const int32_t *mask = mask_t->data;
    int64_t n = w->size, valid = 0, rows = w->rank > 0 ? w->shape[0] : 1, per_row = rows ? n / rows : 0;
    for (int64_t i = 0; i < n; i++) valid += mask[i] != 0;
    /* divide_no_nan: no valid position gives weights 0. */
    double scale = valid ? (double)n / (double)valid : 0.0;
    double *out = w->data;
    for (int64_t i = 0; i < n; i++) {
        double sw = sample_weight && per_row ? ck_tensor_get(sample_weight, i / per_row) : 1.0;
        out[i] = mask[i] ? sw * scale : 0.0;
    }
}

/* ---- a nested model as a layer of an outer training step ---------------- */

size_t ck_model_saved_bytes(const ck_layer *layer, int n, const ck_shape *in, const ck_shape *out)
{
    ck_train_layout *L = NULL;
    (void)out;
    /* The layout is cached state, not the model's meaning: planning it
     * through a const pointer is fine. */
    if (ck_model_train_layout((ck_model *)(uintptr_t)layer, n, in, &L) != CK_OK) return SIZE_MAX;
    return L->fwd_bytes;
}

static ck_status nested_layout(ck_model *m, int n, const ck_tensor *const *in, ck_train_layout **L)
{
    ck_shape shapes[CK_MAX_LAYER_INPUTS];
    for (int i = 0; i < n; i++) shapes[i] = ck_tensor_shape(in[i]);
    return ck_model_train_layout(m, n, shapes, L);
}

ck_status ck_model_layer_train_call(ck_layer *layer, const ck_train_ctx *ctx, int n, const ck_tensor *const *in,
                                    ck_tensor *const *out, void *saved)
{
    ck_model *m = (ck_model *)layer;
    ck_train_layout *L = NULL;
    CK_TRY(nested_layout(m, n, in, &L));
    CK_TRY(ck_model_train_forward(m, L, ctx, in, saved));
    for (int o = 0; o < m->n_outputs; o++) {
        const ck_tensor *r = &L->values[m->output_slots[o]];
        memcpy(out[o]->data, r->data, (size_t)r->size * ck_dtype_size(r->dtype));
    }
    return CK_OK;
}

ck_status ck_model_layer_backward(ck_layer *layer, const ck_train_ctx *ctx, int n, const ck_tensor *const *in,
                                  const ck_tensor *out, const ck_tensor *dout, void *saved, ck_tensor *const *din)
{
    ck_model *m = (ck_model *)layer;
    ck_train_layout *L = NULL;
    (void)out;
    CK_TRY(nested_layout(m, n, in, &L));
    /* dout holds one gradient per output (the layer contract). */
    const ck_tensor *douts[CK_MAX_LAYER_OUTPUTS] = {NULL};
    for (int o = 0; o < m->n_outputs; o++) douts[o] = ck_dtype_is_floating(dout[o].dtype) && dout[o].data ? &dout[o] : NULL;
    return ck_model_train_backward(m, L, ctx, in, saved, douts, din);
}
