/* The Keras file floor's HDF5 plumbing over ckeras' own reader and writer:
 * opening, error messages, the object tree, atomic replacement, text
 * (strings are in h5_strings.c, datasets in h5_datasets.c).  See
 * h5_util.h. */
#include <stdatomic.h>
#include "io/h5_util.h"
#include "io/atomic_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ======================================================================== */
/* opening and errors                                                        */
/* ======================================================================== */

ck_status ck_h5u_open(const char *path, ck_h5r **f)
{
    if (!path) return ck_error(CK_VALUE_ERROR, "HDF5 file path is NULL");
    return ck_h5r_open_file(f, path, 0);
}

ck_status ck_h5u_open_image(const void *buf, size_t len, const char *what, ck_h5r **f)
{
    return ck_h5r_open_memory(f, buf, len, what);
}

ck_status ck_h5u_fail(ck_status status, const char *file, const char *fmt, ...)
{
    /* The reader's messages start with "<file>: "; keep only the detail. */
    char detail[768], msg[640];
    snprintf(detail, sizeof detail, "%s", ck_last_error());
    const char *d = detail;
    size_t fl = strlen(file);
    if (strncmp(d, file, fl) == 0 && d[fl] == ':' && d[fl + 1] == ' ') d += fl + 2;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    /* Running out of memory is not the file's fault: keep saying so. */
    if (ck_last_status() == CK_OUT_OF_MEMORY) status = CK_OUT_OF_MEMORY;
    if (d[0]) return ck_error(status, "%s: %s: %s", file, msg, d);
    return ck_error(status, "%s: %s", file, msg);
}

/* ======================================================================== */
/* tree                                                                      */
/* ======================================================================== */

ck_h5u_kind ck_h5u_kind_of(ck_h5r *f, uint64_t loc, const char *name, uint64_t *obj)
{
    uint64_t addr = 0;
    int found = 0;
    if (ck_h5r_find(f, loc, name, &addr, &found) != CK_OK) return CK_H5U_BROKEN;
    if (!found) return CK_H5U_OTHER;
    ck_h5r_kind kind = CK_H5R_OTHER;
    if (ck_h5r_kind_of(f, addr, &kind) != CK_OK) return CK_H5U_BROKEN;
    if (obj) *obj = addr;
    return kind == CK_H5R_GROUP ? CK_H5U_GROUP : kind == CK_H5R_DATASET ? CK_H5U_DATASET
                                                                        : CK_H5U_OTHER;
}

void ck_h5u_free_children(ck_h5u_child *c, size_t n)
{
    if (!c) return;
    for (size_t i = 0; i < n; i++) ck_free(c[i].name);
    ck_free(c);
}

ck_status ck_h5u_list_children(ck_h5r *f, uint64_t g, const char *where, ck_h5u_child **out,
                               size_t *n_out)
{
    const char *file = ck_h5r_name(f);
    ck_h5r_link *links = NULL;
    size_t n = 0;
    if (ck_h5r_links(f, g, &links, &n) != CK_OK)
        return ck_h5u_fail(CK_FORMAT_ERROR, file, "cannot list group %s", where);
    ck_h5u_child *c = ck_calloc(n ? n : 1, sizeof *c);
    ck_status st = c ? CK_OK : ck_oom("a list of HDF5 links");
    for (size_t i = 0; st == CK_OK && i < n; i++) {
        c[i].name = links[i].name;      /* moved */
        links[i].name = NULL;
        c[i].kind = CK_H5U_OTHER;
        if (links[i].type != CK_H5R_HARD) continue;
        ck_h5r_kind kind = CK_H5R_OTHER;
        if (ck_h5r_kind_of(f, links[i].addr, &kind) != CK_OK) {
            st = ck_h5u_fail(CK_FORMAT_ERROR, file, "object %s/%s cannot be read",
                             strcmp(where, "/") == 0 ? "" : where, c[i].name);
            break;
        }
        c[i].addr = links[i].addr;
        c[i].kind = kind == CK_H5R_GROUP ? CK_H5U_GROUP : kind == CK_H5R_DATASET ? CK_H5U_DATASET
                                                                                : CK_H5U_OTHER;
    }
    ck_h5r_free_links(links, n);
    if (st != CK_OK) {
        ck_h5u_free_children(c, n);
        return st;
    }
    *out = c;
    *n_out = n;
    return CK_OK;
}

ck_status ck_h5u_save(ck_h5w *w, const char *path)
{
    ck_atomic_file af;
    CK_TRY(ck_atomic_open(&af, path));
    ck_status st = ck_h5w_save(w, af.f, path);
    if (st != CK_OK) {
        ck_atomic_abort(&af);
        return st;
    }
    return ck_atomic_commit(&af, 0);
}

/* ======================================================================== */
/* text                                                                      */
/* ======================================================================== */

void ck_h5u_text_add(ck_h5u_text *t, const char *fmt, ...)
{
    if (t->oom) return;
    va_list ap;
    va_start(ap, fmt);
    int need = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (need < 0) return;
    if (t->len + (size_t)need + 1 > t->cap) {
        size_t cap = t->cap ? t->cap : 1024;
        while (t->len + (size_t)need + 1 > cap) cap *= 2;
        char *d = ck_realloc(t->data, cap);
        if (!d) {
            t->oom = 1;
            return;
        }
        t->data = d;
        t->cap = cap;
    }
    va_start(ap, fmt);
    vsnprintf(t->data + t->len, t->cap - t->len, fmt, ap);
    va_end(ap);
    t->len += (size_t)need;
}

void ck_h5u_text_quoted(ck_h5u_text *t, const char *s, size_t n)
{
    ck_h5u_text_add(t, "\"");
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') ck_h5u_text_add(t, "\\%c", c);
        else if (c < 0x20 || c == 0x7f) ck_h5u_text_add(t, "\\x%02x", c);
        else ck_h5u_text_add(t, "%c", c);
    }
    ck_h5u_text_add(t, "\"");
}

char *ck_h5u_join(const char *dir, const char *name, int leading_slash)
{
    size_t dl = strlen(dir), nl = strlen(name);
    int root = dl == 0 || (dl == 1 && dir[0] == '/');
    char *p = ck_malloc(dl + nl + 3);
    if (!p) return NULL;
    if (root) snprintf(p, dl + nl + 3, "%s%s", leading_slash ? "/" : "", name);
    else snprintf(p, dl + nl + 3, "%s/%s", dir, name);
    return p;
}
