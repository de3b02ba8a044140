/*
 * h5_write_internal.h -- the in-memory tree of a file being written, shared
 * by h5_write.c (building it) and h5_write_file.c (laying it out).
 */
#ifndef CK_IO_H5_H5_WRITE_INTERNAL_H
#define CK_IO_H5_H5_WRITE_INTERNAL_H

#include "io/h5/h5_write.h"

typedef enum w_attr_kind { W_VLEN = 0, W_FIXED = 1, W_EMPTY_F64 = 2 } w_attr_kind;

typedef struct w_attr {
    char *name;
    w_attr_kind kind;
    int scalar;                 /* W_VLEN: a scalar dataspace                */
    ck_h5w_cset cset;
    size_t n;                   /* number of strings                          */
    size_t itemsize;            /* W_FIXED                                    */
    char **items;               /* copies                                     */
    /* Set while laying out: where each vlen string went in the global heap. */
    uint32_t *heap_coll;        /* collection number                          */
    uint32_t *heap_idx;         /* object index inside it (1-based)           */
} w_attr;

struct ck_h5w_obj {
    char *name;                 /* link name (NULL for the root)              */
    int is_group;
    ck_h5w_obj **kids;
    size_t n_kids, cap_kids;
    w_attr *attrs;
    size_t n_attrs, cap_attrs;
    const ck_tensor *t;         /* datasets: borrowed                         */
};

struct ck_h5w {
    ck_h5w_obj root;
};

#endif
