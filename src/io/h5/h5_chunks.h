/* Chunk indexes of chunked datasets (private to src/io/h5/). */
#ifndef CK_IO_H5_CHUNKS_H
#define CK_IO_H5_CHUNKS_H

#include "io/h5/h5_internal.h"

enum { H5R_MAX_CHUNK_RANK = 32 };

enum {
    H5R_INDEX_BTREE1 = 0,           /* layout versions 1-3 */
    H5R_INDEX_SINGLE = 1, H5R_INDEX_IMPLICIT = 2, H5R_INDEX_FARRAY = 3,
    H5R_INDEX_EARRAY = 4, H5R_INDEX_BTREE2 = 5
};

/* The chunked layout of a dataset. */
typedef struct h5r_chunked {
    int rank;                       /* the dataset's rank                    */
    uint64_t chunk[H5R_MAX_CHUNK_RANK];
    uint64_t chunk_bytes;           /* elements per chunk x element size     */
    int index;
    uint64_t addr;                  /* index (or single chunk) address       */
    int filtered;                   /* the dataset has a filter pipeline     */
    int filtered_single;
    uint64_t single_size;
    uint32_t single_mask;
    /* extensible array: the one unlimited dimension, and the number of
     * chunks each dimension can ever hold (UINT64_MAX for the unlimited),
     * which (not the current shape) lay out the chunk numbering */
    int unlim;
    uint64_t max_chunks[H5R_MAX_CHUNK_RANK];
} h5r_chunked;

/* Receives one stored chunk: `off` its first element's coordinates. */
typedef ck_status (*h5r_chunk_fn)(ck_h5r *f, const uint64_t *off, uint64_t addr, uint64_t size,
                                  uint32_t mask, void *ctx);

/* Calls fn for each chunk the index lists (dims: the dataset's shape). */
ck_status h5r_chunks_each(ck_h5r *f, const h5r_chunked *L, const uint64_t *dims, h5r_chunk_fn fn,
                          void *ctx);

/* The extensible array index (h5_earray.c). */
ck_status h5r_earray_each(ck_h5r *f, const h5r_chunked *L, const uint64_t *dims, h5r_chunk_fn fn,
                          void *ctx);

#endif
