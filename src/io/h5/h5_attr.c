/* Attributes: attribute messages in the object header (compact storage) or
 * in a fractal heap indexed by a v2 B-tree (dense storage), and their values
 * as strings or numbers. */
#include "io/h5/h5_internal.h"

#include <stdlib.h>

/* Keras' lists are never longer than this; a larger claim is damage. */
#define MAX_STRINGS ((uint64_t)1 << 24)

ck_status h5r_attr_parse(ck_h5r *f, uint64_t abs, uint64_t len, ck_h5r_attr *a)
{
    memset(a, 0, sizeof *a);
    h5r_cur c = h5r_at(f, abs, len);
    int version = h5r_u8(&c), flags = h5r_u8(&c);
    uint64_t name_size = h5r_u16(&c), dt_size = h5r_u16(&c), ds_size = h5r_u16(&c);
    if (version == 3) h5r_u8(&c);           /* character set of the name */
    if (c.bad) return h5r_fail(f, abs, "truncated attribute message");
    if (version < 1 || version > 3) return h5r_fail(f, abs, "attribute message version %d is not supported", version);
    if (version > 1 && (flags & 3)) return h5r_fail(f, abs, "attributes with shared types or spaces are not supported");
    /* Version 1 pads each part to a multiple of 8 bytes. */
    uint64_t pad_name = version == 1 ? (name_size + 7) & ~(uint64_t)7 : name_size;
    uint64_t pad_dt = version == 1 ? (dt_size + 7) & ~(uint64_t)7 : dt_size;
    uint64_t pad_ds = version == 1 ? (ds_size + 7) & ~(uint64_t)7 : ds_size;
    const uint8_t *name = h5r_bytes(&c, pad_name);
    uint64_t dt_at = c.pos;
    h5r_skip(&c, pad_dt);
    uint64_t ds_at = c.pos;
    h5r_skip(&c, pad_ds);
    if (c.bad || name_size == 0) return h5r_fail(f, abs, "truncated attribute message");
    const uint8_t *z = memchr(name, 0, name_size);
    size_t nlen = z ? (size_t)(z - name) : (size_t)name_size;
    h5r_cur tc = h5r_at(f, dt_at, dt_size);
    CK_TRY(h5r_parse_type(f, &tc, &a->type));
    h5r_cur sc = h5r_at(f, ds_at, ds_size);
    CK_TRY(h5r_parse_space(f, &sc, &a->space));
    uint64_t need = a->space.count;
    if (need && a->type.size > UINT64_MAX / need) return h5r_fail(f, abs, "attribute too large");
    need *= a->type.size;
    if (need > h5r_left(&c))
        return h5r_fail(f, abs, "attribute data of %llu bytes runs past its message (%llu bytes left)",
                        (unsigned long long)need, (unsigned long long)h5r_left(&c));
    a->data = f->data + c.pos;
    a->data_len = need;
    a->name = h5r_strndup(name, nlen);
    return a->name ? CK_OK : ck_oom("an HDF5 attribute name");
}

void ck_h5r_attr_free(ck_h5r_attr *a)
{
    if (!a) return;
    ck_free(a->name);
    ck_free(a);
}

void ck_h5r_free_strings(char **items, size_t n)
{
    if (!items) return;
    for (size_t i = 0; i < n; i++) ck_free(items[i]);
    ck_free(items);
}

/* ======================================================================== */
/* walking every attribute of an object                                      */
/* ======================================================================== */

/* Called on each attribute; returns 1 to stop (found), 0 to go on. */
typedef int (*attr_fn)(ck_h5r_attr *a, void *ctx);

typedef struct dense_ctx {
    h5r_fheap *heap;
    attr_fn fn;
    void *ctx;
    int stop;
} dense_ctx;

#define STOP_WALK CK_NOT_IMPLEMENTED   /* internal: not an error, just "done" */

static ck_status dense_record(ck_h5r *f, const uint8_t *rec, uint16_t size, void *vctx)
{
    dense_ctx *d = vctx;
    CK_TRY(h5r_spend(f, 1));
    if (size < d->heap->id_len) return h5r_fail(f, H5R_UNDEF, "attribute name index records too short");
    const uint8_t *obj;
    uint64_t len;
    CK_TRY(h5r_fheap_get(f, d->heap, rec, &obj, &len));
    ck_h5r_attr a;
    CK_TRY(h5r_attr_parse(f, (uint64_t)(obj - f->data), len, &a));
    if (d->fn(&a, d->ctx)) {
        d->stop = 1;
        return STOP_WALK;
    }
    return CK_OK;
}

static ck_status each_attr(ck_h5r *f, uint64_t obj, attr_fn fn, void *ctx)
{
    h5r_obj o;
    CK_TRY(h5r_obj_read(f, obj, &o));
    ck_status st = CK_OK;
    int stop = 0;
    for (size_t i = 0; st == CK_OK && !stop && i < o.n; i++) {
        if (o.msgs[i].type != H5R_MSG_ATTR) continue;
        if (o.msgs[i].flags & 2) {
            st = h5r_fail(f, o.msgs[i].off, "shared attribute messages are not supported");
            break;
        }
        ck_h5r_attr a;
        st = h5r_attr_parse(f, o.msgs[i].off, o.msgs[i].size, &a);
        if (st == CK_OK) stop = fn(&a, ctx);
    }
    const h5r_msg *ai = h5r_obj_find(&o, H5R_MSG_AINFO);
    if (st == CK_OK && !stop && ai) {
        h5r_cur c = h5r_at(f, ai->off, ai->size);
        h5r_u8(&c);
        int flags = h5r_u8(&c);
        if (flags & 1) h5r_skip(&c, 2);     /* maximum creation index */
        uint64_t heap_addr = h5r_addr(&c), name_index = h5r_addr(&c);
        if (c.bad) st = h5r_fail(f, ai->off, "truncated attribute info message");
        else if (heap_addr != H5R_UNDEF) {
            h5r_fheap heap;
            st = h5r_fheap_open(f, heap_addr, &heap);
            if (st == CK_OK) {
                dense_ctx d = {&heap, fn, ctx, 0};
                st = h5r_btree2_walk(f, name_index, 8, dense_record, &d);
                if (d.stop) {
                    st = CK_OK;
                    ck_clear_error();
                }
                h5r_fheap_close(&heap);
            }
        }
    }
    h5r_obj_free(&o);
    return st;
}

/* ======================================================================== */
/* names and lookup                                                          */
/* ======================================================================== */

typedef struct names_ctx {
    char **v;
    size_t n, cap;
    int oom;
} names_ctx;

static int collect_name(ck_h5r_attr *a, void *vctx)
{
    names_ctx *c = vctx;
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 8;
        char **v = ck_realloc(c->v, cap * sizeof *v);
        if (!v) {
            ck_free(a->name);
            c->oom = 1;
            return 1;
        }
        c->v = v;
        c->cap = cap;
    }
    c->v[c->n++] = a->name;                 /* takes the name over */
    return 0;
}

static int str_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

ck_status ck_h5r_attr_names(ck_h5r *f, uint64_t obj, char ***names, size_t *n)
{
    h5r_begin(f);
    names_ctx c = {0};
    ck_status st = each_attr(f, obj, collect_name, &c);
    if (st == CK_OK && c.oom) st = ck_oom("a list of attribute names");
    if (st == CK_OK && !c.v && !(c.v = ck_malloc(sizeof *c.v))) st = ck_oom("a list of attribute names");
    if (st != CK_OK) {
        ck_h5r_free_strings(c.v, c.n);
        return st;
    }
    if (c.n) qsort(c.v, c.n, sizeof *c.v, str_cmp);
    *names = c.v;
    *n = c.n;
    return CK_OK;
}

typedef struct find_ctx {
    const char *name;
    ck_h5r_attr found;
    int hit;
} find_ctx;

static int match_name(ck_h5r_attr *a, void *vctx)
{
    find_ctx *c = vctx;
    if (strcmp(a->name, c->name) == 0) {
        c->found = *a;
        c->hit = 1;
        return 1;
    }
    ck_free(a->name);
    return 0;
}

ck_status ck_h5r_attr_find(ck_h5r *f, uint64_t obj, const char *name, ck_h5r_attr **out)
{
    h5r_begin(f);
    find_ctx c = {name, {0}, 0};
    ck_status st = each_attr(f, obj, match_name, &c);
    if (st != CK_OK) {
        if (c.hit) ck_free(c.found.name);
        return st;
    }
    if (!c.hit) {
        *out = NULL;
        return CK_OK;
    }
    ck_h5r_attr *a = ck_malloc(sizeof *a);
    if (!a) {
        ck_free(c.found.name);
        return ck_oom("an HDF5 attribute");
    }
    *a = c.found;
    *out = a;
    return CK_OK;
}

/* ======================================================================== */
/* values                                                                    */
/* ======================================================================== */

ck_status ck_h5r_attr_strings(ck_h5r *f, const ck_h5r_attr *a, char ***items_out, size_t *n_out,
                              int *is_vlen)
{
    h5r_begin(f);
    const ck_h5r_type *t = &a->type;
    int is_string = t->cls == CK_H5R_T_STRING || (t->cls == CK_H5R_T_VLEN && t->vlen_string);
    if (a->space.rank > 1)
        return h5r_fail(f, H5R_UNDEF, "attribute '%s' is a %d-d array; expected a string or a 1-d list",
                        a->name, a->space.rank);
    uint64_t n = a->space.count;
    if (!is_string && n != 0)
        return h5r_fail(f, H5R_UNDEF, "attribute '%s' is not a string (datatype class %d)", a->name, t->cls);
    if (n > MAX_STRINGS) return h5r_fail(f, H5R_UNDEF, "attribute '%s' claims %llu strings", a->name,
                                         (unsigned long long)n);
    char **items = ck_calloc(n ? (size_t)n : 1, sizeof *items);
    if (!items) return ck_oom("a list of strings");
    for (uint64_t i = 0; i < n; i++) {
        const uint8_t *s = a->data + i * t->size;
        uint64_t len = t->size;
        if (t->cls == CK_H5R_T_VLEN) {
            ck_status st = h5r_vlen_bytes(f, s, &s, &len);
            if (st != CK_OK) {
                ck_h5r_free_strings(items, (size_t)n);
                return st;
            }
        }
        /* As libhdf5 hands strings to C: up to the first NUL, and without
         * the padding of space-padded fixed strings. */
        const uint8_t *z = memchr(s, 0, len);
        if (z) len = (uint64_t)(z - s);
        if (t->cls == CK_H5R_T_STRING && t->str_pad == 2)
            while (len > 0 && s[len - 1] == ' ') len--;
        items[i] = h5r_strndup(s, (size_t)len);
        if (!items[i]) {
            ck_h5r_free_strings(items, (size_t)n);
            return ck_oom("a string");
        }
    }
    *items_out = items;
    *n_out = (size_t)n;
    if (is_vlen) *is_vlen = t->vlen_string;
    return CK_OK;
}

ck_status ck_h5r_attr_numbers(ck_h5r *f, const ck_h5r_attr *a, double **values, int64_t **ints,
                              size_t *n_out)
{
    h5r_begin(f);
    const ck_h5r_type *t = &a->type;
    if ((t->elem_cls != CK_H5R_T_INT && t->elem_cls != CK_H5R_T_FLOAT) ||
        (t->cls != CK_H5R_T_INT && t->cls != CK_H5R_T_FLOAT && t->cls != CK_H5R_T_ENUM &&
         t->cls != CK_H5R_T_ARRAY))
        return h5r_fail(f, H5R_UNDEF, "attribute '%s' is not numeric (datatype class %d)", a->name, t->cls);
    uint64_t n = a->space.count * t->array_count;   /* both bounded by data_len */
    if (t->elem_size == 0 || n != a->data_len / t->elem_size)
        return h5r_fail(f, H5R_UNDEF, "attribute '%s' has an inconsistent size", a->name);
    double *d = ck_malloc(n ? (size_t)n * sizeof *d : 1);
    int64_t *q = ints ? ck_malloc(n ? (size_t)n * sizeof *q : 1) : NULL;
    if (!d || (ints && !q)) {
        ck_free(d);
        ck_free(q);
        return ck_oom("a numeric attribute");
    }
    for (uint64_t i = 0; i < n; i++) {
        const uint8_t *p = a->data + i * t->elem_size;
        if (t->elem_cls == CK_H5R_T_INT) {
            int64_t v = h5r_get_int(p, t->elem_size, t->elem_be, t->elem_signed);
            d[i] = (double)v;
            if (q) q[i] = v;
        } else {
            d[i] = h5r_get_float(p, t->elem_size, t->elem_be);
            if (q) q[i] = 0;
        }
    }
    *values = d;
    if (ints) *ints = q;
    *n_out = (size_t)n;
    return CK_OK;
}
