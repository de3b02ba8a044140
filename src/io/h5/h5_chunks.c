/* Chunk indexes: where each chunk of a chunked dataset is stored.  The v1
 * B-tree (layout versions 1-3), and for layout version 4 the single chunk,
 * implicit, fixed array and v2 B-tree indexes (the extensible array is in
 * h5_earray.c).  Each calls back with the
 * chunk's element offset, address, stored size and filter mask. */
#include "io/h5/h5_chunks.h"

/* ======================================================================== */
/* v1 B-tree                                                                 */
/* ======================================================================== */

static ck_status btree1_node(ck_h5r *f, const h5r_chunked *L, uint64_t addr, int want_level,
                             h5r_chunk_fn fn, void *ctx)
{
    CK_TRY(h5r_spend(f, 1));
    h5r_cur c;
    CK_TRY(h5r_open_at(f, addr, 8, "a chunk B-tree node", &c));
    uint64_t start = c.pos;
    if (!h5r_sig(&c, "TREE")) return h5r_fail(f, start, "chunk B-tree node without its TREE signature");
    int type = h5r_u8(&c), level = h5r_u8(&c);
    unsigned n = h5r_u16(&c);
    h5r_skip(&c, 2 * (uint64_t)f->so);
    if (c.bad || type != 1) return h5r_fail(f, start, "damaged chunk B-tree node (type %d)", type);
    if ((want_level >= 0 && level != want_level) || level > H5R_MAX_DEPTH)
        return h5r_fail(f, start, "chunk B-tree node at level %d where %d was expected", level, want_level);
    for (unsigned i = 0; i < n; i++) {
        uint32_t size = h5r_u32(&c), mask = h5r_u32(&c);
        uint64_t off[H5R_MAX_CHUNK_RANK + 1];
        for (int d = 0; d < L->rank + 1; d++) off[d] = h5r_uint(&c, 8);
        uint64_t child = h5r_addr(&c);
        if (c.bad) return h5r_fail(f, start, "truncated chunk B-tree node (%u entries)", n);
        uint64_t save = c.pos;
        if (level == 0) CK_TRY(fn(f, off, child, size, mask, ctx));
        else CK_TRY(btree1_node(f, L, child, level - 1, fn, ctx));
        c.pos = save;
    }
    return CK_OK;
}

/* ======================================================================== */
/* layout version 4 indexes                                                  */
/* ======================================================================== */

/* Element offset of the chunk with linear index `idx` in the chunk grid. */
static void grid_offset(const h5r_chunked *L, const uint64_t *dims, uint64_t idx, uint64_t *off)
{
    for (int d = L->rank - 1; d >= 0; d--) {
        uint64_t n = (dims[d] + L->chunk[d] - 1) / L->chunk[d];
        if (n == 0) n = 1;
        off[d] = (idx % n) * L->chunk[d];
        idx /= n;
    }
}

static uint64_t grid_count(const h5r_chunked *L, const uint64_t *dims)
{
    uint64_t total = 1;
    for (int d = 0; d < L->rank; d++) {
        uint64_t n = (dims[d] + L->chunk[d] - 1) / L->chunk[d];
        if (n && total > UINT64_MAX / n) return UINT64_MAX;
        total *= n;
    }
    return total;
}

/* Elements [first, first + n) of a fixed array at c (bounds checked by
 * the caller's checksum). */
static ck_status fixed_array_elements(ck_h5r *f, const h5r_chunked *L, const uint64_t *dims, h5r_cur *c,
                                      uint64_t first, uint64_t n, unsigned esize, int filtered,
                                      h5r_chunk_fn fn, void *ctx)
{
    uint64_t base = (uint64_t)f->so + (filtered ? 4 : 0);
    for (uint64_t i = first; i < first + n; i++) {
        CK_TRY(h5r_spend(f, 1));
        uint64_t addr = h5r_addr(c), size = L->chunk_bytes;
        uint32_t mask = 0;
        if (filtered) {
            size = h5r_uint(c, (int)(esize - base > 8 ? 8 : esize - base));
            if (esize - base > 8) h5r_skip(c, esize - base - 8);
            mask = h5r_u32(c);
        }
        if (c->bad) return h5r_fail(f, H5R_UNDEF, "truncated fixed array data block (FADB)");
        if (addr == H5R_UNDEF) continue;
        uint64_t off[H5R_MAX_CHUNK_RANK + 1] = {0};
        grid_offset(L, dims, i, off);
        CK_TRY(fn(f, off, addr, size, mask, ctx));
    }
    return CK_OK;
}

static ck_status fixed_array(ck_h5r *f, const h5r_chunked *L, const uint64_t *dims, h5r_chunk_fn fn,
                             void *ctx)
{
    h5r_cur c;
    CK_TRY(h5r_open_at(f, L->addr, 8, "a fixed array chunk index", &c));
    uint64_t start = c.pos;
    if (!h5r_sig(&c, "FAHD")) return h5r_fail(f, start, "fixed array header without its FAHD signature");
    h5r_u8(&c);
    int client = h5r_u8(&c);
    unsigned esize = h5r_u8(&c), page_bits = h5r_u8(&c);
    uint64_t nelem = h5r_len(&c), dblock = h5r_addr(&c);
    if (c.bad) return h5r_fail(f, start, "truncated fixed array header");
    CK_TRY(h5r_check_sum(f, start, c.pos - start, "a fixed array header (FAHD)"));
    int filtered = client == 1;
    uint64_t base = (uint64_t)f->so + (filtered ? 4 : 0);
    if (page_bits > 32 || (!filtered && esize != (unsigned)f->so) || (filtered && esize <= base))
        return h5r_fail(f, start, "fixed array with entries of %u bytes", esize);
    if (nelem > grid_count(L, dims)) return h5r_fail(f, start, "fixed array of %llu chunks for a smaller grid",
                                                      (unsigned long long)nelem);
    if (dblock == H5R_UNDEF || nelem == 0) return CK_OK;
    CK_TRY(h5r_open_at(f, dblock, 6 + (uint64_t)f->so, "a fixed array data block (FADB)", &c));
    start = c.pos;
    if (!h5r_sig(&c, "FADB")) return h5r_fail(f, start, "fixed array data block without its FADB signature");
    h5r_skip(&c, 2 + (uint64_t)f->so);
    uint64_t page = (uint64_t)1 << page_bits;
    /* Unpaged: the elements, then one checksum over the whole block.
     * Paged: a bitmap of the pages written and a checksum of this prefix,
     * then each page (the last one shorter) with its own checksum. */
    if (nelem <= page) {
        if (nelem > h5r_left(&c) / esize) return h5r_fail(f, start, "truncated fixed array data block (FADB)");
        CK_TRY(h5r_check_sum(f, start, c.pos - start + nelem * esize, "a fixed array data block (FADB)"));
        return fixed_array_elements(f, L, dims, &c, 0, nelem, esize, filtered, fn, ctx);
    }
    uint64_t npages = (nelem + page - 1) / page;
    const uint8_t *bits = h5r_bytes(&c, (npages + 7) / 8);
    if (c.bad) return h5r_fail(f, start, "truncated fixed array data block (FADB)");
    CK_TRY(h5r_check_sum(f, start, c.pos - start, "a fixed array data block (FADB)"));
    uint64_t at = c.pos + 4;
    for (uint64_t p = 0; p < npages; p++) {
        uint64_t n = p + 1 < npages ? page : nelem - p * page;
        uint64_t bytes = n * esize;
        if (bits[p / 8] & (0x80u >> (p % 8))) {             /* the page was written */
            CK_TRY(h5r_check_sum(f, at, bytes, "a fixed array data block page (FADB)"));
            h5r_cur pc = h5r_at(f, at, bytes);
            CK_TRY(fixed_array_elements(f, L, dims, &pc, p * page, n, esize, filtered, fn, ctx));
        }
        at += bytes + 4;
        if (at > f->size) break;                            /* later pages cannot be there */
    }
    return CK_OK;
}

typedef struct bt2_ctx {
    const h5r_chunked *L;
    int filtered;
    h5r_chunk_fn fn;
    void *ctx;
} bt2_ctx;

static ck_status bt2_chunk(ck_h5r *f, const uint8_t *rec, uint16_t rec_size, void *vctx)
{
    bt2_ctx *b = vctx;
    const h5r_chunked *L = b->L;
    h5r_cur c = h5r_at(f, (uint64_t)(rec - f->data), rec_size);
    uint64_t addr = h5r_addr(&c), size = L->chunk_bytes;
    uint32_t mask = 0;
    if (b->filtered) {
        int64_t size_len = (int64_t)rec_size - f->so - 4 - 8 * L->rank;
        if (size_len < 1 || size_len > 8) return h5r_fail(f, H5R_UNDEF, "v2 B-tree chunk records of %u bytes", rec_size);
        size = h5r_uint(&c, (int)size_len);
        mask = h5r_u32(&c);
    }
    uint64_t off[H5R_MAX_CHUNK_RANK + 1] = {0};
    for (int d = 0; d < L->rank; d++) {
        uint64_t scaled = h5r_uint(&c, 8);
        if (scaled > UINT64_MAX / L->chunk[d]) return h5r_fail(f, H5R_UNDEF, "chunk offset overflows");
        off[d] = scaled * L->chunk[d];
    }
    if (c.bad) return h5r_fail(f, H5R_UNDEF, "truncated v2 B-tree chunk record");
    if (addr == H5R_UNDEF) return CK_OK;
    return b->fn(f, off, addr, size, mask, b->ctx);
}

/* ======================================================================== */
/* dispatch                                                                  */
/* ======================================================================== */

ck_status h5r_chunks_each(ck_h5r *f, const h5r_chunked *L, const uint64_t *dims, h5r_chunk_fn fn,
                          void *ctx)
{
    if (L->addr == H5R_UNDEF) return CK_OK;     /* nothing written yet */
    uint64_t off[H5R_MAX_CHUNK_RANK + 1] = {0};
    switch (L->index) {
    case H5R_INDEX_BTREE1: return btree1_node(f, L, L->addr, -1, fn, ctx);
    case H5R_INDEX_SINGLE:
        return fn(f, off, L->addr, L->filtered_single ? L->single_size : L->chunk_bytes,
                  L->single_mask, ctx);
    case H5R_INDEX_IMPLICIT: {
        uint64_t n = grid_count(L, dims);
        if (n == UINT64_MAX || (L->chunk_bytes && n > f->size / L->chunk_bytes + 1))
            return h5r_fail(f, H5R_UNDEF, "implicit chunk index of %llu chunks cannot fit in the file",
                            (unsigned long long)n);
        for (uint64_t i = 0; i < n; i++) {
            CK_TRY(h5r_spend(f, 1));
            grid_offset(L, dims, i, off);
            CK_TRY(fn(f, off, L->addr + i * L->chunk_bytes, L->chunk_bytes, 0, ctx));
        }
        return CK_OK;
    }
    case H5R_INDEX_FARRAY: return fixed_array(f, L, dims, fn, ctx);
    case H5R_INDEX_BTREE2: {
        bt2_ctx b = {L, L->filtered, fn, ctx};
        return h5r_btree2_walk(f, L->addr, L->filtered ? 11 : 10, bt2_chunk, &b);
    }
    case H5R_INDEX_EARRAY: return h5r_earray_each(f, L, dims, fn, ctx);
    default:
        return h5r_fail(f, H5R_UNDEF, "chunk index type %d is not supported", L->index);
    }
}
