/* Weight datasets by path through ckeras' own HDF5 reader (dtype
 * conversion and 0-d scalars are the reader's), and the checks on tensors
 * handed to the writers. */
#include "io/h5_util.h"

#include <stdio.h>

static const char *class_name(int cls)
{
    static const char *const names[] = {"integer", "float", "time", "string", "bitfield",
                                        "opaque", "compound", "reference", "enum", "vlen", "array"};
    return cls >= 0 && cls <= 10 ? names[cls] : "unknown";
}

ck_status ck_h5u_read_dataset(ck_h5r *f, uint64_t loc, const char *name, const char *where,
                              ck_tensor **out)
{
    const char *file = ck_h5r_name(f);
    uint64_t obj = 0;
    ck_h5u_kind kind = ck_h5u_kind_of(f, loc, name, &obj);
    if (kind == CK_H5U_BROKEN) return ck_h5u_fail(CK_FORMAT_ERROR, file, "%s cannot be read", where);
    if (kind != CK_H5U_DATASET)
        return ck_error(CK_FORMAT_ERROR, "%s: %s is missing or not a dataset", file, where);
    ck_h5r_type type;
    ck_h5r_space space;
    if (ck_h5r_dataset_info(f, obj, &type, &space) != CK_OK)
        return ck_h5u_fail(CK_FORMAT_ERROR, file, "cannot read the type of %s", where);
    int cls = type.cls == CK_H5R_T_ENUM ? type.elem_cls : type.cls;
    if (cls != CK_H5R_T_INT && cls != CK_H5R_T_FLOAT)
        return ck_error(CK_FORMAT_ERROR,
                        "%s: %s has elements of HDF5 type class %s; expected float or integer",
                        file, where, class_name(type.cls));
    ck_tensor *t = NULL;
    if (ck_h5r_read_dataset(f, obj, &t) != CK_OK)
        return ck_h5u_fail(ck_last_status(), file, "cannot read %s", where);
    *out = t;
    return CK_OK;
}

ck_status ck_h5u_check_tensor(const ck_tensor *t, const char *what)
{
    if (!t) return ck_error(CK_VALUE_ERROR, "%s has no tensor", what);
    if (ck_dtype_size(t->dtype) == 0)
        return ck_error(CK_TYPE_ERROR, "%s has an invalid dtype %d", what, (int)t->dtype);
    int64_t count = 0;
    if (ck_shape_count(t->dtype, t->rank, t->shape, &count) != CK_OK) {
        char s[160];
        return ck_error(CK_VALUE_ERROR, "%s has a bad shape %s", what,
                        ck_shape_str(s, sizeof s, t->rank < 0 ? 0 : t->rank > CK_MAX_RANK ? CK_MAX_RANK : t->rank, t->shape));
    }
    if (count != t->size)
        return ck_error(CK_VALUE_ERROR, "%s: size %lld does not match its shape (%lld elements)",
                        what, (long long)t->size, (long long)count);
    if (count > 0 && !t->data) return ck_error(CK_VALUE_ERROR, "%s has no data", what);
    return CK_OK;
}
