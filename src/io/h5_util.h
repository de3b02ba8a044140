/*
 * h5_util.h -- what the Keras file readers and writers share on top of
 * ckeras' own HDF5 reader (io/h5/h5.h) and writer (io/h5/h5_write.h)
 * (internal, not installed): Keras' string attributes in every form h5py
 * has written, weight datasets by path, atomic file replacement, text.
 *
 * Every helper reports failures through ck_error() with a message that
 * starts with the file name, so callers only propagate the status.
 */
#ifndef CK_IO_H5_UTIL_H
#define CK_IO_H5_UTIL_H

#include <stdint.h>

#include "core/core.h"
#include "io/h5/h5.h"
#include "io/h5/h5_write.h"

/* Keras' HDF5_OBJECT_HEADER_LIMIT: an array attribute larger than this is
 * split into chunks `name0`, `name1`, ... */
#define CK_H5U_HEADER_LIMIT 64512

/* ---- reading ---------------------------------------------------------------- */

/* Opens an HDF5 file (read whole into memory, at most the reader's default
 * cap).  CK_IO_ERROR if it cannot be read, CK_FORMAT_ERROR if it is not
 * HDF5 ("not an HDF5 file") or is damaged. */
ck_status ck_h5u_open(const char *path, ck_h5r **f);

/* Opens an in-memory image (copied); `what` names it in messages. */
ck_status ck_h5u_open_image(const void *buf, size_t len, const char *what, ck_h5r **f);

/* Re-records the reader's last error as "<file>: <fmt...>: <detail>", the
 * detail being the reader's message without its leading file name. */
ck_status ck_h5u_fail(ck_status status, const char *file, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

typedef enum ck_h5u_kind {
    CK_H5U_OTHER = 0,   /* absent, soft/external link, named datatype, ... */
    CK_H5U_GROUP = 1,
    CK_H5U_DATASET = 2,
    CK_H5U_BROKEN = 3   /* a hard link whose object cannot be read          */
} ck_h5u_kind;

typedef struct ck_h5u_child {
    char *name;
    ck_h5u_kind kind;
    uint64_t addr;      /* object header address of hard links            */
} ck_h5u_child;

/* Kind of the object at `name` (a path relative to group `loc`); *obj
 * (may be NULL) gets its address.  Clears the error it may record. */
ck_h5u_kind ck_h5u_kind_of(ck_h5r *f, uint64_t loc, const char *name, uint64_t *obj);

/* Lists the links of group `g` sorted by name (strcmp order) with the kind
 * of object each hard link points at.  A hard link whose object cannot be
 * read is a CK_FORMAT_ERROR.  `where` is the group's path for messages. */
ck_status ck_h5u_list_children(ck_h5r *f, uint64_t g, const char *where, ck_h5u_child **out,
                               size_t *n);
void ck_h5u_free_children(ck_h5u_child *c, size_t n);

/* 1 if attribute `name` exists on `obj`, 0 if not; <0 on a damaged header
 * (recorded as CK_FORMAT_ERROR). */
int ck_h5u_attr_exists(ck_h5r *f, uint64_t obj, const char *name, const char *where);

/* Reads attribute `name` of `obj` as a list of strings: fixed-length of any
 * padding or variable-length, ASCII or UTF-8, scalar, 1-d or null.  Any
 * other type is accepted only when it holds no element (Keras writes an
 * empty float64 array for "no names").  *is_vlen may be NULL.  Free with
 * ck_h5u_free_strings. */
ck_status ck_h5u_read_strings(ck_h5r *f, uint64_t obj, const char *name, const char *where,
                              char ***items, size_t *n, int *is_vlen);
void ck_h5u_free_strings(char **items, size_t n);

/* Reads a Keras name list: attribute `name`, or if absent its chunks
 * `name0`, `name1`, ... concatenated.  A missing attribute gives n = 0 and
 * *present = 0 (present may be NULL). */
ck_status ck_h5u_read_name_list(ck_h5r *f, uint64_t obj, const char *name, const char *where,
                                char ***items, size_t *n, int *present, int *is_vlen);

/* Reads a string attribute holding exactly one string (scalar or a
 * 1-element list).  *out = NULL when the attribute is absent. */
ck_status ck_h5u_read_string(ck_h5r *f, uint64_t obj, const char *name, const char *where,
                             char **out);

/* Reads dataset `name` (a path relative to group `loc`) into a new tensor,
 * converted as ck_h5r_read_dataset says (float16 -> float32, small ints and
 * h5py's bool -> int32, uint32/uint64 -> int64).  `where` names the dataset
 * in messages. */
ck_status ck_h5u_read_dataset(ck_h5r *f, uint64_t loc, const char *name, const char *where,
                              ck_tensor **out);

/* ---- writing ---------------------------------------------------------------- */

/* A scalar variable-length string attribute in character set `cset`
 * (h5py's type for a Python str (UTF-8) or bytes (ASCII)). */
ck_status ck_h5u_write_vlen_string(ck_h5w *w, ck_h5w_obj *obj, const char *name,
                                   const char *value, ck_h5w_cset cset, const char *file,
                                   const char *where);

/* A Keras name list the way Keras' save_attributes_to_hdf5_group writes it:
 * an empty list becomes an empty float64 array; otherwise fixed-length
 * NULL-padded ASCII strings sized to the longest entry (vlen == 0, numpy
 * "S" arrays) or variable-length ASCII strings (vlen == 1), split into
 * `name0`, `name1`, ... (numpy.array_split) when the array is larger than
 * CK_H5U_HEADER_LIMIT bytes.  An entry longer than the limit is a
 * CK_VALUE_ERROR, as in Keras. */
ck_status ck_h5u_write_name_list(ck_h5w *w, ck_h5w_obj *obj, const char *name,
                                 const char *const *items, size_t n, int vlen, const char *file,
                                 const char *where);

/* Checks a tensor given to a writer: valid dtype, rank and shape, data
 * present when it has elements.  CK_VALUE_ERROR naming `what`. */
ck_status ck_h5u_check_tensor(const ck_tensor *t, const char *what);

/* Writes the built file to `path` durably (io/atomic_file.h): on failure
 * `path` is left as it was and no temporary file remains. */
ck_status ck_h5u_save(ck_h5w *w, const char *path);

/* ---- small growable text buffer ---------------------------------------------- */

typedef struct ck_h5u_text {
    char *data;
    size_t len, cap;
    int oom;
} ck_h5u_text;

/* printf-append; on allocation failure sets t->oom and ignores later
 * appends. */
void ck_h5u_text_add(ck_h5u_text *t, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* Appends `s` (n bytes) quoted, with \", \\ and non-printable bytes as \xNN. */
void ck_h5u_text_quoted(ck_h5u_text *t, const char *s, size_t n);

/* Joins path components: "a" + "b" -> "a/b"; "" or "/" + "b" -> "/b"
 * (with_slash) or "b".  ck_malloc'ed, NULL on OOM. */
char *ck_h5u_join(const char *dir, const char *name, int leading_slash);

#endif
