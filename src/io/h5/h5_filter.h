/* Filter pipelines (private to src/io/h5/). */
#ifndef CK_IO_H5_FILTER_H
#define CK_IO_H5_FILTER_H

#include "io/h5/h5_internal.h"

enum { H5R_MAX_FILTERS = 32 };

typedef struct h5r_filter {
    uint16_t id, flags;
    unsigned nvals;
    uint32_t vals[4];
} h5r_filter;

typedef struct h5r_pipeline {
    int n;
    h5r_filter filters[H5R_MAX_FILTERS];
} h5r_pipeline;

/* Parses a filter pipeline message; unknown filters are a format error. */
ck_status h5r_pipeline_parse(ck_h5r *f, const h5r_msg *m, h5r_pipeline *p);

/* Undoes the pipeline on the n stored bytes at src (filter i skipped when
 * bit i of mask is set), leaving exactly `want` bytes in dst.  dst and tmp
 * must each hold want + 4 bytes. */
ck_status h5r_pipeline_undo(ck_h5r *f, const h5r_pipeline *p, uint32_t mask, const uint8_t *src,
                            uint64_t n, uint8_t *dst, uint64_t want, uint8_t *tmp);

#endif
