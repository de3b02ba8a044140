/*
 * h5.h -- ckeras' own HDF5 reader (internal, not installed).  Its writer
 * is h5_write.h; libhdf5 is linked into the tests only, as their oracle.
 *
 * Written from the HDF5 File Format Specification (3.0) for what Keras,
 * h5py and libhdf5 put in model files: superblocks 0-3, object headers v1
 * and v2 with continuation blocks, old-style groups (v1 B-tree + local heap)
 * and new-style groups (link messages, compact or dense: fractal heap + v2
 * B-tree), attributes compact and dense, IEEE floats, integers of any size
 * and byte order, fixed and variable-length strings (global heap), enums
 * (h5py's booleans), arrays, dataspaces scalar / null / simple, and dataset
 * layouts compact, contiguous and chunked (v1 B-tree, single chunk, fixed
 * array, extensible array and v2 B-tree chunk indexes) with the deflate,
 * shuffle and fletcher32 filters.
 *
 * The file is untrusted: the whole file is held in memory and every offset
 * and length is checked against its size before use, every walk is bounded
 * (depth caps, a work budget per call and per ck_h5r_dump, levels that must
 * decrease and visited-address checks against cycles),
 * and no allocation is larger than what the file's bytes can account for.
 * Anything malformed or outside the subset is CK_FORMAT_ERROR with a message
 * naming the file, the structure and its offset; never a crash or a hang.
 *
 * Objects are named by the file address of their object header (uint64_t),
 * as HDF5 itself does.  Not thread-safe per file; distinct files may be read
 * from distinct threads.
 */
#ifndef CK_IO_H5_H5_H
#define CK_IO_H5_H5_H

#include <stddef.h>
#include <stdint.h>

#include "core/core.h"

/* An open file (opaque). */
typedef struct ck_h5r ck_h5r;

/* Files larger than this are refused by ck_h5r_open_file when max_bytes is 0. */
#define CK_H5R_DEFAULT_MAX_FILE ((size_t)1 << 31)

/* Opens an HDF5 image held in memory.  The bytes are copied (`buf` may be
 * freed afterwards).  `name` labels messages (copied; NULL = "<memory>").
 * CK_FORMAT_ERROR when no superblock is found or it is damaged. */
ck_status ck_h5r_open_memory(ck_h5r **out, const void *buf, size_t len, const char *name);

/* Reads the whole file at `path` (at most max_bytes, 0 = the default cap)
 * and opens it.  CK_IO_ERROR when it cannot be read, CK_FORMAT_ERROR as
 * above or when it is larger than the cap. */
ck_status ck_h5r_open_file(ck_h5r **out, const char *path, size_t max_bytes);

/* Closes a file; NULL is fine. */
void ck_h5r_close(ck_h5r *f);

/* The name given at opening (the path for files). */
const char *ck_h5r_name(const ck_h5r *f);
/* Size of the file in bytes. */
uint64_t ck_h5r_size(const ck_h5r *f);
/* Superblock version (0-3). */
int ck_h5r_superblock_version(const ck_h5r *f);
/* Address of the root group's object header. */
uint64_t ck_h5r_root(const ck_h5r *f);

/* ---- objects and groups --------------------------------------------------- */

typedef enum ck_h5r_kind {
    CK_H5R_OTHER = 0,    /* a named datatype or an object we do not know      */
    CK_H5R_GROUP = 1,
    CK_H5R_DATASET = 2
} ck_h5r_kind;

/* What an object is: a group (symbol table, link or link info message), a
 * dataset (layout message), else other.  CK_FORMAT_ERROR if its header
 * cannot be read. */
ck_status ck_h5r_kind_of(ck_h5r *f, uint64_t obj, ck_h5r_kind *kind);

typedef enum ck_h5r_link_type {
    CK_H5R_HARD = 0,
    CK_H5R_SOFT = 1,
    CK_H5R_EXTERNAL = 64
} ck_h5r_link_type;

/* One link of a group. */
typedef struct ck_h5r_link {
    char *name;                 /* NUL-terminated (a name holding NUL is refused) */
    ck_h5r_link_type type;
    uint64_t addr;              /* hard links: the object's header address    */
    int64_t corder;             /* creation order, or -1 when not tracked     */
} ck_h5r_link;

/* Lists the links of group `group` in the order h5py iterates them: sorted
 * by name (strcmp), which is also libhdf5's name index order.  Free with
 * ck_h5r_free_links.  CK_FORMAT_ERROR if `group` is not a group. */
ck_status ck_h5r_links(ck_h5r *f, uint64_t group, ck_h5r_link **out, size_t *n);
void ck_h5r_free_links(ck_h5r_link *links, size_t n);

/* Looks up `path` ("a/b/c"; a leading '/' starts at the root; empty parts
 * are skipped) from `group`, following hard links only.  *found = 0 (and
 * CK_OK) when some part does not exist or is not a hard link. */
ck_status ck_h5r_find(ck_h5r *f, uint64_t group, const char *path, uint64_t *obj, int *found);

/* ---- types and spaces ------------------------------------------------------ */

/* HDF5 datatype classes (the numbers of the format). */
enum {
    CK_H5R_T_INT = 0, CK_H5R_T_FLOAT = 1, CK_H5R_T_TIME = 2, CK_H5R_T_STRING = 3,
    CK_H5R_T_BITFIELD = 4, CK_H5R_T_OPAQUE = 5, CK_H5R_T_COMPOUND = 6,
    CK_H5R_T_REFERENCE = 7, CK_H5R_T_ENUM = 8, CK_H5R_T_VLEN = 9, CK_H5R_T_ARRAY = 10
};

/* One element type.  `cls` is the class as stored; `elem_*` describe the
 * scalar inside it: an enum's integer base, an array's base (its elements
 * counted in array_count), a variable-length string's characters. */
typedef struct ck_h5r_type {
    int cls;
    uint32_t size;              /* bytes per element as stored               */
    int vlen_string;            /* 1: variable-length string (16-byte refs)   */
    int elem_cls;               /* INT, FLOAT, STRING (fixed) or other        */
    uint32_t elem_size;
    int elem_be;                /* 1: big-endian                              */
    int elem_signed;
    int str_pad;                /* 0 nullterm, 1 nullpad, 2 spacepad          */
    int str_cset;               /* 0 ASCII, 1 UTF-8                           */
    uint64_t array_count;       /* elements per array element (1 otherwise)   */
} ck_h5r_type;

/* A dataspace: rank -1 = null (no elements), 0 = scalar, else simple. */
typedef struct ck_h5r_space {
    int rank;
    uint64_t dims[32];
    uint64_t count;             /* number of elements                          */
    int has_max;                /* the message lists maximum dimensions        */
    uint64_t max[32];           /* maximum dimensions; UINT64_MAX = unlimited  */
} ck_h5r_space;

/* ---- attributes ------------------------------------------------------------- */

/* An attribute as found; owned by the caller (ck_h5r_attr_free). */
typedef struct ck_h5r_attr {
    char *name;
    ck_h5r_type type;
    ck_h5r_space space;
    const uint8_t *data;        /* points into the file image                  */
    uint64_t data_len;          /* = count * type.size, checked               */
} ck_h5r_attr;

/* Names of the attributes of `obj`, sorted by name (strcmp; h5py's order
 * when creation order is not tracked).  Free with ck_h5r_free_strings. */
ck_status ck_h5r_attr_names(ck_h5r *f, uint64_t obj, char ***names, size_t *n);

/* Finds attribute `name` of `obj`; *out = NULL (CK_OK) when absent. */
ck_status ck_h5r_attr_find(ck_h5r *f, uint64_t obj, const char *name, ck_h5r_attr **out);
void ck_h5r_attr_free(ck_h5r_attr *a);

/* An attribute's strings: fixed-length (any padding, cut at the first NUL,
 * trailing spaces of space-padded strings removed) or variable-length (from
 * the global heap).  A scalar gives one string, a null space none.  Any
 * other type holding no element gives an empty list (Keras writes an empty
 * float64 array for "no names"); else CK_FORMAT_ERROR.  *is_vlen may be
 * NULL.  Free with ck_h5r_free_strings. */
ck_status ck_h5r_attr_strings(ck_h5r *f, const ck_h5r_attr *a, char ***items, size_t *n,
                              int *is_vlen);
void ck_h5r_free_strings(char **items, size_t n);

/* A numeric attribute (integer, float, enum, or arrays of these) as doubles
 * (and, for integers, exactly as int64 in `ints`, which may be NULL; uint64
 * above INT64_MAX saturates).  Free both with ck_free. */
ck_status ck_h5r_attr_numbers(ck_h5r *f, const ck_h5r_attr *a, double **values,
                              int64_t **ints, size_t *n);

/* ---- datasets --------------------------------------------------------------- */

/* Type and space of dataset `obj`. */
ck_status ck_h5r_dataset_info(ck_h5r *f, uint64_t obj, ck_h5r_type *type, ck_h5r_space *space);

/* Reads dataset `obj` into a new tensor, converting as the libhdf5 path did:
 * float32/float64 kept, float16 -> float32, int8/uint8/int16/uint16/int32
 * and enums of those (h5py's bool) -> int32, uint32/int64/uint64 -> int64
 * (uint64 above 2^63-1 saturates).  Rank 0..CK_MAX_RANK.  Missing chunks
 * read as the fill value (zero by default); a contiguous dataset that was
 * never written is a CK_FORMAT_ERROR (as the libhdf5 path had it), and so
 * are arrays, strings and compounds as dataset elements. */
ck_status ck_h5r_read_dataset(ck_h5r *f, uint64_t obj, ck_tensor **out);

/* ---- whole-file walk ----------------------------------------------------------- */

/* A canonical text of the whole file, depth first, links and attributes in
 * name order, for tests and the fuzzer:
 *   group /a
 *   link /a/s soft
 *   attr /a@name strings ["x", "y"]          (vlen strings: "vstrings")
 *   attr /a@n numbers (2) [1, 2.5]
 *   attr /a@c class 6 (3)
 *   dataset /a/d float32 (2, 3) fnv=0123456789abcdef
 *   dataset /a/e error
 * Errors reading one attribute or dataset are written as "error" and the
 * walk goes on; a damaged group is an error of the whole walk.  Every object
 * is visited once (hard links seen again are written "hardlink /p -> /q"). */
ck_status ck_h5r_dump(ck_h5r *f, char **text);

#endif
