/* The adapter between a user's ck_custom_layer_class and the internal
 * layer contract (layer.h), and the Lambda class built on it.
 *
 * Each layer keeps its own copy of the user's description and of its
 * ck_layer_class table: the table carries the file's class name (so that
 * get_config, .keras weight paths and summaries say "ScaledDense"), has
 * no backward when the user gave none (so that fit reports the layer as
 * untrainable before it starts), and stays valid whatever happens to the
 * registry afterwards.
 *
 * Configs: a loaded layer keeps the config it was made from and writes it
 * back unchanged (name and trainable follow the layer), with the keys of
 * the user's get_config on top, so Python-side keys ckeras cannot know
 * (units, scale, a Lambda's bytecode) survive a load / save cycle. */
#include <string.h>

#include "core/json.h"
#include "layers/custom_layer.h"

typedef struct custom_layer {
    ck_layer base;
    ck_layer_class cls;          /* this layer's table (base.cls points here) */
    ck_custom_layer_class impl;  /* the user's description, copied */
    char *class_name;            /* the class name of the file / config */
    void *state;                 /* from impl.from_config */
    json_t *config;              /* the config it was made from */
    json_t *module;              /* .keras "module" / "registered_name" */
    json_t *registered_name;     /* (NULL: the wrapper had none) */
    int is_lambda;
    int has_output_shape;        /* Lambda: a fixed output_shape ... */
    ck_shape output_shape;       /* ... without the batch dim */
} custom_layer;

static ck_custom_ctx ctx_of(const ck_layer *layer, void *scratch, bool training)
{
    const custom_layer *c = (const custom_layer *)layer;
    return (ck_custom_ctx){(ck_layer *)layer, c->state, c->impl.user, scratch, training};
}

/* ---- the contract --------------------------------------------------------- */

static ck_status custom_build(ck_layer *layer, int n, const ck_shape *shapes)
{
    const custom_layer *c = (const custom_layer *)layer;
    if (!c->impl.build) return CK_OK;
    ck_custom_ctx ctx = ctx_of(layer, NULL, false);
    return c->impl.build(&ctx, n, shapes);
}

static ck_status custom_output_shape(const ck_layer *layer, int n, const ck_shape *in, ck_shape *out)
{
    const custom_layer *c = (const custom_layer *)layer;
    if (c->impl.compute_output_shape) {
        ck_custom_ctx ctx = ctx_of(layer, NULL, false);
        ck_shape s = {0, {0}};
        CK_TRY(c->impl.compute_output_shape(&ctx, n, in, &s));
        if (s.rank < 0 || s.rank > CK_MAX_RANK)
            return ck_error(CK_VALUE_ERROR, "%s layer '%s': compute_output_shape gave rank %d", c->class_name,
                            layer->name, s.rank);
        *out = s;
        return CK_OK;
    }
    if (c->has_output_shape) {
        if (c->output_shape.rank + 1 > CK_MAX_RANK)
            return ck_error(CK_VALUE_ERROR, "Lambda layer '%s': output_shape has rank %d, more than %d",
                            layer->name, c->output_shape.rank + 1, CK_MAX_RANK);
        out->rank = c->output_shape.rank + 1;
        out->dims[0] = in[0].rank > 0 ? in[0].dims[0] : -1;
        for (int i = 0; i < c->output_shape.rank; i++) out->dims[i + 1] = c->output_shape.dims[i];
        return CK_OK;
    }
    *out = in[0];
    return CK_OK;
}

static size_t custom_scratch_bytes(const ck_layer *layer, int n, const ck_shape *in, const ck_shape *out)
{
    const custom_layer *c = (const custom_layer *)layer;
    if (!c->impl.scratch_bytes) return 0;
    ck_custom_ctx ctx = ctx_of(layer, NULL, false);
    return c->impl.scratch_bytes(&ctx, n, in, out);
}

static ck_status custom_call_scratch(ck_layer *layer, int n, const ck_tensor *const *in, ck_tensor *const *out,
                                     void *scratch)
{
    const custom_layer *c = (const custom_layer *)layer;
    ck_custom_ctx ctx = ctx_of(layer, scratch, false);
    return c->impl.call(&ctx, n, in, out[0]);
}

/* Training keeps the call's scratch as the saved block, so backward sees
 * what the call left there. */
static ck_status custom_train_call(ck_layer *layer, const ck_train_ctx *tctx, int n, const ck_tensor *const *in,
                                   ck_tensor *const *out, void *saved)
{
    const custom_layer *c = (const custom_layer *)layer;
    ck_custom_ctx ctx = ctx_of(layer, saved, tctx && tctx->training);
    return c->impl.call(&ctx, n, in, out[0]);
}

static ck_status custom_backward(ck_layer *layer, const ck_train_ctx *tctx, int n, const ck_tensor *const *in,
                                 const ck_tensor *out, const ck_tensor *dout, void *saved, ck_tensor *const *din)
{
    const custom_layer *c = (const custom_layer *)layer;
    ck_custom_ctx ctx = ctx_of(layer, saved, tctx && tctx->training);
    return c->impl.backward(&ctx, n, in, out, dout, din);
}

/* Sets the keys of `from` into `config` (deep copies); name and trainable
 * stay the layer's own. */
static ck_status merge_keys(json_t *config, const json_t *from)
{
    const char *key;
    json_t *value;
    json_object_foreach((json_t *)from, key, value) {
        if (strcmp(key, "name") == 0 || strcmp(key, "trainable") == 0) continue;
        CK_TRY(ck_json_set(config, key, json_deep_copy(value)));
    }
    return CK_OK;
}

static ck_status custom_get_config(const ck_layer *layer, json_t *config)
{
    const custom_layer *c = (const custom_layer *)layer;
    if (c->config) CK_TRY(merge_keys(config, c->config));
    if (!c->impl.get_config) return CK_OK;
    ck_custom_ctx ctx = ctx_of(layer, NULL, false);
    char *text = NULL;
    CK_TRY(c->impl.get_config(&ctx, &text));
    if (!text)
        return ck_error(CK_VALUE_ERROR, "%s layer '%s': get_config returned no text", c->class_name, layer->name);
    json_t *own = NULL;
    ck_status st = ck_json_parse(text, strlen(text), "get_config of a user-defined layer", &own);
    ck_free(text);
    if (st == CK_OK && !json_is_object(own))
        st = ck_error(CK_VALUE_ERROR, "%s layer '%s': get_config must return a JSON object", c->class_name,
                      layer->name);
    if (st == CK_OK) st = merge_keys(config, own);
    json_decref(own);
    return st;
}

static void custom_destroy(ck_layer *layer)
{
    custom_layer *c = (custom_layer *)layer;
    if (c->state && c->impl.free_state) c->impl.free_state(c->state, c->impl.user);
    ck_free(c->class_name);
    json_decref(c->config);
    json_decref(c->module);
    json_decref(c->registered_name);
}

static ck_status lambda_from_config(const json_t *config, ck_layer **out);

/* The table every user-defined layer starts from (each layer then has its
 * own copy); the Lambda class is this table under Keras' name. */
#define CUSTOM_TABLE(name, from_config_fn)                                                          \
    {                                                                                              \
        .class_name = name, .size = sizeof(custom_layer), .arity = CK_ONE_INPUT,                   \
        .shapes_from_user_code = 1, .build = custom_build, .call = ck_layer_call_own_scratch,      \
        .compute_output_shape = custom_output_shape, .get_config = custom_get_config,              \
        .from_config = from_config_fn, .destroy = custom_destroy,                                  \
        .saved_bytes = custom_scratch_bytes, .train_call = custom_train_call,                      \
        .backward = custom_backward, .call_scratch_bytes = custom_scratch_bytes,                   \
        .call_scratch = custom_call_scratch,                                                       \
    }

static ck_status no_from_config(const json_t *config, ck_layer **out)
{
    (void)config;
    (void)out;
    return ck_error(CK_RUNTIME_ERROR, "a user-defined layer is made through the registry of user classes");
}

static const ck_layer_class custom_template = CUSTOM_TABLE("CustomLayer", no_from_config);
const ck_layer_class ck_lambda_class = CUSTOM_TABLE("Lambda", lambda_from_config);

/* ---- creation ------------------------------------------------------------- */

/* A Lambda's "output_shape" when it is a fixed shape (a list of dims, the
 * batch dim excluded); a Python function there is left to the user's
 * compute_output_shape. */
static ck_status read_output_shape(custom_layer *c, const json_t *config)
{
    const json_t *os = json_object_get(config, "output_shape");
    const char *type = json_string_value(json_object_get(config, "output_shape_type"));
    if (!json_is_array(os) || (type && strcmp(type, "raw") != 0)) return CK_OK;
    CK_TRY(ck_json_to_shape(os, "Lambda output_shape", &c->output_shape));
    c->has_output_shape = 1;
    return CK_OK;
}

/* The rest of creation once the base exists; on failure the caller frees
 * the layer (destroy copes with any half-filled state). */
static ck_status fill(custom_layer *c, const ck_custom_layer_class *impl, const char *class_name, int is_lambda,
                      const json_t *config, const json_t *wrapper)
{
    c->impl = *impl;
    c->is_lambda = is_lambda;
    c->class_name = ck_strdup(class_name);
    c->config = json_deep_copy(config);
    if (!c->class_name || !c->config) return ck_oom("a user-defined layer");
    c->impl.class_name = c->class_name;
    c->cls.class_name = c->class_name;
    if (!impl->backward) c->cls.backward = NULL;
    if (impl->n_inputs > 1) {
        c->cls.arity = CK_LIST_OF_INPUTS;
        c->cls.min_inputs = c->cls.max_inputs = impl->n_inputs;
    }
    const json_t *module = json_object_get(wrapper, "module");
    const json_t *reg = json_object_get(wrapper, "registered_name");
    if (module && !(c->module = json_deep_copy(module))) return ck_oom("a user-defined layer");
    if (reg && !(c->registered_name = json_deep_copy(reg))) return ck_oom("a user-defined layer");
    if (is_lambda) CK_TRY(read_output_shape(c, config));
    if (!impl->from_config) return CK_OK;
    char *text = NULL;
    CK_TRY(ck_json_dumps(config, JSON_COMPACT, "a user-defined layer's config", &text));
    ck_custom_ctx ctx = ctx_of(&c->base, NULL, false);
    void *state = NULL;
    ck_status st = impl->from_config(&ctx, text, &state);
    ck_free(text);
    c->state = state; /* freed by destroy even if from_config failed half-way */
    return st;
}

static ck_status create(const ck_custom_layer_class *impl, const ck_layer_class *table, const char *class_name,
                        int is_lambda, const json_t *config, const json_t *wrapper, ck_layer **out)
{
    if (!json_is_object(config)) return ck_error(CK_FORMAT_ERROR, "%s config must be a JSON object", class_name);
    /* The class' own keys are whatever the config holds besides the base
     * ones: ckeras cannot know them, the user's from_config reads them. */
    size_t nk = json_object_size(config);
    const char **known = ck_calloc(nk + 1, sizeof *known);
    if (!known) return ck_oom("a user-defined layer");
    size_t k = 0;
    const char *key;
    const json_t *value;
    json_object_foreach((json_t *)config, key, value) known[k++] = key;
    ck_layer_class start = *table;
    /* The automatic name's prefix: Python's class name, without the
     * "Package>" of register_keras_serializable. */
    const char *gt = strrchr(class_name, '>');
    start.class_name = gt ? gt + 1 : class_name;
    ck_layer *layer = NULL;
    ck_status st = ck_layer_create_from_config(&start, config, known, &layer);
    ck_free(known);
    if (st != CK_OK) return st;
    custom_layer *c = (custom_layer *)layer;
    c->cls = *table;
    layer->cls = &c->cls;
    st = fill(c, impl, class_name, is_lambda, config, wrapper);
    if (st != CK_OK) {
        ck_layer_free(layer);
        return st;
    }
    *out = layer;
    return CK_OK;
}

ck_status ck_custom_layer_from_json(const json_t *wrapper, ck_layer **out)
{
    const char *class_name = json_string_value(json_object_get(wrapper, "class_name"));
    const char *registered = json_string_value(json_object_get(wrapper, "registered_name"));
    ck_custom_layer_class impl;
    if (!ck_custom_registry_find(CK_CUSTOM_CLASS, class_name, &impl) &&
        !ck_custom_registry_find(CK_CUSTOM_CLASS, registered, &impl))
        return ck_error(CK_NOT_IMPLEMENTED, "Unknown layer class '%s': ckeras does not implement it; register a C "
                        "implementation with ck_register_layer_class()", class_name ? class_name : "?");
    return create(&impl, &custom_template, class_name, 0, json_object_get(wrapper, "config"), wrapper, out);
}

static ck_status lambda_from_config(const json_t *config, ck_layer **out)
{
    if (!json_is_object(config)) return ck_error(CK_FORMAT_ERROR, "Lambda config must be a JSON object");
    char fname[256];
    CK_TRY(ck_lambda_function_name(config, fname, sizeof fname));
    const char *lname = json_string_value(json_object_get(config, "name"));
    ck_custom_layer_class impl;
    int named = fname[0] && strcmp(fname, "<lambda>") != 0;
    int found = named && ck_custom_registry_find(CK_CUSTOM_LAMBDA, fname, &impl);
    if (!found) found = lname && ck_custom_registry_find(CK_CUSTOM_LAMBDA, lname, &impl);
    if (!found) {
        const char *what = named ? "function '" : fname[0] ? "an anonymous lambda" : "function unknown";
        return ck_error(CK_NOT_IMPLEMENTED, "Lambda layer '%s' (%s%s%s): register an implementation with "
                        "ck_register_lambda()", lname ? lname : "?", what, named ? fname : "", named ? "'" : "");
    }
    return create(&impl, &ck_lambda_class, "Lambda", 1, config, NULL, out);
}

ck_status ck_custom_layer_archive_ids(const ck_layer *layer, json_t *entry)
{
    if (layer->cls->destroy != custom_destroy) return CK_OK;
    const custom_layer *c = (const custom_layer *)layer;
    if (c->is_lambda) return CK_OK;
    json_t *module = c->module ? json_deep_copy(c->module) : json_null();
    json_t *reg = c->registered_name ? json_deep_copy(c->registered_name) : json_string(c->class_name);
    ck_status st = ck_json_set(entry, "module", module);
    if (st == CK_OK) return ck_json_set(entry, "registered_name", reg);
    json_decref(reg);
    return st;
}

/* ---- small public helpers ---------------------------------------------------- */

ck_tensor *ck_weight_grad(const ck_weight *w)
{
    CK_NEED_OR(w, NULL);
    return w->grad;
}

ck_status ck_config_number(const char *json, const char *path, double *out)
{
    CK_NEED(json);
    CK_NEED(path);
    CK_NEED(out);
    json_t *root = NULL;
    CK_TRY(ck_json_parse(json, strlen(json), "ck_config_number: malformed JSON", &root));
    const json_t *v = root;
    const char *p = path;
    while (v && *p) {
        const char *dot = strchr(p, '.');
        size_t len = dot ? (size_t)(dot - p) : strlen(p);
        v = json_is_object(v) ? json_object_getn(v, p, len) : NULL;
        p += len + (dot ? 1 : 0);
    }
    ck_status st = CK_OK;
    if (json_is_number(v)) *out = json_number_value(v);
    else if (json_is_boolean(v)) *out = json_is_true(v) ? 1.0 : 0.0;
    else st = ck_error(CK_VALUE_ERROR, "ck_config_number: no number at '%s'", path);
    json_decref(root);
    return st;
}
