/* Internal pieces shared by the .npy reader's files (not installed). */
#ifndef CK_IO_NPY_HEADER_H
#define CK_IO_NPY_HEADER_H

#include <stddef.h>

#include "core/core.h"

/* What the header says. */
typedef struct {
    char descr[32];
    int fortran;
    int rank;
    int64_t shape[CK_MAX_RANK];
} npy_header;

/* Parses the header text (hdr, hlen bytes) of a format `major`.0 file:
 * the Python dict literal with exactly the keys descr, fortran_order and
 * shape, as numpy's read_array_header does (UTF-8 checked for 3.0, Python
 * 2's `3L` accepted for 1.0 and 2.0).  CK_FORMAT_ERROR naming `name` (the
 * file, or NULL for a buffer) on any problem. */
ck_status ck_npy_parse_header(const char *hdr, size_t hlen, int major, const char *name, npy_header *h);

/* A CK_FORMAT_ERROR whose message starts with the file (or "npy buffer"). */
ck_status ck_npy_fail(const char *name, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

#endif
