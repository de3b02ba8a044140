/* The one allocator every ckeras allocation goes through (Lua's lua_Alloc
 * idea): a user may replace it, and the tests use that to fail allocations
 * on purpose. */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core.h"

static void *default_alloc(void *user, void *ptr, size_t size)
{
    (void)user;
    if (size == 0) {
        free(ptr);
        return NULL;
    }
    return realloc(ptr, size);
}

static ck_alloc_fn current_fn = default_alloc;
static void *current_user = NULL;

/* Allocation failures seen by this thread.  jansson hides some of its
 * failures (a builder returns -1 that nobody checks; json_dumps can drop a
 * character when growing a buffer fails and still return text), so the
 * public entry points compare this counter before and after their work
 * and turn any hidden failure into CK_OUT_OF_MEMORY.  A counter rather
 * than a flag so that nested entry points need not save and restore it. */
static _Thread_local unsigned long alloc_failures;

unsigned long ck_alloc_failures(void) { return alloc_failures; }

static void *counted(void *p)
{
    if (!p) alloc_failures++;
    return p;
}

/* jansson (JSON configs) allocates through ckeras' allocator too, so that
 * a replaced allocator sees every byte and JSON text can be freed with
 * ck_free. */
static void *json_alloc(size_t size) { return ck_malloc(size); }
static void json_release(void *ptr) { ck_free(ptr); }

void ck_set_allocator(ck_alloc_fn fn, void *user)
{
    current_fn = fn ? fn : default_alloc;
    current_user = fn ? user : NULL;
    json_set_alloc_funcs(json_alloc, json_release);
}

void ck_get_allocator(ck_alloc_fn *fn, void **user)
{
    if (fn) *fn = current_fn;
    if (user) *user = current_user;
}

void *ck_malloc(size_t size)
{
    return counted(current_fn(current_user, NULL, size ? size : 1));
}

void *ck_calloc(size_t n, size_t size)
{
    if (size != 0 && n > SIZE_MAX / size) return counted(NULL);
    size_t bytes = n * size;
    void *p = ck_malloc(bytes);
    if (p) memset(p, 0, bytes > 0 ? bytes : 1);
    return p;
}

void *ck_realloc(void *ptr, size_t size)
{
    return counted(current_fn(current_user, ptr, size ? size : 1));
}

void ck_free(void *ptr)
{
    if (ptr) current_fn(current_user, ptr, 0);
}

char *ck_strdup(const char *s)
{
    if (!s) return NULL;
    size_t n = strlen(s) + 1;
    char *copy = ck_malloc(n);
    if (copy) memcpy(copy, s, n);
    return copy;
}
