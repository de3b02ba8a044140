/* Call arguments of functional-config nodes.  tf.keras 2.x writes a node
 * as its first call argument with each tensor replaced by
 * [layer, node, tensor, kwargs] (the same kwargs dict repeated in every
 * entry; a constant is ["_CONSTANT_VALUE", -1, value, kwargs]; TFOpLambda
 * keeps the argument's own structure, so a single tensor is a bare entry)
 * and every later argument, positional or not, as a keyword argument where
 * a tensor is [layer, node, tensor] (Keras' convert_inner_node_data).
 * Keras 3 writes {"args": [...], "kwargs": {...}} with tensors as
 * {"class_name": "__keras_tensor__", "config": {"keras_history": [...]}}.
 * Both are brought to one form: tensors become {"__ck_input__": k}, k the
 * input's position in the node, so that saving can write fresh references
 * whatever the model around the node became. */
#include <string.h>

#include "model/node_call.h"

#define INPUT_KEY "__ck_input__"
#define CONSTANT_KEY "__ck_constant__"
#define CONSTANT_NAME "_CONSTANT_VALUE"

/* [name, node, tensor(, kwargs)] with integer indices: a tf.keras 2.x
 * tensor reference. */
static int is_tf2_ref(const json_t *j)
{
    size_t n = json_array_size(j);
    return json_is_array(j) && (n == 3 || n == 4) && json_is_string(json_array_get(j, 0)) &&
           json_is_integer(json_array_get(j, 1)) && json_is_integer(json_array_get(j, 2));
}

/* The keras_history of a Keras 3 __keras_tensor__, or NULL. */
static const json_t *k3_history(const json_t *j)
{
    if (!json_is_object(j)) return NULL;
    const char *cls = json_string_value(json_object_get(j, "class_name"));
    if (!cls || strcmp(cls, "__keras_tensor__") != 0) return NULL;
    return json_object_get(json_object_get(j, "config"), "keras_history");
}

static json_t *marker(const char *key, json_t *value)
{
    json_t *m = json_object();
    if (m && json_object_set_new(m, key, value)) {
        json_decref(m);
        return NULL;
    }
    if (!m) json_decref(value);
    return m;
}

static ck_status push_ref(const ck_layer *layer, ck_node_call *c, const json_t *h, json_t **out)
{
    if (!json_is_array(h) || json_array_size(h) < 3 || !json_is_string(json_array_get(h, 0)) ||
        !json_is_integer(json_array_get(h, 1)) || !json_is_integer(json_array_get(h, 2)))
        return ck_error(CK_FORMAT_ERROR, "model config: layer \"%s\" has a tensor reference that is not [layer, "
                        "node, tensor]", layer->name);
    if (c->n_refs >= CK_MAX_LAYER_INPUTS)
        return ck_error(CK_NOT_IMPLEMENTED, "layer \"%s\": a node with more than %d inputs", layer->name,
                        CK_MAX_LAYER_INPUTS);
    c->refs[c->n_refs] = (ck_node_ref){json_string_value(json_array_get(h, 0)),
                                       (int)json_integer_value(json_array_get(h, 1)),
                                       (int)json_integer_value(json_array_get(h, 2))};
    *out = marker(INPUT_KEY, json_integer(c->n_refs));
    if (!*out) return ck_oom("a model config");
    c->n_refs++;
    return CK_OK;
}

/* A copy of `j` with each tensor (tf.keras 2.x reference or Keras 3
 * __keras_tensor__) replaced by an input marker, numbered on from
 * c->n_refs depth first. */
static ck_status mark_tensors(const ck_layer *layer, ck_node_call *c, const json_t *j, int keras3, json_t **out)
{
    const json_t *h = keras3 ? k3_history(j) : (is_tf2_ref(j) ? j : NULL);
    if (h) return push_ref(layer, c, h, out);
    if (json_is_array(j)) {
        json_t *a = json_array();
        if (!a) return ck_oom("a model config");
        for (size_t i = 0; i < json_array_size(j); i++) {
            json_t *item = NULL;
            ck_status st = mark_tensors(layer, c, json_array_get(j, i), keras3, &item);
            if (st == CK_OK && json_array_append_new(a, item)) st = ck_oom("a model config");
            if (st != CK_OK) {
                json_decref(a);
                return st;
            }
        }
        *out = a;
        return CK_OK;
    }
    if (json_is_object(j)) {
        json_t *o = json_object();
        if (!o) return ck_oom("a model config");
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)j, k, v) {
            json_t *item = NULL;
            ck_status st = mark_tensors(layer, c, v, keras3, &item);
            if (st == CK_OK && json_object_set_new(o, k, item)) st = ck_oom("a model config");
            if (st != CK_OK) {
                json_decref(o);
                return st;
            }
        }
        *out = o;
        return CK_OK;
    }
    *out = json_deep_copy(j);
    return *out ? CK_OK : ck_oom("a model config");
}

/* The tf.keras 2.x first argument: entries become input or constant
 * markers; the first entry's kwargs are the call's. */
static ck_status mark_tf2_args(const ck_layer *layer, ck_node_call *c, const json_t *j, json_t **out)
{
    size_t n = json_array_size(j);
    if (json_is_array(j) && (n == 3 || n == 4) && json_is_string(json_array_get(j, 0))) {
        const json_t *kw = json_array_get(j, 3);
        if (kw && !json_is_object(kw))
            return ck_error(CK_FORMAT_ERROR, "model config: the kwargs of a node of layer \"%s\" are not an object",
                            layer->name);
        if (kw && !c->raw_kwargs) c->raw_kwargs = kw;
        if (strcmp(json_string_value(json_array_get(j, 0)), CONSTANT_NAME) == 0) {
            json_t *v = json_deep_copy(json_array_get(j, 2));
            *out = v ? marker(CONSTANT_KEY, v) : NULL;
            return *out ? CK_OK : ck_oom("a model config");
        }
        return push_ref(layer, c, j, out);
    }
    if (!json_is_array(j))
        return ck_error(CK_FORMAT_ERROR, "model config: an inbound node of layer \"%s\" is not a list of [layer, "
                        "node, tensor, kwargs] entries", layer->name);
    json_t *a = json_array();
    if (!a) return ck_oom("a model config");
    for (size_t i = 0; i < n; i++) {
        json_t *item = NULL;
        ck_status st = mark_tf2_args(layer, c, json_array_get(j, i), &item);
        if (st == CK_OK && json_array_append_new(a, item)) st = ck_oom("a model config");
        if (st != CK_OK) {
            json_decref(a);
            return st;
        }
    }
    *out = a;
    return CK_OK;
}

static int marker_index(const json_t *j, const char *key)
{
    const json_t *v = json_object_size(j) == 1 ? json_object_get(j, key) : NULL;
    return json_is_integer(v) ? (int)json_integer_value(v) : -1;
}

/* A flat list of input markers 0, 1, ... n-1 (or a single marker 0 when
 * `bare_ok`): the first argument every plain layer call has. */
static int is_plain(const json_t *args, int bare_ok)
{
    if (bare_ok && marker_index(args, INPUT_KEY) == 0) return 1;
    if (!json_is_array(args)) return 0;
    for (size_t i = 0; i < json_array_size(args); i++)
        if (marker_index(json_array_get(args, i), INPUT_KEY) != (int)i) return 0;
    return 1;
}

static int names_input(const ck_layer_class *cls, const char *key)
{
    for (const char *const *n = cls->kwarg_inputs; n && *n; n++)
        if (strcmp(*n, key) == 0) return 1;
    return 0;
}

/* Counts the tensors a JSON value holds. */
static int count_tensors(const json_t *j, int keras3)
{
    if (keras3 ? k3_history(j) != NULL : is_tf2_ref(j)) return 1;
    int n = 0;
    if (json_is_array(j))
        for (size_t i = 0; i < json_array_size(j); i++) n += count_tensors(json_array_get(j, i), keras3);
    if (json_is_object(j)) {
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)j, k, v) n += count_tensors(v, keras3);
    }
    return n;
}

/* The keyword arguments: the class' tensor kwargs in kwarg_inputs order
 * (Keras 3's extra positional arguments named by the first free names),
 * the others copied. */
static ck_status mark_kwargs(const ck_layer *layer, ck_node_call *c, const json_t *kwargs, const json_t *extra,
                             int keras3)
{
    const ck_layer_class *cls = layer->cls;
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)kwargs, k, v) {
        /* ckeras takes the training mode from fit / predict, as Keras 3
         * does over what its configs record; Keras 3's null entries are
         * the defaults it fills in (mask=None), which a tf.keras call
         * would not always accept. */
        if (keras3 && (strcmp(k, "training") == 0 || json_is_null(v))) continue;
        /* Keras 3 passes the input's mask explicitly; ckeras propagates it */
        const json_t *mh = keras3 && strcmp(k, "mask") == 0 && !names_input(cls, k) ? k3_history(v) : NULL;
        if (mh) {
            if (!json_is_array(mh) || json_array_size(mh) < 3 || !json_is_string(json_array_get(mh, 0)))
                return ck_error(CK_FORMAT_ERROR, "model config: layer \"%s\" has a mask reference that is not "
                                "[layer, node, tensor]", layer->name);
            c->has_mask_ref = 1;
            c->mask_ref = (ck_node_ref){json_string_value(json_array_get(mh, 0)),
                                        (int)json_integer_value(json_array_get(mh, 1)),
                                        (int)json_integer_value(json_array_get(mh, 2))};
            continue;
        }
        if (!names_input(cls, k) && count_tensors(v, keras3))
            return ck_error(CK_NOT_IMPLEMENTED, "layer \"%s\" (%s) is called with a tensor for the keyword argument "
                            "\"%s\", which ckeras does not take", layer->name, cls->class_name, k);
        if (!names_input(cls, k)) {
            json_t *copy = json_deep_copy(v);
            if (!copy || json_object_set_new(c->kwargs, k, copy)) return ck_oom("a model config");
        }
    }
    size_t next_extra = 0;
    for (const char *const *n = cls->kwarg_inputs; n && *n; n++) {
        const json_t *val = json_object_get(kwargs, *n);
        if (!val && next_extra < json_array_size(extra)) val = json_array_get(extra, next_extra++);
        if (!val) continue;
        json_t *marked = NULL;
        CK_TRY(mark_tensors(layer, c, val, keras3, &marked));
        if (json_object_set_new(c->kwargs, *n, marked)) return ck_oom("a model config");
    }
    if (next_extra < json_array_size(extra))
        return ck_error(CK_NOT_IMPLEMENTED, "layer \"%s\" (%s) is called with %zu positional arguments: ckeras "
                        "takes the first and, by name, %zu more", layer->name, cls->class_name,
                        json_array_size(extra) + 1, next_extra);
    return CK_OK;
}

/* 1 if the file itself holds one of ckeras' marker keys (which would
 * pass for a tensor or constant of the normalised form). */
static int has_marker_keys(const json_t *j)
{
    if (json_is_array(j)) {
        for (size_t i = 0; i < json_array_size(j); i++)
            if (has_marker_keys(json_array_get(j, i))) return 1;
        return 0;
    }
    if (!json_is_object(j)) return 0;
    if (json_object_get(j, INPUT_KEY) || json_object_get(j, CONSTANT_KEY)) return 1;
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)j, k, v) if (has_marker_keys(v)) return 1;
    return 0;
}

ck_status ck_node_call_parse(const ck_layer *layer, const json_t *node, ck_node_call *c)
{
    memset(c, 0, sizeof *c);
    if (has_marker_keys(node))
        return ck_error(CK_FORMAT_ERROR, "model config: a node of layer \"%s\" uses the reserved key \"%s\" or "
                        "\"%s\"", layer->name, INPUT_KEY, CONSTANT_KEY);
    c->kwargs = json_object();
    if (!c->kwargs) return ck_oom("a model config");
    int keras3 = json_is_object(node);
    json_t *extra = NULL;
    ck_status st = CK_OK;
    if (keras3) {
        const json_t *args = json_object_get(node, "args");
        c->raw_kwargs = json_object_get(node, "kwargs");
        if (!json_is_array(args) || (c->raw_kwargs && !json_is_object(c->raw_kwargs)))
            return ck_error(CK_FORMAT_ERROR, "model config: a node of layer \"%s\" is not {\"args\": [...], "
                            "\"kwargs\": {...}}", layer->name);
        if (json_array_size(args) > 0) st = mark_tensors(layer, c, json_array_get(args, 0), 1, &c->args);
        if (st == CK_OK && json_array_size(args) > 1) {
            extra = json_array();
            for (size_t i = 1; extra && i < json_array_size(args); i++)
                if (json_array_append(extra, json_array_get(args, i))) json_decref(extra), extra = NULL;
            if (!extra) st = ck_oom("a model config");
        }
    } else {
        st = mark_tf2_args(layer, c, node, &c->args);
    }
    c->n_args = c->n_refs;
    if (st == CK_OK && (c->raw_kwargs || extra)) {
        json_t *none = c->raw_kwargs ? NULL : json_object();
        st = c->raw_kwargs || none ? mark_kwargs(layer, c, c->raw_kwargs ? c->raw_kwargs : none, extra, keras3)
                                   : ck_oom("a model config");
        json_decref(none);
    }
    json_decref(extra);
    if (st == CK_OK && !c->args && !(c->args = json_array())) st = ck_oom("a model config");
    /* Keras 3 gives a plain layer its single tensor bare; tf.keras 2.x
     * wraps it, except for classes that keep their argument's structure
     * (TFOpLambda), whose bare tensor must be kept to be written back. */
    /* (TFOpLambda keeps a bare tensor from Keras 3 too: Keras 3
     * operations read as TFOpLambda are written back as tf.keras 2.x
     * writes them.) */
    const int keeps_bare = strcmp(layer->cls->class_name, "TFOpLambda") == 0;
    if (st == CK_OK) c->plain = is_plain(c->args, keras3 && !keeps_bare);
    return st;
}

void ck_node_call_free(ck_node_call *c)
{
    json_decref(c->args);
    json_decref(c->kwargs);
    c->args = c->kwargs = NULL;
}

void ck_node_call_record(ck_node_call *c, ck_node *node)
{
    if (c->plain && json_object_size(c->kwargs) == 0) return;
    /* The file's call replaces what the class' record_call wrote. */
    json_decref(node->call_args);
    json_decref(node->call_kwargs);
    node->call_args = NULL;
    if (!c->plain) {
        node->call_args = c->args;
        c->args = NULL;
    }
    node->call_kwargs = c->kwargs;
    node->n_args = c->n_args;
    c->kwargs = NULL;
}

/* ---- writing ------------------------------------------------------------- */

/* A copy of `j` with input markers replaced by references. */
static ck_status unmark(const ck_node *node, ck_tensor_ref_fn ref, const void *ctx, const json_t *j, json_t **out)
{
    int k = marker_index(j, INPUT_KEY);
    if (k >= 0) {
        if (k >= node->n_inputs)
            return ck_error(CK_VALUE_ERROR, "layer \"%s\": a recorded call refers to input %d of %d",
                            node->layer->name, k, node->n_inputs);
        *out = ref(ctx, node->inputs[k]);
        return *out ? CK_OK : ck_oom("a model config");
    }
    if (json_is_array(j) || json_is_object(j)) {
        json_t *copy = json_is_array(j) ? json_array() : json_object();
        if (!copy) return ck_oom("a model config");
        ck_status st = CK_OK;
        if (json_is_array(j)) {
            for (size_t i = 0; st == CK_OK && i < json_array_size(j); i++) {
                json_t *item = NULL;
                st = unmark(node, ref, ctx, json_array_get(j, i), &item);
                if (st == CK_OK && json_array_append_new(copy, item)) st = ck_oom("a model config");
            }
        } else {
            const char *key;
            json_t *v;
            json_object_foreach((json_t *)j, key, v) {
                json_t *item = NULL;
                if (st == CK_OK) st = unmark(node, ref, ctx, v, &item);
                if (st == CK_OK && json_object_set_new(copy, key, item)) st = ck_oom("a model config");
            }
        }
        if (st != CK_OK) {
            json_decref(copy);
            return st;
        }
        *out = copy;
        return CK_OK;
    }
    *out = json_deep_copy(j);
    return *out ? CK_OK : ck_oom("a model config");
}

/* One [name, node, tensor, kwargs] (or constant) entry of the first
 * argument. */
static ck_status entry(const ck_node *node, ck_tensor_ref_fn ref, const void *ctx, const json_t *leaf,
                       const json_t *kwargs, json_t **out)
{
    int k = marker_index(leaf, INPUT_KEY);
    const json_t *constant = json_object_size(leaf) == 1 ? json_object_get(leaf, CONSTANT_KEY) : NULL;
    json_t *e = NULL;
    if (k >= 0) {
        CK_TRY(unmark(node, ref, ctx, leaf, &e));
    } else if (constant) {
        e = json_pack("[si O]", CONSTANT_NAME, -1, constant);
        if (!e) return ck_oom("a model config");
    } else {
        json_t *list = json_array();
        if (!list) return ck_oom("a model config");
        ck_status st = json_is_array(leaf) ? CK_OK : ck_error(CK_VALUE_ERROR, "layer \"%s\": a recorded call "
                                                              "argument is not a tensor, constant or list",
                                                              node->layer->name);
        for (size_t i = 0; st == CK_OK && i < json_array_size(leaf); i++) {
            json_t *item = NULL;
            st = entry(node, ref, ctx, json_array_get(leaf, i), kwargs, &item);
            if (st == CK_OK && json_array_append_new(list, item)) st = ck_oom("a model config");
        }
        if (st != CK_OK) {
            json_decref(list);
            return st;
        }
        *out = list;
        return CK_OK;
    }
    json_t *kw = json_deep_copy(kwargs);
    if (!kw || json_array_append_new(e, kw)) {
        json_decref(e);
        return ck_oom("a model config");
    }
    *out = e;
    return CK_OK;
}

ck_status ck_node_call_write(const ck_node *node, ck_tensor_ref_fn ref, const void *ctx, json_t **out)
{
    json_t *kwargs = NULL, *args = NULL, *result = NULL;
    ck_status st = node->call_kwargs ? unmark(node, ref, ctx, node->call_kwargs, &kwargs) : CK_OK;
    if (st == CK_OK && !kwargs && !(kwargs = json_object())) st = ck_oom("a model config");
    if (st == CK_OK && !node->call_args) {
        /* A plain call: the first n_args inputs, as a list. */
        int n = node->call_kwargs ? node->n_args : node->n_inputs;
        args = json_array();
        for (int i = 0; args && i < n; i++)
            if (json_array_append_new(args, marker(INPUT_KEY, json_integer(i)))) json_decref(args), args = NULL;
        if (!args) st = ck_oom("a model config");
    }
    if (st == CK_OK) st = entry(node, ref, ctx, node->call_args ? node->call_args : args, kwargs, &result);
    json_decref(args);
    json_decref(kwargs);
    if (st != CK_OK) return st;
    *out = result;
    return CK_OK;
}
