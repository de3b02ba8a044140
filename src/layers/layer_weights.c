/* Weights of a layer: add_weight, the trainable lists, get/set_weights,
 * count_params, losses and constraints. */
#include <stdio.h>
#include <string.h>

#include "core/limits.h"
#include "layers/layer.h"

/* Copies a regularizer / constraint through its config: the weight owns
 * its own copy, the layer keeps the one get_config reports. */
static ck_status copy_regularizer(const ck_regularizer *r, ck_regularizer **out)
{
    *out = NULL;
    if (!r) return CK_OK;
    json_t *j = ck_regularizer_to_json(r);
    if (!j) return ck_oom("a regularizer");
    ck_status st = ck_regularizer_from_json(j, out);
    json_decref(j);
    return st;
}

static ck_status copy_constraint(const ck_constraint *c, ck_constraint **out)
{
    *out = NULL;
    if (!c) return CK_OK;
    json_t *j = ck_constraint_to_json(c);
    if (!j) return ck_oom("a constraint");
    ck_status st = ck_constraint_from_json(j, out);
    json_decref(j);
    return st;
}

ck_status ck_layer_add_weight_with(ck_layer *layer, const char *name, const ck_shape *shape,
                                   ck_dtype dtype, const ck_initializer *init,
                                   const ck_regularizer *reg, const ck_constraint *con,
                                   bool trainable, ck_weight **out)
{
    if (!name || !*name) name = "Variable";
    if (dtype == 0) dtype = layer->dtype;
    if (ck_dtype_size(dtype) == 0) return ck_error(CK_TYPE_ERROR, "add_weight: invalid dtype %d", (int)dtype);
    int64_t count = 0;
    CK_TRY(ck_shape_count(dtype, shape->rank, shape->dims, &count));
    /* a model built while loading a file counts against CK_LIMIT_WEIGHT_BYTES */
    CK_TRY(ck_load_charge((uint64_t)count * ck_dtype_size(dtype), name));

    ck_initializer *default_init = NULL;
    ck_weight *w = NULL;
    ck_weight **grown = NULL;
    ck_status st = CK_OK;
    if (!init) {
        st = ck_initializer_new(&default_init, ck_dtype_is_floating(dtype) ? "glorot_uniform" : "zeros");
        init = default_init;
    }
    if (st == CK_OK) {
        w = ck_calloc(1, sizeof *w);
        if (!w) st = ck_oom("a weight");
    }
    if (st == CK_OK) st = copy_regularizer(reg, &w->regularizer);
    if (st == CK_OK) st = copy_constraint(con, &w->constraint);
    if (st == CK_OK) {
        size_t n = strlen(layer->name) + strlen(name) + 4;
        w->name = ck_malloc(n);
        if (!w->name) st = ck_oom("a weight name");
        else snprintf(w->name, n, "%s/%s:0", layer->name, name);
    }
    if (st == CK_OK) st = ck_tensor_new(&w->value, dtype, shape->rank, shape->dims);
    if (st == CK_OK) st = ck_initializer_fill(init, w->value);
    if (st == CK_OK) {
        grown = ck_realloc(layer->weights, (size_t)(layer->n_weights + 1) * sizeof *grown);
        if (!grown) st = ck_oom("the weight list");
    }
    ck_initializer_free(default_init);
    if (st != CK_OK) {
        ck_weight_free(w);
        return st;
    }
    w->trainable = trainable;
    layer->weights = grown;
    layer->weights[layer->n_weights++] = w;
    if (out) *out = w;
    return CK_OK;
}

ck_status ck_layer_add_weight(ck_layer *layer, const ck_weight_opts *opts, ck_weight **out)
{
    CK_NEED(layer);
    static const ck_weight_opts defaults;
    if (!opts) opts = &defaults;
    ck_initializer *init = NULL;
    ck_regularizer *reg = NULL;
    ck_constraint *con = NULL;
    ck_status st = CK_OK;
    if (opts->initializer) st = ck_initializer_new(&init, opts->initializer);
    if (st == CK_OK && opts->regularizer) st = ck_regularizer_new(&reg, opts->regularizer);
    if (st == CK_OK && opts->constraint) st = ck_constraint_new(&con, opts->constraint);
    if (st == CK_OK)
        st = ck_layer_add_weight_with(layer, opts->name, &opts->shape, opts->dtype, init, reg, con,
                                      !opts->non_trainable, out);
    ck_initializer_free(init);
    ck_regularizer_free(reg);
    ck_constraint_free(con);
    return st;
}

/* The weight lists of tf.keras (spec 4.6), children included:
 *   trainable_weights     = [] if frozen, else own trainable + children's
 *                           trainable_weights;
 *   non_trainable_weights = own non-trainable + children's
 *                           non_trainable_weights if trainable, else own
 *                           trainable + own non-trainable + children's
 *                           weights;
 *   weights               = trainable_weights + non_trainable_weights.
 * A walk that stops at the wanted index, so nothing is allocated. */
enum weight_list { LIST_TRAINABLE, LIST_NON_TRAINABLE, LIST_ALL };

typedef struct weight_walk {
    int want;          /* index wanted, or -1 to count */
    int seen;
    ck_weight *found;
} weight_walk;

static int walk_list(const ck_layer *layer, enum weight_list list, weight_walk *w);

static int visit(ck_weight *weight, weight_walk *w)
{
    if (w->seen++ == w->want) {
        w->found = weight;
        return 1;
    }
    return 0;
}

static int walk_own(const ck_layer *layer, int trainable_flag, weight_walk *w)
{
    for (int k = 0; k < layer->n_weights; k++)
        if (layer->weights[k]->trainable == trainable_flag && visit(layer->weights[k], w)) return 1;
    return 0;
}

static int walk_children(const ck_layer *layer, enum weight_list list, weight_walk *w)
{
    int n = layer->cls->sublayer_count ? layer->cls->sublayer_count(layer) : 0;
    for (int i = 0; i < n; i++)
        if (walk_list(layer->cls->sublayer(layer, i), list, w)) return 1;
    return 0;
}

static int walk_list(const ck_layer *layer, enum weight_list list, weight_walk *w)
{
    switch (list) {
    case LIST_TRAINABLE:
        if (!layer->trainable) return 0;
        return walk_own(layer, 1, w) || walk_children(layer, LIST_TRAINABLE, w);
    case LIST_NON_TRAINABLE:
        if (layer->trainable) return walk_own(layer, 0, w) || walk_children(layer, LIST_NON_TRAINABLE, w);
        return walk_own(layer, 1, w) || walk_own(layer, 0, w) || walk_children(layer, LIST_ALL, w);
    case LIST_ALL:
        return walk_list(layer, LIST_TRAINABLE, w) || walk_list(layer, LIST_NON_TRAINABLE, w);
    }
    return 0;
}

static int count_list(const ck_layer *layer, enum weight_list list)
{
    weight_walk w = {-1, 0, NULL};
    walk_list(layer, list, &w);
    return w.seen;
}

static ck_weight *nth_in_list(const ck_layer *layer, enum weight_list list, int i)
{
    if (i < 0) return NULL;
    weight_walk w = {i, 0, NULL};
    walk_list(layer, list, &w);
    return w.found;
}

int ck_layer_weight_count(const ck_layer *layer) {
    CK_NEED_OR(layer, 0);
    return count_list(layer, LIST_ALL);
}
ck_weight *ck_layer_weight(const ck_layer *layer, int i) {
    CK_NEED_OR(layer, NULL);
    return nth_in_list(layer, LIST_ALL, i);
}
int ck_layer_trainable_weight_count(const ck_layer *layer) {
    CK_NEED_OR(layer, 0);
    return count_list(layer, LIST_TRAINABLE);
}
ck_weight *ck_layer_trainable_weight(const ck_layer *layer, int i) {
    CK_NEED_OR(layer, NULL);
    return nth_in_list(layer, LIST_TRAINABLE, i);
}
int ck_layer_non_trainable_weight_count(const ck_layer *layer) {
    CK_NEED_OR(layer, 0);
    return count_list(layer, LIST_NON_TRAINABLE);
}
ck_weight *ck_layer_non_trainable_weight(const ck_layer *layer, int i)
{
    CK_NEED_OR(layer, NULL);
    return nth_in_list(layer, LIST_NON_TRAINABLE, i);
}

const char *ck_weight_name(const ck_weight *w) {
    CK_NEED_OR(w, NULL);
    return w->name;
}
ck_tensor *ck_weight_value(const ck_weight *w) {
    CK_NEED_OR(w, NULL);
    return w->value;
}
int ck_weight_trainable(const ck_weight *w) {
    CK_NEED_OR(w, 0);
    return w->trainable;
}

ck_status ck_layer_count_params(const ck_layer *layer, int64_t *out)
{
    CK_NEED(layer);
    CK_NEED(out);
    if (!layer->built)
        return ck_error(CK_VALUE_ERROR, "You tried to call `count_params` on layer %s, but the layer isn't "
                        "built. You can build it manually via: `%s.build(batch_input_shape)`.",
                        layer->name, layer->name);
    int64_t total = 0;
    int n = ck_layer_weight_count(layer);
    for (int i = 0; i < n; i++) total += ck_layer_weight(layer, i)->value->size;
    *out = total;
    return CK_OK;
}

void ck_tensors_free(ck_tensor **tensors, int n)
{
    if (!tensors) return;
    for (int i = 0; i < n; i++) ck_tensor_free(tensors[i]);
    ck_free(tensors);
}

ck_status ck_layer_get_weights(const ck_layer *layer, ck_tensor ***out, int *n)
{
    CK_NEED(layer);
    CK_NEED(out);
    CK_NEED(n);
    int count = ck_layer_weight_count(layer);
    ck_tensor **list = ck_calloc((size_t)(count ? count : 1), sizeof *list);
    if (!list) return ck_oom("the weight list");
    for (int i = 0; i < count; i++) {
        ck_status st = ck_tensor_copy(&list[i], ck_layer_weight(layer, i)->value);
        if (st != CK_OK) {
            ck_tensors_free(list, i);
            return st;
        }
    }
    *out = list;
    *n = count;
    return CK_OK;
}

ck_status ck_layer_set_weights(ck_layer *layer, int n, ck_tensor *const *values)
{
    CK_NEED(layer);
    char a[128], b[128];
    int expected = ck_layer_weight_count(layer);
    if (n != expected)
        return ck_error(CK_VALUE_ERROR, "You called `set_weights(weights)` on layer \"%s\" with a weight list "
                        "of length %d, but the layer was expecting %d weights.",
                        layer->name, n, expected);
    for (int i = 0; i < n; i++) {
        const ck_tensor *ref = ck_layer_weight(layer, i)->value, *v = values[i];
        if (!v || !v->data)
            return ck_error(CK_VALUE_ERROR, "Layer %s: weight %d given to set_weights has no data", layer->name, i);
        int same = v->rank == ref->rank;
        for (int d = 0; same && d < v->rank; d++) same = v->shape[d] == ref->shape[d];
        if (!same)
            return ck_error(CK_VALUE_ERROR, "Layer %s weight shape %s is not compatible with provided weight shape %s",
                            layer->name, ck_shape_str(a, sizeof a, ref->rank, ref->shape),
                            ck_shape_str(b, sizeof b, v->rank, v->shape));
    }
    /* All checks passed: convert what needs converting, then assign in one
     * batch so that a failed conversion changes nothing. */
    ck_tensor **converted = ck_calloc((size_t)(n ? n : 1), sizeof *converted);
    if (!converted) return ck_oom("set_weights");
    for (int i = 0; i < n; i++) {
        const ck_tensor *ref = ck_layer_weight(layer, i)->value;
        if (values[i]->dtype != ref->dtype) {
            ck_status st = ck_tensor_cast(&converted[i], values[i], ref->dtype);
            if (st != CK_OK) {
                ck_tensors_free(converted, n);
                return st;
            }
        }
    }
    for (int i = 0; i < n; i++) {
        ck_tensor *ref = ck_layer_weight(layer, i)->value;
        const ck_tensor *src = converted[i] ? converted[i] : values[i];
        memcpy(ref->data, src->data, (size_t)ref->size * ck_dtype_size(ref->dtype));
    }
    ck_tensors_free(converted, n);
    return CK_OK;
}

ck_status ck_layer_apply_constraints(ck_layer *layer)
{
    CK_NEED(layer);
    int n = ck_layer_weight_count(layer);
    for (int i = 0; i < n; i++) {
        ck_weight *w = ck_layer_weight(layer, i);
        if (w->constraint) CK_TRY(ck_constraint_apply(w->constraint, w->value));
    }
    return CK_OK;
}

ck_status ck_layer_add_loss(ck_layer *layer, ck_loss_fn fn, void *user, double value)
{
    CK_NEED(layer);
    ck_extra_loss *grown = ck_realloc(layer->extra_losses, (size_t)(layer->n_extra_losses + 1) * sizeof *grown);
    if (!grown) return ck_oom("a loss");
    layer->extra_losses = grown;
    layer->extra_losses[layer->n_extra_losses++] = (ck_extra_loss){fn, user, value};
    return CK_OK;
}

/* Counts (values NULL) or fills the losses of a layer and its sublayers:
 * weight regularizers evaluated now, the last activity loss, added losses. */
static ck_status gather_losses(const ck_layer *layer, double *values, int *k)
{
    for (int i = 0; i < layer->n_weights; i++) {
        const ck_weight *w = layer->weights[i];
        if (!w->regularizer) continue;
        if (values) CK_TRY(ck_regularizer_loss(w->regularizer, w->value, &values[*k]));
        (*k)++;
    }
    if (layer->n_activity_losses) {
        if (values) values[*k] = layer->activity_loss;
        (*k)++;
    }
    for (int i = 0; i < layer->n_extra_losses; i++) {
        const ck_extra_loss *e = &layer->extra_losses[i];
        if (values) {
            values[*k] = e->value;
            if (e->fn) CK_TRY(e->fn(layer, e->user, &values[*k]));
        }
        (*k)++;
    }
    int n = layer->cls->sublayer_count ? layer->cls->sublayer_count(layer) : 0;
    for (int i = 0; i < n; i++) CK_TRY(gather_losses(layer->cls->sublayer(layer, i), values, k));
    return CK_OK;
}

ck_status ck_layer_losses(const ck_layer *layer, double **out, int *n)
{
    CK_NEED(layer);
    CK_NEED(out);
    CK_NEED(n);
    int count = 0, k = 0;
    CK_TRY(gather_losses(layer, NULL, &count));
    double *values = NULL;
    if (count > 0) {
        values = ck_malloc((size_t)count * sizeof *values);
        if (!values) return ck_oom("the loss list");
    }
    ck_status st = gather_losses(layer, values, &k);
    if (st != CK_OK) {
        ck_free(values);
        return st;
    }
    *out = values;
    *n = count;
    return CK_OK;
}
