/*
 * h5_util.h -- libhdf5 helpers shared by the Keras file readers and writers
 * (internal, not installed).
 *
 * Every helper reports failures through ck_error() with a message that
 * starts with the file name, so callers only propagate the status.  None of
 * them silences libhdf5 by itself: the public entry points wrap their whole
 * body in ck_h5u_quiet_begin / ck_h5u_quiet_end.
 *
 * libhdf5 (serial) is not thread-safe; neither are these helpers.
 */
#ifndef CK_IO_H5_UTIL_H
#define CK_IO_H5_UTIL_H

#include <hdf5.h>

#include "core/core.h"

/* Keras' HDF5_OBJECT_HEADER_LIMIT: an array attribute larger than this is
 * split into chunks `name0`, `name1`, ... */
#define CK_H5U_HEADER_LIMIT 64512

/* ---- error printing ------------------------------------------------------ */

/* Saved libhdf5 automatic error printer. */
typedef struct ck_h5u_quiet {
    H5E_auto2_t func;
    void *data;
} ck_h5u_quiet;

/* Turns off libhdf5's own printing to stderr (saving the old handler). */
void ck_h5u_quiet_begin(ck_h5u_quiet *q);
/* Restores the handler saved by ck_h5u_quiet_begin. */
void ck_h5u_quiet_end(const ck_h5u_quiet *q);

/* Records `status` with the message "<file>: <fmt...> (libhdf5: <innermost
 * libhdf5 error>)" and clears libhdf5's error stack.  Call it right after
 * the failing libhdf5 call, before any other libhdf5 call. */
ck_status ck_h5u_fail(ck_status status, const char *file, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Closes any libhdf5 id (file, group, dataset, attribute, type, space,
 * property list); ids < 0 are ignored. */
void ck_h5u_close(hid_t id);

/* ---- opening ------------------------------------------------------------- */

/* Opens an HDF5 file read-only.  CK_IO_ERROR if it cannot be read,
 * CK_FORMAT_ERROR if it is not HDF5 or is damaged/truncated.  *size gets the
 * file size (may be NULL). */
ck_status ck_h5u_open(const char *path, hid_t *fid, hsize_t *size);

/* Opens an in-memory HDF5 file image read-only (libhdf5's core driver; the
 * image is copied, so `buf` may be freed afterwards).  `what` names the
 * image in messages. */
ck_status ck_h5u_open_image(const void *buf, size_t len, const char *what,
                            hid_t *fid, hsize_t *size);

/* Creates an empty in-memory HDF5 file (core driver, no backing store). */
ck_status ck_h5u_create_image(const char *what, hid_t *fid);

/* Copies the bytes of an in-memory file into a ck_malloc'ed buffer. */
ck_status ck_h5u_image_bytes(hid_t fid, const char *what, void **buf,
                             size_t *len);

/* ---- tree ---------------------------------------------------------------- */

typedef enum ck_h5u_kind {
    CK_H5U_OTHER = 0,   /* soft/external link, named datatype, ...        */
    CK_H5U_GROUP = 1,
    CK_H5U_DATASET = 2,
    CK_H5U_BROKEN = 3   /* a hard link whose object cannot be opened      */
} ck_h5u_kind;

typedef struct ck_h5u_child {
    char *name;
    ck_h5u_kind kind;
} ck_h5u_child;

/* Lists the links of group `g` sorted by name (strcmp order) with the kind
 * of object each hard link points at (links are not followed otherwise).
 * A hard link to an object that cannot be opened (a damaged or truncated
 * file) is a CK_FORMAT_ERROR.  `where` is the group's path for messages.
 * Free with ck_h5u_free_children. */
ck_status ck_h5u_list_children(hid_t g, const char *file, const char *where,
                               ck_h5u_child **out, size_t *n);
void ck_h5u_free_children(ck_h5u_child *c, size_t n);

/* Kind of the object at `name` (relative to loc); CK_H5U_OTHER if it does
 * not exist or is not a hard link to a group or dataset, CK_H5U_BROKEN if
 * it is a hard link to an object that cannot be opened.  Clears libhdf5's
 * error stack. */
ck_h5u_kind ck_h5u_kind_of(hid_t loc, const char *name);

/* ---- string attributes --------------------------------------------------- */

/* 1 if attribute `name` exists on `obj`, 0 if not; <0 on a libhdf5 error
 * (already recorded as CK_FORMAT_ERROR). */
int ck_h5u_attr_exists(hid_t obj, const char *name, const char *file,
                       const char *where);

/* Reads attribute `name` of `obj` as a list of strings.  Accepted: fixed-
 * length strings of any padding (NULL-terminated, NULL-padded, space-
 * padded) and variable-length strings (ASCII or UTF-8), in a scalar, 1-d or
 * null dataspace.  An attribute of any other type is accepted only when it
 * holds no element (Keras writes an empty float64 array for "no names").
 * *is_vlen (may be NULL) tells whether the strings were variable-length.
 * Free the list with ck_h5u_free_strings. */
ck_status ck_h5u_read_strings(hid_t obj, const char *name, const char *file,
                              const char *where, char ***items, size_t *n,
                              int *is_vlen);
void ck_h5u_free_strings(char **items, size_t n);

/* Reads a Keras name list: attribute `name`, or if absent its chunks
 * `name0`, `name1`, ... concatenated.  A missing attribute gives n = 0 and
 * *present = 0 (present may be NULL). */
ck_status ck_h5u_read_name_list(hid_t obj, const char *name, const char *file,
                                const char *where, char ***items, size_t *n,
                                int *present, int *is_vlen);

/* Reads a string attribute holding exactly one string (scalar or a
 * 1-element list).  *out = NULL when the attribute is absent. */
ck_status ck_h5u_read_string(hid_t obj, const char *name, const char *file,
                             const char *where, char **out);

/* Writes a scalar variable-length string attribute with the given
 * character set (h5py's type for a Python str (UTF-8) or bytes (ASCII)). */
ck_status ck_h5u_write_vlen_string(hid_t obj, const char *name,
                                   const char *value, H5T_cset_t cset,
                                   const char *file, const char *where);

/* Writes a Keras name list the way Keras' save_attributes_to_hdf5_group
 * does: an empty list becomes an empty float64 array; otherwise an array of
 * fixed-length NULL-padded ASCII strings sized to the longest entry
 * (vlen == 0, numpy "S" arrays) or of variable-length ASCII strings
 * (vlen == 1), split into `name0`, `name1`, ... (numpy.array_split) when the
 * array is larger than CK_H5U_HEADER_LIMIT bytes.  An entry longer than the
 * limit is a CK_VALUE_ERROR, as in Keras. */
ck_status ck_h5u_write_name_list(hid_t obj, const char *name,
                                 const char *const *items, size_t n, int vlen,
                                 const char *file, const char *where);

/* ---- datasets ------------------------------------------------------------ */

/* Reads dataset `name` (a path relative to `loc`; `/` walks subgroups) into
 * a new tensor.  float32/float64/int32/int64 are kept; float16 becomes
 * float32, int8/uint8/int16/uint16/bool (h5py's enum) int32, uint32 and
 * uint64 int64 (uint64 values above 2^63-1 saturate).  Rank 0 (a scalar
 * dataspace) to CK_MAX_RANK.  A contiguous dataset whose data would lie past
 * `file_size` is a CK_FORMAT_ERROR (a truncated file), checked before
 * allocating.  `where` names the dataset in messages. */
ck_status ck_h5u_read_dataset(hid_t loc, const char *name, const char *file,
                              const char *where, hsize_t file_size,
                              ck_tensor **out);

/* Checks, before anything is allocated, that a contiguous dataset's bytes
 * (`count` elements) lie inside the file of `file_size` bytes; a dataset
 * never written is an error unless allow_unwritten.  CK_FORMAT_ERROR. */
ck_status ck_h5u_check_storage(hid_t did, int64_t count, const char *file, const char *where,
                               hsize_t file_size, int allow_unwritten);

/* Creates dataset `name` under `loc` (creating intermediate groups, as h5py
 * does) with the tensor's dtype as little-endian IEEE float or two's
 * complement integer, h5py's default (contiguous) layout, and writes it. */
ck_status ck_h5u_write_dataset(hid_t loc, const char *name, const ck_tensor *t,
                               const char *file, const char *where);

/* Checks a tensor given to a writer: valid dtype, rank and shape, data
 * present when it has elements.  CK_VALUE_ERROR naming `what`. */
ck_status ck_h5u_check_tensor(const ck_tensor *t, const char *what);

/* ---- atomic file replacement --------------------------------------------- */

/* Reserves a new empty file next to `path` ("<path>.tmp-<pid>-<n>", created
 * with O_EXCL and mode 0666 minus umask) and returns its ck_malloc'ed
 * name. */
ck_status ck_h5u_temp_reserve(const char *path, char **tmp);

/* Flushes `tmp` to disk and renames it onto `path`.  On failure `tmp` is
 * removed and CK_IO_ERROR recorded. */
ck_status ck_h5u_temp_commit(const char *tmp, const char *path);

/* ---- small growable text buffer ------------------------------------------ */

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

/* Sanity bounds on what a file may claim, checked before allocating, so a
 * corrupt header gives CK_FORMAT_ERROR rather than a huge allocation. */
enum { CK_H5U_MAX_STRINGS = 1 << 24 };
#define CK_H5U_MAX_FIXED_BYTES ((hsize_t)1 << 28)

/* A name for an HDF5 type class ("integer", "float", "string", ...). */
const char *ck_h5u_type_class_name(H5T_class_t c);

#endif
