/* Holding a config to the limits of ck_limit before it is built: how
 * deeply models nest, how many layers it lists, the input shapes it
 * declares.  One walk over the JSON, which jansson already caps at 2048
 * levels, so the recursion here is bounded; it stops at the first limit
 * passed. */
#include "model/model_limits.h"

#include <string.h>

#include "core/core.h"
#include "core/limits.h"

typedef struct walk {
    int64_t max_depth, max_layers;
    int64_t layers;
    int refused;
    ck_status st;
    const char *where;
} walk;

/* A shape key Keras writes for an input: tf.keras' batch_input_shape,
 * Keras 3's batch_shape. */
static int is_shape_key(const char *key)
{
    return strcmp(key, "batch_input_shape") == 0 || strcmp(key, "batch_shape") == 0;
}

static void check_shape(walk *w, const json_t *shape)
{
    size_t rank = json_array_size(shape);
    int64_t dims[CK_MAX_RANK + 1];
    size_t kept = rank > CK_MAX_RANK + 1 ? CK_MAX_RANK + 1 : rank;
    for (size_t i = 0; i < kept; i++) {
        const json_t *d = json_array_get(shape, i);
        dims[i] = json_is_integer(d) ? json_integer_value(d) : -1;
    }
    /* A rank past CK_MAX_RANK fails the rank check (its limit is at most
     * CK_MAX_RANK) before any dim is read. */
    ck_status st = ck_limit_check_shape((int)(rank > 1000000 ? 1000000 : rank), dims, w->where, "an input shape");
    if (st != CK_OK) {
        w->refused = 1;
        w->st = st;
    }
}

static void visit(walk *w, const json_t *v, int64_t depth)
{
    if (w->refused) return;
    if (depth > w->max_depth) {
        w->refused = 1;
        w->st = ck_error(CK_FORMAT_ERROR, "%s: models nested more than %lld deep, over CK_LIMIT_MODEL_DEPTH "
                         "(ck_limit); refusing to build it", w->where, (long long)w->max_depth);
        return;
    }
    if (json_is_object(v)) {
        const char *key;
        json_t *item;
        json_object_foreach((json_t *)v, key, item) {
            /* each "layers" list is one model level, and so is a "config"
             * list (Keras 1 / 2.0 Sequential) */
            int level = json_is_array(item) && (strcmp(key, "layers") == 0 || strcmp(key, "config") == 0);
            if (level) {
                w->layers += (int64_t)json_array_size(item);
                if (w->layers > w->max_layers) {
                    w->refused = 1;
                    w->st = ck_limit_refuse(CK_LIMIT_LAYERS, w->where, "the number of layers", (uint64_t)w->layers);
                    return;
                }
            }
            if (json_is_array(item) && is_shape_key(key)) check_shape(w, item);
            visit(w, item, depth + level);
            if (w->refused) return;
        }
    } else if (json_is_array(v)) {
        for (size_t i = 0; i < json_array_size(v) && !w->refused; i++) visit(w, json_array_get(v, i), depth);
    }
}

ck_status ck_config_check_limits(const json_t *root, const char *where)
{
    walk w = {ck_limit_value(CK_LIMIT_MODEL_DEPTH), ck_limit_value(CK_LIMIT_LAYERS), 0, 0, CK_OK,
              where ? where : "config"};
    visit(&w, root, 0);
    return w.refused ? w.st : CK_OK;
}

ck_status ck_config_check_size(size_t bytes, const char *where)
{
    if ((uint64_t)bytes > (uint64_t)ck_limit_value(CK_LIMIT_CONFIG_BYTES))
        return ck_limit_refuse(CK_LIMIT_CONFIG_BYTES, where, "the config's size in bytes", (uint64_t)bytes);
    return CK_OK;
}
