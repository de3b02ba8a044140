/*
 * h5_oracle.h -- libhdf5 as the tests' oracle (not part of the library,
 * which reads and writes HDF5 with its own code in src/io/h5/).
 *
 * ck_h5_describe lists a file the way libhdf5 sees it, so that tests can
 * compare a file ckeras wrote with a real tf.keras file structurally; the
 * ck_h5o_ helpers behind it are the libhdf5 calls the library once made.
 * Each helper records failures through ck_error() with the file name; the
 * public ones silence libhdf5's own printing while they run.
 */
#ifndef CK_TESTS_SUPPORT_H5_ORACLE_H
#define CK_TESTS_SUPPORT_H5_ORACLE_H

#include <hdf5.h>

#include "ckeras.h"
#include "io/h5_util.h"

/* A canonical text listing of every object of an HDF5 file, one line per
 * item, depth first, children and attributes in name (strcmp) order:
 *
 *   file superblock=0
 *   group / links=symtab
 *   attr /@backend string vlen nullterm utf8 scalar = "tensorflow"
 *   attr /@keras_version string vlen nullterm utf8 scalar
 *   group /model_weights links=symtab
 *   attr /model_weights@layer_names string fixed(10) nullpad ascii simple(4) = ["input_1", ...]
 *   attr /model_weights/dropout@weight_names float 8 le simple(0) = []
 *   dataset /model_weights/dense/dense/bias:0 float 4 le simple(6) contiguous
 *
 * Types: "string fixed(N)|vlen nullterm|nullpad|spacepad ascii|utf8",
 * "float|integer|uint SIZE le|be", "enum(<base>)", other classes by name.
 * Dataspaces: "scalar", "null", "simple(d0, d1, ...)" (a different max
 * shape is added as "/(m0, ...)" with "inf" for unlimited).  Values are
 * shown for string attributes (except model_config and keras_version,
 * which differ between otherwise identical files) and for numeric
 * attributes of at most 16 elements.  Soft and external links are listed
 * ("link PATH soft") and not followed.  *text is ck_malloc'ed (ck_free). */
ck_status ck_h5_describe(const char *path, char **text);

typedef struct ck_h5o_quiet {
    H5E_auto2_t func;
    void *data;
} ck_h5o_quiet;
void ck_h5o_quiet_begin(ck_h5o_quiet *q);
void ck_h5o_quiet_end(const ck_h5o_quiet *q);

/* Records "<file>: <fmt...> (libhdf5: <innermost error>)" and clears
 * libhdf5's error stack. */
ck_status ck_h5o_fail(ck_status status, const char *file, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
void ck_h5o_close(hid_t id);
ck_status ck_h5o_open(const char *path, hid_t *fid, hsize_t *size);

typedef enum ck_h5o_kind {
    CK_H5O_OTHER = 0, CK_H5O_GROUP = 1, CK_H5O_DATASET = 2, CK_H5O_BROKEN = 3
} ck_h5o_kind;
typedef struct ck_h5o_child {
    char *name;
    ck_h5o_kind kind;
} ck_h5o_child;
ck_status ck_h5o_list_children(hid_t g, const char *file, const char *where,
                               ck_h5o_child **out, size_t *n);
void ck_h5o_free_children(ck_h5o_child *c, size_t n);
ck_h5o_kind ck_h5o_kind_of(hid_t loc, const char *name);

int ck_h5o_attr_exists(hid_t obj, const char *name, const char *file, const char *where);
ck_status ck_h5o_read_strings(hid_t obj, const char *name, const char *file,
                              const char *where, char ***items, size_t *n, int *is_vlen);
void ck_h5o_free_strings(char **items, size_t n);
ck_status ck_h5o_read_name_list(hid_t obj, const char *name, const char *file,
                                const char *where, char ***items, size_t *n,
                                int *present, int *is_vlen);
ck_status ck_h5o_read_string(hid_t obj, const char *name, const char *file,
                             const char *where, char **out);
ck_status ck_h5o_check_storage(hid_t did, int64_t count, const char *file, const char *where,
                               hsize_t file_size, int allow_unwritten);
const char *ck_h5o_type_class_name(H5T_class_t c);
/* Reads dataset `name` under `loc` through H5Dread with the conversions the
 * library's reader makes (float16 -> float32, small ints and bool ->
 * int32, uint32/uint64 -> int64). */
ck_status ck_h5o_read_dataset(hid_t loc, const char *name, const char *file,
                              const char *where, hsize_t file_size, ck_tensor **out);

enum { CK_H5O_MAX_STRINGS = 1 << 24 };
#define CK_H5O_MAX_FIXED_BYTES ((hsize_t)1 << 28)

#endif
