/* Datasets: the layout message (compact, contiguous, chunked), gathering
 * the stored bytes (chunks through h5_chunks.c and h5_filter.c), and the
 * conversion of elements to a ck_tensor. */
#include "core/limits.h"
#include "io/h5/h5_chunks.h"
#include "io/h5/h5_filter.h"

typedef struct dset {
    ck_h5r_type type;
    ck_h5r_space space;
    int layout;                     /* 0 compact, 1 contiguous, 2 chunked    */
    uint64_t compact_abs, compact_len;
    uint64_t addr, size;            /* contiguous                             */
    h5r_chunked chunked;
    h5r_pipeline pipe;
    const uint8_t *fill;            /* one element, or NULL for zeros         */
} dset;

/* The extensible array numbers chunks by the maximum dimensions, with the
 * one unlimited dimension (which libhdf5 requires for this index) first. */
static ck_status earray_dims(ck_h5r *f, const h5r_msg *m, dset *d)
{
    h5r_chunked *L = &d->chunked;
    L->unlim = -1;
    for (int i = 0; d->space.has_max && i < L->rank; i++) {
        if (d->space.max[i] != UINT64_MAX) {
            L->max_chunks[i] = d->space.max[i] / L->chunk[i] + (d->space.max[i] % L->chunk[i] != 0);
            if (d->space.max[i] < d->space.dims[i])
                return h5r_fail(f, m->off, "dimension %d of %llu exceeds its maximum %llu", i,
                                (unsigned long long)d->space.dims[i], (unsigned long long)d->space.max[i]);
            continue;
        }
        if (L->unlim >= 0)
            return h5r_fail(f, m->off, "extensible array chunk index for a dataset with several unlimited dimensions");
        L->unlim = i;
        L->max_chunks[i] = UINT64_MAX;
    }
    if (L->unlim < 0)
        return h5r_fail(f, m->off, "extensible array chunk index for a dataset without an unlimited dimension");
    return CK_OK;
}

static ck_status parse_layout(ck_h5r *f, const h5r_msg *m, dset *d)
{
    h5r_cur c = h5r_at(f, m->off, m->size);
    int version = h5r_u8(&c);
    h5r_chunked *L = &d->chunked;
    int ndims = 0;
    uint64_t dims[H5R_MAX_CHUNK_RANK + 1] = {0};
    if (version == 1 || version == 2) {
        ndims = h5r_u8(&c);
        d->layout = h5r_u8(&c);
        h5r_skip(&c, 5);
        if (ndims > H5R_MAX_CHUNK_RANK + 1) return h5r_fail(f, m->off, "layout of %d dimensions", ndims);
        if (d->layout != 0) d->addr = h5r_addr(&c);
        for (int i = 0; i < ndims; i++) dims[i] = h5r_u32(&c);
        if (d->layout == 0) {
            d->compact_len = h5r_u32(&c);
            d->compact_abs = c.pos;
            h5r_skip(&c, d->compact_len);
        } else if (d->layout == 1) {
            d->size = UINT64_MAX;           /* implied by the dataspace */
        } else {
            L->addr = d->addr;
            L->index = H5R_INDEX_BTREE1;
        }
    } else if (version >= 3 && version <= 5) {
        /* Version 5 (libhdf5 2.0) has version 4's fields; only its chunk
         * indexes size a filtered chunk's stored size with the size of
         * lengths, which the index readers take from their element sizes. */
        d->layout = h5r_u8(&c);
        if (d->layout == 0) {
            d->compact_len = h5r_u16(&c);
            d->compact_abs = c.pos;
            h5r_skip(&c, d->compact_len);
        } else if (d->layout == 1) {
            d->addr = h5r_addr(&c);
            d->size = h5r_len(&c);
        } else if (d->layout == 2 && version == 3) {
            ndims = h5r_u8(&c);
            if (ndims > H5R_MAX_CHUNK_RANK + 1) return h5r_fail(f, m->off, "layout of %d dimensions", ndims);
            L->addr = h5r_addr(&c);
            for (int i = 0; i < ndims; i++) dims[i] = h5r_u32(&c);
            L->index = H5R_INDEX_BTREE1;
        } else if (d->layout == 2) {
            int flags = h5r_u8(&c);
            ndims = h5r_u8(&c);
            int enc = h5r_u8(&c);
            if (ndims > H5R_MAX_CHUNK_RANK + 1 || enc < 1 || enc > 8)
                return h5r_fail(f, m->off, "chunked layout of %d dimensions of %d bytes", ndims, enc);
            for (int i = 0; i < ndims; i++) dims[i] = h5r_uint(&c, enc);
            L->index = h5r_u8(&c);
            if (L->index == H5R_INDEX_SINGLE && (flags & 2)) {
                L->filtered_single = 1;
                L->single_size = h5r_len(&c);
                L->single_mask = h5r_u32(&c);
            } else if (L->index == H5R_INDEX_FARRAY) h5r_skip(&c, 1);
            else if (L->index == H5R_INDEX_EARRAY) h5r_skip(&c, 5);
            else if (L->index == H5R_INDEX_BTREE2) h5r_skip(&c, 6);
            L->addr = h5r_addr(&c);
        } else {
            return h5r_fail(f, m->off, "dataset layout class %d is not supported", d->layout);
        }
    } else {
        return h5r_fail(f, m->off, "data layout message version %d is not supported", version);
    }
    if (c.bad) return h5r_fail(f, m->off, "truncated data layout message");
    if (d->layout == 2) {
        /* The last chunk dimension is the element size. */
        if (ndims < 2 || ndims - 1 != d->space.rank)
            return h5r_fail(f, m->off, "chunks of rank %d for a dataset of rank %d", ndims - 1, d->space.rank);
        L->rank = ndims - 1;
        uint64_t bytes = d->type.size;
        for (int i = 0; i < L->rank; i++) {
            if (dims[i] == 0 || bytes > H5R_MAX_ALLOC / dims[i])
                return h5r_fail(f, m->off, "impossible chunk dimension %llu", (unsigned long long)dims[i]);
            L->chunk[i] = dims[i];
            bytes *= dims[i];
        }
        L->chunk_bytes = bytes;
        if (L->index == H5R_INDEX_EARRAY) CK_TRY(earray_dims(f, m, d));
    } else if (d->layout != 0 && d->layout != 1) {
        return h5r_fail(f, m->off, "dataset layout class %d is not supported", d->layout);
    }
    return CK_OK;
}

static ck_status parse_fill(ck_h5r *f, const h5r_obj *o, dset *d)
{
    const h5r_msg *m = h5r_obj_find(o, H5R_MSG_FILL);
    uint64_t size = 0;
    h5r_cur c;
    if (m) {
        c = h5r_at(f, m->off, m->size);
        int version = h5r_u8(&c);
        if (version == 1 || version == 2) {
            h5r_skip(&c, 2);
            int defined = h5r_u8(&c);
            if (version == 1 || defined) size = h5r_u32(&c);
        } else if (version == 3) {
            int flags = h5r_u8(&c);
            if (flags & 0x20) size = h5r_u32(&c);
        }
    } else if ((m = h5r_obj_find(o, H5R_MSG_FILL_OLD)) != NULL) {
        c = h5r_at(f, m->off, m->size);
        size = h5r_u32(&c);
    } else {
        return CK_OK;
    }
    const uint8_t *v = h5r_bytes(&c, size);
    if (c.bad) return h5r_fail(f, m->off, "truncated fill value message");
    if (size && size == d->type.size) d->fill = v;
    return CK_OK;
}

static ck_status parse_dataset(ck_h5r *f, uint64_t obj, dset *d, int need_layout)
{
    memset(d, 0, sizeof *d);
    h5r_obj o;
    CK_TRY(h5r_obj_read(f, obj, &o));
    const h5r_msg *mt = h5r_obj_find(&o, H5R_MSG_DATATYPE), *ms = h5r_obj_find(&o, H5R_MSG_DATASPACE);
    const h5r_msg *ml = h5r_obj_find(&o, H5R_MSG_LAYOUT), *mp = h5r_obj_find(&o, H5R_MSG_PIPELINE);
    ck_status st = CK_OK;
    if (!mt || !ms || !ml) {
        st = h5r_fail(f, H5R_UNDEF, "object %llu is not a dataset (no %s message)", (unsigned long long)obj,
                      !mt ? "datatype" : !ms ? "dataspace" : "layout");
    } else if ((mt->flags & 2) || (ms->flags & 2)) {
        st = h5r_fail(f, mt->off, "committed (shared) datatypes and dataspaces are not supported");
    } else {
        h5r_cur tc = h5r_at(f, mt->off, mt->size), sc = h5r_at(f, ms->off, ms->size);
        st = h5r_parse_type(f, &tc, &d->type);
        if (st == CK_OK) st = h5r_parse_space(f, &sc, &d->space);
        if (st == CK_OK && need_layout) st = parse_layout(f, ml, d);
        if (st == CK_OK && need_layout && mp) st = h5r_pipeline_parse(f, mp, &d->pipe);
        if (st == CK_OK && need_layout) st = parse_fill(f, &o, d);
        d->chunked.filtered = d->pipe.n > 0;
    }
    h5r_obj_free(&o);
    return st;
}

ck_status ck_h5r_dataset_info(ck_h5r *f, uint64_t obj, ck_h5r_type *type, ck_h5r_space *space)
{
    h5r_begin(f);
    dset d;
    CK_TRY(parse_dataset(f, obj, &d, 0));
    *type = d.type;
    *space = d.space;
    return CK_OK;
}

/* ======================================================================== */
/* chunked data                                                              */
/* ======================================================================== */

typedef struct gather {
    const dset *d;
    uint8_t *out;
    uint8_t *buf, *tmp;             /* chunk_bytes + 4 each, when filtered    */
} gather;

static ck_status put_chunk(ck_h5r *f, const uint64_t *off, uint64_t addr, uint64_t size, uint32_t mask,
                           void *ctx)
{
    gather *g = ctx;
    const dset *d = g->d;
    const h5r_chunked *L = &d->chunked;
    int r = L->rank;
    CK_TRY(h5r_spend(f, 1 + L->chunk_bytes / 65536));
    for (int i = 0; i < r; i++)
        if (off[i] >= d->space.dims[i] || off[i] % L->chunk[i])
            return h5r_fail(f, H5R_UNDEF, "chunk at element offset %llu of dimension %d lies outside "
                            "the dataset or off the chunk grid", (unsigned long long)off[i], i);
    uint64_t abs = 0;
    CK_TRY(h5r_locate(f, addr, size, "a data chunk", &abs));
    const uint8_t *src = f->data + abs;
    if (d->pipe.n > 0) {
        CK_TRY(h5r_pipeline_undo(f, &d->pipe, mask, src, size, g->buf, L->chunk_bytes, g->tmp));
        src = g->buf;
    } else if (size < L->chunk_bytes) {
        return h5r_fail(f, abs, "chunk of %llu bytes where %llu were expected", (unsigned long long)size,
                        (unsigned long long)L->chunk_bytes);
    }
    /* Copy the chunk row by row (runs along the last dimension), clipping
     * the chunks that stick out past the dataset's edges. */
    uint64_t es = d->type.size, last = L->chunk[r - 1];
    uint64_t run = d->space.dims[r - 1] - off[r - 1];
    if (run > last) run = last;
    uint64_t rows = L->chunk_bytes / (last * es);
    uint64_t idx[H5R_MAX_CHUNK_RANK] = {0};
    for (uint64_t row = 0; row < rows; row++) {
        if (row) {                          /* next row: increment idx[0..r-2] */
            for (int k = r - 2; k >= 0; k--) {
                if (++idx[k] < L->chunk[k]) break;
                idx[k] = 0;
            }
        }
        uint64_t dst = 0;
        int inside = 1;
        for (int k = 0; k < r - 1; k++) {
            uint64_t g_k = off[k] + idx[k];
            if (g_k >= d->space.dims[k]) {
                inside = 0;
                break;
            }
            dst = dst * d->space.dims[k] + g_k;
        }
        if (!inside) continue;
        dst = (dst * d->space.dims[r - 1] + off[r - 1]) * es;
        memcpy(g->out + dst, src + row * last * es, run * es);
    }
    return CK_OK;
}

/* ======================================================================== */
/* reading                                                                   */
/* ======================================================================== */

static ck_status plan_dtype(ck_h5r *f, const ck_h5r_type *t, ck_dtype *dt)
{
    if (t->cls != CK_H5R_T_INT && t->cls != CK_H5R_T_FLOAT && t->cls != CK_H5R_T_ENUM)
        return h5r_fail(f, H5R_UNDEF, "dataset elements of datatype class %d; expected float or integer", t->cls);
    if (t->elem_cls == CK_H5R_T_FLOAT) *dt = t->elem_size == 8 ? CK_FLOAT64 : CK_FLOAT32;
    else *dt = (t->elem_size <= 2 || (t->elem_size == 4 && t->elem_signed)) ? CK_INT32 : CK_INT64;
    return CK_OK;
}

static void convert(const ck_h5r_type *t, const uint8_t *raw, ck_tensor *out)
{
    uint64_t n = (uint64_t)out->size, es = t->size;
    int native = !t->elem_be && (size_t)t->size == ck_dtype_size(out->dtype) &&
                 (t->elem_cls == CK_H5R_T_FLOAT || t->elem_signed);
    if (native) {                           /* little-endian host, same width */
        memcpy(out->data, raw, n * es);
        return;
    }
    for (uint64_t i = 0; i < n; i++) {
        const uint8_t *p = raw + i * es;
        switch (out->dtype) {
        case CK_FLOAT32: ((float *)out->data)[i] = (float)h5r_get_float(p, t->elem_size, t->elem_be); break;
        case CK_FLOAT64: ((double *)out->data)[i] = h5r_get_float(p, t->elem_size, t->elem_be); break;
        case CK_INT32:
            ((int32_t *)out->data)[i] = (int32_t)h5r_get_int(p, t->elem_size, t->elem_be, t->elem_signed);
            break;
        default:
            ((int64_t *)out->data)[i] = h5r_get_int(p, t->elem_size, t->elem_be, t->elem_signed);
            break;
        }
    }
}

static ck_status gather_raw(ck_h5r *f, const dset *d, uint64_t nbytes, const uint8_t **raw, uint8_t **own)
{
    *own = NULL;
    if (d->layout == 0) {
        if (d->compact_len < nbytes)
            return h5r_fail(f, d->compact_abs, "compact data of %llu bytes for %llu bytes of elements",
                            (unsigned long long)d->compact_len, (unsigned long long)nbytes);
        *raw = f->data + d->compact_abs;
        return CK_OK;
    }
    if (d->layout == 1) {
        if (d->addr == H5R_UNDEF) return h5r_fail(f, H5R_UNDEF, "the dataset has no data stored");
        if (d->size != UINT64_MAX && d->size < nbytes)
            return h5r_fail(f, H5R_UNDEF, "contiguous storage of %llu bytes for %llu bytes of elements",
                            (unsigned long long)d->size, (unsigned long long)nbytes);
        uint64_t abs = 0;
        CK_TRY(h5r_locate(f, d->addr, nbytes, "a dataset's data (truncated file?)", &abs));
        *raw = f->data + abs;
        return CK_OK;
    }
    /* Chunked: compressed chunks may expand, but only so far (deflate's
     * best ratio is about 1032:1); a claim beyond that is damage. */
    if (nbytes / 1100 > f->size + 65536)
        return h5r_fail(f, H5R_UNDEF, "a chunked dataset of %llu bytes cannot come from a file of %llu",
                        (unsigned long long)nbytes, (unsigned long long)f->size);
    gather g = {d, NULL, NULL, NULL};
    g.out = ck_malloc(nbytes ? nbytes : 1);
    if (d->pipe.n > 0) {
        g.buf = ck_malloc(d->chunked.chunk_bytes + 4);
        g.tmp = ck_malloc(d->chunked.chunk_bytes + 4);
    }
    ck_status st = CK_OK;
    if (!g.out || (d->pipe.n > 0 && (!g.buf || !g.tmp))) st = ck_oom("a chunked dataset");
    if (st == CK_OK) {
        uint64_t es = d->type.size;
        if (!d->fill) memset(g.out, 0, nbytes);
        else for (uint64_t i = 0; i + es <= nbytes; i += es) memcpy(g.out + i, d->fill, es);
        st = h5r_chunks_each(f, &d->chunked, d->space.dims, put_chunk, &g);
    }
    ck_free(g.buf);
    ck_free(g.tmp);
    if (st != CK_OK) {
        ck_free(g.out);
        return st;
    }
    *raw = g.out;
    *own = g.out;
    return CK_OK;
}

ck_status ck_h5r_read_dataset(ck_h5r *f, uint64_t obj, ck_tensor **out)
{
    h5r_begin(f);
    dset d;
    CK_TRY(parse_dataset(f, obj, &d, 1));
    if (d.space.rank < 0) return h5r_fail(f, H5R_UNDEF, "the dataset has no dataspace (a null dataset)");
    if (d.space.rank > CK_MAX_RANK)
        return h5r_fail(f, H5R_UNDEF, "the dataset has rank %d; at most %d is supported", d.space.rank,
                        CK_MAX_RANK);
    ck_dtype dt = CK_FLOAT32;
    CK_TRY(plan_dtype(f, &d.type, &dt));
    uint64_t count = d.space.count;
    /* Said before the size: a never-written dataset claims any shape. */
    if (count && d.layout == 1 && d.addr == H5R_UNDEF)
        return h5r_fail(f, H5R_UNDEF, "the dataset has no data stored");
    if (count && d.type.size > H5R_MAX_ALLOC / count)
        return h5r_fail(f, H5R_UNDEF, "the dataset (%llu elements of %u bytes) is too large",
                        (unsigned long long)count, d.type.size);
    uint64_t nbytes = count * d.type.size;
    int64_t shape[CK_MAX_RANK] = {0};
    for (int i = 0; i < d.space.rank; i++) shape[i] = (int64_t)d.space.dims[i];
    /* the limits of ck_limit, before anything is allocated for it */
    CK_TRY(ck_limit_check_shape(d.space.rank, shape, f->name, "a dataset"));
    CK_TRY(ck_load_charge(count * ck_dtype_size(dt), "a dataset"));
    const uint8_t *raw = NULL;
    uint8_t *own = NULL;
    if (count) CK_TRY(gather_raw(f, &d, nbytes, &raw, &own));
    ck_tensor *t = NULL;
    ck_status st = ck_tensor_new_uninit(&t, dt, d.space.rank, shape);
    if (st == CK_OK && count) convert(&d.type, raw, t);
    ck_free(own);
    if (st != CK_OK) return st;
    *out = t;
    return CK_OK;
}
