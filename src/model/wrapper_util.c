/* Helpers of the layer wrappers (wrapper_util.h). */
#include <stdio.h>
#include <string.h>

#include "model/wrapper_util.h"

ck_tensor ck_wrap_view(ck_dtype dt, const ck_shape *s, void *data)
{
    ck_tensor t = {.dtype = dt, .rank = s->rank, .size = 1, .data = data};
    for (int i = 0; i < s->rank; i++) {
        t.shape[i] = s->dims[i];
        t.size *= s->dims[i];
    }
    return t;
}

size_t ck_wrap_block_bytes(ck_dtype dt, const ck_shape *s)
{
    for (int i = 0; i < s->rank; i++)
        if (s->dims[i] < 0) return SIZE_MAX;
    int64_t count = 0;
    if (ck_shape_count(dt, s->rank, s->dims, &count) != CK_OK) {
        ck_clear_error();
        return SIZE_MAX;
    }
    uint64_t bytes = (uint64_t)count * ck_dtype_size(dt);
    if (bytes > SIZE_MAX - 64) return SIZE_MAX;
    return (size_t)((bytes + 63) / 64 * 64);
}

void ck_wrap_add_bytes(size_t *total, size_t b)
{
    if (*total == SIZE_MAX || b == SIZE_MAX || b > SIZE_MAX - *total) *total = SIZE_MAX;
    else *total += b;
}

static ck_status rename_one(ck_weight *w, const char *prefix, int drop_first)
{
    size_t pl = strlen(prefix);
    if (strncmp(w->name, prefix, pl) == 0 && w->name[pl] == '/') return CK_OK;
    const char *rest = w->name;
    if (drop_first) {
        const char *slash = strchr(w->name, '/');
        if (slash) rest = slash + 1;
    }
    size_t n = pl + strlen(rest) + 2;
    char *name = ck_malloc(n);
    if (!name) return ck_oom("a weight name");
    snprintf(name, n, "%s/%s", prefix, rest);
    ck_free(w->name);
    w->name = name;
    return CK_OK;
}

ck_status ck_wrap_rename_weights(ck_layer *inner, const char *prefix, int drop_first)
{
    int n = ck_layer_weight_count(inner);
    for (int i = 0; i < n; i++) CK_TRY(rename_one(ck_layer_weight(inner, i), prefix, drop_first));
    return CK_OK;
}

ck_status ck_wrap_prefix_name(ck_layer *layer, const char *prefix)
{
    size_t n = strlen(prefix) + strlen(layer->name) + 1;
    char *name = ck_malloc(n);
    if (!name) return ck_oom("a layer name");
    snprintf(name, n, "%s%s", prefix, layer->name);
    ck_free(layer->name);
    layer->name = name;
    return CK_OK;
}

ck_status ck_wrap_call(ck_layer *inner, ck_tensor *in, ck_tensor *out, void *scratch)
{
    const ck_tensor *ins[1] = {in};
    ck_tensor *outs[1] = {out};
    return ck_layer_call_planned(inner, 1, ins, outs, scratch);
}

ck_status ck_wrap_train_call(ck_layer *inner, const ck_train_ctx *ctx, ck_tensor *in, ck_tensor *out, void *saved)
{
    const ck_tensor *ins[1] = {in};
    ck_tensor *outs[1] = {out};
    return ck_layer_train_call(inner, ctx, 1, ins, outs, saved);
}

ck_status ck_wrap_backward(ck_layer *inner, const ck_train_ctx *ctx, ck_tensor *in, ck_tensor *out,
                           ck_tensor *dout, void *saved, ck_tensor *din)
{
    const ck_tensor *ins[1] = {in};
    ck_tensor *dins[1] = {din};
    return ck_layer_backward(inner, ctx, 1, ins, out, dout, saved, dins);
}

ck_status ck_wrap_inner_from_config(const char *cls, const json_t *config, const char *key, ck_layer **out)
{
    const json_t *sub = json_object_get(config, key);
    if (!json_is_object(sub))
        return ck_error(CK_VALUE_ERROR, "%s config: `%s` must be a layer config {\"class_name\", \"config\"}", cls,
                        key);
    return ck_layer_from_json(sub, out);
}

int ck_wrap_archive_var(const ck_layer *sub, int i, const char *prefix, char *group, size_t n)
{
    const char *inner = sub->cls->archive_vars_path;
    char buf[512];
    int k = i;
    if (sub->cls->archive_var) {
        if ((k = sub->cls->archive_var(sub, i, buf, sizeof buf)) < 0) return -1;
        inner = buf[0] ? buf : NULL;
    }
    int len = snprintf(group, n, "%s%s%s", prefix, inner && prefix[0] ? "/" : "", inner ? inner : "");
    if (len < 0 || (size_t)len >= n) {
        ck_error(CK_VALUE_ERROR, "layer \"%s\": the .keras path of weight %d is too long", sub->name, i);
        return -1;
    }
    return k;
}

int ck_model_archive_layer_path(const ck_model *m, int k, const char *prefix, char *path, size_t n)
{
    const ck_layer *l = m->layers[k];
    if (m->sequential && l->cls == &ck_input_layer_class) return 0;
    int same = 0;
    for (int j = 0; j < k; j++)
        same += m->layers[j]->cls == l->cls && !(m->sequential && m->layers[j]->cls == &ck_input_layer_class);
    char snake[128];
    ck_snake_case(l->cls->class_name, snake, sizeof snake);
    int len = same ? snprintf(path, n, "%slayers/%s_%d", prefix, snake, same)
                   : snprintf(path, n, "%slayers/%s", prefix, snake);
    return len < 0 || (size_t)len >= n ? -1 : 1;
}

/* The layer of `m` that owns weight `w` and the weight's index in it. */
static int owner_of(const ck_model *m, const ck_weight *w, int *index)
{
    for (int j = 0; j < m->n_layers; j++) {
        int count = ck_layer_weight_count(m->layers[j]);
        for (int k = 0; k < count; k++)
            if (ck_layer_weight(m->layers[j], k) == w) {
                *index = k;
                return j;
            }
    }
    return -1;
}

int ck_wrap_model_archive_var(const ck_model *m, int i, const char *prefix, char *group, size_t n)
{
    const ck_weight *w = ck_layer_weight(&m->base, i);
    int k = 0, j = w ? owner_of(m, w, &k) : -1;
    if (j < 0) {
        ck_error(CK_VALUE_ERROR, "model \"%s\": weight %d belongs to none of its layers", m->base.name, i);
        return -1;
    }
    char base[512], path[600];
    snprintf(base, sizeof base, "%s%s", prefix, prefix[0] ? "/" : "");
    int got = ck_model_archive_layer_path(m, j, base, path, sizeof path);
    if (got <= 0) {
        ck_error(CK_VALUE_ERROR, "model \"%s\": layer \"%s\" has no .keras path for its weights", m->base.name,
                 m->layers[j]->name);
        return -1;
    }
    ck_model *nested = ck_layer_as_model(m->layers[j]);
    if (nested) return ck_wrap_model_archive_var(nested, k, path, group, n);
    return ck_wrap_archive_var(m->layers[j], k, path, group, n);
}

ck_status ck_wrap_set_zero_output_for_mask(json_t *wrapper, int value)
{
    json_t *c = json_object_get(wrapper, "config");
    if (!json_is_object(c)) return CK_OK; /* reported by the layer's own parsing */
    if (!value) {
        json_object_del(c, "zero_output_for_mask");
        return CK_OK;
    }
    return json_object_set_new(c, "zero_output_for_mask", json_true()) ? ck_oom("a recurrent layer's config") : CK_OK;
}
