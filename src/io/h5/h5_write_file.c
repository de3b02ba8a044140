/* Laying out a built tree as HDF5 bytes (see h5_write.h for the layout and
 * the HDF5 File Format Specification 3.0 for every structure below).
 *
 * Metadata goes into one growable buffer, addressed by offsets so that it
 * can be reallocated: the superblock, the global heap collections of all
 * variable-length strings (assigned first, since attribute messages hold
 * their addresses), then every object depth first.  Dataset bytes are not
 * copied into it: they follow the metadata in the file, and the layout
 * messages are patched with their addresses once the metadata size is
 * known. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/h5/h5_write_internal.h"

#define UNDEF UINT64_MAX
/* libhdf5's defaults: group leaf K 4, internal K 16, so a symbol table node
 * holds 8 links and a B-tree node 32 children; nodes are allocated full
 * size as libhdf5 reads them whole. */
enum {
    SNOD_CAP = 8, BT_CAP = 32,
    SNOD_SIZE = 8 + SNOD_CAP * 40,
    BT_SIZE = 24 + BT_CAP * 8 + (BT_CAP + 1) * 8,
    GCOL_MIN = 4096,                /* libhdf5's smallest collection         */
    GCOL_MAX_OBJS = 65535,          /* object indexes are 16 bits            */
    MAX_DEPTH = 64,
    MAX_MSG = 65528                 /* 16-bit message sizes, 8-aligned       */
};

typedef struct wb { uint8_t *p; size_t len, cap; int oom; } wb;
typedef struct coll { size_t size, n, pos; uint64_t addr; } coll;
typedef struct patch { size_t at; uint64_t off; const ck_tensor *t; } patch;

typedef struct lay {
    wb b;
    coll *colls;
    size_t n_colls, cap_colls;
    patch *data;
    size_t n_data, cap_data;
    uint64_t data_size;
} lay;

typedef struct gaddr { uint64_t hdr, btree, heap; } gaddr;

static size_t a8(size_t n) { return (n + 7) & ~(size_t)7; }

static size_t wb_alloc(wb *b, size_t n)
{
    if (b->oom) return 0;
    size_t off = a8(b->len), end = off + a8(n);
    if (end > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < end) cap *= 2;
        uint8_t *p = ck_realloc(b->p, cap);
        if (!p) {
            b->oom = 1;
            return 0;
        }
        b->p = p;
        b->cap = cap;
    }
    memset(b->p + b->len, 0, end - b->len);
    b->len = end;
    return off;
}

static void put(wb *b, size_t off, uint64_t v, int n)
{
    if (b->oom) return;
    for (int i = 0; i < n; i++) b->p[off + (size_t)i] = (uint8_t)(v >> (8 * i));
}

static void put_mem(wb *b, size_t off, const void *s, size_t n)
{
    if (!b->oom && n) memcpy(b->p + off, s, n);
}

/* ---- global heap ------------------------------------------------------------ */

static ck_status assign_heap(lay *L, ck_h5w_obj *o, int depth)
{
    if (depth > MAX_DEPTH)
        return ck_error(CK_VALUE_ERROR, "HDF5 writer: groups nested deeper than %d", MAX_DEPTH);
    for (size_t i = 0; i < o->n_attrs; i++) {
        w_attr *a = &o->attrs[i];
        if (a->kind != W_VLEN) continue;
        ck_free(a->heap_coll);
        ck_free(a->heap_idx);
        a->heap_coll = ck_calloc(a->n ? a->n : 1, sizeof *a->heap_coll);
        a->heap_idx = ck_calloc(a->n ? a->n : 1, sizeof *a->heap_idx);
        if (!a->heap_coll || !a->heap_idx) return ck_oom("HDF5 global heap references");
        for (size_t k = 0; k < a->n; k++) {
            size_t need = 16 + a8(strlen(a->items[k]));
            coll *c = L->n_colls ? &L->colls[L->n_colls - 1] : NULL;
            /* As libhdf5 fills them: a new collection once 4 KiB are used
             * (a longer string gets a collection of its own size), which
             * also keeps readers' per-collection scans short. */
            if (!c || c->n == GCOL_MAX_OBJS || (c->n > 0 && c->size + need > GCOL_MIN)) {
                if (L->n_colls == L->cap_colls) {
                    size_t cap = L->cap_colls ? 2 * L->cap_colls : 4;
                    coll *g = ck_realloc(L->colls, cap * sizeof *g);
                    if (!g) return ck_oom("HDF5 global heap collections");
                    L->colls = g;
                    L->cap_colls = cap;
                }
                c = &L->colls[L->n_colls++];
                memset(c, 0, sizeof *c);
                c->size = 16;   /* the collection header */
            }
            c->n++;
            c->size += need;
            a->heap_coll[k] = (uint32_t)(L->n_colls - 1);
            a->heap_idx[k] = (uint32_t)c->n;
        }
    }
    for (size_t i = 0; i < o->n_kids; i++) CK_TRY(assign_heap(L, o->kids[i], depth + 1));
    return CK_OK;
}

static void place_collections(lay *L)
{
    for (size_t i = 0; i < L->n_colls; i++) {
        coll *c = &L->colls[i];
        size_t total = c->size < GCOL_MIN ? GCOL_MIN : c->size;
        /* The rest is free space (object 0, its size counting its header);
         * a rest too small for that header is made big enough. */
        if (total > c->size && total - c->size < 16) total += 16;
        size_t at = wb_alloc(&L->b, total);
        c->addr = at;
        c->pos = at + 16;
        put_mem(&L->b, at, "GCOL", 4);
        put(&L->b, at + 4, 1, 1);
        put(&L->b, at + 8, total, 8);
        if (total > c->size) {
            size_t fr = at + c->size;
            put(&L->b, fr + 8, total - c->size, 8);
        }
    }
}

static void fill_heap(lay *L, const ck_h5w_obj *o)
{
    for (size_t i = 0; i < o->n_attrs; i++) {
        const w_attr *a = &o->attrs[i];
        if (a->kind != W_VLEN) continue;
        for (size_t k = 0; k < a->n; k++) {
            coll *c = &L->colls[a->heap_coll[k]];
            size_t len = strlen(a->items[k]);
            put(&L->b, c->pos, a->heap_idx[k], 2);  /* index; refcount 0 */
            put(&L->b, c->pos + 8, len, 8);
            put_mem(&L->b, c->pos + 16, a->items[k], len);
            c->pos += 16 + a8(len);
        }
    }
    for (size_t i = 0; i < o->n_kids; i++) fill_heap(L, o->kids[i]);
}

/* ---- messages ------------------------------------------------------------------ */

static const uint8_t T_VLEN_STR[20] = {0x19, 0x01, 0, 0, 16, 0, 0, 0,
                                       0x10, 0, 0, 0, 1, 0, 0, 0, 0, 0, 8, 0};
static const uint8_t T_F64[20] = {0x11, 0x20, 0x3f, 0, 8, 0, 0, 0, 0, 0, 64, 0,
                                  52, 11, 0, 52, 0xff, 0x03, 0, 0};
static const uint8_t T_F32[20] = {0x11, 0x20, 0x1f, 0, 4, 0, 0, 0, 0, 0, 32, 0,
                                  23, 8, 0, 23, 127, 0, 0, 0};
static const uint8_t T_I32[12] = {0x10, 0x08, 0, 0, 4, 0, 0, 0, 0, 0, 32, 0};
static const uint8_t T_I64[12] = {0x10, 0x08, 0, 0, 8, 0, 0, 0, 0, 0, 64, 0};

static size_t attr_type_size(const w_attr *a) { return a->kind == W_FIXED ? 8 : 20; }
static size_t attr_space_size(const w_attr *a) { return a->kind == W_VLEN && a->scalar ? 8 : 24; }
static size_t attr_data_size(const w_attr *a)
{
    return a->kind == W_VLEN ? a->n * 16 : a->kind == W_FIXED ? a->n * a->itemsize : 0;
}
static size_t attr_msg_size(const w_attr *a)
{
    return a8(8 + a8(strlen(a->name) + 1) + a8(attr_type_size(a)) + a8(attr_space_size(a)) +
              attr_data_size(a));
}

/* A version 1 dataspace: rank 0 is a scalar, else dims and max dims. */
static void put_space(wb *b, size_t at, int rank, const uint64_t *dims)
{
    put(b, at, 1, 1);
    put(b, at + 1, (uint64_t)rank, 1);
    put(b, at + 2, rank ? 1 : 0, 1);
    for (int i = 0; i < rank; i++) {
        put(b, at + 8 + 8 * (size_t)i, dims[i], 8);
        put(b, at + 8 + 8 * (size_t)(rank + i), dims[i], 8);
    }
}

static void put_attr(lay *L, size_t at, const w_attr *a)
{
    wb *b = &L->b;
    size_t nl = strlen(a->name), ts = attr_type_size(a), ss = attr_space_size(a);
    put(b, at, 1, 1);
    put(b, at + 2, nl + 1, 2);
    put(b, at + 4, ts, 2);
    put(b, at + 6, ss, 2);
    size_t q = at + 8;
    put_mem(b, q, a->name, nl);
    q += a8(nl + 1);
    if (a->kind == W_VLEN) {
        put_mem(b, q, T_VLEN_STR, 20);
        put(b, q + 2, a->cset == CK_H5W_UTF8 ? 1 : 0, 1);
    } else if (a->kind == W_FIXED) {
        put(b, q, 0x13, 1);
        put(b, q + 1, 1, 1);        /* NULL-padded, ASCII */
        put(b, q + 4, a->itemsize, 4);
    } else {
        put_mem(b, q, T_F64, 20);
    }
    q += a8(ts);
    uint64_t dim = a->n;
    put_space(b, q, a->kind == W_VLEN && a->scalar ? 0 : 1, &dim);
    q += a8(ss);
    for (size_t k = 0; k < a->n && a->kind == W_VLEN; k++, q += 16) {
        put(b, q, strlen(a->items[k]), 4);
        put(b, q + 4, L->colls[a->heap_coll[k]].addr, 8);
        put(b, q + 12, a->heap_idx[k], 4);
    }
    for (size_t k = 0; k < a->n && a->kind == W_FIXED; k++, q += a->itemsize)
        put_mem(b, q, a->items[k], strlen(a->items[k]));
}

/* A version 1 object header holding `msgs` bytes of messages; returns its
 * offset, messages start 16 bytes in. */
static size_t put_header(wb *b, size_t nmsgs, size_t msgs)
{
    size_t at = wb_alloc(b, 16 + msgs);
    put(b, at, 1, 1);
    put(b, at + 2, nmsgs, 2);
    put(b, at + 4, 1, 4);           /* reference count */
    put(b, at + 8, msgs, 4);
    return at;
}

static size_t put_msg(wb *b, size_t at, int type, size_t size, int flags)
{
    put(b, at, (uint64_t)type, 2);
    put(b, at + 2, size, 2);
    put(b, at + 4, (uint64_t)flags, 1);
    return at + 8;
}

static ck_status attrs_size(const ck_h5w_obj *o, size_t *total)
{
    *total = 0;
    for (size_t i = 0; i < o->n_attrs; i++) {
        size_t s = attr_msg_size(&o->attrs[i]);
        if (s > MAX_MSG)
            return ck_error(CK_VALUE_ERROR, "HDF5 writer: attribute '%s' (%zu bytes) does not fit "
                            "in an object header message", o->attrs[i].name, s);
        *total += 8 + s;
    }
    return CK_OK;
}

static size_t put_attrs(lay *L, size_t q, const ck_h5w_obj *o)
{
    for (size_t i = 0; i < o->n_attrs; i++) {
        size_t s = attr_msg_size(&o->attrs[i]);
        size_t d = put_msg(&L->b, q, 0x0C, s, 0);
        put_attr(L, d, &o->attrs[i]);
        q = d + s;
    }
    return q;
}

/* ---- objects ---------------------------------------------------------------------- */

static ck_status emit_dataset(lay *L, const ck_h5w_obj *o, gaddr *out)
{
    const ck_tensor *t = o->t;
    uint64_t dims[CK_MAX_RANK];
    int rank = t->rank;
    if (rank < 0 || rank > CK_MAX_RANK)
        return ck_error(CK_VALUE_ERROR, "HDF5 writer: dataset '%s' has rank %d", o->name, rank);
    for (int i = 0; i < rank; i++) dims[i] = (uint64_t)t->shape[i];
    int is_f = t->dtype == CK_FLOAT32 || t->dtype == CK_FLOAT64;
    size_t ts = is_f ? 20 : 12, ss = 8 + 16 * (size_t)rank, am = 0;
    CK_TRY(attrs_size(o, &am));
    size_t msgs = (8 + a8(ss)) + (8 + a8(ts)) + (8 + 8) + (8 + 24) + am;
    wb *b = &L->b;
    size_t at = put_header(b, 4 + o->n_attrs, msgs);
    size_t q = put_msg(b, at + 16, 0x01, a8(ss), 0);
    put_space(b, q, rank, dims);
    q = put_msg(b, q + a8(ss), 0x03, a8(ts), 1);
    put_mem(b, q, t->dtype == CK_FLOAT64 ? T_F64 : t->dtype == CK_FLOAT32 ? T_F32
                  : t->dtype == CK_INT64 ? T_I64 : T_I32, ts);
    /* Fill value v2 as libhdf5 writes it: allocate late, fill if set,
     * "defined" with size 0 = the default (zeros). */
    q = put_msg(b, q + a8(ts), 0x05, 8, 1);
    put(b, q, 0x01020202, 4);
    q = put_msg(b, q + 8, 0x08, 24, 0);
    uint64_t nbytes = (uint64_t)t->size * ck_dtype_size(t->dtype);
    put(b, q, 3, 1);                /* layout version 3, contiguous */
    put(b, q + 1, 1, 1);
    put(b, q + 10, nbytes, 8);
    if (L->n_data == L->cap_data) {
        size_t cap = L->cap_data ? 2 * L->cap_data : 16;
        patch *p = ck_realloc(L->data, cap * sizeof *p);
        if (!p) return ck_oom("the HDF5 dataset list");
        L->data = p;
        L->cap_data = cap;
    }
    L->data[L->n_data++] = (patch){q + 2, L->data_size, t};
    L->data_size += a8(nbytes);
    put_attrs(L, q + 24, o);
    out->hdr = at;
    out->btree = out->heap = UNDEF;
    return CK_OK;
}

static int cmp_obj(const void *x, const void *y)
{
    return strcmp((*(ck_h5w_obj *const *)x)->name, (*(ck_h5w_obj *const *)y)->name);
}

static ck_status emit(lay *L, ck_h5w_obj *o, int depth, gaddr *out);

/* The v1 B-tree over `nsn` symbol table nodes, built bottom up; `lastkey`
 * holds the heap offset of each node's greatest name.  Returns the root. */
static ck_status put_btree(lay *L, const size_t *snod, const uint64_t *lastkey, size_t nsn,
                           size_t *root)
{
    wb *b = &L->b;
    size_t n = nsn, level = 0;
    size_t *child = ck_malloc((nsn ? nsn : 1) * sizeof *child);
    uint64_t *lk = ck_malloc((nsn ? nsn : 1) * sizeof *lk), *rk = ck_malloc((nsn ? nsn : 1) * sizeof *rk);
    if (!child || !lk || !rk) {
        ck_free(child), ck_free(lk), ck_free(rk);
        return ck_oom("an HDF5 B-tree");
    }
    for (size_t j = 0; j < nsn; j++) {
        child[j] = snod[j];
        lk[j] = j ? lastkey[j - 1] : 0;
        rk[j] = lastkey[j];
    }
    for (;;) {
        size_t nodes = n ? (n + BT_CAP - 1) / BT_CAP : 1;
        size_t first = 0;
        for (size_t k = 0; k < nodes; k++) {
            size_t cnt = n - k * BT_CAP < BT_CAP ? n - k * BT_CAP : BT_CAP;
            if (n == 0) cnt = 0;
            size_t at = wb_alloc(b, BT_SIZE);
            if (k == 0) first = at;
            put_mem(b, at, "TREE", 4);
            put(b, at + 5, level, 1);
            put(b, at + 6, cnt, 2);
            put(b, at + 8, k ? at - BT_SIZE : UNDEF, 8);
            put(b, at + 16, k + 1 < nodes ? at + BT_SIZE : UNDEF, 8);
            size_t c0 = k * BT_CAP;
            put(b, at + 24, n ? lk[c0] : 0, 8);
            for (size_t i = 0; i < cnt; i++) {
                put(b, at + 32 + 16 * i, child[c0 + i], 8);
                put(b, at + 40 + 16 * i, rk[c0 + i], 8);
            }
            /* This node becomes child k of the level above. */
            uint64_t left = n ? lk[c0] : 0, right = cnt ? rk[c0 + cnt - 1] : 0;
            child[k] = at;
            lk[k] = left;
            rk[k] = right;
        }
        (void)first;
        if (nodes == 1) {
            *root = child[0];
            break;
        }
        n = nodes;
        level++;
    }
    ck_free(child), ck_free(lk), ck_free(rk);
    return CK_OK;
}

static ck_status emit_group(lay *L, ck_h5w_obj *o, int depth, gaddr *out)
{
    wb *b = &L->b;
    size_t n = o->n_kids, am = 0;
    CK_TRY(attrs_size(o, &am));
    ck_h5w_obj **kids = ck_malloc((n ? n : 1) * sizeof *kids);
    uint64_t *noff = ck_malloc((n ? n : 1) * sizeof *noff);
    size_t nsn = (n + SNOD_CAP - 1) / SNOD_CAP;
    size_t *snod = ck_malloc((nsn ? nsn : 1) * sizeof *snod);
    uint64_t *lastkey = ck_malloc((nsn ? nsn : 1) * sizeof *lastkey);
    gaddr *ka = ck_malloc((n ? n : 1) * sizeof *ka);
    ck_status st = CK_OK;
    if (!kids || !noff || !snod || !lastkey || !ka) {
        st = ck_oom("an HDF5 group");
        goto done;
    }
    if (n) memcpy(kids, o->kids, n * sizeof *kids);
    qsort(kids, n, sizeof *kids, cmp_obj);
    size_t hdr = put_header(b, 1 + o->n_attrs, 8 + 16 + am);
    /* Local heap: "" at offset 0 (the B-tree's first key), the names, then
     * one free block as libhdf5 leaves (its "next" 1 = end of list). */
    size_t used = 8;
    for (size_t i = 0; i < n; i++) {
        noff[i] = used;
        used += a8(strlen(kids[i]->name) + 1);
    }
    size_t seg = used + 16 < 88 ? 88 : used + 16;
    size_t heap = wb_alloc(b, 32 + seg);
    put_mem(b, heap, "HEAP", 4);
    put(b, heap + 8, seg, 8);
    put(b, heap + 16, used, 8);
    put(b, heap + 24, heap + 32, 8);
    for (size_t i = 0; i < n; i++)
        put_mem(b, heap + 32 + noff[i], kids[i]->name, strlen(kids[i]->name));
    put(b, heap + 32 + used, 1, 8);
    put(b, heap + 32 + used + 8, seg - used, 8);
    for (size_t j = 0; j < nsn; j++) {
        snod[j] = wb_alloc(b, SNOD_SIZE);
        size_t last = (j + 1) * SNOD_CAP < n ? (j + 1) * SNOD_CAP - 1 : n - 1;
        lastkey[j] = noff[last];
    }
    size_t root = 0;
    st = put_btree(L, snod, lastkey, nsn, &root);
    for (size_t i = 0; st == CK_OK && i < n; i++) st = emit(L, kids[i], depth + 1, &ka[i]);
    if (st != CK_OK) goto done;
    for (size_t j = 0; j < nsn; j++) {
        size_t at = snod[j], cnt = n - j * SNOD_CAP < SNOD_CAP ? n - j * SNOD_CAP : SNOD_CAP;
        put_mem(b, at, "SNOD", 4);
        put(b, at + 4, 1, 1);
        put(b, at + 6, cnt, 2);
        for (size_t k = 0; k < cnt; k++) {
            size_t i = j * SNOD_CAP + k, e = at + 8 + 40 * k;
            put(b, e, noff[i], 8);
            put(b, e + 8, ka[i].hdr, 8);
            if (kids[i]->is_group) {
                put(b, e + 16, 1, 4);   /* cached symbol table addresses */
                put(b, e + 24, ka[i].btree, 8);
                put(b, e + 32, ka[i].heap, 8);
            }
        }
    }
    size_t q = put_msg(b, hdr + 16, 0x11, 16, 0);
    put(b, q, root, 8);
    put(b, q + 8, heap, 8);
    put_attrs(L, q + 16, o);
    out->hdr = hdr;
    out->btree = root;
    out->heap = heap;
done:
    ck_free(kids);
    ck_free(noff);
    ck_free(snod);
    ck_free(lastkey);
    ck_free(ka);
    return st;
}

static ck_status emit(lay *L, ck_h5w_obj *o, int depth, gaddr *out)
{
    if (depth > MAX_DEPTH)
        return ck_error(CK_VALUE_ERROR, "HDF5 writer: groups nested deeper than %d", MAX_DEPTH);
    return o->is_group ? emit_group(L, o, depth, out) : emit_dataset(L, o, out);
}

/* ---- the file ------------------------------------------------------------------------ */

static const uint8_t SIGNATURE[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};

/* Lays out everything but the dataset bytes; *L owns the buffer after. */
static ck_status layout(ck_h5w *w, lay *L)
{
    const uint16_t one = 1;
    if (*(const uint8_t *)&one != 1)
        return ck_error(CK_NOT_IMPLEMENTED, "HDF5 writer: big-endian hosts are not supported");
    memset(L, 0, sizeof *L);
    ck_status st = assign_heap(L, &w->root, 0);
    if (st != CK_OK) return st;
    wb *b = &L->b;
    size_t sb = wb_alloc(b, 96);
    place_collections(L);
    fill_heap(L, &w->root);
    gaddr root;
    st = emit(L, &w->root, 0, &root);
    if (st == CK_OK && b->oom) st = ck_oom("HDF5 metadata");
    if (st != CK_OK) return st;
    uint64_t meta = b->len;
    for (size_t i = 0; i < L->n_data; i++) put(b, L->data[i].at, meta + L->data[i].off, 8);
    put_mem(b, sb, SIGNATURE, 8);
    put(b, sb + 13, 8, 1);
    put(b, sb + 14, 8, 1);
    put(b, sb + 16, 4, 2);
    put(b, sb + 18, 16, 2);
    put(b, sb + 32, UNDEF, 8);                  /* free-space info */
    put(b, sb + 40, meta + L->data_size, 8);    /* end of file     */
    put(b, sb + 48, UNDEF, 8);                  /* driver info     */
    put(b, sb + 64, root.hdr, 8);
    put(b, sb + 72, 1, 4);
    put(b, sb + 80, root.btree, 8);
    put(b, sb + 88, root.heap, 8);
    return CK_OK;
}

static void lay_free(lay *L)
{
    ck_free(L->b.p);
    ck_free(L->colls);
    ck_free(L->data);
}

ck_status ck_h5w_image(ck_h5w *w, void **buf, size_t *len)
{
    lay L;
    ck_status st = layout(w, &L);
    if (st != CK_OK) {
        lay_free(&L);
        return st;
    }
    size_t total = L.b.len + (size_t)L.data_size;
    uint8_t *out = ck_malloc(total ? total : 1);
    if (!out) {
        lay_free(&L);
        return ck_oom("an HDF5 file image");
    }
    memcpy(out, L.b.p, L.b.len);
    memset(out + L.b.len, 0, (size_t)L.data_size);
    for (size_t i = 0; i < L.n_data; i++) {
        const ck_tensor *t = L.data[i].t;
        size_t nb = (size_t)t->size * ck_dtype_size(t->dtype);
        if (nb) memcpy(out + L.b.len + L.data[i].off, t->data, nb);
    }
    lay_free(&L);
    *buf = out;
    *len = total;
    return CK_OK;
}

ck_status ck_h5w_save(ck_h5w *w, FILE *fp, const char *label)
{
    lay L;
    ck_status st = layout(w, &L);
    if (st != CK_OK) {
        lay_free(&L);
        return st;
    }
    static const uint8_t zeros[8];
    int ok = fwrite(L.b.p, 1, L.b.len, fp) == L.b.len;
    for (size_t i = 0; ok && i < L.n_data; i++) {
        const ck_tensor *t = L.data[i].t;
        size_t nb = (size_t)t->size * ck_dtype_size(t->dtype);
        ok = (nb == 0 || fwrite(t->data, 1, nb, fp) == nb) &&
             (a8(nb) == nb || fwrite(zeros, 1, a8(nb) - nb, fp) == a8(nb) - nb);
    }
    if (!ok) st = ck_error(CK_IO_ERROR, "%s: cannot write: %s", label, strerror(errno));
    lay_free(&L);
    return st;
}
