/*
 * h5_write.h -- ckeras' own HDF5 writer (internal, not installed).
 *
 * Writes exactly what ckeras saves (tf.keras 2.x legacy .h5 files, Keras 3
 * .weights.h5 files and the model.weights.h5 part of .keras archives) in
 * the layout h5py 3 produces with libhdf5's default settings, so that
 * libhdf5, h5py and tf.keras read the files as their own:
 *   superblock version 0 (8-byte offsets and lengths, group K 4 / 16);
 *   version 1 object headers, one chunk each;
 *   old-style groups: a symbol table message, a v1 B-tree of symbol table
 *   nodes (more levels when a group outgrows one node) and a local heap of
 *   link names, links sorted by name as libhdf5 keeps them;
 *   compact attributes (version 1 messages): variable-length strings
 *   (ASCII or UTF-8, scalar or 1-d, their bytes in global heap
 *   collections), fixed-length NULL-padded ASCII string arrays, and the
 *   empty float64 array Keras writes for an empty list;
 *   contiguous little-endian datasets of float32/float64/int32/int64 with
 *   the fill value message libhdf5 writes, their data after all metadata.
 *
 * A file is first built as a tree in memory (names and attribute values are
 * copied; dataset tensors are borrowed and must outlive the output call),
 * then laid out in one pass.  Not thread-safe per builder.
 */
#ifndef CK_IO_H5_H5_WRITE_H
#define CK_IO_H5_H5_WRITE_H

#include <stdio.h>
#include <stddef.h>
#include <stdint.h>

#include "core/core.h"

typedef struct ck_h5w ck_h5w;           /* a file being built (opaque)   */
typedef struct ck_h5w_obj ck_h5w_obj;   /* a group or dataset in it      */

typedef enum ck_h5w_cset { CK_H5W_ASCII = 0, CK_H5W_UTF8 = 1 } ck_h5w_cset;

/* The largest attribute value a version 1 attribute message can carry in
 * one object header message (its size field has 16 bits). */
#define CK_H5W_MAX_ATTR_BYTES 65000

ck_status ck_h5w_new(ck_h5w **out);
void ck_h5w_free(ck_h5w *w);                    /* NULL is fine */
ck_h5w_obj *ck_h5w_root(ck_h5w *w);

/* The group at `path` under `parent` ("a/b": intermediate groups are
 * created, as h5py does; existing groups are reused).  CK_VALUE_ERROR for
 * an empty, "." or ".." component or a dataset in the way. */
ck_status ck_h5w_group(ck_h5w *w, ck_h5w_obj *parent, const char *path, ck_h5w_obj **out);

/* A dataset at `path` under `parent` (intermediate groups created) holding
 * tensor `t` (borrowed).  CK_VALUE_ERROR when the name is taken. */
ck_status ck_h5w_dataset(ck_h5w *w, ck_h5w_obj *parent, const char *path, const ck_tensor *t);

/* 1 if `o` already has attribute `name`. */
int ck_h5w_has_attr(const ck_h5w_obj *o, const char *name);

/* Variable-length string attribute: a scalar (n == 1, scalar != 0) or a
 * 1-d array of n strings, NULL-terminated, in character set `cset`. */
ck_status ck_h5w_attr_vlen(ck_h5w *w, ck_h5w_obj *o, const char *name, const char *const *items,
                           size_t n, int scalar, ck_h5w_cset cset);
/* 1-d array of n fixed-length NULL-padded ASCII strings of `itemsize` bytes
 * (longer items are refused with CK_VALUE_ERROR). */
ck_status ck_h5w_attr_fixed(ck_h5w *w, ck_h5w_obj *o, const char *name, const char *const *items,
                            size_t n, size_t itemsize);
/* An empty 1-d float64 array (numpy's np.array([])). */
ck_status ck_h5w_attr_empty_f64(ck_h5w *w, ck_h5w_obj *o, const char *name);

/* The whole file as one ck_malloc'ed buffer. */
ck_status ck_h5w_image(ck_h5w *w, void **buf, size_t *len);
/* Writes the file to an open stream (the caller handles durable
 * replacement, see io/atomic_file.h).  `label` names it in messages. */
ck_status ck_h5w_save(ck_h5w *w, FILE *fp, const char *label);

#endif
