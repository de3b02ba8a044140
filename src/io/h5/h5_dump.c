/* ck_h5r_dump: a canonical text of a whole file through the reader, which
 * the tests compare with the same text made through libhdf5, and which the
 * fuzzer uses to drive every part of the reader. */
#include "io/h5/h5_internal.h"

#include <stdarg.h>
#include <stdio.h>

enum { MAX_SHOWN = 16 };
#define MAX_TEXT ((size_t)64 << 20)

typedef struct text {
    char *s;
    size_t len, cap;
    int full;                       /* out of memory or over MAX_TEXT */
} text;

static void add(text *t, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

static void add(text *t, const char *fmt, ...)
{
    if (t->full) return;
    va_list ap;
    va_start(ap, fmt);
    int need = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (need < 0) return;
    if (t->len + (size_t)need + 1 > t->cap) {
        size_t cap = t->cap ? t->cap : 4096;
        while (t->len + (size_t)need + 1 > cap) cap *= 2;
        char *s = cap > MAX_TEXT ? NULL : ck_realloc(t->s, cap);
        if (!s) {
            t->full = 1;
            return;
        }
        t->s = s;
        t->cap = cap;
    }
    va_start(ap, fmt);
    vsnprintf(t->s + t->len, t->cap - t->len, fmt, ap);
    va_end(ap);
    t->len += (size_t)need;
}

static void add_quoted(text *t, const char *s)
{
    add(t, "\"");
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') add(t, "\\%c", c);
        else if (c < 0x20 || c >= 0x7f) add(t, "\\x%02x", c);
        else add(t, "%c", c);
    }
    add(t, "\"");
}

typedef struct walk {
    ck_h5r *f;
    text t;
    uint64_t *seen;
    size_t n_seen, cap_seen;
} walk;

/* Addresses of the objects already walked: an open-addressing hash set,
 * so that files with many objects cost linear time. */
static int seen_before(walk *w, uint64_t addr)
{
    if (2 * (w->n_seen + 1) > w->cap_seen) {
        size_t cap = w->cap_seen ? w->cap_seen * 2 : 64;
        uint64_t *s = ck_malloc(cap * sizeof *s);
        if (!s) {
            w->t.full = 1;
            return 1;
        }
        for (size_t i = 0; i < cap; i++) s[i] = H5R_UNDEF;
        for (size_t i = 0; i < w->cap_seen; i++) {
            if (w->seen[i] == H5R_UNDEF) continue;
            size_t k = (size_t)((w->seen[i] * 0x9E3779B97F4A7C15ull) >> 20) & (cap - 1);
            while (s[k] != H5R_UNDEF) k = (k + 1) & (cap - 1);
            s[k] = w->seen[i];
        }
        ck_free(w->seen);
        w->seen = s;
        w->cap_seen = cap;
    }
    size_t k = (size_t)((addr * 0x9E3779B97F4A7C15ull) >> 20) & (w->cap_seen - 1);
    while (w->seen[k] != H5R_UNDEF) {
        if (w->seen[k] == addr) return 1;
        k = (k + 1) & (w->cap_seen - 1);
    }
    w->seen[k] = addr;
    w->n_seen++;
    return 0;
}

static void dump_attr(walk *w, uint64_t obj, const char *path, const char *name)
{
    add(&w->t, "attr %s@", path);
    add_quoted(&w->t, name);
    ck_h5r_attr *a = NULL;
    if (ck_h5r_attr_find(w->f, obj, name, &a) != CK_OK || !a) {
        add(&w->t, " error\n");
        return;
    }
    int cls = a->type.cls;
    if (cls == CK_H5R_T_STRING || (cls == CK_H5R_T_VLEN && a->type.vlen_string)) {
        char **items = NULL;
        size_t n = 0;
        if (ck_h5r_attr_strings(w->f, a, &items, &n, NULL) != CK_OK) {
            add(&w->t, " error\n");
        } else {
            add(&w->t, " %s [", a->type.vlen_string ? "vstrings" : "strings");
            for (size_t i = 0; i < n; i++) {
                if (i) add(&w->t, ", ");
                add_quoted(&w->t, items[i]);
            }
            add(&w->t, "]\n");
            ck_h5r_free_strings(items, n);
        }
    } else if (cls == CK_H5R_T_INT || cls == CK_H5R_T_FLOAT) {
        double *d = NULL;
        int64_t *q = NULL;
        size_t n = 0;
        if (ck_h5r_attr_numbers(w->f, a, &d, &q, &n) != CK_OK) {
            add(&w->t, " error\n");
        } else {
            add(&w->t, " numbers %zu [", n);
            for (size_t i = 0; i < n && i < MAX_SHOWN; i++) {
                if (i) add(&w->t, ", ");
                if (cls == CK_H5R_T_INT) add(&w->t, "%lld", (long long)q[i]);
                else add(&w->t, "%.17g", d[i]);
            }
            add(&w->t, "]\n");
            ck_free(d);
            ck_free(q);
        }
    } else {
        add(&w->t, " class %d count %llu\n", cls, (unsigned long long)a->space.count);
    }
    ck_h5r_attr_free(a);
}

static void dump_attrs(walk *w, uint64_t obj, const char *path)
{
    char **names = NULL;
    size_t n = 0;
    if (ck_h5r_attr_names(w->f, obj, &names, &n) != CK_OK) {
        add(&w->t, "attrs %s error\n", path);
        return;
    }
    for (size_t i = 0; i < n; i++) dump_attr(w, obj, path, names[i]);
    ck_h5r_free_strings(names, n);
}

/* FNV-1a over the tensor's bytes: equal values give equal hashes. */
static uint64_t fnv(const void *p, size_t n)
{
    const uint8_t *b = p;
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 1099511628211ull;
    }
    return h;
}

static void dump_dataset(walk *w, uint64_t obj, const char *path)
{
    ck_tensor *t = NULL;
    if (ck_h5r_read_dataset(w->f, obj, &t) != CK_OK) {
        add(&w->t, "dataset %s error\n", path);
    } else {
        add(&w->t, "dataset %s %s (", path, ck_dtype_name(t->dtype));
        for (int i = 0; i < t->rank; i++) add(&w->t, "%s%lld", i ? ", " : "", (long long)t->shape[i]);
        add(&w->t, ") fnv=%016llx\n",
            (unsigned long long)fnv(t->data, (size_t)t->size * ck_dtype_size(t->dtype)));
        ck_tensor_free(t);
    }
    dump_attrs(w, obj, path);
}

static void dump_group(walk *w, uint64_t obj, const char *path, int depth)
{
    add(&w->t, "group %s\n", path);
    dump_attrs(w, obj, path);
    if (depth >= H5R_MAX_DEPTH) {
        add(&w->t, "links %s too deep\n", path);
        return;
    }
    ck_h5r_link *links = NULL;
    size_t n = 0;
    if (ck_h5r_links(w->f, obj, &links, &n) != CK_OK) {
        add(&w->t, "links %s error\n", path);
        return;
    }
    for (size_t i = 0; i < n && !w->t.full; i++) {
        size_t plen = strlen(path) + strlen(links[i].name) + 2;
        char *child = ck_malloc(plen);
        if (!child) {
            w->t.full = 1;
            break;
        }
        snprintf(child, plen, "%s%s%s", path, strcmp(path, "/") == 0 ? "" : "/", links[i].name);
        ck_h5r_kind kind;
        if (links[i].type == CK_H5R_SOFT) add(&w->t, "softlink %s\n", child);
        else if (links[i].type != CK_H5R_HARD) add(&w->t, "extlink %s\n", child);
        else if (ck_h5r_kind_of(w->f, links[i].addr, &kind) != CK_OK) add(&w->t, "object %s error\n", child);
        else if (seen_before(w, links[i].addr)) add(&w->t, "hardlink %s\n", child);
        else if (kind == CK_H5R_GROUP) dump_group(w, links[i].addr, child, depth + 1);
        else if (kind == CK_H5R_DATASET) dump_dataset(w, links[i].addr, child);
        else add(&w->t, "object %s\n", child);
        ck_free(child);
    }
    ck_h5r_free_links(links, n);
}

ck_status ck_h5r_dump(ck_h5r *f, char **out)
{
    walk w = {f, {0}, NULL, 0, 0};
    f->walking = 1;
    f->work = 0;
    seen_before(&w, f->root);
    dump_group(&w, f->root, "/", 0);
    f->walking = 0;
    ck_free(w.seen);
    /* A spent work budget ends the walk as a whole: the file is hostile. */
    if (f->work > H5R_WORK_BUDGET) {
        ck_free(w.t.s);
        return h5r_spend(f, 0);
    }
    if (w.t.full || !w.t.s) {
        ck_free(w.t.s);
        return ck_oom("an HDF5 dump");
    }
    *out = w.t.s;
    return CK_OK;
}
