/* The base Layer: creation, naming, accessors, destruction. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <pthread.h>
#include <stdatomic.h>

#include "layers/layer.h"

/* ---- automatic names ---------------------------------------------------- */

void ck_snake_case(const char *name, char *buf, size_t n)
{
    /* tf.keras to_snake_case: two regex passes, then lower-case.  Pass 1
     * puts '_' between any char and a following Upper+lower run; pass 2
     * between a lower-case letter and an upper-case one.  Both passes scan
     * left to right without overlap, as re.sub does. */
    char a[256], b[512];
    size_t la = 0, lb = 0, len = strlen(name);
    for (size_t p = 0; p < len && la + 3 < sizeof a;) {
        if (p + 2 < len && isupper((unsigned char)name[p + 1]) &&
            islower((unsigned char)name[p + 2])) {
            a[la++] = name[p];
            a[la++] = '_';
            a[la++] = name[p + 1];
            p += 2;
            while (p < len && islower((unsigned char)name[p]) && la + 1 < sizeof a) a[la++] = name[p++];
        } else {
            a[la++] = name[p++];
        }
    }
    a[la] = '\0';
    for (size_t p = 0; p < la && lb + 3 < sizeof b;) {
        if (p + 1 < la && islower((unsigned char)a[p]) && isupper((unsigned char)a[p + 1])) {
            b[lb++] = a[p];
            b[lb++] = '_';
            b[lb++] = a[p + 1];
            p += 2;
        } else {
            b[lb++] = a[p++];
        }
    }
    b[lb] = '\0';
    for (size_t i = 0; i < lb; i++) b[i] = (char)tolower((unsigned char)b[i]);
    if (b[0] == '_') snprintf(buf, n, "private%s", b);
    else snprintf(buf, n, "%s", b);
}

/* Per-prefix counters, like tf.keras' per-graph uid dict.  A fixed table:
 * it lives as long as the process, so it must not come from a user
 * allocator that may be replaced; a mutex keeps concurrent layer creation
 * from handing out one name twice. */
enum { CK_MAX_NAME_PREFIXES = 1024 };

typedef struct name_counter {
    char prefix[64];
    long next;
} name_counter;

static name_counter counters[CK_MAX_NAME_PREFIXES];
static int n_counters;
/* A pthreads mutex (statically initialised, so no once-flag), rather than
 * C11's mtx_t: ThreadSanitizer sees pthread locks. */
static pthread_mutex_t counters_lock = PTHREAD_MUTEX_INITIALIZER;

long ck_name_uid(const char *prefix)
{
    long uid = 0;
    pthread_mutex_lock(&counters_lock);
    int i = 0;
    while (i < n_counters && strncmp(counters[i].prefix, prefix, sizeof counters[i].prefix - 1) != 0) i++;
    if (i == n_counters && n_counters < CK_MAX_NAME_PREFIXES) {
        snprintf(counters[i].prefix, sizeof counters[i].prefix, "%s", prefix);
        counters[i].next = 0;
        n_counters++;
    }
    if (i < n_counters) uid = ++counters[i].next;
    pthread_mutex_unlock(&counters_lock);
    if (uid == 0) ck_error(CK_RUNTIME_ERROR, "more than %d distinct layer-name prefixes", CK_MAX_NAME_PREFIXES);
    return uid;
}

char *ck_unique_name(const char *prefix)
{
    /* tf.keras unique_object_name(zero_based=True): "dense", "dense_1", ...
     * Sized for the prefix and the number, so no name is ever cut short. */
    long uid = ck_name_uid(prefix);
    if (uid == 0) return NULL;
    if (uid == 1) return ck_strdup(prefix);
    size_t n = strlen(prefix) + 24; /* "_" + a long + NUL */
    char *name = ck_malloc(n);
    if (name) snprintf(name, n, "%s_%ld", prefix, uid - 1);
    return name;
}

void ck_clear_session(void)
{
    pthread_mutex_lock(&counters_lock);
    n_counters = 0;
    pthread_mutex_unlock(&counters_lock);
}

/* ---- creation ------------------------------------------------------------ */

ck_status ck_layer_create(const ck_layer_class *cls, const char *name,
                          bool trainable, ck_dtype dtype,
                          const ck_shape *input_shape, int64_t batch_size,
                          const char *activity_regularizer, ck_layer **out)
{
    if (dtype == 0) dtype = CK_FLOAT32;
    if (!ck_dtype_is_floating(dtype))
        return ck_error(CK_TYPE_ERROR,
                        "A %s layer can only be built with a floating-point dtype. "
                        "Received: dtype=%s", cls->class_name, ck_dtype_name(dtype));
    if (input_shape && input_shape->rank > 0) {
        if (input_shape->rank + 1 > CK_MAX_RANK)
            return ck_error(CK_VALUE_ERROR, "input_shape of rank %d is too long: at most %d dims",
                            input_shape->rank, CK_MAX_RANK - 1);
        for (int i = 0; i < input_shape->rank; i++)
            if (input_shape->dims[i] < -1)
                return ck_error(CK_VALUE_ERROR, "input_shape has a negative dim %lld",
                                (long long)input_shape->dims[i]);
    }
    if (batch_size < 0)
        return ck_error(CK_VALUE_ERROR, "batch_size must be positive, got %lld", (long long)batch_size);

    ck_regularizer *reg = NULL;
    if (activity_regularizer && *activity_regularizer)
        CK_TRY(ck_regularizer_new(&reg, activity_regularizer));

    ck_layer *layer = ck_calloc(1, cls->size);
    if (!layer) {
        ck_regularizer_free(reg);
        return ck_oom("a layer");
    }
    if (name && *name) {
        layer->name = ck_strdup(name);
    } else {
        char prefix[128];
        ck_snake_case(cls->class_name, prefix, sizeof prefix);
        layer->name = ck_unique_name(prefix);
    }
    if (!layer->name) {
        ck_regularizer_free(reg);
        ck_free(layer);
        return ck_oom("a layer name");
    }
    layer->cls = cls;
    layer->refs = 1;
    layer->trainable = trainable;
    layer->dtype = dtype;
    layer->activity_regularizer = reg;
    if (input_shape && input_shape->rank > 0) {
        layer->has_batch_input_shape = 1;
        layer->batch_input_shape.rank = input_shape->rank + 1;
        layer->batch_input_shape.dims[0] = batch_size > 0 ? batch_size : -1;
        for (int i = 0; i < input_shape->rank; i++)
            layer->batch_input_shape.dims[i + 1] = input_shape->dims[i];
    }
    *out = layer;
    return CK_OK;
}

void ck_weight_free(ck_weight *w)
{
    if (!w) return;
    ck_free(w->name);
    ck_tensor_free(w->value);
    ck_regularizer_free(w->regularizer);
    ck_constraint_free(w->constraint);
    ck_free(w);
}

void ck_layer_retain(ck_layer *layer) { atomic_fetch_add(&layer->refs, 1); }

void ck_layer_free(ck_layer *layer)
{
    if (!layer || atomic_fetch_sub(&layer->refs, 1) > 1) return;
    ck_layer_free_nodes(layer);
    if (layer->cls && layer->cls->destroy) layer->cls->destroy(layer);
    for (int i = 0; i < layer->n_weights; i++) ck_weight_free(layer->weights[i]);
    ck_free(layer->weights);
    ck_free(layer->name);
    ck_regularizer_free(layer->activity_regularizer);
    ck_free(layer->extra_losses);
    ck_free(layer->build_shapes);
    ck_tensors_free(layer->initial_weights, layer->n_initial_weights);
    ck_free(layer);
}

/* Removes weights added after `keep` (a build that failed half-way). */
void ck_layer_drop_weights_from(ck_layer *layer, int keep)
{
    while (layer->n_weights > keep) ck_weight_free(layer->weights[--layer->n_weights]);
}

const char *ck_layer_class_name(const ck_layer *layer) {
    CK_NEED_OR(layer, NULL);
    return layer->cls->class_name;
}
const char *ck_layer_name(const ck_layer *layer) {
    CK_NEED_OR(layer, NULL);
    return layer->name;
}
int ck_layer_trainable(const ck_layer *layer) {
    CK_NEED_OR(layer, 0);
    return layer->trainable;
}
void ck_layer_set_trainable(ck_layer *layer, int trainable)
{
    CK_NEED_VOID(layer);
    /* As in tf.keras, the flag propagates to every sublayer. */
    layer->trainable = trainable != 0;
    int n = layer->cls->sublayer_count ? layer->cls->sublayer_count(layer) : 0;
    for (int i = 0; i < n; i++) ck_layer_set_trainable(layer->cls->sublayer(layer, i), trainable);
}
ck_dtype ck_layer_dtype(const ck_layer *layer) {
    CK_NEED_OR(layer, 0);
    return layer->dtype;
}
int ck_layer_built(const ck_layer *layer) {
    CK_NEED_OR(layer, 0);
    return layer->built;
}

char *ck_shape_fmt(char *buf, size_t n, const ck_shape *s)
{
    return ck_shape_str(buf, n, s->rank, s->dims);
}
