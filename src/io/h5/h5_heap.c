/* Fractal heaps (where dense groups keep their link messages and dense
 * attribute storage its attribute messages) and version 2 B-trees (their
 * name indexes, huge objects, and chunk indexes). */
#include "io/h5/h5_internal.h"

/* ======================================================================== */
/* version 2 B-trees                                                         */
/* ======================================================================== */

typedef struct bt2 {
    ck_h5r *f;
    uint16_t rec_size;
    int depth;
    uint64_t max_nrec[H5R_MAX_DEPTH + 1];
    int nrec_bytes[H5R_MAX_DEPTH + 1];      /* field sizes of child pointers */
    int total_bytes[H5R_MAX_DEPTH + 1];
    h5r_record_fn fn;
    void *ctx;
} bt2;

static ck_status bt2_node(bt2 *t, uint64_t addr, int level, uint64_t nrec)
{
    ck_h5r *f = t->f;
    CK_TRY(h5r_spend(f, 1 + nrec));
    if (nrec > t->max_nrec[level])
        return h5r_fail(f, H5R_UNDEF, "v2 B-tree node at %llu claims %llu records (at most %llu fit)",
                        (unsigned long long)addr, (unsigned long long)nrec,
                        (unsigned long long)t->max_nrec[level]);
    h5r_cur c;
    CK_TRY(h5r_open_at(f, addr, 6, "a v2 B-tree node", &c));
    uint64_t start = c.pos;
    if (!h5r_sig(&c, level ? "BTIN" : "BTLF"))
        return h5r_fail(f, start, "v2 B-tree %s node without its signature", level ? "internal" : "leaf");
    h5r_skip(&c, 2);                        /* version, type */
    uint64_t recs = c.pos;
    h5r_skip(&c, nrec * t->rec_size);
    if (c.bad) return h5r_fail(f, start, "truncated v2 B-tree node");
    /* the checksum follows the records (and an internal node's child
     * pointers), not the end of the node */
    uint64_t ptr = level ? (uint64_t)f->so + (uint64_t)t->nrec_bytes[level] + (uint64_t)t->total_bytes[level] : 0;
    CK_TRY(h5r_check_sum(f, start, c.pos - start + (nrec + 1) * ptr,
                         level ? "a v2 B-tree internal node (BTIN)" : "a v2 B-tree leaf node (BTLF)"));
    if (level == 0) {
        for (uint64_t i = 0; i < nrec; i++)
            CK_TRY(t->fn(f, f->data + recs + i * t->rec_size, t->rec_size, t->ctx));
        return CK_OK;
    }
    for (uint64_t i = 0; i <= nrec; i++) {
        uint64_t child = h5r_addr(&c);
        uint64_t child_n = h5r_uint(&c, t->nrec_bytes[level]);
        h5r_skip(&c, (uint64_t)t->total_bytes[level]);
        if (c.bad) return h5r_fail(f, start, "truncated v2 B-tree node");
        uint64_t saved = c.pos;
        CK_TRY(bt2_node(t, child, level - 1, child_n));
        c.pos = saved;
        if (i < nrec) CK_TRY(t->fn(f, f->data + recs + i * t->rec_size, t->rec_size, t->ctx));
    }
    return CK_OK;
}

ck_status h5r_btree2_walk(ck_h5r *f, uint64_t addr, int type, h5r_record_fn fn, void *ctx)
{
    h5r_cur c;
    CK_TRY(h5r_open_at(f, addr, 16, "a v2 B-tree header", &c));
    uint64_t start = c.pos;
    if (!h5r_sig(&c, "BTHD")) return h5r_fail(f, start, "v2 B-tree header without its BTHD signature");
    h5r_u8(&c);
    int got_type = h5r_u8(&c);
    uint32_t node_size = h5r_u32(&c);
    bt2 t = {f, h5r_u16(&c), h5r_u16(&c), {0}, {0}, {0}, fn, ctx};
    h5r_skip(&c, 2);                        /* split and merge percents */
    uint64_t root = h5r_addr(&c);
    uint64_t root_n = h5r_u16(&c);
    h5r_len(&c);                            /* total records */
    if (c.bad) return h5r_fail(f, start, "truncated v2 B-tree header");
    CK_TRY(h5r_check_sum(f, start, c.pos - start, "a v2 B-tree header (BTHD)"));
    if (got_type != type)
        return h5r_fail(f, start, "v2 B-tree of type %d where type %d was expected", got_type, type);
    if (t.rec_size == 0 || node_size < 10u + t.rec_size || t.depth > H5R_MAX_DEPTH)
        return h5r_fail(f, start, "v2 B-tree with impossible sizes (node %u, record %u, depth %d)",
                        node_size, t.rec_size, t.depth);
    if (root == H5R_UNDEF || root_n == 0) return CK_OK;    /* empty tree */
    /* Child pointer fields are sized by how many records the level below
     * can hold, so compute the capacity of every level first. */
    uint64_t cum[H5R_MAX_DEPTH + 1];
    t.max_nrec[0] = (node_size - 10) / t.rec_size;
    cum[0] = t.max_nrec[0];
    for (int u = 1; u <= t.depth; u++) {
        t.nrec_bytes[u] = h5r_bytes_for(t.max_nrec[u - 1]);
        t.total_bytes[u] = u > 1 ? h5r_bytes_for(cum[u - 1]) : 0;
        uint64_t ptr = (uint64_t)f->so + (uint64_t)t.nrec_bytes[u] + (uint64_t)t.total_bytes[u];
        if (node_size < 10 + ptr) return h5r_fail(f, start, "v2 B-tree nodes too small for their pointers");
        t.max_nrec[u] = (node_size - 10 - ptr) / (t.rec_size + ptr);
        uint64_t m = t.max_nrec[u];
        cum[u] = cum[u - 1] > UINT64_MAX / (m + 2) ? UINT64_MAX : (m + 1) * cum[u - 1] + m;
    }
    return bt2_node(&t, root, t.depth, root_n);
}

/* ======================================================================== */
/* fractal heaps                                                             */
/* ======================================================================== */

static int log2_exact(uint64_t v)
{
    if (v == 0 || (v & (v - 1))) return -1;
    int n = 0;
    while (v > 1) {
        v >>= 1;
        n++;
    }
    return n;
}

static uint64_t row_size(const h5r_fheap *h, unsigned row)
{
    if (row == 0) return h->start_block;
    if (row - 1 >= 63 || h->start_block > (UINT64_MAX >> (row - 1))) return UINT64_MAX;
    return h->start_block << (row - 1);
}

static ck_status add_block(ck_h5r *f, h5r_fheap *h, uint64_t addr, uint64_t heap_off, uint64_t size)
{
    uint64_t abs = 0;
    CK_TRY(h5r_locate(f, addr, size, "a fractal heap direct block", &abs));
    h5r_cur c = h5r_at(f, abs, size);
    if (!h5r_sig(&c, "FHDB")) return h5r_fail(f, abs, "fractal heap direct block without its FHDB signature");
    if (h->dblock_sums) {
        /* after the version, the heap header address and the block offset;
         * the sum covers the whole block with its own field zeroed */
        uint64_t sum_at = 5 + (uint64_t)f->so + (uint64_t)h->off_bytes;
        if (size < sum_at + 4) return h5r_fail(f, abs, "fractal heap direct block of %llu bytes is too small",
                                              (unsigned long long)size);
        CK_TRY(h5r_spend(f, 1 + size / 4096));
        uint32_t stored = (uint32_t)f->data[abs + sum_at] | (uint32_t)f->data[abs + sum_at + 1] << 8 |
                          (uint32_t)f->data[abs + sum_at + 2] << 16 | (uint32_t)f->data[abs + sum_at + 3] << 24;
        uint32_t computed = h5r_lookup3_hole(f->data + abs, (size_t)size, 0, (size_t)sum_at);
        if (stored != computed)
            return h5r_fail(f, abs, "checksum mismatch in a fractal heap direct block (FHDB) (stored %08x, "
                            "computed %08x): the file is damaged", stored, computed);
    }
    if (h->n_blocks % 64 == 0) {
        struct h5r_dblock *b = ck_realloc(h->blocks, (h->n_blocks + 64) * sizeof *b);
        if (!b) return ck_oom("fractal heap blocks");
        h->blocks = b;
    }
    h->blocks[h->n_blocks++] = (struct h5r_dblock){heap_off, abs, size};
    return CK_OK;
}

static ck_status walk_indirect(ck_h5r *f, h5r_fheap *h, uint64_t addr, uint64_t heap_off,
                               unsigned nrows, int depth)
{
    CK_TRY(h5r_spend(f, 1));
    if (depth > 16) return h5r_fail(f, H5R_UNDEF, "fractal heap indirect blocks nested over 16 deep");
    if (nrows > 64) return h5r_fail(f, H5R_UNDEF, "fractal heap indirect block of %u rows", nrows);
    h5r_cur c;
    CK_TRY(h5r_open_at(f, addr, 5, "a fractal heap indirect block", &c));
    uint64_t start = c.pos;
    if (!h5r_sig(&c, "FHIB")) return h5r_fail(f, start, "fractal heap indirect block without its FHIB signature");
    h5r_skip(&c, 1 + (uint64_t)f->so + (uint64_t)h->off_bytes);
    /* one address per entry (the heap has no filters), then the checksum */
    CK_TRY(h5r_check_sum(f, start, c.pos - start + (uint64_t)nrows * h->width * (uint64_t)f->so,
                         "a fractal heap indirect block (FHIB)"));
    int max_direct_rows = log2_exact(h->max_direct) - log2_exact(h->start_block) + 2;
    int first_row_bits = log2_exact(h->start_block) + log2_exact(h->width);
    uint64_t off = heap_off;
    for (unsigned r = 0; r < nrows; r++) {
        uint64_t size = row_size(h, r);
        for (unsigned col = 0; col < h->width; col++) {
            uint64_t child = h5r_addr(&c);
            if (c.bad) return h5r_fail(f, start, "truncated fractal heap indirect block");
            if (child != H5R_UNDEF) {
                if ((int)r < max_direct_rows) {
                    CK_TRY(add_block(f, h, child, off, size));
                } else {
                    int bits = log2_exact(size);
                    if (bits < 0) return h5r_fail(f, start, "fractal heap row of %llu bytes",
                                                  (unsigned long long)size);
                    uint64_t save = c.pos;
                    CK_TRY(walk_indirect(f, h, child, off, (unsigned)(bits - first_row_bits + 1), depth + 1));
                    c.pos = save;
                }
            }
            if (size == UINT64_MAX || off > UINT64_MAX - size)
                return h5r_fail(f, start, "fractal heap offsets overflow");
            off += size;
        }
    }
    return CK_OK;
}

ck_status h5r_fheap_open(ck_h5r *f, uint64_t addr, h5r_fheap *h)
{
    memset(h, 0, sizeof *h);
    h->addr = addr;
    h5r_cur c;
    CK_TRY(h5r_open_at(f, addr, 5, "a fractal heap header", &c));
    uint64_t start = c.pos;
    if (!h5r_sig(&c, "FRHP")) return h5r_fail(f, start, "fractal heap header without its FRHP signature");
    h5r_u8(&c);
    h->id_len = h5r_u16(&c);
    h->filter_len = h5r_u16(&c);
    h->dblock_sums = (h5r_u8(&c) & 2) != 0;  /* flags: bit 1 = direct blocks checksummed */
    h->max_managed = h5r_u32(&c);
    h5r_len(&c);                            /* next huge object ID */
    h->huge_btree = h5r_addr(&c);
    h5r_len(&c);                            /* free space */
    h5r_addr(&c);                           /* free-space manager */
    for (int i = 0; i < 8; i++) h5r_len(&c); /* managed, allocated, iterator, counts, sizes */
    h->width = h5r_u16(&c);
    h->start_block = h5r_len(&c);
    h->max_direct = h5r_len(&c);
    h->max_heap_bits = h5r_u16(&c);
    h5r_u16(&c);                            /* starting rows of the root indirect block */
    h->root = h5r_addr(&c);
    h->root_rows = h5r_u16(&c);
    if (c.bad) return h5r_fail(f, start, "truncated fractal heap header");
    if (h->filter_len) return h5r_fail(f, start, "fractal heaps with I/O filters are not supported");
    CK_TRY(h5r_check_sum(f, start, c.pos - start, "a fractal heap header (FRHP)"));
    if (log2_exact(h->width) < 0 || log2_exact(h->start_block) < 0 ||
        log2_exact(h->max_direct) < 0 || h->max_direct < h->start_block ||
        h->max_heap_bits == 0 || h->max_heap_bits > 64 || h->id_len < 1)
        return h5r_fail(f, start, "fractal heap with impossible parameters (width %u, blocks %llu..%llu)",
                        h->width, (unsigned long long)h->start_block,
                        (unsigned long long)h->max_direct);
    h->off_bytes = (h->max_heap_bits + 7) / 8;
    uint64_t lim = h->max_direct < h->max_managed ? h->max_direct : h->max_managed;
    h->len_bytes = h5r_bytes_for(lim);
    ck_status st = CK_OK;
    if (h->root == H5R_UNDEF) st = CK_OK;                     /* empty heap */
    else if (h->root_rows == 0) st = add_block(f, h, h->root, 0, h->start_block);
    else st = walk_indirect(f, h, h->root, 0, h->root_rows, 0);
    if (st != CK_OK) h5r_fheap_close(h);
    return st;
}

void h5r_fheap_close(h5r_fheap *h)
{
    if (!h) return;
    ck_free(h->blocks);
    h->blocks = NULL;
    h->n_blocks = 0;
}

typedef struct huge_find {
    uint64_t id, addr, len;
    int found;
} huge_find;

static ck_status huge_record(ck_h5r *f, const uint8_t *rec, uint16_t size, void *ctx)
{
    huge_find *q = ctx;
    h5r_cur c = h5r_at(f, (uint64_t)(rec - f->data), size);
    uint64_t addr = h5r_addr(&c), len = h5r_len(&c), id = h5r_len(&c);
    if (!c.bad && id == q->id && !q->found) {
        q->found = 1;
        q->addr = addr;
        q->len = len;
    }
    return CK_OK;
}

ck_status h5r_fheap_get(ck_h5r *f, h5r_fheap *h, const uint8_t *id, const uint8_t **data,
                        uint64_t *len)
{
    int kind = (id[0] >> 4) & 3;
    const uint8_t *p = id + 1;
    uint64_t idlen = h->id_len;
    if (kind == 2) {                        /* tiny: the object is in the ID */
        uint64_t n = (uint64_t)(id[0] & 15) + 1, skip = 1;
        if (idlen > 18) {
            n = (((uint64_t)(id[0] & 15) << 8) | id[1]) + 1;
            skip = 2;
        }
        if (n + skip > idlen) return h5r_fail(f, H5R_UNDEF, "tiny fractal heap object longer than its ID");
        *data = id + skip;
        *len = n;
        return CK_OK;
    }
    if (kind == 1) {                        /* huge: stored on its own */
        uint64_t addr, n;
        if (idlen >= 1 + (uint64_t)f->so + (uint64_t)f->sl) {
            h5r_cur c = h5r_at(f, (uint64_t)(p - f->data), idlen - 1);
            addr = h5r_addr(&c);
            n = h5r_len(&c);
        } else {
            huge_find q = {0, 0, 0, 0};
            for (uint64_t i = 0; i < idlen - 1 && i < 8; i++) q.id |= (uint64_t)p[i] << (8 * i);
            CK_TRY(h5r_btree2_walk(f, h->huge_btree, 1, huge_record, &q));
            if (!q.found) return h5r_fail(f, H5R_UNDEF, "huge fractal heap object %llu not found",
                                          (unsigned long long)q.id);
            addr = q.addr;
            n = q.len;
        }
        uint64_t abs = 0;
        CK_TRY(h5r_locate(f, addr, n, "a huge fractal heap object", &abs));
        *data = f->data + abs;
        *len = n;
        return CK_OK;
    }
    if (kind != 0) return h5r_fail(f, H5R_UNDEF, "fractal heap ID of unknown type %d", kind);
    if (1 + (uint64_t)h->off_bytes + (uint64_t)h->len_bytes > idlen)
        return h5r_fail(f, H5R_UNDEF, "fractal heap IDs of %u bytes are too short", h->id_len);
    uint64_t off = 0, n = 0;
    for (int i = 0; i < h->off_bytes; i++) off |= (uint64_t)p[i] << (8 * i);
    for (int i = 0; i < h->len_bytes; i++) n |= (uint64_t)p[h->off_bytes + i] << (8 * i);
    for (size_t i = 0; i < h->n_blocks; i++) {
        const struct h5r_dblock *b = &h->blocks[i];
        if (off >= b->heap_off && off - b->heap_off < b->size) {
            uint64_t in = off - b->heap_off;
            if (n > b->size - in)
                return h5r_fail(f, b->abs, "fractal heap object of %llu bytes runs past its block",
                                (unsigned long long)n);
            *data = f->data + b->abs + in;
            *len = n;
            return CK_OK;
        }
    }
    return h5r_fail(f, H5R_UNDEF, "fractal heap object at heap offset %llu is in no block",
                    (unsigned long long)off);
}
