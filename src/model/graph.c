/* Building a model's graph from symbolic inputs and outputs, in the order
 * tf.keras uses (Functional._map_graph_network), so that model.layers,
 * summaries and HDF5 layer_names come out as Keras writes them. */
#include <string.h>

#include "model/model.h"

int ck_step_mask_in(const ck_step *step)
{
    return step->n_in > 0 && step->node->layer->cls->call_masked ? step->in_masks[0] : -1;
}

int ck_step_reads_masks(const ck_step *step)
{
    if (!step->node->layer->cls->call_masks) return 0;
    for (int k = 0; k < step->n_in; k++)
        if (step->in_masks[k] >= 0) return 1;
    return 0;
}

int ck_step_mask_in_flow(const ck_step *step, int fed)
{
    return step->n_in > 0 && step->node->layer->cls->call_masked ? ck_step_in_masks(step, fed)[0] : -1;
}

const int *ck_step_in_masks(const ck_step *step, int fed) { return fed ? step->fed_in_masks : step->in_masks; }

int ck_model_feeds_mask(const ck_model *m, const ck_tensor *mask) { return mask && m->fed_mask_ok; }

/* The fed flow: the masks the steps see when input 0 carries a mask
 * (slot `fed`), by each layer's rule.  Masks that layers make (Embedding,
 * Masking) and merges that made one anyway keep their static slots; a
 * merge that would make a mask only from the fed one has no slot, and the
 * flow is then not used (fed_mask_ok 0). */
static ck_status fed_flow(ck_model *m)
{
    int fed = m->n_slots;
    int *vm = ck_malloc((size_t)(m->n_slots + 1) * sizeof *vm);
    if (!vm) return ck_oom("the model graph");
    for (int i = 0; i <= m->n_slots; i++) vm[i] = -1;
    vm[m->input_slots[0]] = fed;
    m->fed_mask_ok = 1;
    ck_status st = CK_OK;
    for (int s = 0; s < m->n_steps && st == CK_OK; s++) {
        ck_step *step = &m->steps[s];
        step->fed_in_masks = ck_malloc((size_t)(step->n_in ? step->n_in : 1) * sizeof(int));
        if (!step->fed_in_masks) {
            st = ck_oom("the model graph");
            break;
        }
        int any = 0;
        for (int k = 0; k < step->n_in; k++) {
            step->fed_in_masks[k] = vm[step->in_slots[k]];
            any |= step->fed_in_masks[k] >= 0;
        }
        int rule = ck_layer_mask_rule(step->node->layer);
        if (rule == CK_MASK_PASS) {
            int carriers = ck_layer_passed_mask_outputs(step->node->layer);
            for (int k = 0; k < carriers && step->n_in > 0; k++) vm[step->out_slot + k] = step->fed_in_masks[0];
        } else if (rule == CK_MASK_MAKE || ((rule == CK_MASK_AND || rule == CK_MASK_COMBINE) && any)) {
            if (step->made_mask) vm[step->out_slot] = step->out_masks[0];
            else m->fed_mask_ok = 0;
        }
    }
    m->fed_out_mask0 = m->fed_mask_ok ? vm[m->output_slots[0]] : -1;
    ck_free(vm);
    return st;
}

ck_status ck_step_make_mask(const ck_step *step, const ck_tensor *const *in, const ck_tensor *const *in_masks,
                            ck_tensor *out)
{
    if (step->mask_rule == CK_MASK_AND) {
        ck_mask_and_into(step->n_in, in_masks, out);
        return CK_OK;
    }
    if (step->mask_rule == CK_MASK_COMBINE)
        return step->node->layer->cls->combine_masks(step->node->layer, step->n_in, in, in_masks, out);
    return step->node->layer->cls->make_mask(step->node->layer, step->n_in, in, out);
}

/* A growable array of pointers. */
typedef struct ptr_list {
    void **items;
    int n, cap;
} ptr_list;

static int list_find(const ptr_list *l, const void *p)
{
    for (int i = 0; i < l->n; i++)
        if (l->items[i] == p) return i;
    return -1;
}

static ck_status list_push(ptr_list *l, void *p)
{
    if (l->n == l->cap) {
        int cap = l->cap ? l->cap * 2 : 16;
        void **grown = ck_realloc(l->items, (size_t)cap * sizeof *grown);
        if (!grown) return ck_oom("the model graph");
        l->items = grown;
        l->cap = cap;
    }
    l->items[l->n++] = p;
    return CK_OK;
}

static void list_free(ptr_list *l) { ck_free(l->items); }

static ck_node *node_of(const ck_tensor *t)
{
    const ck_keras_history *h = ck_tensor_history(t);
    return h->layer->inbound[h->node_index];
}

typedef struct graph_map {
    ptr_list finished, in_progress, order;   /* nodes; order = post-order */
    ptr_list layers;                         /* discovery order (layer_indices) */
    ptr_list depth_nodes;                    /* nodes_depths keys, insertion order */
    int *node_depth;                         /* parallel to depth_nodes */
    ptr_list depth_layers;
    int *layer_depth;
    int depth_cap_nodes, depth_cap_layers;
} graph_map;

static ck_status build_map(graph_map *g, const ck_tensor *t, int level)
{
    ck_node *node = node_of(t);
    if (level > 100000) return ck_error(CK_VALUE_ERROR, "model graph is too deep");
    if (list_find(&g->finished, node) >= 0) return CK_OK;
    if (list_find(&g->in_progress, node) >= 0)
        return ck_error(CK_VALUE_ERROR, "The tensor at layer \"%s\" is part of a cycle.", node->layer->name);
    if (list_find(&g->layers, node->layer) < 0) CK_TRY(list_push(&g->layers, node->layer));
    CK_TRY(list_push(&g->in_progress, node));
    if (!node->is_input)
        for (int i = 0; i < node->n_inputs; i++) CK_TRY(build_map(g, node->inputs[i], level + 1));
    CK_TRY(list_push(&g->finished, node));
    g->in_progress.n--; /* it is the last one pushed */
    return list_push(&g->order, node);
}

/* Ordered dicts node -> depth and layer -> depth (insertion order kept). */
static ck_status set_depth(ptr_list *keys, int **depths, int *cap, void *key, int depth, int only_if_absent)
{
    int i = list_find(keys, key);
    if (i >= 0) {
        if (!only_if_absent) (*depths)[i] = depth;
        return CK_OK;
    }
    CK_TRY(list_push(keys, key));
    if (keys->n > *cap) {
        int ncap = keys->cap;
        int *grown = ck_realloc(*depths, (size_t)ncap * sizeof *grown);
        if (!grown) return ck_oom("the model graph");
        *depths = grown;
        *cap = ncap;
    }
    (*depths)[keys->n - 1] = depth;
    return CK_OK;
}

static int get_depth(const ptr_list *keys, const int *depths, const void *key)
{
    int i = list_find(keys, key);
    return i >= 0 ? depths[i] : 0;
}

static void graph_map_free(graph_map *g)
{
    list_free(&g->finished);
    list_free(&g->in_progress);
    list_free(&g->order);
    list_free(&g->layers);
    list_free(&g->depth_nodes);
    list_free(&g->depth_layers);
    ck_free(g->node_depth);
    ck_free(g->layer_depth);
}

static ck_status compute_depths(graph_map *g, int n_in, ck_tensor *const *inputs)
{
    for (int k = g->order.n - 1; k >= 0; k--) {
        ck_node *node = g->order.items[k];
        CK_TRY(set_depth(&g->depth_nodes, &g->node_depth, &g->depth_cap_nodes, node, 0, 1));
        int depth = get_depth(&g->depth_nodes, g->node_depth, node);
        int prev = get_depth(&g->depth_layers, g->layer_depth, node->layer);
        if (prev > depth) depth = prev;
        CK_TRY(set_depth(&g->depth_layers, &g->layer_depth, &g->depth_cap_layers, node->layer, depth, 0));
        CK_TRY(set_depth(&g->depth_nodes, &g->node_depth, &g->depth_cap_nodes, node, depth, 0));
        if (node->is_input) continue;
        for (int i = 0; i < node->n_inputs; i++) {
            ck_node *parent = node_of(node->inputs[i]);
            int pd = get_depth(&g->depth_nodes, g->node_depth, parent);
            CK_TRY(set_depth(&g->depth_nodes, &g->node_depth, &g->depth_cap_nodes, parent,
                             depth + 1 > pd ? depth + 1 : pd, 0));
        }
    }
    /* Inputs not connected to any output still belong to the model. */
    for (int i = 0; i < n_in; i++) {
        ck_layer *il = ck_tensor_history(inputs[i])->layer;
        if (list_find(&g->depth_layers, il) >= 0) continue;
        CK_TRY(set_depth(&g->depth_layers, &g->layer_depth, &g->depth_cap_layers, il, 0, 0));
        CK_TRY(set_depth(&g->depth_nodes, &g->node_depth, &g->depth_cap_nodes, il->inbound[0], 0, 0));
    }
    return CK_OK;
}

static int max_depth(const int *d, int n)
{
    int m = 0;
    for (int i = 0; i < n; i++)
        if (d[i] > m) m = d[i];
    return m;
}

/* Layer discovery index; unconnected inputs sort first (-1). */
static int layer_index(const graph_map *g, const ck_layer *l)
{
    return list_find(&g->layers, l);
}

static ck_status check_inputs_and_names(const ck_model *m, const graph_map *g, int n_in, ck_tensor *const *inputs)
{
    for (int i = 0; i < n_in; i++) {
        const ck_keras_history *h = ck_tensor_history(inputs[i]);
        if (!h || !h->layer->inbound[h->node_index]->is_input)
            return ck_error(CK_VALUE_ERROR, "Input %d of model \"%s\" must come from ck_input (an InputLayer)", i,
                            m->base.name);
    }
    for (int a = 0; a < g->depth_layers.n; a++) {
        const ck_layer *la = g->depth_layers.items[a];
        int uses = 0;
        for (int b = 0; b < g->depth_layers.n; b++)
            uses += strcmp(la->name, ((ck_layer *)g->depth_layers.items[b])->name) == 0;
        if (uses > 1)
            return ck_error(CK_VALUE_ERROR, "The name \"%s\" is used %d times in the model. All layer names should "
                            "be unique.", la->name, uses);
    }
    return CK_OK;
}

static int slot_of(const ck_model *m, const ck_tensor *t)
{
    for (int i = 0; i < m->n_slots; i++)
        if (m->slot_tensors[i] == t) return i;
    return -1;
}

ck_status ck_model_init_graph(ck_model *m, int n_in, ck_tensor *const *inputs, int n_out,
                              ck_tensor *const *outputs)
{
    graph_map g;
    memset(&g, 0, sizeof g);
    ck_status st = CK_OK;
    if (n_in < 1 || n_out < 1) return ck_error(CK_VALUE_ERROR, "a model needs at least one input and one output");
    for (int i = 0; i < n_in; i++)
        if (!ck_tensor_history(inputs[i]))
            return ck_error(CK_VALUE_ERROR, "model input %d is not a symbolic tensor", i);
    for (int i = 0; i < n_out; i++)
        if (!ck_tensor_history(outputs[i]))
            return ck_error(CK_VALUE_ERROR, "model output %d is not a symbolic tensor", i);
    for (int i = 0; st == CK_OK && i < n_out; i++) st = build_map(&g, outputs[i], 0);
    if (st == CK_OK) st = compute_depths(&g, n_in, inputs);
    if (st == CK_OK) st = check_inputs_and_names(m, &g, n_in, inputs);
    if (st != CK_OK) {
        graph_map_free(&g);
        return st;
    }

    /* model.layers: by depth, deepest first; ties by discovery order. */
    int n_layers = g.depth_layers.n, n_nodes = g.depth_nodes.n;
    ck_layer **layers = ck_calloc((size_t)n_layers, sizeof *layers);
    ck_step *steps = ck_calloc((size_t)(n_nodes ? n_nodes : 1), sizeof *steps);
    int n_values = n_in;
    for (int i = 0; i < n_nodes; i++) {
        const ck_node *node = g.depth_nodes.items[i];
        n_values += node->n_outputs;
        for (int k = 0; node->masks && k < node->n_outputs; k++) n_values += node->mask_owned[k];
    }
    ck_tensor **slots = ck_calloc((size_t)n_values, sizeof *slots);
    int *in_slots = ck_calloc((size_t)n_in, sizeof *in_slots), *out_slots = ck_calloc((size_t)n_out, sizeof *out_slots);
    ck_tensor **min = ck_calloc((size_t)n_in, sizeof *min), **mout = ck_calloc((size_t)n_out, sizeof *mout);
    if (!layers || !steps || !slots || !in_slots || !out_slots || !min || !mout) st = ck_oom("the model graph");
    int nl = 0, ns = 0;
    for (int d = max_depth(g.layer_depth, n_layers); st == CK_OK && d >= 0; d--) {
        /* Stable selection by discovery index among the layers at depth d. */
        int last = -2;
        for (;;) {
            int best = -1, best_idx = 0;
            for (int i = 0; i < n_layers; i++) {
                if (g.layer_depth[i] != d) continue;
                int idx = layer_index(&g, g.depth_layers.items[i]);
                if (idx > last && (best < 0 || idx < best_idx)) best = i, best_idx = idx;
            }
            if (best < 0) break;
            layers[nl++] = g.depth_layers.items[best];
            last = best_idx;
        }
    }
    m->slot_tensors = slots;
    m->n_slots = 0;
    for (int i = 0; st == CK_OK && i < n_in; i++) {
        in_slots[i] = m->n_slots;
        slots[m->n_slots++] = inputs[i];
        min[i] = inputs[i];
    }
    /* Execution order: nodes by depth, deepest first, insertion order. */
    for (int d = max_depth(g.node_depth, n_nodes); st == CK_OK && d >= 0; d--) {
        for (int i = 0; st == CK_OK && i < n_nodes; i++) {
            ck_node *node = g.depth_nodes.items[i];
            if (g.node_depth[i] != d || node->is_input) continue;
            ck_step *step = &steps[ns];
            step->node = node;
            step->n_in = node->n_inputs;
            step->in_slots = ck_calloc((size_t)(node->n_inputs ? node->n_inputs : 1), sizeof(int));
            if (!step->in_slots) {
                st = ck_oom("the model graph");
                break;
            }
            ns++;
            for (int k = 0; k < node->n_inputs; k++) {
                step->in_slots[k] = slot_of(m, node->inputs[k]);
                if (step->in_slots[k] < 0)
                    st = ck_error(CK_VALUE_ERROR, "Graph disconnected: cannot obtain value for an input of layer "
                                  "\"%s\": it does not come from the model's inputs.", node->layer->name);
            }
            step->out_slot = m->n_slots;
            step->n_out = node->n_outputs;
            for (int k = 0; k < node->n_outputs; k++) slots[m->n_slots++] = node->outputs[k];
            /* Masks: inputs' from the slots of their producers (earlier
             * steps); a made mask gets a slot after the outputs. */
            step->in_masks = ck_malloc((size_t)(node->n_inputs ? node->n_inputs : 1) * sizeof(int));
            step->out_masks = ck_malloc((size_t)(node->n_outputs ? node->n_outputs : 1) * sizeof(int));
            if (!step->in_masks || !step->out_masks) {
                st = ck_oom("the model graph");
                break;
            }
            step->mask_rule = ck_layer_mask_rule(node->layer);
            for (int k = 0; k < node->n_inputs; k++) {
                const ck_tensor *mk = ck_tensor_mask(node->inputs[k]);
                step->in_masks[k] = mk ? slot_of(m, mk) : -1;
            }
            for (int k = 0; k < node->n_outputs; k++) {
                const ck_tensor *mk = node->masks ? node->masks[k] : NULL;
                step->out_masks[k] = -1;
                if (mk && node->mask_owned[k]) {
                    step->made_mask = 1;
                    step->out_masks[k] = m->n_slots;
                    slots[m->n_slots++] = node->masks[k];
                } else if (mk) {
                    step->out_masks[k] = slot_of(m, mk);
                }
            }
        }
    }
    int *out_mask_slots = ck_malloc((size_t)n_out * sizeof *out_mask_slots);
    if (!out_mask_slots && st == CK_OK) st = ck_oom("the model graph");
    m->output_mask_slots = out_mask_slots;
    for (int i = 0; st == CK_OK && i < n_out; i++) {
        const ck_tensor *mk = ck_tensor_mask(outputs[i]);
        out_mask_slots[i] = mk ? slot_of(m, mk) : -1;
        out_slots[i] = slot_of(m, outputs[i]);
        mout[i] = outputs[i];
        if (out_slots[i] < 0) st = ck_error(CK_VALUE_ERROR, "model output %d is not reachable from the inputs", i);
    }
    graph_map_free(&g);
    m->steps = steps;
    m->n_steps = ns;
    m->input_slots = in_slots;
    m->output_slots = out_slots;
    m->inputs = min;
    m->outputs = mout;
    m->n_inputs = n_in;
    m->n_outputs = n_out;
    if (st == CK_OK) st = fed_flow(m);
    if (st == CK_OK && !(m->cycle_scratch = ck_malloc(ck_model_cycle_scratch_bytes(nl))))
        st = ck_oom("the model graph");
    if (st != CK_OK) {
        ck_free(layers);
        return st; /* the rest is freed by ck_model_destroy */
    }
    for (int i = 0; i < nl; i++) ck_layer_retain(layers[i]);
    m->layers = layers;
    m->n_layers = nl;
    return CK_OK;
}

void ck_model_destroy(ck_layer *layer)
{
    ck_model *m = (ck_model *)layer;
    ck_model_drop_plans(m);
    ck_model_drop_train_layouts(m);
    if (m->trainer_free) m->trainer_free(m->trainer);
    m->trainer = NULL;
    ck_free(m->saved_training_config);
    m->saved_training_config = NULL;
    for (int i = 0; i < m->n_steps; i++) {
        ck_free(m->steps[i].in_slots);
        ck_free(m->steps[i].in_masks);
        ck_free(m->steps[i].out_masks);
        ck_free(m->steps[i].fed_in_masks);
    }
    ck_free(m->output_mask_slots);
    ck_free(m->steps);
    ck_free(m->slot_tensors);
    ck_free(m->input_slots);
    ck_free(m->output_slots);
    ck_free(m->inputs);
    ck_free(m->outputs);
    ck_model_break_cycles(m); /* model_cycles.c */
    ck_free(m->cycle_scratch);
    for (int i = 0; i < m->n_layers; i++) ck_layer_free(m->layers[i]);
    ck_free(m->layers);
}
