/* Groups: old-style symbol tables (a v1 B-tree of symbol table nodes whose
 * names live in a local heap) and new-style link messages, compact (in the
 * object header) or dense (a fractal heap indexed by a v2 B-tree). */
#include "io/h5/h5_internal.h"

#include <stdlib.h>

typedef struct link_list {
    ck_h5r_link *v;
    size_t n, cap;
} link_list;

static ck_status push_link(link_list *l, ck_h5r_link *k)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        ck_h5r_link *v = ck_realloc(l->v, cap * sizeof *v);
        if (!v) {
            ck_free(k->name);
            return ck_oom("a list of HDF5 links");
        }
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = *k;
    return CK_OK;
}

void ck_h5r_free_links(ck_h5r_link *links, size_t n)
{
    if (!links) return;
    for (size_t i = 0; i < n; i++) ck_free(links[i].name);
    ck_free(links);
}

/* ======================================================================== */
/* old-style groups                                                          */
/* ======================================================================== */

typedef struct local_heap {
    uint64_t abs, size;                     /* the data segment */
} local_heap;

static ck_status read_local_heap(ck_h5r *f, uint64_t addr, local_heap *h)
{
    h5r_cur c;
    CK_TRY(h5r_open_at(f, addr, 8, "a local heap", &c));
    uint64_t start = c.pos;
    if (!h5r_sig(&c, "HEAP")) return h5r_fail(f, start, "local heap without its HEAP signature");
    h5r_skip(&c, 4);
    uint64_t size = h5r_len(&c);
    h5r_len(&c);                            /* free list */
    uint64_t data = h5r_addr(&c);
    if (c.bad) return h5r_fail(f, start, "truncated local heap");
    h->size = size;
    return h5r_locate(f, data, size, "a local heap's data", &h->abs);
}

static ck_status heap_name(ck_h5r *f, const local_heap *h, uint64_t off, char **out)
{
    if (off >= h->size) return h5r_fail(f, h->abs, "link name at heap offset %llu past the heap",
                                        (unsigned long long)off);
    const uint8_t *s = f->data + h->abs + off;
    const uint8_t *z = memchr(s, 0, h->size - off);
    if (!z) return h5r_fail(f, h->abs, "link name at heap offset %llu is not terminated",
                            (unsigned long long)off);
    *out = h5r_strndup(s, (size_t)(z - s));
    return *out ? CK_OK : ck_oom("an HDF5 link name");
}

static ck_status read_snod(ck_h5r *f, uint64_t addr, const local_heap *heap, link_list *l)
{
    CK_TRY(h5r_spend(f, 1));
    h5r_cur c;
    uint64_t whole = 8 + 2 * (uint64_t)f->leaf_k * (uint64_t)(f->sl + f->so + 24);
    CK_TRY(h5r_open_at(f, addr, whole, "a symbol table node", &c));
    uint64_t start = c.pos;
    if (!h5r_sig(&c, "SNOD")) return h5r_fail(f, start, "symbol table node without its SNOD signature");
    h5r_skip(&c, 2);
    unsigned n = h5r_u16(&c);
    for (unsigned i = 0; i < n; i++) {
        uint64_t name_off = h5r_len(&c);
        uint64_t obj = h5r_addr(&c);
        uint32_t cache = h5r_u32(&c);       /* 2: a soft link, its value in the heap */
        h5r_skip(&c, 20);                   /* reserved, scratch pad */
        if (c.bad) return h5r_fail(f, start, "truncated symbol table node (%u entries)", n);
        CK_TRY(h5r_spend(f, 1));
        ck_h5r_link k = {NULL, cache == 2 ? CK_H5R_SOFT : CK_H5R_HARD, obj, -1};
        CK_TRY(heap_name(f, heap, name_off, &k.name));
        CK_TRY(push_link(l, &k));
    }
    return CK_OK;
}

static ck_status read_group_btree(ck_h5r *f, uint64_t addr, int want_level, const local_heap *heap,
                                  link_list *l)
{
    CK_TRY(h5r_spend(f, 1));
    h5r_cur c;
    uint64_t whole = 8 + 2 * (uint64_t)f->so + 2 * (uint64_t)f->node_k * (uint64_t)f->so +
                     (2 * (uint64_t)f->node_k + 1) * (uint64_t)f->sl;
    CK_TRY(h5r_open_at(f, addr, whole, "a group B-tree node", &c));
    uint64_t start = c.pos;
    if (!h5r_sig(&c, "TREE")) return h5r_fail(f, start, "group B-tree node without its TREE signature");
    int type = h5r_u8(&c), level = h5r_u8(&c);
    unsigned n = h5r_u16(&c);
    h5r_skip(&c, 2 * (uint64_t)f->so);      /* siblings */
    if (c.bad || type != 0) return h5r_fail(f, start, "damaged group B-tree node (type %d)", type);
    /* Levels must go down by one at each step: no cycle can then recur. */
    if ((want_level >= 0 && level != want_level) || level > H5R_MAX_DEPTH)
        return h5r_fail(f, start, "group B-tree node at level %d where %d was expected", level, want_level);
    for (unsigned i = 0; i < n; i++) {
        h5r_len(&c);                        /* key: heap offset of the largest name */
        uint64_t child = h5r_addr(&c);
        if (c.bad) return h5r_fail(f, start, "truncated group B-tree node (%u entries)", n);
        uint64_t save = c.pos;
        if (level == 0) CK_TRY(read_snod(f, child, heap, l));
        else CK_TRY(read_group_btree(f, child, level - 1, heap, l));
        c.pos = save;
    }
    return CK_OK;
}

static ck_status symbol_table_links(ck_h5r *f, const h5r_msg *m, link_list *l)
{
    if (m->flags & 2) return h5r_fail(f, m->off, "shared symbol table messages are not supported");
    h5r_cur c = h5r_at(f, m->off, m->size);
    uint64_t btree = h5r_addr(&c), heap_addr = h5r_addr(&c);
    if (c.bad) return h5r_fail(f, m->off, "truncated symbol table message");
    local_heap heap;
    CK_TRY(read_local_heap(f, heap_addr, &heap));
    return read_group_btree(f, btree, -1, &heap, l);
}

/* ======================================================================== */
/* new-style groups                                                          */
/* ======================================================================== */

ck_status h5r_link_parse(ck_h5r *f, uint64_t abs, uint64_t len, ck_h5r_link *l)
{
    h5r_cur c = h5r_at(f, abs, len);
    int version = h5r_u8(&c), flags = h5r_u8(&c);
    if (c.bad || version != 1) return h5r_fail(f, abs, "link message version %d is not supported", version);
    int type = (flags & 8) ? h5r_u8(&c) : 0;
    int64_t corder = -1;
    if (flags & 4) corder = (int64_t)(h5r_uint(&c, 8) & INT64_MAX);
    if (flags & 0x10) h5r_u8(&c);           /* character set of the name */
    uint64_t nlen = h5r_uint(&c, 1 << (flags & 3));
    const uint8_t *name = h5r_bytes(&c, nlen);
    if (c.bad) return h5r_fail(f, abs, "truncated link message");
    if (memchr(name, 0, nlen)) return h5r_fail(f, abs, "link name holding a NUL byte");
    memset(l, 0, sizeof *l);
    l->corder = corder;
    if (type == 0) {
        l->type = CK_H5R_HARD;
        l->addr = h5r_addr(&c);
    } else if (type == 1) {
        l->type = CK_H5R_SOFT;
        h5r_skip(&c, h5r_u16(&c));
    } else {
        l->type = CK_H5R_EXTERNAL;          /* external or user-defined: not followed */
        h5r_skip(&c, h5r_u16(&c));
    }
    if (c.bad) return h5r_fail(f, abs, "truncated link message");
    l->name = h5r_strndup(name, (size_t)nlen);
    return l->name ? CK_OK : ck_oom("an HDF5 link name");
}

typedef struct dense_ctx {
    h5r_fheap *heap;
    link_list *links;
} dense_ctx;

static ck_status dense_link_record(ck_h5r *f, const uint8_t *rec, uint16_t size, void *vctx)
{
    dense_ctx *d = vctx;
    CK_TRY(h5r_spend(f, 1));
    if (size < 4u + d->heap->id_len) return h5r_fail(f, H5R_UNDEF, "link name index records too short");
    const uint8_t *obj;
    uint64_t len;
    CK_TRY(h5r_fheap_get(f, d->heap, rec + 4, &obj, &len));
    ck_h5r_link k;
    CK_TRY(h5r_link_parse(f, (uint64_t)(obj - f->data), len, &k));
    return push_link(d->links, &k);
}

static ck_status link_info_links(ck_h5r *f, const h5r_msg *m, link_list *l)
{
    h5r_cur c = h5r_at(f, m->off, m->size);
    h5r_u8(&c);
    int flags = h5r_u8(&c);
    if (flags & 1) h5r_skip(&c, 8);         /* maximum creation index */
    uint64_t heap_addr = h5r_addr(&c), name_index = h5r_addr(&c);
    if (c.bad) return h5r_fail(f, m->off, "truncated link info message");
    if (heap_addr == H5R_UNDEF) return CK_OK;   /* compact storage: link messages */
    h5r_fheap heap;
    CK_TRY(h5r_fheap_open(f, heap_addr, &heap));
    dense_ctx d = {&heap, l};
    ck_status st = h5r_btree2_walk(f, name_index, 5, dense_link_record, &d);
    h5r_fheap_close(&heap);
    return st;
}

/* ======================================================================== */
/* API                                                                       */
/* ======================================================================== */

static int link_cmp(const void *a, const void *b)
{
    return strcmp(((const ck_h5r_link *)a)->name, ((const ck_h5r_link *)b)->name);
}

ck_status ck_h5r_links(ck_h5r *f, uint64_t group, ck_h5r_link **out, size_t *n)
{
    h5r_begin(f);
    h5r_obj o;
    CK_TRY(h5r_obj_read(f, group, &o));
    link_list l = {0};
    ck_status st = CK_OK;
    const h5r_msg *stab = h5r_obj_find(&o, H5R_MSG_STAB);
    const h5r_msg *linfo = h5r_obj_find(&o, H5R_MSG_LINFO);
    if (stab) {
        st = symbol_table_links(f, stab, &l);
    } else {
        int any = linfo != NULL;
        for (size_t i = 0; st == CK_OK && i < o.n; i++) {
            if (o.msgs[i].type != H5R_MSG_LINK) continue;
            any = 1;
            ck_h5r_link k;
            st = h5r_link_parse(f, o.msgs[i].off, o.msgs[i].size, &k);
            if (st == CK_OK) st = push_link(&l, &k);
        }
        if (st == CK_OK && linfo) st = link_info_links(f, linfo, &l);
        if (st == CK_OK && !any)
            st = h5r_fail(f, H5R_UNDEF, "object %llu is not a group", (unsigned long long)group);
    }
    h5r_obj_free(&o);
    if (st != CK_OK) {
        ck_h5r_free_links(l.v, l.n);
        return st;
    }
    if (l.n) qsort(l.v, l.n, sizeof *l.v, link_cmp);
    if (!l.v && !(l.v = ck_malloc(sizeof *l.v))) return ck_oom("a list of HDF5 links");
    *out = l.v;
    *n = l.n;
    return CK_OK;
}

ck_status ck_h5r_kind_of(ck_h5r *f, uint64_t obj, ck_h5r_kind *kind)
{
    h5r_begin(f);
    h5r_obj o;
    CK_TRY(h5r_obj_read(f, obj, &o));
    if (h5r_obj_find(&o, H5R_MSG_LAYOUT)) *kind = CK_H5R_DATASET;
    else if (h5r_obj_find(&o, H5R_MSG_STAB) || h5r_obj_find(&o, H5R_MSG_LINFO) ||
             h5r_obj_find(&o, H5R_MSG_LINK))
        *kind = CK_H5R_GROUP;
    else *kind = CK_H5R_OTHER;
    h5r_obj_free(&o);
    return CK_OK;
}

ck_status ck_h5r_find(ck_h5r *f, uint64_t group, const char *path, uint64_t *obj, int *found)
{
    h5r_begin(f);
    uint64_t cur = path[0] == '/' ? f->root : group;
    const char *p = path;
    *found = 0;
    for (int depth = 0;; depth++) {
        while (*p == '/') p++;
        if (!*p) break;
        if (depth > 4 * H5R_MAX_DEPTH) return h5r_fail(f, H5R_UNDEF, "path %s is too deep", path);
        const char *e = strchr(p, '/');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        ck_h5r_kind kind;
        CK_TRY(ck_h5r_kind_of(f, cur, &kind));
        if (kind != CK_H5R_GROUP) return CK_OK;
        ck_h5r_link *links = NULL;
        size_t n = 0;
        CK_TRY(ck_h5r_links(f, cur, &links, &n));
        int hit = 0;
        for (size_t i = 0; i < n; i++) {
            if (strlen(links[i].name) == len && memcmp(links[i].name, p, len) == 0) {
                if (links[i].type == CK_H5R_HARD) {
                    cur = links[i].addr;
                    hit = 1;
                }
                break;
            }
        }
        ck_h5r_free_links(links, n);
        if (!hit) return CK_OK;
        p += len;
    }
    *obj = cur;
    *found = 1;
    return CK_OK;
}
