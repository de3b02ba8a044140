/* The registry of user-defined layer classes and Lambda implementations:
 * two name -> description tables behind one mutex.  Lookups copy the
 * description out under the lock, and layers keep their copy, so a class
 * unregistered (or registered) while another thread loads a file never
 * leaves a layer pointing at freed memory.  pthreads rather than C11
 * mtx_t for the reason given in layer.c (ThreadSanitizer sees it). */
#include <pthread.h>
#include <string.h>

#include "layers/custom_layer.h"

typedef struct entry {
    char *name;
    ck_custom_layer_class impl; /* impl.class_name points at name */
} entry;

typedef struct table {
    entry *items;
    int n, cap;
} table;

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static table tables[2];

static const char *kind_word(ck_custom_kind kind) { return kind == CK_CUSTOM_LAMBDA ? "Lambda implementation" : "layer class"; }

/* The name without a "Package>" prefix (register_keras_serializable's). */
static const char *bare_name(const char *name)
{
    const char *gt = strrchr(name, '>');
    return gt ? gt + 1 : name;
}

/* Index of `name` in t (exact), or -1.  Caller holds the lock. */
static int index_of(const table *t, const char *name)
{
    for (int i = 0; i < t->n; i++)
        if (strcmp(t->items[i].name, name) == 0) return i;
    return -1;
}

ck_status ck_custom_registry_add(ck_custom_kind kind, const char *who, const char *name,
                                 const ck_custom_layer_class *impl)
{
    if (impl->version != CK_CUSTOM_LAYER_VERSION)
        return ck_error(CK_VALUE_ERROR, "%s: version is %d, expected CK_CUSTOM_LAYER_VERSION (%d)", who,
                        impl->version, CK_CUSTOM_LAYER_VERSION);
    if (!name || !*name) return ck_error(CK_VALUE_ERROR, "%s: the %s needs a non-empty name", who, kind_word(kind));
    if (!impl->call) return ck_error(CK_VALUE_ERROR, "%s: %s '%s' has no call function", who, kind_word(kind), name);
    if (impl->n_inputs < 0 || impl->n_inputs > CK_MAX_LAYER_INPUTS)
        return ck_error(CK_VALUE_ERROR, "%s: %s '%s': n_inputs must be 0 .. %d, got %d", who, kind_word(kind), name,
                        CK_MAX_LAYER_INPUTS, impl->n_inputs);
    char *copy = ck_strdup(name);
    if (!copy) return ck_oom("registering a layer class");
    ck_status st = CK_OK;
    pthread_mutex_lock(&registry_lock);
    table *t = &tables[kind];
    if (index_of(t, name) >= 0) {
        st = ck_error(CK_VALUE_ERROR, "%s: a %s named '%s' is already registered (unregister it first)", who,
                      kind_word(kind), name);
    } else if (t->n == t->cap) {
        int cap = t->cap ? 2 * t->cap : 8;
        entry *grown = ck_realloc(t->items, (size_t)cap * sizeof *grown);
        if (!grown) st = ck_oom("registering a layer class");
        else t->items = grown, t->cap = cap;
    }
    if (st == CK_OK) {
        t->items[t->n] = (entry){copy, *impl};
        t->items[t->n].impl.class_name = copy;
        t->n++;
        copy = NULL;
    }
    pthread_mutex_unlock(&registry_lock);
    ck_free(copy);
    return st;
}

int ck_custom_registry_find(ck_custom_kind kind, const char *name, ck_custom_layer_class *out)
{
    if (!name) return 0;
    int found = 0;
    pthread_mutex_lock(&registry_lock);
    const table *t = &tables[kind];
    int i = index_of(t, name);
    for (int k = 0; i < 0 && k < t->n; k++)
        if (strcmp(bare_name(t->items[k].name), bare_name(name)) == 0) i = k;
    if (i >= 0) {
        *out = t->items[i].impl;
        found = 1;
    }
    pthread_mutex_unlock(&registry_lock);
    return found;
}

static ck_status unregister(ck_custom_kind kind, const char *who, const char *name)
{
    char *gone = NULL;
    pthread_mutex_lock(&registry_lock);
    table *t = &tables[kind];
    int i = index_of(t, name);
    if (i >= 0) {
        gone = t->items[i].name;
        memmove(&t->items[i], &t->items[i + 1], (size_t)(t->n - i - 1) * sizeof *t->items);
        t->n--;
    }
    pthread_mutex_unlock(&registry_lock);
    if (!gone) return ck_error(CK_VALUE_ERROR, "%s: no %s is registered as '%s'", who, kind_word(kind), name);
    ck_free(gone);
    return CK_OK;
}

ck_status ck_unregister_layer_class(const char *class_name)
{
    CK_NEED(class_name);
    return unregister(CK_CUSTOM_CLASS, __func__, class_name);
}

ck_status ck_register_lambda(const char *name, const ck_custom_layer_class *impl)
{
    CK_NEED(name);
    CK_NEED(impl);
    return ck_custom_registry_add(CK_CUSTOM_LAMBDA, __func__, name, impl);
}

ck_status ck_unregister_lambda(const char *name)
{
    CK_NEED(name);
    return unregister(CK_CUSTOM_LAMBDA, __func__, name);
}

void ck_custom_registry_reset(void)
{
    pthread_mutex_lock(&registry_lock);
    for (int k = 0; k < 2; k++) {
        for (int i = 0; i < tables[k].n; i++) ck_free(tables[k].items[i].name);
        ck_free(tables[k].items);
        tables[k] = (table){NULL, 0, 0};
    }
    pthread_mutex_unlock(&registry_lock);
}
