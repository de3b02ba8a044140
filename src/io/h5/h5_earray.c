/* The extensible array chunk index (layout version 4, index type 4), which
 * libhdf5 uses for chunked datasets with exactly one unlimited dimension
 * when the file asks for the newest format.  The array is a fixed-depth
 * tree: a header (EAHD) points to an index block (EAIB) that holds the
 * first few elements inline, the addresses of the first data blocks (EADB)
 * and the addresses of secondary blocks (EASB), each of which lists more
 * data blocks.  Large data blocks are split in pages with a checksum each,
 * and a secondary block keeps a bitmap of the pages ever written.
 *
 * Super block u (the index block's own rows, then one secondary block each)
 * has 2^(u/2) data blocks of 2^((u+1)/2) x "min elements" elements.  Every
 * structure is checksummed and names the header it belongs to, which is
 * checked, so a pointer into another array is refused.  The depth is fixed, so no
 * walk can cycle; every block and element costs work budget. */
#include "io/h5/h5_chunks.h"

typedef struct earray {
    ck_h5r *f;
    const h5r_chunked *L;
    h5r_chunk_fn fn;
    void *ctx;
    uint64_t hdr_addr;
    int client;                     /* 0 plain chunks, 1 filtered chunks     */
    unsigned esize;                 /* bytes of one element                  */
    unsigned max_bits, idx_elmts, min_elmts, min_ptrs, page_bits;
    uint64_t page_elmts;            /* elements per data block page          */
    int off_size;                   /* bytes of a block's array offset       */
    uint64_t max_idx_set;           /* elements [0, max_idx_set) were set    */
    uint64_t down[H5R_MAX_CHUNK_RANK];      /* chunk numbering strides       */
} earray;

static int log2_of(uint64_t v)
{
    int n = 0;
    while (v > 1) {
        v >>= 1;
        n++;
    }
    return n;
}

static int is_pow2(uint64_t v) { return v && !(v & (v - 1)); }

/* One element: a chunk's address (then its stored size and filter mask
 * when filtered).  Array element `idx` is the chunk whose coordinates,
 * with the unlimited dimension moved first, have that linear number in a
 * grid of the maximum dimensions. */
static ck_status element(earray *a, h5r_cur *c, uint64_t idx)
{
    ck_h5r *f = a->f;
    const h5r_chunked *L = a->L;
    uint64_t addr = h5r_addr(c), size = L->chunk_bytes;
    uint32_t mask = 0;
    if (a->client == 1) {
        size = h5r_uint(c, (int)(a->esize - (unsigned)f->so - 4));
        mask = h5r_u32(c);
    }
    if (c->bad) return h5r_fail(f, H5R_UNDEF, "truncated extensible array element %llu", (unsigned long long)idx);
    /* every element costs, the unused too: blocks listed many times over
     * cannot make the walk quadratic for free */
    CK_TRY(h5r_spend(f, 1));
    if (idx >= a->max_idx_set || addr == H5R_UNDEF) return CK_OK;
    uint64_t scaled[H5R_MAX_CHUNK_RANK], off[H5R_MAX_CHUNK_RANK + 1] = {0};
    for (int i = 0; i < L->rank; i++) {
        scaled[i] = idx / a->down[i];
        idx %= a->down[i];
    }
    /* undo the swizzle: swizzled coordinate 0 is the unlimited dimension */
    for (int i = 0, s = 1; i < L->rank; i++) {
        uint64_t v = i == L->unlim ? scaled[0] : scaled[s++];
        if (v > UINT64_MAX / L->chunk[i]) return h5r_fail(f, H5R_UNDEF, "extensible array chunk offset overflows");
        off[i] = v * L->chunk[i];
    }
    return a->fn(f, off, addr, size, mask, a->ctx);
}

/* The fields every block but the header starts with: signature, version 0,
 * the client ID, the header's address; data and secondary blocks then give
 * their offset in the array (skipped, see below). */
static ck_status block_prefix(earray *a, h5r_cur *c, const char sig[4], const char *what, int has_off)
{
    uint64_t start = c->pos;
    if (!h5r_sig(c, sig)) return h5r_fail(a->f, start, "%s without its %.4s signature", what, sig);
    int version = h5r_u8(c), client = h5r_u8(c);
    uint64_t hdr = h5r_addr(c);
    if (has_off) h5r_skip(c, (uint64_t)a->off_size);
    if (c->bad) return h5r_fail(a->f, start, "truncated %s", what);
    if (version != 0 || client != a->client)
        return h5r_fail(a->f, start, "%s of version %d for client %d (expected 0 and %d)", what, version, client,
                        a->client);
    /* The block's offset in the array is not checked: libhdf5 writes the
     * data blocks of the index block with an offset its reader ignores
     * (counted in whole earlier data blocks), so it proves nothing. */
    if (hdr != a->hdr_addr)
        return h5r_fail(a->f, start, "%s belongs to another extensible array (header %llu, expected %llu)", what,
                        (unsigned long long)hdr, (unsigned long long)a->hdr_addr);
    return CK_OK;
}

/* A data block of `n` elements, the first being array element `first`
 * (counted after the index block's).  A paged block (n over a page) has
 * its pages after the checksummed prefix; `bits` (NULL: no paging allowed)
 * says which pages were written, from bit `bit0` on. */
static ck_status data_block(earray *a, uint64_t addr, uint64_t first, uint64_t n, const uint8_t *bits, uint64_t bit0)
{
    ck_h5r *f = a->f;
    CK_TRY(h5r_spend(f, 1));
    h5r_cur c;
    CK_TRY(h5r_open_at(f, addr, 4, "an extensible array data block (EADB)", &c));
    uint64_t start = c.pos;
    CK_TRY(block_prefix(a, &c, "EADB", "an extensible array data block (EADB)", 1));
    uint64_t base = a->idx_elmts + first;
    if (n <= a->page_elmts) {
        if (n > h5r_left(&c) / a->esize) return h5r_fail(f, start, "truncated extensible array data block (EADB)");
        CK_TRY(h5r_check_sum(f, start, c.pos - start + n * a->esize, "an extensible array data block (EADB)"));
        for (uint64_t i = 0; i < n && base + i < a->max_idx_set; i++) CK_TRY(element(a, &c, base + i));
        return CK_OK;
    }
    if (!bits) return h5r_fail(f, start, "paged extensible array data block in the index block is not supported");
    CK_TRY(h5r_check_sum(f, start, c.pos - start, "an extensible array data block (EADB)"));
    /* the pages follow the prefix's checksum; each page is checked (and
     * bounds-checked) before use, and the bitmap bounds their number */
    uint64_t pages_at = c.pos + 4, page_bytes = a->page_elmts * a->esize + 4, npages = n / a->page_elmts;
    for (uint64_t p = 0; p < npages && base + p * a->page_elmts < a->max_idx_set; p++) {
        uint64_t bit = bit0 + p;
        CK_TRY(h5r_spend(f, 1));
        if (!(bits[bit / 8] & (0x80u >> (bit % 8)))) continue;     /* never written */
        if (p > (UINT64_MAX - pages_at) / page_bytes) return h5r_fail(f, start, "extensible array page overflows");
        uint64_t at = pages_at + p * page_bytes;
        CK_TRY(h5r_check_sum(f, at, page_bytes - 4, "an extensible array data block page (EADB)"));
        h5r_cur pc = h5r_at(f, at, page_bytes - 4);
        uint64_t pbase = base + p * a->page_elmts;
        for (uint64_t i = 0; i < a->page_elmts && pbase + i < a->max_idx_set; i++)
            CK_TRY(element(a, &pc, pbase + i));
    }
    return CK_OK;
}

/* Secondary block of super block u: `nd` data blocks of `ne` elements,
 * the first data block starting at array offset `first`. */
static ck_status secondary_block(earray *a, uint64_t addr, uint64_t first, uint64_t nd, uint64_t ne)
{
    ck_h5r *f = a->f;
    CK_TRY(h5r_spend(f, 1));
    h5r_cur c;
    CK_TRY(h5r_open_at(f, addr, 4, "an extensible array secondary block (EASB)", &c));
    uint64_t start = c.pos;
    CK_TRY(block_prefix(a, &c, "EASB", "an extensible array secondary block (EASB)", 1));
    const uint8_t *bits = NULL;
    uint64_t npages = 0, bitmap_bytes = 0;
    if (ne > a->page_elmts) {
        /* one bitmap of the pages written per data block, bit k of the
         * whole map (most significant first) for page k mod npages of data
         * block k / npages */
        npages = ne / a->page_elmts;
        uint64_t per = (npages + 7) / 8;
        if (per > h5r_left(&c) / nd) return h5r_fail(f, start, "truncated extensible array secondary block (EASB)");
        bitmap_bytes = nd * per;
        bits = h5r_bytes(&c, bitmap_bytes);
    }
    uint64_t addrs = c.pos;
    if (c.bad || nd > h5r_left(&c) / (uint64_t)f->so)
        return h5r_fail(f, start, "truncated extensible array secondary block (EASB)");
    CK_TRY(h5r_check_sum(f, start, addrs - start + nd * (uint64_t)f->so, "an extensible array secondary block (EASB)"));
    for (uint64_t j = 0; j < nd && a->idx_elmts + first + j * ne < a->max_idx_set; j++) {
        uint64_t dblock = h5r_addr(&c);
        if (dblock == H5R_UNDEF) continue;
        uint64_t save = c.pos;
        CK_TRY(data_block(a, dblock, first + j * ne, ne, bits, j * npages));
        c.pos = save;
    }
    return CK_OK;
}

static ck_status index_block(earray *a, uint64_t addr)
{
    ck_h5r *f = a->f;
    h5r_cur c;
    CK_TRY(h5r_open_at(f, addr, 4, "an extensible array index block (EAIB)", &c));
    uint64_t start = c.pos;
    CK_TRY(block_prefix(a, &c, "EAIB", "an extensible array index block (EAIB)", 0));
    /* super blocks: 1 + max_bits - log2(min elements), the first
     * 2 log2(min pointers) of them listed by the index block itself */
    unsigned nsblks = 1 + a->max_bits - (unsigned)log2_of(a->min_elmts);
    unsigned own_sblks = 2 * (unsigned)log2_of(a->min_ptrs);
    if (own_sblks > nsblks) own_sblks = nsblks;
    uint64_t n_dblk = 2 * ((uint64_t)a->min_ptrs - 1), n_sblk = nsblks - own_sblks;
    uint64_t elems = c.pos, so = (uint64_t)f->so;
    uint64_t body = (uint64_t)a->idx_elmts * a->esize + (n_dblk + n_sblk) * so;
    if (body > h5r_left(&c)) return h5r_fail(f, start, "truncated extensible array index block (EAIB)");
    CK_TRY(h5r_check_sum(f, start, elems - start + body, "an extensible array index block (EAIB)"));
    for (uint64_t i = 0; i < a->idx_elmts; i++) CK_TRY(element(a, &c, i));
    h5r_cur dc = h5r_at(f, elems + (uint64_t)a->idx_elmts * a->esize, n_dblk * so);
    h5r_cur sc = h5r_at(f, elems + (uint64_t)a->idx_elmts * a->esize + n_dblk * so, n_sblk * so);
    uint64_t first = 0;                     /* array offset after the index block's elements */
    for (unsigned u = 0; u < nsblks && a->idx_elmts + first < a->max_idx_set; u++) {
        uint64_t nd = (uint64_t)1 << (u / 2), ne = ((uint64_t)1 << ((u + 1) / 2)) * a->min_elmts;
        /* reached only when the header claims more than 2^64 elements set */
        if (ne > UINT64_MAX / nd || nd * ne > UINT64_MAX - first - a->idx_elmts)
            return h5r_fail(f, start, "extensible array of %llu elements overflows",
                            (unsigned long long)a->max_idx_set);
        if (u < own_sblks) {
            for (uint64_t j = 0; j < nd; j++) {
                uint64_t dblock = h5r_addr(&dc);
                if (dc.bad) return h5r_fail(f, start, "truncated extensible array index block (EAIB)");
                if (dblock != H5R_UNDEF) CK_TRY(data_block(a, dblock, first + j * ne, ne, NULL, 0));
            }
        } else {
            uint64_t sblock = h5r_addr(&sc);
            if (sc.bad) return h5r_fail(f, start, "truncated extensible array index block (EAIB)");
            if (sblock != H5R_UNDEF) CK_TRY(secondary_block(a, sblock, first, nd, ne));
        }
        first += nd * ne;
    }
    return CK_OK;
}

ck_status h5r_earray_each(ck_h5r *f, const h5r_chunked *L, const uint64_t *dims, h5r_chunk_fn fn, void *ctx)
{
    (void)dims;                     /* chunks are placed by the maximum shape */
    earray a = {f, L, fn, ctx, L->addr, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, {0}};
    if (L->unlim < 0 || L->unlim >= L->rank)
        return h5r_fail(f, H5R_UNDEF, "extensible array chunk index without an unlimited dimension");
    h5r_cur c;
    CK_TRY(h5r_open_at(f, L->addr, 4, "an extensible array header (EAHD)", &c));
    uint64_t start = c.pos;
    if (!h5r_sig(&c, "EAHD")) return h5r_fail(f, start, "extensible array header without its EAHD signature");
    int version = h5r_u8(&c);
    a.client = h5r_u8(&c);
    a.esize = h5r_u8(&c);
    a.max_bits = h5r_u8(&c);
    a.idx_elmts = h5r_u8(&c);
    a.min_elmts = h5r_u8(&c);
    a.min_ptrs = h5r_u8(&c);
    a.page_bits = h5r_u8(&c);
    for (int i = 0; i < 4; i++) h5r_len(&c);   /* secondary and data block counts and sizes */
    a.max_idx_set = h5r_len(&c);
    h5r_len(&c);                                /* elements realized */
    uint64_t iblock = h5r_addr(&c);
    if (c.bad) return h5r_fail(f, start, "truncated extensible array header (EAHD)");
    CK_TRY(h5r_check_sum(f, start, c.pos - start, "an extensible array header (EAHD)"));
    unsigned so = (unsigned)f->so;
    int filtered = a.client == 1;
    if (version != 0 || a.client > 1 || filtered != (L->filtered != 0))
        return h5r_fail(f, start, "extensible array header of version %d for client %d (the dataset is %sfiltered)",
                        version, a.client, L->filtered ? "" : "not ");
    if ((!filtered && a.esize != so) || (filtered && (a.esize <= so + 4 || a.esize > so + 12)))
        return h5r_fail(f, start, "extensible array with elements of %u bytes", a.esize);
    if (a.max_bits == 0 || a.max_bits > 64 || !is_pow2(a.min_elmts) || !is_pow2(a.min_ptrs) ||
        (unsigned)log2_of(a.min_elmts) > a.max_bits || a.page_bits > 32)
        return h5r_fail(f, start, "extensible array with impossible parameters (%u bits, blocks of %u elements, "
                        "%u pointers, pages of 2^%u)", a.max_bits, a.min_elmts, a.min_ptrs, a.page_bits);
    a.page_elmts = (uint64_t)1 << a.page_bits;
    a.off_size = (int)((a.max_bits + 7) / 8);
    /* chunk numbering: strides of the swizzled grid of maximum chunks */
    uint64_t grid[H5R_MAX_CHUNK_RANK];
    grid[0] = L->max_chunks[L->unlim];
    for (int i = 0, s = 1; i < L->rank; i++)
        if (i != L->unlim) grid[s++] = L->max_chunks[i];
    a.down[L->rank - 1] = 1;
    for (int i = L->rank - 2; i >= 0; i--) {
        if (grid[i + 1] == 0 || a.down[i + 1] > UINT64_MAX / grid[i + 1])
            return h5r_fail(f, start, "extensible array chunk grid overflows");
        a.down[i] = a.down[i + 1] * grid[i + 1];
    }
    if (iblock == H5R_UNDEF || a.max_idx_set == 0) return CK_OK;    /* nothing written */
    return index_block(&a, iblock);
}
