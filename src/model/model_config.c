/* Model configs: get_config of Functional / Sequential models in the
 * tf.keras 2.x form, and from_config for every dialect in the real files
 * (tf.keras 2.x, Keras 1/2 "Model", Keras 3 inbound_nodes, Sequential as
 * a list or a dict). */
#include <stdio.h>
#include <string.h>

#include "model/model.h"
#include "model/k3_ops.h"
#include "model/node_call.h"

/* ---- writing ------------------------------------------------------------- */

static int in_model(const ck_model *m, const ck_node *node)
{
    if (node->is_input) {
        for (int i = 0; i < m->n_inputs; i++)
            if (ck_tensor_history(m->inputs[i])->layer == node->layer) return 1;
        return 0;
    }
    for (int s = 0; s < m->n_steps; s++)
        if (m->steps[s].node == node) return 1;
    return 0;
}

/* A nested model's node 0 links its own inputs and outputs; Keras neither
 * saves it nor counts it. */
static int skips_first_node(const ck_layer *layer) { return ck_layer_as_model((ck_layer *)layer) != NULL; }

/* Index of `node` among the nodes of its layer that belong to the model. */
static int kept_index(const ck_model *m, const ck_node *node)
{
    const ck_layer *l = node->layer;
    int kept = skips_first_node(l);
    for (int i = 0; i < l->n_inbound; i++) {
        if (!in_model(m, l->inbound[i])) continue;
        if (l->inbound[i] == node) return kept;
        kept++;
    }
    return -1;
}

static json_t *history_ref(const ck_model *m, const ck_tensor *t, int with_kwargs)
{
    const ck_keras_history *h = ck_tensor_history(t);
    const ck_node *node = h->layer->inbound[h->node_index];
    json_t *ref = json_array();
    if (!ref) return NULL;
    int bad = json_array_append_new(ref, json_string(h->layer->name)) ||
              json_array_append_new(ref, json_integer(kept_index(m, node))) ||
              json_array_append_new(ref, json_integer(h->tensor_index)) ||
              (with_kwargs && json_array_append_new(ref, json_object()));
    if (bad) {
        json_decref(ref);
        return NULL;
    }
    return ref;
}

static json_t *tensor_ref(const void *m, const ck_tensor *t) { return history_ref(m, t, 0); }

static ck_status layer_entry(const ck_model *m, const ck_layer *layer, json_t **out)
{
    json_t *wrapper = NULL;
    CK_TRY(ck_layer_config_json(layer, &wrapper));
    json_t *nodes = json_array();
    ck_status st = nodes ? CK_OK : ck_oom("a model config");
    for (int i = 0; st == CK_OK && i < layer->n_inbound; i++) {
        const ck_node *node = layer->inbound[i];
        if (node->is_input || !in_model(m, node)) continue;
        /* The call's arguments as tf.keras 2.x writes them (node_call.c). */
        json_t *entry = NULL;
        st = ck_node_call_write(node, tensor_ref, m, &entry);
        if (st == CK_OK && json_array_append_new(nodes, entry)) st = ck_oom("a model config");
    }
    if (st == CK_OK) st = ck_json_set(wrapper, "name", json_string(layer->name));
    if (st == CK_OK) {
        st = ck_json_set(wrapper, "inbound_nodes", nodes);
        nodes = NULL;
    }
    json_decref(nodes);
    if (st != CK_OK) {
        json_decref(wrapper);
        return st;
    }
    *out = wrapper;
    return CK_OK;
}

static json_t *coordinates(const ck_model *m, ck_tensor *const *tensors, int n)
{
    json_t *list = json_array();
    for (int i = 0; list && i < n; i++) {
        if (json_array_append_new(list, history_ref(m, tensors[i], 0))) {
            json_decref(list);
            return NULL;
        }
    }
    return list;
}

ck_status ck_model_config_json(const ck_model *m, json_t **out)
{
    json_t *c = json_object(), *layers = json_array();
    ck_status st = c && layers ? CK_OK : ck_oom("a model config");
    if (st == CK_OK) st = ck_json_set(c, "name", json_string(m->base.name));
    for (int i = 0; st == CK_OK && i < m->n_layers; i++) {
        json_t *entry = NULL;
        st = layer_entry(m, m->layers[i], &entry);
        if (st == CK_OK && m->sequential) {
            /* Sequential entries carry no graph. */
            json_object_del(entry, "name");
            json_object_del(entry, "inbound_nodes");
        }
        if (st == CK_OK && json_array_append_new(layers, entry)) st = ck_oom("a model config");
    }
    if (st == CK_OK) {
        st = ck_json_set(c, "layers", layers);
        layers = NULL;
    }
    if (st == CK_OK && !m->sequential) st = ck_json_set(c, "input_layers", coordinates(m, m->inputs, m->n_inputs));
    if (st == CK_OK && !m->sequential) st = ck_json_set(c, "output_layers", coordinates(m, m->outputs, m->n_outputs));
    json_decref(layers);
    if (st != CK_OK) {
        json_decref(c);
        return st;
    }
    *out = c;
    return CK_OK;
}

/* ---- reading ------------------------------------------------------------- */

typedef ck_node_ref node_ref;

typedef struct created_layer {
    ck_layer *layer;
    const json_t *nodes;        /* its inbound_nodes data */
    json_t *rewritten;          /* a Keras 3 operation's TFOpLambda entry
                                   (owned), or NULL */
    int processed;              /* nodes of the config done so far */
    int first_config_index;     /* 1 for nested models (node 0 skipped) */
    int first_coordinate_index; /* the same in input_layers / output_layers */
    int *actual;                /* config node index -> actual node index */
} created_layer;

static created_layer *find_created(created_layer *c, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (strcmp(c[i].layer->name, name) == 0) return &c[i];
    return NULL;
}

/* The symbolic tensor a reference points at, or NULL if not made yet. */
static ck_status resolve(created_layer *c, int n, const node_ref *r, int coordinate, ck_tensor **out)
{
    created_layer *src = find_created(c, n, r->layer);
    if (!src) return ck_error(CK_FORMAT_ERROR, "model config refers to an unknown layer \"%s\"", r->layer);
    int actual = -1;
    if (src->layer->cls == &ck_input_layer_class) {
        actual = 0;
    } else {
        int k = r->node_index - (coordinate ? src->first_coordinate_index : src->first_config_index);
        if (k < 0) return ck_error(CK_FORMAT_ERROR, "model config: node %d of layer \"%s\" does not exist", r->node_index, r->layer);
        if (k < src->processed) actual = src->actual[k];
    }
    *out = NULL;
    if (actual < 0) return CK_OK; /* not processed yet */
    const ck_node *node = src->layer->inbound[actual];
    if (r->tensor_index < 0 || r->tensor_index >= node->n_outputs)
        return ck_error(CK_FORMAT_ERROR, "model config: layer \"%s\" has no output %d", r->layer, r->tensor_index);
    *out = node->outputs[r->tensor_index];
    return CK_OK;
}

/* Processes the pending nodes of one layer in order; stops at the first
 * whose inputs do not exist yet.  *progress is set if any node was made. */
static ck_status process_layer_nodes(created_layer *c, int n, created_layer *cl, int *progress)
{
    size_t total = json_array_size(cl->nodes);
    while ((size_t)cl->processed < total) {
        ck_node_call call;
        ck_tensor *in[CK_MAX_LAYER_INPUTS], *out = NULL;
        ck_status st = ck_node_call_parse(cl->layer, json_array_get(cl->nodes, (size_t)cl->processed), &call);
        int ready = 1;
        for (int i = 0; st == CK_OK && ready && i < call.n_refs; i++) {
            st = resolve(c, n, &call.refs[i], 0, &in[i]);
            ready = st == CK_OK && in[i];
        }
        ck_tensor *mask_arg = NULL;
        if (st == CK_OK && ready && call.has_mask_ref) {
            st = resolve(c, n, &call.mask_ref, 0, &mask_arg);
            ready = st == CK_OK && mask_arg;
        }
        if (st == CK_OK && ready && call.n_refs == 0)
            st = ck_error(CK_FORMAT_ERROR, "model config: layer \"%s\" has a node without inputs", cl->layer->name);
        /* The layer learns what the call asked for, then is applied. */
        const ck_layer_class *cls = cl->layer->cls;
        if (st == CK_OK && ready && cls->node_kwargs) {
            json_t *none = call.raw_kwargs ? NULL : json_object();
            st = call.raw_kwargs || none ? cls->node_kwargs(cl->layer, call.raw_kwargs ? call.raw_kwargs : none)
                                         : ck_oom("model loading");
            json_decref(none);
        }
        if (st == CK_OK && ready && cls->node_call) st = cls->node_call(cl->layer, call.args, call.kwargs);
        if (st == CK_OK && ready && mask_arg) st = ck_k3_check_mask_arg(cl->layer, mask_arg, ck_tensor_mask(in[0]));
        if (st == CK_OK && ready) st = ck_layer_apply(cl->layer, call.n_refs, in, &out);
        if (st == CK_OK && ready) {
            const ck_keras_history *h = ck_tensor_history(out);
            ck_node_call_record(&call, h->layer->inbound[h->node_index]);
            cl->actual[cl->processed++] = h->node_index;
            *progress = 1;
        }
        ck_node_call_free(&call);
        if (st != CK_OK || !ready) return st;
    }
    return CK_OK;
}

static ck_status read_coordinates(created_layer *c, int n, const json_t *list, const char *what, ck_tensor **out,
                                  int *count)
{
    if (!json_is_array(list)) return ck_error(CK_FORMAT_ERROR, "model config: %s is missing or not a list", what);
    /* Keras 3 writes a single input as a flat [name, node, tensor]. */
    int flat = json_array_size(list) >= 1 && json_is_string(json_array_get(list, 0));
    size_t n_items = flat ? 1 : json_array_size(list);
    if (n_items > CK_MAX_LAYER_INPUTS) return ck_error(CK_NOT_IMPLEMENTED, "more than %d %s", CK_MAX_LAYER_INPUTS, what);
    for (size_t i = 0; i < n_items; i++) {
        const json_t *r = flat ? list : json_array_get(list, i);
        if (!json_is_array(r) || json_array_size(r) < 3 || !json_is_string(json_array_get(r, 0)))
            return ck_error(CK_FORMAT_ERROR, "model config: bad entry in %s", what);
        node_ref ref = {json_string_value(json_array_get(r, 0)), (int)json_integer_value(json_array_get(r, 1)),
                        (int)json_integer_value(json_array_get(r, 2))};
        CK_TRY(resolve(c, n, &ref, 1, &out[i]));
        if (!out[i]) return ck_error(CK_FORMAT_ERROR, "model config: %s refers to a node of \"%s\" that was never made",
                                     what, ref.layer);
    }
    *count = (int)n_items;
    return CK_OK;
}

/* Keras 3 writes node {"args", "kwargs"} objects, tf.keras 2.x lists. */
static int is_keras3_graph(const created_layer *c, int n)
{
    for (int i = 0; i < n; i++)
        for (size_t k = 0; k < json_array_size(c[i].nodes); k++)
            if (json_is_object(json_array_get(c[i].nodes, k))) return 1;
    return 0;
}

/* Keras 3 has no built-in node in a nested model's call list: a node's
 * tensor references count from 0 for every layer; only input_layers /
 * output_layers count a Functional's (not a Sequential's) built-in node
 * (functional.py's node_reindexing_map against its raw keras_history). */
static void use_keras3_node_indices(created_layer *c, int n)
{
    for (int i = 0; i < n; i++) {
        ck_model *m = ck_layer_as_model(c[i].layer);
        c[i].first_config_index = 0;
        c[i].first_coordinate_index = m && !m->sequential;
    }
}

static ck_status functional_from_config(const json_t *config, ck_model **out)
{
    const json_t *layers = json_object_get(config, "layers");
    if (!json_is_array(layers)) return ck_error(CK_FORMAT_ERROR, "model config has no \"layers\" list");
    int n = (int)json_array_size(layers);
    created_layer *c = ck_calloc((size_t)(n ? n : 1), sizeof *c);
    if (!c) return ck_oom("model loading");
    ck_status st = CK_OK;
    int made = 0;
    for (int i = 0; st == CK_OK && i < n; i++) {
        const json_t *entry = json_array_get(layers, (size_t)i);
        if (ck_k3_op_entry(entry)) {
            st = ck_k3_op_rewrite(entry, &c[i].rewritten);
            if (st != CK_OK) break;
            entry = c[i].rewritten;
        }
        st = ck_layer_from_json(entry, &c[i].layer);
        if (st != CK_OK) break;
        made++;
        const char *entry_name = json_string_value(json_object_get(entry, "name"));
        if (entry_name && strcmp(entry_name, c[i].layer->name) != 0)
            st = ck_error(CK_FORMAT_ERROR, "model config: layer entry \"%s\" has config name \"%s\"", entry_name,
                          c[i].layer->name);
        if (st == CK_OK && find_created(c, i, c[i].layer->name))
            st = ck_error(CK_VALUE_ERROR, "The name \"%s\" is used more than once in the model config. All layer "
                          "names should be unique.", c[i].layer->name);
        c[i].nodes = json_object_get(entry, "inbound_nodes");
        if (st == CK_OK && c[i].nodes && !json_is_array(c[i].nodes))
            st = ck_error(CK_FORMAT_ERROR, "model config: inbound_nodes of \"%s\" is not a list", c[i].layer->name);
        c[i].first_config_index = c[i].first_coordinate_index = skips_first_node(c[i].layer);
        size_t nn = json_array_size(c[i].nodes);
        c[i].actual = ck_calloc(nn ? nn : 1, sizeof(int));
        if (st == CK_OK && !c[i].actual) st = ck_oom("model loading");
    }
    if (st == CK_OK && is_keras3_graph(c, n)) use_keras3_node_indices(c, n);
    /* Keras' reconstruct_from_config: sweep the layers in config order until
     * every node is made; a sweep that makes nothing means a bad graph. */
    for (int pending = 1; st == CK_OK && pending;) {
        int progress = 0;
        pending = 0;
        for (int i = 0; st == CK_OK && i < n; i++) {
            if (c[i].layer->cls == &ck_input_layer_class) continue;
            st = process_layer_nodes(c, n, &c[i], &progress);
            if ((size_t)c[i].processed < json_array_size(c[i].nodes)) pending = 1;
        }
        if (st == CK_OK && pending && !progress)
            st = ck_error(CK_FORMAT_ERROR, "model config: the graph cannot be built (a node's inputs never appear)");
    }
    ck_tensor *ins[CK_MAX_LAYER_INPUTS], *outs[CK_MAX_LAYER_INPUTS];
    int n_in = 0, n_out = 0;
    if (st == CK_OK) st = read_coordinates(c, n, json_object_get(config, "input_layers"), "input_layers", ins, &n_in);
    if (st == CK_OK) st = read_coordinates(c, n, json_object_get(config, "output_layers"), "output_layers", outs, &n_out);
    const json_t *jt = json_object_get(config, "trainable");
    if (st == CK_OK)
        st = ck_model_create(&ck_functional_class, n_in, ins, n_out, outs,
                             json_string_value(json_object_get(config, "name")),
                             !json_is_false(jt), out);
    for (int i = 0; i < made; i++) ck_layer_free(c[i].layer); /* the model holds its references */
    for (int i = 0; i < n; i++) {
        ck_free(c[i].actual);
        json_decref(c[i].rewritten);
    }
    ck_free(c);
    return st;
}

static ck_status sequential_from_config(const json_t *config, ck_model **out)
{
    /* Keras 2.0-2.2 wrote the Sequential config as the bare layer list. */
    const json_t *layers = json_is_array(config) ? config : json_object_get(config, "layers");
    const char *name = json_is_object(config) ? json_string_value(json_object_get(config, "name")) : NULL;
    if (!json_is_array(layers) || json_array_size(layers) == 0)
        return ck_error(CK_FORMAT_ERROR, "Sequential config has no layers");
    int n = (int)json_array_size(layers);
    ck_layer **made = ck_calloc((size_t)n, sizeof *made);
    if (!made) return ck_oom("model loading");
    ck_status st = CK_OK;
    int count = 0;
    ck_shape input_shape = {0, {0}};
    int64_t batch = 0;
    ck_dtype input_dtype = CK_FLOAT32;
    char input_name[160] = "";
    for (int i = 0; st == CK_OK && i < n; i++) {
        ck_layer *l = NULL;
        st = ck_layer_from_json(json_array_get(layers, (size_t)i), &l);
        if (st != CK_OK) break;
        if (l->cls == &ck_input_layer_class) {
            /* An explicit InputLayer entry gives the input shape and dtype. */
            if (i != 0) st = ck_error(CK_FORMAT_ERROR, "Sequential config: an InputLayer after the first layer");
            input_shape.rank = l->batch_input_shape.rank - 1;
            for (int d = 0; d < input_shape.rank; d++) input_shape.dims[d] = l->batch_input_shape.dims[d + 1];
            batch = l->batch_input_shape.dims[0];
            input_dtype = l->dtype;
            snprintf(input_name, sizeof input_name, "%s", l->name);
            ck_layer_free(l);
            continue;
        }
        if (count == 0 && input_shape.rank == 0) {
            if (!l->has_batch_input_shape)
                st = ck_error(CK_NOT_IMPLEMENTED, "Sequential config without an input shape: ckeras cannot build it");
            input_shape.rank = l->batch_input_shape.rank - 1;
            for (int d = 0; d < input_shape.rank; d++) input_shape.dims[d] = l->batch_input_shape.dims[d + 1];
            batch = l->batch_input_shape.dims[0];
        }
        made[count++] = l;
    }
    ck_tensor *x = NULL, *h;
    if (st == CK_OK && count == 0) st = ck_error(CK_FORMAT_ERROR, "Sequential config has only an InputLayer");
    /* An explicit InputLayer keeps its name; else tf.keras names the
     * implicit one "<first layer>_input". */
    if (st == CK_OK && !input_name[0]) snprintf(input_name, sizeof input_name, "%s_input", made[0]->name);
    if (st == CK_OK)
        st = ck_input(&x, &(ck_input_opts){.shape = input_shape, .batch_size = batch > 0 ? batch : 0,
                                           .dtype = input_dtype, .name = input_name});
    h = x;
    for (int i = 0; st == CK_OK && i < count; i++) st = ck_layer_apply(made[i], 1, &h, &h);
    if (st == CK_OK) {
        const json_t *jt = json_is_object(config) ? json_object_get(config, "trainable") : NULL;
        st = ck_model_create(&ck_sequential_class, 1, &x, 1, &h, name, !json_is_false(jt), out);
    }
    if (x) ck_layer_free(ck_tensor_layer(x));
    for (int i = 0; i < count; i++) ck_layer_free(made[i]);
    ck_free(made);
    return st;
}

ck_status ck_model_from_config_json(const json_t *config, int sequential, ck_model **out)
{
    if (!sequential && !json_is_object(config)) return ck_error(CK_FORMAT_ERROR, "a model config must be an object");
    return sequential ? sequential_from_config(config, out) : functional_from_config(config, out);
}
